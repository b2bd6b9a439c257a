//! The fund-share engine: `settlement.md`, step by step.
//!
//! A pure function of the claim, the insured place's policy and the treatment place's
//! catalogue. Every service, test and the `yidi quote` command call this one function.

use crate::catalogue::{Catalogue, ItemClass};
use crate::claim::{Accumulators, BenefitStatus, BillLine, Claim, ThirdParty};
use crate::ids::Scheme;
use crate::money::{Amount, Ratio};
use crate::policy::Policy;

/// Why a bill is refused rather than settled. A refusal is a result, not an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RejectReason {
    /// Contributions in arrears, waiting period, paused insurance (seed 000: benefits are
    /// suspended until the arrears are paid).
    BenefitsSuspended,
    /// Social Insurance Law art. 30(1): the work-injury fund pays.
    WorkInjury,
    /// Art. 30(2): the liable third party pays, so the fund does not advance.
    ThirdPartyLiable,
    /// Art. 30(3): public health bears the cost.
    PublicHealth,
    /// Art. 30(4): treatment abroad.
    Abroad,
    /// No valid filing, in a region whose policy refuses the unfiled (notice III(5)): the
    /// patient pays in full and claims at home.
    NotFiled,
}

impl RejectReason {
    /// The reason as `yidi quote` and the national result print it.
    pub fn code(self) -> &'static str {
        match self {
            RejectReason::BenefitsSuspended => "benefits_suspended",
            RejectReason::WorkInjury => "work_injury",
            RejectReason::ThirdPartyLiable => "third_party_liable",
            RejectReason::PublicHealth => "public_health",
            RejectReason::Abroad => "abroad",
            RejectReason::NotFiled => "not_filed",
        }
    }

    /// The rule the refusal rests on (`refusal::RULES`).
    pub fn citation(self) -> &'static str {
        crate::refusal::citation(self.code())
    }
}

/// How one line was classified and split (NHSA 2301 output per `feedetl_sn`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineBreakdown {
    pub code: String,
    /// `None` when the code is not in the treatment-place catalogue.
    pub class: Option<ItemClass>,
    /// NHSA `det_item_fee_sumamt`: `round2(qty × unit_price)`.
    pub amount: Amount,
    pub fulamt_ownpay_amt: Amount,
    pub overlmt_selfpay: Amount,
    pub preselfpay_amt: Amount,
    pub inscp_scp_amt: Amount,
}

/// The four buckets of a bill (step 1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Buckets {
    pub medfee_sumamt: Amount,
    pub fulamt_ownpay_amt: Amount,
    pub overlmt_selfpay: Amount,
    pub preselfpay_amt: Amount,
    pub inscp_scp_amt: Amount,
}

/// A settled bill: the `setlinfo` fields of transaction 2304 and what was used to get them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settlement {
    pub buckets: Buckets,
    /// NHSA `act_pay_dedc`: the deductible actually borne.
    pub act_pay_dedc: Amount,
    /// The pooled-fund ratio applied (NHSA returns it as `pool_prop_selfpay`).
    pub pool_ratio: Ratio,
    /// NHSA `hifp_pay`: pooled fund.
    pub hifp_pay: Amount,
    /// NHSA `hifob_pay`: employee large-amount subsidy (scheme 310).
    pub hifob_pay: Amount,
    /// NHSA `hifmi_pay`: resident critical-illness insurance (scheme 390).
    pub hifmi_pay: Amount,
    /// NHSA `maf_pay`: medical assistance.
    pub maf_pay: Amount,
    pub fund_pay_sumamt: Amount,
    pub psn_part_amt: Amount,
    pub acct_pay: Amount,
    pub psn_cash_pay: Amount,
    /// NHSA `balc`: the personal account balance after the bill.
    pub balc: Amount,
    /// Art. 30(2): the funds advanced and will recover from the liable third party.
    pub third_party_recovery: bool,
    pub ytd_after: Accumulators,
    pub lines: Vec<LineBreakdown>,
    pub policy_version: String,
    pub catalogue_version: String,
}

