//! Day statements on the wire (`DayStatement`): what an agency or an exchange states of the
//! settlements made on a day, per pair of provinces (`yidi_clearing::daily`), and reading one
//! back at the hub with every field checked.

use std::collections::BTreeMap;

pub use yidi_clearing::daily::Settled;
use yidi_clearing::daily::{self, DayTotals};
use yidi_domain::ids::RegionCode;
use yidi_domain::money::Amount;

use crate::v1::{DayRow, DaySettlement, DayStatement};

/// The most settlements a statement's detail carries, over all its rows: about 3 MiB of ids,
/// well inside a message. A party with more in a day states the totals of all and the detail
/// of the first ones by id (`truncated`).
pub const DAY_DETAIL_MAX: usize = 50_000;

/// One settlement as a party holds it, with the regions it was made between.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Held {
    pub insured: RegionCode,
    pub treatment: RegionCode,
    pub settled: Settled,
}

/// Why a statement does not read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {why}")]
pub struct Unreadable {
    pub field: String,
    pub why: String,
}

fn unreadable(field: impl Into<String>, why: impl ToString) -> Unreadable {
    Unreadable { field: field.into(), why: why.to_string() }
}

/// The statement of `day` from `held`, grouped by pair: the insured region as the settlement
/// names it (a prefecture with a fund of its own, Dongguan, is not its province) and the
/// treatment province; with `detail`, the settlements too (at most [`DAY_DETAIL_MAX`] in all).
pub fn statement(
    day: chrono::NaiveDate,
    party: &str,
    region: &str,
    stmt_time: &str,
    held: Vec<Held>,
    detail: bool,
) -> DayStatement {
    let mut pairs: BTreeMap<(RegionCode, RegionCode), Vec<Settled>> = BTreeMap::new();
    for one in held {
        pairs.entry((one.insured, one.treatment.province())).or_default().push(one.settled);
    }
    let mut room = if detail { DAY_DETAIL_MAX } else { 0 };
    let rows = pairs
        .into_iter()
        .map(|((insured, treatment), mut settled)| {
            settled.sort();
            let totals = daily::totals(&settled);
            let shown = settled.len().min(room);
            room -= shown;
            DayRow {
                insuplc_admdvs: insured.to_string(),
                mdtrtarea_admvs: treatment.to_string(),
                setl_cnt: i64::try_from(totals.count).unwrap_or(i64::MAX),
                fund_pay_sumamt: totals.fund.to_string(),
                digest: totals.digest,
                truncated: detail && shown < settled.len(),
                settlements: settled[..shown]
                    .iter()
                    .map(|s| DaySettlement {
                        setl_id: s.setl_id.clone(),
                        fund_pay_sumamt: s.fund.to_string(),
                    })
                    .collect(),
            }
        })
        .collect();
    DayStatement {
        day: day.to_string(),
        party: party.to_owned(),
        region: region.to_owned(),
        rows,
        stmt_time: stmt_time.to_owned(),
    }
}

/// One row read back: the pair (insured region, treatment province), the totals stated, and
/// the detail given (if any).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatedRow {
    pub insured: RegionCode,
    pub treatment: RegionCode,
    pub totals: DayTotals,
    pub detail: Vec<Settled>,
    pub truncated: bool,
}

fn amount(text: &str, field: &str) -> Result<Amount, Unreadable> {
    let value: rust_decimal::Decimal = text.trim().parse().map_err(|e| unreadable(field, e))?;
    Amount::new(value).map_err(|e| unreadable(field, e))
}

