//! The agency's tables: registry, contributions, filings, accumulators, settlements.

use std::collections::{BTreeSet, HashMap};
use std::str::FromStr;

use chrono::{NaiveDate, NaiveDateTime};
use rust_decimal::Decimal;
use sqlx::any::AnyRow;
use yidi_domain::benefit::{Category, Registration, Retirement};
use yidi_domain::claim::{Accumulators, BillTotals};
use yidi_domain::filing::{Filing, FilingType};
use yidi_domain::ids::{RegionCode, Scheme};
use yidi_domain::money::Amount;
use yidi_sim::registry::SamplePerson;
use yidi_store::{query_in, Row, StoreError, Tx};

pub const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS person (
        psn_no TEXT PRIMARY KEY, region TEXT NOT NULL, insutype TEXT NOT NULL,
        category TEXT NOT NULL, enrolled_on TEXT NOT NULL, paused_on TEXT,
        retired_on TEXT, female BIGINT NOT NULL, contribution_years BIGINT NOT NULL,
        local_years BIGINT NOT NULL, lump_sum_paid BIGINT NOT NULL,
        assistance_eligible BIGINT NOT NULL, account_balance TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS contribution (
        psn_no TEXT NOT NULL, first_period TEXT NOT NULL, last_period TEXT NOT NULL,
        paid_on TEXT NOT NULL, PRIMARY KEY (psn_no, first_period))",
    "CREATE TABLE IF NOT EXISTS filing (
        filing_id TEXT PRIMARY KEY, psn_no TEXT NOT NULL, region TEXT NOT NULL,
        filing_type TEXT NOT NULL, target TEXT NOT NULL, begins_on TEXT NOT NULL,
        ends_on TEXT, filed_at TEXT NOT NULL, revoked_at TEXT)",
    "CREATE INDEX IF NOT EXISTS filing_person ON filing (psn_no)",
    "CREATE TABLE IF NOT EXISTS accumulator (
        psn_no TEXT NOT NULL, year BIGINT NOT NULL, admissions BIGINT NOT NULL,
        pool_paid TEXT NOT NULL, catastrophic_paid TEXT NOT NULL, assistance_paid TEXT NOT NULL,
        PRIMARY KEY (psn_no, year))",
    "CREATE TABLE IF NOT EXISTS settlement (
        setl_id TEXT PRIMARY KEY, msgid TEXT NOT NULL UNIQUE, mdtrt_id TEXT NOT NULL,
        psn_no TEXT NOT NULL, year BIGINT NOT NULL, hifp_pay TEXT NOT NULL,
        catastrophic_pay TEXT NOT NULL, maf_pay TEXT NOT NULL, acct_pay TEXT NOT NULL,
        fund_pay_sumamt TEXT NOT NULL, medfee_sumamt TEXT NOT NULL,
        reversed BIGINT NOT NULL, settled_at TEXT NOT NULL, treatment TEXT)",
    // The treatment province of a settlement, checked against a reversal's (issue #11 §4);
    // added to databases made before it.
    "ALTER TABLE settlement ADD COLUMN treatment TEXT",
];

fn corrupt(column: &'static str, detail: impl ToString) -> StoreError {
    StoreError::Corrupt { column, detail: detail.to_string() }
}

fn amount(text: &str, column: &'static str) -> Result<Amount, StoreError> {
    Decimal::from_str(text)
        .ok()
        .and_then(|value| Amount::new(value).ok())
        .ok_or_else(|| corrupt(column, text))
}

fn date(text: &str, column: &'static str) -> Result<NaiveDate, StoreError> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|e| corrupt(column, e))
}

fn time(text: &str, column: &'static str) -> Result<NaiveDateTime, StoreError> {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").map_err(|e| corrupt(column, e))
}

/// A person as the settlement needs them.
#[derive(Clone, Debug)]
pub struct PersonRecord {
    pub region: RegionCode,
    pub scheme: Scheme,
    pub registration: Registration,
    pub assistance_eligible: bool,
    pub account_balance: Amount,
    /// The resident contribution tier paid (seed 004 art. 14), if any.
    pub contribution_tier: Option<u8>,
    /// Paid the contribution of a contributory large-amount layer (seed 004 art. 56).
    pub large_amount_contributor: bool,
}

fn category_code(category: &Category) -> &'static str {
    match category {
        Category::Employed => "employed",
        Category::FlexibleWorker => "flexible_worker",
        Category::Retiree(_) => "retiree",
        Category::Student => "student",
        Category::Resident => "resident",
    }
}

