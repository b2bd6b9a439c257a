//! Benefit status, each test naming the article of seed 000 / 004 it encodes.

use std::collections::BTreeSet;

use chrono::NaiveDate;

use super::*;

fn day(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

fn months(from: Month, count: i64) -> BTreeSet<Month> {
    (0..count).map(|offset| from.plus(offset)).collect()
}

fn employee(category: Category, enrolled_on: &str, paid: i64) -> Registration {
    let enrolled_on = day(enrolled_on);
    Registration {
        category,
        enrolled_on,
        paid_months: months(Month::of(enrolled_on), paid),
        paid_years: Vec::new(),
        paused_on: None,
    }
}

fn resident(category: Category, paid_years: &[(i32, &str)]) -> Registration {
    Registration {
        category,
        enrolled_on: day("2020-01-01"),
        paid_months: BTreeSet::new(),
        paid_years: paid_years.iter().map(|(year, paid_on)| (*year, day(paid_on))).collect(),
        paused_on: None,
    }
}

fn reason(registration: &Registration, on: &str) -> Option<SuspensionReason> {
    decide(registration, &BenefitRules::default(), day(on)).reason
}

#[test]
fn employees_draw_benefits_from_the_month_they_pay() {
    // Seed 004 art. 17: "Employers received basic health insurance treatment from the paying
    // period".
    let paid = employee(Category::Employed, "2026-01-01", 12);
    assert_eq!(
        decide(&paid, &BenefitRules::default(), day("2026-01-20")).status,
        BenefitStatus::Active
    );
    assert_eq!(reason(&paid, "2025-12-31"), Some(SuspensionReason::NotYetEnrolled));
}

#[test]
fn contributions_in_arrears_suspend_benefits_until_paid() {
    // Seed 000 §2: "suspend their basic medical insurance benefits until they pay the arrears".
    let mut registration = employee(Category::Employed, "2026-01-01", 3);
    // January–March paid; April is due by the end of May.
    assert_eq!(reason(&registration, "2026-05-31"), None);
    assert_eq!(
        reason(&registration, "2026-06-01"),
        Some(SuspensionReason::ContributionArrears {
            first_unpaid: Month { year: 2026, month: 4 }
        })
    );
    registration.paid_months.extend(months(Month { year: 2026, month: 4 }, 2));
    assert_eq!(reason(&registration, "2026-06-01"), None);
}

#[test]
fn flexible_workers_wait_six_months_from_their_first_contribution() {
    // Seed 004 art. 17: flexible employment personnel "receive basic health insurance
    // treatment for six months from contributions".
    let registration = employee(Category::FlexibleWorker, "2026-01-01", 12);
    assert_eq!(
        reason(&registration, "2026-06-30"),
        Some(SuspensionReason::WaitingPeriod { until: day("2026-07-01") })
    );
    assert_eq!(reason(&registration, "2026-07-01"), None);
}

#[test]
fn retirees_with_enough_years_keep_benefits_without_paying() {
    // Seed 004 art. 17: 25 years for men, 20 for women, at least 5 actually paid here.
    let retirement = Retirement {
        retired_on: day("2026-01-01"),
        female: false,
        contribution_years: 25,
        local_years: 5,
        lump_sum_paid: false,
    };
    let enough = employee(Category::Retiree(retirement), "2000-01-01", 312);
    assert_eq!(reason(&enough, "2030-06-01"), None);

    let short_man = Retirement { contribution_years: 22, ..retirement };
    let registration = employee(Category::Retiree(short_man), "2003-01-01", 276);
    assert_eq!(
        reason(&registration, "2026-06-01"),
        Some(SuspensionReason::RetirementYearsShort { years: 22, required: 25 })
    );
    let woman = Retirement { female: true, ..short_man };
    assert_eq!(reason(&employee(Category::Retiree(woman), "2003-01-01", 276), "2026-06-01"), None);
}

#[test]
fn a_lump_sum_at_retirement_restores_benefits() {
    // Seed 004 art. 17: "may be enjoyed after the payment of a lump-sum … at the time of
    // retirement".
    let short = Retirement {
        retired_on: day("2026-01-01"),
        female: false,
        contribution_years: 15,
        local_years: 15,
        lump_sum_paid: true,
    };
    assert_eq!(reason(&employee(Category::Retiree(short), "2011-01-01", 180), "2026-06-01"), None);
    let no_local =
        Retirement { contribution_years: 30, local_years: 3, lump_sum_paid: false, ..short };
    assert!(matches!(
        reason(&employee(Category::Retiree(no_local), "2023-01-01", 36), "2026-06-01"),
        Some(SuspensionReason::RetirementYearsShort { .. })
    ));
}

#[test]
fn residents_are_covered_january_to_december_for_the_year_they_paid() {
    // Seed 004 art. 14: residents pay for the next year from September to the end of December.
    let registration = resident(Category::Resident, &[(2026, "2025-11-20")]);
    assert_eq!(reason(&registration, "2026-01-01"), None);
    assert_eq!(reason(&registration, "2026-12-31"), None);
    assert_eq!(
        reason(&registration, "2027-01-01"),
        Some(SuspensionReason::CoverageYearUnpaid { coverage_year: 2027 })
    );
}

#[test]
fn students_are_covered_september_to_august() {
    // The school year: a student's coverage year runs from September to August.
    let registration = resident(Category::Student, &[(2026, "2026-06-15")]);
    assert_eq!(
        reason(&registration, "2026-08-31"),
        Some(SuspensionReason::CoverageYearUnpaid { coverage_year: 2025 })
    );
    assert_eq!(reason(&registration, "2026-09-01"), None);
    assert_eq!(reason(&registration, "2027-08-31"), None);
}

#[test]
fn a_resident_who_pays_late_waits_three_months() {
    // [R] 国办发〔2024〕38号: a break in coverage brings a waiting period.
    let registration = resident(Category::Resident, &[(2026, "2026-03-10")]);
    assert_eq!(
        reason(&registration, "2026-05-01"),
        Some(SuspensionReason::WaitingPeriod { until: day("2026-06-10") })
    );
    assert_eq!(reason(&registration, "2026-06-10"), None);
}

#[test]
fn paused_insurance_suspends_benefits() {
    // domain.md §7.3: 1101 `paus_insu_date` → "您的医保卡已暂停参保".
    let mut registration = employee(Category::Employed, "2020-01-01", 120);
    registration.paused_on = Some(day("2026-03-01"));
    assert_eq!(reason(&registration, "2026-02-28"), None);
    assert_eq!(reason(&registration, "2026-03-01"), Some(SuspensionReason::InsurancePaused));
}

#[test]
fn stored_payments_are_read_as_months_or_coverage_years() {
    let mut registration = resident(Category::Resident, &[]);
    assert!(registration.pay("2026-01", "2026-03", day("2026-01-05")));
    assert_eq!(registration.paid_months.len(), 3);
    assert!(registration.pay("2027", "2027", day("2026-10-01")));
    assert_eq!(registration.paid_years, vec![(2027, day("2026-10-01"))]);
    assert!(!registration.pay("2026-13", "2026-14", day("2026-01-05")));
    assert!(!registration.pay("x", "y", day("2026-01-05")));
}
