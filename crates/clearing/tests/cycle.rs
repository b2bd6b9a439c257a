//! The monthly clearing cycle of domain.md §5.2–5.3 and issue #5, on a small network:
//! notices on the 20th, disputes carried to the next round, payment by the transfer
//! deadline, then the ladder reminder → warning → suspension → lifted.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests panic: a failure should stop with a backtrace.
#![allow(clippy::as_conversions)] // Test data is small and made here: counts and indexes fit.

use chrono::{Days, NaiveDate};
use yidi_clearing::book::Settings;
use yidi_clearing::funds::{Fund, Funds};
use yidi_clearing::overdue::Level;
use yidi_clearing::round::RoundState;
use yidi_clearing::{chain, Book, ClearingError, Event};
use yidi_domain::ids::RegionCode;
use yidi_domain::money::Amount;

fn date(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

fn region(code: &str) -> RegionCode {
    code.parse().unwrap()
}

fn yuan(text: &str) -> Amount {
    match text.strip_prefix('-') {
        Some(magnitude) => yuan(magnitude).negated(),
        None => Amount::new(text.parse().unwrap()).unwrap(),
    }
}

fn funds(hifp: &str, acct: &str) -> Funds {
    Funds::ZERO.with(Fund::PoolEmployee, yuan(hifp)).with(Fund::Acct, yuan(acct))
}

/// A new book, with `book`'s settings, that read `book`'s ledger entries back (the checks of
/// `apply` run on each).
fn ledger_replayed(book: &Book) -> Book {
    let mut rebuilt = Book::new(book.settings.clone());
    for entry in book.ledger().entries() {
        rebuilt.apply(Event::Posted { entry: entry.clone() }).unwrap();
    }
    rebuilt
}

/// Applies a command's event, as the hub does after persisting it.
fn run(book: &mut Book, event: Result<Option<Event>, ClearingError>) {
    if let Some(event) = event.unwrap() {
        book.apply(event).unwrap();
    }
}

/// Ticks every day from `from` to `to`, like the hub's clock.
fn days(book: &mut Book, from: NaiveDate, to: NaiveDate) -> Vec<Event> {
    let mut events = Vec::new();
    let mut day = from;
    while day <= to {
        events.extend(book.tick(day).unwrap());
        day = day.checked_add_days(Days::new(1)).unwrap();
    }
    events
}

/// Beijing (110000) treats Shanghai's insured, Shanghai treats Guangdong's, Guangdong treats
/// Beijing's, all in January 2027.
fn january() -> Book {
    let mut book = Book::new(Settings::default());
    let on = date("2027-01-12");
    for (setl_id, insured, treatment, hifp, acct) in [
        ("S1", "310000", "110000", "1000.00", "100.00"),
        ("S2", "310000", "110000", "500.00", "0.00"),
        ("S3", "440000", "310000", "800.00", "0.00"),
        ("S4", "110000", "440000", "300.00", "0.00"),
    ] {
        let e = book.post_settlement(
            setl_id,
            region(insured),
            region(treatment),
            funds(hifp, acct),
            on,
        );
        run(&mut book, e);
    }
    book
}

#[test]
fn a_replayed_settlement_posts_nothing_twice() {
    let book = january();
    let again = book.post_settlement(
        "S1",
        region("310000"),
        region("110000"),
        funds("1000.00", "100.00"),
        date("2027-01-13"),
    );
    assert_eq!(again.unwrap(), None);
    assert_eq!(book.ledger().entries().len(), 4);
}

#[test]
fn a_bill_treated_in_its_own_province_is_not_inter_provincial() {
    let book = Book::new(Settings::default());
    let err = book.post_settlement(
        "X",
        region("310000"),
        region("310100"),
        funds("1.00", "0.00"),
        date("2027-01-02"),
    );
    assert_eq!(err.unwrap_err().code(), "CLR_04");
}

#[test]
fn notices_come_on_the_20th_of_the_next_month_and_net_to_zero() {
    let mut book = january();
    let events = days(&mut book, date("2027-01-13"), date("2027-02-19"));
    // Until the notice, the calendar only sizes the year's prepayment of each pair, once.
    let sized: Vec<&Event> =
        events.iter().filter(|e| matches!(e, Event::PrepaymentSized { .. })).collect();
    assert_eq!((sized.len(), events.len()), (3, 3), "{events:?}");
    days(&mut book, date("2027-02-20"), date("2027-02-22")); // the 20th is a Saturday
    let round = book.round("2027-01".parse().unwrap()).expect("round generated");
    assert_eq!(round.generated_on, date("2027-02-22"));
    let positions = book.positions("2027-01".parse().unwrap()).unwrap();
    assert_eq!(positions.net_sum, Amount::ZERO);
    // 310000 owes 1,600.00 and is owed 800.00: it pays 800.00 net.
    assert_eq!(positions.netting.net[&region("310000")], yuan("-800.00"));
    assert_eq!(positions.netting.gross, yuan("2700.00"));
    // Shanghai pays 800.00 and Guangdong 500.00 instead of 2,700.00 bill by bill.
    assert_eq!(positions.netting.netted, yuan("1300.00"));
    assert_eq!(positions.netting.saved, yuan("1400.00"));
    // Shanghai's notice lists both bills it owes Beijing, with their amounts.
    let notice = book.notice("2027-01".parse().unwrap(), region("310000")).unwrap();
    assert_eq!(notice.owing.len(), 1);
    assert_eq!(notice.owing[0].total, yuan("1600.00"));
    let bills: Vec<&str> = notice.owing[0].bills.iter().map(|b| b.setl_id.as_str()).collect();
    assert_eq!(bills, ["S1", "S2"]);
}

#[test]
fn a_disputed_bill_moves_to_the_next_round_while_the_rest_settles() {
    let mut book = january();
    days(&mut book, date("2027-01-13"), date("2027-02-22"));
    let period = "2027-01".parse().unwrap();
    let c = book.confirm(period, region("310000"), vec!["S2".into()], date("2027-02-23"));
    book.apply(c.unwrap()).unwrap();
    // Shanghai cannot dispute a bill it does not owe.
    let wrong = book.confirm(period, region("110000"), vec!["S3".into()], date("2027-02-23"));
    assert_eq!(wrong.unwrap_err().code(), "CLR_08");
    for p in ["110000", "440000"] {
        let c = book.confirm(period, region(p), vec![], date("2027-02-23"));
        book.apply(c.unwrap()).unwrap();
    }
    days(&mut book, date("2027-02-23"), date("2027-02-24"));
    let positions = book.positions(period).unwrap();
    assert_eq!(positions.state, RoundState::Final);
    assert_eq!(positions.disputed, ["S2"]);
    assert_eq!(positions.netting.net[&region("310000")], yuan("-300.00"));
    // S2 is in February's round.
    days(&mut book, date("2027-02-25"), date("2027-03-22"));
    let february = book.round("2027-02".parse().unwrap()).unwrap();
    let carried: Vec<&str> =
        february.entries.iter().map(|&i| book.ledger().entries()[i].setl_id.as_str()).collect();
    assert_eq!(carried, ["S2"]);
}

#[test]
fn a_late_payer_climbs_the_ladder_is_suspended_and_lifted_once_paid() {
    let mut book = january();
    let period = "2027-01".parse().unwrap();
    // Nobody confirms: deemed accepted the day after the 10th working day (2027-03-08).
    days(&mut book, date("2027-01-13"), date("2027-03-09"));
    let round = book.round(period).unwrap().clone();
    assert!(round.final_on.is_some());
    // Guangdong pays on time (Beijing is a net creditor); Shanghai does not.
    let guangdong = book.pay(period, region("440000"), yuan("500.00"), "T1", round.pay_by);
    book.apply(guangdong.unwrap()).unwrap();
    let shanghai = region("310000");
    let over = book.pay(period, shanghai, yuan("800.01"), "T2", round.pay_by);
    assert_eq!(over.unwrap_err().code(), "CLR_10");

    let day = |n: u64| round.pay_by.checked_add_days(Days::new(n)).unwrap();
    days(&mut book, date("2027-03-10"), day(1));
    assert_eq!(book.level(shanghai), Level::Reminder);
    days(&mut book, day(2), day(15));
    assert_eq!(book.level(shanghai), Level::Warning);
    days(&mut book, day(16), day(30));
    assert_eq!(book.level(shanghai), Level::Suspended);
    assert!(book.suspended().contains(&shanghai));
    let overdue = book.overdue_of(shanghai, day(30));
    assert_eq!(overdue.overdue, yuan("800.00"));
    assert_eq!(overdue.aging[0], yuan("800.00"));
    assert_eq!(overdue.days_past_due, 30);
    days(&mut book, day(31), day(31));
    assert_eq!(book.overdue_of(shanghai, day(31)).aging[1], yuan("800.00"));

    let paid = book.pay(period, shanghai, yuan("800.00"), "T3", day(32));
    book.apply(paid.unwrap()).unwrap();
    let lifted = book.tick(day(32)).unwrap();
    assert!(
        matches!(
            &lifted[..],
            [Event::Transition { to: Level::Normal, from: Level::Suspended, .. }]
        ),
        "{lifted:?}"
    );
    assert!(book.suspended().is_empty());
    let steps: Vec<Level> =
        book.transitions().iter().filter(|t| t.province == shanghai).map(|t| t.to).collect();
    assert_eq!(steps, [Level::Reminder, Level::Warning, Level::Suspended, Level::Normal]);
    assert!(book.transitions().iter().all(|t| !t.reason.is_empty()));
}

#[test]
fn an_audit_deduction_flows_into_the_next_round() {
    let mut book = january();
    days(&mut book, date("2027-01-13"), date("2027-02-22"));
    let e = book.deduct(
        "AUD-1",
        "S1",
        yuan("200.00"),
        "fraud: phantom bed days (art. 49)",
        date("2027-02-25"),
    );
    run(&mut book, e);
    let too_much = book.deduct("AUD-2", "S1", yuan("900.01"), "again", date("2027-02-25"));
    assert_eq!(too_much.unwrap_err().code(), "CLR_03");
    days(&mut book, date("2027-02-23"), date("2027-03-22"));
    let february = book.positions("2027-02".parse().unwrap()).unwrap();
    // Beijing owes Shanghai back the deducted 200.00 of the pooled fund.
    assert_eq!(february.netting.net[&region("110000")], yuan("-200.00"));
    assert_eq!(february.netting.net[&region("310000")], yuan("200.00"));
}

/// Seed 004 art. 49: the amount defrauded is recovered (a deduction) and the institution fined
/// up to five times it; both flow into the next round, owed by the treatment province.
#[test]
fn a_fraud_recovery_and_its_fine_flow_into_the_next_round() {
    let mut book = january();
    days(&mut book, date("2027-01-13"), date("2027-02-22"));
    let on = date("2027-02-25");
    let no_recovery = book.fine("FINE-0", "S1", yuan("1.00"), "art. 49(ii)", on);
    assert_eq!(no_recovery.unwrap_err().code(), "CLR_16", "no fine without a recovery");
    let e = book.deduct("REC-1", "S1", yuan("200.00"), "art. 49(ii): phantom bed days", on);
    run(&mut book, e);
    let e = book.fine("FINE-1", "S1", yuan("600.00"), "art. 49(ii): three times", on);
    run(&mut book, e);
    // Fines on the bill may reach five times the 200.00 recovered, no more.
    let beyond = book.fine("FINE-2", "S1", yuan("400.01"), "art. 49(ii)", on);
    assert_eq!(beyond.unwrap_err().code(), "CLR_16");
    let e = book.fine("FINE-2", "S1", yuan("400.00"), "art. 49(ii)", on);
    run(&mut book, e);
    assert_eq!(book.fine("FINE-2", "S1", yuan("400.00"), "art. 49(ii)", on).unwrap(), None);
    assert_eq!(book.fine("FINE-3", "S1", yuan("5"), " ", on).unwrap_err().code(), "CLR_15");
    days(&mut book, date("2027-02-23"), date("2027-03-22"));
    let february = book.positions("2027-02".parse().unwrap()).unwrap();
    // Beijing owes Shanghai the 200.00 recovered and the 1,000.00 of fines.
    assert_eq!(february.netting.net[&region("110000")], yuan("-1200.00"));
    assert_eq!(february.netting.net[&region("310000")], yuan("1200.00"));
    let notice = book.notice("2027-02".parse().unwrap(), region("110000")).unwrap();
    let kinds: Vec<String> = notice
        .owed
        .iter()
        .chain(&notice.owing)
        .flat_map(|l| l.bills.iter().map(|b| format!("{:?} {}", b.kind, b.amount)))
        .collect();
    assert!(kinds.contains(&"Fine -600.00".to_owned()), "{kinds:?}");
    // The log replays: the five-times rule holds on the way back in too.
    assert_eq!(ledger_replayed(&book).ledger().trial_balance(), book.ledger().trial_balance());
}

#[test]
fn a_fine_withdrawn_by_a_later_decision_is_owed_back_once() {
    // Seed 004 arts. 49–53: a sanction stands until a recorded decision undoes it.
    let mut book = january();
    days(&mut book, date("2027-01-13"), date("2027-02-22"));
    let on = date("2027-02-25");
    let e = book.deduct("REC-1", "S1", yuan("200.00"), "art. 49(ii): phantom bed days", on);
    run(&mut book, e);
    let e = book.fine("FINE-1", "S1", yuan("1000.00"), "art. 49(ii): five times", on);
    run(&mut book, e);
    assert_eq!(
        book.fine("FINE-2", "S1", yuan("0.01"), "art. 49(ii)", on).unwrap_err().code(),
        "CLR_16"
    );
    assert_eq!(book.withdraw_fine("FINE-9", "appeal A-1", on).unwrap_err().code(), "CLR_15");
    assert_eq!(book.withdraw_fine("FINE-1", " ", on).unwrap_err().code(), "CLR_15");
    let e = book.withdraw_fine("FINE-1", "appeal decision A-1: the finding set aside", on);
    run(&mut book, e);
    assert_eq!(book.withdraw_fine("FINE-1", "appeal decision A-1", on).unwrap(), None, "once");
    // The five-times rule counts the fines that stand.
    let e = book.fine("FINE-2", "S1", yuan("400.00"), "art. 49(ii): twice", on);
    run(&mut book, e);
    days(&mut book, date("2027-02-23"), date("2027-03-22"));
    let february = book.positions("2027-02".parse().unwrap()).unwrap();
    // Beijing owes Shanghai the 200.00 recovered and the 400.00 fine that stands.
    assert_eq!(february.netting.net[&region("110000")], yuan("-600.00"));
    assert_eq!(ledger_replayed(&book).ledger().trial_balance(), book.ledger().trial_balance());
}

#[test]
fn a_deduction_withdrawn_by_a_later_decision_is_owed_again_once() {
    let mut book = january();
    days(&mut book, date("2027-01-13"), date("2027-02-22"));
    let on = date("2027-02-25");
    let e = book.deduct("REC-1", "S1", yuan("200.00"), "art. 49(ii): phantom bed days", on);
    run(&mut book, e);
    let e = book.fine("FINE-1", "S1", yuan("300.00"), "art. 49(ii)", on);
    run(&mut book, e);
    // The fine rests on the recovery: it goes first.
    let early = book.withdraw_deduction("REC-1", "appeal decision A-2", on);
    assert_eq!(early.unwrap_err().code(), "CLR_15");
    let e = book.withdraw_fine("FINE-1", "appeal decision A-2", on);
    run(&mut book, e);
    let e = book.withdraw_deduction("REC-1", "appeal decision A-2: the stays were real", on);
    run(&mut book, e);
    assert_eq!(book.withdraw_deduction("REC-1", "again", on).unwrap(), None, "once");
    let bill = book.ledger().bills().find(|b| b.setl_id == "S1").unwrap();
    assert_eq!(bill.owed, bill.settled, "the bill owes again what it took");
    days(&mut book, date("2027-02-23"), date("2027-03-22"));
    let february = book.positions("2027-02".parse().unwrap()).unwrap();
    assert_eq!(
        february.netting.net.get(&region("110000")).copied().unwrap_or_default(),
        Amount::ZERO
    );
    assert_eq!(ledger_replayed(&book).ledger().trial_balance(), book.ledger().trial_balance());
}

#[test]
fn seed_004_art_44_the_employees_and_residents_pooled_funds_are_cleared_apart() {
    use yidi_clearing::funds::Fund;
    let mut book = Book::new(Settings::default());
    let on = date("2027-01-12");
    let resident = Funds::ZERO.with(Fund::PoolResident, yuan("700.00"));
    for (setl_id, funds) in [("E1", funds("1000.00", "100.00")), ("R1", resident)] {
        let e = book.post_settlement(setl_id, region("310000"), region("110000"), funds, on);
        run(&mut book, e);
    }
    // An entry posted before the split, its pooled funds merged, is read as it was written.
    let scratch = Book::new(Settings::default());
    let posted = scratch
        .post_settlement("OLD1", region("310000"), region("110000"), funds("50.00", "0.00"), on)
        .unwrap()
        .unwrap();
    let old = serde_json::to_string(&posted).unwrap().replace("hifp_pay_310100", "hifp_pay");
    assert!(!old.contains("hifp_pay_"), "{old}");
    book.apply(serde_json::from_str::<Event>(&old).unwrap()).unwrap();
    let e = book.deduct("REC-R1", "R1", yuan("100.00"), "art. 49(ii)", date("2027-01-13"));
    run(&mut book, e);
    let e = book.fine("FINE-R1", "R1", yuan("300.00"), "art. 49(ii)", date("2027-01-13"));
    run(&mut book, e);
    let balance = book.ledger().trial_balance().unwrap();
    assert_eq!(balance.get(Fund::PoolEmployee), yuan("1000.00"));
    // The resident bill's deduction and fine come off the residents' pooled fund only.
    assert_eq!(balance.get(Fund::PoolResident), yuan("300.00"));
    assert_eq!(balance.get(Fund::Hifp), yuan("50.00"));
    days(&mut book, date("2027-01-13"), date("2027-02-22"));
    let january = book.positions("2027-01".parse().unwrap()).unwrap();
    let line = |code: &str| {
        january.by_fund.iter().find(|line| line.fund_pay_type == code).map(|line| line.amount)
    };
    assert_eq!(line("310100"), Some(yuan("1000.00")));
    assert_eq!(line("390100"), Some(yuan("300.00")));
    assert_eq!(line("310200"), Some(yuan("100.00")));
    assert_eq!(line("310100+390100"), Some(yuan("50.00")));
}

/// January's bills on a book whose prepayments are only the floor: 300.00 a pair.
fn january_with_small_prepayments() -> Book {
    let mut book = january();
    book.settings.prepay = yidi_clearing::prepay::PrepaySettings {
        months: 0,
        floor: yuan("300.00"),
        ..Default::default()
    };
    book
}

#[test]
fn notice_prepay_first_a_final_round_is_settled_first_against_the_prepayments() {
    // 先预付后清算 (issue #13 §6): Shanghai owes 800.00 net, Guangdong 500.00, each with
    // 300.00 prepaid to the province it owes; Beijing is owed 1,300.00.
    let mut book = january_with_small_prepayments();
    let period = "2027-01".parse().unwrap();
    let events = days(&mut book, date("2027-01-13"), date("2027-03-09"));
    let Some(Event::RoundFinal { prepay, .. }) =
        events.iter().find(|e| matches!(e, Event::RoundFinal { .. }))
    else {
        panic!("the round became final: {events:?}")
    };
    let draws: Vec<(String, Amount)> =
        prepay.draws.iter().map(|d| (format!("{}→{}", d.insured, d.treatment), d.amount)).collect();
    assert_eq!(
        draws,
        [("310000→110000".into(), yuan("300.00")), ("440000→310000".into(), yuan("300.00"))]
    );
    // What was drawn reaches the net creditor at once; the rest waits for the debtors.
    assert_eq!(prepay.paid_out_to(region("110000")), yuan("600.00"));
    let positions = book.positions(period).unwrap();
    assert_eq!(positions.prepay, *prepay);
    let pair = |book: &Book, insured: &str, treatment: &str| {
        book.prepayments(date("2027-03-09"))
            .into_iter()
            .find(|p| p.insured == region(insured) && p.treatment == region(treatment))
            .unwrap()
    };
    assert_eq!(pair(&book, "310000", "110000").balance, Amount::ZERO);
    // The debtors still owe their whole positions; a payment refills the prepayment first.
    let round = book.round(period).unwrap().clone();
    assert_eq!(round.outstanding(region("310000")), yuan("800.00"));
    let paid = book.pay(period, region("310000"), yuan("800.00"), "T1", round.pay_by);
    book.apply(paid.unwrap()).unwrap();
    let paid = book.pay(period, region("440000"), yuan("200.00"), "T2", round.pay_by);
    book.apply(paid.unwrap()).unwrap();
    let shanghai = pair(&book, "310000", "110000");
    assert_eq!(
        (shanghai.drawn, shanghai.refilled, shanghai.balance),
        (yuan("300.00"), yuan("300.00"), yuan("300.00"))
    );
    let guangdong = pair(&book, "440000", "310000");
    assert_eq!((guangdong.refilled, guangdong.balance), (yuan("200.00"), yuan("200.00")));
    // The log replays to the same draws.
    let mut rebuilt = ledger_replayed(&book);
    let replayed = days(&mut rebuilt, date("2027-01-13"), date("2027-03-09"));
    assert!(
        replayed.contains(events.iter().find(|e| matches!(e, Event::RoundFinal { .. })).unwrap())
    );
}

#[test]
fn notice_prepay_first_a_round_made_final_before_it_is_read_as_it_was() {
    // A round_final record written before prepay-first carries no draws: read, it has none,
    // and the debtor's position is owed as it was.
    let mut book = january();
    days(&mut book, date("2027-01-13"), date("2027-02-22"));
    let old = r#"{"event":"round_final","period":"2027-01","on":"2027-03-09","carried":[]}"#;
    book.apply(serde_json::from_str::<Event>(old).unwrap()).unwrap();
    let positions = book.positions("2027-01".parse().unwrap()).unwrap();
    assert!(positions.prepay.is_empty());
    let round = book.round("2027-01".parse().unwrap()).unwrap();
    assert_eq!(round.outstanding(region("310000")), yuan("800.00"));
    assert!(book.prepayments(date("2027-03-09")).iter().all(|p| p.drawn.is_zero()));
}

#[test]
fn the_event_log_rebuilds_the_same_book_and_its_chain_catches_edits() {
    let mut book = january();
    let mut log: Vec<Event> =
        book.ledger().entries().iter().map(|e| Event::Posted { entry: e.clone() }).collect();
    log.extend(days(&mut book, date("2027-01-13"), date("2027-04-30")));
    let mut records: Vec<chain::Record> = Vec::new();
    for event in &log {
        let body = serde_json::to_string(event).unwrap();
        let record = chain::link(records.last(), event.kind(), body);
        records.push(record);
    }
    chain::verify(&records).unwrap();
    let mut rebuilt = Book::new(Settings::default());
    for record in &records {
        rebuilt.apply(serde_json::from_str(&record.body).unwrap()).unwrap();
    }
    assert_eq!(rebuilt.overdue(date("2027-04-30")), book.overdue(date("2027-04-30")));
    assert_eq!(rebuilt.transitions(), book.transitions());

    // An edited amount breaks the chain; re-hashing it breaks the ledger's own checks.
    let mut forged = records.clone();
    forged[0].body = forged[0]
        .body
        .replace("\"hifp_pay_310100\":\"1000.00\"", "\"hifp_pay_310100\":\"9000.00\"");
    assert!(chain::verify(&forged).is_err());
    let event: Event = serde_json::from_str(&forged[0].body).unwrap();
    assert_eq!(Book::new(Settings::default()).apply(event).unwrap_err().code(), "CLR_12");
}

#[test]
fn notice_prepay_first_the_years_prepayment_is_sized_once_and_stands() {
    // Sized at the first tick of the year from the months so far; later months do not move
    // it (a top-up does).
    let mut book = january();
    book.settings.prepay =
        yidi_clearing::prepay::PrepaySettings { floor: yuan("100.00"), ..Default::default() };
    days(&mut book, date("2027-01-13"), date("2027-01-13"));
    let sized = |book: &Book| {
        book.prepayments(date("2027-03-01"))
            .into_iter()
            .find(|p| p.insured == region("310000") && p.treatment == region("110000"))
            .unwrap()
    };
    assert_eq!((sized(&book).prepaid, sized(&book).sizing.basis), (yuan("100.00"), "floor"));
    let e = book.post_settlement(
        "S9",
        region("310000"),
        region("110000"),
        funds("5000.00", "0"),
        date("2027-02-02"),
    );
    run(&mut book, e);
    days(&mut book, date("2027-02-02"), date("2027-03-01"));
    assert_eq!(sized(&book).prepaid, yuan("100.00"), "sized once a year");
    let topped = book.top_up(region("310000"), region("110000"), yuan("50.00"), date("2027-03-01"));
    book.apply(topped.unwrap()).unwrap();
    assert_eq!(sized(&book).prepaid, yuan("150.00"));
    let again = Event::PrepaymentSized {
        insured: region("310000"),
        treatment: region("110000"),
        year: 2027,
        amount: yuan("1.00"),
        basis: "floor".into(),
        monthly_average: Amount::ZERO,
        on: date("2027-03-01"),
    };
    assert_eq!(book.apply(again).unwrap_err().code(), "CLR_14", "sized twice");
}
