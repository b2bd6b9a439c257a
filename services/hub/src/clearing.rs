//! The hub's clearing desk: the event log of [`yidi_clearing`] in the hub's database, the
//! business clock, and the suspended-province set the router reads.
//!
//! One writer: every change takes the book's lock, writes its records (hash-chained) in a
//! transaction, and applies the events to the in-memory book only after the commit. The log
//! is verified (chain, then every event re-validated) each time the hub starts.

use std::collections::BTreeSet;
use std::sync::{Arc, RwLock};

use chrono::{Days, NaiveDate};
use tokio::sync::Mutex;
use tracing::{error, info, warn};
use yidi_clearing::book::{Overdue, Positions, Prepayment, Settings, Transition};
use yidi_clearing::chain::{self, Record};
use yidi_clearing::period::Period;
use yidi_clearing::round::Notice;
use yidi_clearing::{Book, ClearingError, Event};
use yidi_domain::ids::RegionCode;
use yidi_domain::money::Amount;
use yidi_runtime::clock::BusinessClock;
use yidi_runtime::outbox::Outbox;
use yidi_store::inbox;
use yidi_store::{Row, Store, StoreError, Tx};
use yidi_wire::convert;
use yidi_wire::v1::{SettleResult, SettleStatus};

pub const SCHEMA: &[&str] = &["CREATE TABLE IF NOT EXISTS clearing_log (
    seq BIGINT PRIMARY KEY, kind TEXT NOT NULL, body TEXT NOT NULL,
    prev_hash TEXT NOT NULL, hash TEXT NOT NULL, recorded_at TEXT NOT NULL)"];

