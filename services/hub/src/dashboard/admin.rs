//! The clearing desk's calls that change the book: the business clock (simulated clocks
//! only), confirmation, payment, audit deduction, prepayment top-up, statement requests.
//! Every money call takes an `Idempotency-Key`: a repeat gets the first answer.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::Deserialize;
use serde_json::json;
use yidi_clearing::period::Period;
use yidi_domain::fingerprint::Fingerprinter;

use super::{amount, authorised, bad, region, ApiError, Shared};
use crate::clearing::{Commanded, Once};

/// The longest idempotency key taken.
const IDEMPOTENCY_KEY_MAX: usize = 128;

/// The call's `Idempotency-Key`, if it has one, with the hash of what it asks (`path` and
/// `body`): a repeat of the call gets the first answer; the key reused for another call is
/// refused.
fn once(
    headers: &HeaderMap,
    path: &str,
    body: &impl std::fmt::Debug,
) -> Result<Option<Once>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value.to_str().map_err(|_| bad("Idempotency-Key", "not text"))?.trim();
    if key.is_empty() || key.len() > IDEMPOTENCY_KEY_MAX {
        return Err(bad("Idempotency-Key", format!("1 to {IDEMPOTENCY_KEY_MAX} characters")));
    }
    let request_hash = Fingerprinter::new("admin-call")
        .bytes(path.as_bytes())
        .bytes(format!("{body:?}").as_bytes())
        .finish();
    Ok(Some(Once { key: key.to_owned(), request_hash }))
}

/// The JSON answer of a money command.
fn commanded(answer: Commanded) -> Json<serde_json::Value> {
    Json(match answer {
        Commanded::Decided(event, events) => {
            json!({"event": event, "events": events, "duplicate": event.is_none()})
        }
        Commanded::Repeated(event) => json!({"event": event, "events": [], "duplicate": true}),
    })
}

#[derive(Deserialize)]
pub(super) struct Advance {
    days: i64,
}

pub(super) async fn advance(
    State(d): State<Shared>,
    headers: HeaderMap,
    Json(body): Json<Advance>,
) -> Result<Json<serde_json::Value>, ApiError> {
    authorised(&d, &headers)?;
    if !d.simulated_clock {
        return Err(ApiError(
            StatusCode::FORBIDDEN,
            "CLOCK_NOT_SIMULATED".into(),
            "the business clock follows the calendar here; only a simulated clock (simulated_clock = true) is advanced by hand".into(),
        ));
    }
    if !(0..=3660).contains(&body.days) {
        return Err(bad("days", "must be between 0 and 3660"));
    }
    let (today, events) = d.desk.advance(body.days).await?;
    Ok(Json(json!({"today": today, "events": events})))
}

#[derive(Debug, Deserialize)]
pub(super) struct Confirm {
    period: String,
    province: String,
    #[serde(default)]
    disputed: Vec<String>,
}

pub(super) async fn confirm(
    State(d): State<Shared>,
    headers: HeaderMap,
    Json(body): Json<Confirm>,
) -> Result<Json<serde_json::Value>, ApiError> {
    authorised(&d, &headers)?;
    let once = once(&headers, "/api/clearing/confirm", &body)?;
    let period: Period = body.period.parse().map_err(|e| bad("period", e))?;
    let province = region("province", &body.province)?;
    let answer = d
        .desk
        .command_once(once.as_ref(), |book, today| {
            book.confirm(period, province, body.disputed, today).map(Some)
        })
        .await?;
    Ok(commanded(answer))
}

#[derive(Debug, Deserialize)]
pub(super) struct Pay {
    period: String,
    province: String,
    amount: String,
    #[serde(default)]
    reference: String,
}

pub(super) async fn pay(
    State(d): State<Shared>,
    headers: HeaderMap,
    Json(body): Json<Pay>,
) -> Result<Json<serde_json::Value>, ApiError> {
    authorised(&d, &headers)?;
    let once = once(&headers, "/api/clearing/pay", &body)?;
    let period: Period = body.period.parse().map_err(|e| bad("period", e))?;
    let province = region("province", &body.province)?;
    let paid = amount("amount", &body.amount)?;
    let answer = d
        .desk
        .command_once(once.as_ref(), |book, today| {
            book.pay(period, province, paid, &body.reference, today).map(Some)
        })
        .await?;
    Ok(commanded(answer))
}