/// National `fund_pay_type` codes (domain.md §3 dictionaries) for the funds a settlement draws.
pub mod fund_pay_type {
    /// 职工统筹: the employee pooled fund.
    pub const EMPLOYEE_POOL: &str = "310100";
    /// 职工个账: the personal account, which only the employee scheme has.
    pub const PERSONAL_ACCOUNT: &str = "310200";
    /// 大额: the employee large-amount layer (`hifob_pay`).
    pub const EMPLOYEE_LARGE_AMOUNT: &str = "330100";
    /// 居民基本: the resident pooled fund.
    pub const RESIDENT_POOL: &str = "390100";
    /// 居民大病: resident critical-illness insurance (`hifmi_pay`).
    pub const RESIDENT_CRITICAL_ILLNESS: &str = "390200";
    /// 医疗救助: medical assistance (`maf_pay`).
    pub const ASSISTANCE: &str = "610100";
}

impl Settlement {
    /// NHSA `setldetail`: each fund that paid, with its national code, in a fixed order.
    /// The personal account is `310200` whatever the scheme: `390200` is the residents'
    /// critical-illness insurance, and a resident has no account of their own code.
    pub fn fund_payments(&self, scheme: Scheme) -> Vec<(&'static str, Amount)> {
        let pool = match scheme {
            Scheme::Employee => fund_pay_type::EMPLOYEE_POOL,
            Scheme::Resident => fund_pay_type::RESIDENT_POOL,
        };
        [
            (pool, self.hifp_pay),
            (fund_pay_type::EMPLOYEE_LARGE_AMOUNT, self.hifob_pay),
            (fund_pay_type::RESIDENT_CRITICAL_ILLNESS, self.hifmi_pay),
            (fund_pay_type::ASSISTANCE, self.maf_pay),
            (fund_pay_type::PERSONAL_ACCOUNT, self.acct_pay),
        ]
        .into_iter()
        .filter(|(_, amount)| !amount.is_zero())
        .collect()
    }

    /// The catastrophic layer's payment, whichever field carries it.
    pub fn catastrophic_pay(&self) -> Amount {
        self.hifob_pay + self.hifmi_pay
    }
}

/// The engine's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Settled(Box<Settlement>),
    Rejected(RejectReason),
}

/// Computes what each fund and the patient pay for one bill (`settlement.md` steps 1–10).
pub fn settle(claim: &Claim, policy: &Policy, catalogue: &Catalogue) -> Outcome {
    // Step 2. Refusals come before any arithmetic.
    if let Some(reason) = refusal(claim, policy) {
        return Outcome::Rejected(reason);
    }
    let lines: Vec<LineBreakdown> =
        claim.lines.iter().map(|line| classify(line, catalogue)).collect();
    let buckets = sum_buckets(&lines);
    Outcome::Settled(Box::new(share(claim, policy, catalogue, buckets, lines)))
}

/// Step 2, in its order: benefit status, then art. 30 (work injury, a paying third party,
/// public health, abroad), then filing where the region refuses the unfiled.
pub fn refusal(claim: &Claim, policy: &Policy) -> Option<RejectReason> {
    let flags = &claim.flags;
    if claim.person.benefit_status == BenefitStatus::Suspended {
        Some(RejectReason::BenefitsSuspended)
    } else if flags.work_injury {
        Some(RejectReason::WorkInjury)
    } else if flags.third_party && flags.third_party_status == ThirdParty::Paid {
        Some(RejectReason::ThirdPartyLiable)
    } else if flags.public_health {
        Some(RejectReason::PublicHealth)
    } else if flags.abroad {
        Some(RejectReason::Abroad)
    } else if claim.filing.is_none() && policy.cross_province.refuse_unfiled {
        Some(RejectReason::NotFiled)
    } else {
        None
    }
}