/// The day and rows of a statement, every field checked; a province twice is refused.
pub fn read(statement: &DayStatement) -> Result<(chrono::NaiveDate, Vec<StatedRow>), Unreadable> {
    let day = statement.day.parse().map_err(|e| unreadable("day", e))?;
    let mut rows: Vec<StatedRow> = Vec::with_capacity(statement.rows.len());
    for (index, row) in statement.rows.iter().enumerate() {
        let field = |name: &str| format!("rows[{index}].{name}");
        let region = |text: &str, name: &str| {
            text.parse::<RegionCode>().map_err(|e| unreadable(field(name), e))
        };
        let insured = region(&row.insuplc_admdvs, "insuplc_admdvs")?;
        let treatment = region(&row.mdtrtarea_admvs, "mdtrtarea_admvs")?.province();
        if rows.iter().any(|r| (r.insured, r.treatment) == (insured, treatment)) {
            return Err(unreadable(field("insuplc_admdvs"), "the pair is stated twice"));
        }
        let count = u64::try_from(row.setl_cnt).map_err(|e| unreadable(field("setl_cnt"), e))?;
        let fund = amount(&row.fund_pay_sumamt, &field("fund_pay_sumamt"))?;
        if row.digest.len() != 64 || !row.digest.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(unreadable(field("digest"), "not a SHA-256 in hex"));
        }
        let detail = row
            .settlements
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let fund = amount(&s.fund_pay_sumamt, &field(&format!("settlements[{i}]")))?;
                Ok(Settled { setl_id: s.setl_id.clone(), fund })
            })
            .collect::<Result<Vec<_>, Unreadable>>()?;
        rows.push(StatedRow {
            insured,
            treatment,
            totals: DayTotals { count, fund, digest: row.digest.clone() },
            detail,
            truncated: row.truncated,
        });
    }
    Ok((day, rows))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn held(insured: &str, treatment: &str, setl_id: &str, fund: &str) -> Held {
        Held {
            insured: insured.parse().unwrap(),
            treatment: treatment.parse().unwrap(),
            settled: Settled {
                setl_id: setl_id.into(),
                fund: Amount::new(fund.parse().unwrap()).unwrap(),
            },
        }
    }

    #[test]
    fn a_statement_states_each_pair_of_provinces_and_reads_back_as_stated() {
        let day = "2026-11-23".parse().unwrap();
        let settlements = vec![
            held("120000", "440100", "S2", "20.00"),
            held("120000", "440300", "S1", "10.00"),
            held("441900", "310100", "S3", "5.00"),
        ];
        let stated =
            statement(day, "agency", "120000", "2026-11-24 01:00:00", settlements.clone(), true);
        let (read_day, rows) = read(&stated).unwrap();
        assert_eq!(read_day, day);
        let pairs: Vec<(String, String, u64)> = rows
            .iter()
            .map(|r| (r.insured.to_string(), r.treatment.to_string(), r.totals.count))
            .collect();
        assert_eq!(
            pairs,
            [("120000".into(), "440000".into(), 2), ("441900".into(), "310000".into(), 1)],
            "by insured region and treatment province"
        );
        let guangdong = &rows[0];
        assert_eq!(guangdong.totals, daily::totals(&guangdong.detail));
        assert_eq!(guangdong.detail.len(), 2);
        let plain = statement(day, "agency", "120000", "2026-11-24 01:00:00", settlements, false);
        let (_, plain_rows) = read(&plain).unwrap();
        assert!(plain_rows[0].detail.is_empty() && !plain_rows[0].truncated);
        assert_eq!(plain_rows[0].totals, guangdong.totals, "totals without the detail");
    }

    #[test]
    fn a_statement_that_does_not_read_is_refused_naming_the_field() {
        let day = "2026-11-23".parse().unwrap();
        let mut stated =
            statement(day, "agency", "120000", "", vec![held("120000", "440100", "S1", "1")], true);
        stated.rows[0].digest = "abc".into();
        assert_eq!(read(&stated).unwrap_err().field, "rows[0].digest");
        let mut twice = statement(day, "agency", "120000", "", Vec::new(), false);
        twice.rows = vec![DayRow::default(), DayRow::default()];
        assert!(read(&twice).is_err());
    }
}
