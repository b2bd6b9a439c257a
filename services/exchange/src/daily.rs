//! The exchange's side of daily reconciliation: asked by the hub, it states the settlements
//! it delivered to its hospitals that were made on a day (`yidi_wire::day`), per insured
//! region — what its hospitals are owed, signed, for the hub to set beside its ledger and the
//! agencies' records.

use chrono::NaiveDate;
use yidi_bus::{topics, Failure, Incoming, Outgoing, Rejection, Transient};
use yidi_domain::ids::RegionCode;
use yidi_store::{Row, Store, StoreError};
use yidi_wire::codec::ContentType;
use yidi_wire::headers;
use yidi_wire::v1::DayStatementRequest;

/// Migration 7: each delivered settlement's day (the date of its `setl_time`), indexed.
pub const CHANGE: yidi_store::migrate::Change = yidi_store::migrate::Change {
    version: 7,
    description: "delivered settlements by the day they were made",
    // Settlements delivered before carry no day and are not stated.
    sqlite: DAY_SQL,
    postgres: DAY_SQL,
};

const DAY_SQL: &str = "ALTER TABLE hospital_setl ADD COLUMN setl_day TEXT;
    CREATE INDEX IF NOT EXISTS hospital_setl_day ON hospital_setl (setl_day)";

/// The settlements delivered here that were made on `day`, reversed since or not.
pub async fn settled_on(
    store: &Store,
    province: RegionCode,
    day: NaiveDate,
) -> Result<Vec<yidi_wire::day::Held>, StoreError> {
    let rows = sqlx::query(
        "SELECT insured, setl_id, fund_pay_sumamt FROM hospital_setl WHERE setl_day = $1",
    )
    .bind(day.to_string())
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|row| {
            let insured: String = row.try_get(0)?;
            let fund: String = row.try_get(2)?;
            Ok(yidi_wire::day::Held {
                insured: insured.parse().map_err(|_| StoreError::Corrupt {
                    column: "hospital_setl.insured",
                    detail: insured.clone(),
                })?,
                treatment: province,
                settled: yidi_wire::day::Settled {
                    setl_id: row.try_get(1)?,
                    fund: yidi_clearing::text::parse_amount(&fund).map_err(|_| {
                        StoreError::Corrupt {
                            column: "hospital_setl.fund_pay_sumamt",
                            detail: fund,
                        }
                    })?,
                },
            })
        })
        .collect()
}

/// Hub → exchange: the statement of the day asked, to the hub.
pub async fn on_request(
    exchange: &crate::intake::Exchange,
    incoming: &Incoming,
) -> Result<Vec<Outgoing>, Failure> {
    let ask = incoming.decode::<DayStatementRequest>("DayStatementRequest")?;
    let day: NaiveDate =
        ask.day.parse().map_err(|_| Rejection::new("INVALID_STATEMENT", "day: not yyyy-MM-dd"))?;
    let held = settled_on(&exchange.store, exchange.province, day).await.map_err(Transient::new)?;
    let province = exchange.province.to_string();
    let statement =
        yidi_wire::day::statement(day, "exchange", &province, &exchange.now(), held, ask.detail);
    tracing::info!(day = %ask.day, rows = statement.rows.len(), detail = ask.detail,
                   "day statement sent to the hub");
    Ok(vec![Outgoing::new(
        topics::HUB_STATEMENTS,
        &ask.day,
        "yidi.v1.DayStatement",
        &statement,
        ContentType::Protobuf,
    )
    .following(incoming)
    .with_header(headers::RECEIVER, "hub")])
}
