//! The rules a province checks first (issue #13), one test per rule, each naming where the
//! rule comes from: Social Insurance Law art. 30 (seed 000), the cross-province notice III(5)
//! (seed 003), the national limits on cross-province reductions (domain.md §4.2), policy
//! editions by admission date, and the national fund codes (domain.md §3).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests panic: a failure should stop with a backtrace.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use yidi_domain::catalogue::{Catalogue, CatalogueItem, ItemClass, Quantity, UnitPrice};
use yidi_domain::claim::{Accumulators, BenefitStatus, BillLine, Claim, Flags, Person, ThirdParty};
use yidi_domain::filing::{FilingClass, FilingRules};
use yidi_domain::ids::{HospitalLevel, Scheme};
use yidi_domain::money::{Amount, Ratio};
use yidi_domain::policy::{
    AdjustmentMode, Band, CatastrophicTerms, CrossProvince, FilingClassRow, InsuredRegion, Layer,
    LevelTerms, Policy, TierTerms,
};
use yidi_domain::settle::{settle, Outcome, RejectReason};

fn ratio(text: &str) -> Ratio {
    Ratio::new(text.parse().unwrap()).unwrap()
}

fn amount(text: &str) -> Amount {
    Amount::new(text.parse().unwrap()).unwrap()
}

fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

/// Tianjin's employee policy of `settlement.md` example 01.
fn tianjin(scheme: Scheme) -> Policy {
    let level = |first: &str, repeat: &str, pay: &str| LevelTerms {
        deductible_first: amount(first),
        deductible_repeat: amount(repeat),
        ratio: ratio(pay),
    };
    Policy {
        region: "120000".parse().unwrap(),
        scheme,
        version: "test".into(),
        levels: [
            level("800", "240", "0.85"),
            level("1100", "330", "0.85"),
            level("1700", "510", "0.8"),
        ],
        retiree_uplift: ratio("0.05"),
        annual_cap: amount("350000"),
        catastrophic: Layer { ratio: ratio("0.8"), cap: amount("400000") },
        assistance: Layer { ratio: ratio("0.7"), cap: amount("50000") },
        cross_province: CrossProvince {
            mode: AdjustmentMode::Points,
            long_term: ratio("0"),
            referral: ratio("0.1"),
            emergency: ratio("0.1"),
            other_temporary: ratio("0.2"),
            unfiled: ratio("0.2"),
            refuse_unfiled: false,
        },
        effective_from: None,
        segments: Default::default(),
        catastrophic_terms: CatastrophicTerms::default(),
        tiers: Vec::new(),
    }
}

fn catalogue() -> Catalogue {
    let mut catalogue = Catalogue::default();
    catalogue.items.insert("XA0101".into(), CatalogueItem { class: ItemClass::A, price_cap: None });
    catalogue
}

/// Ten days of an A-class item at 1,200 yuan: 12,000 in scope.
fn claim(filing: Option<FilingClass>, flags: Flags) -> Claim {
    Claim {
        person: Person {
            retiree: false,
            assistance_eligible: false,
            benefit_status: BenefitStatus::Active,
            use_account: false,
            account_balance: Amount::ZERO,
            contribution_tier: None,
            large_amount_contributor: true,
        },
        filing,
        hospital_level: HospitalLevel::One,
        ytd: Accumulators::default(),
        lines: vec![BillLine {
            code: "XA0101".into(),
            quantity: Quantity::new(Decimal::from(10)).unwrap(),
            unit_price: UnitPrice::new(Decimal::from(1200)).unwrap(),
        }],
        flags,
    }
}

fn outcome(policy: &Policy, claim: &Claim) -> Outcome {
    settle(claim, policy, &catalogue())
}

fn third_party(status: ThirdParty) -> Flags {
    Flags { third_party: true, third_party_status: status, ..Flags::default() }
}

#[test]
fn art_30_2_a_third_party_who_pays_is_refused() {
    let policy = tianjin(Scheme::Employee);
    let claim = claim(Some(FilingClass::Referral), third_party(ThirdParty::Paid));
    assert_eq!(outcome(&policy, &claim), Outcome::Rejected(RejectReason::ThirdPartyLiable));
    assert!(RejectReason::ThirdPartyLiable.citation().contains("art. 30(2)"));
}

#[test]
fn art_30_2_the_fund_advances_when_the_third_party_does_not_pay_or_is_unknown() {
    let policy = tianjin(Scheme::Employee);
    for status in [ThirdParty::Unpaid, ThirdParty::Unidentified, ThirdParty::Unstated] {
        let Outcome::Settled(settled) =
            outcome(&policy, &claim(Some(FilingClass::Referral), third_party(status)))
        else {
            panic!("{status:?} was refused");
        };
        assert!(settled.third_party_recovery, "{status:?}: the advance is to be recovered");
        assert!(!settled.fund_pay_sumamt.is_zero());
    }
}