/// Inserts a sample person unless they exist.
pub async fn seed_person(tx: &mut Tx, person: &SamplePerson) -> Result<(), StoreError> {
    let retirement = match person.category {
        Category::Retiree(retirement) => Some(retirement),
        _ => None,
    };
    sqlx::query(
        "INSERT INTO person (psn_no, region, insutype, category, enrolled_on, paused_on, retired_on, female,
            contribution_years, local_years, lump_sum_paid, assistance_eligible, account_balance,
            contribution_tier, large_amount_contributor)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
         ON CONFLICT (psn_no) DO NOTHING",
    )
    .bind(&person.psn_no)
    .bind(person.region.as_str())
    .bind(person.scheme.code())
    .bind(category_code(&person.category))
    .bind(person.enrolled_on.to_string())
    .bind(person.paused_on.map(|d| d.to_string()))
    .bind(retirement.map(|r| r.retired_on.to_string()))
    .bind(i64::from(retirement.is_some_and(|r| r.female)))
    .bind(i64::from(retirement.map_or(0, |r| r.contribution_years)))
    .bind(i64::from(retirement.map_or(0, |r| r.local_years)))
    .bind(i64::from(retirement.is_some_and(|r| r.lump_sum_paid)))
    .bind(i64::from(person.assistance_eligible))
    .bind(person.account_balance.to_string())
    .bind(person.contribution_tier.map(i64::from))
    .bind(i64::from(person.large_amount_contributor))
    .execute(&mut **tx)
    .await?;
    for (first, last, paid_on) in &person.contributions {
        sqlx::query("INSERT INTO contribution (psn_no, first_period, last_period, paid_on) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING")
            .bind(&person.psn_no)
            .bind(first)
            .bind(last)
            .bind(paid_on.to_string())
            .execute(&mut **tx)
            .await?;
    }
    for filing in &person.filings {
        sqlx::query(
            "INSERT INTO filing (filing_id, psn_no, region, filing_type, target, begins_on, ends_on, filed_at, revoked_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL) ON CONFLICT (filing_id) DO NOTHING",
        )
        .bind(&filing.filing_id)
        .bind(&person.psn_no)
        .bind(person.region.as_str())
        .bind(filing.filing_type.code())
        .bind(filing.target.as_str())
        .bind(filing.begins_on.to_string())
        .bind(filing.ends_on.map(|d| d.to_string()))
        .bind(filing.filed_at.format("%Y-%m-%d %H:%M:%S").to_string())
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// How many persons a region has.
pub async fn person_count(tx: &mut Tx, region: RegionCode) -> Result<i64, StoreError> {
    let row = sqlx::query("SELECT COUNT(*) FROM person WHERE region = $1")
        .bind(region.as_str())
        .fetch_one(&mut **tx)
        .await?;
    Ok(row.try_get(0)?)
}

/// Loads a person with their contributions.
pub async fn load_person(tx: &mut Tx, psn_no: &str) -> Result<Option<PersonRecord>, StoreError> {
    Ok(load_persons(tx, &[psn_no]).await?.remove(psn_no))
}

/// Loads persons with their contributions, two statements however many: an agency's lane of
/// settlements reads its persons once.
pub async fn load_persons(
    tx: &mut Tx,
    psn_nos: &[&str],
) -> Result<HashMap<String, PersonRecord>, StoreError> {
    if psn_nos.is_empty() {
        return Ok(HashMap::new());
    }
    let query = query_in(
        "SELECT psn_no, region, insutype, category, enrolled_on, paused_on, retired_on, female, contribution_years,
                local_years, lump_sum_paid, assistance_eligible, account_balance, contribution_tier,
                large_amount_contributor FROM person WHERE psn_no IN ({list})",
        psn_nos,
    );
    let rows = query.fetch_all(&mut **tx).await?;
    let mut persons = HashMap::with_capacity(rows.len());
    for row in &rows {
        let psn_no: String = row.try_get(0)?;
        persons.insert(psn_no, person_from_row(row)?);
    }
    let query = query_in(
        "SELECT psn_no, first_period, last_period, paid_on FROM contribution WHERE psn_no IN ({list})
         ORDER BY psn_no, first_period",
        psn_nos,
    );
    for row in query.fetch_all(&mut **tx).await? {
        let psn_no: String = row.try_get(0)?;
        let first: String = row.try_get(1)?;
        let last: String = row.try_get(2)?;
        let paid_on = date(&row.try_get::<String, _>(3)?, "contribution.paid_on")?;
        let Some(person) = persons.get_mut(&psn_no) else { continue };
        if !person.registration.pay(&first, &last, paid_on) {
            return Err(corrupt("contribution.period", format!("{first}..{last}")));
        }
    }
    Ok(persons)
}

/// A `person` row from `psn_no, region, …, account_balance`, contributions not yet read.
fn person_from_row(row: &AnyRow) -> Result<PersonRecord, StoreError> {
    let region: String = row.try_get(1)?;
    let scheme: String = row.try_get(2)?;
    let category: String = row.try_get(3)?;
    let retired_on: Option<String> = row.try_get(6)?;
    let category = match (category.as_str(), retired_on) {
        ("employed", _) => Category::Employed,
        ("flexible_worker", _) => Category::FlexibleWorker,
        ("student", _) => Category::Student,
        ("resident", _) => Category::Resident,
        ("retiree", Some(retired_on)) => Category::Retiree(Retirement {
            retired_on: date(&retired_on, "person.retired_on")?,
            female: row.try_get::<i64, _>(7)? != 0,
            contribution_years: u32::try_from(row.try_get::<i64, _>(8)?).unwrap_or(0),
            local_years: u32::try_from(row.try_get::<i64, _>(9)?).unwrap_or(0),
            lump_sum_paid: row.try_get::<i64, _>(10)? != 0,
        }),
        (other, _) => return Err(corrupt("person.category", other)),
    };
    let paused_on: Option<String> = row.try_get(5)?;
    let enrolled_on: String = row.try_get(4)?;
    let balance: String = row.try_get(12)?;
    let registration = Registration {
        category,
        enrolled_on: date(&enrolled_on, "person.enrolled_on")?,
        paid_months: BTreeSet::new(),
        paid_years: Vec::new(),
        paused_on: paused_on.map(|d| date(&d, "person.paused_on")).transpose()?,
    };
    Ok(PersonRecord {
        region: region.parse().map_err(|e| corrupt("person.region", e))?,
        scheme: scheme.parse().map_err(|e| corrupt("person.insutype", e))?,
        registration,
        assistance_eligible: row.try_get::<i64, _>(11)? != 0,
        account_balance: amount(&balance, "person.account_balance")?,
        contribution_tier: row
            .try_get::<Option<i64>, _>(13)?
            .map(|tier| u8::try_from(tier).map_err(|e| corrupt("person.contribution_tier", e)))
            .transpose()?,
        large_amount_contributor: row.try_get::<i64, _>(14)? != 0,
    })
}

/// A person's filings in force or not.
pub async fn load_filings(tx: &mut Tx, psn_no: &str) -> Result<Vec<Filing>, StoreError> {
    Ok(load_filings_of(tx, &[psn_no]).await?.remove(psn_no).unwrap_or_default())
}

/// The filings of persons, in one statement.
pub async fn load_filings_of(
    tx: &mut Tx,
    psn_nos: &[&str],
) -> Result<HashMap<String, Vec<Filing>>, StoreError> {
    if psn_nos.is_empty() {
        return Ok(HashMap::new());
    }
    let query = query_in(
        "SELECT psn_no, filing_id, region, filing_type, target, begins_on, ends_on, filed_at, revoked_at
         FROM filing WHERE psn_no IN ({list}) ORDER BY psn_no, filing_id",
        psn_nos,
    );
    let mut filings: HashMap<String, Vec<Filing>> = HashMap::new();
    for row in query.fetch_all(&mut **tx).await? {
        let text = |index: usize| row.try_get::<String, _>(index);
        let optional = |index: usize| row.try_get::<Option<String>, _>(index);
        let psn_no = text(0)?;
        let filing = Filing {
            id: text(1)?,
            person: psn_no.clone(),
            insured_region: text(2)?.parse().map_err(|e| corrupt("filing.region", e))?,
            filing_type: FilingType::parse(&text(3)?)
                .ok_or_else(|| corrupt("filing.filing_type", "unknown"))?,
            target: text(4)?.parse().map_err(|e| corrupt("filing.target", e))?,
            begins_on: date(&text(5)?, "filing.begins_on")?,
            ends_on: optional(6)?.map(|d| date(&d, "filing.ends_on")).transpose()?,
            filed_at: time(&text(7)?, "filing.filed_at")?,
            revoked_at: optional(8)?.map(|t| time(&t, "filing.revoked_at")).transpose()?,
        };
        filings.entry(psn_no).or_default().push(filing);
    }
    Ok(filings)
}

/// Every year's accumulators of persons, in one statement.
pub async fn load_accumulators_of(
    tx: &mut Tx,
    psn_nos: &[&str],
) -> Result<HashMap<(String, i32), Accumulators>, StoreError> {
    if psn_nos.is_empty() {
        return Ok(HashMap::new());
    }
    let query = query_in(
        "SELECT psn_no, year, admissions, pool_paid, catastrophic_paid, assistance_paid, inscp_selfborne
         FROM accumulator WHERE psn_no IN ({list})",
        psn_nos,
    );
    let mut found = HashMap::new();
    for row in query.fetch_all(&mut **tx).await? {
        let psn_no: String = row.try_get(0)?;
        let year =
            i32::try_from(row.try_get::<i64, _>(1)?).map_err(|e| corrupt("accumulator.year", e))?;
        found.insert((psn_no, year), accumulators_from_row(&row, 2)?);
    }
    Ok(found)
}

/// Accumulators from `admissions, pool_paid, catastrophic_paid, assistance_paid,
/// inscp_selfborne` at `first`.
fn accumulators_from_row(row: &AnyRow, first: usize) -> Result<Accumulators, StoreError> {
    Ok(Accumulators {
        admissions: u32::try_from(row.try_get::<i64, _>(first)?)
            .map_err(|e| corrupt("accumulator.admissions", e))?,
        pool_paid: amount(&row.try_get::<String, _>(first + 1)?, "accumulator.pool_paid")?,
        catastrophic_paid: amount(
            &row.try_get::<String, _>(first + 2)?,
            "accumulator.catastrophic_paid",
        )?,
        assistance_paid: amount(
            &row.try_get::<String, _>(first + 3)?,
            "accumulator.assistance_paid",
        )?,
        inscp_selfborne: amount(
            &row.try_get::<String, _>(first + 4)?,
            "accumulator.inscp_selfborne",
        )?,
    })
}

pub async fn load_accumulators(
    tx: &mut Tx,
    psn_no: &str,
    year: i32,
) -> Result<Accumulators, StoreError> {
    let row = sqlx::query(
        "SELECT admissions, pool_paid, catastrophic_paid, assistance_paid, inscp_selfborne FROM accumulator
         WHERE psn_no = $1 AND year = $2",
    )
    .bind(psn_no)
    .bind(i64::from(year))
    .fetch_optional(&mut **tx)
    .await?;
    row.map_or_else(|| Ok(Accumulators::default()), |row| accumulators_from_row(&row, 0))
}

/// Writes a person's year-to-date accumulators `before` → `after`, on condition that they
/// still are `before`: a second writer (another replica, another connection) that changed them
/// since they were read makes this fail with [`StoreError::Changed`] instead of overwriting
/// its update, and the caller's transaction is rolled back and decided again.
pub async fn save_accumulators(
    tx: &mut Tx,
    psn_no: &str,
    year: i32,
    before: &Accumulators,
    after: &Accumulators,
) -> Result<(), StoreError> {
    let fresh = *before == Accumulators::default();
    let written = if fresh {
        sqlx::query(
            "INSERT INTO accumulator
                 (psn_no, year, admissions, pool_paid, catastrophic_paid, assistance_paid, inscp_selfborne)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (psn_no, year) DO NOTHING",
        )
        .bind(psn_no)
        .bind(i64::from(year))
        .bind(i64::from(after.admissions))
        .bind(after.pool_paid.to_string())
        .bind(after.catastrophic_paid.to_string())
        .bind(after.assistance_paid.to_string())
        .bind(after.inscp_selfborne.to_string())
        .execute(&mut **tx)
        .await?
        .rows_affected()
    } else {
        0
    };
    if written == 1 {
        return Ok(());
    }
    // Not fresh, or a row of zeros is there already (a reversal gave everything back).
    let updated = sqlx::query(
        "UPDATE accumulator SET admissions = $1, pool_paid = $2, catastrophic_paid = $3, assistance_paid = $4,
             inscp_selfborne = $5
         WHERE psn_no = $6 AND year = $7 AND admissions = $8 AND pool_paid = $9
           AND catastrophic_paid = $10 AND assistance_paid = $11 AND inscp_selfborne = $12",
    )
    .bind(i64::from(after.admissions))
    .bind(after.pool_paid.to_string())
    .bind(after.catastrophic_paid.to_string())
    .bind(after.assistance_paid.to_string())
    .bind(after.inscp_selfborne.to_string())
    .bind(psn_no)
    .bind(i64::from(year))
    .bind(i64::from(before.admissions))
    .bind(before.pool_paid.to_string())
    .bind(before.catastrophic_paid.to_string())
    .bind(before.assistance_paid.to_string())
    .bind(before.inscp_selfborne.to_string())
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if updated == 1 {
        Ok(())
    } else {
        let who = yidi_runtime::mask(psn_no);
        Err(StoreError::Changed { what: format!("accumulators of {who} for {year}") })
    }
}

pub async fn set_balance(tx: &mut Tx, psn_no: &str, balance: Amount) -> Result<(), StoreError> {
    sqlx::query("UPDATE person SET account_balance = $1 WHERE psn_no = $2")
        .bind(balance.to_string())
        .bind(psn_no)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A stored settlement, as a reversal needs it.
#[derive(Clone, Debug)]
pub struct SettlementRecord {
    pub setl_id: String,
    pub msgid: String,
    pub psn_no: String,
    pub year: i32,
    pub hifp_pay: Amount,
    pub catastrophic_pay: Amount,
    pub maf_pay: Amount,
    /// What the bill added to the year's self-borne in-scope expense (zero for settlements
    /// recorded before it was kept: they added nothing to it).
    pub inscp_selfborne: Amount,
    pub acct_pay: Amount,
    pub reversed: bool,
    /// The treatment province the bill came from (unknown for settlements recorded before
    /// it was kept).
    pub treatment: Option<String>,
}

impl SettlementRecord {
    /// What the settlement added to the accumulators, and its reversal takes back.
    pub fn totals(&self) -> BillTotals {
        BillTotals {
            pool: self.hifp_pay,
            catastrophic: self.catastrophic_pay,
            assistance: self.maf_pay,
            inscp_selfborne: self.inscp_selfborne,
        }
    }
}

#[derive(Clone, Copy)]
pub struct NewSettlement<'a> {
    pub record: &'a SettlementRecord,
    /// The hosted insured region it is settled under: with `mdtrt_id`, unique among the
    /// settlements that stand (migration 6).
    pub insured: &'a str,
    pub mdtrt_id: &'a str,
    /// The stay, `yyyy-MM-dd HH:mm:ss`: another stay of the person may not overlap it.
    pub begntime: &'a str,
    pub endtime: &'a str,
    pub fund_pay_sumamt: Amount,
    pub medfee_sumamt: Amount,
    pub settled_at: &'a str,
}

pub async fn insert_settlement(tx: &mut Tx, new: &NewSettlement<'_>) -> Result<(), StoreError> {
    let record = new.record;
    sqlx::query(
        "INSERT INTO settlement (setl_id, msgid, mdtrt_id, psn_no, year, hifp_pay, catastrophic_pay, maf_pay, acct_pay,
            fund_pay_sumamt, medfee_sumamt, reversed, settled_at, treatment, inscp_selfborne,
            insured, begntime, endtime)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 0, $12, $13, $14, $15, $16, $17)",
    )
    .bind(&record.setl_id)
    .bind(&record.msgid)
    .bind(new.mdtrt_id)
    .bind(&record.psn_no)
    .bind(i64::from(record.year))
    .bind(record.hifp_pay.to_string())
    .bind(record.catastrophic_pay.to_string())
    .bind(record.maf_pay.to_string())
    .bind(record.acct_pay.to_string())
    .bind(new.fund_pay_sumamt.to_string())
    .bind(new.medfee_sumamt.to_string())
    .bind(new.settled_at)
    .bind(record.treatment.as_deref())
    .bind(record.inscp_selfborne.to_string())
    .bind(new.insured)
    .bind(new.begntime)
    .bind(new.endtime)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A settlement that stands (not reversed), as the one-payment-per-stay rule reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StandingStay {
    pub setl_id: String,
    pub mdtrt_id: String,
    pub insured: String,
    pub stay: yidi_domain::stay::Stay,
}

