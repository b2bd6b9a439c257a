//! The limits agree (issue #10 §3): the largest bill the exchange takes — `BILL_LINES_MAX`
//! lines, `BILL_BYTES_MAX` bytes — becomes a settlement request, and a result with a line
//! each, that fit in one Kafka message in either content type; one byte more is refused with
//! a reason at the exchange, before anything is sent. A month's statement whose detail would
//! not fit goes in parts that each fit, and the hub reads the same totals from the parts as
//! from the whole.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests panic: a failure should stop with a backtrace.
#![allow(clippy::as_conversions)] // Test data is small and made here: counts and indexes fit.

use prost::Message;
use yidi_bus::limits::MESSAGE_BYTES_MAX;
use yidi_domain::claim::BILL_LINES_MAX;
use yidi_wire::codec::{self, ContentType};
use yidi_wire::convert::{self, BILL_BYTES_MAX};
use yidi_wire::v1::{DischargeBill, LineResult, Setldetail, Setlinfo, SettleRequest, SettleResult};

/// A valid bill of `BILL_LINES_MAX` lines, its hospital codes padded until it is exactly
/// `BILL_BYTES_MAX` bytes.
fn largest_bill() -> DischargeBill {
    let catalogue = yidi_data::treatment_catalogues().unwrap().remove(0);
    let treatment = catalogue.region;
    let insured = if treatment.as_str().starts_with("44") { "120000" } else { "440000" };
    let mut simulator = yidi_sim::Simulator::new(7);
    let now = chrono::NaiveDate::from_ymd_opt(2026, 11, 29).unwrap().and_hms_opt(10, 0, 0).unwrap();
    let mut bill =
        yidi_sim::his::discharge(&mut simulator, insured.parse().unwrap(), 1, &catalogue, now, 1);
    let template = bill.feedetail[0].clone();
    bill.feedetail = (0..BILL_LINES_MAX)
        .map(|n| yidi_wire::v1::FeeDetail { feedetl_sn: format!("{n:030}"), ..template.clone() })
        .collect();
    // Pad the hospital's own codes a character at a time, line after line, until the bill is
    // exactly at the limit (a few rounds: a length prefix may grow by a byte).
    let mut next = 0;
    for _ in 0..8 {
        let size = bill.encoded_len();
        for _ in 0..size.abs_diff(BILL_BYTES_MAX) {
            let code = &mut bill.feedetail[next % BILL_LINES_MAX].medins_list_codg;
            if size < BILL_BYTES_MAX {
                code.push('H');
            } else {
                code.pop();
            }
            next += 1;
        }
    }
    assert_eq!(bill.encoded_len(), BILL_BYTES_MAX);
    let province = treatment.province();
    convert::validate_bill(&bill, province).unwrap();
    bill
}

#[test]
fn the_largest_bill_its_request_and_its_result_each_fit_in_one_message() {
    let bill = largest_bill();
    let catalogue = yidi_data::treatment_catalogues().unwrap().remove(0);
    let request = SettleRequest {
        lines: convert::classify(&bill, &catalogue.catalogue),
        bill: Some(bill.clone()),
        catalogue_version: catalogue.catalogue.version.clone(),
        exchange: catalogue.region.province().to_string(),
        requested_at: "2026-11-29 10:00:00".into(),
    };
    let amount = "99999999.99".to_owned();
    let result = SettleResult {
        msgid: bill.msgid.clone(),
        setlinfo: Some(Setlinfo {
            setl_id: "S".repeat(40),
            medfee_sumamt: amount.clone(),
            fund_pay_sumamt: amount.clone(),
            ..Setlinfo::default()
        }),
        setldetail: (0..8)
            .map(|n| Setldetail { fund_pay_type: format!("{n:06}"), fund_payamt: amount.clone() })
            .collect(),
        lines: bill
            .feedetail
            .iter()
            .map(|fee| LineResult {
                feedetl_sn: fee.feedetl_sn.clone(),
                med_list_codg: fee.med_list_codg.clone(),
                chrgitm_lv: "B".into(),
                det_item_fee_sumamt: amount.clone(),
                fulamt_ownpay_amt: amount.clone(),
                overlmt_amt: amount.clone(),
                preselfpay_amt: amount.clone(),
                inscp_scp_amt: amount.clone(),
            })
            .collect(),
        ..SettleResult::default()
    };
    for content_type in [ContentType::Protobuf, ContentType::Json] {
        let sizes = [
            ("bill", codec::encode(&bill, content_type).len()),
            ("request", codec::encode(&request, content_type).len()),
            ("result", codec::encode(&result, content_type).len()),
        ];
        for (what, size) in sizes {
            // Headers and key take well under a kilobyte.
            assert!(
                size + 4096 <= MESSAGE_BYTES_MAX,
                "{what} as {content_type:?}: {size} bytes, over {MESSAGE_BYTES_MAX}"
            );
        }
    }
}