#[derive(Debug, Deserialize)]
pub(super) struct Deduct {
    deduction_id: String,
    setl_id: String,
    amount: String,
    reason: String,
}

pub(super) async fn deduct(
    State(d): State<Shared>,
    headers: HeaderMap,
    Json(body): Json<Deduct>,
) -> Result<Json<serde_json::Value>, ApiError> {
    authorised(&d, &headers)?;
    let once = once(&headers, "/api/clearing/deduct", &body)?;
    if body.deduction_id.trim().is_empty() {
        return Err(bad("deduction_id", "must not be empty"));
    }
    let taken = amount("amount", &body.amount)?;
    let answer = d
        .desk
        .command_once(once.as_ref(), |book, today| {
            book.deduct(&body.deduction_id, &body.setl_id, taken, &body.reason, today)
        })
        .await?;
    Ok(commanded(answer))
}

#[derive(Debug, Deserialize)]
pub(super) struct TopUpBody {
    insured: String,
    treatment: String,
    amount: String,
}

pub(super) async fn top_up(
    State(d): State<Shared>,
    headers: HeaderMap,
    Json(body): Json<TopUpBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    authorised(&d, &headers)?;
    let once = once(&headers, "/api/clearing/top-up", &body)?;
    let insured = region("insured", &body.insured)?;
    let treatment = region("treatment", &body.treatment)?;
    let paid = amount("amount", &body.amount)?;
    let answer = d
        .desk
        .command_once(once.as_ref(), |book, today| {
            book.top_up(insured, treatment, paid, today).map(Some)
        })
        .await?;
    Ok(commanded(answer))
}

#[derive(Deserialize)]
pub(super) struct Reconcile {
    period: String,
}

pub(super) async fn request_statements(
    State(d): State<Shared>,
    headers: HeaderMap,
    Json(body): Json<Reconcile>,
) -> Result<Json<serde_json::Value>, ApiError> {
    authorised(&d, &headers)?;
    let period: Period = body.period.parse().map_err(|e| bad("period", e))?;
    let requested = d.desk.request_statements(period).await?;
    Ok(Json(json!({"requested": requested, "period": period.to_string()})))
}

#[derive(Debug, Deserialize)]
pub(super) struct ReconcileDay {
    day: String,
    #[serde(default)]
    detail: bool,
}

/// Asks every agency and exchange for its statement of a day (daily reconciliation), with the
/// settlements themselves when `detail`.
pub(super) async fn request_day_statements(
    State(d): State<Shared>,
    headers: HeaderMap,
    Json(body): Json<ReconcileDay>,
) -> Result<Json<serde_json::Value>, ApiError> {
    authorised(&d, &headers)?;
    let day: chrono::NaiveDate = body.day.parse().map_err(|e| bad("day", e))?;
    let requested = d.desk.request_day_statements(day, body.detail).await?;
    Ok(Json(json!({"requested": requested, "day": day.to_string(), "detail": body.detail})))
}

#[derive(Debug, Deserialize)]
pub(super) struct Fine {
    fine_id: String,
    setl_id: String,
    amount: String,
    /// The article and the finding, e.g. "seed 004 art. 49(ii): false inpatient stays".
    reason: String,
}

/// Seed 004 art. 49: fines the institution behind a bill, up to five times what was
/// recovered from it (`/api/clearing/deduct`); the treatment province owes it to the insured
/// one in the next round.
pub(super) async fn fine(
    State(d): State<Shared>,
    headers: HeaderMap,
    Json(body): Json<Fine>,
) -> Result<Json<serde_json::Value>, ApiError> {
    authorised(&d, &headers)?;
    let once = once(&headers, "/api/clearing/fine", &body)?;
    if body.fine_id.trim().is_empty() {
        return Err(bad("fine_id", "must not be empty"));
    }
    let fined = amount("amount", &body.amount)?;
    let answer = d
        .desk
        .command_once(once.as_ref(), |book, today| {
            book.fine(&body.fine_id, &body.setl_id, fined, &body.reason, today)
        })
        .await?;
    Ok(commanded(answer))
}