/// The person's settlements that stand and whose stay is known (settlements recorded before
/// the stay was kept, migration 6, are not compared: they are older than the rule).
pub async fn standing_stays(tx: &mut Tx, psn_no: &str) -> Result<Vec<StandingStay>, StoreError> {
    let rows = sqlx::query(
        "SELECT setl_id, mdtrt_id, insured, begntime, endtime FROM settlement
         WHERE psn_no = $1 AND reversed = 0 AND insured IS NOT NULL",
    )
    .bind(psn_no)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter()
        .map(|row| {
            let begntime: String = row.try_get(3)?;
            let endtime: String = row.try_get(4)?;
            Ok(StandingStay {
                setl_id: row.try_get(0)?,
                mdtrt_id: row.try_get(1)?,
                insured: row.try_get(2)?,
                stay: yidi_domain::stay::Stay {
                    admitted_at: time(&begntime, "settlement.begntime")?,
                    discharged_at: time(&endtime, "settlement.endtime")?,
                },
            })
        })
        .collect()
}

/// Finds a settlement by its id or by the msgid of the request that made it.
pub async fn find_settlement(
    tx: &mut Tx,
    setl_id: &str,
    msgid: &str,
) -> Result<Option<SettlementRecord>, StoreError> {
    let row = sqlx::query(
        "SELECT setl_id, msgid, psn_no, year, hifp_pay, catastrophic_pay, maf_pay, acct_pay, reversed, treatment,
                inscp_selfborne
         FROM settlement WHERE setl_id = $1 OR msgid = $2",
    )
    .bind(setl_id)
    .bind(msgid)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    Ok(Some(SettlementRecord {
        setl_id: row.try_get(0)?,
        msgid: row.try_get(1)?,
        psn_no: row.try_get(2)?,
        year: i32::try_from(row.try_get::<i64, _>(3)?)
            .map_err(|e| corrupt("settlement.year", e))?,
        hifp_pay: amount(&row.try_get::<String, _>(4)?, "settlement.hifp_pay")?,
        catastrophic_pay: amount(&row.try_get::<String, _>(5)?, "settlement.catastrophic_pay")?,
        maf_pay: amount(&row.try_get::<String, _>(6)?, "settlement.maf_pay")?,
        acct_pay: amount(&row.try_get::<String, _>(7)?, "settlement.acct_pay")?,
        reversed: row.try_get::<i64, _>(8)? != 0,
        treatment: row.try_get(9)?,
        inscp_selfborne: match row.try_get::<Option<String>, _>(10)? {
            Some(text) => amount(&text, "settlement.inscp_selfborne")?,
            None => Amount::ZERO,
        },
    }))
}

