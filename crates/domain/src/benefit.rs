//! Benefit status: may this person draw medical-insurance benefits on a given day?
//!
//! Sources:
//! - seed 000 (basic medical insurance management): insured persons pay in full and on time;
//!   for those who do not, benefits are suspended until the arrears are paid;
//! - seed 004 (天津市基本医疗保险规定, 2012): art. 17 employees draw benefits from the month
//!   they pay; flexible workers six months after contributions start; retirees keep benefits
//!   without paying after 25 (men) / 20 (women) contribution years, at least 5 of them paid
//!   in the city, or after a lump-sum payment at retirement; art. 14 residents pay for the
//!   next year from September to December;
//! - the issue: students are covered September–August, other residents January–December.
//!
//! The decision is a pure function of the registration and the day asked about.

use std::collections::BTreeSet;

use chrono::{Datelike, NaiveDate};

use crate::claim::BenefitStatus;

/// A calendar month, for contributions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    pub year: i32,
    /// 1 to 12.
    pub month: u32,
}

impl Month {
    pub fn of(date: NaiveDate) -> Month {
        Month { year: date.year(), month: date.month() }
    }

    fn ordinal(self) -> i64 {
        i64::from(self.year) * 12 + i64::from(self.month) - 1
    }

    fn from_ordinal(ordinal: i64) -> Month {
        let year = i32::try_from(ordinal.div_euclid(12)).unwrap_or(i32::MAX);
        let month = u32::try_from(ordinal.rem_euclid(12) + 1).unwrap_or(1);
        Month { year, month }
    }

    pub fn plus(self, months: i64) -> Month {
        Month::from_ordinal(self.ordinal() + months)
    }
}

/// Who the person is for the scheme.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Category {
    /// An employee whose unit pays (art. 11).
    Employed,
    /// Self-employed or flexibly employed, paying alone (art. 13): six months' waiting.
    FlexibleWorker,
    /// A retired employee (art. 17).
    Retiree(Retirement),
    /// A student or child: coverage year September to August.
    Student,
    /// Any other resident: coverage year January to December.
    Resident,
}

/// What retirement benefits depend on (art. 17).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retirement {
    pub retired_on: NaiveDate,
    pub female: bool,
    /// Cumulative contribution years (deemed years included).
    pub contribution_years: u32,
    /// Years actually paid in this city.
    pub local_years: u32,
    /// The lump sum for missing years has been paid.
    pub lump_sum_paid: bool,
}

/// The registry record the decision reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registration {
    pub category: Category,
    pub enrolled_on: NaiveDate,
    /// Employees and flexible workers: months paid.
    pub paid_months: BTreeSet<Month>,
    /// Residents: coverage years paid (the year the coverage year starts in) with the day
    /// they were paid.
    pub paid_years: Vec<(i32, NaiveDate)>,
    /// NHSA `paus_insu_date`: insurance paused from this day.
    pub paused_on: Option<NaiveDate>,
}

/// The most months one payment record may cover: a working life. A longer range is a data
/// error, not a loop to run.
pub const PAID_MONTHS_MAX: u32 = 600;

impl Month {
    /// Parses `yyyy-MM`.
    pub fn parse(text: &str) -> Option<Month> {
        let (year, month) = text.split_once('-')?;
        let month: u32 = month.parse().ok()?;
        (1..=12).contains(&month).then_some(Month { year: year.parse().ok()?, month })
    }
}

impl Registration {
    /// Records a payment of months `first..=last` (employees and flexible workers).
    pub fn pay_months(&mut self, first: Month, last: Month) {
        let mut month = first;
        for _ in 0..PAID_MONTHS_MAX {
            if month > last {
                break;
            }
            self.paid_months.insert(month);
            month = month.plus(1);
        }
    }

    /// Records a payment of a resident's coverage year.
    pub fn pay_year(&mut self, coverage_year: i32, paid_on: NaiveDate) {
        self.paid_years.push((coverage_year, paid_on));
    }

    /// Records a stored payment: periods `yyyy-MM` (months) or `yyyy` (a coverage year).
    /// Returns false when the periods cannot be read.
    pub fn pay(&mut self, first: &str, last: &str, paid_on: NaiveDate) -> bool {
        match (Month::parse(first), Month::parse(last)) {
            (Some(first), Some(last)) => {
                self.pay_months(first, last);
                true
            }
            _ => match first.parse::<i32>() {
                Ok(year) if first == last => {
                    self.pay_year(year, paid_on);
                    true
                }
                _ => false,
            },
        }
    }
}

/// Configurable rules around the statutory ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BenefitRules {
    /// Flexible workers wait this many months after contributions start (art. 17: six).
    pub flexible_waiting_months: u32,
    /// A month's contribution is in arrears once this many further months have passed
    /// without payment [I]: 1 means it may be paid during the following month.
    pub arrears_grace_months: u32,
    /// Contribution years a retiree needs (art. 17: 25 for men, 20 for women, 5 local).
    pub retiree_years_male: u32,
    pub retiree_years_female: u32,
    pub retiree_local_years: u32,
    /// Residents who pay after the coverage year has begun wait this many months from
    /// payment ([R] 国办发〔2024〕38号: three).
    pub resident_late_waiting_months: u32,
}

impl Default for BenefitRules {
    fn default() -> BenefitRules {
        BenefitRules {
            flexible_waiting_months: 6,
            arrears_grace_months: 1,
            retiree_years_male: 25,
            retiree_years_female: 20,
            retiree_local_years: 5,
            resident_late_waiting_months: 3,
        }
    }
}

