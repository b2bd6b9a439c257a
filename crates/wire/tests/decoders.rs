//! Every decoder takes arbitrary bytes without panicking (issue #10, fuzzing): whatever arrives
//! on a topic is either a message or a decode error with a stable code, never a crash. Bytes
//! are drawn at random, and mutated from valid messages (bit flips, truncation, insertion) so
//! that the decoders go deep into nested fields, not only fail at the first byte.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests panic: a failure should stop with a backtrace.
#![allow(clippy::as_conversions)] // Test data is small and made here: counts and indexes fit.

use proptest::prelude::*;
use yidi_wire::codec::{self, ContentType};
use yidi_wire::v1::{
    DeadLetter, DischargeBill, FilingRecord, Reversal, SettleRequest, SettleResult, Statement,
    StatementRequest,
};

/// Decodes `bytes` as every message type a yidi consumer reads, in both content types.
fn decode_all(bytes: &[u8]) {
    for content_type in [ContentType::Protobuf, ContentType::Json] {
        let codes = [
            codec::decode::<DischargeBill>(bytes, content_type, "DischargeBill")
                .err()
                .map(|e| e.code()),
            codec::decode::<SettleRequest>(bytes, content_type, "SettleRequest")
                .err()
                .map(|e| e.code()),
            codec::decode::<SettleResult>(bytes, content_type, "SettleResult")
                .err()
                .map(|e| e.code()),
            codec::decode::<Reversal>(bytes, content_type, "Reversal").err().map(|e| e.code()),
            codec::decode::<FilingRecord>(bytes, content_type, "FilingRecord")
                .err()
                .map(|e| e.code()),
            codec::decode::<Statement>(bytes, content_type, "Statement").err().map(|e| e.code()),
            codec::decode::<StatementRequest>(bytes, content_type, "StatementRequest")
                .err()
                .map(|e| e.code()),
            codec::decode::<DeadLetter>(bytes, content_type, "DeadLetter").err().map(|e| e.code()),
        ];
        for code in codes.into_iter().flatten() {
            assert!(code.starts_with("WIRE_"), "unstable code {code}");
        }
    }
}

/// A valid bill, in both encodings, to mutate.
fn seeds() -> &'static [Vec<u8>] {
    static SEEDS: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    SEEDS.get_or_init(make_seeds)
}

fn make_seeds() -> Vec<Vec<u8>> {
    let catalogue = yidi_data::treatment_catalogues().unwrap().remove(0);
    let insured = if catalogue.region.as_str().starts_with("44") { "120000" } else { "440000" };
    let mut simulator = yidi_sim::Simulator::new(11);
    let now = chrono::NaiveDate::from_ymd_opt(2026, 11, 29).unwrap().and_hms_opt(9, 0, 0).unwrap();
    let bill =
        yidi_sim::his::discharge(&mut simulator, insured.parse().unwrap(), 2, &catalogue, now, 1);
    vec![codec::encode(&bill, ContentType::Protobuf), codec::encode(&bill, ContentType::Json)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn random_bytes_never_crash_a_decoder(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        decode_all(&bytes);
    }

    #[test]
    fn mutated_messages_never_crash_a_decoder(
        seed in 0usize..2,
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
        insert in proptest::collection::vec(any::<u8>(), 0..16),
    ) {
        let mut bytes = seeds()[seed].clone();
        for (at, value) in flips {
            let at = at.index(bytes.len());
            bytes[at] ^= value;
        }
        let at = cut.index(bytes.len());
        bytes.splice(at..at, insert);
        decode_all(&bytes);
        bytes.truncate(at);
        decode_all(&bytes);
    }
}