/// Migration 6's statements, the same on both backends.
const ONE_PER_STAY: &str = "ALTER TABLE settlement ADD COLUMN insured TEXT;
            ALTER TABLE settlement ADD COLUMN begntime TEXT;
            ALTER TABLE settlement ADD COLUMN endtime TEXT;
            CREATE UNIQUE INDEX IF NOT EXISTS settlement_stay ON settlement (insured, mdtrt_id)
                WHERE reversed = 0;
            CREATE INDEX IF NOT EXISTS settlement_person ON settlement (psn_no)";

/// Migration 7's statements, the same on both backends.
const DESK_RELEASES: &str = "ALTER TABLE admission_hold ADD COLUMN released_at TEXT;
            ALTER TABLE admission_hold ADD COLUMN release_reason TEXT;
            CREATE INDEX IF NOT EXISTS admission_hold_person ON admission_hold (psn_no, year);
            CREATE INDEX IF NOT EXISTS settlement_day ON settlement (settled_at)";

/// The agency's schema changes after version 1 (`yidi_store::migrate`).
pub const CHANGES: &[yidi_store::migrate::Change] = &[
    yidi_store::migrate::Change {
        version: 2,
        description: "recovery claims against liable third parties",
        // Social Insurance Law art. 30(2): what the fund advanced for a third party's bill, to be
        // recovered from that party by the insured agency.
        sqlite: "CREATE TABLE IF NOT EXISTS recovery_claim (
        setl_id TEXT PRIMARY KEY, psn_no TEXT NOT NULL, mdtrt_id TEXT NOT NULL,
        amount TEXT NOT NULL, ttp_status TEXT NOT NULL, status TEXT NOT NULL,
        opened_at TEXT NOT NULL)",
        postgres: "CREATE TABLE IF NOT EXISTS recovery_claim (
        setl_id TEXT PRIMARY KEY, psn_no TEXT NOT NULL, mdtrt_id TEXT NOT NULL,
        amount TEXT NOT NULL, ttp_status TEXT NOT NULL, status TEXT NOT NULL,
        opened_at TEXT NOT NULL)",
    },
    yidi_store::migrate::Change {
        version: 3,
        description: "person-level halts of direct settlement",
        // Seed 004 art. 53. One statement per backend: the index is made with the table.
        sqlite: "CREATE TABLE IF NOT EXISTS settlement_halt (
            decision_id TEXT PRIMARY KEY, psn_no TEXT NOT NULL, begins_on TEXT NOT NULL,
            ends_on TEXT, article TEXT NOT NULL, reason TEXT NOT NULL, decided_at TEXT NOT NULL,
            lifted_by TEXT UNIQUE, lifted_at TEXT, lift_reason TEXT)",
        postgres: "CREATE TABLE IF NOT EXISTS settlement_halt (
            decision_id TEXT PRIMARY KEY, psn_no TEXT NOT NULL, begins_on TEXT NOT NULL,
            ends_on TEXT, article TEXT NOT NULL, reason TEXT NOT NULL, decided_at TEXT NOT NULL,
            lifted_by TEXT UNIQUE, lifted_at TEXT, lift_reason TEXT)",
    },
    yidi_store::migrate::Change {
        version: 4,
        description: "admission holds on the pooled fund's cap",
        // National 2401/2402/2404: status open, consumed (by the discharge settlement) or
        // released (by a cancellation).
        sqlite: "CREATE TABLE IF NOT EXISTS admission_hold (
            mdtrt_id TEXT PRIMARY KEY, msgid TEXT NOT NULL UNIQUE, psn_no TEXT NOT NULL,
            year BIGINT NOT NULL, held TEXT NOT NULL, admitted_on TEXT NOT NULL,
            hold_until TEXT NOT NULL, treatment TEXT NOT NULL, status TEXT NOT NULL)",
        postgres: "CREATE TABLE IF NOT EXISTS admission_hold (
            mdtrt_id TEXT PRIMARY KEY, msgid TEXT NOT NULL UNIQUE, psn_no TEXT NOT NULL,
            year BIGINT NOT NULL, held TEXT NOT NULL, admitted_on TEXT NOT NULL,
            hold_until TEXT NOT NULL, treatment TEXT NOT NULL, status TEXT NOT NULL)",
    },
    yidi_store::migrate::Change {
        version: 5,
        description:
            "contribution tiers, contributory layers, the year's self-borne expense, account holds",
        // Issue #13 §8: a person's resident tier (seed 004 art. 14) and whether they paid a
        // contributory large-amount layer (art. 56; persons recorded before paid as the layer
        // then paid everyone); the in-scope expense the pooled fund left to them, on which a
        // catastrophic layer with a threshold is measured, by year and by settlement; the
        // personal account's balance an admission holds (2401).
        sqlite: "ALTER TABLE person ADD COLUMN contribution_tier BIGINT;
            ALTER TABLE person ADD COLUMN large_amount_contributor BIGINT NOT NULL DEFAULT 1;
            ALTER TABLE accumulator ADD COLUMN inscp_selfborne TEXT NOT NULL DEFAULT '0.00';
            ALTER TABLE settlement ADD COLUMN inscp_selfborne TEXT;
            ALTER TABLE admission_hold ADD COLUMN acct_held TEXT NOT NULL DEFAULT '0.00'",
        postgres: "ALTER TABLE person ADD COLUMN contribution_tier BIGINT;
            ALTER TABLE person ADD COLUMN large_amount_contributor BIGINT NOT NULL DEFAULT 1;
            ALTER TABLE accumulator ADD COLUMN inscp_selfborne TEXT NOT NULL DEFAULT '0.00';
            ALTER TABLE settlement ADD COLUMN inscp_selfborne TEXT;
            ALTER TABLE admission_hold ADD COLUMN acct_held TEXT NOT NULL DEFAULT '0.00'",
    },
    yidi_store::migrate::Change {
        version: 6,
        description: "one settlement per stay",
        // A stay is paid once: (insured region, mdtrt_id) is unique among the settlements
        // that stand, enforced by the database so that two lanes (or two processes on one
        // database) deciding the same stay at once cannot both commit it; the stay's dates,
        // so that another stay of the person sharing its nights is refused. Settlements made
        // before carry no region and are not compared.
        sqlite: ONE_PER_STAY,
        postgres: ONE_PER_STAY,
    },
    yidi_store::migrate::Change {
        version: 7,
        description: "admission holds released by the agency's desk; settlements by day",
        // The insured agency's desk may release a hold (a hospital's word is not enough to
        // keep a person's fund from paying elsewhere); when and why is kept with it. A
        // person's holds are read on every admission and discharge: by person, indexed. A
        // day's settlements are what the agency states to the hub for daily reconciliation.
        sqlite: DESK_RELEASES,
        postgres: DESK_RELEASES,
    },
];

