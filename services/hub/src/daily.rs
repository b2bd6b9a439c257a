//! Daily reconciliation (`yidi_clearing::daily`): for every day and every pair of insured
//! region and treatment province, the hub's ledger, the insured agency's settlements and the
//! treatment province's exchange's deliveries must agree — count, fund total and digest of
//! the settlements made that day. Each party states its side when the hub asks (a
//! `DayStatementRequest`, once a day is over, or on the desk's word), signed like every
//! message; where a party's digest differs from the ledger's the hub asks it for the
//! settlements themselves, so that the difference names the bills behind it. A difference is
//! a red conservation check on the dashboard (`daily_reconciliation`) and the gauge
//! `yidi_reconciliation_differences`, which alerts.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde::Serialize;
use yidi_bus::{topics, Outgoing, Rejection};
use yidi_clearing::daily::{self, DayTotals, Difference, Settled};
use yidi_domain::ids::RegionCode;
use yidi_store::{Row, Store, StoreError, Tx};
use yidi_wire::codec::ContentType;
use yidi_wire::day::StatedRow;
use yidi_wire::v1::{DayStatement, DayStatementRequest};

/// How many of the latest stated days the conservation check and the gauge reconcile.
pub const RECONCILED_DAYS: i64 = 7;

/// How long statements and asks are kept (business days): longer than a clearing month, so
/// that a round's days can still be shown.
pub const DAYS_KEPT: u64 = 40;

/// How many bills behind a difference the check names; the API gives them all.
pub const BILLS_NAMED: usize = 5;

/// Migration 7: the parties' day statements, the days asked, and settled bills by time.
pub const CHANGE: yidi_store::migrate::Change = yidi_store::migrate::Change {
    version: 7,
    description: "daily reconciliation: day statements, days asked, settled bills by time",
    sqlite: DAY_SQL,
    postgres: DAY_SQL,
};

const DAY_SQL: &str = "CREATE TABLE IF NOT EXISTS day_stated (
        day TEXT NOT NULL, party TEXT NOT NULL, region TEXT NOT NULL, signer TEXT NOT NULL,
        stmt_time TEXT NOT NULL, received_at TEXT NOT NULL, PRIMARY KEY (day, party, region));
    CREATE TABLE IF NOT EXISTS day_statement (
        day TEXT NOT NULL, party TEXT NOT NULL, insured TEXT NOT NULL, treatment TEXT NOT NULL,
        setl_cnt BIGINT NOT NULL, fund TEXT NOT NULL, digest TEXT NOT NULL, detail TEXT,
        truncated BIGINT NOT NULL, PRIMARY KEY (day, party, insured, treatment));
    CREATE TABLE IF NOT EXISTS day_asked (
        day TEXT PRIMARY KEY, asked_at TEXT NOT NULL, detail_asked_at TEXT);
    CREATE INDEX IF NOT EXISTS settled_bill_time ON settled_bill (setl_time)";

/// Who states a day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Party {
    Agency,
    Exchange,
}

impl Party {
    pub fn as_str(self) -> &'static str {
        match self {
            Party::Agency => "agency",
            Party::Exchange => "exchange",
        }
    }

    /// Whether a statement of this party for `region` covers the pair (`insured`,
    /// `treatment`): an agency speaks for the persons its regions insure, an exchange for the
    /// bills treated in its province.
    fn speaks_for(self, region: RegionCode, (insured, treatment): Pair) -> bool {
        match self {
            Party::Agency => region.covers(insured),
            Party::Exchange => region.same_province(treatment),
        }
    }

    fn parse(text: &str) -> Option<Party> {
        match text {
            "agency" => Some(Party::Agency),
            "exchange" => Some(Party::Exchange),
            _ => None,
        }
    }
}

