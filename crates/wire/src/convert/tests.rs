use chrono::NaiveDateTime;
use yidi_domain::settle::{settle, Outcome};

use super::*;
use crate::codec::{decode, encode, ContentType};
use crate::v1::FeeDetail;

fn at(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, TIME_FORMAT).unwrap()
}

fn fee(sn: &str, code: &str, cnt: &str, pric: &str) -> FeeDetail {
    FeeDetail {
        feedetl_sn: sn.into(),
        med_list_codg: code.into(),
        cnt: cnt.into(),
        pric: pric.into(),
        ..FeeDetail::default()
    }
}

fn bill() -> DischargeBill {
    DischargeBill {
        msgid: msgid("H44010100001", at("2026-11-23 10:15:00"), 17),
        mdtrt_id: "MD4401202611230001".into(),
        psn_no: "12000000000000000001".into(),
        insutype: "310".into(),
        insuplc_admdvs: "120000".into(),
        mdtrtarea_admvs: "440100".into(),
        fixmedins_code: "H44010100001".into(),
        hosp_lv: 3,
        med_type: "21".into(),
        begntime: "2026-11-10 09:00:00".into(),
        endtime: "2026-11-23 10:00:00".into(),
        feedetail: vec![fee("1", "XA0101", "10", "120.00"), fee("2", "NOPE", "1", "99.90")],
        ..DischargeBill::default()
    }
}

fn exchange() -> RegionCode {
    "440000".parse().unwrap()
}

fn refusal(bill: &DischargeBill) -> String {
    validate_bill(bill, exchange()).unwrap_err().to_string()
}

#[test]
fn msgids_have_the_national_shape() {
    // domain.md §3: msgid = fixmedins_code(12) + yyyyMMddHHmmss(14) + seq(4).
    let id = msgid("H41130200746", at("2024-03-01 16:42:00"), 9428);
    assert_eq!(id, "H41130200746202403011642009428");
    assert!(check_msgid(&id, "msgid").is_ok());
    assert!(check_msgid("H411302007462024030116420094", "msgid").is_err());
    assert!(check_msgid("H41130200746202413011642009428", "msgid").is_err());
}

/// Issue #26 §6: a msgid is its institution's (its first twelve characters are the bill's
/// `fixmedins_code`), so one hospital cannot take another's next msgid.
#[test]
fn a_bill_under_another_institutions_msgid_is_refused() {
    assert!(validate_bill(&bill(), exchange()).is_ok());
    let mut taken = bill();
    taken.msgid = msgid("H44010100002", at("2026-11-23 10:15:00"), 17);
    assert!(refusal(&taken).starts_with("msgid: does not begin with"), "{}", refusal(&taken));
}

/// Issue #26 §6: a line, and a bill, larger than any real one are refused with the field
/// named, at the exchange and again where the agency reads the request.
#[test]
fn a_line_or_a_bill_larger_than_a_real_one_is_refused_naming_the_field() {
    let mut costly = bill();
    costly.feedetail[1] = fee("2", "NOPE", "2", "2500000.01");
    assert!(refusal(&costly).starts_with("feedetail[1]:"), "{}", refusal(&costly));
    let mut many = bill();
    many.feedetail = (0..3).map(|n| fee(&n.to_string(), "XA0101", "1", "4000000.00")).collect();
    assert!(refusal(&many).starts_with("feedetail:"), "{}", refusal(&many));
    let lines: Vec<ClassifiedLine> = many
        .feedetail
        .iter()
        .map(|f| ClassifiedLine {
            feedetl_sn: f.feedetl_sn.clone(),
            med_list_codg: f.med_list_codg.clone(),
            cnt: f.cnt.clone(),
            pric: f.pric.clone(),
            ..ClassifiedLine::default()
        })
        .collect();
    assert!(request_lines(&lines, "v1").is_err(), "the agency refuses it too");
}

#[test]
fn a_bill_without_an_insured_place_is_refused() {
    // domain.md §7.5: missing insuplc_admdvs → rejected.
    let mut missing = bill();
    missing.insuplc_admdvs.clear();
    assert_eq!(refusal(&missing), "insuplc_admdvs: missing field");
}