/// An admission's hold as recorded.
pub struct NewHold<'a> {
    pub mdtrt_id: &'a str,
    pub msgid: &'a str,
    pub psn_no: &'a str,
    pub year: i32,
    pub held: Amount,
    pub acct_held: Amount,
    pub admitted_on: NaiveDate,
    pub until: NaiveDate,
    pub treatment: &'a str,
}

pub async fn insert_hold(tx: &mut Tx, hold: &NewHold<'_>) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO admission_hold
             (mdtrt_id, msgid, psn_no, year, held, admitted_on, hold_until, treatment, status, acct_held)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'open', $9)
         ON CONFLICT (mdtrt_id) DO UPDATE SET msgid = excluded.msgid, held = excluded.held,
             acct_held = excluded.acct_held,
             admitted_on = excluded.admitted_on, hold_until = excluded.hold_until,
             status = 'open'",
    )
    .bind(hold.mdtrt_id)
    .bind(hold.msgid)
    .bind(hold.psn_no)
    .bind(i64::from(hold.year))
    .bind(hold.held.to_string())
    .bind(hold.admitted_on.to_string())
    .bind(hold.until.to_string())
    .bind(hold.treatment)
    .bind(hold.acct_held.to_string())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The open holds of a person in a year.
pub async fn open_holds(
    tx: &mut Tx,
    psn_no: &str,
    year: i32,
) -> Result<Vec<yidi_domain::hold::OpenHold>, StoreError> {
    let rows = sqlx::query(
        "SELECT mdtrt_id, held, hold_until, acct_held FROM admission_hold
         WHERE psn_no = $1 AND year = $2 AND status = 'open'",
    )
    .bind(psn_no)
    .bind(i64::from(year))
    .fetch_all(&mut **tx)
    .await?;
    rows.iter()
        .map(|row| {
            let held: String = row.try_get(1)?;
            let until: String = row.try_get(2)?;
            Ok(yidi_domain::hold::OpenHold {
                mdtrt_id: row.try_get(0)?,
                held: amount(&held, "admission_hold.held")?,
                acct_held: amount(&row.try_get::<String, _>(3)?, "admission_hold.acct_held")?,
                until: NaiveDate::parse_from_str(&until, "%Y-%m-%d").map_err(|_| {
                    StoreError::Corrupt { column: "admission_hold.hold_until", detail: until }
                })?,
            })
        })
        .collect()
}

