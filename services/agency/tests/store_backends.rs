//! The agency's tables and the idempotency inbox behave the same on SQLite (the embedded
//! default) and on PostgreSQL (production): one scenario, run on both.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests panic: a failure should stop with a backtrace.
#![allow(clippy::as_conversions)] // Test data is small and made here: counts and indexes fit.

use yidi_agency::store::{self, NewSettlement, SettlementRecord};
use yidi_domain::claim::Accumulators;
use yidi_domain::money::Amount;
use yidi_store::inbox::{self, Seen};
use yidi_store::{Store, StoreError};

fn money(text: &str) -> Amount {
    Amount::new(text.parse().unwrap()).unwrap()
}

#[allow(clippy::too_many_lines)] // One scenario whose steps build on each other, read in order.
async fn exercise(url: &str) {
    let store = Store::open_migrated(url, store::SCHEMA, store::CHANGES).await.unwrap();
    for statement in [
        "DELETE FROM inbox",
        "DELETE FROM person",
        "DELETE FROM contribution",
        "DELETE FROM filing",
        "DELETE FROM accumulator",
        "DELETE FROM settlement",
    ] {
        sqlx::query(statement).execute(store.pool()).await.unwrap();
    }
    let region = "120000".parse().unwrap();
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    let person = (0..50)
        .map(|i| yidi_sim::registry::person(region, i, today))
        .find(|p| !p.filings.is_empty())
        .unwrap();

    let mut tx = store.begin().await.unwrap();
    store::seed_person(&mut tx, &person).await.unwrap();
    store::seed_person(&mut tx, &person).await.unwrap(); // seeding twice changes nothing
    tx.commit().await.unwrap();

    let mut tx = store.begin().await.unwrap();
    let loaded = store::load_person(&mut tx, &person.psn_no).await.unwrap().unwrap();
    assert_eq!(loaded.scheme, person.scheme);
    assert_eq!(loaded.account_balance, person.account_balance);
    assert_eq!(loaded.registration, person.registration());
    assert_eq!(
        store::load_filings(&mut tx, &person.psn_no).await.unwrap(),
        person.domain_filings()
    );
    assert_eq!(store::person_count(&mut tx, region).await.unwrap(), 1);

    assert_eq!(
        store::load_accumulators(&mut tx, &person.psn_no, 2026).await.unwrap(),
        Accumulators::default()
    );
    let ytd = Accumulators {
        admissions: 2,
        pool_paid: money("12000.50"),
        catastrophic_paid: money("0.01"),
        assistance_paid: money("350.00"),
        inscp_selfborne: money("4100.25"),
    };
    let fresh = Accumulators::default();
    store::save_accumulators(&mut tx, &person.psn_no, 2026, &fresh, &ytd).await.unwrap();
    assert_eq!(store::load_accumulators(&mut tx, &person.psn_no, 2026).await.unwrap(), ytd);

    // A second writer that read the accumulators before the first wrote them cannot
    // overwrite them: its conditional write finds them changed (issue #10 §5, lost update).
    let stale = store::save_accumulators(&mut tx, &person.psn_no, 2026, &fresh, &ytd).await;
    assert_eq!(stale.err().map(|e| e.code()), Some("STO_04"));
    let more = Accumulators { admissions: 3, ..ytd };
    store::save_accumulators(&mut tx, &person.psn_no, 2026, &ytd, &more).await.unwrap();
    let stale = store::save_accumulators(&mut tx, &person.psn_no, 2026, &ytd, &more).await;
    assert_eq!(stale.err().map(|e| e.code()), Some("STO_04"));
    assert_eq!(store::load_accumulators(&mut tx, &person.psn_no, 2026).await.unwrap(), more);
    store::save_accumulators(&mut tx, &person.psn_no, 2026, &more, &ytd).await.unwrap();

    let record = SettlementRecord {
        setl_id: "120000abcdef".into(),
        msgid: "H44010100001202611231015000017".into(),
        psn_no: person.psn_no.clone(),
        year: 2026,
        hifp_pay: money("3277.59"),
        catastrophic_pay: money("0.00"),
        maf_pay: money("0.00"),
        inscp_selfborne: money("2262.30"),
        acct_pay: money("1200.00"),
        reversed: false,
        treatment: Some("440000".into()),
    };
    let new = NewSettlement {
        record: &record,
        insured: "120000",
        mdtrt_id: "MD1",
        begntime: "2026-11-10 09:00:00",
        endtime: "2026-11-23 10:00:00",
        fund_pay_sumamt: money("3277.59"),
        medfee_sumamt: money("8939.89"),
        settled_at: "2026-11-23 10:15:00",
    };
    store::insert_settlement(&mut tx, &new).await.unwrap();
    let standing = store::standing_stays(&mut tx, &person.psn_no).await.unwrap();
    assert_eq!(
        standing.iter().map(|s| (s.setl_id.as_str(), s.mdtrt_id.as_str())).collect::<Vec<_>>(),
        [("120000abcdef", "MD1")]
    );
    let found = store::find_settlement(&mut tx, "", &record.msgid).await.unwrap().unwrap();
    assert_eq!(
        (found.hifp_pay, found.acct_pay, found.reversed, found.treatment.as_deref()),
        (record.hifp_pay, record.acct_pay, false, Some("440000"))
    );
    assert_eq!(found.totals(), record.totals(), "a reversal takes back what the bill added");
    store::mark_reversed(&mut tx, &record.setl_id).await.unwrap();
    assert!(store::find_settlement(&mut tx, &record.setl_id, "").await.unwrap().unwrap().reversed);
    assert!(store::standing_stays(&mut tx, &person.psn_no).await.unwrap().is_empty());
    // Reversed, the stay may be settled again (2601, then 2304: a corrected bill).
    let corrected = SettlementRecord {
        setl_id: "120000corrected".into(),
        msgid: "H44010100001202611241015000018".into(),
        ..record.clone()
    };
    store::insert_settlement(&mut tx, &NewSettlement { record: &corrected, ..new }).await.unwrap();

    assert_eq!(inbox::check(&mut tx, "M1", "h1").await.unwrap(), Seen::New);
    inbox::record(&mut tx, "M1", "h1", b"first answer", "2026-11-23 10:15:00").await.unwrap();
    inbox::record(&mut tx, "M1", "h1", b"second answer", "2026-11-23 10:16:00").await.unwrap();
    assert_eq!(
        inbox::check(&mut tx, "M1", "h1").await.unwrap(),
        Seen::Answered(b"first answer".to_vec())
    );
    assert!(matches!(
        inbox::check(&mut tx, "M1", "other").await,
        Err(StoreError::IdempotencyConflict { .. })
    ));
    tx.commit().await.unwrap();

    // A rolled-back transaction leaves nothing: the inbox and the effect go together.
    let mut tx = store.begin().await.unwrap();
    inbox::record(&mut tx, "M2", "h2", b"never", "2026-11-23 10:17:00").await.unwrap();
    store::set_balance(&mut tx, &person.psn_no, money("1.00")).await.unwrap();
    tx.rollback().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    assert_eq!(inbox::check(&mut tx, "M2", "h2").await.unwrap(), Seen::New);
    assert_eq!(
        store::load_person(&mut tx, &person.psn_no).await.unwrap().unwrap().account_balance,
        person.account_balance
    );
    tx.rollback().await.unwrap();

    // Issue #26 §2: one standing settlement per (insured region, mdtrt_id), held by the
    // database itself, not by a read before the write: a second one fails its transaction.
    let mut tx = store.begin().await.unwrap();
    let twice = SettlementRecord {
        setl_id: "120000twice".into(),
        msgid: "H44010100001202611251015000019".into(),
        ..record.clone()
    };
    let again = store::insert_settlement(&mut tx, &NewSettlement { record: &twice, ..new }).await;
    assert!(again.is_err(), "a second standing settlement of the stay was written");
}

#[tokio::test]
async fn agency_tables_on_sqlite() {
    let dir = std::env::temp_dir().join(format!("yidi-store-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    exercise(&format!("sqlite://{}", dir.join("agency.db").display())).await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
#[ignore = "needs PostgreSQL: `make test` starts one (scripts/postgres.sh) and runs this"]
async fn agency_tables_on_postgres() {
    let url = std::env::var("YIDI_TEST_POSTGRES")
        .expect("YIDI_TEST_POSTGRES: a postgres:// URL (make test sets it)");
    // A database of its own, as each service has in production.
    let url = yidi_store::postgres_database(&url, "yidi_test_agency").await.unwrap();
    exercise(&url).await;
}