/// The database refuses to change or remove a log record (the chain would catch it anyway;
/// this stops it at the door). Per backend, since trigger syntax differs.
const APPEND_ONLY_SQLITE: &[&str] = &[
    "CREATE TRIGGER IF NOT EXISTS clearing_log_no_update BEFORE UPDATE ON clearing_log
     BEGIN SELECT RAISE(ABORT, 'clearing_log is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS clearing_log_no_delete BEFORE DELETE ON clearing_log
     BEGIN SELECT RAISE(ABORT, 'clearing_log is append-only'); END",
];
const APPEND_ONLY_POSTGRES: &[&str] = &[
    "CREATE OR REPLACE FUNCTION clearing_log_append_only() RETURNS trigger AS $body$
     BEGIN RAISE EXCEPTION 'clearing_log is append-only'; END $body$ LANGUAGE plpgsql",
    "CREATE OR REPLACE TRIGGER clearing_log_append_only BEFORE UPDATE OR DELETE ON clearing_log
     FOR EACH ROW EXECUTE FUNCTION clearing_log_append_only()",
];

async fn append_only(store: &Store) -> Result<(), StoreError> {
    let statements = match store.backend() {
        yidi_store::Backend::Sqlite => APPEND_ONLY_SQLITE,
        yidi_store::Backend::Postgres => APPEND_ONLY_POSTGRES,
    };
    for statement in statements {
        sqlx::raw_sql(*statement).execute(store.pool()).await?;
    }
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum DeskError {
    #[error(transparent)]
    Clearing(#[from] ClearingError),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("event log: {0}")]
    Encode(#[from] serde_json::Error),
}

impl DeskError {
    pub fn code(&self) -> &'static str {
        match self {
            DeskError::Clearing(e) => e.code(),
            DeskError::Store(e) => e.code(),
            DeskError::Encode(_) => "CLR_LOG",
        }
    }
}

struct State {
    book: Book,
    last: Option<Record>,
    /// The last business day the calendar ran.
    ticked: Option<NaiveDate>,
}

/// What the dashboard's conservation panel checks.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Check {
    pub name: &'static str,
    pub ok: bool,
    pub detail: String,
}

pub struct Desk {
    /// The real date under the business clock's offset.
    clock: BusinessClock,
    store: Store,
    state: Mutex<State>,
    /// The last record verified and replayed at start-up: later checks verify what follows it.
    verified_at_start: Option<Record>,
    suspended: Arc<RwLock<BTreeSet<RegionCode>>>,
    /// Periods whose cut-off has passed (a round was generated): the hub asks the exchanges
    /// for their statements.
    statements: std::sync::Mutex<Option<Statements>>,
    /// The settled bills are kept with a token for the person, not the person's number.
    tokens: Arc<yidi_trust::token::PersonTokens>,
    /// The latest daily reconciliation and when it was made: the dashboard and the gauges
    /// read it every few seconds, and it reads a week of the ledger.
    daily: Mutex<Option<(std::time::Instant, Vec<crate::daily::PairDay>)>>,
}

/// How long a daily reconciliation is shown before it is made again (a new day statement
/// makes it again at once).
pub const DAILY_FRESH: std::time::Duration = std::time::Duration::from_secs(10);

async fn read_log(store: &Store) -> Result<Vec<Record>, StoreError> {
    read_log_from(store, 1).await
}

/// The records from `seq` on.
async fn read_log_from(store: &Store, seq: i64) -> Result<Vec<Record>, StoreError> {
    let rows = sqlx::query(
        "SELECT seq, kind, body, prev_hash, hash FROM clearing_log WHERE seq >= $1 ORDER BY seq",
    )
    .bind(seq)
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|row| {
            Ok(Record {
                seq: row.try_get(0)?,
                kind: row.try_get(1)?,
                body: row.try_get(2)?,
                prev_hash: row.try_get(3)?,
                hash: row.try_get(4)?,
            })
        })
        .collect()
}

/// Rebuilds the book from a verified log.
fn replay(settings: &Settings, records: &[Record]) -> Result<Book, DeskError> {
    chain::verify(records)?;
    let mut book = Book::new(settings.clone());
    for record in records {
        let event: Event = serde_json::from_str(&record.body)?;
        if event.kind() != record.kind {
            return Err(ClearingError::Chain {
                seq: record.seq,
                why: "kind does not match its body".into(),
            }
            .into());
        }
        book.apply(event).map_err(|e| ClearingError::Replay(format!("#{}: {e}", record.seq)))?;
    }
    Ok(book)
}

async fn write(
    tx: &mut Tx,
    last: &mut Option<Record>,
    events: &[Event],
    recorded_at: &str,
) -> Result<(), DeskError> {
    for event in events {
        let record = chain::link(last.as_ref(), event.kind(), serde_json::to_string(event)?);
        sqlx::query(
            "INSERT INTO clearing_log (seq, kind, body, prev_hash, hash, recorded_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(record.seq)
        .bind(&record.kind)
        .bind(&record.body)
        .bind(&record.prev_hash)
        .bind(&record.hash)
        .bind(recorded_at)
        .execute(&mut **tx)
        .await
        .map_err(StoreError::from)?;
        *last = Some(record);
    }
    Ok(())
}

impl Desk {
    /// Loads and verifies the log; starts the business clock at `clock_start` on a new log.
    pub async fn open(
        store: Store,
        settings: Settings,
        clock: BusinessClock,
        clock_start: Option<NaiveDate>,
        tokens: Arc<yidi_trust::token::PersonTokens>,
    ) -> Result<Desk, DeskError> {
        append_only(&store).await?;
        let records = read_log(&store).await?;
        let book = replay(&settings, &records)?;
        let real_today = clock.today();
        info!(
            records = records.len(),
            entries = book.ledger().entries().len(),
            "clearing log verified"
        );
        let desk = Desk {
            store,
            clock,
            verified_at_start: records.last().cloned(),
            state: Mutex::new(State { book, last: records.last().cloned(), ticked: None }),
            suspended: Arc::new(RwLock::new(BTreeSet::new())),
            statements: std::sync::Mutex::new(None),
            daily: Mutex::new(None),
            tokens,
        };
        if records.is_empty() {
            if let Some(start) = clock_start {
                let days = (start - real_today).num_days();
                if days > 0 {
                    desk.advance(days).await?;
                }
            }
        }
        desk.backfill().await?;
        desk.tick().await?;
        Ok(desk)
    }

    /// Posts the settled bills the ledger does not hold yet — bills recorded before the
    /// ledger existed — so that ledger = settled bills holds from the start.
    async fn backfill(&self) -> Result<(), DeskError> {
        let bills = crate::record::cross_province_bills(&self.store).await?;
        let mut state = self.state.lock().await;
        let missing: Vec<_> = bills
            .iter()
            .filter(|b| !state.book.ledger().contains(&format!("S:{}", b.setl_id)))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let today = self.business_date(&state.book);
        let mut events = Vec::new();
        // The reversal of a bill needs its settlement applied first: decide on a copy, and
        // take the copy only once the events are stored.
        let mut book = state.book.clone();
        for bill in missing {
            if let Some(event) = book.post_settlement(
                &bill.setl_id,
                bill.insured,
                bill.treatment,
                bill.funds,
                today,
            )? {
                book.apply(event.clone())?;
                events.push(event);
            }
            if bill.reversed {
                if let Some(event) =
                    book.post_reversal(&bill.setl_id, today, "reversed before the ledger")?
                {
                    book.apply(event.clone())?;
                    events.push(event);
                }
            }
        }
        if !events.is_empty() {
            info!(entries = events.len(), "settled bills posted to the clearing ledger (backfill)");
            let mut tx = self.store.begin().await?;
            let mut last = state.last.clone();
            write(&mut tx, &mut last, &events, &self.recorded_at()).await?;
            tx.commit().await.map_err(StoreError::from)?;
            state.last = last;
            state.book = book;
        }
        Ok(())
    }

    /// After each cut-off (a generated round), the hub asks these treatment provinces'
    /// exchanges for their statements: queued in `outbox` with the round, in one transaction.
    /// Where statement requests go: `treatment` provinces' exchanges (periods and days) and
    /// the agencies of the `served` insured provinces (days).
    pub fn request_statements_from(
        &self,
        outbox: Outbox,
        treatment: Vec<RegionCode>,
        served: Vec<RegionCode>,
    ) {
        if let Ok(mut slot) = self.statements.lock() {
            *slot = Some(Statements { outbox, treatment, served });
        }
    }

    /// Every pair of the latest stated days as each party stated it (`daily::reconcile`),
    /// made again when older than [`DAILY_FRESH`] or when a statement came since.
    pub async fn daily_reconciliation(&self) -> Result<Vec<crate::daily::PairDay>, StoreError> {
        let mut cached = self.daily.lock().await;
        if let Some((made, pairs)) = cached.as_ref() {
            if made.elapsed() < DAILY_FRESH {
                return Ok(pairs.clone());
            }
        }
        let pairs = crate::daily::reconcile(&self.store, crate::daily::RECONCILED_DAYS).await?;
        *cached = Some((std::time::Instant::now(), pairs.clone()));
        Ok(pairs)
    }

    /// The hub's database.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// A day statement came: the next daily reconciliation is made afresh.
    pub async fn forget_daily(&self) {
        *self.daily.lock().await = None;
    }

    /// Asks every agency and exchange for its statement of `day` (daily reconciliation),
    /// with the settlements themselves when `detail`; whether there was anyone to ask.
    pub async fn request_day_statements(
        &self,
        day: NaiveDate,
        detail: bool,
    ) -> Result<bool, DeskError> {
        let Some(statements) = self.statements.lock().ok().and_then(|slot| slot.clone()) else {
            return Ok(false);
        };
        let mut tx = self.store.begin().await?;
        let at = self.recorded_at();
        crate::daily::asked(&mut tx, day, detail, &at).await?;
        for message in crate::daily::asks(day, detail, &statements.served, &statements.treatment) {
            Outbox::put(&mut tx, &message, &at).await?;
        }
        tx.commit().await.map_err(StoreError::from)?;
        statements.outbox.wake();
        Ok(true)
    }

    /// Queues the statement requests the `events` call for inside `tx`; the outbox to wake
    /// after the commit, if any.
    async fn queue_statements(
        &self,
        tx: &mut Tx,
        events: &[Event],
    ) -> Result<Option<Outbox>, DeskError> {
        let Some(statements) = self.statements.lock().ok().and_then(|slot| slot.clone()) else {
            return Ok(None);
        };
        let at = self.recorded_at();
        let mut queued = false;
        for event in events {
            if let Event::RoundGenerated { period, .. } = event {
                for message in statements.requests(*period) {
                    Outbox::put(tx, &message, &at).await?;
                    queued = true;
                }
                info!(%period, exchanges = statements.treatment.len(), "statements requested");
            }
        }
        Ok(queued.then_some(statements.outbox))
    }

    /// The set the router refuses (`province_suspended`).
    pub fn suspended(&self) -> Arc<RwLock<BTreeSet<RegionCode>>> {
        Arc::clone(&self.suspended)
    }

    /// When a log record is written: real time in the business zone.
    /// The business time now, `yyyy-MM-dd HH:mm:ss`, as records are stamped.
    pub fn recorded_at(&self) -> String {
        self.clock.now().format("%Y-%m-%d %H:%M:%S").to_string()
    }

    fn business_date(&self, book: &Book) -> NaiveDate {
        let real = self.clock.today();
        u64::try_from(book.clock_days())
            .ok()
            .and_then(|d| real.checked_add_days(Days::new(d)))
            .unwrap_or(real)
    }

    pub async fn today(&self) -> NaiveDate {
        self.business_date(&self.state.lock().await.book)
    }

    fn publish_suspended(&self, book: &Book) {
        let now = book.suspended();
        if let Ok(mut set) = self.suspended.write() {
            if *set != now {
                info!(suspended = ?now, "suspended provinces changed");
                *set = now;
            }
        }
    }

    /// Writes and applies command events in one transaction.
    async fn commit(&self, state: &mut State, events: Vec<Event>) -> Result<(), DeskError> {
        self.commit_once(state, events, None).await
    }

    /// [`Desk::commit`], with an admin call's answer recorded under its idempotency key in the
    /// same transaction.
    async fn commit_once(
        &self,
        state: &mut State,
        events: Vec<Event>,
        once: Option<(&Once, &[u8])>,
    ) -> Result<(), DeskError> {
        if events.is_empty() && once.is_none() {
            return Ok(());
        }
        let mut tx = self.store.begin().await?;
        let mut last = state.last.clone();
        write(&mut tx, &mut last, &events, &self.recorded_at()).await?;
        if let Some((once, answer)) = once {
            inbox::record(
                &mut tx,
                &once.inbox_key(),
                &once.request_hash,
                answer,
                &self.recorded_at(),
            )
            .await?;
        }
        tx.commit().await.map_err(StoreError::from)?;
        state.last = last;
        for event in events {
            state.book.apply(event)?;
        }
        Ok(())
    }

    /// Runs the calendar for every business day not yet run, up to today.
    pub async fn tick(&self) -> Result<Vec<Event>, DeskError> {
        let mut state = self.state.lock().await;
        self.tick_locked(&mut state).await
    }

    async fn tick_locked(&self, state: &mut State) -> Result<Vec<Event>, DeskError> {
        let today = self.business_date(&state.book);
        let mut day = match state.ticked {
            Some(last) => last.checked_add_days(Days::new(1)).unwrap_or(today),
            None => today,
        };
        let mut all = Vec::new();
        while day <= today {
            // `tick` applies as it decides; persist what it decided, or rebuild from the log.
            let events = state.book.tick(day)?;
            if !events.is_empty() {
                let mut tx = self.store.begin().await?;
                let mut last = state.last.clone();
                let mut wake = None;
                let mut written = write(&mut tx, &mut last, &events, &self.recorded_at()).await;
                if written.is_ok() {
                    written = match self.queue_statements(&mut tx, &events).await {
                        Ok(outbox) => {
                            wake = outbox;
                            tx.commit().await.map_err(|e| DeskError::Store(e.into()))
                        }
                        Err(e) => Err(e),
                    };
                }
                if let Err(e) = written {
                    error!(error = %e, "clearing events not stored; rebuilding the book from the log");
                    let records = read_log(&self.store).await?;
                    state.book = replay(&state.book.settings.clone(), &records)?;
                    state.last = records.last().cloned();
                    return Err(e);
                }
                state.last = last;
                if let Some(outbox) = wake {
                    outbox.wake();
                }
                for event in &events {
                    if let Event::Transition { province, from, to, reason, .. } = event {
                        warn!(%province, from = from.label(), to = to.label(), %reason, %day, "clearing ladder");
                    }
                }
                all.extend(events);
            }
            state.ticked = Some(day);
            day = match day.checked_add_days(Days::new(1)) {
                Some(next) => next,
                None => break,
            };
        }
        self.publish_suspended(&state.book);
        Ok(all)
    }

    /// Advances the business clock by `days` and runs every day in between.
    pub async fn advance(&self, days: i64) -> Result<(NaiveDate, Vec<Event>), DeskError> {
        let mut state = self.state.lock().await;
        let today = self.business_date(&state.book);
        if state.ticked.is_none() {
            state.ticked = Some(today);
        }
        let target = u64::try_from(days)
            .ok()
            .and_then(|d| today.checked_add_days(Days::new(d)))
            .unwrap_or(today);
        let event = state.book.advance(days, target)?;
        self.commit(&mut state, vec![event]).await?;
        let events = self.tick_locked(&mut state).await?;
        Ok((self.business_date(&state.book), events))
    }

    /// The ledger entry a result posts, if any. A result the ledger cannot take (a reversal
    /// of a bill it never saw, a malformed amount) posts nothing and is logged: the settled
    /// bill is still recorded and answered, and the conservation check shows the gap.
    fn ledger_event(book: &Book, result: &SettleResult, today: NaiveDate) -> Option<Event> {
        let info = result.setlinfo.as_ref()?;
        let insured = result.insuplc_admdvs.parse::<RegionCode>().ok()?;
        let treatment = result.mdtrtarea_admvs.parse::<RegionCode>().ok()?;
        if insured.same_province(treatment) || info.setl_id.is_empty() {
            return None;
        }
        let decided = if result.status == i32::from(SettleStatus::Settled) {
            convert::advanced_funds(result)
                .map_err(|why| {
                    ClearingError::Invalid(format!("settled result {}: {why}", info.setl_id))
                })
                .and_then(|funds| {
                    book.post_settlement(&info.setl_id, insured, treatment, funds, today)
                })
        } else if result.status == i32::from(SettleStatus::Reversed) {
            book.post_reversal(&info.setl_id, today, "reversed")
        } else {
            Ok(None)
        };
        match decided {
            Ok(event) => event,
            Err(e) => {
                warn!(setl_id = %info.setl_id, code = e.code(), error = %e, "not posted to the clearing ledger");
                None
            }
        }
    }

    /// Records a result: the settled bill and its ledger entry in one transaction, so a bill
    /// is in both or in neither; the book takes the entry after the commit. Returns the
    /// clearing period the bill (or its reversal) is posted in, for the exchange's statement.
    pub async fn record_result(&self, result: &SettleResult) -> Result<Option<Period>, DeskError> {
        let periods = self.record_results(&[result]).await?;
        Ok(periods.into_iter().next().flatten())
    }

    /// Records results in order, each settled bill with its ledger entry, in as few
    /// transactions as the book allows: entries are decided against the book, which takes
    /// them only after their commit, so a result about a bill already pending in this
    /// transaction (its reversal, a second copy) first commits what is pending. Returns each
    /// result's clearing period.
    pub async fn record_results(
        &self,
        results: &[&SettleResult],
    ) -> Result<Vec<Option<Period>>, DeskError> {
        let mut state = self.state.lock().await;
        let today = self.business_date(&state.book);
        let mut tx = self.store.begin().await?;
        let mut last = state.last.clone();
        let mut pending: Vec<Event> = Vec::new();
        let mut pending_bills: std::collections::HashSet<&str> = std::collections::HashSet::new();
        for &result in results {
            let setl_id = convert::setl_id_of(result);
            if pending_bills.contains(setl_id) {
                tx.commit().await.map_err(StoreError::from)?;
                Desk::apply_committed(&mut state, &mut last, &mut pending)?;
                pending_bills.clear();
                tx = self.store.begin().await?;
            }
            crate::record::record_result(&mut tx, result, &self.clock.now(), &self.tokens).await?;
            if let Some(event) = Desk::ledger_event(&state.book, result, today) {
                write(&mut tx, &mut last, std::slice::from_ref(&event), &self.recorded_at())
                    .await?;
                pending.push(event);
                pending_bills.insert(setl_id);
            }
        }
        tx.commit().await.map_err(StoreError::from)?;
        Desk::apply_committed(&mut state, &mut last, &mut pending)?;
        Ok(results
            .iter()
            .map(|result| {
                let setl_id = convert::setl_id_of(result);
                let id = if result.status == i32::from(SettleStatus::Reversed) {
                    format!("R:{setl_id}")
                } else {
                    format!("S:{setl_id}")
                };
                state.book.ledger().get(&id).map(|e| e.period)
            })
            .collect())
    }

    /// After a commit: the chain's new head, and the committed events into the book.
    fn apply_committed(
        state: &mut State,
        last: &mut Option<Record>,
        events: &mut Vec<Event>,
    ) -> Result<(), DeskError> {
        state.last.clone_from(last);
        for event in events.drain(..) {
            state.book.apply(event)?;
        }
        Ok(())
    }

    /// Compares an exchange's statement with the ledger and records the outcome.
    pub async fn reconcile(
        &self,
        period: Period,
        treatment: RegionCode,
        exchange: &std::collections::BTreeMap<RegionCode, yidi_clearing::reconcile::Totals>,
    ) -> Result<Event, DeskError> {
        let mut state = self.state.lock().await;
        let today = self.business_date(&state.book);
        let event = state.book.reconcile(period, treatment, exchange, today);
        self.commit(&mut state, vec![event.clone()]).await?;
        Ok(event)
    }

    pub async fn reconciliations(
        &self,
        period: Option<Period>,
    ) -> Vec<yidi_clearing::book::Reconciliation> {
        let state = self.state.lock().await;
        state
            .book
            .reconciliations()
            .filter(|r| period.is_none_or(|p| r.period == p))
            .cloned()
            .collect()
    }

    /// Runs a command against the book; the event is stored, applied, and the calendar run
    /// again for today (a payment can lift a suspension at once). Returns the command's event
    /// (none for a replay) and what the calendar decided after it.
    pub async fn command<F>(&self, decide: F) -> Result<(Option<Event>, Vec<Event>), DeskError>
    where
        F: FnOnce(&Book, NaiveDate) -> Result<Option<Event>, ClearingError>,
    {
        match self.command_once(None, decide).await? {
            Commanded::Decided(event, after) => Ok((event, after)),
            Commanded::Repeated(event) => Ok((event, Vec::new())),
        }
    }

    /// [`Desk::command`] under an admin call's idempotency key: the first call's event is
    /// recorded with the key in the same transaction; a repeat with the same key and request
    /// gets that event again and changes nothing; the same key with a different request is
    /// refused (`STO_03`). Money recorded twice by a retried call is impossible.
    pub async fn command_once<F>(
        &self,
        once: Option<&Once>,
        decide: F,
    ) -> Result<Commanded, DeskError>
    where
        F: FnOnce(&Book, NaiveDate) -> Result<Option<Event>, ClearingError>,
    {
        let mut state = self.state.lock().await;
        if let Some(once) = once {
            let mut tx = self.store.begin().await?;
            let seen = inbox::check(&mut tx, &once.inbox_key(), &once.request_hash).await?;
            drop(tx);
            if let inbox::Seen::Answered(first) = seen {
                return Ok(Commanded::Repeated(serde_json::from_slice(&first)?));
            }
        }
        let today = self.business_date(&state.book);
        let event = decide(&state.book, today)?;
        let answer = serde_json::to_vec(&event)?;
        let events: Vec<Event> = event.iter().cloned().collect();
        self.commit_once(&mut state, events, once.map(|once| (once, answer.as_slice()))).await?;
        let mut after = Vec::new();
        if event.is_some() {
            state.ticked = state.ticked.map(|t| t.pred_opt().unwrap_or(t));
            after = self.tick_locked(&mut state).await?;
        }
        Ok(Commanded::Decided(event, after))
    }

    /// Asks the exchanges for their statements of `period` again.
    pub async fn request_statements(&self, period: Period) -> Result<bool, DeskError> {
        let Some(statements) = self.statements.lock().ok().and_then(|slot| slot.clone()) else {
            return Ok(false);
        };
        let mut tx = self.store.begin().await?;
        let at = self.recorded_at();
        for message in statements.requests(period) {
            Outbox::put(&mut tx, &message, &at).await?;
        }
        tx.commit().await.map_err(StoreError::from)?;
        statements.outbox.wake();
        Ok(true)
    }

    // ---- views ----------------------------------------------------------------------------

    pub async fn overdue(&self) -> (NaiveDate, Vec<Overdue>) {
        let state = self.state.lock().await;
        let today = self.business_date(&state.book);
        (today, state.book.overdue(today))
    }

    /// The state of every round.
    pub async fn round_states(&self) -> Vec<yidi_clearing::round::RoundState> {
        self.state.lock().await.book.rounds().map(|round| round.state()).collect()
    }

    pub async fn positions(&self, period: Period) -> Option<Positions> {
        self.state.lock().await.book.positions(period)
    }

    pub async fn periods(&self) -> Vec<Period> {
        self.state.lock().await.book.rounds().map(|r| r.period).collect()
    }

    pub async fn notice(&self, period: Period, province: RegionCode) -> Option<Notice> {
        self.state.lock().await.book.notice(period, province)
    }

    pub async fn prepayments(&self) -> Vec<Prepayment> {
        let state = self.state.lock().await;
        state.book.prepayments(self.business_date(&state.book))
    }

    /// Fines on institutions, newest first, each with its withdrawal if one was decided.
    pub async fn fines(&self) -> Vec<FineView> {
        let state = self.state.lock().await;
        let mut fines: Vec<FineView> = state
            .book
            .ledger()
            .fines()
            .into_iter()
            .map(|(fine, withdrawn)| FineView {
                fine_id: fine.id.trim_start_matches("F:").to_owned(),
                setl_id: fine.setl_id.clone(),
                treatment: fine.treatment.to_string(),
                insured: fine.insured.to_string(),
                amount: fine.funds.total().to_string(),
                reason: fine.reason.clone(),
                posted_on: fine.posted_on.to_string(),
                withdrawn: withdrawn.map(|w| format!("{}: {}", w.posted_on, w.reason)),
            })
            .collect();
        fines.reverse();
        fines
    }

    pub async fn transitions(&self) -> Vec<Transition> {
        self.state.lock().await.book.transitions().to_vec()
    }

    /// Posted bills (count and advance) for the conservation check.
    pub async fn ledger_bills(&self) -> (usize, Amount, usize) {
        let state = self.state.lock().await;
        let (n, funds) = state.book.settled_bills();
        (n, funds.total(), state.book.ledger().entries().len())
    }

    /// The log as stored, checked: with `full`, the whole chain verified and every event
    /// replayed into a fresh book; otherwise the records written since start-up (the rest was
    /// verified and replayed then, and the database refuses edits), which must continue the
    /// chain and end where the running book's last record does.
    async fn check_log(
        &self,
        full: bool,
        settings: &Settings,
        last: Option<&Record>,
    ) -> Result<String, String> {
        if full {
            let records = read_log(&self.store).await.map_err(|e| e.to_string())?;
            replay(settings, &records).map_err(|e| e.to_string())?;
            return Ok(format!("all {} records verified and replayed", records.len()));
        }
        let (prev_hash, from) = match &self.verified_at_start {
            Some(r) => (r.hash.clone(), r.seq),
            None => (chain::GENESIS.to_owned(), 0),
        };
        // Re-read the start-up anchor too: it must still be what was verified.
        let records = read_log_from(&self.store, from.max(1)).await.map_err(|e| e.to_string())?;
        let (anchor, new) = match (&self.verified_at_start, records.split_first()) {
            (Some(start), Some((first, rest))) => {
                if first != start {
                    return Err(format!("record #{} changed since start-up", start.seq));
                }
                (Some(first), rest)
            }
            (Some(start), None) => return Err(format!("record #{} is gone", start.seq)),
            (None, _) => (None, records.as_slice()),
        };
        chain::verify_from(&prev_hash, from + 1, new).map_err(|e| e.to_string())?;
        let tail = new.last().or(anchor);
        if tail.map(|r| &r.hash) != last.map(|r| &r.hash) {
            return Err("the stored log does not end where the hub's book does".to_owned());
        }
        Ok(format!(
            "{} records: {} verified and replayed at start-up, {} written since and verified",
            tail.map_or(0, |r| r.seq),
            from,
            new.len()
        ))
    }

    /// The conservation checks of the dashboard: the log's chain, the ledger's trial balance,
    /// each round's zero sum, and ledger = settled bills. `full` re-reads and replays the whole
    /// log (start-up does it; `/api/checks?full=true` asks for it).
    ///
    /// One consistent snapshot: the settled bills are read while the desk's lock is held, and
    /// results are recorded (table, ledger and book) only under that lock, so the table and
    /// the book are compared at one moment. Read apart, they flapped red under ordinary load
    /// (a bill committed to the table but not yet applied to the book), and an operator who
    /// sees a false red learns to ignore the real one.
    pub async fn checks(&self, full: bool) -> Vec<Check> {
        let mut checks = Vec::new();
        // Read before the desk's lock: it reads only tables the desk does not write.
        let daily = self.daily_reconciliation().await;
        let state = self.state.lock().await;
        let settled = crate::record::settled_advance(&self.store).await;
        checks.push(match self.check_log(full, &state.book.settings, state.last.as_ref()).await {
            Ok(detail) => Check { name: "log_chain", ok: true, detail },
            Err(e) => Check { name: "log_chain", ok: false, detail: e },
        });
        checks.push(match state.book.ledger().trial_balance() {
            Ok(receivable) => Check {
                name: "trial_balance",
                ok: true,
                detail: format!("receivables {} = payables", receivable.total()),
            },
            Err(e) => Check { name: "trial_balance", ok: false, detail: e.to_string() },
        });
        let mut unbalanced = Vec::new();
        for round in state.book.rounds() {
            if let Some(p) = state.book.positions(round.period) {
                if !p.net_sum.is_zero() {
                    unbalanced.push(format!("{}: {}", p.period, p.net_sum));
                }
            }
        }
        checks.push(Check {
            name: "period_zero_sum",
            ok: unbalanced.is_empty(),
            detail: if unbalanced.is_empty() {
                format!("net positions sum to 0.00 in all {} rounds", state.book.rounds().count())
            } else {
                unbalanced.join(", ")
            },
        });
        let (n, funds) = state.book.settled_bills();
        checks.push(match settled {
            Ok((count, total)) => Check {
                name: "ledger_equals_settled_bills",
                ok: count == n && total == funds.total(),
                detail: format!(
                    "ledger {n} bills, {}; settled bills {count}, {total}",
                    funds.total()
                ),
            },
            Err(e) => {
                Check { name: "ledger_equals_settled_bills", ok: false, detail: e.to_string() }
            }
        });
        checks.push(match daily {
            Ok(pairs) => {
                let (ok, detail) = crate::daily::check(&pairs);
                Check { name: "daily_reconciliation", ok, detail }
            }
            Err(e) => Check { name: "daily_reconciliation", ok: false, detail: e.to_string() },
        });
        checks
    }
}

/// Where statement requests go: the outbox, to these treatment provinces' exchanges.
#[derive(Clone)]
struct Statements {
    outbox: Outbox,
    treatment: Vec<RegionCode>,
    served: Vec<RegionCode>,
}

impl Statements {
    /// One request a treatment province, for `period`.
    fn requests(&self, period: Period) -> Vec<yidi_bus::Outgoing> {
        self.treatment
            .iter()
            .map(|t| {
                let ask = yidi_wire::v1::StatementRequest {
                    setlym: period.to_string(),
                    clr_optins: t.to_string(),
                };
                yidi_bus::Outgoing::new(
                    yidi_bus::topics::exchange_statements(t.as_str()),
                    &ask.setlym,
                    "yidi.v1.StatementRequest",
                    &ask,
                    yidi_wire::codec::ContentType::Protobuf,
                )
                .with_header(yidi_wire::headers::RECEIVER, t.as_str())
            })
            .collect()
    }
}

/// An admin call's idempotency key (the `Idempotency-Key` header) and the hash of the call.
#[derive(Clone, Debug)]
pub struct Once {
    pub key: String,
    pub request_hash: String,
}

impl Once {
    /// Keys live in the hub's inbox beside message ids, under their own prefix.
    fn inbox_key(&self) -> String {
        format!("admin:{}", self.key)
    }
}

/// What a command came to.
#[derive(Debug)]
pub enum Commanded {
    /// Decided now: the command's event (none when it changes nothing) and what the calendar
    /// decided after it.
    Decided(Option<Event>, Vec<Event>),
    /// A repeat of an earlier call under the same key: its event.
    Repeated(Option<Event>),
}

/// A fine as the dashboard lists it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct FineView {
    pub fine_id: String,
    pub setl_id: String,
    /// The province of the fined institution, which owes the fine.
    pub treatment: String,
    pub insured: String,
    pub amount: String,
    /// The article and the finding.
    pub reason: String,
    pub posted_on: String,
    /// When and by which decision it was withdrawn, if it was.
    pub withdrawn: Option<String>,
}
