//! The hub referees the money. The provinces are mutually distrusting — each agency pays from
//! its own fund, each treatment province's hospitals are paid by the others — and the hub is
//! the only party without a stake. A signature tells who spoke; this module checks that what
//! an agency said answers what the hub asked it.
//!
//! The hub records every request it routes (`routed_request`: msgid, kind, the region and
//! agency it went to, the person as a token, the episode, and for a reversal what it undoes)
//! in the same transaction as the routing. A result is taken only as the answer to such a
//! record, from the agency it was routed to, for the same person, episode and regions; a
//! reversal's result only for a settlement the hub holds for that same pair of provinces; and
//! only one answer per request (a repeat of the same answer is its redelivery). Anything else
//! is refused with a stable reason (`RESULT_UNROUTED`, `RESULT_MISMATCH`, `RESULT_CONFLICT`,
//! `RESULT_DUPLICATE_STAY`) and has no effect on any ledger or store.
//!
//! Routed requests are kept [`ROUTED_KEEP_DAYS`] and then pruned: longer than a clearing
//! month and than any wait the network sits out, so no honest answer ever finds its record
//! gone, while an answer that late is refused as unrouted.

use std::collections::HashMap;

use prost::Message;
use yidi_bus::Rejection;
use yidi_domain::fingerprint::Fingerprinter;
use yidi_domain::ids::RegionCode;
use yidi_store::{Row, StoreError, Tx};
use yidi_trust::token::PersonTokens;
use yidi_wire::v1::{DischargeBill, Reversal, SettleResult, SettleStatus};

/// How long a routed request is kept (business days).
pub const ROUTED_KEEP_DAYS: u64 = 40;

/// Migration 5's statements, the same on both backends.
const ROUTED_SQL: &str = "CREATE TABLE IF NOT EXISTS routed_request (
            msgid TEXT PRIMARY KEY, kind TEXT NOT NULL, insured TEXT NOT NULL,
            treatment TEXT NOT NULL, person TEXT NOT NULL, mdtrt_id TEXT NOT NULL,
            target_setl_id TEXT NOT NULL, target_msgid TEXT NOT NULL,
            request_hash TEXT NOT NULL, routed_at TEXT NOT NULL, answer_hash TEXT);
        CREATE INDEX IF NOT EXISTS routed_request_at ON routed_request (routed_at);
        CREATE INDEX IF NOT EXISTS settled_bill_episode ON settled_bill (mdtrt_id);
        CREATE INDEX IF NOT EXISTS settled_bill_msgid ON settled_bill (msgid);
        CREATE INDEX IF NOT EXISTS hospital_decision_code ON hospital_decision (fixmedins_code, seq)";

/// Migration 5: what the hub routed, and a lookup of settled bills by episode.
pub const CHANGE: yidi_store::migrate::Change = yidi_store::migrate::Change {
    version: 5,
    description: "routed requests, for refereeing results; settled bills by episode",
    sqlite: ROUTED_SQL,
    postgres: ROUTED_SQL,
};

/// The treatment provinces' published catalogue editions, as the hub holds them: every
/// edition embedded in the release (`yidi_data`), by province and version.
pub struct Catalogues {
    editions: Vec<yidi_formats::catalogue_file::TreatmentCatalogue>,
}

impl Catalogues {
    pub fn new(editions: Vec<yidi_formats::catalogue_file::TreatmentCatalogue>) -> Catalogues {
        Catalogues { editions }
    }

    /// The edition `version` of `province`'s catalogue.
    pub fn edition(
        &self,
        province: RegionCode,
        version: &str,
    ) -> Option<&yidi_domain::catalogue::Catalogue> {
        self.editions
            .iter()
            .find(|e| e.region == province && e.catalogue.version == version)
            .map(|e| &e.catalogue)
    }
}

