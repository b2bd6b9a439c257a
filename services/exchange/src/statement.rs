//! The exchange's side of reconciliation: every settlement and reversal it received for its
//! hospitals, by the clearing period the hub posted it in, and the statement (3201 totals
//! with 3202 detail ids) the hub asks for after each cut-off.

use std::collections::BTreeMap;

use yidi_bus::{limits, topics, Failure, Incoming, Outgoing, Rejection, Transient};
use yidi_domain::fingerprint::Fingerprinter;
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
    if result.status == i32::from(SettleStatus::Settled) {
        sqlx::query(
            "INSERT INTO hospital_setl (setl_id, insured, period, medfee_sumamt, fund_pay_sumamt, acct_pay, refd_period, setl_day)
             VALUES ($1, $2, $3, $4, $5, $6, NULL, $7) ON CONFLICT (setl_id) DO NOTHING",
        )
        .bind(&info.setl_id)
        .bind(&result.insuplc_admdvs)
        .bind(period)
        .bind(&info.medfee_sumamt)
        .bind(&info.fund_pay_sumamt)
        .bind(&info.acct_pay)
        // The day the agency made it (`setl_time`), for daily reconciliation.
        .bind(info.setl_time.get(..10).filter(|day| day.len() == 10))
        .execute(&mut **tx)
        .await?;
    } else if result.status == i32::from(SettleStatus::Reversed) {
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

impl Sums {
    fn row(self) -> StatementRow {
        StatementRow {
            medfee_sumamt: self.medfee.to_string(),
            fund_pay_sumamt: self.fund.to_string(),
            acct_pay: self.acct.to_string(),
            refd_fund_pay_sumamt: self.refd_fund.to_string(),
            refd_acct_pay: self.refd_acct.to_string(),
            ..self.row
        }
    }
}

fn amount(text: &str) -> Amount {
    // Amounts were written from results the agency computed; one that does not read counts
    // as zero and surfaces as a mismatch at the hub.
    yidi_clearing::text::parse_amount(text).unwrap_or(Amount::ZERO)
}

/// One bill of the period, as the exchange delivered it: settled in it, reversed in it, or
/// both.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Detail {
    pub insured: String,
    pub setl_id: String,
    pub settled: bool,
    pub reversed: bool,
    pub medfee: Amount,
    pub fund: Amount,
    pub acct: Amount,
}

impl Detail {
    /// What the bill's ids take in a part.
    fn bytes(&self) -> usize {
        let one = self.setl_id.len() + limits::STATEMENT_ID_OVERHEAD;
        one * (usize::from(self.settled) + usize::from(self.reversed))
    }
}

/// The statement of `details` (in insured-province, then id, order) in parts whose ids take
/// at most `part_bytes` each; each part's rows are the totals of exactly its own ids, so the
/// statement is the sum of its parts. A statement with no bills is one part with no rows.
pub fn parts(
    province: RegionCode,
    period: &str,
    stmt_time: &str,
    details: &[Detail],
    part_bytes: usize,
) -> Vec<Statement> {
    let mut parts: Vec<BTreeMap<String, Sums>> = vec![BTreeMap::new()];
    let mut used = 0;
    let mut fingerprint = Fingerprinter::new("statement");
    fingerprint.text(province.as_str()).text(period).text(stmt_time);
    for detail in details {
        fingerprint
            .text(&detail.insured)
            .text(&detail.setl_id)
            .tag(u8::from(detail.settled) << 1 | u8::from(detail.reversed))
            .decimal(detail.medfee.value())
            .decimal(detail.fund.value())
            .decimal(detail.acct.value());
        let bytes = detail.bytes();
        if used > 0 && used + bytes > part_bytes {
            parts.push(BTreeMap::new());
            used = 0;
        }
        used += bytes;
        let Some(part) = parts.last_mut() else { continue };
        let sums = part.entry(detail.insured.clone()).or_default();
        sums.row.insuplc_admdvs.clone_from(&detail.insured);
        if detail.settled {
            sums.row.fixmedins_setl_cnt += 1;
            sums.row.setl_ids.push(detail.setl_id.clone());
            sums.medfee = sums.medfee + detail.medfee;
            sums.fund = sums.fund + detail.fund;
            sums.acct = sums.acct + detail.acct;
        }
        if detail.reversed {
            sums.row.refd_setl_cnt += 1;
            sums.row.refd_setl_ids.push(detail.setl_id.clone());
            sums.refd_fund = sums.refd_fund + detail.fund;
            sums.refd_acct = sums.refd_acct + detail.acct;
        }
    }
    let stmt_id = fingerprint.finish();
    let count = u32::try_from(parts.len()).unwrap_or(u32::MAX);
    parts
        .into_iter()
        .zip(1..)
        .map(|(sums, part)| Statement {
            setlym: period.to_owned(),
            clr_optins: province.to_string(),
            rows: sums.into_values().map(Sums::row).collect(),
            stmt_time: stmt_time.to_owned(),
            stmt_id: stmt_id.clone(),
            part,
            parts: count,
        })
        .collect()
}

/// What the exchange delivered with clearing period `period`, by insured province and id.
pub async fn details(store: &Store, period: &str) -> Result<Vec<Detail>, StoreError> {
    let rows = sqlx::query(
        "SELECT setl_id, insured, period, medfee_sumamt, fund_pay_sumamt, acct_pay, refd_period
         FROM hospital_setl WHERE period = $1 OR refd_period = $1 ORDER BY setl_id",
    )
    .bind(period)
    .fetch_all(store.pool())
    .await?;
    let mut details = Vec::with_capacity(rows.len());
    for row in &rows {
        let insured: String = row.try_get(1)?;
        let settled_in: String = row.try_get(2)?;
        let refd_in: Option<String> = row.try_get(6)?;
        details.push(Detail {
            setl_id: row.try_get(0)?,
            insured: insured
                .parse::<RegionCode>()
                .map(|r| r.province().to_string())
                .unwrap_or(insured),
            settled: settled_in == period,
            reversed: refd_in.as_deref() == Some(period),
            medfee: amount(&row.try_get::<String, _>(3)?),
            fund: amount(&row.try_get::<String, _>(4)?),
            acct: amount(&row.try_get::<String, _>(5)?),
        });
    }
    // By insured province, then id, so each province's ids fill consecutive parts.
    details.sort_by(|a, b| (&a.insured, &a.setl_id).cmp(&(&b.insured, &b.setl_id)));
    Ok(details)
}

/// The statement of one period, in parts of at most [`limits::STATEMENT_PART_ID_BYTES`] of ids.
pub async fn statement(
    store: &Store,
    province: RegionCode,
    period: &str,
    stmt_time: &str,
) -> Result<Vec<Statement>, StoreError> {
    let details = details(store, period).await?;
    Ok(parts(province, period, stmt_time, &details, limits::STATEMENT_PART_ID_BYTES))
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
    let parts = statement(&exchange.store, exchange.province, &request.setlym, &exchange.now())
        .await
        .map_err(Transient::new)?;
    tracing::info!(period = %request.setlym, parts = parts.len(), "statement sent to the hub");
    // One key for every part: one partition, so the hub reads them in order.
    Ok(parts
        .iter()
        .map(|part| {
            Outgoing::new(
                topics::HUB_STATEMENTS,
                &part.setlym,
                "yidi.v1.Statement",
                part,
                ContentType::Protobuf,
            )
            .following(incoming)
            .with_header(headers::RECEIVER, "hub")
        })
        .collect())
}