/// The day statement requests: one to every served insured province's agency and every
/// treatment province's exchange.
pub fn asks(
    day: NaiveDate,
    detail: bool,
    agencies: &[RegionCode],
    exchanges: &[RegionCode],
) -> Vec<Outgoing> {
    let ask = DayStatementRequest { day: day.to_string(), detail };
    let message = |topic: String, receiver: &RegionCode| {
        Outgoing::new(topic, &ask.day, "yidi.v1.DayStatementRequest", &ask, ContentType::Protobuf)
            .with_header(yidi_wire::headers::RECEIVER, receiver.as_str())
    };
    agencies
        .iter()
        .map(|p| message(topics::agency_requests(p.as_str()), p))
        .chain(exchanges.iter().map(|p| message(topics::exchange_statements(p.as_str()), p)))
        .collect()
}

/// Records that `day` was asked for (with its detail or not), at `at`.
pub async fn asked(tx: &mut Tx, day: NaiveDate, detail: bool, at: &str) -> Result<(), StoreError> {
    let sql = if detail {
        "INSERT INTO day_asked (day, asked_at, detail_asked_at) VALUES ($1, $2, $2)
         ON CONFLICT (day) DO UPDATE SET detail_asked_at = excluded.detail_asked_at"
    } else {
        "INSERT INTO day_asked (day, asked_at, detail_asked_at) VALUES ($1, $2, NULL)
         ON CONFLICT (day) DO UPDATE SET asked_at = excluded.asked_at"
    };
    sqlx::query(sql).bind(day.to_string()).bind(at).execute(&mut **tx).await?;
    Ok(())
}

/// The days over that no one was asked for yet: days of the ledger's settlements, among the
/// [`RECONCILED_DAYS`] before the latest day it holds (a later day's bills say the earlier
/// day is over: its results are in).
pub async fn due(store: &Store) -> Result<Vec<NaiveDate>, StoreError> {
    let row =
        sqlx::query("SELECT MAX(setl_time) FROM settled_bill").fetch_one(store.pool()).await?;
    let Some(latest) = row.try_get::<Option<String>, _>(0)?.and_then(|t| day_of(&t)) else {
        return Ok(Vec::new());
    };
    let asked: BTreeSet<String> = sqlx::query("SELECT day FROM day_asked")
        .fetch_all(store.pool())
        .await?
        .iter()
        .map(|row| row.try_get(0))
        .collect::<Result<_, _>>()?;
    let from = latest - chrono::Days::new(u64::try_from(RECONCILED_DAYS).unwrap_or(7));
    let mut days = Vec::new();
    let mut day = from;
    while day < latest {
        if !asked.contains(&day.to_string()) && has_bills(store, day).await? {
            days.push(day);
        }
        day = day.succ_opt().unwrap_or(latest);
    }
    Ok(days)
}

fn day_of(time: &str) -> Option<NaiveDate> {
    time.get(..10)?.parse().ok()
}

fn bounds(day: NaiveDate) -> (String, String) {
    (format!("{day} 00:00:00"), format!("{} 00:00:00", day.succ_opt().unwrap_or(day)))
}

async fn has_bills(store: &Store, day: NaiveDate) -> Result<bool, StoreError> {
    let (from, to) = bounds(day);
    let row = sqlx::query(
        "SELECT COUNT(*) FROM (SELECT 1 FROM settled_bill WHERE setl_time >= $1 AND setl_time < $2 LIMIT 1) AS one",
    )
    .bind(from)
    .bind(to)
    .fetch_one(store.pool())
    .await?;
    Ok(row.try_get::<i64, _>(0)? > 0)
}

type Pair = (RegionCode, RegionCode);