/// A party without a stake checks the classification: each line's class, self-pay share and
/// price cap — and its quantity and price — must be what the edition the request names gives
/// for the bill's own fee lines. The treatment province's exchange classifies, and its
/// hospitals are paid more the more generous the class; the agency pays whatever it is sent.
pub fn check_classification(
    request: &yidi_wire::v1::SettleRequest,
    bill: &DischargeBill,
    treatment: RegionCode,
    catalogues: &Catalogues,
) -> Result<(), Rejection> {
    // An admission (2401) carries no lines.
    if bill.admission && request.lines.is_empty() {
        return Ok(());
    }
    let Some(edition) = catalogues.edition(treatment, &request.catalogue_version) else {
        return Err(Rejection::new(
            "CATALOGUE_UNKNOWN",
            format!(
                "catalogue_version {:?} is no published edition of {treatment}'s catalogue",
                request.catalogue_version
            ),
        ));
    };
    let derived = yidi_wire::convert::classify(bill, edition);
    if derived.len() != request.lines.len() {
        return Err(Rejection::new(
            "CLASSIFICATION_MISMATCH",
            format!("lines: {} for {} fee lines", request.lines.len(), derived.len()),
        ));
    }
    match derived.iter().zip(&request.lines).position(|(derived, sent)| derived != sent) {
        None => Ok(()),
        Some(index) => {
            let (derived, sent) = (&derived[index], &request.lines[index]);
            Err(Rejection::new(
                "CLASSIFICATION_MISMATCH",
                format!(
                    "lines[{index}] ({}): sent class {:?} share {:?} cap {:?} cnt {} pric {}; \
                     the edition gives class {:?} share {:?} cap {:?} for cnt {} pric {}",
                    sent.med_list_codg,
                    sent.chrgitm_lv,
                    sent.selfpay_prop,
                    sent.pric_uplmt_amt,
                    sent.cnt,
                    sent.pric,
                    derived.chrgitm_lv,
                    derived.selfpay_prop,
                    derived.pric_uplmt_amt,
                    derived.cnt,
                    derived.pric
                ),
            ))
        }
    }
}

/// What was asked of the agency.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// 2304: settle a discharge bill.
    Settle,
    /// 2303: price it, commit nothing.
    PreSettle,
    /// 2401: register an admission, hold part of the cap.
    Admission,
    /// 2305/2601: undo a settlement (or cancel an admission).
    Reverse,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Settle => "settle",
            Kind::PreSettle => "pre_settle",
            Kind::Admission => "admission",
            Kind::Reverse => "reverse",
        }
    }

    fn parse(text: &str) -> Option<Kind> {
        [Kind::Settle, Kind::PreSettle, Kind::Admission, Kind::Reverse]
            .into_iter()
            .find(|kind| kind.as_str() == text)
    }
}

/// A request as the hub routed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Routed {
    pub msgid: String,
    pub kind: Kind,
    /// `insuplc_admdvs` as routed: the agency hosting it is the one asked.
    pub insured: String,
    /// `mdtrtarea_admvs`.
    pub treatment: String,
    /// The person, as the hub's token.
    pub person: String,
    pub mdtrt_id: String,
    /// A reversal's `setl_id` (2305) and `omsgid` (2601): what it undoes.
    pub target_setl_id: String,
    pub target_msgid: String,
    /// The request's digest: the same msgid for another request is refused.
    pub request_hash: String,
    /// The digest of the first answer taken.
    pub answer_hash: Option<String>,
}

impl Routed {
    pub fn of_bill(bill: &DischargeBill, tokens: &PersonTokens) -> Routed {
        let kind = if bill.admission {
            Kind::Admission
        } else if bill.pre_settle {
            Kind::PreSettle
        } else {
            Kind::Settle
        };
        Routed {
            msgid: bill.msgid.clone(),
            kind,
            insured: bill.insuplc_admdvs.clone(),
            treatment: bill.mdtrtarea_admvs.clone(),
            person: tokens.token(&bill.psn_no),
            mdtrt_id: bill.mdtrt_id.clone(),
            target_setl_id: String::new(),
            target_msgid: String::new(),
            request_hash: Fingerprinter::new("bill").bytes(&bill.encode_to_vec()).finish(),
            answer_hash: None,
        }
    }

    pub fn of_reversal(reversal: &Reversal, tokens: &PersonTokens) -> Routed {
        Routed {
            msgid: reversal.msgid.clone(),
            kind: Kind::Reverse,
            insured: reversal.insuplc_admdvs.clone(),
            treatment: reversal.mdtrtarea_admvs.clone(),
            person: tokens.token(&reversal.psn_no),
            mdtrt_id: reversal.mdtrt_id.clone(),
            target_setl_id: reversal.setl_id.clone(),
            target_msgid: reversal.omsgid.clone(),
            request_hash: Fingerprinter::new("reversal").bytes(&reversal.encode_to_vec()).finish(),
            answer_hash: None,
        }
    }
}