/// Why benefits are suspended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SuspensionReason {
    NotYetEnrolled,
    InsurancePaused,
    ContributionArrears { first_unpaid: Month },
    WaitingPeriod { until: NaiveDate },
    CoverageYearUnpaid { coverage_year: i32 },
    RetirementYearsShort { years: u32, required: u32 },
}

impl SuspensionReason {
    /// NHSA-style `trt_chk_rslt` text code.
    pub fn code(self) -> &'static str {
        match self {
            SuspensionReason::NotYetEnrolled => "not_enrolled",
            SuspensionReason::InsurancePaused => "insurance_paused",
            SuspensionReason::ContributionArrears { .. } => "contribution_arrears",
            SuspensionReason::WaitingPeriod { .. } => "waiting_period",
            SuspensionReason::CoverageYearUnpaid { .. } => "coverage_year_unpaid",
            SuspensionReason::RetirementYearsShort { .. } => "retirement_years_short",
        }
    }
}

/// The decision with its reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BenefitDecision {
    pub status: BenefitStatus,
    pub reason: Option<SuspensionReason>,
}

impl BenefitDecision {
    fn active() -> BenefitDecision {
        BenefitDecision { status: BenefitStatus::Active, reason: None }
    }

    fn suspended(reason: SuspensionReason) -> BenefitDecision {
        BenefitDecision { status: BenefitStatus::Suspended, reason: Some(reason) }
    }
}

/// Decides whether benefits may be drawn on `day`.
pub fn decide(
    registration: &Registration,
    rules: &BenefitRules,
    day: NaiveDate,
) -> BenefitDecision {
    if day < registration.enrolled_on {
        return BenefitDecision::suspended(SuspensionReason::NotYetEnrolled);
    }
    if registration.paused_on.is_some_and(|paused_on| paused_on <= day) {
        return BenefitDecision::suspended(SuspensionReason::InsurancePaused);
    }
    let reason = match registration.category {
        Category::Employed => employee_reason(registration, rules, day, 0),
        Category::FlexibleWorker => {
            employee_reason(registration, rules, day, rules.flexible_waiting_months)
        }
        Category::Retiree(retirement) => retiree_reason(registration, rules, &retirement, day),
        Category::Student => resident_reason(registration, rules, day, 9),
        Category::Resident => resident_reason(registration, rules, day, 1),
    };
    reason.map_or_else(BenefitDecision::active, BenefitDecision::suspended)
}

/// Employees draw benefits from the first month paid (plus the waiting months for flexible
/// workers), and lose them while a due month is unpaid.
fn employee_reason(
    registration: &Registration,
    rules: &BenefitRules,
    day: NaiveDate,
    waiting_months: u32,
) -> Option<SuspensionReason> {
    let Some(first_paid) = registration.paid_months.first().copied() else {
        return Some(SuspensionReason::ContributionArrears {
            first_unpaid: Month::of(registration.enrolled_on),
        });
    };
    let benefits_from = first_paid.plus(i64::from(waiting_months));
    if Month::of(day) < benefits_from {
        let until = NaiveDate::from_ymd_opt(benefits_from.year, benefits_from.month, 1)
            .unwrap_or(NaiveDate::MAX);
        return Some(SuspensionReason::WaitingPeriod { until });
    }
    first_arrear(registration, rules, Month::of(registration.enrolled_on), day)
        .map(|first_unpaid| SuspensionReason::ContributionArrears { first_unpaid })
}

/// The first month from `from` whose contribution is overdue on `day`, if any.
fn first_arrear(
    registration: &Registration,
    rules: &BenefitRules,
    from: Month,
    day: NaiveDate,
) -> Option<Month> {
    // Months up to this one must have been paid by `day`.
    let last_due = Month::of(day).plus(-1 - i64::from(rules.arrears_grace_months));
    let mut month = from;
    while month <= last_due {
        if !registration.paid_months.contains(&month) {
            return Some(month);
        }
        month = month.plus(1);
    }
    None
}

/// Retirees keep benefits without paying when they have the years, or paid the lump sum.
fn retiree_reason(
    registration: &Registration,
    rules: &BenefitRules,
    retirement: &Retirement,
    day: NaiveDate,
) -> Option<SuspensionReason> {
    if day < retirement.retired_on {
        return employee_reason(registration, rules, day, 0);
    }
    let required =
        if retirement.female { rules.retiree_years_female } else { rules.retiree_years_male };
    let enough = retirement.contribution_years >= required
        && retirement.local_years >= rules.retiree_local_years;
    if enough || retirement.lump_sum_paid {
        None
    } else {
        Some(SuspensionReason::RetirementYearsShort {
            years: retirement.contribution_years,
            required,
        })
    }
}

/// Residents are covered for a coverage year they paid for; starting in `first_month`
/// (September for students, January for others).
fn resident_reason(
    registration: &Registration,
    rules: &BenefitRules,
    day: NaiveDate,
    first_month: u32,
) -> Option<SuspensionReason> {
    let coverage_year = if day.month() >= first_month { day.year() } else { day.year() - 1 };
    let coverage_start =
        NaiveDate::from_ymd_opt(coverage_year, first_month, 1).unwrap_or(NaiveDate::MIN);
    let Some((_, paid_on)) =
        registration.paid_years.iter().find(|(year, _)| *year == coverage_year)
    else {
        return Some(SuspensionReason::CoverageYearUnpaid { coverage_year });
    };
    // Paid in time (before the coverage year began): covered from its first day.
    if *paid_on < coverage_start {
        return None;
    }
    let until = paid_on
        .checked_add_months(chrono::Months::new(rules.resident_late_waiting_months))
        .unwrap_or(NaiveDate::MAX);
    if day < until {
        Some(SuspensionReason::WaitingPeriod { until })
    } else {
        None
    }
}

#[cfg(test)]
mod tests;