/// The ledger's settlements of `day` (reversed since or not), by insured region and treatment
/// province.
pub async fn ledger_day(
    tx: &mut Tx,
    day: NaiveDate,
) -> Result<BTreeMap<Pair, Vec<Settled>>, StoreError> {
    let (from, to) = bounds(day);
    let rows = sqlx::query(
        "SELECT insured, treatment, setl_id, fund_pay_sumamt FROM settled_bill
         WHERE setl_time >= $1 AND setl_time < $2",
    )
    .bind(from)
    .bind(to)
    .fetch_all(&mut **tx)
    .await?;
    let mut pairs: BTreeMap<Pair, Vec<Settled>> = BTreeMap::new();
    for row in &rows {
        let insured: String = row.try_get(0)?;
        let treatment: String = row.try_get(1)?;
        let fund: String = row.try_get(3)?;
        let corrupt = |column: &'static str, detail: &str| StoreError::Corrupt {
            column,
            detail: detail.to_owned(),
        };
        let pair = (
            insured.parse().map_err(|_| corrupt("settled_bill.insured", &insured))?,
            treatment
                .parse::<RegionCode>()
                .map_err(|_| corrupt("settled_bill.treatment", &treatment))?
                .province(),
        );
        let fund = yidi_clearing::text::parse_amount(&fund)
            .map_err(|_| corrupt("settled_bill.fund_pay_sumamt", &fund))?;
        pairs.entry(pair).or_default().push(Settled { setl_id: row.try_get(2)?, fund });
    }
    Ok(pairs)
}

/// A statement as read and allowed: the party, the regions it speaks for, the day, its rows.
pub struct Received {
    pub party: Party,
    pub regions: Vec<RegionCode>,
    pub day: NaiveDate,
    pub rows: Vec<StatedRow>,
    pub stmt_time: String,
    pub signer: String,
}

fn invalid(why: impl ToString) -> Rejection {
    Rejection::new("INVALID_STATEMENT", why.to_string())
}

/// Reads a day statement and checks that its signer may state it: an agency only for the
/// insured regions it hosts, an exchange only for its own province, each row inside them.
pub fn admit(incoming: &yidi_bus::Incoming) -> Result<Received, Rejection> {
    let statement = incoming.decode::<DayStatement>("DayStatement")?;
    let party =
        Party::parse(&statement.party).ok_or_else(|| invalid("party: agency or exchange"))?;
    let (day, rows) = yidi_wire::day::read(&statement).map_err(invalid)?;
    let regions = statement
        .region
        .split(',')
        .map(|code| code.trim().parse::<RegionCode>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(format!("region: {e}")))?;
    for region in &regions {
        match party {
            Party::Agency => incoming.authorize(
                |role| role.hosts(*region),
                &format!("state the settlements of persons insured in {region}"),
            )?,
            Party::Exchange => incoming.authorize(
                |role| matches!(role, yidi_trust::Role::Exchange(_)) && role.treats_in(*region),
                &format!("state the settlements treated in {region}"),
            )?,
        }
    }
    for row in &rows {
        if !regions.iter().any(|r| party.speaks_for(*r, (row.insured, row.treatment))) {
            return Err(invalid(format!(
                "the row {}→{} is outside the regions the statement names",
                row.insured, row.treatment
            )));
        }
    }
    let signer = match &incoming.signer {
        yidi_bus::Signer::Verified(party) => party.subject.clone(),
        _ => String::new(),
    };
    Ok(Received { party, regions, day, rows, stmt_time: statement.stmt_time, signer })
}

/// What a party stated of a day before, by pair: the digest and the detail.
type Kept = BTreeMap<(String, String), (String, Option<String>)>;

async fn kept(tx: &mut Tx, day: &str, party: &str) -> Result<Kept, StoreError> {
    let rows = sqlx::query(
        "SELECT insured, treatment, digest, detail FROM day_statement WHERE day = $1 AND party = $2",
    )
    .bind(day)
    .bind(party)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter()
        .map(|row| Ok(((row.try_get(0)?, row.try_get(1)?), (row.try_get(2)?, row.try_get(3)?))))
        .collect()
}

