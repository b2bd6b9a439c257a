//! Conversions between wire messages and domain values, with the checks each edge makes.
//!
//! - The exchange validates a HIS bill ([`validate_bill`]) and classifies its lines with the
//!   treatment-place catalogue ([`classify`]).
//! - The agency rebuilds the lines and the catalogue entries they use from the request
//!   ([`request_lines`]), so it settles with the treatment place's catalogue and its own policy.
//! - A domain outcome becomes a [`SettleResult`] ([`settled_result`], [`rejected_result`]).

use std::collections::BTreeMap;
use std::str::FromStr;

use chrono::{NaiveDate, NaiveDateTime};
use prost::Message as _;
use rust_decimal::Decimal;
use yidi_clearing::funds::{Fund, Funds};
use yidi_domain::catalogue::{Catalogue, CatalogueItem, ItemClass, Quantity, UnitPrice};
use yidi_domain::claim::{BillLine, Flags, ThirdParty, BILL_LINES_MAX};
use yidi_domain::error::ValueError;
use yidi_domain::filing::{Filing, FilingType};
use yidi_domain::fingerprint::Fingerprinter;
use yidi_domain::ids::{HospitalLevel, RegionCode, Scheme};
use yidi_domain::money::{Amount, Ratio};
use yidi_domain::settle::{LineBreakdown, Settlement};
use yidi_formats::FormatError;

use crate::v1::{
    ClassifiedLine, DischargeBill, FilingRecord, LineResult, Reversal, Setldetail, Setlinfo,
    SettleResult, SettleStatus,
};

/// The largest bill taken, as protobuf bytes (whatever content type it came in). With its
/// classified lines, and its result with a line each, it stays well within one Kafka message
/// (`yidi_bus::limits::MESSAGE_BYTES_MAX`; `tests/limits.rs` checks the largest bill fits).
pub const BILL_BYTES_MAX: usize = 2 * 1024 * 1024;

/// The time format of the national interface.
pub const TIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// A bill that passed the exchange's checks.
#[derive(Clone, Debug)]
pub struct ValidBill {
    pub insured: RegionCode,
    pub treatment: RegionCode,
    pub scheme: Scheme,
    pub level: HospitalLevel,
    pub lines: Vec<BillLine>,
    pub admitted_at: NaiveDateTime,
    pub discharged_at: NaiveDateTime,
    pub flags: Flags,
}

fn invalid(field: impl ToString, message: impl ToString) -> FormatError {
    FormatError::invalid(field, message)
}

fn required<'a>(value: &'a str, field: &str) -> Result<&'a str, FormatError> {
    let value = value.trim();
    if value.is_empty() {
        Err(invalid(field, "missing field"))
    } else {
        Ok(value)
    }
}

fn region(value: &str, field: &str) -> Result<RegionCode, FormatError> {
    required(value, field)?.parse().map_err(|error: ValueError| invalid(field, error))
}

fn time(value: &str, field: &str) -> Result<NaiveDateTime, FormatError> {
    NaiveDateTime::parse_from_str(required(value, field)?, TIME_FORMAT)
        .map_err(|_| invalid(field, "must be a time yyyy-MM-dd HH:mm:ss"))
}

fn decimal(value: &str, field: &str) -> Result<Decimal, FormatError> {
    Decimal::from_str(required(value, field)?)
        .map_err(|_| invalid(field, format!("{value:?} is not a decimal number")))
}

/// Checks a national msgid: fixmedins_code(12) + yyyyMMddHHmmss(14) + seq(4).
pub fn check_msgid(msgid: &str, field: &str) -> Result<(), FormatError> {
    let msgid = required(msgid, field)?;
    let ok = msgid.len() == 30
        && msgid.is_ascii()
        && msgid[12..].bytes().all(|b| b.is_ascii_digit())
        && NaiveDateTime::parse_from_str(&msgid[12..26], "%Y%m%d%H%M%S").is_ok();
    if ok {
        Ok(())
    } else {
        Err(invalid(field, "must be fixmedins_code(12) + yyyyMMddHHmmss(14) + seq(4)"))
    }
}

