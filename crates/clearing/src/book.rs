//! The clearing book: ledger, rounds, payments, prepayments and the escalation ladder as one
//! state that only [`Event`]s change.
//!
//! Commands (`post_*`, `deduct`, `confirm`, `pay`, `top_up`, `advance`) validate against the
//! state and return the event without applying it; the caller persists it, then [`Book::apply`]s
//! it. [`Book::tick`] runs the calendar for one business day and applies what it decides
//! (notices, final positions, ladder steps); it is idempotent. Replaying the stored events
//! through `apply` rebuilds the book and re-checks every invariant on the way.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use yidi_domain::ids::RegionCode;
use yidi_domain::money::Amount;

use crate::calendar::Calendar;
use crate::error::ClearingError;
use crate::funds::{Fund, Funds};
use crate::ledger::{Entry, Ledger};
use crate::netting::{Netting, PairObligation};
use crate::overdue::{self, Ladder, Level};
use crate::period::Period;
use crate::prepay::{self, PrepayFirst, PrepaySettings, Sizing, Usage};
use crate::reconcile::{self, Mismatch, Row, Totals};
use crate::round::{Confirmation, Notice, Payment, Round, RoundState};

/// The clearing settings (domain.md §5.3), all with defaults.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    pub calendar: Calendar,
    pub prepay: PrepaySettings,
    pub ladder: Ladder,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    Posted {
        entry: Entry,
    },
    RoundGenerated {
        #[serde(with = "crate::text::period")]
        period: Period,
        on: NaiveDate,
        confirm_by: NaiveDate,
        pay_by: NaiveDate,
        /// The entry ids the notices cover.
        entries: Vec<String>,
    },
    Confirmed {
        #[serde(with = "crate::text::period")]
        period: Period,
        #[serde(with = "crate::text::region")]
        province: RegionCode,
        on: NaiveDate,
        disputed: Vec<String>,
    },
    RoundFinal {
        #[serde(with = "crate::text::period")]
        period: Period,
        on: NaiveDate,
        /// Disputed bills, carried to the next round.
        carried: Vec<String>,
        /// What was settled first against prepayments (issue #13 §6; none in rounds made
        /// final before it).
        #[serde(default, skip_serializing_if = "PrepayFirst::is_empty")]
        prepay: PrepayFirst,
    },
    Paid {
        #[serde(with = "crate::text::period")]
        period: Period,
        #[serde(with = "crate::text::region")]
        province: RegionCode,
        #[serde(with = "crate::text::amount")]
        amount: Amount,
        on: NaiveDate,
        reference: String,
    },
    /// The year's prepayment of a pair, sized once (issue #13 §6): what the insured province
    /// pays the treatment province ahead, and rounds are settled against first.
    PrepaymentSized {
        #[serde(with = "crate::text::region")]
        insured: RegionCode,
        #[serde(with = "crate::text::region")]
        treatment: RegionCode,
        year: i32,
        #[serde(with = "crate::text::amount")]
        amount: Amount,
        basis: String,
        #[serde(with = "crate::text::amount")]
        monthly_average: Amount,
        on: NaiveDate,
    },
    TopUp {
        #[serde(with = "crate::text::region")]
        insured: RegionCode,
        #[serde(with = "crate::text::region")]
        treatment: RegionCode,
        year: i32,
        #[serde(with = "crate::text::amount")]
        amount: Amount,
        on: NaiveDate,
    },
    Transition {
        #[serde(with = "crate::text::region")]
        province: RegionCode,
        from: Level,
        to: Level,
        on: NaiveDate,
        reason: String,
    },
    ClockAdvanced {
        days: i64,
        today: NaiveDate,
    },
    /// A treatment province's statement compared with the ledger (the latest one counts).
    Reconciled {
        #[serde(with = "crate::text::period")]
        period: Period,
        #[serde(with = "crate::text::region")]
        treatment: RegionCode,
        on: NaiveDate,
        rows: Vec<Row>,
        mismatches: Vec<Mismatch>,
    },
}

impl Event {
    /// The record kind in the event log.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::Posted { .. } => "posted",
            Event::RoundGenerated { .. } => "round_generated",
            Event::Confirmed { .. } => "confirmed",
            Event::RoundFinal { .. } => "round_final",
            Event::Paid { .. } => "paid",
            Event::PrepaymentSized { .. } => "prepayment_sized",
            Event::TopUp { .. } => "top_up",
            Event::Transition { .. } => "transition",
            Event::ClockAdvanced { .. } => "clock_advanced",
            Event::Reconciled { .. } => "reconciled",
        }
    }
}

/// What a withdrawal's decision must say.
const WITHDRAWAL_NEEDS: &str = "a withdrawal needs its decision and reason";

/// A new ledger entry as an event, decided only once its decision's `reason` is given
/// (`needs` says what it must say).
fn with_reason(
    reason: &str,
    needs: &str,
    entry: impl FnOnce() -> Result<Option<Entry>, ClearingError>,
) -> Result<Option<Event>, ClearingError> {
    if reason.trim().is_empty() {
        return Err(ClearingError::Invalid(needs.into()));
    }
    Ok(entry()?.map(|entry| Event::Posted { entry }))
}

