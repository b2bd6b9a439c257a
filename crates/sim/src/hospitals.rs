//! The sample register of designated institutions: forty hospitals in three cities of each
//! treatment province, every one opened for cross-province direct settlement with its
//! agreement in force. Deterministic, so that the hub, every exchange and every simulated HIS
//! agree on it without exchanging it.

use yidi_domain::hospital::{Agreement, Designation};
use yidi_domain::ids::{HospitalLevel, RegionCode};

/// Designated hospitals per treatment province in the sample register.
pub const PER_PROVINCE: u64 = 40;

/// Hospital `number` (below [`PER_PROVINCE`]) of a treatment province.
pub fn designation(treatment: RegionCode, number: u64) -> Designation {
    let number = number % PER_PROVINCE;
    let province = treatment.province();
    let city_text = format!("{}{:02}00", &province.as_str()[..2], 1 + number % 3);
    let city = city_text.parse().unwrap_or(province);
    // Cross-province inpatients go mostly to tertiary hospitals: six in ten are level 3,
    // three level 2, one level 1.
    let level = match number % 10 {
        0 => HospitalLevel::One,
        1..=3 => HospitalLevel::Two,
        _ => HospitalLevel::Three,
    };
    Designation {
        code: format!("H{city_text}{number:05}"),
        name: format!("{city_text} 定点医院 {:02}", number + 1),
        region: city,
        level,
        cross_province: true,
        agreement: Agreement::InForce,
    }
}

/// The register of a treatment province.
pub fn register(treatment: RegionCode) -> Vec<Designation> {
    (0..PER_PROVINCE).map(|number| designation(treatment, number)).collect()
}

/// The register entry of an institution code, if it is one of the sample's.
pub fn find(code: &str) -> Option<Designation> {
    let city: RegionCode = code.get(1..7)?.parse().ok()?;
    let number: u64 = code.get(7..)?.parse().ok()?;
    let found = designation(city, number);
    (number < PER_PROVINCE && found.code == code).then_some(found)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn every_code_of_the_register_is_found_and_no_other() {
        let guangdong = "440000".parse().unwrap();
        for hospital in register(guangdong) {
            assert_eq!(find(&hospital.code), Some(hospital.clone()));
            assert!(hospital.region.same_province(guangdong));
            assert_eq!(hospital.code.len(), 12, "fixmedins_code is 12 characters");
        }
        assert_eq!(find("H44010000040"), None, "beyond the forty");
        assert_eq!(find("H44010000001"), None, "hospital 1 is in the second city");
        assert_eq!(find("nonsense"), None);
    }
}
