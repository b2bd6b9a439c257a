//! Codes that identify regions, schemes and hospital levels.

use std::fmt;
use std::str::FromStr;

use crate::error::ValueError;

/// A 6-digit admin-division code (医保区划, GB/T 2260 shape): 2 digits of province,
/// 2 of prefecture, 2 of county. `120000` is Tianjin, `440300` Shenzhen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RegionCode([u8; 6]);

impl RegionCode {
    /// The province that contains this region: `440300` → `440000`.
    pub fn province(self) -> RegionCode {
        let mut digits = self.0;
        digits[2..].copy_from_slice(b"0000");
        RegionCode(digits)
    }

    /// The prefecture (city) that contains this region: `440305` → `440300`.
    pub fn prefecture(self) -> RegionCode {
        let mut digits = self.0;
        digits[4..].copy_from_slice(b"00");
        RegionCode(digits)
    }

    /// A province code names a whole province (`xx0000`).
    pub fn is_province(self) -> bool {
        &self.0[2..] == b"0000"
    }

    /// Cross-province iff the first two digits differ (domain.md §3, admin-division codes).
    pub fn same_province(self, other: RegionCode) -> bool {
        self.0[..2] == other.0[..2]
    }

    /// Whether this code, used as a filing target, covers `region`: a province target covers
    /// the whole province, a prefecture target its prefecture, a county target only itself.
    pub fn covers(self, region: RegionCode) -> bool {
        if self.is_province() {
            self.same_province(region)
        } else if &self.0[4..] == b"00" {
            self.0[..4] == region.0[..4]
        } else {
            self == region
        }
    }

    pub fn as_str(&self) -> &str {
        // The bytes are ASCII digits by construction.
        std::str::from_utf8(&self.0).unwrap_or("??????")
    }
}

impl FromStr for RegionCode {
    type Err = ValueError;

    fn from_str(text: &str) -> Result<RegionCode, ValueError> {
        let bytes = text.as_bytes();
        if bytes.len() != 6 || !bytes.iter().all(u8::is_ascii_digit) || &bytes[..2] == b"00" {
            return Err(ValueError::RegionShape);
        }
        let mut digits = [0u8; 6];
        digits.copy_from_slice(bytes);
        Ok(RegionCode(digits))
    }
}

impl fmt::Display for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The insurance scheme (NHSA `insutype`) whose policy applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scheme {
    /// `310` 职工基本医疗保险: employee basic medical insurance.
    Employee,
    /// `390` 城乡居民基本医疗保险: resident basic medical insurance.
    Resident,
}

impl Scheme {
    /// NHSA: `insutype`.
    pub fn code(self) -> &'static str {
        match self {
            Scheme::Employee => "310",
            Scheme::Resident => "390",
        }
    }
}

impl FromStr for Scheme {
    type Err = ValueError;

    fn from_str(text: &str) -> Result<Scheme, ValueError> {
        match text {
            "310" => Ok(Scheme::Employee),
            "390" => Ok(Scheme::Resident),
            _ => Err(ValueError::UnknownScheme),
        }
    }
}

/// Hospital level 一级/二级/三级: deductibles and ratios depend on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HospitalLevel {
    One,
    Two,
    Three,
}

impl HospitalLevel {
    pub const ALL: [HospitalLevel; 3] =
        [HospitalLevel::One, HospitalLevel::Two, HospitalLevel::Three];

    pub fn from_number(number: u64) -> Result<HospitalLevel, ValueError> {
        match number {
            1 => Ok(HospitalLevel::One),
            2 => Ok(HospitalLevel::Two),
            3 => Ok(HospitalLevel::Three),
            _ => Err(ValueError::UnknownHospitalLevel),
        }
    }

    pub fn number(self) -> u8 {
        match self {
            HospitalLevel::One => 1,
            HospitalLevel::Two => 2,
            HospitalLevel::Three => 3,
        }
    }

    /// Position in per-level tables.
    pub fn index(self) -> usize {
        match self {
            HospitalLevel::One => 0,
            HospitalLevel::Two => 1,
            HospitalLevel::Three => 2,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region(text: &str) -> RegionCode {
        text.parse().unwrap()
    }

    #[test]
    fn region_codes_are_six_digits() {
        assert_eq!("12000".parse::<RegionCode>(), Err(ValueError::RegionShape));
        assert_eq!("1200000".parse::<RegionCode>(), Err(ValueError::RegionShape));
        assert_eq!("12000a".parse::<RegionCode>(), Err(ValueError::RegionShape));
        assert_eq!("000000".parse::<RegionCode>(), Err(ValueError::RegionShape));
        assert_eq!(region("120000").to_string(), "120000");
    }

    #[test]
    fn cross_province_is_decided_by_the_first_two_digits() {
        // domain.md §3: cross-province iff insuplc_admdvs[0:2] != mdtrtarea_admvs[0:2].
        assert!(region("440300").same_province(region("441900")));
        assert!(!region("440300").same_province(region("120000")));
        assert_eq!(region("440305").province(), region("440000"));
        assert_eq!(region("440305").prefecture(), region("440300"));
    }

    #[test]
    fn a_filing_target_covers_its_province_or_city() {
        // domain.md §2.1 (NAT-013): a filing may target a province or a city.
        assert!(region("440000").covers(region("440305")));
        assert!(region("440300").covers(region("440305")));
        assert!(!region("440300").covers(region("441900")));
        assert!(!region("440000").covers(region("310000")));
    }
}
