//! Why a bill is refused, and the rule that says so.
//!
//! Every refusal the network gives — by the engine, the agency, the hub or the exchange —
//! has a reason code (`benefits_suspended`, `province_suspended`, …) and the rule behind it,
//! so that the HIS can tell the patient why and what to do: settle in full at the counter and
//! claim at home, pay the arrears, ask the third party. The citations name the seeds the
//! project was born from (`../shared/seeds/`) and the national interface.

/// A refusal's reason code and the rule behind it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rule {
    pub reason: &'static str,
    pub citation: &'static str,
}

/// What each refusal rests on. A reason not listed here gets no citation; the end-to-end
/// tests check that every refusal reaching a HIS has one.
pub const RULES: [Rule; 27] = [
    Rule {
        reason: "benefits_suspended",
        citation: "Basic medical insurance management regulations II (seed 000): benefits \
                   suspended until arrears are paid; seed 004 art. 17 (waiting period)",
    },
    Rule {
        reason: "work_injury",
        citation: "Social Insurance Law art. 30(1): the work-injury insurance fund pays",
    },
    Rule {
        reason: "third_party_liable",
        citation: "Social Insurance Law art. 30(2): borne by the third party, who pays",
    },
    Rule {
        reason: "public_health",
        citation: "Social Insurance Law art. 30(3): borne by public health",
    },
    Rule { reason: "abroad", citation: "Social Insurance Law art. 30(4): treatment abroad" },
    Rule {
        reason: "not_filed",
        citation: "Notice on direct settlement across provinces III(5): filing with the \
                   insured-place agency before cross-province care; the insured region \
                   settles unfiled care by manual claim",
    },
    Rule {
        reason: "province_suspended",
        citation: "Notice on direct settlement across provinces III(7): the ministry may \
                   suspend direct settlement for a province that delays its funds",
    },
    Rule {
        reason: "unknown_province",
        citation: "Notice on direct settlement across provinces III(6): settled by the \
                   insured place through the national system; no agency serves this one",
    },
    Rule {
        reason: "unknown_region",
        citation: "NHSA interface insuplc_admdvs: the insured place is not one this agency \
                   holds a policy for",
    },
    Rule {
        reason: "unknown_person",
        citation: "Notice on direct settlement across provinces III(5): the insured place's \
                   database does not hold this psn_no",
    },
    Rule {
        reason: "insured_region_mismatch",
        citation: "NHSA interface insuplc_admdvs: the person is insured elsewhere",
    },
    Rule {
        reason: "insutype_mismatch",
        citation: "NHSA interface insutype: the person is not insured under this scheme",
    },
    Rule {
        reason: "scheme_not_covered",
        citation: "Insured-place policy (参保地政策): the region has no policy for this scheme",
    },
    Rule {
        reason: "invalid_request",
        citation: "NHSA interface 2301/2304 input: a field is missing or malformed",
    },
    Rule {
        reason: "msgid_conflict",
        citation: "NHSA interface msgid: unique per transaction; reused for another bill",
    },
    Rule {
        reason: "reversal_refused",
        citation: "NHSA interface 2305/2601: a settlement is reversed only for its own person \
                   and by its own treatment province",
    },
    Rule {
        reason: "hospital_not_designated",
        citation: "Treatment-place supervision (就医地监管): only a designated institution \
                   opened for cross-province direct settlement settles directly",
    },
    Rule {
        reason: "agreement_suspended",
        citation: "Seed 004 art. 49: the institution's service agreement is suspended",
    },
    Rule {
        reason: "agreement_ended",
        citation: "Seed 004 art. 49: the institution's service agreement was ended",
    },
    Rule {
        reason: "direct_settlement_halted",
        citation: "Seed 004 art. 53: direct settlement halted for the person after art. 52; \
                   benefits continue, reimbursed by manual claim at the insured place",
    },
    Rule {
        reason: "hold_exhausted",
        citation: "NHSA interface 2401: the person's remaining pooled-fund cap is held by \
                   another admission; settle in full and claim at home, or after that stay",
    },
    Rule {
        reason: "too_many_holds",
        citation: "NHSA interface 2401: a person is admitted to one stay at a time (and the \
                   next of a same-day transfer); cancel the other admission (2404) or ask \
                   the insured agency to release its hold",
    },
    Rule {
        reason: "duplicate_stay",
        citation: "NHSA interface 2304: an episode (mdtrt_id) is settled once; a corrected \
                   bill is reversed (2601/2305) and then settled again",
    },
    Rule {
        reason: "overlapping_stay",
        citation: "NHSA interface 2304 (begntime, endtime): a person is in one hospital a \
                   night; this stay shares nights with one already settled",
    },
    Rule {
        reason: "classification_mismatch",
        citation: "Treatment-place catalogue (就医地目录): the lines' classes, self-pay shares \
                   and price caps differ from the published edition the request names",
    },
    Rule {
        reason: "level_mismatch",
        citation: "Seed 004 arts. 19-21: the hospital level that sets deductibles and ratios is \
                   the register's, not the bill's",
    },
    Rule {
        reason: "timeout",
        citation: "NHSA interface 2601: no answer in time; reversed, to be retried",
    },
];

/// The rule behind a reason (`code` or `code: detail`), if it is one of [`RULES`].
pub fn rule(reason: &str) -> Option<&'static Rule> {
    let code = reason.split(':').next().unwrap_or(reason).trim();
    RULES.iter().find(|rule| rule.reason == code)
}

/// The citation behind a reason, or an empty string when none is known.
pub fn citation(reason: &str) -> &'static str {
    rule(reason).map_or("", |rule| rule.citation)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_with_detail_is_cited_by_its_code() {
        assert_eq!(citation("invalid_request: psn_no is empty"), citation("invalid_request"));
        assert!(citation("invalid_request").contains("2301"));
    }

    #[test]
    fn each_reason_is_listed_once() {
        for (index, rule) in RULES.iter().enumerate() {
            assert!(
                RULES[index + 1..].iter().all(|other| other.reason != rule.reason),
                "{}",
                rule.reason
            );
            assert!(!rule.citation.is_empty());
        }
    }

    #[test]
    fn every_refusal_of_the_engine_is_cited() {
        use crate::settle::RejectReason;
        for reason in [
            RejectReason::BenefitsSuspended,
            RejectReason::WorkInjury,
            RejectReason::ThirdPartyLiable,
            RejectReason::PublicHealth,
            RejectReason::Abroad,
            RejectReason::NotFiled,
        ] {
            assert!(!reason.citation().is_empty(), "{}", reason.code());
        }
    }

    #[test]
    fn an_unknown_reason_has_no_citation() {
        assert_eq!(citation("made_up"), "");
    }
}