#[test]
fn art_30_3_and_4_public_health_and_treatment_abroad_are_refused() {
    let policy = tianjin(Scheme::Employee);
    let public_health = Flags { public_health: true, ..Flags::default() };
    let abroad = Flags { abroad: true, ..Flags::default() };
    assert_eq!(
        outcome(&policy, &claim(Some(FilingClass::Referral), public_health)),
        Outcome::Rejected(RejectReason::PublicHealth)
    );
    assert_eq!(
        outcome(&policy, &claim(Some(FilingClass::Referral), abroad)),
        Outcome::Rejected(RejectReason::Abroad)
    );
}

#[test]
fn suspended_benefits_are_refused_before_any_art_30_case() {
    let policy = tianjin(Scheme::Employee);
    let mut suspended = claim(None, Flags { public_health: true, ..Flags::default() });
    suspended.person.benefit_status = BenefitStatus::Suspended;
    assert_eq!(outcome(&policy, &suspended), Outcome::Rejected(RejectReason::BenefitsSuspended));
}

#[test]
fn notice_iii_5_a_refusing_region_refuses_the_unfiled_and_settles_the_filed() {
    let mut policy = tianjin(Scheme::Employee);
    policy.cross_province.refuse_unfiled = true;
    assert_eq!(
        outcome(&policy, &claim(None, Flags::default())),
        Outcome::Rejected(RejectReason::NotFiled)
    );
    let Outcome::Settled(filed) =
        outcome(&policy, &claim(Some(FilingClass::Referral), Flags::default()))
    else {
        panic!("a filed person was refused");
    };
    assert_eq!(filed.pool_ratio.to_string(), "0.75");
}

#[test]
fn notice_iii_5_a_reducing_region_settles_the_unfiled_at_its_reduced_ratio() {
    let policy = tianjin(Scheme::Employee);
    let Outcome::Settled(unfiled) = outcome(&policy, &claim(None, Flags::default())) else {
        panic!("an unfiled person was refused in a reducing region");
    };
    // 0.85 less 20 points; 12,000 less the 800 deductible at 65 %.
    assert_eq!(unfiled.pool_ratio.to_string(), "0.65");
    assert_eq!(unfiled.hifp_pay.to_string(), "7280.00");
}

#[test]
fn national_limits_accept_ten_and_twenty_points_and_refuse_more() {
    let policy = tianjin(Scheme::Employee);
    assert_eq!(policy.check_national_limits(), Ok(()));
    let mut referral = tianjin(Scheme::Employee);
    referral.cross_province.referral = ratio("0.11");
    let breach = referral.check_national_limits().unwrap_err();
    assert_eq!(breach.row, FilingClassRow::Referral);
    assert!(breach.to_string().contains("national limit for referral is 0.10"), "{breach}");
    let mut other = tianjin(Scheme::Employee);
    other.cross_province.unfiled = ratio("0.25");
    assert_eq!(other.check_national_limits().unwrap_err().row, FilingClassRow::Unfiled);
}

#[test]
fn national_limits_long_term_filed_settle_at_the_local_standard() {
    let mut policy = tianjin(Scheme::Employee);
    policy.cross_province.long_term = ratio("0.05");
    assert_eq!(policy.check_national_limits().unwrap_err().row, FilingClassRow::LongTerm);
}

#[test]
fn national_limits_a_multiplier_is_judged_by_the_points_it_takes_at_each_level() {
    // Dongguan's former "unfiled at 70 %": 0.95 × 0.3 = 28.5 points off, beyond 20.
    let mut policy = tianjin(Scheme::Employee);
    policy.levels[0].ratio = ratio("0.95");
    policy.retiree_uplift = ratio("0.03");
    policy.cross_province = CrossProvince {
        mode: AdjustmentMode::Multiplier,
        long_term: ratio("1"),
        referral: ratio("0.9"),
        emergency: ratio("0.9"),
        other_temporary: ratio("0.7"),
        unfiled: ratio("0.7"),
        refuse_unfiled: false,
    };
    let breach = policy.check_national_limits().unwrap_err();
    assert_eq!((breach.row, breach.level), (FilingClassRow::OtherTemporary, 1));
    // 0.8 takes at most 0.98 × 0.2 = 19.6 points, a retiree's included.
    policy.cross_province.other_temporary = ratio("0.8");
    policy.cross_province.unfiled = ratio("0.8");
    assert_eq!(policy.check_national_limits(), Ok(()));
}

