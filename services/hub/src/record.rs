//! The hub's tables: every settled (and reversed) bill, and the national filing database.
//! Both keep the person as a keyed token (`psn_no` columns hold `yidi_trust::token` tokens),
//! never the person number: the hub needs to know records of one person belong together,
//! not who the person is (issue #11 §6).

use yidi_clearing::funds::{Fund, Funds};
use yidi_clearing::text::parse_amount;
use yidi_domain::ids::RegionCode;
use yidi_domain::money::Amount;
use yidi_store::{Row, StoreError, Tx};
use yidi_trust::token::PersonTokens;
use yidi_wire::v1::{FilingRecord, SettleResult, SettleStatus};

pub const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS settled_bill (
        setl_id TEXT PRIMARY KEY, msgid TEXT NOT NULL, mdtrt_id TEXT NOT NULL, psn_no TEXT NOT NULL,
        insured TEXT NOT NULL, treatment TEXT NOT NULL, insutype TEXT NOT NULL,
        medfee_sumamt TEXT NOT NULL, fund_pay_sumamt TEXT NOT NULL, hifp_pay TEXT NOT NULL,
        hifob_pay TEXT NOT NULL, hifmi_pay TEXT NOT NULL, maf_pay TEXT NOT NULL, acct_pay TEXT NOT NULL,
        psn_cash_pay TEXT NOT NULL, setl_time TEXT NOT NULL, reversed_at TEXT)",
    "CREATE TABLE IF NOT EXISTS national_filing (
        filing_id TEXT PRIMARY KEY, psn_no TEXT NOT NULL, insured TEXT NOT NULL, filing_type TEXT NOT NULL,
        target TEXT NOT NULL, begndate TEXT NOT NULL, enddate TEXT NOT NULL, filed_at TEXT NOT NULL,
        revoked_at TEXT NOT NULL)",
    // Parts of exchanges' statements waiting for the rest (`crate::statement`).
    crate::statement::SCHEMA[0],
];

