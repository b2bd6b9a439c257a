//! The exchange's side of reconciliation: every settlement and reversal it received for its
//! hospitals, by the clearing period the hub posted it in, and the statement (3201 totals
//! with 3202 detail ids) the hub asks for after each cut-off.

use std::collections::BTreeMap;

use yidi_bus::{topics, Failure, Incoming, Outgoing, Rejection, Transient};
use yidi_domain::ids::RegionCode;
use yidi_domain::money::Amount;
use yidi_store::{Row, Store, StoreError, Tx};
use yidi_wire::codec::ContentType;
use yidi_wire::headers;
use yidi_wire::v1::{SettleResult, SettleStatus, Statement, StatementRequest, StatementRow};

pub const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS hospital_setl (
    setl_id TEXT PRIMARY KEY, insured TEXT NOT NULL, period TEXT NOT NULL,
    medfee_sumamt TEXT NOT NULL, fund_pay_sumamt TEXT NOT NULL, acct_pay TEXT NOT NULL,
    refd_period TEXT)",
    "CREATE INDEX IF NOT EXISTS hospital_setl_period ON hospital_setl (period)",
];

/// Records a result the hub stamped with its clearing period. Replays change nothing.
pub async fn record(
    tx: &mut Tx,
    result: &SettleResult,
    period: Option<&str>,
) -> Result<(), StoreError> {
    let (Some(period), Some(info)) = (period, &result.setlinfo) else { return Ok(()) };
    if info.setl_id.is_empty() {
        return Ok(());
    }
    if result.status == SettleStatus::Settled as i32 {
        sqlx::query(
            "INSERT INTO hospital_setl (setl_id, insured, period, medfee_sumamt, fund_pay_sumamt, acct_pay, refd_period)
             VALUES ($1, $2, $3, $4, $5, $6, NULL) ON CONFLICT (setl_id) DO NOTHING",
        )
        .bind(&info.setl_id)
        .bind(&result.insuplc_admdvs)
        .bind(period)
        .bind(&info.medfee_sumamt)
        .bind(&info.fund_pay_sumamt)
        .bind(&info.acct_pay)
        .execute(&mut **tx)
        .await?;
    } else if result.status == SettleStatus::Reversed as i32 {
        sqlx::query(
            "UPDATE hospital_setl SET refd_period = $1 WHERE setl_id = $2 AND refd_period IS NULL",
        )
        .bind(period)
        .bind(&info.setl_id)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

#[derive(Default)]
struct Sums {
    row: StatementRow,
    medfee: Amount,
    fund: Amount,
    acct: Amount,
    refd_fund: Amount,
    refd_acct: Amount,
}

fn amount(text: &str) -> Amount {
    // Amounts were written from results the agency computed; one that does not read counts
    // as zero and surfaces as a mismatch at the hub.
    yidi_clearing::text::parse_amount(text).unwrap_or(Amount::ZERO)
}

/// The statement of one period.
pub async fn statement(
    store: &Store,
    province: RegionCode,
    period: &str,
    stmt_time: &str,
) -> Result<Statement, StoreError> {
    let rows = sqlx::query(
        "SELECT setl_id, insured, period, medfee_sumamt, fund_pay_sumamt, acct_pay, refd_period
         FROM hospital_setl WHERE period = $1 OR refd_period = $1 ORDER BY setl_id",
    )
    .bind(period)
    .fetch_all(store.pool())
    .await?;
    let mut by_insured: BTreeMap<String, Sums> = BTreeMap::new();
    for row in &rows {
        let setl_id: String = row.try_get(0)?;
        let insured: String = row.try_get(1)?;
        let insured =
            insured.parse::<RegionCode>().map(|r| r.province().to_string()).unwrap_or(insured);
        let settled_in: String = row.try_get(2)?;
        let refd_in: Option<String> = row.try_get(6)?;
        let (medfee, fund, acct) = (
            amount(&row.try_get::<String, _>(3)?),
            amount(&row.try_get::<String, _>(4)?),
            amount(&row.try_get::<String, _>(5)?),
        );
        let sums = by_insured.entry(insured.clone()).or_default();
        sums.row.insuplc_admdvs = insured;
        if settled_in == period {
            sums.row.fixmedins_setl_cnt += 1;
            sums.row.setl_ids.push(setl_id.clone());
            sums.medfee = sums.medfee + medfee;
            sums.fund = sums.fund + fund;
            sums.acct = sums.acct + acct;
        }
        if refd_in.as_deref() == Some(period) {
            sums.row.refd_setl_cnt += 1;
            sums.row.refd_setl_ids.push(setl_id);
            sums.refd_fund = sums.refd_fund + fund;
            sums.refd_acct = sums.refd_acct + acct;
        }
    }
    Ok(Statement {
        setlym: period.to_owned(),
        clr_optins: province.to_string(),
        rows: by_insured
            .into_values()
            .map(|s| StatementRow {
                medfee_sumamt: s.medfee.to_string(),
                fund_pay_sumamt: s.fund.to_string(),
                acct_pay: s.acct.to_string(),
                refd_fund_pay_sumamt: s.refd_fund.to_string(),
                refd_acct_pay: s.refd_acct.to_string(),
                ..s.row
            })
            .collect(),
        stmt_time: stmt_time.to_owned(),
    })
}

/// Hub → exchange: answers a statement request.
pub async fn on_request(
    exchange: &crate::intake::Exchange,
    incoming: &Incoming,
) -> Result<Vec<Outgoing>, Failure> {
    let request = incoming.decode::<StatementRequest>("StatementRequest")?;
    if request.setlym.parse::<yidi_clearing::period::Period>().is_err() {
        return Err(Rejection::new("INVALID_STATEMENT", "setlym: not yyyy-MM").into());
    }
    let statement = statement(&exchange.store, exchange.province, &request.setlym, &exchange.now())
        .await
        .map_err(Transient::new)?;
    tracing::info!(period = %request.setlym, rows = statement.rows.len(), "statement sent to the hub");
    Ok(vec![Outgoing::new(
        topics::HUB_STATEMENTS,
        &statement.setlym,
        "yidi.v1.Statement",
        &statement,
        ContentType::Protobuf,
    )
    .following(incoming)
    .with_header(headers::RECEIVER, "hub")])
}
