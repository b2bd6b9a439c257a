//! The quote result as JSON (`settlement.md`, "Output"): national `setlinfo` names, money as
//! strings with two decimals, then extras (fund details, per-line breakdown, versions).

use serde::Serialize;
use yidi_domain::ids::Scheme;
use yidi_domain::money::Amount;
use yidi_domain::settle::{LineBreakdown, Outcome, Settlement};

#[derive(Debug, Serialize)]
pub struct YtdJson {
    pub admissions: u32,
    pub pool_paid: String,
    pub catastrophic_paid: String,
    pub assistance_paid: String,
    /// An extension (`spec/settlement-extensions.md`): the year's self-borne in-scope expense.
    pub inscp_selfborne: String,
}

/// A band of a segmented pooled-fund ratio as the bill used it.
#[derive(Debug, Serialize)]
pub struct BandJson {
    pub from: String,
    pub ratio: String,
    pub expense: String,
}

/// NHSA `setldetail`: one row per fund that paid.
#[derive(Debug, Serialize)]
pub struct FundDetailJson {
    pub fund_pay_type: &'static str,
    pub fund_payamt: String,
}

#[derive(Debug, Serialize)]
pub struct LineJson {
    pub med_list_codg: String,
    /// `A`, `B`, `C`, or `null` when the code is not in the catalogue.
    pub chrgitm_lv: Option<&'static str>,
    pub det_item_fee_sumamt: String,
    pub fulamt_ownpay_amt: String,
    pub overlmt_amt: String,
    pub preselfpay_amt: String,
    pub inscp_scp_amt: String,
}

#[derive(Debug, Serialize)]
pub struct SettledJson {
    pub status: &'static str,
    pub medfee_sumamt: String,
    pub fulamt_ownpay_amt: String,
    pub overlmt_selfpay: String,
    pub preselfpay_amt: String,
    pub inscp_scp_amt: String,
    pub act_pay_dedc: String,
    pub pool_ratio: String,
    pub hifp_pay: String,
    pub hifob_pay: String,
    pub hifmi_pay: String,
    pub maf_pay: String,
    pub fund_pay_sumamt: String,
    pub psn_part_amt: String,
    pub acct_pay: String,
    pub psn_cash_pay: String,
    pub balc: String,
    pub third_party_recovery: bool,
    pub ytd_after: YtdJson,
    /// Only when the policy segments the level's ratio.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pool_bands: Vec<BandJson>,
    pub setldetail: Vec<FundDetailJson>,
    pub lines: Vec<LineJson>,
    pub policy_version: String,
    pub catalogue_version: String,
}

#[derive(Debug, Serialize)]
pub struct RejectedJson {
    pub status: &'static str,
    pub reason: &'static str,
}

/// A result, settled or rejected.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum ResultJson {
    Settled(Box<SettledJson>),
    Rejected(RejectedJson),
}

impl ResultJson {
    pub fn from_outcome(outcome: &Outcome, scheme: Scheme) -> ResultJson {
        match outcome {
            Outcome::Settled(settlement) => {
                ResultJson::Settled(Box::new(settled(settlement, scheme)))
            }
            Outcome::Rejected(reason) => {
                ResultJson::Rejected(RejectedJson { status: "rejected", reason: reason.code() })
            }
        }
    }
}

fn money(amount: Amount) -> String {
    amount.to_string()
}

/// Fund-pay types of domain.md §3 (dictionaries).
fn fund_details(settlement: &Settlement, scheme: Scheme) -> Vec<FundDetailJson> {
    settlement
        .fund_payments(scheme)
        .into_iter()
        .map(|(fund_pay_type, amount)| FundDetailJson { fund_pay_type, fund_payamt: money(amount) })
        .collect()
}

fn line(breakdown: &LineBreakdown) -> LineJson {
    LineJson {
        med_list_codg: breakdown.code.clone(),
        chrgitm_lv: breakdown.class.map(|class| class.letter()),
        det_item_fee_sumamt: money(breakdown.amount),
        fulamt_ownpay_amt: money(breakdown.fulamt_ownpay_amt),
        overlmt_amt: money(breakdown.overlmt_selfpay),
        preselfpay_amt: money(breakdown.preselfpay_amt),
        inscp_scp_amt: money(breakdown.inscp_scp_amt),
    }
}

fn settled(settlement: &Settlement, scheme: Scheme) -> SettledJson {
    let buckets = &settlement.buckets;
    let ytd = &settlement.ytd_after;
    SettledJson {
        status: "settled",
        medfee_sumamt: money(buckets.medfee_sumamt),
        fulamt_ownpay_amt: money(buckets.fulamt_ownpay_amt),
        overlmt_selfpay: money(buckets.overlmt_selfpay),
        preselfpay_amt: money(buckets.preselfpay_amt),
        inscp_scp_amt: money(buckets.inscp_scp_amt),
        act_pay_dedc: money(settlement.act_pay_dedc),
        pool_ratio: settlement.pool_ratio.to_string(),
        hifp_pay: money(settlement.hifp_pay),
        hifob_pay: money(settlement.hifob_pay),
        hifmi_pay: money(settlement.hifmi_pay),
        maf_pay: money(settlement.maf_pay),
        fund_pay_sumamt: money(settlement.fund_pay_sumamt),
        psn_part_amt: money(settlement.psn_part_amt),
        acct_pay: money(settlement.acct_pay),
        psn_cash_pay: money(settlement.psn_cash_pay),
        balc: money(settlement.balc),
        third_party_recovery: settlement.third_party_recovery,
        ytd_after: YtdJson {
            admissions: ytd.admissions,
            pool_paid: money(ytd.pool_paid),
            catastrophic_paid: money(ytd.catastrophic_paid),
            assistance_paid: money(ytd.assistance_paid),
            inscp_selfborne: money(ytd.inscp_selfborne),
        },
        pool_bands: settlement
            .pool_bands
            .iter()
            .map(|band| BandJson {
                from: money(band.from),
                ratio: band.ratio.to_string(),
                expense: money(band.expense),
            })
            .collect(),
        setldetail: fund_details(settlement, scheme),
        lines: settlement.lines.iter().map(line).collect(),
        policy_version: settlement.policy_version.clone(),
        catalogue_version: settlement.catalogue_version.clone(),
    }
}
