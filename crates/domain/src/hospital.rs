//! The national register of designated medical institutions (定点医疗机构) for cross-province
//! direct settlement, and the decisions on their service agreements (服务协议).
//!
//! Treatment-place supervision (就医地监管): only a designated institution, open for
//! cross-province direct settlement and with its agreement in force, settles directly; the
//! level its deductibles, ratios and caps follow (seed 004 arts. 19–21) is the register's, not
//! the hospital's own word in the bill. An agreement suspended or ended for fraud (seed 004
//! art. 49) stops its bills with that reason.

use crate::ids::{HospitalLevel, RegionCode};

/// The state of a designated institution's service agreement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Agreement {
    InForce,
    /// Suspended (暂停): no direct settlement until reinstated.
    Suspended,
    /// Ended (解除): no direct settlement.
    Ended,
}

impl Agreement {
    pub fn code(self) -> &'static str {
        match self {
            Agreement::InForce => "in_force",
            Agreement::Suspended => "suspended",
            Agreement::Ended => "ended",
        }
    }

    pub fn parse(text: &str) -> Option<Agreement> {
        match text {
            "in_force" => Some(Agreement::InForce),
            "suspended" => Some(Agreement::Suspended),
            "ended" => Some(Agreement::Ended),
            _ => None,
        }
    }
}

/// One institution in the register.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Designation {
    /// NHSA `fixmedins_code` (12 characters).
    pub code: String,
    pub name: String,
    /// The city (统筹区) it is in.
    pub region: RegionCode,
    /// 医院等级 as registered.
    pub level: HospitalLevel,
    /// Opened for cross-province direct settlement (开通跨省联网).
    pub cross_province: bool,
    pub agreement: Agreement,
}

/// Why an institution's bill is not settled directly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HospitalRefusal {
    /// Not in the register, not in the treatment province, or not opened for cross-province
    /// direct settlement.
    NotDesignated,
    AgreementSuspended,
    AgreementEnded,
}

impl HospitalRefusal {
    /// The refusal's reason code (`refusal::RULES`).
    pub fn code(self) -> &'static str {
        match self {
            HospitalRefusal::NotDesignated => "hospital_not_designated",
            HospitalRefusal::AgreementSuspended => "agreement_suspended",
            HospitalRefusal::AgreementEnded => "agreement_ended",
        }
    }
}

/// Whether an institution may settle a bill treated in `treatment` directly, and at which
/// level: the register's.
pub fn admit(
    designation: Option<&Designation>,
    treatment: RegionCode,
) -> Result<HospitalLevel, HospitalRefusal> {
    let Some(designation) = designation else {
        return Err(HospitalRefusal::NotDesignated);
    };
    if !designation.cross_province || !designation.region.same_province(treatment) {
        return Err(HospitalRefusal::NotDesignated);
    }
    match designation.agreement {
        Agreement::InForce => Ok(designation.level),
        Agreement::Suspended => Err(HospitalRefusal::AgreementSuspended),
        Agreement::Ended => Err(HospitalRefusal::AgreementEnded),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn hospital(agreement: Agreement) -> Designation {
        Designation {
            code: "H44010000007".into(),
            name: "广州市第一人民医院".into(),
            region: "440100".parse().unwrap(),
            level: HospitalLevel::Three,
            cross_province: true,
            agreement,
        }
    }

    fn guangzhou() -> RegionCode {
        "440100".parse().unwrap()
    }

    #[test]
    fn the_level_settled_at_is_the_registers_not_the_bills() {
        assert_eq!(
            admit(Some(&hospital(Agreement::InForce)), guangzhou()),
            Ok(HospitalLevel::Three)
        );
    }

    #[test]
    fn an_institution_not_in_the_register_is_not_designated() {
        assert_eq!(admit(None, guangzhou()), Err(HospitalRefusal::NotDesignated));
    }

    #[test]
    fn one_not_opened_for_cross_province_settlement_is_not_designated() {
        let closed = Designation { cross_province: false, ..hospital(Agreement::InForce) };
        assert_eq!(admit(Some(&closed), guangzhou()), Err(HospitalRefusal::NotDesignated));
    }

    #[test]
    fn one_registered_in_another_province_is_not_designated_here() {
        let beijing = "110000".parse().unwrap();
        assert_eq!(
            admit(Some(&hospital(Agreement::InForce)), beijing),
            Err(HospitalRefusal::NotDesignated)
        );
    }

    #[test]
    fn seed_004_art_49_a_suspended_or_ended_agreement_stops_direct_settlement() {
        assert_eq!(
            admit(Some(&hospital(Agreement::Suspended)), guangzhou()),
            Err(HospitalRefusal::AgreementSuspended)
        );
        assert_eq!(
            admit(Some(&hospital(Agreement::Ended)), guangzhou()),
            Err(HospitalRefusal::AgreementEnded)
        );
    }

    #[test]
    fn agreement_codes_read_back() {
        for agreement in [Agreement::InForce, Agreement::Suspended, Agreement::Ended] {
            assert_eq!(Agreement::parse(agreement.code()), Some(agreement));
        }
        assert_eq!(Agreement::parse("closed"), None);
    }
}
