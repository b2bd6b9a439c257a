//! What one SM2 signature and one verification cost on this machine, through the `sm2` crate
//! the network signs with: a 4 KiB message (a large bill's size), one thread, the median of
//! several rounds. Figures, never thresholds:
//! `cargo run --release -p yidi-trust --example sm2_bench`. It prints its signature of the
//! message; given another build's (`-- HEX`), it says whether that one verifies here too.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)] // A benchmark prints and stops on bad data.
#![allow(clippy::as_conversions, clippy::cast_precision_loss, clippy::float_arithmetic)] // Timings printed as µs.

use std::time::Instant;

use sm2::dsa::signature::{Signer, Verifier};
use sm2::dsa::{Signature, SigningKey};

const ROUNDS: usize = 7;
const EACH: usize = 200;

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let secret = sm2::SecretKey::from_slice(&[7u8; 32]).unwrap();
    let key = SigningKey::new("1234567812345678", &secret).unwrap();
    let verifying = key.verifying_key().clone();
    let message = vec![0x5a_u8; 4096];
    let mut sign = Vec::new();
    let mut verify = Vec::new();
    for _ in 0..ROUNDS {
        let started = Instant::now();
        let mut signature: Option<Signature> = None;
        for _ in 0..EACH {
            signature = Some(key.sign(&message));
        }
        sign.push(started.elapsed().as_secs_f64() * 1e6 / EACH as f64);
        let signature = signature.unwrap();
        let started = Instant::now();
        for _ in 0..EACH {
            verifying.verify(&message, &signature).unwrap();
        }
        verify.push(started.elapsed().as_secs_f64() * 1e6 / EACH as f64);
    }
    let ours = hex::encode(key.sign(&message).to_bytes());
    if let Some(theirs) = std::env::args().nth(1) {
        let bytes = hex::decode(theirs.trim()).unwrap();
        let verified =
            Signature::from_slice(&bytes).is_ok_and(|s| verifying.verify(&message, &s).is_ok());
        println!("sm2: the signature given verifies here: {verified}");
    }
    println!("sm2: signature of the message: {ours}");
    println!(
        "sm2: sign {:.0} µs, verify {:.0} µs (4 KiB, one thread, median of {ROUNDS} rounds of {EACH})",
        median(sign),
        median(verify)
    );
}
