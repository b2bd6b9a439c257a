//! The clearing calendar on the business clock, in process (issue #14 §4): the desk is given
//! a simulated clock, the test moves that clock as the days would pass, and the desk's own
//! calendar tick (the one the hub runs every 30 s) issues the notice on the generation day (or
//! the next working day)
//! and climbs the overdue ladder past the payment deadline (domain.md §5.3, seed 003 §IV).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests panic: a failure should stop with a backtrace.
#![allow(clippy::as_conversions)] // Test data is small and made here: counts and indexes fit.

mod support;

use chrono::TimeZone;
use yidi_clearing::book::{Event, Settings};
use yidi_hub::clearing::Desk;
use yidi_runtime::clock::{BusinessClock, DEFAULT_ZONE};
use yidi_store::Store;
use yidi_wire::v1::SettleStatus;

/// A desk on a fresh SQLite database whose business clock is `clock`.
async fn desk(name: &str, clock: &BusinessClock) -> (Desk, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("yidi-calendar-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("hub.db").display());
    let store = Store::open(&url, &support::schema()).await.unwrap();
    let desk =
        Desk::open(store, Settings::default(), clock.clone(), None, support::test_tokens()).await;
    (desk.unwrap(), dir)
}

/// 08:00 in Beijing on `day` of January 2027, as the simulated clock's start.
fn january(day: u32) -> BusinessClock {
    let start = DEFAULT_ZONE.with_ymd_and_hms(2027, 1, day, 8, 0, 0).unwrap();
    BusinessClock::simulated(DEFAULT_ZONE, start.with_timezone(&chrono::Utc))
}

#[tokio::test]
async fn the_notice_comes_on_the_generation_day_as_the_days_pass_not_before() {
    let clock = january(4);
    let (desk, dir) = desk("notice", &clock).await;
    assert_eq!(desk.today().await.to_string(), "2027-01-04");
    // Shanghai's insured person treated in Shenzhen: Guangdong advanced 900.00 for Shanghai.
    let bill = support::result("S1", "310000", "440300", "900.00", "0.00", SettleStatus::Settled);
    assert_eq!(desk.record_result(&bill).await.unwrap().unwrap().to_string(), "2027-01");

    // Day by day from 19 February, the desk's own tick (no one advances the desk by hand):
    // the 20th, generation day, is a Saturday, so the notice comes on Monday the 22nd.
    clock.advance(chrono::Duration::days(46));
    let mut generated = Vec::new();
    for _ in 0..5 {
        let today = desk.today().await.to_string();
        for event in desk.tick().await.unwrap() {
            if let Event::RoundGenerated { period, on, .. } = event {
                generated.push((today.clone(), period.to_string(), on.to_string()));
            }
        }
        clock.advance(chrono::Duration::days(1));
    }
    let monday = "2027-02-22".to_owned();
    assert_eq!(generated, [(monday.clone(), "2027-01".to_owned(), monday)]);
    assert!(desk.tick().await.unwrap().is_empty(), "a day is run once");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_province_that_does_not_pay_climbs_the_ladder_to_suspension_on_the_calendar() {
    let clock = january(4);
    let (desk, dir) = desk("ladder", &clock).await;
    let bill = support::result("S1", "310000", "440300", "900.00", "0.00", SettleStatus::Settled);
    desk.record_result(&bill).await.unwrap();
    clock.advance(chrono::Duration::days(49)); // Monday 22 February, the notice
    let pay_by = desk
        .tick()
        .await
        .unwrap()
        .iter()
        .find_map(|e| match e {
            Event::RoundGenerated { pay_by, .. } => Some(*pay_by),
            _ => None,
        })
        .expect("the notice of January");
    let shanghai = "310000".parse().unwrap();
    let guangdong = "440000".parse().unwrap();

    // Shanghai owes and does not pay. 29 days past the deadline: warned, still settling.
    let today = desk.today().await;
    clock.advance(chrono::Duration::days((pay_by - today).num_days() + 29));
    desk.tick().await.unwrap();
    let (_, overdue) = desk.overdue().await;
    assert!(overdue.iter().any(|o| o.province == shanghai), "{overdue:?}");
    assert!(!desk.suspended().read().unwrap().contains(&shanghai));

    // The 30th day past it: suspended (Ladder::suspend_after_days), and only the debtor.
    clock.advance(chrono::Duration::days(1));
    desk.tick().await.unwrap();
    let suspended = desk.suspended().read().unwrap().clone();
    assert!(suspended.contains(&shanghai), "{suspended:?}");
    assert!(!suspended.contains(&guangdong), "the creditor is not suspended");
    let _ = std::fs::remove_dir_all(&dir);
}
