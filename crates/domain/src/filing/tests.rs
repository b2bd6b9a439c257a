//! Filing rules, each test naming the rule of domain.md §2.1 / §4.2 it checks.

use chrono::{NaiveDate, NaiveDateTime};
use rust_decimal::Decimal;

use super::*;
use crate::money::Ratio;

fn day(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

fn at(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap()
}

fn region(text: &str) -> RegionCode {
    text.parse().unwrap()
}

fn ratio(hundredths: i64) -> Ratio {
    Ratio::new(Decimal::new(hundredths, 2)).unwrap()
}

/// Tianjin's points table of `settlement.md` example 01.
fn table() -> CrossProvince {
    CrossProvince {
        mode: AdjustmentMode::Points,
        long_term: ratio(0),
        referral: ratio(10),
        emergency: ratio(10),
        other_temporary: ratio(20),
        unfiled: ratio(20),
        refuse_unfiled: false,
    }
}

fn request(filing_type: FilingType, target: &str, begins_on: &str) -> FilingRequest {
    FilingRequest {
        id: format!("F-{}", filing_type.code()),
        person: "12000019800101001X".into(),
        insured_region: region("120000"),
        filing_type,
        target: region(target),
        begins_on: day(begins_on),
        ends_on: None,
    }
}

fn episode(treatment: &str, admitted_on: &str, settled_at: &str) -> Episode {
    Episode {
        insured_region: region("120000"),
        treatment_region: region(treatment),
        admitted_on: day(admitted_on),
        settled_at: at(settled_at),
        emergency: false,
    }
}

#[test]
fn six_types_fall_into_long_term_and_three_temporary_classes() {
    // N22 art. 7: 异地安置退休 / 异地长期居住 / 常驻异地工作 are long-term.
    let long_term: Vec<_> = FilingType::ALL.into_iter().filter(|t| t.is_long_term()).collect();
    assert_eq!(
        long_term,
        [FilingType::ResettledRetiree, FilingType::LongTermResident, FilingType::PostedWorker]
    );
    assert_eq!(FilingType::Referral.class(), FilingClass::Referral);
    assert_eq!(FilingType::Emergency.class(), FilingClass::Emergency);
    assert_eq!(FilingType::OtherTemporary.class(), FilingClass::OtherTemporary);
    for filing_type in FilingType::ALL {
        assert_eq!(FilingType::parse(filing_type.code()), Some(filing_type));
    }
}

#[test]
fn long_term_filings_are_open_ended() {
    // §2.1 validity: long-term "长期有效".
    let rules = FilingRules::default();
    let filing = file(
        request(FilingType::ResettledRetiree, "440000", "2026-01-01"),
        &rules,
        &[],
        at("2026-01-01 09:00"),
    )
    .unwrap();
    assert_eq!(filing.ends_on, None);
    let mut with_end = request(FilingType::PostedWorker, "440000", "2026-01-01");
    with_end.ends_on = Some(day("2027-01-01"));
    assert_eq!(
        file(with_end, &rules, &[], at("2026-01-01 09:00")),
        Err(FilingError::LongTermWithEnd)
    );
}

#[test]
fn temporary_filings_last_at_least_six_months() {
    // §2.1 validity: temporary "原则上不少于6个月".
    let rules = FilingRules::default();
    let filing = file(
        request(FilingType::OtherTemporary, "440000", "2026-03-15"),
        &rules,
        &[],
        at("2026-03-15 09:00"),
    )
    .unwrap();
    assert_eq!(filing.ends_on, Some(day("2026-09-15")));

    let mut short = request(FilingType::Referral, "440000", "2026-03-15");
    short.ends_on = Some(day("2026-06-15"));
    let refused = file(short, &rules, &[], at("2026-03-15 09:00"));
    assert!(matches!(refused, Err(FilingError::TemporaryTooShort { months: 6, .. })));
}

#[test]
fn a_region_may_set_a_longer_temporary_validity_but_not_a_shorter_one() {
    // §2.1: validity is per insured region, never below the national six months.
    let longer = FilingRules { temporary_validity_months: 12, ..FilingRules::default() };
    let filing = file(
        request(FilingType::Referral, "310000", "2026-01-10"),
        &longer,
        &[],
        at("2026-01-10 08:00"),
    )
    .unwrap();
    assert_eq!(filing.ends_on, Some(day("2027-01-10")));
    let shorter = FilingRules { temporary_validity_months: 3, ..FilingRules::default() };
    let filing = file(
        request(FilingType::Referral, "310000", "2026-01-10"),
        &shorter,
        &[],
        at("2026-01-10 08:00"),
    )
    .unwrap();
    assert_eq!(filing.ends_on, Some(day("2026-07-10")));
}

#[test]
fn a_filing_must_leave_the_insured_province() {
    // Cross-province filing: the target lies in another province.
    let refused = file(
        request(FilingType::OtherTemporary, "120100", "2026-01-01"),
        &FilingRules::default(),
        &[],
        at("2026-01-01 09:00"),
    );
    assert!(matches!(refused, Err(FilingError::NotCrossProvince { .. })));
}

#[test]
fn a_province_or_city_target_covers_its_hospitals_only() {
    // §2.1 (NAT-013): a filing may target a province or a city.
    let rules = FilingRules::default();
    let now = at("2026-01-01 09:00");
    let city =
        file(request(FilingType::LongTermResident, "440300", "2026-01-01"), &rules, &[], now)
            .unwrap();
    let shenzhen = episode("440305", "2026-02-01", "2026-02-10 10:00");
    let dongguan = episode("441900", "2026-02-01", "2026-02-10 10:00");
    assert!(covers(&city, &shenzhen));
    assert!(!covers(&city, &dongguan));
    let decision = decide(&[city], &dongguan, &rules, &table());
    assert_eq!(decision, FilingDecision { class: None, basis: FilingBasis::Unfiled });
}

#[test]
fn a_filing_made_after_admission_counts_until_discharge_settlement() {
    // §2.1 late filing (NAT-010): file before discharge settlement and still settle directly.
    let rules = FilingRules::default();
    let filing = file(
        request(FilingType::OtherTemporary, "440000", "2026-02-05"),
        &rules,
        &[],
        at("2026-02-05 15:00"),
    )
    .unwrap();
    let settled_after = episode("440100", "2026-02-01", "2026-02-10 10:00");
    let decision = decide(std::slice::from_ref(&filing), &settled_after, &rules, &table());
    assert_eq!(decision.class, Some(FilingClass::OtherTemporary));
    // The same filing made after settlement does not count for it.
    let settled_before = episode("440100", "2026-02-01", "2026-02-05 14:59");
    assert_eq!(decide(&[filing], &settled_before, &rules, &table()).class, None);
}

#[test]
fn an_expired_filing_does_not_cover_a_later_stay() {
    // §7.2: validate against the stay and the settlement date, not only the filing day.
    let rules = FilingRules::default();
    let filing = file(
        request(FilingType::Referral, "440000", "2026-01-01"),
        &rules,
        &[],
        at("2026-01-01 09:00"),
    )
    .unwrap();
    let later = episode("440100", "2026-08-01", "2026-08-10 10:00");
    assert_eq!(decide(&[filing], &later, &rules, &table()).class, None);
}

#[test]
fn an_emergency_counts_as_filed() {
    // §2.1 (NAT-007): emergency 视同已备案.
    let mut emergency = episode("440100", "2026-02-01", "2026-02-03 10:00");
    emergency.emergency = true;
    let decision = decide(&[], &emergency, &FilingRules::default(), &table());
    assert_eq!(
        decision,
        FilingDecision { class: Some(FilingClass::Emergency), basis: FilingBasis::EmergencyDeemed }
    );
}

#[test]
fn the_most_favourable_applicable_filing_wins() {
    // A long-term resident admitted as an emergency keeps the local (long-term) standard.
    let rules = FilingRules::default();
    let filing = file(
        request(FilingType::LongTermResident, "440000", "2025-01-01"),
        &rules,
        &[],
        at("2025-01-01 09:00"),
    )
    .unwrap();
    let mut emergency = episode("440100", "2026-02-01", "2026-02-03 10:00");
    emergency.emergency = true;
    let decision = decide(&[filing], &emergency, &rules, &table());
    assert_eq!(decision.class, Some(FilingClass::LongTerm));
    assert_eq!(decision.basis, FilingBasis::Filed("F-long_term_resident".into()));
}

#[test]
fn a_revoked_filing_stops_counting_when_revoked() {
    let rules = FilingRules::default();
    let filing = file(
        request(FilingType::OtherTemporary, "440000", "2026-01-01"),
        &rules,
        &[],
        at("2026-01-01 09:00"),
    )
    .unwrap();
    let revoked = revoke(&filing, &rules, at("2026-03-01 09:00")).unwrap();
    let before = episode("440100", "2026-02-01", "2026-02-10 10:00");
    let after = episode("440100", "2026-03-02", "2026-03-10 10:00");
    assert!(covers(&revoked, &before));
    assert!(!covers(&revoked, &after));
    assert_eq!(
        revoke(&revoked, &rules, at("2026-03-02 09:00")),
        Err(FilingError::AlreadyRevoked { id: revoked.id.clone() })
    );
}

#[test]
fn a_long_term_filing_is_locked_for_six_months() {
    // [R] N22: a long-term filing is normally not changed within six months.
    let rules = FilingRules::default();
    let filing = file(
        request(FilingType::ResettledRetiree, "440000", "2026-01-01"),
        &rules,
        &[],
        at("2026-01-01 09:00"),
    )
    .unwrap();
    let change = request(FilingType::LongTermResident, "310000", "2026-03-01");
    let refused =
        file(change.clone(), &rules, std::slice::from_ref(&filing), at("2026-03-01 09:00"));
    assert_eq!(
        refused,
        Err(FilingError::LongTermLocked { id: filing.id.clone(), until: day("2026-07-01") })
    );
    assert!(revoke(&filing, &rules, at("2026-03-01 09:00")).is_err());
    assert!(file(change, &rules, &[filing], at("2026-07-01 09:00")).is_ok());
}

#[test]
fn jing_jin_ji_insured_count_as_filed_in_the_region() {
    // §1 timeline: from 2023 京津冀 uses 视同备案 inside the region.
    let rules = FilingRules {
        deemed_filed: vec![region("110000"), region("130000")],
        deemed_class: FilingClass::Referral,
        ..FilingRules::default()
    };
    let beijing = episode("110105", "2026-02-01", "2026-02-03 10:00");
    let decision = decide(&[], &beijing, &rules, &table());
    assert_eq!(
        decision,
        FilingDecision { class: Some(FilingClass::Referral), basis: FilingBasis::RegionDeemed }
    );
    let guangzhou = episode("440100", "2026-02-01", "2026-02-03 10:00");
    assert_eq!(decide(&[], &guangzhou, &rules, &table()).class, None);
}

#[test]
fn a_multiplier_table_prefers_the_larger_factor() {
    // §4.2: some regions pay a fraction of the local ratio rather than taking points off.
    let multiplier = CrossProvince {
        mode: AdjustmentMode::Multiplier,
        long_term: ratio(100),
        referral: ratio(90),
        emergency: ratio(90),
        other_temporary: ratio(70),
        unfiled: ratio(70),
        refuse_unfiled: false,
    };
    let rules = FilingRules::default();
    let temporary = file(
        request(FilingType::OtherTemporary, "440000", "2026-01-01"),
        &rules,
        &[],
        at("2026-01-01 09:00"),
    )
    .unwrap();
    let mut emergency = episode("440100", "2026-02-01", "2026-02-03 10:00");
    emergency.emergency = true;
    assert_eq!(
        decide(&[temporary], &emergency, &rules, &multiplier).class,
        Some(FilingClass::Emergency)
    );
    assert_eq!(multiplier.adjust(Decimal::new(80, 2), None), Decimal::new(5600, 4));
}
