//! What a party is, and which regions it speaks for.

use std::fmt;
use std::str::FromStr;

use yidi_domain::ids::RegionCode;

use crate::error::TrustError;

/// A party's role, written in certificates as text: `root`, `hub`,
/// `agency:110000,120000`, `exchange:310000`, `his:310000`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Role {
    /// The network's root: certifies the others, signs no message.
    Root,
    /// The national hub: routes requests and results, stamps clearing periods.
    Hub,
    /// An insured-place agency hosting these insured regions: issues results and filings
    /// for persons insured in them.
    Agency(Vec<RegionCode>),
    /// The hospital exchange of a treatment province: submits its hospitals' bills and
    /// reversals, and their statements.
    Exchange(RegionCode),
    /// A hospital information system of a treatment province.
    His(RegionCode),
}

impl Role {
    /// Whether a party in this role may speak for persons insured in `insured`: an agency for
    /// a region it hosts (a province it hosts covers the province's regions).
    pub fn hosts(&self, insured: RegionCode) -> bool {
        match self {
            Role::Agency(regions) => regions.iter().any(|hosted| hosted.covers(insured)),
            _ => false,
        }
    }

    /// Whether a party in this role speaks for hospitals treating in `treatment`.
    pub fn treats_in(&self, treatment: RegionCode) -> bool {
        match self {
            Role::Exchange(province) | Role::His(province) => province.same_province(treatment),
            _ => false,
        }
    }

    pub fn is_hub(&self) -> bool {
        matches!(self, Role::Hub)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Role::Root => f.write_str("root"),
            Role::Hub => f.write_str("hub"),
            Role::Agency(regions) => {
                f.write_str("agency:")?;
                for (n, region) in regions.iter().enumerate() {
                    if n > 0 {
                        f.write_str(",")?;
                    }
                    f.write_str(region.as_str())?;
                }
                Ok(())
            }
            Role::Exchange(province) => write!(f, "exchange:{province}"),
            Role::His(province) => write!(f, "his:{province}"),
        }
    }
}

impl FromStr for Role {
    type Err = TrustError;

    fn from_str(text: &str) -> Result<Role, TrustError> {
        let invalid = || TrustError::Invalid(format!("role {text:?}"));
        let region = |code: &str| code.parse::<RegionCode>().map_err(|_| invalid());
        match text.split_once(':') {
            None if text == "root" => Ok(Role::Root),
            None if text == "hub" => Ok(Role::Hub),
            Some(("agency", regions)) => {
                let regions = regions.split(',').map(region).collect::<Result<Vec<_>, _>>()?;
                Ok(Role::Agency(regions))
            }
            Some(("exchange", province)) => Ok(Role::Exchange(region(province)?.province())),
            Some(("his", province)) => Ok(Role::His(region(province)?.province())),
            _ => Err(invalid()),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn region(code: &str) -> RegionCode {
        code.parse().unwrap()
    }

    #[test]
    fn roles_read_back_as_written() {
        for text in ["root", "hub", "agency:110000,120000", "exchange:310000", "his:440000"] {
            assert_eq!(text.parse::<Role>().unwrap().to_string(), text);
        }
        assert!("agency:".parse::<Role>().is_err());
        assert!("minister".parse::<Role>().is_err());
    }

    #[test]
    fn an_agency_speaks_only_for_the_regions_it_hosts() {
        let south: Role = "agency:310000,441900".parse().unwrap();
        assert!(south.hosts(region("441900")));
        assert!(south.hosts(region("310104")), "a province hosted covers its districts");
        assert!(!south.hosts(region("440300")), "Dongguan's agency is not Shenzhen's");
        assert!(!south.hosts(region("110000")));
        assert!(!Role::Hub.hosts(region("110000")));
    }

    #[test]
    fn an_exchange_speaks_only_for_its_own_province() {
        let shanghai: Role = "exchange:310000".parse().unwrap();
        assert!(shanghai.treats_in(region("310104")));
        assert!(!shanghai.treats_in(region("440300")));
    }
}