/// A recorded step on the ladder.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Transition {
    #[serde(with = "crate::text::region")]
    pub province: RegionCode,
    pub from: Level,
    pub to: Level,
    pub on: NaiveDate,
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct TopUp {
    insured: RegionCode,
    treatment: RegionCode,
    year: i32,
    amount: Amount,
}

/// One round's debt of one province.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RoundDebt {
    #[serde(with = "crate::text::period")]
    pub period: Period,
    pub pay_by: NaiveDate,
    #[serde(with = "crate::text::amount")]
    pub due: Amount,
    #[serde(with = "crate::text::amount")]
    pub paid: Amount,
    #[serde(with = "crate::text::amount")]
    pub outstanding: Amount,
    pub days_past_due: i64,
    #[serde(with = "crate::text::amount")]
    pub interest: Amount,
}

/// A province's overdue clearing funds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Overdue {
    #[serde(with = "crate::text::region")]
    pub province: RegionCode,
    pub level: Level,
    pub since: Option<NaiveDate>,
    pub reason: String,
    /// Past due and unpaid.
    #[serde(with = "crate::text::amount")]
    pub overdue: Amount,
    /// Owed in final rounds, due or not.
    #[serde(with = "crate::text::amount")]
    pub outstanding: Amount,
    /// Overdue amounts by days past due: 1–30, 31–60, 61–90, over 90.
    #[serde(serialize_with = "amounts")]
    pub aging: [Amount; 4],
    #[serde(with = "crate::text::amount")]
    pub interest: Amount,
    pub days_past_due: i64,
    pub rounds: Vec<RoundDebt>,
}

fn amounts<S: serde::Serializer>(values: &[Amount; 4], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(values.iter().map(|a| a.to_string()))
}

/// A round as the dashboard lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Positions {
    #[serde(with = "crate::text::period")]
    pub period: Period,
    pub state: RoundState,
    pub generated_on: NaiveDate,
    pub confirm_by: NaiveDate,
    pub pay_by: NaiveDate,
    pub final_on: Option<NaiveDate>,
    /// Who owes whom (the matrix), undisputed entries only.
    pub pairs: Vec<PairObligation>,
    pub netting: Netting,
    /// Σ of net positions: zero, or the books are wrong.
    #[serde(with = "crate::text::amount")]
    pub net_sum: Amount,
    pub bills: usize,
    pub disputed: Vec<String>,
    pub confirmed: Vec<String>,
    /// What was settled first against prepayments when the round became final.
    pub prepay: PrepayFirst,
    /// What the round clears, fund by fund under its national code (seed 004 art. 44: the
    /// employees' and residents' pooled funds, the layers, assistance and the personal
    /// account are accounted apart).
    pub by_fund: Vec<FundLine>,
}

/// One fund's part of a round.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FundLine {
    /// National `fund_pay_type`.
    pub fund_pay_type: &'static str,
    /// The fund's name in the ledger's accounts.
    pub field: &'static str,
    pub name: &'static str,
    #[serde(with = "crate::text::amount")]
    pub amount: Amount,
}

impl FundLine {
    /// Every fund of `funds`; the merged pooled fund of old entries only when it holds
    /// something.
    pub fn all(funds: &Funds) -> Vec<FundLine> {
        funds
            .iter()
            .filter(|(fund, amount)| *fund != Fund::Hifp || !amount.is_zero())
            .map(|(fund, amount)| FundLine {
                fund_pay_type: fund.code(),
                field: fund.field(),
                name: fund.name(),
                amount,
            })
            .collect()
    }
}

/// Prepayment of one insured → treatment pair.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Prepayment {
    #[serde(with = "crate::text::region")]
    pub insured: RegionCode,
    #[serde(with = "crate::text::region")]
    pub treatment: RegionCode,
    pub year: i32,
    pub sizing: Sizing,
    #[serde(with = "crate::text::amount")]
    pub topped_up: Amount,
    #[serde(with = "crate::text::amount")]
    pub prepaid: Amount,
    /// Advanced by the treatment province and not yet cleared.
    #[serde(with = "crate::text::amount")]
    pub outstanding: Amount,
    #[serde(flatten)]
    pub usage: Usage,
    /// Taken by the year's final rounds, settled first against it (issue #13 §6).
    #[serde(with = "crate::text::amount")]
    pub drawn: Amount,
    /// Given back by the insured province's payments of those rounds.
    #[serde(with = "crate::text::amount")]
    pub refilled: Amount,
    /// What it holds now: prepaid − drawn + refilled.
    #[serde(with = "crate::text::amount")]
    pub balance: Amount,
}

#[derive(Clone, Debug, Default)]
pub struct Book {
    pub settings: Settings,
    ledger: Ledger,
    /// Per ledger entry: the round that covers it.
    assigned: Vec<Option<Period>>,
    rounds: BTreeMap<Period, Round>,
    topups: Vec<TopUp>,
    /// The prepayments sized so far, by pair and year.
    sized: BTreeMap<(RegionCode, RegionCode, i32), Sizing>,
    /// Every pair the ledger has an entry of.
    pairs: BTreeSet<(RegionCode, RegionCode)>,
    levels: BTreeMap<RegionCode, (Level, NaiveDate, String)>,
    transitions: Vec<Transition>,
    clock_days: i64,
    reconciliations: BTreeMap<(Period, RegionCode), Reconciliation>,
}