/// Records that the party stated the day for its regions, and forgets its rows stated before.
async fn restate(tx: &mut Tx, received: &Received, at: &str) -> Result<(), StoreError> {
    let (day, party) = (received.day.to_string(), received.party.as_str());
    let column = match received.party {
        Party::Agency => "insured",
        Party::Exchange => "treatment",
    };
    for region in &received.regions {
        sqlx::query(
            "INSERT INTO day_stated (day, party, region, signer, stmt_time, received_at)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (day, party, region) DO UPDATE SET signer = excluded.signer,
                 stmt_time = excluded.stmt_time, received_at = excluded.received_at",
        )
        .bind(&day)
        .bind(party)
        .bind(region.as_str())
        .bind(&received.signer)
        .bind(&received.stmt_time)
        .bind(at)
        .execute(&mut **tx)
        .await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM day_statement WHERE day = $1 AND party = $2 AND {column} = $3"
        )))
        .bind(&day)
        .bind(party)
        .bind(region.as_str())
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Keeps one stated row; whether its totals differ from the ledger's with no detail to show.
async fn keep_row(
    tx: &mut Tx,
    received: &Received,
    row: &StatedRow,
    before: &Kept,
    ledger: &BTreeMap<Pair, Vec<Settled>>,
) -> Result<bool, StoreError> {
    let key = (row.insured.to_string(), row.treatment.to_string());
    let detail = if row.detail.is_empty() {
        before
            .get(&key)
            .filter(|(digest, _)| *digest == row.totals.digest)
            .and_then(|(_, d)| d.clone())
    } else {
        Some(serde_json::to_string(&row.detail).map_err(|e| StoreError::Corrupt {
            column: "day_statement.detail",
            detail: e.to_string(),
        })?)
    };
    sqlx::query(
        "INSERT INTO day_statement (day, party, insured, treatment, setl_cnt, fund, digest, detail, truncated)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(received.day.to_string())
    .bind(received.party.as_str())
    .bind(&key.0)
    .bind(&key.1)
    .bind(i64::try_from(row.totals.count).unwrap_or(i64::MAX))
    .bind(row.totals.fund.to_string())
    .bind(&row.totals.digest)
    .bind(&detail)
    .bind(i64::from(row.truncated))
    .execute(&mut **tx)
    .await?;
    let ours = ledger.get(&(row.insured, row.treatment)).map_or_else(Vec::new, Clone::clone);
    Ok(daily::totals(&ours).digest != row.totals.digest && detail.is_none())
}

/// Keeps a party's statement of a day, replacing what it stated before for the same regions;
/// a statement without detail keeps the detail given before where the totals are unchanged.
/// The detail requests to send where its totals differ from the ledger's and no detail was
/// asked for the day yet.
pub async fn record(
    tx: &mut Tx,
    received: &Received,
    at: &str,
) -> Result<Vec<Outgoing>, StoreError> {
    let day = received.day.to_string();
    let before = kept(tx, &day, received.party.as_str()).await?;
    restate(tx, received, at).await?;
    let ledger = ledger_day(tx, received.day).await?;
    let mut differs = false;
    for row in &received.rows {
        differs |= keep_row(tx, received, row, &before, &ledger).await?;
    }
    // A pair the ledger holds that the statement leaves out differs too.
    differs |= ledger.keys().any(|(insured, treatment)| {
        covers(received, *insured, *treatment)
            && !received.rows.iter().any(|r| (r.insured, r.treatment) == (*insured, *treatment))
    });
    let asked_detail = sqlx::query("SELECT detail_asked_at FROM day_asked WHERE day = $1")
        .bind(&day)
        .fetch_optional(&mut **tx)
        .await?
        .map(|row| row.try_get::<Option<String>, _>(0))
        .transpose()?
        .flatten()
        .is_some();
    if !differs || asked_detail {
        return Ok(Vec::new());
    }
    asked(tx, received.day, true, at).await?;
    let provinces: BTreeSet<RegionCode> = received.regions.iter().map(|r| r.province()).collect();
    let provinces: Vec<RegionCode> = provinces.into_iter().collect();
    Ok(match received.party {
        Party::Agency => asks(received.day, true, &provinces, &[]),
        Party::Exchange => asks(received.day, true, &[], &provinces),
    })
}

fn covers(received: &Received, insured: RegionCode, treatment: RegionCode) -> bool {
    received.regions.iter().any(|r| received.party.speaks_for(*r, (insured, treatment)))
}

/// One pair of one day as a party stated it, against the ledger.
#[derive(Clone, Debug, Serialize)]
pub struct PairDay {
    pub day: String,
    #[serde(with = "yidi_clearing::text::region")]
    pub insured: RegionCode,
    #[serde(with = "yidi_clearing::text::region")]
    pub treatment: RegionCode,
    pub party: Party,
    pub ledger: DayTotals,
    pub stated: DayTotals,
    pub agrees: bool,
    /// The bills behind a difference, when the party gave its detail.
    pub bills: Vec<Difference>,
    /// Whether the bills are known: `complete`, `truncated` (the party holds more than its
    /// detail carried) or `asked` (not yet given).
    pub detail: &'static str,
}

/// Every pair of the latest `days` stated days, as each party stated it (a pair the ledger
/// holds and a party that stated the day left out counts as stated empty).
pub async fn reconcile(store: &Store, days: i64) -> Result<Vec<PairDay>, StoreError> {
    let mut tx = store.begin().await?;
    let stated_days: Vec<String> =
        sqlx::query("SELECT DISTINCT day FROM day_stated ORDER BY day DESC LIMIT $1")
            .bind(days)
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|row| row.try_get(0))
            .collect::<Result<_, _>>()?;
    let mut found = Vec::new();
    for day_text in stated_days.iter().rev() {
        let Ok(day) = day_text.parse::<NaiveDate>() else { continue };
        found.extend(reconcile_day(&mut tx, day).await?);
    }
    Ok(found)
}