/// Closes the open hold of a stay (`consumed` by its discharge settlement, `released` by a
/// cancellation); whether there was one.
pub async fn close_hold(tx: &mut Tx, key: HoldKey<'_>, status: &str) -> Result<bool, StoreError> {
    let (column, value) = match key {
        HoldKey::Episode(mdtrt_id) => ("mdtrt_id", mdtrt_id),
        HoldKey::Admission(msgid) => ("msgid", msgid),
    };
    let done = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE admission_hold SET status = $1 WHERE {column} = $2 AND status = 'open'"
    )))
    .bind(status)
    .bind(value)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// The settlements made on `day` (by the time they were settled, which their results carry
/// as `setl_time`), reversed since or not, with the regions they were made between: what the
/// agency states of the day. Settlements from before the insured region was kept with them
/// are passed over.
pub async fn settled_on(
    tx: &mut Tx,
    day: NaiveDate,
) -> Result<Vec<yidi_wire::day::Held>, StoreError> {
    let next = day.succ_opt().unwrap_or(day);
    let rows = sqlx::query(
        "SELECT insured, treatment, setl_id, fund_pay_sumamt FROM settlement
         WHERE settled_at >= $1 AND settled_at < $2 AND insured IS NOT NULL
             AND treatment IS NOT NULL",
    )
    .bind(format!("{day} 00:00:00"))
    .bind(format!("{next} 00:00:00"))
    .fetch_all(&mut **tx)
    .await?;
    rows.iter()
        .map(|row| {
            let region = |index: usize, column: &'static str| -> Result<RegionCode, StoreError> {
                let text: String = row.try_get(index)?;
                text.parse().map_err(|_| StoreError::Corrupt { column, detail: text })
            };
            let fund: String = row.try_get(3)?;
            Ok(yidi_wire::day::Held {
                insured: region(0, "settlement.insured")?,
                treatment: region(1, "settlement.treatment")?,
                settled: yidi_wire::day::Settled {
                    setl_id: row.try_get(2)?,
                    fund: amount(&fund, "settlement.fund_pay_sumamt")?,
                },
            })
        })
        .collect()
}

/// An admission's hold as the agency's desk sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HoldRow {
    pub mdtrt_id: String,
    pub msgid: String,
    pub psn_no: String,
    pub held: String,
    pub acct_held: String,
    pub admitted_on: String,
    pub until: String,
    pub treatment: String,
    /// `open`, `consumed` or `released`.
    pub status: String,
    pub released_at: Option<String>,
    pub release_reason: Option<String>,
}