#[test]
fn a_bill_one_byte_over_the_limit_is_refused_at_the_exchange_with_its_size() {
    let mut bill = largest_bill();
    bill.feedetail[1].medins_list_codg.push('H');
    let province = bill.mdtrtarea_admvs.parse::<yidi_domain::ids::RegionCode>().unwrap().province();
    let error = convert::validate_bill(&bill, province).unwrap_err().to_string();
    assert!(error.contains(&format!("at most {BILL_BYTES_MAX}")), "{error}");
}

fn fen(fen: i64) -> yidi_domain::money::Amount {
    yidi_domain::money::Amount::round2(rust_decimal::Decimal::new(fen, 2))
}

/// A month of a busy treatment province: 400,000 settlements (a tenth of them reversed in the
/// same month) for 31 insured provinces — about 17 MB of settlement ids.
fn busy_month() -> Vec<yidi_exchange::statement::Detail> {
    let provinces: Vec<String> =
        (11..=65).step_by(2).take(31).map(|p| format!("{p}0000")).collect();
    (0..400_000u32)
        .map(|n| {
            let insured = provinces[n as usize % provinces.len()].clone();
            let fund = fen(i64::from(n % 9_000_000) + 1);
            yidi_exchange::statement::Detail {
                setl_id: format!("{insured}{n:032x}"),
                insured,
                settled: true,
                reversed: n % 10 == 0,
                medfee: fund + fund,
                fund,
                acct: fen(i64::from(n % 1000)),
            }
        })
        .collect()
}

#[test]
fn a_statement_too_large_for_one_message_goes_in_parts_that_add_up_to_the_whole() {
    let mut details = busy_month();
    details.sort_by(|a, b| (&a.insured, &a.setl_id).cmp(&(&b.insured, &b.setl_id)));
    let province = "310000".parse().unwrap();
    let (period, at) = ("2026-10", "2026-11-01 00:00:00");
    let whole = yidi_exchange::statement::parts(province, period, at, &details, usize::MAX);
    assert_eq!(whole.len(), 1);
    assert!(
        codec::encode(&whole[0], ContentType::Protobuf).len() > MESSAGE_BYTES_MAX,
        "the month must be too large for one message, or this test shows nothing"
    );
    let parts = yidi_exchange::statement::parts(
        province,
        period,
        at,
        &details,
        yidi_bus::limits::STATEMENT_PART_ID_BYTES,
    );
    assert!(parts.len() > 2, "{} parts", parts.len());
    for part in &parts {
        assert_eq!(
            (part.parts as usize, part.stmt_id.as_str()),
            (parts.len(), parts[0].stmt_id.as_str())
        );
        for content_type in [ContentType::Protobuf, ContentType::Json] {
            let size = codec::encode(part, content_type).len();
            assert!(
                size + 4096 <= MESSAGE_BYTES_MAX,
                "part {} as {content_type:?}: {size} bytes, over {MESSAGE_BYTES_MAX}",
                part.part
            );
        }
    }
    assert_eq!(
        yidi_hub::statement::whole(&parts).unwrap(),
        yidi_hub::statement::totals(&whole[0]).unwrap(),
        "the hub reconciles the same totals and ids from the parts as from the whole"
    );
}
