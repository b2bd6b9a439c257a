//! Seeded simulation of insured persons and discharge bills.
//!
//! Everything is drawn from one seed, so a demo, a benchmark or a failing test can be
//! replayed exactly. Proportions are realistic rather than sourced: most people are filed
//! (domain.md §6: ~90 % of cross-province inpatient episodes settle directly), a few are
//! suspended, a few bills carry codes the treatment-place catalogue does not know
//! (domain.md §7.4), and hospital levels lean to level 3 as cross-province inpatients do.
//!
//! # Layout
//! - [`Simulator`]: the random source and the draws of persons, filings and bills.
//! - [`registry`]: the deterministic sample persons agencies seed.
//! - [`his`]: discharge bills as a hospital information system sends them.

pub mod his;
pub mod hospitals;
pub mod registry;

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use yidi_domain::catalogue::{Catalogue, Quantity, UnitPrice};
use yidi_domain::claim::{Accumulators, BenefitStatus, BillLine, Claim, Flags, Person};
use yidi_domain::filing::FilingClass;
use yidi_domain::ids::{HospitalLevel, Scheme};
use yidi_domain::money::Amount;
use yidi_domain::policy::Policy;
use yidi_formats::catalogue_file::TreatmentCatalogue;
use yidi_formats::QuoteCase;

/// Draws persons, filings and bills from one seed.
pub struct Simulator {
    rng: fastrand::Rng,
    /// Each person's last discharge billed: a person's next stay begins no earlier, as a
    /// real person's does (the insured place refuses a stay sharing nights with a settled
    /// one). One entry per person billed, so bounded by the registry's size.
    discharges:
        std::collections::HashMap<(yidi_domain::ids::RegionCode, u64), chrono::NaiveDateTime>,
    /// The earliest a stay of a person not billed yet may begin (`stays_begin_after`).
    floor: Option<chrono::NaiveDateTime>,
}

/// Chooses from weighted options; weights are small integers.
fn weighted<T: Copy>(rng: &mut fastrand::Rng, options: &[(T, u32)]) -> Option<T> {
    let total: u32 = options.iter().map(|(_, weight)| weight).sum();
    let mut pick = rng.u32(0..total.max(1));
    for (option, weight) in options {
        if pick < *weight {
            return Some(*option);
        }
        pick -= weight;
    }
    options.last().map(|(option, _)| *option)
}

/// Yuan from fen.
fn yuan(fen: i64) -> Decimal {
    Decimal::new(fen, 2)
}

impl Simulator {
    pub fn new(seed: u64) -> Simulator {
        Simulator {
            rng: fastrand::Rng::with_seed(seed),
            discharges: Default::default(),
            floor: None,
        }
    }

    /// The same, for a network that may have settled this registry's persons before (an
    /// earlier run of the load generator on the same databases): every stay begins no earlier
    /// than `floor`, after any stay billed before it, so that none shares a night with a
    /// settled one and is refused as paid already.
    pub fn stays_begin_after(self, floor: chrono::NaiveDateTime) -> Simulator {
        Simulator { floor: Some(floor), ..self }
    }

    /// The admission of person `index` of `insured`'s stay that would begin at `wanted` and end
    /// at `discharge`: not before their last discharge billed (a same-day transfer at the
    /// latest), which becomes `discharge`.
    pub(crate) fn admission_after_last_stay(
        &mut self,
        person: (yidi_domain::ids::RegionCode, u64),
        wanted: chrono::NaiveDateTime,
        discharge: chrono::NaiveDateTime,
    ) -> chrono::NaiveDateTime {
        let last = self.discharges.insert(person, discharge).or(self.floor);
        last.map_or(wanted, |last| wanted.max(last).min(discharge))
    }

    /// A number in `range`, for callers that need more draws from the same seed.
    pub fn below(&mut self, bound: u64) -> u64 {
        self.rng.u64(0..bound.max(1))
    }

    /// True with `percent` % probability.
    pub fn chance(&mut self, percent: u32) -> bool {
        self.rng.u32(0..100) < percent
    }

    /// The person as the insured place knows them.
    pub fn person(&mut self, scheme: Scheme) -> Person {
        let employee = scheme == Scheme::Employee;
        let use_account = employee && self.chance(65);
        Person {
            retiree: employee && self.chance(30),
            assistance_eligible: self.chance(if employee { 4 } else { 12 }),
            benefit_status: if self.chance(3) {
                BenefitStatus::Suspended
            } else {
                BenefitStatus::Active
            },
            use_account,
            account_balance: if employee {
                Amount::round2(yuan(self.rng.i64(0..800_000)))
            } else {
                Amount::ZERO
            },
            // No draws for these: the cases drawn before them stay the same.
            contribution_tier: None,
            large_amount_contributor: true,
        }
    }

    /// The filing class in force at settlement.
    pub fn filing(&mut self) -> Option<FilingClass> {
        weighted(
            &mut self.rng,
            &[
                (Some(FilingClass::LongTerm), 45),
                (Some(FilingClass::Referral), 15),
                (Some(FilingClass::Emergency), 10),
                (Some(FilingClass::OtherTemporary), 18),
                (None, 12),
            ],
        )
        .flatten()
    }

    pub fn hospital_level(&mut self) -> HospitalLevel {
        weighted(
            &mut self.rng,
            &[(HospitalLevel::One, 8), (HospitalLevel::Two, 32), (HospitalLevel::Three, 60)],
        )
        .unwrap_or(HospitalLevel::Three)
    }

