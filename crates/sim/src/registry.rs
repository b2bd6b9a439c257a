//! A deterministic sample registry: the insured persons an agency seeds itself with, and that
//! `yidi sample-bill` and the HIS simulator draw from. Person `index` of region `R` is always
//! the same person, so a bill made by one process finds its person in another.

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use rust_decimal::Decimal;
use yidi_domain::benefit::{Category, Registration, Retirement};
use yidi_domain::filing::{Filing, FilingType};
use yidi_domain::ids::{RegionCode, Scheme};
use yidi_domain::money::Amount;

/// The provinces with a treatment-place exchange in the demo network.
pub const TREATMENT_PROVINCES: [&str; 5] = ["440000", "310000", "110000", "330000", "120000"];

/// One sample person.
#[derive(Clone, Debug)]
pub struct SamplePerson {
    pub psn_no: String,
    pub region: RegionCode,
    pub scheme: Scheme,
    pub category: Category,
    pub enrolled_on: NaiveDate,
    /// Contribution ranges: `(first, last, paid_on)`, `yyyy-MM` for employees, `yyyy` for
    /// residents' coverage years.
    pub contributions: Vec<(String, String, NaiveDate)>,
    pub paused_on: Option<NaiveDate>,
    pub assistance_eligible: bool,
    pub account_balance: Amount,
    pub filings: Vec<SampleFiling>,
    /// An adult resident's contribution tier (seed 004 art. 14: 1 to 3, chosen freely).
    pub contribution_tier: Option<u8>,
    /// Paid the contributory large-amount layer (seed 004 art. 56): nineteen in twenty.
    pub large_amount_contributor: bool,
}

/// A filing the person made.
#[derive(Clone, Debug)]
pub struct SampleFiling {
    pub filing_id: String,
    pub filing_type: FilingType,
    pub target: RegionCode,
    pub begins_on: NaiveDate,
    pub ends_on: Option<NaiveDate>,
    pub filed_at: NaiveDateTime,
}

impl SamplePerson {
    /// The person's registration, as the agency's registry holds it.
    pub fn registration(&self) -> Registration {
        let mut registration = Registration {
            category: self.category,
            enrolled_on: self.enrolled_on,
            paid_months: std::collections::BTreeSet::new(),
            paid_years: Vec::new(),
            paused_on: self.paused_on,
        };
        for (first, last, paid_on) in &self.contributions {
            registration.pay(first, last, *paid_on);
        }
        registration
    }

    /// The person's filings as domain records.
    pub fn domain_filings(&self) -> Vec<Filing> {
        self.filings
            .iter()
            .map(|filing| Filing {
                id: filing.filing_id.clone(),
                person: self.psn_no.clone(),
                insured_region: self.region,
                filing_type: filing.filing_type,
                target: filing.target,
                begins_on: filing.begins_on,
                ends_on: filing.ends_on,
                filed_at: filing.filed_at,
                revoked_at: None,
            })
            .collect()
    }
}

/// The personal number of person `index` of `region`: 20 digits, region first.
pub fn psn_no(region: RegionCode, index: u64) -> String {
    format!("{region}{index:014}")
}

/// The index back from a personal number, if it is a sample one of `region`.
pub fn index_of(region: RegionCode, psn_no: &str) -> Option<u64> {
    psn_no.strip_prefix(region.as_str())?.parse().ok()
}

fn day(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).unwrap_or(NaiveDate::MIN)
}