/// The latest reconciliation of a period with one treatment province.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Reconciliation {
    #[serde(with = "crate::text::period")]
    pub period: Period,
    #[serde(with = "crate::text::region")]
    pub treatment: RegionCode,
    pub on: NaiveDate,
    pub balanced: bool,
    pub rows: Vec<Row>,
    pub mismatches: Vec<Mismatch>,
}

impl Book {
    pub fn new(settings: Settings) -> Book {
        Book { settings, ..Book::default() }
    }

    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    pub fn rounds(&self) -> impl Iterator<Item = &Round> {
        self.rounds.values()
    }

    pub fn round(&self, period: Period) -> Option<&Round> {
        self.rounds.get(&period)
    }

    pub fn transitions(&self) -> &[Transition] {
        &self.transitions
    }

    /// Days the business clock has been advanced in all.
    pub fn clock_days(&self) -> i64 {
        self.clock_days
    }

    pub fn level(&self, province: RegionCode) -> Level {
        self.levels.get(&province).map(|(l, _, _)| *l).unwrap_or_default()
    }

    /// Provinces whose direct settlement is suspended now.
    pub fn suspended(&self) -> BTreeSet<RegionCode> {
        self.levels
            .iter()
            .filter(|(_, (l, _, _))| *l == Level::Suspended)
            .map(|(p, _)| *p)
            .collect()
    }

    // ---- commands -------------------------------------------------------------------------

    pub fn post_settlement(
        &self,
        setl_id: &str,
        insured: RegionCode,
        treatment: RegionCode,
        funds: Funds,
        today: NaiveDate,
    ) -> Result<Option<Event>, ClearingError> {
        Ok(self
            .ledger
            .settlement(setl_id, insured, treatment, funds, today)?
            .map(|entry| Event::Posted { entry }))
    }

    pub fn post_reversal(
        &self,
        setl_id: &str,
        today: NaiveDate,
        reason: &str,
    ) -> Result<Option<Event>, ClearingError> {
        Ok(self.ledger.reversal(setl_id, today, reason)?.map(|entry| Event::Posted { entry }))
    }

    pub fn deduct(
        &self,
        deduction_id: &str,
        setl_id: &str,
        amount: Amount,
        reason: &str,
        today: NaiveDate,
    ) -> Result<Option<Event>, ClearingError> {
        with_reason(reason, "a deduction needs a reason", || {
            self.ledger.deduction(deduction_id, setl_id, amount, today, reason)
        })
    }

    /// Seed 004 art. 49: a fine on the institution behind a bill, up to five times what
    /// deductions recovered from it, owed by the treatment province to the insured one.
    pub fn fine(
        &self,
        fine_id: &str,
        setl_id: &str,
        amount: Amount,
        reason: &str,
        today: NaiveDate,
    ) -> Result<Option<Event>, ClearingError> {
        with_reason(reason, "a fine needs its article and finding", || {
            self.ledger.fine(fine_id, setl_id, amount, today, reason)
        })
    }

    /// Withdraws deduction `deduction_id` by a later decision: the bill owes again what it
    /// took, in the next round. Nothing when it is withdrawn already.
    pub fn withdraw_deduction(
        &self,
        deduction_id: &str,
        reason: &str,
        today: NaiveDate,
    ) -> Result<Option<Event>, ClearingError> {
        with_reason(reason, WITHDRAWAL_NEEDS, || {
            self.ledger.withdraw_deduction(deduction_id, today, reason)
        })
    }

    /// Withdraws fine `fine_id` by a later decision: what it took is owed back in the next
    /// round. Nothing when it is withdrawn already.
    pub fn withdraw_fine(
        &self,
        fine_id: &str,
        reason: &str,
        today: NaiveDate,
    ) -> Result<Option<Event>, ClearingError> {
        with_reason(reason, WITHDRAWAL_NEEDS, || self.ledger.withdraw_fine(fine_id, today, reason))
    }

    pub fn confirm(
        &self,
        period: Period,
        province: RegionCode,
        disputed: Vec<String>,
        today: NaiveDate,
    ) -> Result<Event, ClearingError> {
        let event = Event::Confirmed { period, province: province.province(), on: today, disputed };
        self.validate(&event)?;
        Ok(event)
    }

    pub fn pay(
        &self,
        period: Period,
        province: RegionCode,
        amount: Amount,
        reference: &str,
        today: NaiveDate,
    ) -> Result<Event, ClearingError> {
        let event = Event::Paid {
            period,
            province: province.province(),
            amount,
            on: today,
            reference: reference.to_owned(),
        };
        self.validate(&event)?;
        Ok(event)
    }

    pub fn top_up(
        &self,
        insured: RegionCode,
        treatment: RegionCode,
        amount: Amount,
        today: NaiveDate,
    ) -> Result<Event, ClearingError> {
        let event = Event::TopUp {
            insured: insured.province(),
            treatment: treatment.province(),
            year: Period::of(today).year,
            amount,
            on: today,
        };
        self.validate(&event)?;
        Ok(event)
    }