/// Records a result: a settled bill once (by `setl_id`), a reversal as the time it was
/// reversed (`now`, business time). Replays change nothing.
pub async fn record_result(
    tx: &mut Tx,
    result: &SettleResult,
    now: &chrono::NaiveDateTime,
    tokens: &PersonTokens,
) -> Result<(), StoreError> {
    let Some(info) = &result.setlinfo else {
        return Ok(());
    };
    if result.status == i32::from(SettleStatus::Settled) {
        sqlx::query(
            "INSERT INTO settled_bill (setl_id, msgid, mdtrt_id, psn_no, insured, treatment, insutype, medfee_sumamt,
                fund_pay_sumamt, hifp_pay, hifob_pay, hifmi_pay, maf_pay, acct_pay, psn_cash_pay, setl_time, reversed_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, NULL)
             ON CONFLICT (setl_id) DO NOTHING",
        )
        .bind(&info.setl_id)
        .bind(&result.msgid)
        .bind(&result.mdtrt_id)
        .bind(tokens.token(&result.psn_no))
        .bind(&result.insuplc_admdvs)
        .bind(&result.mdtrtarea_admvs)
        .bind(&info.insutype)
        .bind(&info.medfee_sumamt)
        .bind(&info.fund_pay_sumamt)
        .bind(&info.hifp_pay)
        .bind(&info.hifob_pay)
        .bind(&info.hifmi_pay)
        .bind(&info.maf_pay)
        .bind(&info.acct_pay)
        .bind(&info.psn_cash_pay)
        .bind(&info.setl_time)
        .execute(&mut **tx)
        .await?;
    } else if result.status == i32::from(SettleStatus::Reversed) && !info.setl_id.is_empty() {
        let at = now.format("%Y-%m-%d %H:%M:%S").to_string();
        sqlx::query(
            "UPDATE settled_bill SET reversed_at = $1 WHERE setl_id = $2 AND reversed_at IS NULL",
        )
        .bind(at)
        .bind(&info.setl_id)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Migration 6: filings kept by version.
pub const FILING_VERSIONS: yidi_store::migrate::Change = yidi_store::migrate::Change {
    version: 6,
    description: "national filing database kept by each filing's version",
    // Records kept before carry version 0: the first versioned record of the filing replaces
    // them.
    sqlite: "ALTER TABLE national_filing ADD COLUMN version BIGINT NOT NULL DEFAULT 0",
    postgres: "ALTER TABLE national_filing ADD COLUMN version BIGINT NOT NULL DEFAULT 0",
};

/// Keeps the newest version of a filing (`FilingRecord.version`, which only its agency
/// advances: a revocation is newer than the filing). An older or equal version is ignored
/// however late it arrives, so a replayed filing cannot reinstate a revoked one. Unversioned
/// records (0, from agencies before versions) replace only unversioned ones, by arrival.
pub async fn record_filing(
    tx: &mut Tx,
    filing: &FilingRecord,
    tokens: &PersonTokens,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO national_filing (filing_id, psn_no, insured, filing_type, target, begndate, enddate, filed_at, revoked_at, version)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (filing_id) DO UPDATE SET revoked_at = excluded.revoked_at,
             enddate = excluded.enddate, version = excluded.version
         WHERE excluded.version > national_filing.version
            OR (excluded.version = 0 AND national_filing.version = 0)",
    )
    .bind(&filing.filing_id)
    .bind(tokens.token(&filing.psn_no))
    .bind(&filing.insuplc_admdvs)
    .bind(&filing.filing_type)
    .bind(&filing.target_admdvs)
    .bind(&filing.begndate)
    .bind(&filing.enddate)
    .bind(&filing.filed_at)
    .bind(&filing.revoked_at)
    .bind(i64::try_from(filing.version).unwrap_or(i64::MAX))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Settled, not reversed bills and their fund total, for checks.
pub async fn settled_totals(tx: &mut Tx) -> Result<(i64, i64), StoreError> {
    let row = sqlx::query("SELECT COUNT(*), (SELECT COUNT(*) FROM national_filing) FROM settled_bill WHERE reversed_at IS NULL")
        .fetch_one(&mut **tx)
        .await?;
    Ok((row.try_get(0)?, row.try_get(1)?))
}

/// A settled bill treated outside its insured province, as `settled_bill` holds it.
pub struct CrossProvinceBill {
    pub setl_id: String,
    pub insured: RegionCode,
    pub treatment: RegionCode,
    /// The advance per fund. An amount that does not read counts as zero, so it shows as a
    /// mismatch in the conservation check rather than stopping the hub.
    pub funds: Funds,
    pub reversed: bool,
}

/// Every cross-province settled bill, in settlement order: what the clearing ledger must
/// hold (start-up backfill, and the dashboard's ledger = settled bills check).
pub async fn cross_province_bills(
    store: &yidi_store::Store,
) -> Result<Vec<CrossProvinceBill>, StoreError> {
    let rows = sqlx::query(
        "SELECT setl_id, insured, treatment, hifp_pay, hifob_pay, hifmi_pay, maf_pay, acct_pay, reversed_at,
                insutype
         FROM settled_bill ORDER BY setl_time, setl_id",
    )
    .fetch_all(store.pool())
    .await?;
    let mut bills = Vec::new();
    for row in &rows {
        let insured: String = row.try_get(1)?;
        let treatment: String = row.try_get(2)?;
        let (Ok(insured), Ok(treatment)) =
            (insured.parse::<RegionCode>(), treatment.parse::<RegionCode>())
        else {
            continue;
        };
        if insured.same_province(treatment) {
            continue;
        }
        // A scheme that does not read keeps its pooled fund merged, like an old entry,
        // rather than dropping the bill from the check.
        let insutype: String = row.try_get(9)?;
        let pool = Fund::pool_of(&insutype).unwrap_or(Fund::Hifp);
        let mut funds = Funds::ZERO;
        for (i, fund) in
            [pool, Fund::Hifob, Fund::Hifmi, Fund::Maf, Fund::Acct].into_iter().enumerate()
        {
            let text: String = row.try_get(3 + i)?;
            funds = funds.with(fund, parse_amount(&text).unwrap_or(Amount::ZERO));
        }
        let reversed: Option<String> = row.try_get(8)?;
        bills.push(CrossProvinceBill {
            setl_id: row.try_get(0)?,
            insured,
            treatment,
            funds,
            reversed: reversed.is_some(),
        });
    }
    Ok(bills)
}

/// A settled bill as the hub's ledger table holds it, for "where is my bill?" (the person
/// appears only as the hub's token, and is not shown).
#[derive(Clone, Debug, serde::Serialize)]
pub struct BillEntry {
    pub msgid: String,
    pub mdtrt_id: String,
    pub setl_id: String,
    pub insured: String,
    pub treatment: String,
    pub medfee_sumamt: String,
    pub fund_pay_sumamt: String,
    pub setl_time: String,
    pub reversed_at: Option<String>,
}

/// The ledger entries of a bill, by its msgid or its episode's mdtrt_id.
pub async fn bill_entries(
    store: &yidi_store::Store,
    id: &str,
) -> Result<Vec<BillEntry>, StoreError> {
    let rows = sqlx::query(
        "SELECT msgid, mdtrt_id, setl_id, insured, treatment, medfee_sumamt, fund_pay_sumamt, setl_time, reversed_at
         FROM settled_bill WHERE msgid = $1 OR mdtrt_id = $1 ORDER BY setl_time, setl_id",
    )
    .bind(id)
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|row| {
            Ok(BillEntry {
                msgid: row.try_get(0)?,
                mdtrt_id: row.try_get(1)?,
                setl_id: row.try_get(2)?,
                insured: row.try_get(3)?,
                treatment: row.try_get(4)?,
                medfee_sumamt: row.try_get(5)?,
                fund_pay_sumamt: row.try_get(6)?,
                setl_time: row.try_get(7)?,
                reversed_at: row.try_get(8)?,
            })
        })
        .collect()
}

/// Count and advance (funds + personal account) of the settled, unreversed cross-province
/// bills.
pub async fn settled_advance(store: &yidi_store::Store) -> Result<(usize, Amount), StoreError> {
    let bills = cross_province_bills(store).await?;
    let unreversed = bills.iter().filter(|b| !b.reversed);
    Ok((unreversed.clone().count(), unreversed.map(|b| b.funds.total()).sum()))
}