const HOLD_COLUMNS: &str = "mdtrt_id, msgid, psn_no, held, acct_held, admitted_on, hold_until, \
                            treatment, status, released_at, release_reason";

fn hold_row(row: &AnyRow) -> Result<HoldRow, StoreError> {
    Ok(HoldRow {
        mdtrt_id: row.try_get(0)?,
        msgid: row.try_get(1)?,
        psn_no: row.try_get(2)?,
        held: row.try_get(3)?,
        acct_held: row.try_get(4)?,
        admitted_on: row.try_get(5)?,
        until: row.try_get(6)?,
        treatment: row.try_get(7)?,
        status: row.try_get(8)?,
        released_at: row.try_get(9)?,
        release_reason: row.try_get(10)?,
    })
}

/// Every hold of a person, newest admission first: at most [`HOLDS_LISTED`].
pub async fn holds_of(tx: &mut Tx, psn_no: &str) -> Result<Vec<HoldRow>, StoreError> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {HOLD_COLUMNS} FROM admission_hold WHERE psn_no = $1
         ORDER BY admitted_on DESC, mdtrt_id LIMIT {HOLDS_LISTED}"
    )))
    .bind(psn_no)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter().map(hold_row).collect()
}

/// The most holds of one person a query lists: years of stays.
pub const HOLDS_LISTED: i64 = 200;

/// The hold of stay `mdtrt_id` of person `psn_no`.
pub async fn hold_of(
    tx: &mut Tx,
    psn_no: &str,
    mdtrt_id: &str,
) -> Result<Option<HoldRow>, StoreError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {HOLD_COLUMNS} FROM admission_hold WHERE psn_no = $1 AND mdtrt_id = $2"
    )))
    .bind(psn_no)
    .bind(mdtrt_id)
    .fetch_optional(&mut **tx)
    .await?;
    row.as_ref().map(hold_row).transpose()
}

/// Releases an open hold at the desk's word, recording when and why; whether it was open.
pub async fn release_hold(
    tx: &mut Tx,
    psn_no: &str,
    mdtrt_id: &str,
    at: &str,
    reason: &str,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE admission_hold SET status = 'released', released_at = $1, release_reason = $2
         WHERE psn_no = $3 AND mdtrt_id = $4 AND status = 'open'",
    )
    .bind(at)
    .bind(reason)
    .bind(psn_no)
    .bind(mdtrt_id)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Of `psn_nos`, those with any halt or an open admission hold.
pub async fn halted_or_holding(
    tx: &mut Tx,
    psn_nos: &[&str],
) -> Result<std::collections::HashSet<String>, StoreError> {
    if psn_nos.is_empty() {
        return Ok(std::collections::HashSet::new());
    }
    let rows = query_in(
        "SELECT psn_no FROM settlement_halt WHERE psn_no IN ({list})
         UNION SELECT psn_no FROM admission_hold WHERE status = 'open' AND psn_no IN ({list})",
        psn_nos,
    )
    .fetch_all(&mut **tx)
    .await?;
    rows.iter().map(|row| row.try_get(0).map_err(Into::into)).collect()
}

/// The hold an admission's msgid made: its person, treatment region and status.
pub async fn hold_of_admission(
    tx: &mut Tx,
    msgid: &str,
) -> Result<Option<(String, String, String)>, StoreError> {
    let row = sqlx::query("SELECT psn_no, treatment, status FROM admission_hold WHERE msgid = $1")
        .bind(msgid)
        .fetch_optional(&mut **tx)
        .await?;
    row.map(|row| Ok((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?))).transpose()
}

/// Which hold: a stay's, or the one an admission's msgid made.
#[derive(Clone, Copy, Debug)]
pub enum HoldKey<'a> {
    Episode(&'a str),
    Admission(&'a str),
}

/// A halt of a person's direct settlement as recorded (seed 004 art. 53).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HaltRow {
    pub decision_id: String,
    pub psn_no: String,
    pub begins_on: NaiveDate,
    pub ends_on: Option<NaiveDate>,
    pub article: String,
    pub reason: String,
    pub decided_at: String,
    pub lifted_by: Option<String>,
    pub lifted_at: Option<String>,
    pub lift_reason: Option<String>,
}

impl HaltRow {
    /// Whether `other` asks for this halt: the same person, days, article and reason (when
    /// it was decided and whether it was lifted since are not terms).
    pub fn same_terms(&self, other: &HaltRow) -> bool {
        (&self.psn_no, self.begins_on, self.ends_on, &self.article, &self.reason)
            == (&other.psn_no, other.begins_on, other.ends_on, &other.article, &other.reason)
    }

    pub fn halt(&self) -> yidi_domain::sanction::Halt {
        yidi_domain::sanction::Halt {
            decision_id: self.decision_id.clone(),
            begins_on: self.begins_on,
            ends_on: self.ends_on,
            lifted: self.lifted_by.is_some(),
        }
    }
}

const HALT_COLUMNS: &str = "decision_id, psn_no, begins_on, ends_on, article, reason, decided_at,
    lifted_by, lifted_at, lift_reason";

fn halt_row(row: &AnyRow) -> Result<HaltRow, StoreError> {
    let day = |text: String, column| {
        NaiveDate::parse_from_str(&text, "%Y-%m-%d")
            .map_err(|_| StoreError::Corrupt { column, detail: text })
    };
    let ends_on: Option<String> = row.try_get(3)?;
    Ok(HaltRow {
        decision_id: row.try_get(0)?,
        psn_no: row.try_get(1)?,
        begins_on: day(row.try_get(2)?, "settlement_halt.begins_on")?,
        ends_on: ends_on.map(|text| day(text, "settlement_halt.ends_on")).transpose()?,
        article: row.try_get(4)?,
        reason: row.try_get(5)?,
        decided_at: row.try_get(6)?,
        lifted_by: row.try_get(7)?,
        lifted_at: row.try_get(8)?,
        lift_reason: row.try_get(9)?,
    })
}