/// The digest of an answer: the `duplicate` mark of a repeated answer is not part of it.
pub fn answer_hash(result: &SettleResult) -> String {
    let plain = SettleResult { duplicate: false, ..result.clone() };
    Fingerprinter::new("answer").bytes(&plain.encode_to_vec()).finish()
}

/// Records a request about to be routed, in the routing's transaction. A msgid routed before
/// for the same request is routed again (a redelivery, or the HIS asking again); for another
/// request it is refused.
pub async fn record(tx: &mut Tx, routed: &Routed, at: &str) -> Result<(), RecordError> {
    let before: Option<(String, String)> =
        sqlx::query("SELECT kind, request_hash FROM routed_request WHERE msgid = $1")
            .bind(&routed.msgid)
            .fetch_optional(&mut **tx)
            .await
            .map_err(StoreError::from)?
            .map(|row| Ok::<_, StoreError>((row.try_get(0)?, row.try_get(1)?)))
            .transpose()?;
    match before {
        Some((kind, hash)) if kind == routed.kind.as_str() && hash == routed.request_hash => Ok(()),
        Some(_) => Err(RecordError::Conflict),
        None => {
            sqlx::query(
                "INSERT INTO routed_request (msgid, kind, insured, treatment, person, mdtrt_id,
                    target_setl_id, target_msgid, request_hash, routed_at, answer_hash)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL)",
            )
            .bind(&routed.msgid)
            .bind(routed.kind.as_str())
            .bind(&routed.insured)
            .bind(&routed.treatment)
            .bind(&routed.person)
            .bind(&routed.mdtrt_id)
            .bind(&routed.target_setl_id)
            .bind(&routed.target_msgid)
            .bind(&routed.request_hash)
            .bind(at)
            .execute(&mut **tx)
            .await
            .map_err(StoreError::from)?;
            Ok(())
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("the msgid was routed for another request")]
    Conflict,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Removes routed requests older than `before` (`yyyy-MM-dd HH:mm:ss`); how many.
pub async fn prune(store: &yidi_store::Store, before: &str) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM routed_request WHERE routed_at < $1")
        .bind(before)
        .execute(store.pool())
        .await?;
    Ok(done.rows_affected())
}

/// A settled bill as the referee compares it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Held {
    pub setl_id: String,
    pub msgid: String,
    pub mdtrt_id: String,
    pub insured: String,
    pub treatment: String,
    pub standing: bool,
}

/// What the referee reads for a lane of results: the routed requests they answer and the
/// settled bills they may touch (by msgid, setl_id or episode).
#[derive(Debug, Default)]
pub struct Known {
    pub routed: HashMap<String, Routed>,
    pub bills: Vec<Held>,
}

impl Known {
    /// Reads what `results` refer to, in the referee's transaction.
    pub async fn read(tx: &mut Tx, results: &[&SettleResult]) -> Result<Known, StoreError> {
        let mut known = Known::default();
        for result in results {
            if known.routed.contains_key(&result.msgid) {
                continue;
            }
            let row = sqlx::query(
                "SELECT msgid, kind, insured, treatment, person, mdtrt_id, target_setl_id,
                        target_msgid, request_hash, answer_hash
                 FROM routed_request WHERE msgid = $1",
            )
            .bind(&result.msgid)
            .fetch_optional(&mut **tx)
            .await?;
            let Some(row) = row else { continue };
            let kind: String = row.try_get(1)?;
            let Some(kind) = Kind::parse(&kind) else {
                return Err(StoreError::Corrupt { column: "routed_request.kind", detail: kind });
            };
            let routed = Routed {
                msgid: row.try_get(0)?,
                kind,
                insured: row.try_get(2)?,
                treatment: row.try_get(3)?,
                person: row.try_get(4)?,
                mdtrt_id: row.try_get(5)?,
                target_setl_id: row.try_get(6)?,
                target_msgid: row.try_get(7)?,
                request_hash: row.try_get(8)?,
                answer_hash: row.try_get(9)?,
            };
            let rows = sqlx::query(
                "SELECT setl_id, msgid, mdtrt_id, insured, treatment, reversed_at FROM settled_bill
                 WHERE mdtrt_id = $1 OR setl_id = $2 OR msgid = $3",
            )
            .bind(&routed.mdtrt_id)
            .bind(&routed.target_setl_id)
            .bind(&routed.target_msgid)
            .fetch_all(&mut **tx)
            .await?;
            for row in &rows {
                let reversed: Option<String> = row.try_get(5)?;
                let held = Held {
                    setl_id: row.try_get(0)?,
                    msgid: row.try_get(1)?,
                    mdtrt_id: row.try_get(2)?,
                    insured: row.try_get(3)?,
                    treatment: row.try_get(4)?,
                    standing: reversed.is_none(),
                };
                if !known.bills.contains(&held) {
                    known.bills.push(held);
                }
            }
            known.routed.insert(routed.msgid.clone(), routed);
        }
        Ok(known)
    }