/// Mints a national msgid.
pub fn msgid(fixmedins_code: &str, at: NaiveDateTime, sequence: u32) -> String {
    format!(
        "{}{}{:04}",
        institution_prefix(fixmedins_code),
        at.format("%Y%m%d%H%M%S"),
        sequence % 10_000
    )
}

/// The first twelve characters of an institution's msgids: its code, padded or cut to 12.
fn institution_prefix(fixmedins_code: &str) -> String {
    format!("{:0<12}", fixmedins_code.trim()).chars().take(12).collect()
}

/// A bill's lines within what a real bill can amount to (`yidi_domain::stay`), or the field
/// that is not.
fn plausible(lines: &[BillLine]) -> Result<Amount, FormatError> {
    yidi_domain::stay::plausible(lines).map_err(|why| invalid(why.field(), why))
}

/// The exchange's checks on a HIS bill (domain.md §7.5: a bill without `insuplc_admdvs` is
/// refused; the lines must be readable).
pub fn validate_bill(bill: &DischargeBill, exchange: RegionCode) -> Result<ValidBill, FormatError> {
    check_msgid(&bill.msgid, "msgid")?;
    // A msgid is its institution's: one hospital cannot take another's next msgid and so turn
    // that hospital's real bill into a `msgid_conflict`.
    if !bill.msgid.starts_with(&institution_prefix(&bill.fixmedins_code)) {
        return Err(invalid(
            "msgid",
            format!("does not begin with the bill's fixmedins_code {:?}", bill.fixmedins_code),
        ));
    }
    required(&bill.mdtrt_id, "mdtrt_id")?;
    required(&bill.psn_no, "psn_no")?;
    let insured = region(&bill.insuplc_admdvs, "insuplc_admdvs")?;
    let treatment = region(&bill.mdtrtarea_admvs, "mdtrtarea_admvs")?;
    if !treatment.same_province(exchange) {
        return Err(invalid(
            "mdtrtarea_admvs",
            format!("{treatment} is not served by exchange {exchange}"),
        ));
    }
    if insured.same_province(treatment) {
        return Err(invalid(
            "insuplc_admdvs",
            format!("{insured} is in the treatment province: not cross-province"),
        ));
    }
    let scheme: Scheme = required(&bill.insutype, "insutype")?
        .parse()
        .map_err(|e: ValueError| invalid("insutype", e))?;
    let level = u64::try_from(bill.hosp_lv)
        .map_err(|_| ValueError::UnknownHospitalLevel)
        .and_then(HospitalLevel::from_number)
        .map_err(|error| invalid("hosp_lv", error))?;
    let (admitted_at, discharged_at) = stay(bill)?;
    if bill.feedetail.len() > BILL_LINES_MAX {
        return Err(invalid("feedetail", format!("at most {BILL_LINES_MAX} lines per bill")));
    }
    if bill.encoded_len() > BILL_BYTES_MAX {
        return Err(invalid(
            "feedetail",
            format!("the bill is {} bytes encoded; at most {BILL_BYTES_MAX}", bill.encoded_len()),
        ));
    }
    let flags = flags(bill)?;
    let lines = bill
        .feedetail
        .iter()
        .enumerate()
        .map(|(index, fee)| {
            line(&fee.med_list_codg, &fee.cnt, &fee.pric, &format!("feedetail[{index}]"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    plausible(&lines)?;
    Ok(ValidBill { insured, treatment, scheme, level, lines, admitted_at, discharged_at, flags })
}

/// Admission and discharge times of a bill. A 2401 admission has no discharge (its `endtime`
/// is empty or the admission's own), no fee lines, and may name the cap to hold; a discharge
/// bill has both times in order and at least one line.
fn stay(bill: &DischargeBill) -> Result<(NaiveDateTime, NaiveDateTime), FormatError> {
    let admitted_at = time(&bill.begntime, "begntime")?;
    if bill.admission {
        if bill.pre_settle {
            return Err(invalid("admission", "an admission is not a pre-settlement"));
        }
        if !bill.hold_amt.is_empty() {
            let asked = decimal(&bill.hold_amt, "hold_amt")?;
            Amount::new(asked).map_err(|e| invalid("hold_amt", e))?;
        }
        return Ok((admitted_at, admitted_at));
    }
    let discharged_at = time(&bill.endtime, "endtime")?;
    if discharged_at < admitted_at {
        return Err(invalid("endtime", "is before begntime"));
    }
    if bill.feedetail.is_empty() {
        return Err(invalid("feedetail", "a bill needs at least one fee line"));
    }
    Ok((admitted_at, discharged_at))
}

/// The Social Insurance Law art. 30 flags of a bill. A `ttp_status` needs `rel_ttp_flag`.
pub fn flags(bill: &DischargeBill) -> Result<Flags, FormatError> {
    let third_party_status = match bill.ttp_status.as_str() {
        "" => ThirdParty::Unstated,
        _ if !bill.rel_ttp_flag => {
            return Err(invalid("ttp_status", "is only for a bill with rel_ttp_flag"))
        }
        text => ThirdParty::parse(text).ok_or_else(|| {
            invalid("ttp_status", format!("{text:?} is not unpaid, unidentified or paid"))
        })?,
    };
    Ok(Flags {
        work_injury: bill.work_injury,
        third_party: bill.rel_ttp_flag,
        third_party_status,
        public_health: bill.public_health,
        abroad: bill.abroad,
    })
}

fn line(code: &str, cnt: &str, pric: &str, path: &str) -> Result<BillLine, FormatError> {
    let code = required(code, &format!("{path}.med_list_codg"))?;
    let quantity_path = format!("{path}.cnt");
    let quantity =
        Quantity::new(decimal(cnt, &quantity_path)?).map_err(|e| invalid(&quantity_path, e))?;
    let price_path = format!("{path}.pric");
    let unit_price =
        UnitPrice::new(decimal(pric, &price_path)?).map_err(|e| invalid(&price_path, e))?;
    Ok(BillLine { code: code.to_owned(), quantity, unit_price })
}

/// Classifies each fee line with the treatment-place catalogue (就医地目录).
pub fn classify(bill: &DischargeBill, catalogue: &Catalogue) -> Vec<ClassifiedLine> {
    bill.feedetail
        .iter()
        .map(|fee| {
            let item = catalogue.item(fee.med_list_codg.trim());
            let (class, share) = match item.map(|item| item.class) {
                None => (String::new(), String::new()),
                Some(ItemClass::A) => ("A".into(), String::new()),
                Some(ItemClass::B { self_pay_ratio }) => ("B".into(), self_pay_ratio.to_string()),
                Some(ItemClass::C) => ("C".into(), String::new()),
            };
            let cap = item
                .and_then(|item| item.price_cap)
                .map(|cap| cap.value().to_string())
                .unwrap_or_default();
            ClassifiedLine {
                feedetl_sn: fee.feedetl_sn.clone(),
                med_list_codg: fee.med_list_codg.trim().to_owned(),
                cnt: fee.cnt.trim().to_owned(),
                pric: fee.pric.trim().to_owned(),
                chrgitm_lv: class,
                selfpay_prop: share,
                pric_uplmt_amt: cap,
            }
        })
        .collect()
}

/// The agency's view of a request's lines: the bill lines and the catalogue entries the
/// treatment place attached to them.
pub fn request_lines(
    lines: &[ClassifiedLine],
    version: &str,
) -> Result<(Vec<BillLine>, Catalogue), FormatError> {
    if lines.is_empty() || lines.len() > BILL_LINES_MAX {
        return Err(invalid("lines", format!("a request carries 1 to {BILL_LINES_MAX} lines")));
    }
    let mut items = BTreeMap::new();
    let mut bill_lines = Vec::with_capacity(lines.len());
    for (index, classified) in lines.iter().enumerate() {
        let path = format!("lines[{index}]");
        bill_lines.push(line(&classified.med_list_codg, &classified.cnt, &classified.pric, &path)?);
        if classified.chrgitm_lv.is_empty() {
            continue;
        }
        let share = match classified.selfpay_prop.trim() {
            "" => None,
            text => {
                let share_path = format!("{path}.selfpay_prop");
                Some(Ratio::new(decimal(text, &share_path)?).map_err(|e| invalid(&share_path, e))?)
            }
        };
        let class = ItemClass::parse(&classified.chrgitm_lv, share)
            .map_err(|e| invalid(format!("{path}.chrgitm_lv"), e))?;
        let price_cap = match classified.pric_uplmt_amt.trim() {
            "" => None,
            text => {
                let cap_path = format!("{path}.pric_uplmt_amt");
                Some(UnitPrice::new(decimal(text, &cap_path)?).map_err(|e| invalid(&cap_path, e))?)
            }
        };
        items
            .insert(classified.med_list_codg.trim().to_owned(), CatalogueItem { class, price_cap });
    }
    // The agency checks the bounds again: a request is the exchange's word, not the HIS's.
    plausible(&bill_lines)?;
    Ok((bill_lines, Catalogue { version: version.to_owned(), items }))
}

/// The settlement id of a bill: derived from the request's msgid and the insured place, so a
/// replay can never mint a second one.
pub fn setl_id(insured: RegionCode, msgid: &str) -> String {
    format!("{insured}{}", Fingerprinter::new("setl_id").text(msgid).finish())
}

/// The Kafka key of everything about one insured person (bills, reversals, results, filings):
/// one key, so one partition and one order, however many partitions a topic has. A digest, so
/// the person number is not written into the broker's key index.
pub fn person_key(psn_no: &str) -> String {
    Fingerprinter::new("person").text(psn_no).finish()
}

/// A W3C `traceparent` for a message that arrived without one: version 00, a trace id and a
/// span id derived from its msgid (so a redelivery stays in the same trace), sampled.
pub fn traceparent(msgid: &str) -> String {
    let trace = Fingerprinter::new("trace").text(msgid).finish();
    let trace_rest = Fingerprinter::new("trace-2").text(msgid).finish();
    let span = Fingerprinter::new("span").text(msgid).finish();
    format!("00-{trace}{trace_rest}-{span}-01")
}

/// Parses a `yyyy-MM-dd` date.
pub fn date(value: &str, field: &str) -> Result<NaiveDate, FormatError> {
    NaiveDate::parse_from_str(required(value, field)?, "%Y-%m-%d")
        .map_err(|_| invalid(field, "must be a date yyyy-MM-dd"))
}

/// What a settled result says beyond the settlement itself.
pub struct ResultContext<'a> {
    pub bill: &'a DischargeBill,
    pub setl_id: String,
    pub scheme: Scheme,
    pub filing_class: &'a str,
    pub settled_at: NaiveDateTime,
    pub answered_by: String,
    pub status: SettleStatus,
}

fn fund_details(settlement: &Settlement, scheme: Scheme) -> Vec<Setldetail> {
    settlement
        .fund_payments(scheme)
        .into_iter()
        .map(|(fund_pay_type, amount)| Setldetail {
            fund_pay_type: fund_pay_type.into(),
            fund_payamt: amount.to_string(),
        })
        .collect()
}

fn line_result(classified: &ClassifiedLine, breakdown: &LineBreakdown) -> LineResult {
    LineResult {
        feedetl_sn: classified.feedetl_sn.clone(),
        med_list_codg: breakdown.code.clone(),
        chrgitm_lv: breakdown.class.map(|class| class.letter().to_owned()).unwrap_or_default(),
        det_item_fee_sumamt: breakdown.amount.to_string(),
        fulamt_ownpay_amt: breakdown.fulamt_ownpay_amt.to_string(),
        overlmt_amt: breakdown.overlmt_selfpay.to_string(),
        preselfpay_amt: breakdown.preselfpay_amt.to_string(),
        inscp_scp_amt: breakdown.inscp_scp_amt.to_string(),
    }
}

/// A settled (or pre-settled) result.
pub fn settled_result(
    context: &ResultContext,
    settlement: &Settlement,
    lines: &[ClassifiedLine],
) -> SettleResult {
    let bill = context.bill;
    let b = &settlement.buckets;
    let setlinfo = Setlinfo {
        setl_id: context.setl_id.clone(),
        mdtrt_id: bill.mdtrt_id.clone(),
        psn_no: bill.psn_no.clone(),
        medfee_sumamt: b.medfee_sumamt.to_string(),
        fulamt_ownpay_amt: b.fulamt_ownpay_amt.to_string(),
        overlmt_selfpay: b.overlmt_selfpay.to_string(),
        preselfpay_amt: b.preselfpay_amt.to_string(),
        inscp_scp_amt: b.inscp_scp_amt.to_string(),
        act_pay_dedc: settlement.act_pay_dedc.to_string(),
        pool_prop_selfpay: settlement.pool_ratio.to_string(),
        hifp_pay: settlement.hifp_pay.to_string(),
        hifob_pay: settlement.hifob_pay.to_string(),
        hifmi_pay: settlement.hifmi_pay.to_string(),
        maf_pay: settlement.maf_pay.to_string(),
        fund_pay_sumamt: settlement.fund_pay_sumamt.to_string(),
        psn_part_amt: settlement.psn_part_amt.to_string(),
        acct_pay: settlement.acct_pay.to_string(),
        psn_cash_pay: settlement.psn_cash_pay.to_string(),
        balc: settlement.balc.to_string(),
        medins_setl_id: bill.msgid.clone(),
        clr_type: "21".into(),
        insutype: context.scheme.code().into(),
        third_party_recovery: settlement.third_party_recovery,
        filing_class: context.filing_class.into(),
        setl_time: context.settled_at.format(TIME_FORMAT).to_string(),
    };
    SettleResult {
        status: i32::from(context.status),
        setlinfo: Some(setlinfo),
        setldetail: fund_details(settlement, context.scheme),
        lines: lines.iter().zip(&settlement.lines).map(|(c, b)| line_result(c, b)).collect(),
        policy_version: settlement.policy_version.clone(),
        catalogue_version: settlement.catalogue_version.clone(),
        answered_by: context.answered_by.clone(),
        ..answering(bill)
    }
}

/// A result that names the bill it answers, and nothing else yet.
fn answering(bill: &DischargeBill) -> SettleResult {
    SettleResult {
        msgid: bill.msgid.clone(),
        mdtrt_id: bill.mdtrt_id.clone(),
        psn_no: bill.psn_no.clone(),
        insuplc_admdvs: bill.insuplc_admdvs.clone(),
        mdtrtarea_admvs: bill.mdtrtarea_admvs.clone(),
        ..SettleResult::default()
    }
}

/// A 2601 reversal of `bill`'s transaction (by its msgid), sent under `msgid`.
pub fn reversal_of(bill: &DischargeBill, msgid: String, reason: &str) -> Reversal {
    Reversal {
        msgid,
        mdtrt_id: bill.mdtrt_id.clone(),
        psn_no: bill.psn_no.clone(),
        insuplc_admdvs: bill.insuplc_admdvs.clone(),
        mdtrtarea_admvs: bill.mdtrtarea_admvs.clone(),
        setl_id: String::new(),
        omsgid: bill.msgid.clone(),
        reason: reason.to_owned(),
    }
}

/// The settlement a result is about (empty for a rejection).
pub fn setl_id_of(result: &SettleResult) -> &str {
    result.setlinfo.as_ref().map_or("", |info| info.setl_id.as_str())
}

/// The advance a settled result reports, per fund: what the insured province owes the
/// treatment province for it in clearing.
pub fn advanced_funds(result: &SettleResult) -> Result<Funds, String> {
    let info = result.setlinfo.as_ref().ok_or("setlinfo: missing")?;
    // Seed 004 art. 44: each scheme's pooled fund is accounted apart.
    let pool = Fund::pool_of(&info.insutype)
        .ok_or_else(|| format!("setlinfo.insutype: {:?} is not 310 or 390", info.insutype))?;
    let mut funds = Funds::ZERO;
    for (fund, text) in [
        (pool, &info.hifp_pay),
        (Fund::Hifob, &info.hifob_pay),
        (Fund::Hifmi, &info.hifmi_pay),
        (Fund::Maf, &info.maf_pay),
        (Fund::Acct, &info.acct_pay),
    ] {
        let amount =
            if text.is_empty() { Amount::ZERO } else { yidi_clearing::text::parse_amount(text)? };
        funds = funds.with(fund, amount);
    }
    Ok(funds)
}

/// A refusal, with the reason code the HIS shows (and falls back to manual claims on).
/// A filing as the national filing database carries it.
/// A filing's version while in force. A filing passes through two states — filed, then
/// revoked for good (a new filing takes a new id) — so its version is the state's ordinal:
/// only the agency that signs the record produces it, and a receiver keeps the newest.
pub const FILING_FILED: u64 = 1;
/// A revoked filing's version.
pub const FILING_REVOKED: u64 = 2;

/// The version of a filing record: [`FILING_FILED`] or, once revoked, [`FILING_REVOKED`].
pub fn filing_version(revoked: bool) -> u64 {
    if revoked {
        FILING_REVOKED
    } else {
        FILING_FILED
    }
}

pub fn filing_record(filing: &Filing) -> FilingRecord {
    FilingRecord {
        filing_id: filing.id.clone(),
        psn_no: filing.person.clone(),
        insuplc_admdvs: filing.insured_region.to_string(),
        filing_type: filing.filing_type.code().into(),
        target_admdvs: filing.target.to_string(),
        begndate: filing.begins_on.to_string(),
        enddate: filing.ends_on.map(|d| d.to_string()).unwrap_or_default(),
        filed_at: filing.filed_at.format(TIME_FORMAT).to_string(),
        revoked_at: filing
            .revoked_at
            .map(|t| t.format(TIME_FORMAT).to_string())
            .unwrap_or_default(),
        version: filing_version(filing.revoked_at.is_some()),
    }
}

/// A filing record read back as a domain filing, every field checked.
pub fn filing_of(record: &FilingRecord) -> Result<Filing, FormatError> {
    let filing_type = FilingType::parse(required(&record.filing_type, "filing_type")?)
        .ok_or_else(|| invalid("filing_type", "not one of the six filing types"))?;
    let optional_time = |value: &str, field: &str| match value {
        "" => Ok(None),
        text => time(text, field).map(Some),
    };
    Ok(Filing {
        id: required(&record.filing_id, "filing_id")?.to_owned(),
        person: required(&record.psn_no, "psn_no")?.to_owned(),
        insured_region: region(&record.insuplc_admdvs, "insuplc_admdvs")?,
        filing_type,
        target: region(&record.target_admdvs, "target_admdvs")?,
        begins_on: date(&record.begndate, "begndate")?,
        ends_on: match record.enddate.as_str() {
            "" => None,
            text => Some(date(text, "enddate")?),
        },
        filed_at: time(&record.filed_at, "filed_at")?,
        revoked_at: optional_time(&record.revoked_at, "revoked_at")?,
    })
}

/// A 2401 admission's answer: what it holds.
pub fn admitted_result(
    bill: &DischargeBill,
    admission: crate::v1::AdmissionInfo,
    answered_by: &str,
) -> SettleResult {
    SettleResult {
        status: i32::from(SettleStatus::Admitted),
        admission: Some(admission),
        answered_by: answered_by.to_owned(),
        ..answering(bill)
    }
}

/// A refusal, with the rule it rests on (`yidi_domain::refusal`) for the HIS to show.
pub fn rejected_result(bill: &DischargeBill, reason: &str, answered_by: &str) -> SettleResult {
    SettleResult {
        status: i32::from(SettleStatus::Rejected),
        reason: reason.to_owned(),
        rule: yidi_domain::refusal::citation(reason).to_owned(),
        answered_by: answered_by.to_owned(),
        ..answering(bill)
    }
}

#[cfg(test)]
mod tests;