/// Step 1 for one line.
pub fn classify(line: &BillLine, catalogue: &Catalogue) -> LineBreakdown {
    let quantity = line.quantity.value();
    let unit_price = line.unit_price.value();
    let amount = Amount::round2(quantity * unit_price);
    let mut breakdown = LineBreakdown {
        code: line.code.clone(),
        class: None,
        amount,
        fulamt_ownpay_amt: Amount::ZERO,
        overlmt_selfpay: Amount::ZERO,
        preselfpay_amt: Amount::ZERO,
        inscp_scp_amt: Amount::ZERO,
    };
    let Some(item) = catalogue.item(&line.code) else {
        breakdown.fulamt_ownpay_amt = amount;
        return breakdown;
    };
    breakdown.class = Some(item.class);
    let self_pay_ratio = match item.class {
        ItemClass::C => {
            breakdown.fulamt_ownpay_amt = amount;
            return breakdown;
        }
        ItemClass::A => Ratio::ZERO,
        ItemClass::B { self_pay_ratio } => self_pay_ratio,
    };
    let over = match item.price_cap {
        Some(cap) if unit_price > cap.value() => {
            Amount::round2((unit_price - cap.value()) * quantity)
        }
        _ => Amount::ZERO,
    };
    let base = amount - over;
    let pre = self_pay_ratio.of(base);
    breakdown.overlmt_selfpay = over;
    breakdown.preselfpay_amt = pre;
    breakdown.inscp_scp_amt = base - pre;
    assert!(!base.is_negative() && !breakdown.inscp_scp_amt.is_negative());
    breakdown
}

fn sum_buckets(lines: &[LineBreakdown]) -> Buckets {
    let buckets = Buckets {
        medfee_sumamt: lines.iter().map(|line| line.amount).sum(),
        fulamt_ownpay_amt: lines.iter().map(|line| line.fulamt_ownpay_amt).sum(),
        overlmt_selfpay: lines.iter().map(|line| line.overlmt_selfpay).sum(),
        preselfpay_amt: lines.iter().map(|line| line.preselfpay_amt).sum(),
        inscp_scp_amt: lines.iter().map(|line| line.inscp_scp_amt).sum(),
    };
    // The identity of step 1 holds line by line, so it holds for the sums.
    assert_eq!(
        buckets.medfee_sumamt,
        buckets.fulamt_ownpay_amt
            + buckets.overlmt_selfpay
            + buckets.preselfpay_amt
            + buckets.inscp_scp_amt
    );
    buckets
}

/// The pool ratio of step 4: local ratio, retiree uplift, cross-province adjustment, clamped.
pub fn pool_ratio(claim: &Claim, policy: &Policy) -> Ratio {
    let mut local = policy.level(claim.hospital_level).ratio.value();
    if claim.person.retiree {
        local += policy.retiree_uplift.value();
    }
    Ratio::clamped(policy.cross_province.adjust(local, claim.filing))
}

/// Funds' shares (steps 3 to 7).
struct FundShares {
    act_pay_dedc: Amount,
    pool_ratio: Ratio,
    hifp_pay: Amount,
    catastrophic: Amount,
    maf_pay: Amount,
}

fn fund_shares(claim: &Claim, policy: &Policy, inscp: Amount) -> FundShares {
    let terms = policy.level(claim.hospital_level);
    // Step 3.
    let deductible =
        if claim.ytd.admissions == 0 { terms.deductible_first } else { terms.deductible_repeat };
    let act_pay_dedc = inscp.min(deductible);
    // Steps 4 and 5.
    let pool_ratio = pool_ratio(claim, policy);
    let eligible = inscp - act_pay_dedc;
    let remaining = policy.annual_cap.saturating_sub(claim.ytd.pool_paid);
    let raw = pool_ratio.of(eligible);
    let hifp_pay = raw.min(remaining);
    // Step 6. `raw > remaining` implies a positive ratio, so the division is defined.
    let over_cap = if raw > remaining && !pool_ratio.is_zero() {
        Amount::round2(eligible.value() - remaining.value() / pool_ratio.value())
    } else {
        Amount::ZERO
    };
    let catastrophic_left = policy.catastrophic.cap.saturating_sub(claim.ytd.catastrophic_paid);
    let catastrophic = policy.catastrophic.ratio.of(over_cap).min(catastrophic_left);
    // Step 7.
    let maf_pay = if claim.person.assistance_eligible {
        let left = inscp - hifp_pay - catastrophic;
        let assistance_left = policy.assistance.cap.saturating_sub(claim.ytd.assistance_paid);
        policy.assistance.ratio.of(left).min(assistance_left)
    } else {
        Amount::ZERO
    };
    FundShares { act_pay_dedc, pool_ratio, hifp_pay, catastrophic, maf_pay }
}

