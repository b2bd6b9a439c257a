//! An exchange's statement of a clearing period (3201 totals, 3202 detail ids), read into the
//! clearing crate's totals, and gathered from its parts when a month's detail did not fit in
//! one message (`yidi_bus::limits::STATEMENT_PART_ID_BYTES`).

use std::collections::BTreeMap;

use yidi_bus::limits::STATEMENT_PARTS_MAX;
use yidi_clearing::period::Period;
use yidi_clearing::reconcile::Totals;
use yidi_clearing::text::parse_amount;
use yidi_domain::ids::RegionCode;
use yidi_domain::money::Amount;
use yidi_store::{Row, Store, StoreError};
use yidi_wire::v1::Statement;

/// Parts of statements still waiting for the rest; a complete statement's parts are removed
/// once it is reconciled.
pub const SCHEMA: &[&str] = &["CREATE TABLE IF NOT EXISTS statement_part (
    stmt_id TEXT NOT NULL, parts BIGINT NOT NULL, part BIGINT NOT NULL,
    treatment TEXT NOT NULL, setlym TEXT NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (stmt_id, parts, part))"];

/// Why a statement is refused (`INVALID_STATEMENT`).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct Invalid(pub String);

fn invalid(why: impl Into<String>) -> Invalid {
    Invalid(why.into())
}

/// What a statement (or one part of it) is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Heading {
    pub period: Period,
    pub treatment: RegionCode,
    /// How many parts the whole statement has (1: this message is the whole).
    pub parts: u32,
}

fn province_of(code: &str) -> Option<RegionCode> {
    code.parse::<RegionCode>().ok().map(RegionCode::province)
}

/// Checks a statement's heading and part numbers.
pub fn heading(statement: &Statement) -> Result<Heading, Invalid> {
    let (Ok(period), Some(treatment)) =
        (statement.setlym.parse::<Period>(), province_of(&statement.clr_optins))
    else {
        return Err(invalid("setlym or clr_optins: not a period or region"));
    };
    let parts = statement.parts.max(1);
    if parts > STATEMENT_PARTS_MAX {
        return Err(invalid(format!("parts: {parts} is over {STATEMENT_PARTS_MAX}")));
    }
    if parts > 1 && (statement.part == 0 || statement.part > parts || statement.stmt_id.is_empty())
    {
        return Err(invalid(format!(
            "part {} of {parts}: a statement in parts numbers them 1..=parts under one stmt_id",
            statement.part
        )));
    }
    Ok(Heading { period, treatment, parts })
}

/// The statement's totals by insured province.
pub fn totals(statement: &Statement) -> Result<BTreeMap<RegionCode, Totals>, Invalid> {
    let mut totals: BTreeMap<RegionCode, Totals> = BTreeMap::new();
    for row in &statement.rows {
        let Some(insured) = province_of(&row.insuplc_admdvs) else {
            return Err(invalid("rows.insuplc_admdvs: not a region code"));
        };
        let amount = |field: &str, text: &str| {
            if text.is_empty() {
                Ok(Amount::ZERO)
            } else {
                parse_amount(text).map_err(|e| invalid(format!("rows.{field}: {e}")))
            }
        };
        let row = Totals {
            settled: row.fixmedins_setl_cnt,
            fund_pay_sumamt: amount("fund_pay_sumamt", &row.fund_pay_sumamt)?,
            acct_pay: amount("acct_pay", &row.acct_pay)?,
            reversed: row.refd_setl_cnt,
            refd_fund_pay_sumamt: amount("refd_fund_pay_sumamt", &row.refd_fund_pay_sumamt)?,
            refd_acct_pay: amount("refd_acct_pay", &row.refd_acct_pay)?,
            setl_ids: row.setl_ids.iter().cloned().collect(),
            refd_setl_ids: row.refd_setl_ids.iter().cloned().collect(),
        };
        // A province named twice (as a statement in parts does) adds up.
        totals.entry(insured).or_default().add(row);
    }
    Ok(totals)
}