#[test]
fn the_exchange_checks_place_lines_and_times() {
    assert!(validate_bill(&bill(), exchange()).is_ok());
    let mut local = bill();
    local.insuplc_admdvs = "440300".into();
    assert!(refusal(&local).contains("not cross-province"));
    let mut elsewhere = bill();
    elsewhere.mdtrtarea_admvs = "310000".into();
    assert!(refusal(&elsewhere).starts_with("mdtrtarea_admvs"));
    let mut negative = bill();
    negative.feedetail[1].cnt = "-2".into();
    assert_eq!(refusal(&negative), "feedetail[1].cnt: must not be negative");
    let mut empty = bill();
    empty.feedetail.clear();
    assert!(refusal(&empty).starts_with("feedetail"));
    let mut level = bill();
    level.hosp_lv = 4;
    assert!(refusal(&level).starts_with("hosp_lv"));
}

#[test]
fn bills_travel_as_protobuf_or_as_json_with_national_names() {
    let original = bill();
    let bytes = encode(&original, ContentType::Protobuf);
    let back: DischargeBill = decode(&bytes, ContentType::Protobuf, "DischargeBill").unwrap();
    assert_eq!(back, original);
    let json = encode(&original, ContentType::Json);
    let text = String::from_utf8(json.clone()).unwrap();
    assert!(text.contains("\"insuplc_admdvs\":\"120000\""), "{text}");
    let back: DischargeBill = decode(&json, ContentType::Json, "DischargeBill").unwrap();
    assert_eq!(back, original);
    let camel = text.replace("insuplc_admdvs", "insuplcAdmdvs");
    let back: DischargeBill = decode(camel.as_bytes(), ContentType::Json, "DischargeBill").unwrap();
    assert_eq!(back.insuplc_admdvs, "120000");
    assert!(decode::<DischargeBill>(b"{not json", ContentType::Json, "DischargeBill").is_err());
}

#[test]
fn classifying_at_the_exchange_settles_like_the_whole_catalogue() {
    // 就医地目录、参保地政策: the agency settles with the lines as the treatment place classified
    // them; the result must equal settling with the whole treatment-place catalogue.
    let regions = yidi_data::insured_regions().unwrap();
    let catalogues = yidi_data::treatment_catalogues().unwrap();
    let treatment = catalogues.iter().find(|c| c.region.as_str() == "440000").unwrap();
    let mut simulator = yidi_sim::Simulator::new(5);
    for policy in regions.iter().flat_map(|region| &region.schemes) {
        for _ in 0..50 {
            let case = simulator.case(policy, treatment);
            let mut wire_bill = bill();
            wire_bill.feedetail = case
                .claim
                .lines
                .iter()
                .enumerate()
                .map(|(i, l)| {
                    let (cnt, pric) =
                        (l.quantity.value().to_string(), l.unit_price.value().to_string());
                    fee(&i.to_string(), &l.code, &cnt, &pric)
                })
                .collect();
            let classified = classify(&wire_bill, &treatment.catalogue);
            let (lines, attached) =
                request_lines(&classified, &treatment.catalogue.version).unwrap();
            let mut claim = case.claim.clone();
            claim.lines = lines;
            match (
                settle(&case.claim, policy, &treatment.catalogue),
                settle(&claim, policy, &attached),
            ) {
                (Outcome::Settled(whole), Outcome::Settled(attached_only)) => {
                    assert_eq!(whole.buckets, attached_only.buckets);
                    assert_eq!(whole.fund_pay_sumamt, attached_only.fund_pay_sumamt);
                    assert_eq!(whole.ytd_after, attached_only.ytd_after);
                }
                (whole, attached_only) => assert_eq!(whole, attached_only),
            }
        }
    }
}

#[test]
fn a_bill_without_trace_context_starts_a_w3c_trace_of_its_own() {
    let parent = traceparent("H41130200746202403011642009428");
    let parts: Vec<&str> = parent.split('-').collect();
    assert_eq!(parts.len(), 4);
    assert_eq!((parts[0], parts[1].len(), parts[2].len(), parts[3]), ("00", 32, 16, "01"));
    assert_eq!(parent, traceparent("H41130200746202403011642009428"));
    assert_ne!(parent, traceparent("H41130200746202403011642009429"));
}

#[test]
fn a_persons_bill_and_its_2601_reversal_share_one_key_that_does_not_show_the_person_number() {
    let bill = bill();
    let reversal = reversal_of(&bill, format!("{}R", bill.msgid), "timeout");
    let key = person_key(&bill.psn_no);
    assert_eq!(person_key(&reversal.psn_no), key, "one key, so one partition and one order");
    assert_ne!(person_key("110000000000000002"), key, "another person, another key");
    assert!(!key.contains(&bill.psn_no));
    assert_eq!(key.len(), 16);
}
