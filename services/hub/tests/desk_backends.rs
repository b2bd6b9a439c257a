//! The hub's clearing desk on SQLite (the embedded default) and PostgreSQL (production): the
//! ledger posts settled results in the settled-bill transaction, the business clock runs the
//! calendar, a restart replays and re-checks the log, bills recorded before the ledger are
//! backfilled, and an edited log record stops the hub from starting (issue #5 §1).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests panic: a failure should stop with a backtrace.
#![allow(clippy::as_conversions)] // Test data is small and made here: counts and indexes fit.

mod support;

use support::{result, schema};
use yidi_clearing::book::Settings;
use yidi_hub::clearing::Desk;
use yidi_hub::record;
use yidi_runtime::clock::BusinessClock;
use yidi_store::Store;
use yidi_wire::v1::SettleStatus;

/// What only someone with the database's DDL rights can do: drop the append-only guard.
async fn drop_guard(store: &Store) {
    let statements: &[&'static str] = match store.backend() {
        yidi_store::Backend::Sqlite => &[
            "DROP TRIGGER IF EXISTS clearing_log_no_update",
            "DROP TRIGGER IF EXISTS clearing_log_no_delete",
        ],
        yidi_store::Backend::Postgres => {
            &["DROP TRIGGER IF EXISTS clearing_log_append_only ON clearing_log"]
        }
    };
    for statement in statements {
        sqlx::query(*statement).execute(store.pool()).await.unwrap();
    }
}