/// The sum of a statement's parts.
pub fn whole(parts: &[Statement]) -> Result<BTreeMap<RegionCode, Totals>, Invalid> {
    let mut whole: BTreeMap<RegionCode, Totals> = BTreeMap::new();
    for part in parts {
        for (insured, totals) in totals(part)? {
            whole.entry(insured).or_default().add(totals);
        }
    }
    Ok(whole)
}

/// Keeps one part of a statement; once every part is here, returns them all (in part order).
/// A part read again is kept once.
pub async fn gather(
    store: &Store,
    heading: Heading,
    part: &Statement,
) -> Result<Option<Vec<Statement>>, StoreError> {
    let body = serde_json::to_string(part).map_err(|e| StoreError::Corrupt {
        column: "statement_part.body",
        detail: e.to_string(),
    })?;
    let mut tx = store.begin().await?;
    sqlx::query(
        "INSERT INTO statement_part (stmt_id, parts, part, treatment, setlym, body)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (stmt_id, parts, part) DO NOTHING",
    )
    .bind(&part.stmt_id)
    .bind(i64::from(heading.parts))
    .bind(i64::from(part.part))
    .bind(heading.treatment.as_str())
    .bind(&part.setlym)
    .bind(&body)
    .execute(&mut *tx)
    .await?;
    let rows = sqlx::query(
        "SELECT body FROM statement_part WHERE stmt_id = $1 AND parts = $2 ORDER BY part",
    )
    .bind(&part.stmt_id)
    .bind(i64::from(heading.parts))
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    if u64::try_from(rows.len()).unwrap_or(u64::MAX) < u64::from(heading.parts) {
        return Ok(None);
    }
    let mut parts = Vec::with_capacity(rows.len());
    for row in &rows {
        let body: String = row.try_get(0)?;
        parts.push(serde_json::from_str::<Statement>(&body).map_err(|e| StoreError::Corrupt {
            column: "statement_part.body",
            detail: e.to_string(),
        })?);
    }
    Ok(Some(parts))
}

/// Forgets the parts kept for a period's statements from `treatment` once one is reconciled:
/// an earlier statement left incomplete is superseded by it.
pub async fn forget(store: &Store, heading: Heading) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM statement_part WHERE treatment = $1 AND setlym = $2")
        .bind(heading.treatment.as_str())
        .bind(heading.period.to_string())
        .execute(store.pool())
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use yidi_wire::v1::StatementRow;

    fn part(part: u32, parts: u32, ids: &[&str]) -> Statement {
        Statement {
            setlym: "2026-10".into(),
            clr_optins: "310000".into(),
            rows: vec![StatementRow {
                insuplc_admdvs: "440000".into(),
                fixmedins_setl_cnt: i64::try_from(ids.len()).unwrap(),
                fund_pay_sumamt: format!("{}.00", ids.len() * 10),
                setl_ids: ids.iter().map(|s| (*s).to_owned()).collect(),
                ..StatementRow::default()
            }],
            stmt_time: "2026-11-01 00:00:00".into(),
            stmt_id: "s1".into(),
            part,
            parts,
        }
    }

    #[test]
    fn a_statement_in_parts_is_the_sum_of_its_parts() {
        let whole = whole(&[part(1, 2, &["a", "b"]), part(2, 2, &["c"])]).unwrap();
        let guangdong = &whole[&"440000".parse().unwrap()];
        assert_eq!(guangdong.settled, 3);
        assert_eq!(guangdong.fund_pay_sumamt.to_string(), "30.00");
        assert_eq!(guangdong.setl_ids.len(), 3);
    }

    #[test]
    fn part_numbers_outside_one_to_parts_are_refused() {
        assert!(heading(&part(0, 2, &[])).is_err());
        assert!(heading(&part(3, 2, &[])).is_err());
        assert!(heading(&part(1, STATEMENT_PARTS_MAX + 1, &[])).is_err());
        assert!(heading(&Statement { stmt_id: String::new(), ..part(1, 2, &[]) }).is_err());
        assert_eq!(
            heading(&part(0, 0, &[])).unwrap().parts,
            1,
            "an old exchange's whole statement"
        );
    }
}