/// A party's row of a day as kept: its totals, its detail if given, whether that was cut.
#[derive(Clone)]
struct Stated {
    totals: DayTotals,
    detail: Option<Vec<Settled>>,
    truncated: bool,
}

/// The regions each party stated `day` for.
async fn coverage(tx: &mut Tx, day: &str) -> Result<Vec<(Party, RegionCode)>, StoreError> {
    let rows = sqlx::query("SELECT party, region FROM day_stated WHERE day = $1")
        .bind(day)
        .fetch_all(&mut **tx)
        .await?;
    Ok(rows
        .iter()
        .filter_map(|row| {
            let party = Party::parse(&row.try_get::<String, _>(0).ok()?)?;
            Some((party, row.try_get::<String, _>(1).ok()?.parse().ok()?))
        })
        .collect())
}

/// The rows the parties stated of `day`.
async fn stated(tx: &mut Tx, day: &str) -> Result<BTreeMap<(Party, Pair), Stated>, StoreError> {
    let rows = sqlx::query(
        "SELECT party, insured, treatment, setl_cnt, fund, digest, detail, truncated
         FROM day_statement WHERE day = $1",
    )
    .bind(day)
    .fetch_all(&mut **tx)
    .await?;
    let mut stated = BTreeMap::new();
    for row in &rows {
        let (Some(party), Ok(insured), Ok(treatment)) = (
            Party::parse(&row.try_get::<String, _>(0)?),
            row.try_get::<String, _>(1)?.parse::<RegionCode>(),
            row.try_get::<String, _>(2)?.parse::<RegionCode>(),
        ) else {
            continue;
        };
        let fund: String = row.try_get(4)?;
        let totals = DayTotals {
            count: u64::try_from(row.try_get::<i64, _>(3)?).unwrap_or(0),
            fund: yidi_clearing::text::parse_amount(&fund)
                .unwrap_or(yidi_domain::money::Amount::ZERO),
            digest: row.try_get(5)?,
        };
        let detail = row
            .try_get::<Option<String>, _>(6)?
            .and_then(|text| serde_json::from_str::<Vec<Settled>>(&text).ok());
        let truncated = row.try_get::<i64, _>(7)? != 0;
        stated.insert((party, (insured, treatment)), Stated { totals, detail, truncated });
    }
    Ok(stated)
}