#[allow(clippy::too_many_lines)] // One scenario whose steps build on each other, read in order.
async fn exercise(url: &str) {
    let store = Store::open_migrated(url, &schema(), yidi_hub::hospitals::CHANGES).await.unwrap();
    drop_guard(&store).await; // a fresh start on a database an earlier run used
    for statement in ["DELETE FROM clearing_log", "DELETE FROM settled_bill"] {
        sqlx::query(statement).execute(store.pool()).await.unwrap();
    }
    let start = chrono::NaiveDate::from_ymd_opt(2027, 1, 4);
    let desk = support::desk(&store, start).await;
    assert_eq!(desk.today().await.to_string(), "2027-01-04");

    // Settled results post; a repeat, a same-province bill and a rejection do not.
    let results = [
        result("S1", "310000", "440300", "1000.00", "100.00", SettleStatus::Settled),
        result("S2", "441900", "310000", "500.00", "0.00", SettleStatus::Settled),
        result("S3", "110000", "310000", "700.00", "0.00", SettleStatus::Settled),
        result("S1", "310000", "440300", "1000.00", "100.00", SettleStatus::Settled),
        result("S4", "310000", "310100", "900.00", "0.00", SettleStatus::Settled),
        result("S3", "110000", "310000", "700.00", "0.00", SettleStatus::Reversed),
    ];
    for r in &results {
        let period = desk.record_result(r).await.unwrap();
        if r.insuplc_admdvs[..2] != r.mdtrtarea_admvs[..2] {
            assert_eq!(period.map(|p| p.to_string()).as_deref(), Some("2027-01"), "{}", r.msgid);
        } else {
            assert_eq!(period, None, "a bill treated in its own province is not cleared");
        }
    }
    let (bills, advance, entries) = desk.ledger_bills().await;
    assert_eq!((bills, advance.to_string(), entries), (2, "1600.00".to_owned(), 4));
    for full in [false, true] {
        let checks = desk.checks(full).await;
        assert!(checks.iter().all(|c| c.ok), "{checks:?}");
    }

    // The notice of January on 22 February: Shanghai owes 1,100.00, is owed 500.00.
    let (today, _) = desk.advance(49).await.unwrap();
    assert_eq!(today.to_string(), "2027-02-22");
    let period = "2027-01".parse().unwrap();
    let positions = desk.positions(period).await.unwrap();
    assert!(positions.net_sum.is_zero());
    assert_eq!(positions.netting.net[&"310000".parse().unwrap()].to_string(), "-600.00");
    let (event, _) = desk
        .command(|book, today| {
            book.confirm(period, "310000".parse().unwrap(), vec![], today).map(Some)
        })
        .await
        .unwrap();
    assert!(event.is_some());
    let refused = desk
        .command(|book, today| {
            book.confirm(period, "310000".parse().unwrap(), vec![], today).map(Some)
        })
        .await;
    assert_eq!(refused.err().map(|e| e.code()), Some("CLR_07"));

    // A restart replays the log into the same book.
    let positions = desk.positions(period).await.unwrap();
    let overdue = desk.overdue().await;
    drop(desk);
    let desk = support::desk(&store, None).await;
    assert_eq!(desk.overdue().await, overdue);
    assert_eq!(desk.positions(period).await, Some(positions));

    // A bill recorded without the ledger (an older hub) is posted on start-up.
    let mut tx = store.begin().await.unwrap();
    record::record_result(
        &mut tx,
        &result("S9", "120000", "440000", "80.00", "0.00", SettleStatus::Settled),
        &BusinessClock::default().now(),
        &support::test_tokens(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    drop(desk);
    let desk = support::desk(&store, None).await;
    let checks = desk.checks(true).await;
    assert!(checks.iter().all(|c| c.ok), "{checks:?}");
    assert_eq!(desk.ledger_bills().await.0, 3);
    drop(desk);

    // The database refuses edits of the log…
    let edit = sqlx::query("UPDATE clearing_log SET body = body || ' ' WHERE seq = 2")
        .execute(store.pool())
        .await;
    assert!(edit.unwrap_err().to_string().contains("append-only"));
    let delete = sqlx::query("DELETE FROM clearing_log WHERE seq = 2").execute(store.pool()).await;
    assert!(delete.is_err());
    // …and an edit made past that guard stops the hub from starting.
    drop_guard(&store).await;
    sqlx::query("UPDATE clearing_log SET body = REPLACE(body, '1000.00', '9000.00') WHERE body LIKE '%\"S:S1\"%'")
        .execute(store.pool())
        .await
        .unwrap();
    let broken = Desk::open(
        store.clone(),
        Settings::default(),
        BusinessClock::default(),
        None,
        support::test_tokens(),
    )
    .await;
    assert_eq!(broken.err().map(|e| e.code()), Some("CLR_13"));
}

#[tokio::test]
async fn clearing_desk_on_sqlite() {
    let dir = std::env::temp_dir().join(format!("yidi-desk-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    exercise(&format!("sqlite://{}", dir.join("hub.db").display())).await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
#[ignore = "needs PostgreSQL: `make test` starts one (scripts/postgres.sh) and runs this"]
async fn clearing_desk_on_postgres() {
    let url = std::env::var("YIDI_TEST_POSTGRES")
        .expect("YIDI_TEST_POSTGRES: a postgres:// URL (make test sets it)");
    // A database of its own, as each service has in production.
    let url = yidi_store::postgres_database(&url, "yidi_test_hub").await.unwrap();
    exercise(&url).await;
}

/// Group commit: a lane of results recorded together posts exactly what the same results
/// recorded one at a time post, even when the lane holds a bill, its repeat and its reversal
/// (the book decides an entry only from what is committed, so those split the transaction).
#[tokio::test]
async fn a_lane_of_results_posts_what_the_results_post_one_at_a_time() {
    let results = [
        result("S1", "310000", "440300", "1000.00", "100.00", SettleStatus::Settled),
        result("S2", "441900", "310000", "500.00", "0.00", SettleStatus::Settled),
        result("S1", "310000", "440300", "1000.00", "100.00", SettleStatus::Settled),
        result("S2", "441900", "310000", "500.00", "0.00", SettleStatus::Reversed),
        result("S3", "110000", "310000", "700.00", "0.00", SettleStatus::Settled),
        result("S4", "310000", "310100", "900.00", "0.00", SettleStatus::Settled),
    ];
    let start = chrono::NaiveDate::from_ymd_opt(2027, 1, 4);
    let mut outcomes = Vec::new();
    for grouped in [true, false] {
        let dir =
            std::env::temp_dir().join(format!("yidi-desk-lane-{}-{grouped}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}", dir.join("hub.db").display());
        let store =
            Store::open_migrated(&url, &schema(), yidi_hub::hospitals::CHANGES).await.unwrap();
        let desk = support::desk(&store, start).await;
        let periods = if grouped {
            desk.record_results(&results.iter().collect::<Vec<_>>()).await.unwrap()
        } else {
            let mut periods = Vec::new();
            for r in &results {
                periods.push(desk.record_result(r).await.unwrap());
            }
            periods
        };
        let periods: Vec<Option<String>> =
            periods.into_iter().map(|p| p.map(|p| p.to_string())).collect();
        let (bills, advance, entries) = desk.ledger_bills().await;
        let checks = desk.checks(true).await;
        assert!(checks.iter().all(|c| c.ok), "{checks:?}");
        outcomes.push((periods, bills, advance.to_string(), entries));
        let _ = std::fs::remove_dir_all(&dir);
    }
    assert_eq!(outcomes[0], outcomes[1]);
    let expected = |p: &str| Some(p.to_owned());
    assert_eq!(
        outcomes[0].0,
        vec![
            expected("2027-01"),
            expected("2027-01"),
            expected("2027-01"),
            expected("2027-01"),
            expected("2027-01"),
            None
        ]
    );
    assert_eq!((outcomes[0].1, outcomes[0].3), (2, 4), "S1 and S3 stand; S2 posted and reversed");
}

/// A money call repeated under its idempotency key records nothing twice and gets the first
/// answer; the key reused for a different call is refused (issue #10 §6).
#[tokio::test]
async fn a_retried_top_up_under_its_idempotency_key_is_recorded_once() {
    use yidi_hub::clearing::{Commanded, Once};
    let dir = std::env::temp_dir().join(format!("yidi-desk-once-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("hub.db").display());
    let store = Store::open_migrated(&url, &schema(), yidi_hub::hospitals::CHANGES).await.unwrap();
    let start = chrono::NaiveDate::from_ymd_opt(2027, 1, 4);
    let desk = support::desk(&store, start).await;
    let top_up = |amount: &'static str| {
        move |book: &yidi_clearing::Book, today| {
            let amount = yidi_clearing::text::parse_amount(amount).unwrap();
            book.top_up("310000".parse().unwrap(), "440000".parse().unwrap(), amount, today)
                .map(Some)
        }
    };
    let log = || async {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM clearing_log")
            .fetch_one(store.pool())
            .await
            .unwrap()
    };
    let once = Once { key: "transfer-2027-001".into(), request_hash: "h1".into() };
    let first = desk.command_once(Some(&once), top_up("5000.00")).await.unwrap();
    let Commanded::Decided(Some(event), _) = first else { panic!("{first:?}") };
    let logged = log().await;
    let again = desk.command_once(Some(&once), top_up("5000.00")).await.unwrap();
    let Commanded::Repeated(Some(repeated)) = again else { panic!("{again:?}") };
    assert_eq!(serde_json::to_value(&repeated).unwrap(), serde_json::to_value(&event).unwrap());
    assert_eq!(log().await, logged, "the repeat recorded nothing");
    let other = Once { key: "transfer-2027-001".into(), request_hash: "h2".into() };
    let refused = desk.command_once(Some(&other), top_up("9000.00")).await;
    assert_eq!(refused.err().map(|e| e.code()), Some("STO_03"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The hub's versioned changes (agreements, person halts, registrations) on both backends: a
/// halt and its lifting are kept, a registration recorded and read back.
async fn sanctions_and_register(url: &str) {
    let store = Store::open_migrated(url, &schema(), yidi_hub::hospitals::CHANGES).await.unwrap();
    let tokens = support::test_tokens();
    let halt = yidi_wire::v1::HaltRecord {
        decision_id: "HALT-PG".into(),
        psn_no: "P9".into(),
        insuplc_admdvs: "120000".into(),
        begndate: "2026-11-01".into(),
        article: "seed 004 art. 53".into(),
        reason: "card lent".into(),
        decided_at: "2026-11-01 09:00:00".into(),
        ..Default::default()
    };
    let lifted = yidi_wire::v1::HaltRecord { lifted_by: "LIFT-PG".into(), ..halt.clone() };
    for record in [&halt, &lifted, &halt] {
        let mut tx = store.begin().await.unwrap();
        yidi_hub::halts::record(&mut tx, record, &tokens).await.unwrap();
        tx.commit().await.unwrap();
    }
    let listed = yidi_hub::halts::listed(&store).await.unwrap();
    assert_eq!(listed.iter().filter(|h| h.decision_id == "HALT-PG").count(), 1);
    assert!(listed.iter().any(|h| h.decision_id == "HALT-PG" && h.lifted_by == "LIFT-PG"));
    let outbox = yidi_runtime::outbox::Outbox::new(store.clone(), support::offline_bus());
    let ask = yidi_hub::hospitals::Ask {
        decision_id: format!("REG-{}", std::process::id()),
        fixmedins_code: "H31011500888".into(),
        agreement: "in_force".into(),
        article: "N22 point 3".into(),
        reason: "opened".into(),
        registration: Some(yidi_wire::v1::Registration {
            name: "Registered Hospital".into(),
            admdvs: "310115".into(),
            hosp_lv: 3,
            cross_province: true,
        }),
    };
    let decided =
        yidi_hub::hospitals::decide(&store, &outbox, &ask, "2026-11-30 10:00:00").await.unwrap();
    assert_eq!(decided.registration.unwrap().hosp_lv, 3);
    let history = yidi_hub::hospitals::history(&store, 10).await.unwrap();
    assert!(history.iter().any(|d| d.name == "Registered Hospital"));
}

#[tokio::test]
async fn sanctions_and_register_on_sqlite() {
    let dir = std::env::temp_dir().join(format!("yidi-desk-sanctions-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    sanctions_and_register(&format!("sqlite://{}", dir.join("hub.db").display())).await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
#[ignore = "needs PostgreSQL: `make test` starts one (scripts/postgres.sh) and runs this"]
async fn sanctions_and_register_on_postgres() {
    let url = std::env::var("YIDI_TEST_POSTGRES")
        .expect("YIDI_TEST_POSTGRES: a postgres:// URL (make test sets it)");
    let url = yidi_store::postgres_database(&url, "yidi_test_hub_sanctions").await.unwrap();
    sanctions_and_register(&url).await;
}
