//! Property tests of the money identities of `settlement.md` for random bills and policies.
//!
//! - step 1: `medfee = ful + overlmt + pre + inscp`;
//! - step 8: `fund + psn_part = medfee`; step 9: `acct + cash = psn_part`;
//! - no amount is negative; the funds never pay more than the in-scope amount;
//! - accumulators never pass their caps (when they start within them);
//! - a reversal gives back exactly what the bill took.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests panic: a failure should stop with a backtrace.
#![allow(clippy::as_conversions)] // Test data is small and made here: counts and indexes fit.

use std::collections::BTreeMap;

use proptest::prelude::*;
use rust_decimal::Decimal;
use yidi_domain::catalogue::{Catalogue, CatalogueItem, ItemClass, Quantity, UnitPrice};
use yidi_domain::claim::{Accumulators, BenefitStatus, BillLine, Claim, Flags, Person};
use yidi_domain::filing::FilingClass;
use yidi_domain::ids::{HospitalLevel, Scheme};
use yidi_domain::money::{Amount, Ratio};
use yidi_domain::policy::{
    AdjustmentMode, Band, CatastrophicTerms, CrossProvince, Layer, LevelTerms, Policy, TierTerms,
};
use yidi_domain::settle::{reverse, settle, Outcome, Settlement};

fn amount(max_fen: i64) -> impl Strategy<Value = Amount> {
    (0..=max_fen).prop_map(|fen| Amount::new(Decimal::new(fen, 2)).unwrap())
}

fn ratio() -> impl Strategy<Value = Ratio> {
    prop_oneof![
        Just(Ratio::ZERO),
        Just(Ratio::ONE),
        (0i64..=10_000).prop_map(|bp| Ratio::new(Decimal::new(bp, 4)).unwrap()),
    ]
}

fn level_terms() -> impl Strategy<Value = LevelTerms> {
    (amount(300_000), amount(100_000), ratio()).prop_map(|(first, repeat, ratio)| LevelTerms {
        deductible_first: first,
        deductible_repeat: repeat,
        ratio,
    })
}

fn layer() -> impl Strategy<Value = Layer> {
    (ratio(), amount(50_000_000)).prop_map(|(ratio, cap)| Layer { ratio, cap })
}

/// Bands that rise from above zero (issue #13 §8), or none.
fn bands(above: i64) -> impl Strategy<Value = Vec<Band>> {
    prop::collection::vec((1i64..=5_000_000, ratio()), 0..4).prop_map(move |steps| {
        let mut from = above;
        steps
            .into_iter()
            .map(|(step, ratio)| {
                from += step;
                Band { from: Amount::round2(Decimal::new(from, 2)), ratio }
            })
            .collect()
    })
}

fn catastrophic_terms() -> impl Strategy<Value = CatastrophicTerms> {
    (prop::option::of(0i64..=5_000_000), any::<bool>()).prop_flat_map(
        |(threshold, contributory)| {
            let bands = match threshold {
                Some(fen) => bands(fen).boxed(),
                None => Just(Vec::new()).boxed(),
            };
            bands.prop_map(move |bands| CatastrophicTerms {
                threshold: threshold.map(|fen| Amount::round2(Decimal::new(fen, 2))),
                bands,
                contributory,
            })
        },
    )
}

fn tiers() -> impl Strategy<Value = Vec<(u8, TierTerms)>> {
    prop::collection::vec(([ratio(), ratio(), ratio()], amount(80_000_000)), 0..3).prop_map(
        |terms| {
            (1u8..)
                .zip(terms)
                .map(|(tier, (ratios, annual_cap))| (tier, TierTerms { ratios, annual_cap }))
                .collect()
        },
    )
}

fn cross_province() -> impl Strategy<Value = CrossProvince> {
    (any::<bool>(), ratio(), ratio(), ratio(), ratio(), ratio()).prop_map(
        |(points, long_term, referral, emergency, other_temporary, unfiled)| CrossProvince {
            mode: if points { AdjustmentMode::Points } else { AdjustmentMode::Multiplier },
            long_term,
            referral,
            emergency,
            other_temporary,
            unfiled,
            refuse_unfiled: false,
        },
    )
}

prop_compose! {
    fn policy()(
        levels in [level_terms(), level_terms(), level_terms()],
        uplift in ratio(),
        cap in amount(80_000_000),
        catastrophic in layer(),
        assistance in layer(),
        cross_province in cross_province(),
        resident in any::<bool>(),
        segments in [bands(0), bands(0), bands(0)],
        catastrophic_terms in catastrophic_terms(),
        tiers in tiers(),
    ) -> Policy {
        Policy {
            region: "120000".parse().unwrap(),
            scheme: if resident { Scheme::Resident } else { Scheme::Employee },
            version: "test".into(),
            levels,
            retiree_uplift: uplift,
            annual_cap: cap,
            catastrophic,
            assistance,
            cross_province,
            effective_from: None,
            segments,
            catastrophic_terms,
            tiers,
        }
    }
}