    pub fn advance(&self, days: i64, today: NaiveDate) -> Result<Event, ClearingError> {
        let event = Event::ClockAdvanced { days, today };
        self.validate(&event)?;
        Ok(event)
    }

    // ---- the calendar ---------------------------------------------------------------------

    /// Runs business day `today`: generates due notices, makes rounds final after their
    /// confirmation deadline (unconfirmed notices are deemed accepted [I]), and moves
    /// provinces on the ladder. Applies and returns what it decided.
    pub fn tick(&mut self, today: NaiveDate) -> Result<Vec<Event>, ClearingError> {
        let mut events = Vec::new();
        if let Some(first) = self.ledger.entries().iter().map(|e| e.period).min() {
            let mut period = first;
            while self.settings.calendar.generate_on(period) <= today {
                if !self.rounds.contains_key(&period) {
                    let (confirm_by, pay_by) = self.settings.calendar.deadlines(today);
                    let entries = self
                        .unassigned(period)
                        .map(|i| self.ledger.entries()[i].id.clone())
                        .collect();
                    events.push(Event::RoundGenerated {
                        period,
                        on: today,
                        confirm_by,
                        pay_by,
                        entries,
                    });
                    self.apply_last(&events)?;
                }
                period = period.next();
            }
        }
        for event in self.size_prepayments(today) {
            events.push(event);
            self.apply_last(&events)?;
        }
        let closing: Vec<(Period, Vec<String>)> = self
            .rounds
            .values()
            .filter(|r| r.final_on.is_none())
            .filter(|r| {
                today > r.confirm_by
                    || r.debtors(&self.ledger).iter().all(|p| r.confirmations.contains_key(p))
            })
            .map(|r| (r.period, r.disputed().into_iter().map(str::to_owned).collect()))
            .collect();
        for (period, carried) in closing {
            let prepay = self.settle_first(period, today);
            events.push(Event::RoundFinal { period, on: today, carried, prepay });
            self.apply_last(&events)?;
        }
        for (province, to, reason) in self.ladder_steps(today) {
            let from = self.level(province);
            events.push(Event::Transition { province, from, to, on: today, reason });
            self.apply_last(&events)?;
        }
        Ok(events)
    }

    fn apply_last(&mut self, events: &[Event]) -> Result<(), ClearingError> {
        match events.last() {
            Some(event) => self.apply(event.clone()),
            None => Ok(()),
        }
    }

