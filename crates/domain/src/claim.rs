//! What the agency knows when it settles one discharge bill: the bill's lines, the person,
//! the filing class that applies, and the year-to-date accumulators.

use crate::catalogue::{Quantity, UnitPrice};
use crate::filing::FilingClass;
use crate::ids::HospitalLevel;
use crate::money::Amount;

/// The most lines one bill may carry. Bounded so that a bill's sums stay far below
/// `Decimal::MAX` (see [`crate::money::MONEY_MAX`]).
pub const BILL_LINES_MAX: usize = 10_000;

/// One fee line (NHSA `feedetail`): item code, quantity, unit price.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BillLine {
    /// NHSA `med_list_codg`.
    pub code: String,
    /// NHSA `cnt`.
    pub quantity: Quantity,
    /// NHSA `pric`.
    pub unit_price: UnitPrice,
}

/// Whether the person may draw benefits today (see [`crate::benefit`] for how it is decided).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BenefitStatus {
    Active,
    /// Contributions in arrears, waiting period not served, insurance paused.
    Suspended,
}

/// The person as the insured place knows them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Person {
    pub retiree: bool,
    pub assistance_eligible: bool,
    pub benefit_status: BenefitStatus,
    /// NHSA `acct_used_flag`: the person agreed to pay their part from the personal account.
    pub use_account: bool,
    /// The personal account balance before this bill.
    pub account_balance: Amount,
    /// The resident contribution tier the person paid (seed 004 art. 14), if any.
    pub contribution_tier: Option<u8>,
    /// Paid the contribution of a contributory large-amount layer (seed 004 art. 56).
    pub large_amount_contributor: bool,
}

/// Year-to-date accumulators (NHSA 5206 人员累计信息) before or after a bill.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Accumulators {
    /// Inpatient admissions settled this year.
    pub admissions: u32,
    /// Paid by the pooled fund this year.
    pub pool_paid: Amount,
    /// Paid by the catastrophic layer this year.
    pub catastrophic_paid: Amount,
    /// Paid by medical assistance this year.
    pub assistance_paid: Amount,
    /// The in-scope expense the pooled fund left to the person this year (合规自付), on which
    /// a catastrophic layer with a threshold is measured (issue #13 §8).
    pub inscp_selfborne: Amount,
}

/// What one settled bill added to the accumulators, and a reversal takes back.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BillTotals {
    pub pool: Amount,
    pub catastrophic: Amount,
    pub assistance: Amount,
    pub inscp_selfborne: Amount,
}

impl Accumulators {
    /// The accumulators without one settled bill: what a reversal (2305/2601) restores.
    pub fn without(self, bill: BillTotals) -> Accumulators {
        Accumulators {
            admissions: self.admissions.saturating_sub(1),
            pool_paid: self.pool_paid - bill.pool,
            catastrophic_paid: self.catastrophic_paid - bill.catastrophic,
            assistance_paid: self.assistance_paid - bill.assistance,
            inscp_selfborne: self.inscp_selfborne - bill.inscp_selfborne,
        }
    }
}

/// Where a third party's liability stands (Social Insurance Law art. 30(2): the fund advances
/// only when the third party does not pay or cannot be identified).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ThirdParty {
    /// The bill says a third party is involved and nothing more: advanced, as before the
    /// status was carried (`settlement.md` unchanged for such a case).
    #[default]
    Unstated,
    /// 第三人不支付: the liable party does not pay.
    Unpaid,
    /// 无法确定第三人: the liable party cannot be identified.
    Unidentified,
    /// The liable party pays: not the fund's to pay.
    Paid,
}

impl ThirdParty {
    /// The status as `flags.third_party_status` spells it.
    pub fn parse(text: &str) -> Option<ThirdParty> {
        match text {
            "unpaid" => Some(ThirdParty::Unpaid),
            "unidentified" => Some(ThirdParty::Unidentified),
            "paid" => Some(ThirdParty::Paid),
            _ => None,
        }
    }

    /// `None` for [`ThirdParty::Unstated`], which has no spelling.
    pub fn code(self) -> Option<&'static str> {
        match self {
            ThirdParty::Unstated => None,
            ThirdParty::Unpaid => Some("unpaid"),
            ThirdParty::Unidentified => Some("unidentified"),
            ThirdParty::Paid => Some("paid"),
        }
    }
}

/// Social Insurance Law art. 30 flags carried by the bill.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flags {
    /// Art. 30(1): paid by the work-injury fund, not medical insurance.
    pub work_injury: bool,
    /// Art. 30(2): a third party is liable; the fund advances and recovers, unless the
    /// third party pays ([`Flags::third_party_status`]).
    pub third_party: bool,
    /// Art. 30(2): whether the liable party pays; read only when `third_party` is set.
    pub third_party_status: ThirdParty,
    /// Art. 30(3): costs public health (公共卫生) bears.
    pub public_health: bool,
    /// Art. 30(4): treatment abroad (在境外就医).
    pub abroad: bool,
}

/// Everything about one bill that the fund-share engine decides on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claim {
    pub person: Person,
    /// The filing class that applies at settlement; `None` for no valid filing.
    pub filing: Option<FilingClass>,
    pub hospital_level: HospitalLevel,
    pub ytd: Accumulators,
    pub lines: Vec<BillLine>,
    pub flags: Flags,
}