#[test]
fn national_limits_a_refused_unfiled_row_is_not_a_reduction() {
    let mut policy = tianjin(Scheme::Employee);
    policy.cross_province.unfiled = ratio("0.9");
    policy.cross_province.refuse_unfiled = true;
    assert_eq!(policy.check_national_limits(), Ok(()));
}

#[test]
fn the_policy_in_force_on_the_admission_date_applies() {
    let old = tianjin(Scheme::Employee);
    let mut new = tianjin(Scheme::Employee);
    new.levels[0].ratio = ratio("0.9");
    new.effective_from = Some(day("2026-11-15"));
    let region = InsuredRegion {
        region: "120000".parse().unwrap(),
        name: "天津市 Tianjin".into(),
        filing: FilingRules::default(),
        holds: yidi_domain::hold::HoldRules::default(),
        schemes: vec![new.clone(), old.clone()],
    };
    assert_eq!(region.policy_on(Scheme::Employee, day("2026-11-14")), Some(&old));
    assert_eq!(region.policy_on(Scheme::Employee, day("2026-11-15")), Some(&new));
    assert_eq!(region.policy(Scheme::Employee), Some(&new), "the newest");
    assert_eq!(region.policy_on(Scheme::Resident, day("2026-11-15")), None);
    let mut later_only = region.clone();
    later_only.schemes = vec![new.clone()];
    assert_eq!(later_only.policy_on(Scheme::Employee, day("2026-01-01")), None);
}

#[test]
fn fund_codes_a_residents_critical_illness_and_account_are_not_the_same_code() {
    // domain.md §3: 390200 is 居民大病; the personal account is 310200 (职工个账).
    let mut policy = tianjin(Scheme::Resident);
    policy.annual_cap = amount("1000");
    let mut claim = claim(Some(FilingClass::LongTerm), Flags::default());
    claim.person.use_account = true;
    claim.person.account_balance = amount("500");
    let Outcome::Settled(settled) = outcome(&policy, &claim) else { panic!("refused") };
    let codes: Vec<&str> =
        settled.fund_payments(Scheme::Resident).iter().map(|(c, _)| *c).collect();
    assert_eq!(codes, ["390100", "390200", "310200"]);
}

/// A long-term filed stay at level 1 with `in_scope` yuan of A-class care (no deduction but
/// the deductible: the long-term filed settle at the local standard).
fn stay(in_scope: i64, ytd: Accumulators) -> Claim {
    let mut claim = claim(Some(FilingClass::LongTerm), Flags::default());
    claim.lines[0].quantity = Quantity::new(Decimal::from(in_scope / 100)).unwrap();
    claim.lines[0].unit_price = UnitPrice::new(Decimal::from(100)).unwrap();
    claim.ytd = ytd;
    claim
}

fn settled(policy: &Policy, claim: &Claim) -> yidi_domain::settle::Settlement {
    match outcome(policy, claim) {
        Outcome::Settled(settled) => *settled,
        Outcome::Rejected(reason) => panic!("refused: {reason:?}"),
    }
}

fn band(from: &str, pay: &str) -> Band {
    Band { from: amount(from), ratio: ratio(pay) }
}

#[test]
fn segmented_ratios_pay_each_band_of_the_stay_at_its_own_ratio() {
    // Beijing's employees (domain.md §4.3 [R]): the deductible to 30,000 at the level's
    // ratio, 30,000–40,000 and above 40,000 higher.
    let mut policy = tianjin(Scheme::Employee);
    policy.segments[0] = vec![band("30000", "0.9"), band("40000", "0.95")];
    let s = settled(&policy, &stay(50_000, Accumulators::default()));
    // (30,000 − 800) × 0.85 + 10,000 × 0.9 + 10,000 × 0.95
    assert_eq!(s.hifp_pay, amount("43320.00"));
    assert_eq!(s.pool_ratio, ratio("0.85"), "pool_ratio stays the level's");
    let expenses: Vec<Amount> = s.pool_bands.iter().map(|band| band.expense).collect();
    assert_eq!(expenses, [amount("29200"), amount("10000"), amount("10000")]);
}

#[test]
fn segmented_ratios_the_cap_is_reached_inside_a_band() {
    let mut policy = tianjin(Scheme::Employee);
    policy.segments[0] = vec![band("30000", "0.9"), band("40000", "0.95")];
    let ytd =
        Accumulators { admissions: 0, pool_paid: amount("320000"), ..Accumulators::default() };
    let s = settled(&policy, &stay(50_000, ytd));
    assert_eq!(s.hifp_pay, amount("30000.00"));
    // The fund reaches 30,000 at 30,000 + (30,000 − 24,820) / 0.9 = 35,755.56 of expense;
    // the large-amount layer pays 80 % of the 14,244.44 above it.
    assert_eq!(s.hifob_pay, amount("11395.55"));
}