    fn unassigned(&self, period: Period) -> impl Iterator<Item = usize> + '_ {
        self.assigned
            .iter()
            .enumerate()
            .filter(move |(i, a)| a.is_none() && self.ledger.entries()[*i].period <= period)
            .map(|(i, _)| i)
    }

    /// Where each province should stand on the ladder today, where that differs from where it
    /// stands.
    fn ladder_steps(&self, today: NaiveDate) -> Vec<(RegionCode, Level, String)> {
        let mut provinces: BTreeSet<RegionCode> = self.levels.keys().copied().collect();
        for round in self.rounds.values() {
            provinces.extend(round.debtors_due().into_iter().map(|(p, _)| p));
        }
        let ladder = &self.settings.ladder;
        provinces
            .into_iter()
            .filter_map(|province| {
                let oldest = self
                    .rounds
                    .values()
                    .filter(|r| r.final_on.is_some())
                    .filter(|r| !r.outstanding(province).is_zero())
                    .map(|r| (overdue::days_past(r.pay_by, today), r))
                    .filter(|(days, _)| *days > 0)
                    .max_by_key(|(days, _)| *days);
                let target = oldest.map(|(days, _)| ladder.level(days)).unwrap_or_default();
                if target == self.level(province) {
                    return None;
                }
                let reason = match oldest {
                    Some((days, round)) => {
                        let overdue: Amount = self
                            .rounds
                            .values()
                            .filter(|r| {
                                r.final_on.is_some() && overdue::days_past(r.pay_by, today) > 0
                            })
                            .map(|r| r.outstanding(province))
                            .sum();
                        let step = match target {
                            Level::Suspended => {
                                format!("suspension at {} days", ladder.suspend_after_days)
                            }
                            Level::Warning => format!("warning at {} days", ladder.warn_after_days),
                            Level::Reminder => {
                                format!("reminder at {} day(s)", ladder.remind_after_days)
                            }
                            Level::Normal => "below every step".to_owned(),
                        };
                        format!(
                            "{overdue} overdue; round {} due {} is {days} days past due ({step})",
                            round.period, round.pay_by
                        )
                    }
                    None => "paid: nothing overdue".to_owned(),
                };
                Some((province, target, reason))
            })
            .collect()
    }

    // ---- events ---------------------------------------------------------------------------

    /// Checks that an event fits the book, without changing it.
    pub fn validate(&self, event: &Event) -> Result<(), ClearingError> {
        match event {
            Event::Posted { entry } => {
                // The entry's own checks run in `Ledger::append` (on apply) and when a command
                // builds it; here, only what the book adds.
                if self.ledger.contains(&entry.id) {
                    return Err(ClearingError::Replay(format!("entry {} posted twice", entry.id)));
                }
                Ok(())
            }
            Event::RoundGenerated { period, entries, .. } => {
                self.validate_generated(period, entries)
            }
            Event::Confirmed { period, province, disputed, .. } => {
                self.validate_confirmed(period, province, disputed)
            }
            Event::RoundFinal { period, carried, prepay, .. } => {
                prepay.check().map_err(ClearingError::Invalid)?;
                self.validate_final(period, carried)
            }
            Event::Paid { period, province, amount, .. } => {
                self.validate_paid(period, province, amount)
            }
            Event::TopUp { insured, treatment, amount, .. } => {
                if amount.is_negative() || amount.is_zero() {
                    return Err(ClearingError::NotPositive(amount.to_string()));
                }
                if insured.same_province(*treatment) {
                    return Err(ClearingError::SameProvince(format!("{insured}→{treatment}")));
                }
                Ok(())
            }
            Event::PrepaymentSized { insured, treatment, year, amount, .. } => {
                if amount.is_negative() || insured.same_province(*treatment) {
                    return Err(ClearingError::Invalid(format!(
                        "prepayment {insured}→{treatment} of {amount}"
                    )));
                }
                if self.sized.contains_key(&(*insured, *treatment, *year)) {
                    return Err(ClearingError::Replay(format!(
                        "prepayment {insured}→{treatment} of {year} sized twice"
                    )));
                }
                Ok(())
            }
            Event::Transition { .. } | Event::Reconciled { .. } => Ok(()),
            Event::ClockAdvanced { days, .. } => {
                if *days < 0 {
                    return Err(ClearingError::Invalid(
                        "the business clock does not go back".into(),
                    ));
                }
                Ok(())
            }
        }
    }

    /// A round covers exactly the entries the ledger holds uncleared for its period, once.
    fn validate_generated(&self, period: &Period, entries: &[String]) -> Result<(), ClearingError> {
        if self.rounds.contains_key(period) {
            return Err(ClearingError::Replay(format!("round {period} generated twice")));
        }
        let expected: Vec<&str> =
            self.unassigned(*period).map(|i| self.ledger.entries()[i].id.as_str()).collect();
        if expected != entries.iter().map(String::as_str).collect::<Vec<_>>() {
            return Err(ClearingError::Replay(format!(
                "round {period} covers other entries than the ledger holds uncleared"
            )));
        }
        Ok(())
    }

    /// A province confirms an open round once, disputing only bills it owes in it.
    fn validate_confirmed(
        &self,
        period: &Period,
        province: &RegionCode,
        disputed: &[String],
    ) -> Result<(), ClearingError> {
        let round = self.open_round(*period)?;
        if round.confirmations.contains_key(province) {
            return Err(ClearingError::AlreadyConfirmed {
                period: period.to_string(),
                province: province.to_string(),
            });
        }
        for setl_id in disputed {
            let owed_by_province = round
                .entries
                .iter()
                .filter_map(|&i| self.ledger.entry(i))
                .any(|e| e.setl_id == *setl_id && e.insured == *province);
            if !owed_by_province {
                return Err(ClearingError::NotDisputable {
                    setl_id: setl_id.clone(),
                    province: province.to_string(),
                    period: period.to_string(),
                });
            }
        }
        Ok(())
    }

    /// A round is made final carrying exactly its disputed bills.
    fn validate_final(&self, period: &Period, carried: &[String]) -> Result<(), ClearingError> {
        let round = self.open_round(*period)?;
        let disputed: Vec<&str> = round.disputed().into_iter().collect();
        if disputed != carried.iter().map(String::as_str).collect::<Vec<_>>() {
            return Err(ClearingError::Replay(format!(
                "round {period} carries other bills than disputed"
            )));
        }
        Ok(())
    }

    /// A payment is positive, into a final round, and no more than the province owes in it.
    fn validate_paid(
        &self,
        period: &Period,
        province: &RegionCode,
        amount: &Amount,
    ) -> Result<(), ClearingError> {
        let round = self
            .rounds
            .get(period)
            .ok_or_else(|| ClearingError::UnknownRound(period.to_string()))?;
        if round.final_on.is_none() {
            return Err(ClearingError::RoundOpen(period.to_string()));
        }
        if amount.is_negative() || amount.is_zero() {
            return Err(ClearingError::NotPositive(amount.to_string()));
        }
        let owed = round.outstanding(*province);
        if *amount > owed {
            return Err(ClearingError::Overpayment {
                province: province.to_string(),
                period: period.to_string(),
                owed: owed.to_string(),
                paid: amount.to_string(),
            });
        }
        Ok(())
    }

    fn open_round(&self, period: Period) -> Result<&Round, ClearingError> {
        let round = self
            .rounds
            .get(&period)
            .ok_or_else(|| ClearingError::UnknownRound(period.to_string()))?;
        if round.final_on.is_some() {
            return Err(ClearingError::RoundFinal(period.to_string()));
        }
        Ok(round)
    }

    /// Validates and applies an event.
    pub fn apply(&mut self, event: Event) -> Result<(), ClearingError> {
        self.validate(&event)?;
        match event {
            Event::Posted { entry } => {
                self.pairs.insert((entry.insured, entry.treatment));
                self.ledger.append(entry)?;
                self.assigned.push(None);
            }
            Event::PrepaymentSized {
                insured,
                treatment,
                year,
                amount,
                basis,
                monthly_average,
                ..
            } => {
                let sizing = Sizing { amount, basis: prepay::basis(&basis), monthly_average };
                self.sized.insert((insured, treatment, year), sizing);
            }
            Event::RoundGenerated { period, on, confirm_by, pay_by, .. } => {
                self.generate(period, on, (confirm_by, pay_by));
            }
            Event::Confirmed { period, province, on, disputed } => {
                if let Some(round) = self.rounds.get_mut(&period) {
                    round.confirmations.insert(
                        province,
                        Confirmation { on, disputed: disputed.into_iter().collect() },
                    );
                }
            }
            Event::RoundFinal { period, on, carried, prepay } => {
                self.make_final(period, on, carried, prepay);
            }
            Event::Paid { period, province, amount, on, reference } => {
                if let Some(round) = self.rounds.get_mut(&period) {
                    round.payments.push(Payment { province, amount, on, reference });
                }
            }
            Event::TopUp { insured, treatment, year, amount, .. } => {
                self.topups.push(TopUp { insured, treatment, year, amount });
            }
            Event::Transition { province, from, to, on, reason } => {
                self.levels.insert(province, (to, on, reason.clone()));
                self.transitions.push(Transition { province, from, to, on, reason });
            }
            Event::ClockAdvanced { days, .. } => {
                self.clock_days += days;
            }
            Event::Reconciled { period, treatment, on, rows, mismatches } => {
                let balanced = mismatches.is_empty();
                self.reconciliations.insert(
                    (period, treatment),
                    Reconciliation { period, treatment, on, balanced, rows, mismatches },
                );
            }
        }
        Ok(())
    }

    /// Opens round `period` on the entries no round has yet, with its deadlines.
    fn generate(
        &mut self,
        period: Period,
        on: NaiveDate,
        (confirm_by, pay_by): (NaiveDate, NaiveDate),
    ) {
        let entries: Vec<usize> = self.unassigned(period).collect();
        for &i in &entries {
            self.assigned[i] = Some(period);
        }
        let round = Round {
            period,
            generated_on: on,
            confirm_by,
            pay_by,
            entries,
            confirmations: BTreeMap::new(),
            final_on: None,
            payments: Vec::new(),
            final_netting: None,
            final_pairs: None,
            prepay: PrepayFirst::default(),
        };
        self.rounds.insert(period, round);
    }

    /// Freezes a round's positions and sends its disputed bills back to the ledger's
    /// uncleared entries, for the next round.
    fn make_final(
        &mut self,
        period: Period,
        on: NaiveDate,
        carried: Vec<String>,
        prepay: PrepayFirst,
    ) {
        let Some(round) = self.rounds.get_mut(&period) else { return };
        round.prepay = prepay;
        round.final_netting = Some(round.netting(&self.ledger));
        round.final_pairs = Some((round.obligations(&self.ledger), round.bill_count(&self.ledger)));
        round.final_on = Some(on);
        let carried: BTreeSet<String> = carried.into_iter().collect();
        for &i in &round.entries {
            if self.ledger.entry(i).is_some_and(|e| carried.contains(&e.setl_id)) {
                self.assigned[i] = None;
            }
        }
    }

    /// Compares an exchange's statement of `period` with what the ledger posted in that period
    /// for bills treated in `treatment` (settlements and reversals; audit deductions are the
    /// supervisors', not the hospitals').
    pub fn reconcile(
        &self,
        period: Period,
        treatment: RegionCode,
        exchange: &BTreeMap<RegionCode, Totals>,
        today: NaiveDate,
    ) -> Event {
        let treatment = treatment.province();
        let mut hub: BTreeMap<RegionCode, Totals> = BTreeMap::new();
        for entry in
            self.ledger.entries().iter().filter(|e| e.period == period && e.treatment == treatment)
        {
            let t = hub.entry(entry.insured).or_default();
            // The hospital's view of a reversal is the bill as settled, whatever an audit
            // deducted from it since.
            let funds = match entry.kind {
                crate::ledger::EntryKind::Reversal => {
                    self.ledger.bill(&entry.setl_id).map_or(entry.funds, |b| b.settled)
                }
                _ => entry.funds,
            };
            let fund = funds.total() - funds.get(crate::funds::Fund::Acct);
            let acct = funds.get(crate::funds::Fund::Acct);
            match entry.kind {
                crate::ledger::EntryKind::Settlement => {
                    t.settled += 1;
                    t.fund_pay_sumamt = t.fund_pay_sumamt + fund;
                    t.acct_pay = t.acct_pay + acct;
                    t.setl_ids.insert(entry.setl_id.clone());
                }
                crate::ledger::EntryKind::Reversal => {
                    t.reversed += 1;
                    t.refd_fund_pay_sumamt = t.refd_fund_pay_sumamt + fund;
                    t.refd_acct_pay = t.refd_acct_pay + acct;
                    t.refd_setl_ids.insert(entry.setl_id.clone());
                }
                crate::ledger::EntryKind::Deduction
                | crate::ledger::EntryKind::Fine
                | crate::ledger::EntryKind::FineWithdrawn
                | crate::ledger::EntryKind::DeductionWithdrawn => {}
            }
        }
        let (rows, mismatches) = reconcile::compare(&hub, exchange);
        Event::Reconciled { period, treatment, on: today, rows, mismatches }
    }

    pub fn reconciliations(&self) -> impl Iterator<Item = &Reconciliation> {
        self.reconciliations.values()
    }

    // ---- views ----------------------------------------------------------------------------

    pub fn positions(&self, period: Period) -> Option<Positions> {
        let round = self.rounds.get(&period)?;
        let netting = round.netting(&self.ledger);
        let net_sum = netting.net.values().copied().sum();
        Some(Positions {
            period,
            state: round.state(),
            generated_on: round.generated_on,
            confirm_by: round.confirm_by,
            pay_by: round.pay_by,
            final_on: round.final_on,
            pairs: round.obligations(&self.ledger),
            netting,
            net_sum,
            bills: round
                .included(&self.ledger)
                .map(|e| e.setl_id.as_str())
                .collect::<BTreeSet<_>>()
                .len(),
            disputed: round.disputed().into_iter().map(str::to_owned).collect(),
            confirmed: round.confirmations.keys().map(|p| p.to_string()).collect(),
            prepay: round.prepay.clone(),
            by_fund: FundLine::all(
                &round
                    .included(&self.ledger)
                    .fold(Funds::ZERO, |sum, entry| sum.plus(&entry.obligation())),
            ),
        })
    }

    pub fn notice(&self, period: Period, province: RegionCode) -> Option<Notice> {
        Some(self.rounds.get(&period)?.notice(province.province(), &self.ledger))
    }

    /// Overdue funds of every province that has owed something in a final round or stands
    /// on the ladder.
    pub fn overdue(&self, today: NaiveDate) -> Vec<Overdue> {
        let mut provinces: BTreeSet<RegionCode> = self.levels.keys().copied().collect();
        for round in self.rounds.values() {
            provinces.extend(round.debtors(&self.ledger));
        }
        provinces.into_iter().map(|p| self.overdue_of(p, today)).collect()
    }

    pub fn overdue_of(&self, province: RegionCode, today: NaiveDate) -> Overdue {
        let rate = self.settings.ladder.interest_rate.unwrap_or(Decimal::ZERO);
        let mut rounds = Vec::new();
        let mut aging = [Amount::ZERO; 4];
        for round in self.rounds.values().filter(|r| r.final_on.is_some()) {
            let due = round.due(province);
            if due.is_zero() {
                continue;
            }
            let paid = round.paid(province);
            let outstanding = due.saturating_sub(paid);
            let days =
                if outstanding.is_zero() { 0 } else { overdue::days_past(round.pay_by, today) };
            if let Some(b) = overdue::bucket(days) {
                aging[b] = aging[b] + outstanding;
            }
            let payments: Vec<(NaiveDate, Amount)> = round
                .payments
                .iter()
                .filter(|p| p.province == province)
                .map(|p| (p.on, p.amount))
                .collect();
            let interest = overdue::interest(due, round.pay_by, &payments, today, rate);
            rounds.push(RoundDebt {
                period: round.period,
                pay_by: round.pay_by,
                due,
                paid,
                outstanding,
                days_past_due: days,
                interest,
            });
        }
        let (level, since, reason) = self
            .levels
            .get(&province)
            .map(|(l, on, why)| (*l, Some(*on), why.clone()))
            .unwrap_or((Level::Normal, None, String::new()));
        Overdue {
            province,
            level,
            since,
            reason,
            overdue: aging.iter().copied().sum(),
            outstanding: rounds.iter().map(|r| r.outstanding).sum(),
            aging,
            interest: rounds.iter().map(|r| r.interest).sum(),
            days_past_due: rounds.iter().map(|r| r.days_past_due).max().unwrap_or(0),
            rounds,
        }
    }

    /// Prepayment and its usage for every pair the ledger has seen, in `today`'s year.
    pub fn prepayments(&self, today: NaiveDate) -> Vec<Prepayment> {
        let current = Period::of(today);
        let mut outstanding: BTreeMap<(RegionCode, RegionCode), Amount> = BTreeMap::new();
        let cleared: BTreeSet<(Period, RegionCode)> = self
            .rounds
            .values()
            .filter(|r| r.final_on.is_some())
            .flat_map(|r| {
                r.debtors(&self.ledger)
                    .into_iter()
                    .filter(|p| r.outstanding(*p).is_zero())
                    .map(move |p| (r.period, p))
            })
            .collect();
        let draws = self.draws_in(current.year);
        for (entry, assigned) in self.ledger.entries().iter().zip(&self.assigned) {
            let settled = assigned.is_some_and(|p| cleared.contains(&(p, entry.insured)));
            let left = outstanding.entry((entry.insured, entry.treatment)).or_default();
            if !settled {
                *left = *left + entry.obligation().total();
            }
        }
        self.monthly()
            .into_iter()
            .map(|((insured, treatment), months)| {
                // The year's sizing as recorded; sized on the spot for a pair the calendar has
                // not sized yet (a view between a posting and the next tick).
                let sizing = match self.sized.get(&(insured, treatment, current.year)) {
                    Some(sizing) => sizing.clone(),
                    None => prepay::size(&self.settings.prepay, &months, current.year, current),
                };
                let topped_up: Amount = self
                    .topups
                    .iter()
                    .filter(|t| {
                        (t.insured, t.treatment, t.year) == (insured, treatment, current.year)
                    })
                    .map(|t| t.amount)
                    .sum();
                let prepaid = sizing.amount + topped_up;
                let left = outstanding.get(&(insured, treatment)).copied().unwrap_or_default();
                let left = if left.is_negative() { Amount::ZERO } else { left };
                let (drawn, refilled) =
                    draws.get(&(insured, treatment)).copied().unwrap_or_default();
                Prepayment {
                    insured,
                    treatment,
                    year: current.year,
                    usage: prepay::usage(&self.settings.prepay, prepaid, left),
                    sizing,
                    topped_up,
                    prepaid,
                    outstanding: left,
                    drawn,
                    refilled,
                    balance: prepaid - drawn + refilled,
                }
            })
            .collect()
    }

    /// Sizes the year's prepayment of every pair that has none yet, from the months recorded
    /// so far (once a year: the amount then stands, and top-ups add to it).
    fn size_prepayments(&self, today: NaiveDate) -> Vec<Event> {
        let year = today.year();
        let unsized_pairs: Vec<(RegionCode, RegionCode)> = self
            .pairs
            .iter()
            .filter(|(insured, treatment)| !self.sized.contains_key(&(*insured, *treatment, year)))
            .copied()
            .collect();
        if unsized_pairs.is_empty() {
            return Vec::new();
        }
        let monthly = self.monthly();
        let current = Period::of(today);
        unsized_pairs
            .into_iter()
            .map(|(insured, treatment)| {
                let months = monthly.get(&(insured, treatment)).cloned().unwrap_or_default();
                let sizing = prepay::size(&self.settings.prepay, &months, year, current);
                Event::PrepaymentSized {
                    insured,
                    treatment,
                    year,
                    amount: sizing.amount,
                    basis: sizing.basis.to_owned(),
                    monthly_average: sizing.monthly_average,
                    on: today,
                }
            })
            .collect()
    }

    /// What each pair's entries owed, month by month.
    fn monthly(&self) -> BTreeMap<(RegionCode, RegionCode), BTreeMap<Period, Amount>> {
        let mut monthly: BTreeMap<(RegionCode, RegionCode), BTreeMap<Period, Amount>> =
            BTreeMap::new();
        for entry in self.ledger.entries() {
            let month = monthly
                .entry((entry.insured, entry.treatment))
                .or_default()
                .entry(entry.period)
                .or_default();
            *month = *month + entry.obligation().total();
        }
        monthly
    }

    /// Per pair, what the final rounds of `year` drew from its prepayment and what the
    /// insured province's payments of those rounds refilled.
    fn draws_in(&self, year: i32) -> BTreeMap<(RegionCode, RegionCode), (Amount, Amount)> {
        let mut draws: BTreeMap<(RegionCode, RegionCode), (Amount, Amount)> = BTreeMap::new();
        for round in self.rounds.values().filter(|r| r.final_on.is_some_and(|on| on.year() == year))
        {
            for draw in &round.prepay.draws {
                let pair = draws.entry((draw.insured, draw.treatment)).or_default();
                pair.0 = pair.0 + draw.amount;
            }
            let debtors: BTreeSet<RegionCode> =
                round.prepay.draws.iter().map(|draw| draw.insured).collect();
            for debtor in debtors {
                for refill in round.prepay.refills(debtor, round.paid(debtor)) {
                    let pair = draws.entry((refill.insured, refill.treatment)).or_default();
                    pair.1 = pair.1 + refill.amount;
                }
            }
        }
        draws
    }

    /// Settles round `period` first against prepayments, as they stand on `today`.
    fn settle_first(&self, period: Period, today: NaiveDate) -> PrepayFirst {
        let Some(round) = self.rounds.get(&period) else { return PrepayFirst::default() };
        let pairs = round.obligations(&self.ledger);
        let netting = crate::netting::net(&pairs);
        let balances = self
            .prepayments(today)
            .into_iter()
            .map(|p| ((p.insured, p.treatment), p.balance))
            .collect();
        prepay::settle_first(&pairs, &netting.net, &balances)
    }

    /// Count and advance of the settled, unreversed bills in the ledger, per fund: what the
    /// hub's table of settled bills must agree with.
    pub fn settled_bills(&self) -> (usize, Funds) {
        self.ledger
            .bills()
            .filter(|b| !b.reversed)
            .fold((0, Funds::ZERO), |(n, total), b| (n + 1, total.plus(&b.settled)))
    }
}
