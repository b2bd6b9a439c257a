//! What refereeing the classification costs the hub per bill: `referee::check_classification`
//! (find the named edition, re-derive every line's class, self-pay share and price cap from
//! the bill's own fee lines, compare) over realistic bills of every treatment province, against
//! the SM2 verification every request already costs. Figures, never thresholds:
//! `cargo run --release -p yidi-hub --example referee_bench -- [BILLS]`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)] // A benchmark prints and stops on bad data.
#![allow(clippy::as_conversions, clippy::cast_precision_loss, clippy::float_arithmetic)] // Counts of a few thousand, printed as rates.

use std::time::Instant;

use yidi_hub::referee::{check_classification, Catalogues};

fn main() {
    let bills: usize = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(20_000);
    let catalogues = yidi_data::treatment_catalogues().unwrap();
    let now =
        chrono::NaiveDateTime::parse_from_str("2026-11-23 10:15:00", "%Y-%m-%d %H:%M:%S").unwrap();
    let insured: yidi_domain::ids::RegionCode = "120000".parse().unwrap();
    let mut simulator = yidi_sim::Simulator::new(7);
    let mut requests = Vec::with_capacity(bills);
    let mut lines = 0usize;
    for index in 0..bills {
        let catalogue = &catalogues[index % catalogues.len()];
        let sequence = u32::try_from(index).unwrap_or(u32::MAX);
        let bill = yidi_sim::his::discharge(
            &mut simulator,
            insured,
            u64::try_from(index % 2000).unwrap_or(0),
            catalogue,
            now,
            sequence,
        );
        let request = yidi_wire::v1::SettleRequest {
            lines: yidi_wire::convert::classify(&bill, &catalogue.catalogue),
            catalogue_version: catalogue.catalogue.version.clone(),
            exchange: catalogue.region.to_string(),
            requested_at: "2026-11-23 10:15:01".into(),
            bill: Some(bill.clone()),
        };
        lines += request.lines.len();
        requests.push((request, bill, catalogue.region));
    }
    let referee = Catalogues::new(catalogues.clone());
    // Once to warm caches, then timed.
    for (request, bill, treatment) in &requests {
        check_classification(request, bill, *treatment, &referee).unwrap();
    }
    let started = Instant::now();
    for (request, bill, treatment) in &requests {
        check_classification(request, bill, *treatment, &referee).unwrap();
    }
    let elapsed = started.elapsed();
    let per_bill = elapsed.as_secs_f64() * 1e6 / requests.len() as f64;
    let per_line = elapsed.as_secs_f64() * 1e9 / lines as f64;
    println!(
        "referee: {} bills ({lines} lines, {:.1} a bill) of {} provinces re-classified in {:.1} ms: {per_bill:.1} µs a bill, {per_line:.0} ns a line, one thread",
        requests.len(),
        lines as f64 / requests.len() as f64,
        catalogues.len(),
        elapsed.as_secs_f64() * 1e3,
    );
}