#[test]
fn a_catastrophic_threshold_measures_the_years_self_borne_expense() {
    // Residents' critical illness (Beijing, domain.md §4.3): from 30,404 of the year's
    // self-borne in-scope expense at 60 %, 50,000 above it at 70 %.
    let mut policy = tianjin(Scheme::Resident);
    policy.catastrophic = Layer { ratio: ratio("0.6"), cap: amount("400000") };
    policy.catastrophic_terms = CatastrophicTerms {
        threshold: Some(amount("30404")),
        bands: vec![band("80404", "0.7")],
        contributory: false,
    };
    let before = |selfborne: &str| Accumulators {
        inscp_selfborne: amount(selfborne),
        ..Accumulators::default()
    };
    // 50,000 in scope, the pooled fund pays 41,820: 8,180 self-borne.
    let below = settled(&policy, &stay(50_000, before("20000")));
    assert_eq!((below.hifp_pay, below.hifmi_pay), (amount("41820.00"), Amount::ZERO));
    assert_eq!(below.ytd_after.inscp_selfborne, amount("28180"));
    let across = settled(&policy, &stay(50_000, before("25000")));
    assert_eq!(across.hifmi_pay, amount("1665.60")); // (33,180 − 30,404) × 0.6
    let banded = settled(&policy, &stay(50_000, before("78000")));
    assert_eq!(banded.hifmi_pay, amount("5485.60")); // 2,404 × 0.6 + 5,776 × 0.7
}

#[test]
fn seed_004_art_20_21_a_residents_ratio_and_cap_follow_the_tier_paid() {
    let mut policy = tianjin(Scheme::Resident);
    let terms = TierTerms {
        ratios: [ratio("0.7"), ratio("0.65"), ratio("0.6")],
        annual_cap: amount("200000"),
    };
    policy.tiers = vec![(2, terms)];
    let mut claim = stay(50_000, Accumulators::default());
    claim.person.contribution_tier = Some(2);
    let s = settled(&policy, &claim);
    assert_eq!((s.pool_ratio, s.hifp_pay), (ratio("0.7"), amount("34440.00")));
    claim.ytd.pool_paid = amount("190000");
    assert_eq!(settled(&policy, &claim).hifp_pay, amount("10000.00"), "the tier's cap");
    claim.person.contribution_tier = None;
    assert_eq!(
        settled(&policy, &claim).hifp_pay,
        amount("41820.00"),
        "no tier: the policy's terms"
    );
}

#[test]
fn seed_004_art_56_a_contributory_layer_pays_only_who_contributed() {
    let mut policy = tianjin(Scheme::Employee);
    policy.catastrophic_terms.contributory = true;
    let ytd = Accumulators { pool_paid: amount("350000"), ..Accumulators::default() };
    let mut claim = stay(50_000, ytd);
    assert_eq!(settled(&policy, &claim).hifob_pay, amount("39360.00")); // 49,200 × 0.8
    claim.person.large_amount_contributor = false;
    assert_eq!(settled(&policy, &claim).hifob_pay, Amount::ZERO);
}

#[test]
fn national_limits_are_checked_on_every_band_and_tier() {
    // A multiplier of 0.89 takes 9.35 points off 0.85 and 9.9 off a retiree's 0.9, and 9.9
    // off a band at 0.9, but 10.45 off that band with a retiree's uplift (0.95).
    let mut policy = tianjin(Scheme::Employee);
    policy.cross_province = CrossProvince {
        mode: AdjustmentMode::Multiplier,
        long_term: ratio("1"),
        referral: ratio("0.89"),
        emergency: ratio("0.89"),
        other_temporary: ratio("0.8"),
        unfiled: ratio("0.8"),
        refuse_unfiled: false,
    };
    assert_eq!(policy.check_national_limits(), Ok(()));
    policy.segments[0] = vec![band("30000", "0.9")];
    let breach = policy.check_national_limits().unwrap_err();
    assert_eq!((breach.row, breach.level, breach.retiree), (FilingClassRow::Referral, 1, true));
    policy.segments[0].clear();
    let terms = TierTerms { ratios: [ratio("0.95"); 3], annual_cap: amount("1") };
    policy.tiers = vec![(1, terms)];
    assert_eq!(policy.check_national_limits().unwrap_err().row, FilingClassRow::Referral);
}
