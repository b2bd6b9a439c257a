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
use yidi_domain::policy::{AdjustmentMode, CrossProvince, Layer, LevelTerms, Policy};
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
    /// A claim whose accumulators start within the policy's caps.
    fn claim(policy: Policy)(
        retiree in any::<bool>(),
        assistance_eligible in any::<bool>(),
        use_account in any::<bool>(),
        balance in amount(2_000_000),
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
            person: Person {
                retiree,
                assistance_eligible,
                benefit_status: BenefitStatus::Active,
                use_account,
                account_balance: balance,
            },
            filing,
            hospital_level: HospitalLevel::from_number(level).unwrap(),
            ytd: Accumulators {
                admissions,
                pool_paid: share(policy.annual_cap, pool_share),
                catastrophic_paid: share(policy.catastrophic.cap, catastrophic_share),
                assistance_paid: share(policy.assistance.cap, assistance_share),
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
        prop_assert!(s.ytd_after.pool_paid <= policy.annual_cap);
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
}
