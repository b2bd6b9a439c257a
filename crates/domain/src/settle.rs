//! The fund-share engine: `settlement.md`, step by step.
//!
//! A pure function of the claim, the insured place's policy and the treatment place's
//! catalogue. Every service, test and the `yidi quote` command call this one function.

use rust_decimal::Decimal;

use crate::catalogue::{Catalogue, ItemClass};
use crate::claim::{Accumulators, BenefitStatus, BillLine, BillTotals, Claim, ThirdParty};
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

/// One band of a segmented ratio as a bill used it: from where, at which ratio (after the
/// retiree uplift and the cross-province adjustment), on how much expense.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BandShare {
    pub from: Amount,
    pub ratio: Ratio,
    pub expense: Amount,
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
    /// The pooled fund's bands, when the policy segments the level's ratio (issue #13 §8).
    pub pool_bands: Vec<BandShare>,
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

    /// What the bill added to the person's accumulators.
    pub fn totals(&self) -> BillTotals {
        BillTotals {
            pool: self.hifp_pay,
            catastrophic: self.catastrophic_pay(),
            assistance: self.maf_pay,
            inscp_selfborne: self.buckets.inscp_scp_amt - self.hifp_pay,
        }
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

/// A local ratio with the retiree uplift and the cross-province adjustment, clamped (step 4).
fn adjusted(claim: &Claim, policy: &Policy, local: Ratio) -> Ratio {
    let mut local = local.value();
    if claim.person.retiree {
        local += policy.retiree_uplift.value();
    }
    Ratio::clamped(policy.cross_province.adjust(local, claim.filing))
}

/// The pool ratio of step 4: local ratio (the person's tier's, if the policy has tiers),
/// retiree uplift, cross-province adjustment, clamped.
pub fn pool_ratio(claim: &Claim, policy: &Policy) -> Ratio {
    adjusted(
        claim,
        policy,
        policy.local_ratio(claim.hospital_level, claim.person.contribution_tier),
    )
}

/// The expense between `low` and `high` split over bands (each from its `from` to the next
/// one's), and what the bands pay on it, exact (rounded once by the caller).
fn banded(bands: &[(Amount, Ratio)], low: Amount, high: Amount) -> (Decimal, Vec<BandShare>) {
    let mut exact = Decimal::ZERO;
    let mut shares = Vec::with_capacity(bands.len());
    for (index, &(from, ratio)) in bands.iter().enumerate() {
        let start = from.max(low);
        let end = bands.get(index + 1).map_or(high, |&(next, _)| next.min(high));
        let expense = if end > start { end - start } else { Amount::ZERO };
        exact += expense.value() * ratio.value();
        shares.push(BandShare { from, ratio, expense });
    }
    (exact, shares)
}

/// Steps 5 and 6 over the pooled fund's bands (one band, at `first`, unless the policy
/// segments the level): what the fund would pay, and the expense it leaves uncovered past
/// `remaining`.
fn pooled(
    claim: &Claim,
    policy: &Policy,
    first: Ratio,
    (inscp, deductible): (Amount, Amount),
    remaining: Amount,
) -> (Amount, Amount, Vec<BandShare>) {
    let level = claim.hospital_level;
    let bands: Vec<(Amount, Ratio)> = std::iter::once((Amount::ZERO, first))
        .chain(
            policy.segments[level.index()]
                .iter()
                .map(|band| (band.from, adjusted(claim, policy, band.ratio))),
        )
        .collect();
    let (exact, shares) = banded(&bands, deductible, inscp);
    let raw = Amount::round2(exact);
    let mut over_cap = Amount::ZERO;
    if raw > remaining {
        // Where the fund reached `remaining`: walk the bands; `raw > remaining` implies a
        // band with a positive ratio crosses it, so the division is defined.
        let mut paid = Decimal::ZERO;
        for share in &shares {
            let pays = share.expense.value() * share.ratio.value();
            if !share.ratio.is_zero() && paid + pays >= remaining.value() {
                let start = share.from.max(deductible);
                let uncovered = (inscp.value() - start.value())
                    - (remaining.value() - paid) / share.ratio.value();
                over_cap = Amount::round2(uncovered);
                break;
            }
            paid += pays;
        }
    }
    (raw, over_cap, shares)
}

/// Step 6's layer: on the expense past the pooled cap, or, with a threshold, on the year's
/// in-scope expense the pooled fund left to the person above it (issue #13 §8); nothing for a
/// person who did not pay a contributory layer. Before the layer's own cap.
fn catastrophic_raw(claim: &Claim, policy: &Policy, over_cap: Amount, selfborne: Amount) -> Amount {
    let terms = &policy.catastrophic_terms;
    if terms.contributory && !claim.person.large_amount_contributor {
        return Amount::ZERO;
    }
    let Some(threshold) = terms.threshold else {
        return policy.catastrophic.ratio.of(over_cap);
    };
    let bands: Vec<(Amount, Ratio)> = std::iter::once((threshold, policy.catastrophic.ratio))
        .chain(terms.bands.iter().map(|band| (band.from, band.ratio)))
        .collect();
    let before = claim.ytd.inscp_selfborne;
    let (exact, _) = banded(&bands, before, before + selfborne);
    Amount::round2(exact)
}

/// Funds' shares (steps 3 to 7).
struct FundShares {
    act_pay_dedc: Amount,
    pool_ratio: Ratio,
    hifp_pay: Amount,
    catastrophic: Amount,
    maf_pay: Amount,
    pool_bands: Vec<BandShare>,
}

fn fund_shares(claim: &Claim, policy: &Policy, inscp: Amount) -> FundShares {
    let terms = policy.level(claim.hospital_level);
    // Step 3.
    let deductible =
        if claim.ytd.admissions == 0 { terms.deductible_first } else { terms.deductible_repeat };
    let act_pay_dedc = inscp.min(deductible);
    // Steps 4 to 6.
    let cap = policy.annual_cap_for(claim.person.contribution_tier);
    let remaining = cap.saturating_sub(claim.ytd.pool_paid);
    let pool_ratio = pool_ratio(claim, policy);
    let (raw, over_cap, bands) =
        pooled(claim, policy, pool_ratio, (inscp, act_pay_dedc), remaining);
    let hifp_pay = raw.min(remaining);
    let catastrophic_left = policy.catastrophic.cap.saturating_sub(claim.ytd.catastrophic_paid);
    let catastrophic =
        catastrophic_raw(claim, policy, over_cap, inscp - hifp_pay).min(catastrophic_left);
    // Step 7.
    let maf_pay = if claim.person.assistance_eligible {
        let left = inscp - hifp_pay - catastrophic;
        let assistance_left = policy.assistance.cap.saturating_sub(claim.ytd.assistance_paid);
        policy.assistance.ratio.of(left).min(assistance_left)
    } else {
        Amount::ZERO
    };
    let segmented = !policy.segments[claim.hospital_level.index()].is_empty();
    FundShares {
        act_pay_dedc,
        pool_ratio,
        hifp_pay,
        catastrophic,
        maf_pay,
        pool_bands: if segmented { bands } else { Vec::new() },
    }
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
            inscp_selfborne: ytd.inscp_selfborne + (buckets.inscp_scp_amt - shares.hifp_pay),
        },
        pool_bands: shares.pool_bands,
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
    ytd.without(settlement.totals())
}
