//! Clearing at national scale: `cargo run --release -p yidi-clearing --example bench -- [BILLS]`.
//!
//! Posts BILLS settled bills (default 1,000,000, about a month of cross-province inpatient
//! settlements) among 31 provinces, runs the calendar to the notice, confirms, makes the round
//! final, and times each step, then the dashboard's views, and the hub's start-up work:
//! encoding the events, hash-chaining them, verifying the chain and replaying the log.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // A benchmark: stop loudly.
#![allow(clippy::float_arithmetic, clippy::as_conversions)] // Rates and sizes for printing, not money.

use std::time::Instant;

use chrono::{Days, NaiveDate};
use rust_decimal::Decimal;
use yidi_clearing::book::Settings;
use yidi_clearing::funds::{Fund, Funds};
use yidi_clearing::{chain, Book, Event};
use yidi_domain::ids::RegionCode;
use yidi_domain::money::Amount;

const PROVINCES: [&str; 31] = [
    "110000", "120000", "130000", "140000", "150000", "210000", "220000", "230000", "310000",
    "320000", "330000", "340000", "350000", "360000", "370000", "410000", "420000", "430000",
    "440000", "450000", "460000", "500000", "510000", "520000", "530000", "540000", "610000",
    "620000", "630000", "640000", "650000",
];

fn timed<T>(what: &str, count: usize, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = f();
    let elapsed = start.elapsed();
    let rate = if elapsed.as_secs_f64() > 0.0 { count as f64 / elapsed.as_secs_f64() } else { 0.0 };
    println!("{what:<46} {:>9.1} ms  {:>12.0} /s", elapsed.as_secs_f64() * 1000.0, rate);
    out
}

fn main() {
    let bills: usize =
        std::env::args().nth(1).map(|a| a.parse().expect("BILLS")).unwrap_or(1_000_000);
    let regions: Vec<RegionCode> = PROVINCES.iter().map(|p| p.parse().unwrap()).collect();
    let mut book = Book::new(Settings::default());
    let day = NaiveDate::from_ymd_opt(2027, 1, 15).unwrap();
    let mut log: Vec<Event> = Vec::with_capacity(bills + 100);
    println!("clearing bench: {bills} bills among {} provinces", regions.len());
    post_month(&mut book, &mut log, &regions, bills, day);
    let notice_day = NaiveDate::from_ymd_opt(2027, 2, 22).unwrap();
    let events =
        timed("tick to the notice (round generation)", bills, || book.tick(notice_day).unwrap());
    log.extend(events);
    let period = "2027-01".parse().unwrap();
    timed("positions of the round (netting)", bills, || book.positions(period).unwrap());
    timed("notice of one province (lines + bills)", bills / 31, || {
        book.notice(period, regions[8]).unwrap()
    });
    for (i, province) in regions.iter().enumerate() {
        let disputed = if i == 0 { vec!["S000000000000".to_owned()] } else { Vec::new() };
        if let Ok(event) = book.confirm(period, *province, disputed, notice_day) {
            book.apply(event.clone()).unwrap();
            log.push(event);
        }
    }
    let events = timed("tick: the round becomes final", bills, || {
        book.tick(notice_day.checked_add_days(Days::new(1)).unwrap()).unwrap()
    });
    log.extend(events);
    let today = NaiveDate::from_ymd_opt(2027, 5, 1).unwrap();
    log.extend(timed("tick 60 days later (ladder for 31 provinces)", 31, || {
        book.tick(today).unwrap()
    }));
    timed("overdue of every province", 31, || book.overdue(today));
    timed("prepayment usage of every pair", bills, || book.prepayments(today));
    timed("trial balance", bills, || book.ledger().trial_balance().unwrap());
    chain_and_replay(&log, &book, today);
    let p = book.positions(period).unwrap();
    println!(
        "round 2027-01: gross {} netted {} saved {} (Σ net {})",
        p.netting.gross, p.netting.netted, p.netting.saved, p.net_sum
    );
}

/// A month of `bills` settlements between random provinces, posted and applied.
fn post_month(
    book: &mut Book,
    log: &mut Vec<Event>,
    regions: &[RegionCode],
    bills: usize,
    day: NaiveDate,
) {
    let mut seed: u64 = 7;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    timed("post settlements (decide + apply)", bills, || {
        for n in 0..bills {
            let insured = regions[(next() % 31) as usize];
            let mut treatment = regions[(next() % 31) as usize];
            if treatment == insured {
                treatment = regions
                    [(PROVINCES.iter().position(|p| *p == insured.as_str()).unwrap() + 1) % 31];
            }
            let fen = i64::try_from(next() % 5_000_000).unwrap();
            let funds = Funds::ZERO
                .with(Fund::PoolEmployee, Amount::new(Decimal::new(fen, 2)).unwrap())
                .with(Fund::Acct, Amount::new(Decimal::new(fen / 10, 2)).unwrap());
            let event = book
                .post_settlement(&format!("S{n:012}"), insured, treatment, funds, day)
                .unwrap()
                .unwrap();
            book.apply(event.clone()).unwrap();
            log.push(event);
        }
    });
}

/// The hub's start-up work on the log: encode, hash-chain, verify, replay into the same book.
fn chain_and_replay(log: &[Event], book: &Book, today: NaiveDate) {
    let bodies: Vec<(String, String)> = timed("encode the log (JSON)", log.len(), || {
        log.iter().map(|e| (e.kind().to_owned(), serde_json::to_string(e).unwrap())).collect()
    });
    let bytes: usize = bodies.iter().map(|(_, b)| b.len()).sum();
    println!("{:<46} {:>9.1} MB", "  log size", bytes as f64 / 1e6);
    let records = timed("hash-chain the log", log.len(), || {
        let mut records: Vec<chain::Record> = Vec::with_capacity(bodies.len());
        for (kind, body) in bodies {
            let record = chain::link(records.last(), &kind, body);
            records.push(record);
        }
        records
    });
    timed("verify the chain (hub start-up)", records.len(), || chain::verify(&records).unwrap());
    timed("  of which: decode the events (JSON)", records.len(), || {
        let decoded =
            records.iter().filter(|r| serde_json::from_str::<Event>(&r.body).is_ok()).count();
        assert_eq!(decoded, records.len());
    });
    let rebuilt = timed("replay the log: decode + re-check + apply", records.len(), || {
        let mut rebuilt = Book::new(Settings::default());
        for record in &records {
            rebuilt.apply(serde_json::from_str(&record.body).unwrap()).unwrap();
        }
        rebuilt
    });
    assert_eq!(rebuilt.overdue(today), book.overdue(today));
}