#[derive(Debug, Deserialize)]
pub(super) struct FineWithdrawal {
    fine_id: String,
    /// The decision that withdraws it and why, e.g. "appeal decision A-7: finding set aside".
    reason: String,
}

#[derive(Debug, Deserialize)]
pub(super) struct DeductionWithdrawal {
    deduction_id: String,
    /// The decision that withdraws it and why.
    reason: String,
}

/// An audit deduction withdrawn by a later decision: the bill owes again what it took, in
/// the next round (refused while fines on the bill rest on it).
pub(super) async fn withdraw_deduction(
    State(d): State<Shared>,
    headers: HeaderMap,
    Json(body): Json<DeductionWithdrawal>,
) -> Result<Json<serde_json::Value>, ApiError> {
    authorised(&d, &headers)?;
    let once = once(&headers, "/api/clearing/deduct/withdraw", &body)?;
    let answer = d
        .desk
        .command_once(once.as_ref(), |book, today| {
            book.withdraw_deduction(&body.deduction_id, &body.reason, today)
        })
        .await?;
    Ok(commanded(answer))
}

/// A fine withdrawn by a later decision (seed 004 arts. 49–53: a sanction is undone only by a
/// recorded decision): what it took is owed back in the next round.
pub(super) async fn withdraw_fine(
    State(d): State<Shared>,
    headers: HeaderMap,
    Json(body): Json<FineWithdrawal>,
) -> Result<Json<serde_json::Value>, ApiError> {
    authorised(&d, &headers)?;
    let once = once(&headers, "/api/clearing/fine/withdraw", &body)?;
    let answer = d
        .desk
        .command_once(once.as_ref(), |book, today| {
            book.withdraw_fine(&body.fine_id, &body.reason, today)
        })
        .await?;
    Ok(commanded(answer))
}

#[derive(Debug, Deserialize)]
pub(super) struct AgreementCall {
    decision_id: String,
    fixmedins_code: String,
    agreement: String,
    article: String,
    reason: String,
    /// Registers the institution, or changes its registered level or opening (issue #13 §3).
    #[serde(default)]
    registration: Option<RegistrationCall>,
}

#[derive(Debug, Deserialize)]
pub(super) struct RegistrationCall {
    name: String,
    /// The city (统筹区) it is in.
    admdvs: String,
    hosp_lv: u32,
    /// Opened for cross-province direct settlement.
    cross_province: bool,
}

/// Seed 004 art. 49: suspends, ends or reinstates an institution's service agreement; with a
/// registration, also enters the institution in the register or changes its entry (issue #13
/// §3). The decision id makes a repeat the same decision.
pub(super) async fn agreement(
    State(d): State<Shared>,
    headers: HeaderMap,
    Json(body): Json<AgreementCall>,
) -> Result<Json<serde_json::Value>, ApiError> {
    use crate::hospitals::{decide, Ask, DecisionError};
    authorised(&d, &headers)?;
    let ask = Ask {
        decision_id: body.decision_id,
        fixmedins_code: body.fixmedins_code,
        agreement: body.agreement,
        article: body.article,
        reason: body.reason,
        registration: body.registration.map(|r| yidi_wire::v1::Registration {
            name: r.name,
            admdvs: r.admdvs,
            hosp_lv: r.hosp_lv,
            cross_province: r.cross_province,
        }),
    };
    let at = d.desk.recorded_at();
    match decide(&d.store, &d.outbox, &ask, &at).await {
        Ok(decision) => Ok(Json(json!({"decision": decision}))),
        Err(DecisionError::Conflict(id)) => Err(ApiError(
            StatusCode::CONFLICT,
            "DECISION_CONFLICT".into(),
            format!("decision {id} was already made with other terms"),
        )),
        Err(DecisionError::Store(e)) => {
            Err(ApiError(StatusCode::SERVICE_UNAVAILABLE, e.code().into(), e.to_string()))
        }
        Err(invalid) => Err(bad("decision", invalid)),
    }
}
