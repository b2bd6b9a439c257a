//! Property tests of issue #5 for random ledgers: net positions sum to zero, every clearing
//! line traces to settled bills, and a reversal leaves balances as if the bill never happened.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests panic: a failure should stop with a backtrace.
#![allow(clippy::as_conversions)] // Test data is small and made here: counts and indexes fit.

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate};
use proptest::prelude::*;
use rust_decimal::Decimal;
use yidi_clearing::book::Settings;
use yidi_clearing::funds::{Fund, Funds};
use yidi_clearing::Book;
use yidi_domain::ids::RegionCode;
use yidi_domain::money::Amount;

const PROVINCES: [&str; 5] = ["110000", "120000", "310000", "440000", "330000"];

#[derive(Clone, Debug)]
struct Bill {
    insured: usize,
    treatment: usize,
    funds: [i64; 5],
    day: u64,
    reversed_after: Option<u64>,
    deducted: Option<(u64, i64)>,
}

fn bill() -> impl Strategy<Value = Bill> {
    (
        0..5usize,
        1..5usize,
        prop::array::uniform5(0..500_000i64),
        0..120u64,
        prop::option::of(0..90u64),
        prop::option::of((0..90u64, 1..1_000_000i64)),
    )
        .prop_map(|(insured, offset, funds, day, reversed_after, deducted)| Bill {
            insured,
            treatment: (insured + offset) % 5,
            funds,
            day,
            reversed_after,
            deducted,
        })
}

fn start() -> NaiveDate {
    NaiveDate::from_ymd_opt(2027, 1, 1).unwrap()
}

fn funds(fen: &[i64; 5]) -> Funds {
    Fund::ALL.into_iter().zip(fen).fold(Funds::ZERO, |f, (fund, fen)| {
        f.with(fund, Amount::new(Decimal::new(*fen, 2)).unwrap())
    })
}

fn region(i: usize) -> RegionCode {
    PROVINCES[i].parse().unwrap()
}

/// Runs 200 business days over the bills, posting, reversing and deducting on their days.
fn simulate(bills: &[Bill]) -> Book {
    let mut book = Book::new(Settings::default());
    for day in 0..200u64 {
        let today = start().checked_add_days(Days::new(day)).unwrap();
        for (n, b) in bills.iter().enumerate() {
            let setl_id = format!("S{n}");
            if b.day == day {
                let e = book.post_settlement(
                    &setl_id,
                    region(b.insured),
                    region(b.treatment),
                    funds(&b.funds),
                    today,
                );
                book.apply(e.unwrap().unwrap()).unwrap();
            }
            if let Some((after, fen)) = b.deducted {
                if b.day + after == day {
                    let amount = Amount::new(Decimal::new(fen, 2)).unwrap();
                    if let Ok(Some(e)) =
                        book.deduct(&format!("D{n}"), &setl_id, amount, "audit", today)
                    {
                        book.apply(e).unwrap();
                    }
                }
            }
            if b.reversed_after.is_some_and(|after| b.day + after == day) {
                if let Some(e) = book.post_reversal(&setl_id, today, "refund").unwrap() {
                    book.apply(e).unwrap();
                }
            }
        }
        book.tick(today).unwrap();
    }
    book
}

/// Σ over every round of each province's net position.
fn total_nets(book: &Book) -> BTreeMap<RegionCode, Amount> {
    let mut total: BTreeMap<RegionCode, Amount> = BTreeMap::new();
    for round in book.rounds() {
        for (p, a) in round.netting(book.ledger()).net {
            *total.entry(p).or_default() = total.get(&p).copied().unwrap_or_default() + a;
        }
    }
    total.retain(|_, a| !a.is_zero());
    total
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn net_positions_of_every_round_sum_to_zero(bills in prop::collection::vec(bill(), 0..40)) {
        let book = simulate(&bills);
        for round in book.rounds() {
            let positions = book.positions(round.period).unwrap();
            prop_assert_eq!(positions.net_sum, Amount::ZERO);
            prop_assert_eq!(positions.netting.saved, positions.netting.gross - positions.netting.netted);
        }
        book.ledger().trial_balance().unwrap();
    }

    #[test]
    fn every_clearing_line_traces_to_settled_bills(bills in prop::collection::vec(bill(), 1..40)) {
        let book = simulate(&bills);
        for round in book.rounds() {
            let pairs = round.pair_funds(book.ledger());
            for province in PROVINCES.iter().map(|p| p.parse::<RegionCode>().unwrap()) {
                let notice = round.notice(province, book.ledger());
                for line in notice.owing.iter().chain(&notice.owed) {
                    prop_assert_eq!(line.total, pairs[&(line.insured, line.treatment)].total());
                    let traced: Amount = line.bills.iter().map(|b| b.amount).sum();
                    prop_assert_eq!(traced, line.total);
                    for b in &line.bills {
                        let bill = book.ledger().bill(&b.setl_id).expect("a settled bill");
                        prop_assert_eq!((bill.insured, bill.treatment), (line.insured, line.treatment));
                    }
                }
            }
        }
    }

    #[test]
    fn a_reversal_leaves_balances_as_if_the_bill_never_happened(
        bills in prop::collection::vec(bill(), 1..30),
        extra in bill(),
        after in 0..100u64,
    ) {
        let plain: Vec<Bill> = bills.iter().map(|b| Bill { reversed_after: None, deducted: None, ..b.clone() }).collect();
        let mut with_reversed = plain.clone();
        with_reversed.push(Bill { reversed_after: Some(after), deducted: None, ..extra });
        // Over enough rounds for the reversal to be cleared too.
        let (a, b) = (simulate(&plain), simulate(&with_reversed));
        if extra.day + after < 120 {
            prop_assert_eq!(total_nets(&a), total_nets(&b));
            prop_assert_eq!(a.settled_bills(), b.settled_bills());
            prop_assert_eq!(a.ledger().trial_balance().unwrap(), b.ledger().trial_balance().unwrap());
        }
    }
}