    /// Year-to-date accumulators: most people have little; a few are near their caps.
    pub fn ytd(&mut self, policy: &Policy) -> Accumulators {
        let admissions =
            weighted(&mut self.rng, &[(0, 55), (1, 25), (2, 12), (3, 5), (6, 3)]).unwrap_or(0);
        if admissions == 0 {
            return Accumulators::default();
        }
        let cap_fen = i64::try_from(policy.annual_cap.value().mantissa()).unwrap_or(0);
        let pool_fen = if self.chance(4) {
            cap_fen - self.rng.i64(0..(cap_fen / 20).max(1))
        } else {
            self.rng.i64(0..(cap_fen / 10).max(1))
        };
        let near_cap = pool_fen > cap_fen * 9 / 10;
        let pool_paid =
            Amount::round2(Decimal::new(pool_fen.max(0), policy.annual_cap.value().scale()));
        Accumulators {
            admissions,
            pool_paid,
            // What the person bore of the in-scope expense, as if the fund had paid 80 %
            // (derived, not drawn, so that the cases drawn after stay the same).
            inscp_selfborne: Amount::round2(pool_paid.value() / Decimal::from(4)),
            catastrophic_paid: if near_cap {
                Amount::round2(yuan(self.rng.i64(0..5_000_000)))
            } else {
                Amount::ZERO
            },
            assistance_paid: Amount::ZERO,
        }
    }

    /// The fee lines of one inpatient stay in a treatment place. Everyday items (beds,
    /// nursing, tests, common drugs) dominate; a few lines are costly procedures, devices or
    /// drugs; a few carry the hospital's own code, which the catalogue does not know.
    pub fn lines(&mut self, treatment: &TreatmentCatalogue) -> Vec<BillLine> {
        let priced: Vec<(&String, &Decimal)> = treatment.typical_prices.iter().collect();
        if priced.is_empty() {
            return Vec::new();
        }
        let days = self.rng.u32(3..16);
        let count = self.rng.usize(6..30);
        let mut lines = Vec::with_capacity(count + 1);
        for _ in 0..count {
            let (code, price) = self.pick(&priced);
            let quantity = self.quantity(code, *price, days);
            lines.extend(line(code, quantity, *price));
        }
        if self.chance(8) {
            let code = format!("HOSP-LOCAL-{:04}", self.rng.u32(0..10_000));
            lines.extend(line(&code, Decimal::ONE, yuan(self.rng.i64(500..80_000))));
        }
        lines
    }

    /// Draws an item, keeping the cheaper of two draws most of the time: bills are mostly
    /// everyday items.
    fn pick<'c>(&mut self, priced: &[(&'c String, &'c Decimal)]) -> (&'c String, &'c Decimal) {
        let first = priced[self.rng.usize(0..priced.len())];
        let second = priced[self.rng.usize(0..priced.len())];
        let cheaper = if first.1 <= second.1 { first } else { second };
        if self.chance(80) {
            cheaper
        } else {
            first
        }
    }

    /// Procedures and costly devices once, beds and nursing per day, drugs per dose with
    /// fewer doses of costly ones.
    fn quantity(&mut self, code: &str, price: Decimal, days: u32) -> Decimal {
        let costly = |limit: i64| price >= Decimal::from(limit);
        let count = match code.chars().next() {
            Some('0') if costly(500) => 1,
            Some('0') => self.rng.u32(1..=days),
            Some('C') if costly(1000) => 1,
            Some('C') => self.rng.u32(1..5),
            _ if costly(500) => self.rng.u32(1..4),
            _ if costly(50) => self.rng.u32(1..=days),
            _ => self.rng.u32(1..(3 * days + 2)),
        };
        Decimal::from(count)
    }

    /// A whole case: a person of `policy`'s region and scheme treated in `treatment`, with
    /// the catalogue items the bill uses.
    pub fn case(&mut self, policy: &Policy, treatment: &TreatmentCatalogue) -> QuoteCase {
        let lines = self.lines(treatment);
        let used: BTreeMap<String, _> = lines
            .iter()
            .filter_map(|line| {
                treatment.catalogue.item(&line.code).map(|item| (line.code.clone(), item.clone()))
            })
            .collect();
        let claim = Claim {
            person: self.person(policy.scheme),
            filing: self.filing(),
            hospital_level: self.hospital_level(),
            ytd: self.ytd(policy),
            lines,
            // The art. 30 flags added later (public health, abroad, the third party's status)
            // are left unset, so that a seed draws the same cases as before.
            flags: Flags {
                work_injury: self.chance(1),
                third_party: self.chance(2),
                ..Flags::default()
            },
        };
        let catalogue = Catalogue { version: treatment.catalogue.version.clone(), items: used };
        QuoteCase { policy: policy.clone(), catalogue, claim }
    }
}

/// A bill line; simulated values stay far inside the domain bounds, and one that does not
/// is left out rather than sent.
fn line(code: &str, quantity: Decimal, unit_price: Decimal) -> Option<BillLine> {
    Some(BillLine {
        code: code.to_owned(),
        quantity: Quantity::new(quantity).ok()?,
        unit_price: UnitPrice::new(unit_price.round_dp(2)).ok()?,
    })
}