fn item() -> impl Strategy<Value = CatalogueItem> {
    let class = prop_oneof![
        Just(ItemClass::A),
        ratio().prop_map(|self_pay_ratio| ItemClass::B { self_pay_ratio }),
        Just(ItemClass::C),
    ];
    let cap = prop::option::of(
        (0i64..=500_000).prop_map(|fen| UnitPrice::new(Decimal::new(fen, 2)).unwrap()),
    );
    (class, cap).prop_map(|(class, price_cap)| CatalogueItem { class, price_cap })
}

fn catalogue() -> impl Strategy<Value = Catalogue> {
    prop::collection::vec(item(), 1..8).prop_map(|items| Catalogue {
        version: "test".into(),
        items: items
            .into_iter()
            .enumerate()
            .map(|(i, item)| (format!("I{i}"), item))
            .collect::<BTreeMap<_, _>>(),
    })
}

fn line() -> impl Strategy<Value = BillLine> {
    (0usize..10, 0i64..=100_000, 1u32..=3, 0i64..=2_000_000).prop_map(|(code, qty, scale, fen)| {
        BillLine {
            code: format!("I{code}"),
            quantity: Quantity::new(Decimal::new(qty, scale)).unwrap(),
            unit_price: UnitPrice::new(Decimal::new(fen, 2)).unwrap(),
        }
    })
}

fn filing() -> impl Strategy<Value = Option<FilingClass>> {
    prop_oneof![
        Just(None),
        Just(Some(FilingClass::LongTerm)),
        Just(Some(FilingClass::Referral)),
        Just(Some(FilingClass::Emergency)),
        Just(Some(FilingClass::OtherTemporary)),
    ]
}

prop_compose! {
    fn person()(
        retiree in any::<bool>(),
        assistance_eligible in any::<bool>(),
        use_account in any::<bool>(),
        balance in amount(2_000_000),
        contribution_tier in prop::option::of(1u8..=3),
        large_amount_contributor in any::<bool>(),
    ) -> Person {
        Person {
            retiree,
            assistance_eligible,
            benefit_status: BenefitStatus::Active,
            use_account,
            account_balance: balance,
            contribution_tier,
            large_amount_contributor,
        }
    }
}

prop_compose! {
    /// A claim whose accumulators start within the policy's caps.
    fn claim(policy: Policy)(
        person in person(),
        selfborne in amount(10_000_000),
        filing in filing(),
        level in 1u64..=3,
        admissions in 0u32..5,
        pool_share in 0u32..=100,
        catastrophic_share in 0u32..=100,
        assistance_share in 0u32..=100,
        lines in prop::collection::vec(line(), 0..25),
        third_party in any::<bool>(),
    ) -> Claim {
        let share = |cap: Amount, percent: u32| Amount::round2(cap.value() * Decimal::new(i64::from(percent), 2));
        Claim {
            person,
            filing,
            hospital_level: HospitalLevel::from_number(level).unwrap(),
            ytd: Accumulators {
                admissions,
                pool_paid: share(policy.annual_cap_for(person.contribution_tier), pool_share),
                catastrophic_paid: share(policy.catastrophic.cap, catastrophic_share),
                assistance_paid: share(policy.assistance.cap, assistance_share),
                inscp_selfborne: selfborne,
            },
            lines,
            flags: Flags { third_party, ..Flags::default() },
        }
    }
}

fn case() -> impl Strategy<Value = (Policy, Catalogue, Claim)> {
    (policy(), catalogue()).prop_flat_map(|(policy, catalogue)| {
        let claim = claim(policy.clone());
        (Just(policy), Just(catalogue), claim)
    })
}