/// Person `index` of `region`, as of the business day `today`.
pub fn person(region: RegionCode, index: u64, today: NaiveDate) -> SamplePerson {
    let mut rng = fastrand::Rng::with_seed(
        u64::from(region.as_str().parse::<u32>().unwrap_or(0)) * 1_000_003 + index,
    );
    // Two in three are employees: cross-province inpatients are mostly retirees and workers.
    let scheme = if rng.u32(0..3) < 2 { Scheme::Employee } else { Scheme::Resident };
    let this_year = today.year();
    let enrolled_on = day(this_year - rng.i32(1..20), rng.u32(1..13), 1);
    let category = category(&mut rng, scheme, this_year);
    let suspended = rng.u32(0..100) < 4;
    let contributions = contributions(&mut rng, scheme, category, enrolled_on, today, suspended);
    let filings = filings(&mut rng, region, index, today);
    SamplePerson {
        psn_no: psn_no(region, index),
        region,
        scheme,
        category,
        enrolled_on,
        contributions,
        paused_on: if suspended && rng.bool() {
            Some(today - chrono::Days::new(rng.u64(1..200)))
        } else {
            None
        },
        assistance_eligible: rng.u32(0..100) < if scheme == Scheme::Resident { 12 } else { 4 },
        account_balance: if scheme == Scheme::Employee {
            Amount::round2(Decimal::new(rng.i64(0..1_200_000), 2))
        } else {
            Amount::ZERO
        },
        filings,
        // From the index, not drawn: the draws above, and so every person, stay the same.
        contribution_tier: match category {
            Category::Resident => u8::try_from(index % 3 + 1).ok(),
            _ => None,
        },
        large_amount_contributor: index % 20 != 7,
    }
}

fn category(rng: &mut fastrand::Rng, scheme: Scheme, this_year: i32) -> Category {
    match (scheme, rng.u32(0..10)) {
        (Scheme::Employee, 0..=3) => Category::Retiree(Retirement {
            retired_on: day(this_year - rng.i32(1..15), rng.u32(1..13), 1),
            female: rng.bool(),
            contribution_years: rng.u32(18..40),
            local_years: rng.u32(5..30),
            lump_sum_paid: rng.u32(0..10) < 8,
        }),
        (Scheme::Employee, 4) => Category::FlexibleWorker,
        (Scheme::Employee, _) => Category::Employed,
        (Scheme::Resident, 0..=2) => Category::Student,
        (Scheme::Resident, _) => Category::Resident,
    }
}

fn contributions(
    rng: &mut fastrand::Rng,
    scheme: Scheme,
    category: Category,
    enrolled_on: NaiveDate,
    today: NaiveDate,
    suspended: bool,
) -> Vec<(String, String, NaiveDate)> {
    let paid_on = enrolled_on;
    match scheme {
        Scheme::Employee => {
            // Paid up to this month; a suspended person stopped some months ago.
            let stop = if suspended { today - chrono::Months::new(rng.u32(3..12)) } else { today };
            let last =
                if matches!(category, Category::Retiree(_)) { stop.min(today) } else { stop };
            vec![(
                enrolled_on.format("%Y-%m").to_string(),
                last.format("%Y-%m").to_string(),
                paid_on,
            )]
        }
        Scheme::Resident => {
            // Coverage years up to the current one, each paid in the autumn before it begins.
            let last_year = if suspended { today.year() - 1 } else { today.year() + 1 };
            (enrolled_on.year()..=last_year)
                .map(|year| (year.to_string(), year.to_string(), day(year - 1, 10, 15)))
                .collect()
        }
    }
}

fn filings(
    rng: &mut fastrand::Rng,
    region: RegionCode,
    index: u64,
    today: NaiveDate,
) -> Vec<SampleFiling> {
    let targets: Vec<RegionCode> = TREATMENT_PROVINCES
        .iter()
        .filter_map(|code| code.parse::<RegionCode>().ok())
        .filter(|target| !target.same_province(region))
        .collect();
    let Some(target) = targets.get(rng.usize(0..targets.len().max(1))).copied() else {
        return Vec::new();
    };
    let filing_type = match rng.u32(0..100) {
        0..=19 => FilingType::ResettledRetiree,
        20..=34 => FilingType::LongTermResident,
        35..=44 => FilingType::PostedWorker,
        45..=59 => FilingType::Referral,
        60..=77 => FilingType::OtherTemporary,
        _ => return Vec::new(),
    };
    let begins_on = today - chrono::Days::new(rng.u64(10..700));
    let ends_on = if filing_type.is_long_term() {
        None
    } else {
        Some(begins_on + chrono::Months::new(6 + rng.u32(0..7)))
    };
    vec![SampleFiling {
        filing_id: format!("F{region}{index:010}"),
        filing_type,
        target,
        begins_on,
        ends_on,
        filed_at: begins_on.and_hms_opt(9, 30, 0).unwrap_or_default(),
    }]
}