/// The halt recorded under `decision_id`, if any.
pub async fn find_halt(tx: &mut Tx, decision_id: &str) -> Result<Option<HaltRow>, StoreError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {HALT_COLUMNS} FROM settlement_halt WHERE decision_id = $1"
    )))
    .bind(decision_id)
    .fetch_optional(&mut **tx)
    .await?;
    row.as_ref().map(halt_row).transpose()
}

/// Every halt of a person, lifted or not.
pub async fn halts_of(tx: &mut Tx, psn_no: &str) -> Result<Vec<HaltRow>, StoreError> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {HALT_COLUMNS} FROM settlement_halt WHERE psn_no = $1 ORDER BY begins_on"
    )))
    .bind(psn_no)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter().map(halt_row).collect()
}

/// Records a halt (the caller checked that its id is new).
pub async fn insert_halt(tx: &mut Tx, halt: &HaltRow) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO settlement_halt (decision_id, psn_no, begins_on, ends_on, article, reason, decided_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&halt.decision_id)
    .bind(&halt.psn_no)
    .bind(halt.begins_on.to_string())
    .bind(halt.ends_on.map(|day| day.to_string()))
    .bind(&halt.article)
    .bind(&halt.reason)
    .bind(&halt.decided_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Lifts a halt by a later decision: once (a halt lifted already keeps its first lifting).
pub async fn lift_halt(
    tx: &mut Tx,
    halt_id: &str,
    lifted_by: &str,
    at: &str,
    reason: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE settlement_halt SET lifted_by = $1, lifted_at = $2, lift_reason = $3
         WHERE decision_id = $4 AND lifted_by IS NULL",
    )
    .bind(lifted_by)
    .bind(at)
    .bind(reason)
    .bind(halt_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A recovery claim opened for a settlement the fund advanced for a third party.
pub struct RecoveryClaim<'a> {
    pub setl_id: &'a str,
    pub psn_no: &'a str,
    pub mdtrt_id: &'a str,
    /// What the funds advanced (`fund_pay_sumamt`).
    pub amount: Amount,
    /// `unpaid`, `unidentified`, or `unstated` when the bill did not say.
    pub ttp_status: &'a str,
    pub opened_at: &'a str,
}

pub async fn open_recovery_claim(tx: &mut Tx, claim: &RecoveryClaim<'_>) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO recovery_claim (setl_id, psn_no, mdtrt_id, amount, ttp_status, status, opened_at)
         VALUES ($1, $2, $3, $4, $5, 'open', $6)",
    )
    .bind(claim.setl_id)
    .bind(claim.psn_no)
    .bind(claim.mdtrt_id)
    .bind(claim.amount.to_string())
    .bind(claim.ttp_status)
    .bind(claim.opened_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn mark_reversed(tx: &mut Tx, setl_id: &str) -> Result<(), StoreError> {
    // A reversed settlement advanced nothing: its recovery claim, if any, is withdrawn.
    sqlx::query("UPDATE recovery_claim SET status = 'withdrawn' WHERE setl_id = $1")
        .bind(setl_id)
        .execute(&mut **tx)
        .await?;
    sqlx::query("UPDATE settlement SET reversed = 1 WHERE setl_id = $1")
        .bind(setl_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Totals for checks: settled count and sums by year, not reversed.
pub async fn totals(tx: &mut Tx) -> Result<(i64, Vec<(String, i64)>), StoreError> {
    let count: i64 = sqlx::query("SELECT COUNT(*) FROM settlement WHERE reversed = 0")
        .fetch_one(&mut **tx)
        .await?
        .try_get(0)?;
    let rows =
        sqlx::query("SELECT psn_no, admissions FROM accumulator").fetch_all(&mut **tx).await?;
    let admissions = rows
        .iter()
        .map(|row| Ok((row.try_get::<String, _>(0)?, row.try_get::<i64, _>(1)?)))
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok((count, admissions))
}

/// Inserts or replaces a filing (a revocation rewrites it).
pub async fn upsert_filing(tx: &mut Tx, filing: &Filing) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO filing (filing_id, psn_no, region, filing_type, target, begins_on, ends_on, filed_at, revoked_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (filing_id) DO UPDATE SET revoked_at = excluded.revoked_at, ends_on = excluded.ends_on",
    )
    .bind(&filing.id)
    .bind(&filing.person)
    .bind(filing.insured_region.as_str())
    .bind(filing.filing_type.code())
    .bind(filing.target.as_str())
    .bind(filing.begins_on.to_string())
    .bind(filing.ends_on.map(|d| d.to_string()))
    .bind(filing.filed_at.format("%Y-%m-%d %H:%M:%S").to_string())
    .bind(filing.revoked_at.map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string()))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// One filing by id.
pub async fn find_filing(tx: &mut Tx, filing_id: &str) -> Result<Option<Filing>, StoreError> {
    let row = sqlx::query("SELECT psn_no FROM filing WHERE filing_id = $1")
        .bind(filing_id)
        .fetch_optional(&mut **tx)
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let psn_no: String = row.try_get(0)?;
    Ok(load_filings(tx, &psn_no).await?.into_iter().find(|f| f.id == filing_id))
}

/// Records a contribution payment: `yyyy-MM` for a month, `yyyy` for a coverage year.
pub async fn add_contribution(
    tx: &mut Tx,
    psn_no: &str,
    period: &str,
    paid_on: NaiveDate,
) -> Result<(), StoreError> {
    let mut probe = Registration {
        category: Category::Employed,
        enrolled_on: paid_on,
        paid_months: BTreeSet::new(),
        paid_years: Vec::new(),
        paused_on: None,
    };
    if !probe.pay(period, period, paid_on) {
        return Err(corrupt("contribution.period", format!("{period:?} is not yyyy-MM or yyyy")));
    }
    sqlx::query("INSERT INTO contribution (psn_no, first_period, last_period, paid_on) VALUES ($1, $2, $2, $3) ON CONFLICT DO NOTHING")
        .bind(psn_no)
        .bind(period)
        .bind(paid_on.to_string())
        .execute(&mut **tx)
        .await?;
    Ok(())
}