    /// Judges `result` (from a signer already known to host its `insuplc_admdvs`) and, when
    /// it is taken, remembers it for the results after it in the lane.
    pub fn judge(&mut self, result: &SettleResult, person: &str) -> Result<(), Rejection> {
        let routed = self.routed.get(&result.msgid).ok_or_else(|| {
            Rejection::new("RESULT_UNROUTED", "the hub routed no request under this msgid")
        })?;
        let answer = answer_hash(result);
        judge(routed, result, person, &answer, &self.bills)?;
        self.settled_in_lane(result);
        if let Some(routed) = self.routed.get_mut(&result.msgid) {
            routed.answer_hash = Some(answer);
        }
        Ok(())
    }

    /// Whether the answer to `msgid` must be the one answer of its request.
    pub fn holds_to_one(&self, msgid: &str) -> bool {
        self.routed.get(msgid).is_some_and(|routed| routed.kind != Kind::PreSettle)
    }

    /// What a result taken does to the bills the rest of the lane is judged against.
    fn settled_in_lane(&mut self, result: &SettleResult) {
        if result.status == i32::from(SettleStatus::Settled) {
            if let Some(info) = &result.setlinfo {
                let held = Held {
                    setl_id: info.setl_id.clone(),
                    msgid: result.msgid.clone(),
                    mdtrt_id: result.mdtrt_id.clone(),
                    insured: result.insuplc_admdvs.clone(),
                    treatment: result.mdtrtarea_admvs.clone(),
                    standing: true,
                };
                if !self.bills.iter().any(|b| b.setl_id == held.setl_id) {
                    self.bills.push(held);
                }
            }
        } else if result.status == i32::from(SettleStatus::Reversed) {
            if let Some(info) = &result.setlinfo {
                for bill in self.bills.iter_mut().filter(|b| b.setl_id == info.setl_id) {
                    bill.standing = false;
                }
            }
        }
    }
}

/// Takes a result's digest as its request's answer, unless another answer was taken first
/// (by another lane since the lane read it); whether it was taken.
pub async fn take_answer(tx: &mut Tx, msgid: &str, answer: &str) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE routed_request SET answer_hash = $2
         WHERE msgid = $1 AND (answer_hash IS NULL OR answer_hash = $2)",
    )
    .bind(msgid)
    .bind(answer)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

fn province(code: &str) -> Option<RegionCode> {
    code.parse::<RegionCode>().ok().map(RegionCode::province)
}

fn same_province(a: &str, b: &str) -> bool {
    matches!((province(a), province(b)), (Some(a), Some(b)) if a == b)
}

fn mismatch(why: impl Into<String>) -> Rejection {
    Rejection::new("RESULT_MISMATCH", why.into())
}

