//! The `yidi quote` case: one self-contained bill with its policy and catalogue
//! (`settlement.md`, "Inputs").

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;
use yidi_domain::catalogue::{Catalogue, Quantity, UnitPrice};
use yidi_domain::claim::{
    Accumulators, BenefitStatus, BillLine, Claim, Flags, Person, ThirdParty, BILL_LINES_MAX,
};
use yidi_domain::error::ValueError;
use yidi_domain::filing::FilingClass;
use yidi_domain::ids::HospitalLevel;
use yidi_domain::money::Amount;
use yidi_domain::policy::Policy;

use crate::dto::{amount, decimal, tier_number, value_error, CatalogueDto, PolicyDto};
use crate::error::{from_json, FormatError};
use crate::path::FieldPath;
use crate::scalar::Scalar;

#[derive(Debug, Deserialize)]
struct PersonDto<'a> {
    #[serde(default)]
    retiree: bool,
    #[serde(default)]
    assistance_eligible: bool,
    #[serde(borrow)]
    benefit_status: Cow<'a, str>,
    #[serde(default)]
    use_account: bool,
    #[serde(default, borrow)]
    account_balance: Option<Scalar<'a>>,
    /// The resident contribution tier paid (seed 004 art. 14), `1` to `9`.
    #[serde(default, borrow)]
    contribution_tier: Option<Scalar<'a>>,
    /// Paid the contribution of a contributory large-amount layer (seed 004 art. 56).
    #[serde(default)]
    large_amount_contributor: bool,
}

#[derive(Debug, Deserialize)]
struct FilingDto<'a> {
    #[serde(rename = "type", default, borrow)]
    class: Option<Cow<'a, str>>,
}

#[derive(Debug, Deserialize)]
struct YtdDto<'a> {
    #[serde(borrow)]
    admissions: Scalar<'a>,
    #[serde(borrow)]
    pool_paid: Scalar<'a>,
    #[serde(borrow)]
    catastrophic_paid: Scalar<'a>,
    #[serde(borrow)]
    assistance_paid: Scalar<'a>,
    /// The year's in-scope expense the pooled fund left to the person (0 when absent).
    #[serde(default, borrow)]
    inscp_selfborne: Option<Scalar<'a>>,
}

#[derive(Debug, Deserialize)]
struct LineDto<'a> {
    #[serde(borrow)]
    code: Cow<'a, str>,
    #[serde(borrow)]
    qty: Scalar<'a>,
    #[serde(borrow)]
    unit_price: Scalar<'a>,
}

#[derive(Debug, Default, Deserialize)]
struct FlagsDto {
    #[serde(default)]
    work_injury: bool,
    #[serde(default)]
    third_party: bool,
    /// `unpaid`, `unidentified` or `paid`; only with `third_party` (art. 30(2)).
    #[serde(default)]
    third_party_status: Option<String>,
    #[serde(default)]
    public_health: bool,
    #[serde(default)]
    abroad: bool,
}

impl FlagsDto {
    fn to_flags(&self, path: &FieldPath) -> Result<Flags, FormatError> {
        let status_path = path.field("third_party_status");
        let third_party_status = match self.third_party_status.as_deref() {
            None => ThirdParty::Unstated,
            Some(_) if !self.third_party => {
                return Err(FormatError::invalid(status_path, "needs \"third_party\": true"))
            }
            Some(text) => ThirdParty::parse(text).ok_or_else(|| {
                FormatError::invalid(
                    status_path,
                    format!("{text:?} is not \"unpaid\", \"unidentified\" or \"paid\""),
                )
            })?,
        };
        Ok(Flags {
            work_injury: self.work_injury,
            third_party: self.third_party,
            third_party_status,
            public_health: self.public_health,
            abroad: self.abroad,
        })
    }
}

/// One case as it arrives.
#[derive(Debug, Deserialize)]
pub struct CaseDto<'a> {
    #[serde(borrow)]
    policy: PolicyDto<'a>,
    #[serde(borrow)]
    catalogue: CatalogueDto<'a>,
    #[serde(borrow)]
    person: PersonDto<'a>,
    #[serde(default, borrow)]
    filing: Option<FilingDto<'a>>,
    #[serde(borrow)]
    hospital_level: Scalar<'a>,
    #[serde(borrow)]
    ytd: YtdDto<'a>,
    #[serde(borrow)]
    lines: Vec<LineDto<'a>>,
    #[serde(default)]
    flags: FlagsDto,
}

/// One case as domain values, ready for [`yidi_domain::settle::settle`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuoteCase {
    pub policy: Policy,
    pub catalogue: Catalogue,
    pub claim: Claim,
}

/// What a quote input held.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cases {
    One(Box<QuoteCase>),
    Many(Vec<QuoteCase>),
}

/// The input as raw case texts: one, or the elements of an array, so that callers may parse
/// them in parallel with [`parse_case`].
pub enum RawCases<'a> {
    One(&'a str),
    Many(Vec<&'a RawValue>),
}

/// Splits an input into its case texts, checking only that it is JSON.
pub fn split_cases(text: &str) -> Result<RawCases<'_>, FormatError> {
    if text.trim_start().starts_with('[') {
        Ok(RawCases::Many(from_json(text)?))
    } else {
        Ok(RawCases::One(text))
    }
}

/// Reads one case's text; `path` is where it sits in the input (`[3]` in an array).
pub fn parse_case(text: &str, path: &FieldPath) -> Result<QuoteCase, FormatError> {
    let dto: CaseDto = from_json(text).map_err(|error| error.within(path))?;
    dto.to_case(path)
}