/// One pair of a day as `party` stated it (or, stating the day, left it out) against the
/// ledger's settlements of the pair.
fn judge(day: &str, party: Party, pair: Pair, ours: &[Settled], stated: Option<Stated>) -> PairDay {
    let ledger = daily::totals(ours);
    let stated = stated.unwrap_or_else(|| Stated {
        totals: daily::totals(&[]),
        detail: Some(Vec::new()),
        truncated: false,
    });
    let agrees = stated.totals.digest == ledger.digest;
    let (bills, detail) = match (&stated.detail, agrees) {
        (_, true) => (Vec::new(), "complete"),
        (Some(detail), false) => (
            daily::differences(ours, detail),
            if stated.truncated { "truncated" } else { "complete" },
        ),
        (None, false) => (Vec::new(), "asked"),
    };
    PairDay {
        day: day.to_owned(),
        insured: pair.0,
        treatment: pair.1,
        party,
        ledger,
        stated: stated.totals,
        agrees,
        bills,
        detail,
    }
}

/// The pairs of `day`, as each party that stated it did.
pub async fn reconcile_day(tx: &mut Tx, day: NaiveDate) -> Result<Vec<PairDay>, StoreError> {
    let day_text = day.to_string();
    let ledger = ledger_day(tx, day).await?;
    let coverage = coverage(tx, &day_text).await?;
    let stated = stated(tx, &day_text).await?;
    let mut pairs: BTreeSet<(Party, Pair)> = stated.keys().copied().collect();
    for (party, region) in &coverage {
        for (insured, treatment) in ledger.keys() {
            if party.speaks_for(*region, (*insured, *treatment)) {
                pairs.insert((*party, (*insured, *treatment)));
            }
        }
    }
    let none = Vec::new();
    Ok(pairs
        .into_iter()
        .map(|(party, pair)| {
            let ours = ledger.get(&pair).unwrap_or(&none);
            judge(&day_text, party, pair, ours, stated.get(&(party, pair)).cloned())
        })
        .collect())
}

/// The conservation check: whether every pair of the latest stated days agrees, and the
/// differences with the first bills behind each.
pub fn check(pairs: &[PairDay]) -> (bool, String) {
    let differing: Vec<&PairDay> = pairs.iter().filter(|p| !p.agrees).collect();
    if differing.is_empty() {
        let days: BTreeSet<&str> = pairs.iter().map(|p| p.day.as_str()).collect();
        return (
            true,
            format!(
                "{} pair-days of {} days: the ledger, the agencies and the exchanges agree",
                pairs.len(),
                days.len()
            ),
        );
    }
    let lines: Vec<String> = differing
        .iter()
        .map(|p| {
            let bills: Vec<String> = p
                .bills
                .iter()
                .take(BILLS_NAMED)
                .map(|bill| match bill {
                    Difference::NotInLedger { setl_id, .. } => {
                        format!("{setl_id} not in the ledger")
                    }
                    Difference::NotStated { setl_id, .. } => format!("{setl_id} not stated"),
                    Difference::Amount { setl_id, ledger, stated } => {
                        format!("{setl_id} {stated} stated, {ledger} in the ledger")
                    }
                })
                .collect();
            format!(
                "{} {}→{}: {} states {} bills {}, the ledger {} bills {}{}",
                p.day,
                p.insured,
                p.treatment,
                p.party.as_str(),
                p.stated.count,
                p.stated.fund,
                p.ledger.count,
                p.ledger.fund,
                if bills.is_empty() {
                    format!(" (bills: {})", p.detail)
                } else {
                    format!(" ({})", bills.join("; "))
                }
            )
        })
        .collect();
    (false, lines.join("; "))
}

/// Forgets statements and asks of days before `before` (`yyyy-MM-dd`).
pub async fn prune(store: &Store, before: &str) -> Result<u64, StoreError> {
    let mut pruned = 0;
    for table in ["day_stated", "day_statement", "day_asked"] {
        let done = sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table} WHERE day < $1")))
            .bind(before)
            .execute(store.pool())
            .await?;
        pruned += done.rows_affected();
    }
    Ok(pruned)
}