/// The referee's rule, on plain data: whether `result` (whose person is `person`, as a token,
/// and whose digest is `answer`) may stand as the answer to `routed`, given the settled bills
/// the hub holds that it could touch.
pub fn judge(
    routed: &Routed,
    result: &SettleResult,
    person: &str,
    answer: &str,
    bills: &[Held],
) -> Result<(), Rejection> {
    if result.insuplc_admdvs != routed.insured || result.mdtrtarea_admvs != routed.treatment {
        return Err(mismatch(format!(
            "answers for {} treated in {}; the request was for {} treated in {}",
            result.insuplc_admdvs, result.mdtrtarea_admvs, routed.insured, routed.treatment
        )));
    }
    if person != routed.person || result.mdtrt_id != routed.mdtrt_id {
        return Err(mismatch("another person or episode than the request's"));
    }
    // A pre-settlement commits nothing and is priced afresh each time it is asked (its time
    // changes): only answers that move money are held to one.
    if routed.kind != Kind::PreSettle
        && routed.answer_hash.as_deref().is_some_and(|first| first != answer)
    {
        return Err(Rejection::new(
            "RESULT_CONFLICT",
            "the request was answered already, differently",
        ));
    }
    let status = SettleStatus::try_from(result.status).unwrap_or(SettleStatus::Unspecified);
    let setl_id = result.setlinfo.as_ref().map_or("", |info| info.setl_id.as_str());
    let fits = match (routed.kind, status) {
        (_, SettleStatus::Rejected) => true,
        // An answer with nothing undone: a reversal that found nothing, or the tombstone a
        // reversal left for a request that arrived after it.
        (_, SettleStatus::Reversed) if setl_id.is_empty() => true,
        (Kind::Settle, SettleStatus::Settled) => !setl_id.is_empty(),
        (Kind::PreSettle, SettleStatus::PreSettled) | (Kind::Admission, SettleStatus::Admitted) => {
            true
        }
        (Kind::Reverse, SettleStatus::Reversed) => true,
        _ => false,
    };
    if !fits {
        return Err(mismatch(format!(
            "a {} answer to a {} request",
            status.as_str_name(),
            routed.kind.as_str()
        )));
    }
    if status == SettleStatus::Settled {
        // Second line of one payment per stay: the ledger takes one standing settlement of an
        // insured province's episode.
        if let Some(first) = bills.iter().find(|b| {
            b.standing
                && b.setl_id != setl_id
                && b.mdtrt_id == result.mdtrt_id
                && same_province(&b.insured, &routed.insured)
        }) {
            return Err(Rejection::new(
                "RESULT_DUPLICATE_STAY",
                format!("episode {} is settled already as {}", result.mdtrt_id, first.setl_id),
            ));
        }
    }
    if routed.kind == Kind::Reverse && status == SettleStatus::Reversed && !setl_id.is_empty() {
        // Only the settlement the request names, of the same pair of provinces, is undone.
        let target = bills.iter().find(|b| {
            (b.setl_id == routed.target_setl_id && !routed.target_setl_id.is_empty())
                || (b.msgid == routed.target_msgid && !routed.target_msgid.is_empty())
        });
        match target {
            Some(target)
                if target.setl_id == setl_id
                    && same_province(&target.insured, &routed.insured)
                    && same_province(&target.treatment, &routed.treatment) => {}
            _ => {
                return Err(mismatch(format!(
                    "reverses {setl_id}, which is not the settlement this reversal names for \
                     the pair"
                )))
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use yidi_wire::v1::Setlinfo;

    fn routed(kind: Kind) -> Routed {
        Routed {
            msgid: "M1".into(),
            kind,
            insured: "440000".into(),
            treatment: "310000".into(),
            person: "T1".into(),
            mdtrt_id: "E1".into(),
            target_setl_id: String::new(),
            target_msgid: if kind == Kind::Reverse { "M0".into() } else { String::new() },
            request_hash: "h".into(),
            answer_hash: None,
        }
    }

    fn result(status: SettleStatus, setl_id: &str) -> SettleResult {
        SettleResult {
            msgid: "M1".into(),
            mdtrt_id: "E1".into(),
            insuplc_admdvs: "440000".into(),
            mdtrtarea_admvs: "310000".into(),
            status: i32::from(status),
            setlinfo: Some(Setlinfo { setl_id: setl_id.into(), ..Default::default() }),
            ..Default::default()
        }
    }

    fn bill(setl_id: &str, msgid: &str, insured: &str) -> Held {
        Held {
            setl_id: setl_id.into(),
            msgid: msgid.into(),
            mdtrt_id: "E1".into(),
            insured: insured.into(),
            treatment: "310100".into(),
            standing: true,
        }
    }

    fn code(outcome: Result<(), Rejection>) -> String {
        outcome.err().map(|r| r.code.to_owned()).unwrap_or_default()
    }

    #[test]
    fn a_result_stands_only_for_the_routed_requests_person_episode_and_regions() {
        let asked = routed(Kind::Settle);
        let answer = result(SettleStatus::Settled, "S1");
        assert_eq!(code(judge(&asked, &answer, "T1", "a", &[])), "");
        let elsewhere = SettleResult { insuplc_admdvs: "110000".into(), ..answer.clone() };
        assert_eq!(code(judge(&asked, &elsewhere, "T1", "a", &[])), "RESULT_MISMATCH");
        let moved = SettleResult { mdtrtarea_admvs: "330000".into(), ..answer.clone() };
        assert_eq!(code(judge(&asked, &moved, "T1", "a", &[])), "RESULT_MISMATCH");
        assert_eq!(code(judge(&asked, &answer, "T2", "a", &[])), "RESULT_MISMATCH");
        let episode = SettleResult { mdtrt_id: "E2".into(), ..answer.clone() };
        assert_eq!(code(judge(&asked, &episode, "T1", "a", &[])), "RESULT_MISMATCH");
    }

    #[test]
    fn a_request_has_one_answer_and_its_redelivery_is_the_same_answer() {
        let mut asked = routed(Kind::Settle);
        asked.answer_hash = Some("first".into());
        let answer = result(SettleStatus::Settled, "S1");
        assert_eq!(code(judge(&asked, &answer, "T1", "first", &[])), "");
        assert_eq!(code(judge(&asked, &answer, "T1", "other", &[])), "RESULT_CONFLICT");
        let mut repeated = answer.clone();
        repeated.duplicate = true;
        assert_eq!(answer_hash(&repeated), answer_hash(&answer), "the duplicate mark aside");
        // A pre-settlement moves no money and is priced afresh each time it is asked.
        let mut priced = routed(Kind::PreSettle);
        priced.answer_hash = Some("first".into());
        let again = result(SettleStatus::PreSettled, "S1");
        assert_eq!(code(judge(&priced, &again, "T1", "other", &[])), "");
    }

    #[test]
    fn an_answer_must_be_of_the_kind_asked() {
        let settle = routed(Kind::Settle);
        let reverse = routed(Kind::Reverse);
        let reversed = result(SettleStatus::Reversed, "S0");
        assert_eq!(code(judge(&settle, &reversed, "T1", "a", &[])), "RESULT_MISMATCH");
        let settled = result(SettleStatus::Settled, "S1");
        assert_eq!(code(judge(&reverse, &settled, "T1", "a", &[])), "RESULT_MISMATCH");
        let no_id = result(SettleStatus::Settled, "");
        assert_eq!(code(judge(&settle, &no_id, "T1", "a", &[])), "RESULT_MISMATCH");
        let tombstone = result(SettleStatus::Reversed, "");
        assert_eq!(code(judge(&settle, &tombstone, "T1", "a", &[])), "");
        let refused = result(SettleStatus::Rejected, "");
        assert_eq!(code(judge(&reverse, &refused, "T1", "a", &[])), "");
        let admitted = result(SettleStatus::Admitted, "");
        assert_eq!(code(judge(&settle, &admitted, "T1", "a", &[])), "RESULT_MISMATCH");
        assert_eq!(code(judge(&routed(Kind::Admission), &admitted, "T1", "a", &[])), "");
    }

    #[test]
    fn a_reversal_undoes_only_the_settlement_it_names_of_the_same_pair() {
        let asked = routed(Kind::Reverse);
        let undo = result(SettleStatus::Reversed, "S0");
        let named = bill("S0", "M0", "440100");
        assert_eq!(code(judge(&asked, &undo, "T1", "a", std::slice::from_ref(&named))), "");
        assert_eq!(code(judge(&asked, &undo, "T1", "a", &[])), "RESULT_MISMATCH", "none held");
        let other = bill("S9", "M9", "440100");
        let undo_other = result(SettleStatus::Reversed, "S9");
        assert_eq!(
            code(judge(&asked, &undo_other, "T1", "a", &[named.clone(), other])),
            "RESULT_MISMATCH",
            "another settlement than the one named"
        );
        let other_pair = Held { insured: "120000".into(), ..named };
        assert_eq!(code(judge(&asked, &undo, "T1", "a", &[other_pair])), "RESULT_MISMATCH");
    }

    #[test]
    fn the_ledger_takes_one_standing_settlement_of_an_episode() {
        let asked = routed(Kind::Settle);
        let again = result(SettleStatus::Settled, "S2");
        let first = bill("S1", "M0", "440300");
        assert_eq!(
            code(judge(&asked, &again, "T1", "a", std::slice::from_ref(&first))),
            "RESULT_DUPLICATE_STAY"
        );
        let reversed = Held { standing: false, ..first.clone() };
        assert_eq!(code(judge(&asked, &again, "T1", "a", &[reversed])), "", "once reversed");
        let same = result(SettleStatus::Settled, "S1");
        assert_eq!(code(judge(&asked, &same, "T1", "a", &[first])), "", "its own repeat");
    }
}