/// Reads one case, or an array of cases, from JSON text.
pub fn parse_cases(text: &str) -> Result<Cases, FormatError> {
    match split_cases(text)? {
        RawCases::One(text) => Ok(Cases::One(Box::new(parse_case(text, &FieldPath::ROOT)?))),
        RawCases::Many(raws) => raws
            .iter()
            .enumerate()
            .map(|(index, raw)| parse_case(raw.get(), &FieldPath::ROOT.index(index)))
            .collect::<Result<Vec<_>, _>>()
            .map(Cases::Many),
    }
}

impl CaseDto<'_> {
    /// Converts to domain values at `path`.
    pub fn to_case(&self, path: &FieldPath) -> Result<QuoteCase, FormatError> {
        let mut policy = self.policy.to_policy(&path.field("policy"), None, None)?;
        policy.version = format!("case:{}", policy.fingerprint());
        let mut catalogue = self.catalogue.to_catalogue(&path.field("catalogue"))?;
        catalogue.version = format!("case:{}", catalogue.fingerprint());
        let level_path = path.field("hospital_level");
        let hospital_level = self
            .hospital_level
            .whole()
            .map_err(|_| ValueError::UnknownHospitalLevel)
            .and_then(HospitalLevel::from_number)
            .map_err(|error| value_error(&level_path, error))?;
        let claim = Claim {
            person: self.person(path, &policy)?,
            filing: self.filing_class(path)?,
            hospital_level,
            ytd: self.ytd(path)?,
            lines: self.lines(path)?,
            flags: self.flags.to_flags(&path.field("flags"))?,
        };
        Ok(QuoteCase { policy, catalogue, claim })
    }

    fn person(&self, path: &FieldPath, policy: &Policy) -> Result<Person, FormatError> {
        let person = &self.person;
        let person_path = path.field("person");
        let benefit_status = match person.benefit_status.as_ref() {
            "active" => BenefitStatus::Active,
            "suspended" => BenefitStatus::Suspended,
            other => {
                return Err(FormatError::invalid(
                    person_path.field("benefit_status"),
                    format!("{other:?} is not \"active\" or \"suspended\""),
                ))
            }
        };
        let account_balance = match &person.account_balance {
            Some(balance) => amount(balance, &person_path.field("account_balance"))?,
            None => Amount::ZERO,
        };
        let tier_path = person_path.field("contribution_tier");
        let contribution_tier = match &person.contribution_tier {
            None => None,
            Some(tier) => Some(
                tier_number(&tier.text)
                    .ok_or_else(|| FormatError::invalid(tier_path, "a tier is a number 1 to 9"))?,
            ),
        };
        // A region with tiers knows every tier it sells; one without ignores the tier.
        if !policy.tiers.is_empty()
            && contribution_tier.is_some()
            && policy.tier(contribution_tier).is_none()
        {
            return Err(FormatError::invalid(tier_path, "not a tier of the policy"));
        }
        Ok(Person {
            retiree: person.retiree,
            assistance_eligible: person.assistance_eligible,
            benefit_status,
            use_account: person.use_account,
            account_balance,
            contribution_tier,
            large_amount_contributor: person.large_amount_contributor,
        })
    }

    fn filing_class(&self, path: &FieldPath) -> Result<Option<FilingClass>, FormatError> {
        match self.filing.as_ref().and_then(|filing| filing.class.as_deref()) {
            None => Ok(None),
            Some(code) => FilingClass::parse(code).map(Some).ok_or_else(|| {
                let filing = path.field("filing");
                value_error(&filing.field("type"), ValueError::UnknownFilingClass)
            }),
        }
    }

    fn ytd(&self, path: &FieldPath) -> Result<Accumulators, FormatError> {
        let ytd = &self.ytd;
        let ytd_path = path.field("ytd");
        let admissions =
            ytd.admissions.whole().ok().and_then(|count| u32::try_from(count).ok()).ok_or_else(
                || FormatError::invalid(ytd_path.field("admissions"), "must be a whole number ≥ 0"),
            )?;
        Ok(Accumulators {
            admissions,
            pool_paid: amount(&ytd.pool_paid, &ytd_path.field("pool_paid"))?,
            catastrophic_paid: amount(
                &ytd.catastrophic_paid,
                &ytd_path.field("catastrophic_paid"),
            )?,
            assistance_paid: amount(&ytd.assistance_paid, &ytd_path.field("assistance_paid"))?,
            inscp_selfborne: match &ytd.inscp_selfborne {
                Some(text) => amount(text, &ytd_path.field("inscp_selfborne"))?,
                None => Amount::ZERO,
            },
        })
    }

    fn lines(&self, path: &FieldPath) -> Result<Vec<BillLine>, FormatError> {
        let lines_path = path.field("lines");
        if self.lines.len() > BILL_LINES_MAX {
            return Err(FormatError::invalid(
                lines_path,
                format!("at most {BILL_LINES_MAX} lines per bill"),
            ));
        }
        self.lines
            .iter()
            .enumerate()
            .map(|(index, line)| {
                let line_path = lines_path.index(index);
                if line.code.trim().is_empty() {
                    return Err(FormatError::invalid(line_path.field("code"), "must not be empty"));
                }
                let qty_path = line_path.field("qty");
                let quantity = Quantity::new(decimal(&line.qty, &qty_path)?)
                    .map_err(|error| value_error(&qty_path, error))?;
                let price_path = line_path.field("unit_price");
                let unit_price = UnitPrice::new(decimal(&line.unit_price, &price_path)?)
                    .map_err(|error| value_error(&price_path, error))?;
                Ok(BillLine { code: line.code.to_string(), quantity, unit_price })
            })
            .collect()
    }
}