fn settled(policy: &Policy, catalogue: &Catalogue, claim: &Claim) -> Settlement {
    match settle(claim, policy, catalogue) {
        Outcome::Settled(settlement) => *settlement,
        Outcome::Rejected(reason) => {
            panic!("an active claim without work injury is settled, got {reason:?}")
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn the_four_buckets_add_up_to_the_bill((policy, catalogue, claim) in case()) {
        let s = settled(&policy, &catalogue, &claim);
        let b = s.buckets;
        prop_assert_eq!(b.medfee_sumamt, b.fulamt_ownpay_amt + b.overlmt_selfpay + b.preselfpay_amt + b.inscp_scp_amt);
        let line_total: Amount = s.lines.iter().map(|line| line.amount).sum();
        prop_assert_eq!(line_total, b.medfee_sumamt);
    }

    #[test]
    fn funds_and_patient_share_the_bill_exactly((policy, catalogue, claim) in case()) {
        let s = settled(&policy, &catalogue, &claim);
        prop_assert_eq!(s.fund_pay_sumamt + s.psn_part_amt, s.buckets.medfee_sumamt);
        prop_assert_eq!(s.hifp_pay + s.hifob_pay + s.hifmi_pay + s.maf_pay, s.fund_pay_sumamt);
        prop_assert_eq!(s.acct_pay + s.psn_cash_pay, s.psn_part_amt);
        prop_assert_eq!(s.balc + s.acct_pay, claim.person.account_balance);
    }

    #[test]
    fn no_amount_is_negative_and_funds_pay_only_in_scope((policy, catalogue, claim) in case()) {
        let s = settled(&policy, &catalogue, &claim);
        let b = s.buckets;
        for amount in [b.medfee_sumamt, b.fulamt_ownpay_amt, b.overlmt_selfpay, b.preselfpay_amt,
                       b.inscp_scp_amt, s.act_pay_dedc, s.hifp_pay, s.hifob_pay, s.hifmi_pay, s.maf_pay,
                       s.fund_pay_sumamt, s.psn_part_amt, s.acct_pay, s.psn_cash_pay, s.balc] {
            prop_assert!(!amount.is_negative(), "{amount}");
        }
        prop_assert!(s.fund_pay_sumamt <= b.inscp_scp_amt);
        prop_assert!(s.hifp_pay <= b.inscp_scp_amt - s.act_pay_dedc);
        // The layer belongs to the scheme: only one of hifob/hifmi can pay.
        prop_assert!(s.hifob_pay.is_zero() || s.hifmi_pay.is_zero());
    }

    #[test]
    fn accumulators_never_pass_their_caps((policy, catalogue, claim) in case()) {
        let s = settled(&policy, &catalogue, &claim);
        prop_assert!(s.ytd_after.pool_paid <= policy.annual_cap_for(claim.person.contribution_tier));
        prop_assert!(s.ytd_after.catastrophic_paid <= policy.catastrophic.cap);
        prop_assert!(s.ytd_after.assistance_paid <= policy.assistance.cap);
        prop_assert_eq!(s.ytd_after.admissions, claim.ytd.admissions + 1);
    }

    #[test]
    fn a_reversal_gives_back_exactly_what_the_bill_took((policy, catalogue, claim) in case()) {
        let s = settled(&policy, &catalogue, &claim);
        prop_assert_eq!(reverse(s.ytd_after, &s), claim.ytd);
    }

    #[test]
    fn suspended_benefits_and_work_injury_are_refused_whatever_the_bill((policy, catalogue, claim) in case()) {
        // Seed 000: suspended until arrears are paid; Social Insurance Law art. 30(1).
        let mut suspended = claim.clone();
        suspended.person.benefit_status = BenefitStatus::Suspended;
        prop_assert!(matches!(settle(&suspended, &policy, &catalogue), Outcome::Rejected(_)));
        let mut injury = claim;
        injury.flags.work_injury = true;
        prop_assert!(matches!(settle(&injury, &policy, &catalogue), Outcome::Rejected(_)));
    }

    #[test]
    fn bands_at_the_levels_own_ratio_pay_as_one_ratio((policy, catalogue, claim) in case()) {
        // Issue #13 §8: segments change what is paid only through their ratios.
        let mut plain = policy.clone();
        plain.segments = Default::default();
        let mut flat = plain.clone();
        let level = claim.hospital_level;
        let own = flat.local_ratio(level, claim.person.contribution_tier);
        flat.segments[level.index()] = policy.segments[level.index()]
            .iter()
            .map(|band| Band { from: band.from, ratio: own })
            .collect();
        let one = settled(&plain, &catalogue, &claim);
        let banded = settled(&flat, &catalogue, &claim);
        prop_assert_eq!(banded.hifp_pay, one.hifp_pay);
        prop_assert_eq!(banded.catastrophic_pay(), one.catastrophic_pay());
        prop_assert_eq!(banded.maf_pay, one.maf_pay);
        let expense: Amount = banded.pool_bands.iter().map(|band| band.expense).sum();
        if !banded.pool_bands.is_empty() {
            prop_assert_eq!(expense, banded.buckets.inscp_scp_amt - banded.act_pay_dedc);
        }
    }

    #[test]
    fn a_contributory_layer_pays_nothing_to_who_did_not_contribute((policy, catalogue, claim) in case()) {
        // Seed 004 art. 56: the large-amount layer is paid for by its own contribution.
        let mut policy = policy;
        policy.catastrophic_terms.contributory = true;
        let mut claim = claim;
        claim.person.large_amount_contributor = false;
        let s = settled(&policy, &catalogue, &claim);
        prop_assert!(s.catastrophic_pay().is_zero());
    }

    #[test]
    fn a_threshold_layer_pays_only_above_its_threshold((policy, catalogue, claim) in case()) {
        let Some(threshold) = policy.catastrophic_terms.threshold else { return Ok(()) };
        let s = settled(&policy, &catalogue, &claim);
        prop_assert_eq!(
            s.ytd_after.inscp_selfborne,
            claim.ytd.inscp_selfborne + s.buckets.inscp_scp_amt - s.hifp_pay
        );
        if s.ytd_after.inscp_selfborne <= threshold {
            prop_assert!(s.catastrophic_pay().is_zero());
        }
    }
}