fn share(
    claim: &Claim,
    policy: &Policy,
    catalogue: &Catalogue,
    buckets: Buckets,
    lines: Vec<LineBreakdown>,
) -> Settlement {
    let shares = fund_shares(claim, policy, buckets.inscp_scp_amt);
    let (hifob_pay, hifmi_pay) = match policy.scheme {
        Scheme::Employee => (shares.catastrophic, Amount::ZERO),
        Scheme::Resident => (Amount::ZERO, shares.catastrophic),
    };
    // Step 8.
    let fund_pay_sumamt = shares.hifp_pay + hifob_pay + hifmi_pay + shares.maf_pay;
    let psn_part_amt = buckets.medfee_sumamt - fund_pay_sumamt;
    // Step 9.
    let person = &claim.person;
    let acct_pay =
        if person.use_account { person.account_balance.min(psn_part_amt) } else { Amount::ZERO };
    let ytd = &claim.ytd;
    let settlement = Settlement {
        buckets,
        act_pay_dedc: shares.act_pay_dedc,
        pool_ratio: shares.pool_ratio,
        hifp_pay: shares.hifp_pay,
        hifob_pay,
        hifmi_pay,
        maf_pay: shares.maf_pay,
        fund_pay_sumamt,
        psn_part_amt,
        acct_pay,
        psn_cash_pay: psn_part_amt - acct_pay,
        balc: person.account_balance - acct_pay,
        third_party_recovery: claim.flags.third_party,
        // Step 10.
        ytd_after: Accumulators {
            admissions: ytd.admissions.saturating_add(1),
            pool_paid: ytd.pool_paid + shares.hifp_pay,
            catastrophic_paid: ytd.catastrophic_paid + shares.catastrophic,
            assistance_paid: ytd.assistance_paid + shares.maf_pay,
        },
        lines,
        policy_version: policy.version.clone(),
        catalogue_version: catalogue.version.clone(),
    };
    assert_conserved(&settlement);
    settlement
}

/// Money is conserved: a breach is a bug, and a crash with redelivery beats a wrong payment.
fn assert_conserved(settlement: &Settlement) {
    let buckets = &settlement.buckets;
    assert_eq!(settlement.fund_pay_sumamt + settlement.psn_part_amt, buckets.medfee_sumamt);
    assert_eq!(settlement.acct_pay + settlement.psn_cash_pay, settlement.psn_part_amt);
    assert!(settlement.fund_pay_sumamt <= buckets.inscp_scp_amt, "funds pay only in-scope");
    for amount in [
        settlement.hifp_pay,
        settlement.hifob_pay,
        settlement.hifmi_pay,
        settlement.maf_pay,
        settlement.psn_part_amt,
        settlement.acct_pay,
        settlement.psn_cash_pay,
        settlement.balc,
    ] {
        assert!(!amount.is_negative(), "no share is negative");
    }
}

/// The accumulators as they were before `settlement`: a reversal (2305/2601) gives back
/// exactly what the bill took.
pub fn reverse(ytd: Accumulators, settlement: &Settlement) -> Accumulators {
    ytd.without(settlement.hifp_pay, settlement.catastrophic_pay(), settlement.maf_pay)
}
