//! The ministry dashboard (issue #5 §7): server-rendered HTML with SVG charts, a JSON API
//! behind every panel, CSV exports, and the clearing desk's admin calls (business clock,
//! confirmation, payment, audit deduction, prepayment top-up).
//!
//! It binds to loopback by default; an `admin_token` setting makes every call ask for a token
//! (`Authorization: Bearer <token>` or a `yidi_token` cookie): POST calls the admin token, GET
//! calls the admin or the `read_token`.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use yidi_clearing::book::{Overdue, Positions, Prepayment};
use yidi_clearing::overdue::{Level, BUCKETS};
use yidi_clearing::period::Period;
use yidi_clearing::text::parse_amount;
use yidi_domain::fingerprint::Fingerprinter;
use yidi_domain::ids::RegionCode;
use yidi_domain::money::Amount;
use yidi_store::{Store, StoreError};

use yidi_bus::Health;

use crate::clearing::{Commanded, Desk, DeskError, Once};
use crate::live::Live;
use crate::record;

pub struct Dashboard {
    pub desk: Arc<Desk>,
    pub live: Arc<Live>,
    pub store: Store,
    pub admin_token: Option<String>,
    /// With `admin_token`: a token that may read (every GET) but change nothing.
    pub read_token: Option<String>,
    /// Whether the business clock may be moved by hand (`advance`): a simulated clock (the
    /// demo, tests), never a production one.
    pub simulated_clock: bool,
    /// The hub consumer's health: messages waiting out a fault.
    pub health: Arc<Health>,
    /// When the last full check ran: it replays the whole log under the desk's lock, so it
    /// runs at most once per [`FULL_CHECK_EVERY`].
    pub full_checked: std::sync::Mutex<Option<std::time::Instant>>,
}

/// How often a full check (`/api/checks?full=true`) may run.
pub const FULL_CHECK_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

impl Dashboard {
    /// The live figures with the consumer's health.
    fn live(&self) -> crate::live::Snapshot {
        let mut live = self.live.snapshot();
        live.retrying = self.health.retrying();
        live.alarmed = self.health.alarmed();
        live
    }
}

type Shared = Arc<Dashboard>;

pub fn router(dashboard: Shared) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/api/clock", get(clock))
        .route("/api/overdue", get(overdue))
        .route("/api/overdue.csv", get(overdue_csv))
        .route("/api/positions", get(positions))
        .route("/api/positions.csv", get(positions_csv))
        .route("/api/rounds", get(rounds))
        .route("/api/notice", get(notice))
        .route("/api/notice.csv", get(notice_csv))
        .route("/api/prepayments", get(prepayments))
        .route("/api/prepayments.csv", get(prepayments_csv))
        .route("/api/suspensions", get(suspensions))
        .route("/api/transitions.csv", get(transitions_csv))
        .route("/api/live", get(live))
        .route("/api/bill", get(bill))
        .route("/bill", get(bill_page))
        .route("/api/checks", get(checks))
        .route("/api/admin/advance", post(advance))
        .route("/api/clearing/confirm", post(confirm))
        .route("/api/clearing/pay", post(pay))
        .route("/api/clearing/deduct", post(deduct))
        .route("/api/clearing/top-up", post(top_up))
        .route("/api/clearing/reconcile", post(request_statements))
        .route("/api/reconciliation", get(reconciliation))
        .route_layer(axum::middleware::from_fn_with_state(Arc::clone(&dashboard), guard))
        .with_state(dashboard)
}

/// Who may call what (issue #11 §7). Without an admin token (loopback, development) anyone
/// may; with one, every call needs a token: a POST the admin token, a GET the admin or the
/// read-only token. `Authorization: Bearer <token>` (what the ministry's proxy adds) or a
/// `yidi_token` cookie.
async fn guard(
    State(d): State<Shared>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let Some(admin) = &d.admin_token else { return next.run(request).await };
    let given = presented(request.headers());
    let reading = request.method() == axum::http::Method::GET;
    let allowed = given.is_some_and(|given| {
        same(given, admin) || (reading && d.read_token.as_deref().is_some_and(|r| same(given, r)))
    });
    if allowed {
        return next.run(request).await;
    }
    let why =
        if reading { "this dashboard needs a token" } else { "admin calls need the admin token" };
    ApiError(StatusCode::UNAUTHORIZED, "UNAUTHORIZED".into(), why.into()).into_response()
}

/// The token a call presents: its bearer token, or its `yidi_token` cookie.
fn presented(headers: &HeaderMap) -> Option<&str> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    bearer.or_else(|| {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .find_map(|c| c.trim().strip_prefix("yidi_token="))
    })
}

/// Whether two tokens are the same, in time that does not depend on where they differ (or on
/// their lengths: their digests are compared).
fn same(given: &str, expected: &str) -> bool {
    use sha2::Digest;
    use subtle::ConstantTimeEq;
    let (given, expected) = (sha2::Sha256::digest(given), sha2::Sha256::digest(expected));
    given.as_slice().ct_eq(expected.as_slice()).into()
}

// ---- errors -------------------------------------------------------------------------------

struct ApiError(StatusCode, String, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({"code": self.1, "error": self.2}))).into_response()
    }
}

impl From<DeskError> for ApiError {
    fn from(e: DeskError) -> ApiError {
        let status = match e {
            DeskError::Clearing(_) => StatusCode::UNPROCESSABLE_ENTITY,
            DeskError::Store(StoreError::IdempotencyConflict { .. }) => StatusCode::CONFLICT,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError(status, e.code().to_owned(), e.to_string())
    }
}

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

fn bad(field: &str, why: impl std::fmt::Display) -> ApiError {
    ApiError(StatusCode::BAD_REQUEST, "BAD_REQUEST".into(), format!("{field}: {why}"))
}

fn region(field: &str, text: &str) -> Result<RegionCode, ApiError> {
    text.parse::<RegionCode>().map_err(|e| bad(field, format!("{text:?}: {e}")))
}

fn amount(field: &str, text: &str) -> Result<Amount, ApiError> {
    parse_amount(text).map_err(|e| bad(field, e))
}

fn authorised(dashboard: &Dashboard, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(token) = &dashboard.admin_token else { return Ok(()) };
    if presented(headers).is_some_and(|given| same(given, token)) {
        Ok(())
    } else {
        Err(ApiError(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED".into(),
            "admin calls need the bearer token".into(),
        ))
    }
}

fn csv(name: &str, body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
        ],
        body,
    )
        .into_response()
}

// ---- reads --------------------------------------------------------------------------------

#[derive(Deserialize)]
struct PeriodQuery {
    period: Option<String>,
    province: Option<String>,
}

/// The asked period, or the latest round with bills in it (else the latest round).
async fn period_or_latest(desk: &Desk, query: &PeriodQuery) -> Result<Period, ApiError> {
    if let Some(text) = &query.period {
        return text.parse().map_err(|e| bad("period", e));
    }
    let periods = desk.periods().await;
    for period in periods.iter().rev() {
        if desk.positions(*period).await.is_some_and(|p| p.bills > 0) {
            return Ok(*period);
        }
    }
    periods.last().copied().ok_or_else(|| {
        ApiError(StatusCode::NOT_FOUND, "CLR_05".into(), "no clearing round yet".into())
    })
}

async fn clock(State(d): State<Shared>) -> Json<serde_json::Value> {
    Json(json!({"today": d.desk.today().await}))
}

async fn overdue(State(d): State<Shared>) -> Json<serde_json::Value> {
    let (today, provinces) = d.desk.overdue().await;
    Json(json!({"today": today, "aging_buckets": BUCKETS, "provinces": provinces}))
}

async fn overdue_csv(State(d): State<Shared>) -> Response {
    let (today, provinces) = d.desk.overdue().await;
    let mut out = String::from("as_of,province,level,since,overdue,aging_1_30,aging_31_60,aging_61_90,aging_over_90,interest,days_past_due,outstanding\n");
    for o in &provinces {
        let _ = writeln!(
            out,
            "{today},{},{},{},{},{},{},{},{},{},{},{}",
            o.province,
            o.level.label(),
            o.since.map(|d| d.to_string()).unwrap_or_default(),
            o.overdue,
            o.aging[0],
            o.aging[1],
            o.aging[2],
            o.aging[3],
            o.interest,
            o.days_past_due,
            o.outstanding
        );
    }
    csv("overdue.csv", out)
}

async fn positions(
    State(d): State<Shared>,
    Query(q): Query<PeriodQuery>,
) -> Result<Json<Positions>, ApiError> {
    let period = period_or_latest(&d.desk, &q).await?;
    d.desk.positions(period).await.map(Json).ok_or_else(|| {
        ApiError(StatusCode::NOT_FOUND, "CLR_05".into(), format!("no clearing round for {period}"))
    })
}

async fn positions_csv(
    State(d): State<Shared>,
    Query(q): Query<PeriodQuery>,
) -> Result<Response, ApiError> {
    let Json(p) = positions(State(d), Query(q)).await?;
    let mut out = String::from("period,kind,insured,treatment,province,amount\n");
    for pair in &p.pairs {
        let _ = writeln!(
            out,
            "{},obligation,{},{},,{}",
            p.period, pair.insured, pair.treatment, pair.amount
        );
    }
    for (province, net) in &p.netting.net {
        let _ = writeln!(out, "{},net_position,,,{province},{net}", p.period);
    }
    Ok(csv(&format!("positions-{}.csv", p.period), out))
}

async fn rounds(State(d): State<Shared>) -> Json<Vec<Positions>> {
    let mut out = Vec::new();
    for period in d.desk.periods().await {
        if let Some(p) = d.desk.positions(period).await {
            out.push(p);
        }
    }
    Json(out)
}

async fn notice(
    State(d): State<Shared>,
    Query(q): Query<PeriodQuery>,
) -> Result<Json<yidi_clearing::round::Notice>, ApiError> {
    let period = period_or_latest(&d.desk, &q).await?;
    let province = region("province", q.province.as_deref().unwrap_or_default())?;
    d.desk.notice(period, province).await.map(Json).ok_or_else(|| {
        ApiError(StatusCode::NOT_FOUND, "CLR_05".into(), format!("no clearing round for {period}"))
    })
}

async fn notice_csv(
    State(d): State<Shared>,
    Query(q): Query<PeriodQuery>,
) -> Result<Response, ApiError> {
    let Json(n) = notice(State(d), Query(q)).await?;
    let mut out = String::from("period,side,insured,treatment,setl_id,entry,kind,amount\n");
    for (side, lines) in [("owing", &n.owing), ("owed", &n.owed)] {
        for line in lines {
            for b in &line.bills {
                let kind = serde_json::to_value(b.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "{},{side},{},{},{},{},{kind},{}",
                    n.period, line.insured, line.treatment, b.setl_id, b.entry, b.amount
                );
            }
        }
    }
    Ok(csv(&format!("notice-{}-{}.csv", n.period, n.province), out))
}

async fn prepayments(State(d): State<Shared>) -> Json<Vec<Prepayment>> {
    Json(d.desk.prepayments().await)
}

async fn prepayments_csv(State(d): State<Shared>) -> Response {
    let mut out =
        String::from("year,insured,treatment,prepaid,basis,outstanding,usage,warning,top_up\n");
    for p in d.desk.prepayments().await {
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},{}",
            p.year,
            p.insured,
            p.treatment,
            p.prepaid,
            p.sizing.basis,
            p.outstanding,
            p.usage.usage,
            p.usage.warning,
            p.usage.top_up
        );
    }
    csv("prepayments.csv", out)
}

async fn suspensions(State(d): State<Shared>) -> Json<serde_json::Value> {
    let (_, provinces) = d.desk.overdue().await;
    let suspended: Vec<_> = provinces
        .iter()
        .filter(|o| o.level == Level::Suspended)
        .map(|o| json!({"province": o.province.as_str(), "since": o.since, "reason": o.reason}))
        .collect();
    Json(json!({"suspended": suspended, "transitions": d.desk.transitions().await}))
}

async fn transitions_csv(State(d): State<Shared>) -> Response {
    let mut out = String::from("on,province,from,to,reason\n");
    for t in d.desk.transitions().await {
        let _ = writeln!(
            out,
            "{},{},{},{},\"{}\"",
            t.on,
            t.province,
            t.from.label(),
            t.to.label(),
            t.reason.replace('"', "'")
        );
    }
    csv("transitions.csv", out)
}

async fn live(State(d): State<Shared>) -> Json<crate::live::Snapshot> {
    Json(d.live())
}

#[derive(Deserialize)]
struct BillQuery {
    id: String,
}

/// Where a bill is, as the hub knows it (issue #12 §6): waiting for its insured agency (and
/// since when), or entered in the clearing ledger (reversed or not). What the exchange and
/// the agency recorded is in their provinces' databases: `yidi trace` there.
async fn bill(
    State(d): State<Shared>,
    Query(q): Query<BillQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let entries = crate::record::bill_entries(&d.store, &q.id)
        .await
        .map_err(|e| ApiError(StatusCode::SERVICE_UNAVAILABLE, "STORE".into(), e.to_string()))?;
    let waiting_ms = d.live.in_flight(&q.id).map(|waited| waited.as_millis());
    Ok(Json(json!({"id": q.id, "waiting_for_agency_ms": waiting_ms, "ledger": entries})))
}

async fn bill_page(State(d): State<Shared>, Query(q): Query<BillQuery>) -> Response {
    let Json(found) = match bill(State(d), Query(BillQuery { id: q.id.clone() })).await {
        Ok(found) => found,
        Err(error) => return error.into_response(),
    };
    let id = escape(&q.id);
    let mut out = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>yidi: bill {id}</title></head><body>\
         <h1>Bill {id}</h1><p><a href=\"/\">dashboard</a> · <a href=\"/api/bill?id={id}\">JSON</a></p>"
    );
    if let Some(waited) = found["waiting_for_agency_ms"].as_u64() {
        let _ = write!(out, "<p>Routed to its insured agency {waited} ms ago; no result yet.</p>");
    }
    let entries = found["ledger"].as_array().cloned().unwrap_or_default();
    if entries.is_empty() {
        out.push_str("<p>Not in the clearing ledger: not settled (yet), refused, or not known to the hub.</p>");
    } else {
        out.push_str("<table><tr><th>msgid</th><th>setl_id</th><th>insured</th><th>treated</th><th>medical fees</th><th>funds paid</th><th>settled</th><th>reversed</th></tr>");
        for entry in &entries {
            let field = |name: &str| escape(entry[name].as_str().unwrap_or(""));
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td></tr>",
                field("msgid"), field("setl_id"), field("insured"), field("treatment"),
                field("medfee_sumamt"), field("fund_pay_sumamt"), field("setl_time"), field("reversed_at")
            );
        }
        out.push_str("</table>");
    }
    out.push_str("<p>The exchange's and the agency's records of it: <code>yidi trace &lt;msgid|mdtrt_id&gt;</code> where their databases are.</p></body></html>");
    Html(out).into_response()
}

#[derive(Deserialize)]
struct ChecksQuery {
    #[serde(default)]
    full: bool,
}

async fn checks(
    State(d): State<Shared>,
    Query(q): Query<ChecksQuery>,
) -> Result<Json<Vec<crate::clearing::Check>>, ApiError> {
    if q.full {
        let now = std::time::Instant::now();
        let mut last = d.full_checked.lock().map_err(|_| {
            ApiError(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL".into(), "lock".into())
        })?;
        if last.is_some_and(|at| now.duration_since(at) < FULL_CHECK_EVERY) {
            return Err(ApiError(
                StatusCode::TOO_MANY_REQUESTS,
                "TOO_MANY_REQUESTS".into(),
                format!("a full check runs at most once every {} s", FULL_CHECK_EVERY.as_secs()),
            ));
        }
        *last = Some(now);
    }
    let settled = record::settled_advance(&d.store).await;
    Ok(Json(d.desk.checks(settled, q.full).await))
}

// ---- admin --------------------------------------------------------------------------------

#[derive(Deserialize)]
struct Advance {
    days: i64,
}

async fn advance(
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
struct Confirm {
    period: String,
    province: String,
    #[serde(default)]
    disputed: Vec<String>,
}

async fn confirm(
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
struct Pay {
    period: String,
    province: String,
    amount: String,
    #[serde(default)]
    reference: String,
}

async fn pay(
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
struct Deduct {
    deduction_id: String,
    setl_id: String,
    amount: String,
    reason: String,
}

async fn deduct(
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
struct TopUpBody {
    insured: String,
    treatment: String,
    amount: String,
}

async fn top_up(
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
struct Reconcile {
    period: String,
}

async fn request_statements(
    State(d): State<Shared>,
    headers: HeaderMap,
    Json(body): Json<Reconcile>,
) -> Result<Json<serde_json::Value>, ApiError> {
    authorised(&d, &headers)?;
    let period: Period = body.period.parse().map_err(|e| bad("period", e))?;
    let requested = d.desk.request_statements(period).await?;
    Ok(Json(json!({"requested": requested, "period": period.to_string()})))
}

async fn reconciliation(
    State(d): State<Shared>,
    Query(q): Query<PeriodQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let period = match &q.period {
        Some(text) => Some(text.parse::<Period>().map_err(|e| bad("period", e))?),
        None => None,
    };
    Ok(Json(json!({"reconciliations": d.desk.reconciliations(period).await})))
}

// ---- the page -----------------------------------------------------------------------------

fn name(province: RegionCode) -> &'static str {
    match province.as_str() {
        "110000" => "Beijing 北京",
        "120000" => "Tianjin 天津",
        "310000" => "Shanghai 上海",
        "330000" => "Zhejiang 浙江",
        "440000" => "Guangdong 广东",
        _ => "",
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A number with the key the browser test reads it by.
fn cell(key: &str, value: impl std::fmt::Display) -> String {
    keyed("td", key, value)
}

fn keyed(tag: &str, key: &str, value: impl std::fmt::Display) -> String {
    format!("<{tag} class=\"num\" data-key=\"{key}\">{value}</{tag}>")
}

/// Amounts as f64 only to draw bars: the page prints the exact values beside them.
fn width(value: Amount, max: Amount, full: u32) -> u32 {
    use rust_decimal::prelude::ToPrimitive;
    if max.is_zero() {
        return 0;
    }
    let share = (value.value() * rust_decimal::Decimal::from(full) / max.value()).abs();
    share.round().to_u32().unwrap_or(0).min(full)
}

const COLOURS: [&str; 4] = ["#f2c94c", "#f2994a", "#eb5757", "#9b2226"];

fn aging_chart(provinces: &[Overdue]) -> String {
    let max = provinces.iter().map(|o| o.overdue).max().unwrap_or_default();
    let height = 28 * provinces.len().max(1) + 30;
    let mut svg = format!("<svg class=\"chart\" width=\"620\" height=\"{height}\" role=\"img\" aria-label=\"overdue by aging bucket\">");
    for (row, o) in provinces.iter().enumerate() {
        let y = 28 * row + 4;
        let _ =
            write!(svg, "<text x=\"0\" y=\"{}\" font-size=\"12\">{}</text>", y + 14, o.province);
        let mut x = 70;
        for (b, amount) in o.aging.iter().enumerate() {
            let w = width(*amount, max, 440);
            if w > 0 {
                let _ = write!(svg, "<rect x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"18\" fill=\"{}\"><title>{} days: {amount}</title></rect>", COLOURS[b], BUCKETS[b]);
            }
            x += w;
        }
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{}\" font-size=\"11\">{}</text>",
            x + 6,
            y + 14,
            o.overdue
        );
    }
    let y = 28 * provinces.len() + 20;
    for (b, label) in BUCKETS.iter().enumerate() {
        let x = 70 + b * 110;
        let _ = write!(svg, "<rect x=\"{x}\" y=\"{}\" width=\"12\" height=\"12\" fill=\"{}\"/><text x=\"{}\" y=\"{y}\" font-size=\"11\">{label} days</text>", y - 10, COLOURS[b], x + 16);
    }
    svg.push_str("</svg>");
    svg
}

fn net_chart(p: &Positions) -> String {
    let max = p
        .netting
        .net
        .values()
        .map(|a| if a.is_negative() { a.negated() } else { *a })
        .max()
        .unwrap_or_default();
    let height = 26 * p.netting.net.len().max(1) + 8;
    let mut svg = format!("<svg class=\"chart\" width=\"620\" height=\"{height}\" role=\"img\" aria-label=\"net positions\">");
    let _ = write!(svg, "<line x1=\"320\" y1=\"0\" x2=\"320\" y2=\"{height}\" stroke=\"#888\"/>");
    for (row, (province, net)) in p.netting.net.iter().enumerate() {
        let y = 26 * row + 4;
        let w = width(*net, max, 220);
        let (x, fill) = if net.is_negative() { (320 - w, "#eb5757") } else { (320, "#27ae60") };
        let _ = write!(
            svg,
            "<text x=\"0\" y=\"{}\" font-size=\"12\">{province}</text><rect x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"18\" fill=\"{fill}\"><title>{net}</title></rect><text x=\"550\" y=\"{}\" font-size=\"11\">{net}</text>",
            y + 14,
            y + 14
        );
    }
    svg.push_str("</svg>");
    svg
}

fn prepay_chart(prepayments: &[Prepayment]) -> String {
    let height = 24 * prepayments.len().max(1) + 8;
    let mut svg = format!("<svg class=\"chart\" width=\"620\" height=\"{height}\" role=\"img\" aria-label=\"prepayment usage\">");
    let hundred = Amount::round2(rust_decimal::Decimal::ONE);
    for (row, p) in prepayments.iter().enumerate() {
        let y = 24 * row + 4;
        let used = Amount::round2(p.usage.usage.min(rust_decimal::Decimal::ONE));
        let w = width(used, hundred, 400);
        let fill = if p.usage.warning { "#eb5757" } else { "#2d9cdb" };
        let _ = write!(
            svg,
            "<text x=\"0\" y=\"{}\" font-size=\"11\">{}→{}</text><rect x=\"110\" y=\"{y}\" width=\"400\" height=\"16\" fill=\"#eee\"/><rect x=\"110\" y=\"{y}\" width=\"{w}\" height=\"16\" fill=\"{fill}\"/><text x=\"520\" y=\"{}\" font-size=\"11\">{}%</text>",
            y + 13,
            p.insured,
            p.treatment,
            y + 13,
            (p.usage.usage * rust_decimal::Decimal::from(100)).round_dp(1)
        );
    }
    let _ = write!(svg, "<line x1=\"390\" y1=\"0\" x2=\"390\" y2=\"{height}\" stroke=\"#333\" stroke-dasharray=\"4\"/>");
    svg.push_str("</svg>");
    svg
}

async fn page(State(d): State<Shared>, Query(q): Query<PeriodQuery>) -> Html<String> {
    let (today, provinces) = d.desk.overdue().await;
    let period = period_or_latest(&d.desk, &q).await.ok();
    let positions = match period {
        Some(p) => d.desk.positions(p).await,
        None => None,
    };
    let prepayments = d.desk.prepayments().await;
    let transitions = d.desk.transitions().await;
    let all_periods = d.desk.periods().await;
    let reconciliations = match period {
        Some(p) => d.desk.reconciliations(Some(p)).await,
        None => Vec::new(),
    };
    let live = d.live();
    let settled = record::settled_advance(&d.store).await;
    let checks = d.desk.checks(settled, false).await;

    let mut html = String::with_capacity(32 * 1024);
    let _ = write!(
        html,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" content=\"15\">\
         <title>yidi · clearing</title><style>\
         body{{font:14px system-ui,sans-serif;margin:24px;color:#222;max-width:1100px}}\
         h1{{font-size:20px}}h2{{font-size:16px;margin-top:28px;border-bottom:1px solid #ddd}}\
         table{{border-collapse:collapse;margin:8px 0}}td,th{{border:1px solid #ddd;padding:3px 8px}}\
         .num{{text-align:right;font-variant-numeric:tabular-nums}}.ok{{background:#27ae60;color:#fff}}\
         .bad{{background:#eb5757;color:#fff}}.badge{{padding:2px 8px;border-radius:3px;margin-right:6px}}\
         .suspended{{color:#9b2226;font-weight:bold}}.warning{{color:#f2994a}}small{{color:#666}}\
         </style></head><body><h1>yidi — inter-provincial clearing <small>business date <span data-key=\"today\">{today}</span></small></h1>"
    );

    html.push_str("<h2>Conservation checks</h2><p>");
    for c in &checks {
        let _ = write!(
            html,
            "<span class=\"badge {}\" data-key=\"check.{}\" data-ok=\"{}\" title=\"{}\">{} {}</span>",
            if c.ok { "ok" } else { "bad" },
            c.name,
            c.ok,
            escape(&c.detail),
            if c.ok { "✔" } else { "✘" },
            c.name
        );
    }
    html.push_str("</p><ul>");
    for c in &checks {
        let _ = write!(html, "<li><small>{}: {}</small></li>", c.name, escape(&c.detail));
    }
    html.push_str("</ul>");

    html.push_str("<h2>Suspended provinces</h2>");
    let suspended: Vec<&Overdue> =
        provinces.iter().filter(|o| o.level == Level::Suspended).collect();
    if suspended.is_empty() {
        html.push_str("<p data-key=\"suspended.count\" data-value=\"0\">None: every insured province settles directly.</p>");
    } else {
        let _ = write!(html, "<table data-key=\"suspended.count\" data-value=\"{}\"><tr><th>Province</th><th>Since</th><th>Why</th></tr>", suspended.len());
        for o in suspended {
            let _ = write!(html, "<tr class=\"suspended\"><td data-key=\"suspended.{p}\">{p} {}</td><td>{}</td><td>{}</td></tr>", name(o.province), o.since.map(|d| d.to_string()).unwrap_or_default(), escape(&o.reason), p = o.province);
        }
        html.push_str("</table><p><small>Their insured's new bills are answered <code>province_suspended</code>; the HIS falls back to manual reimbursement. Lifted automatically once paid.</small></p>");
    }

    html.push_str("<h2>Overdue clearing funds <small><a href=\"/api/overdue\">JSON</a> · <a href=\"/api/overdue.csv\">CSV</a></small></h2>");
    html.push_str("<table><tr><th>Province</th><th>Level</th><th>Overdue</th>");
    for b in BUCKETS {
        let _ = write!(html, "<th>{b} days</th>");
    }
    html.push_str("<th>Late interest</th><th>Days past due</th><th>Outstanding</th></tr>");
    for o in &provinces {
        let p = o.province;
        let _ = write!(
            html,
            "<tr><td>{p} {}</td><td class=\"{}\">{}</td>",
            name(p),
            o.level.label(),
            o.level.label()
        );
        html.push_str(&cell(&format!("overdue.{p}.overdue"), o.overdue));
        for (b, a) in o.aging.iter().enumerate() {
            html.push_str(&cell(&format!("overdue.{p}.aging.{b}"), a));
        }
        html.push_str(&cell(&format!("overdue.{p}.interest"), o.interest));
        html.push_str(&cell(&format!("overdue.{p}.days"), o.days_past_due));
        html.push_str(&cell(&format!("overdue.{p}.outstanding"), o.outstanding));
        html.push_str("</tr>");
    }
    html.push_str("</table>");
    html.push_str(&aging_chart(&provinces));

    match &positions {
        Some(p) => {
            let _ = write!(
                html,
                "<h2>Net positions, round <span data-key=\"positions.period\">{}</span> ({:?}) <small><a href=\"/api/positions?period={0}\">JSON</a> · <a href=\"/api/positions.csv?period={0}\">CSV</a></small></h2>",
                p.period, p.state
            );
            let mut all: Vec<RegionCode> = p.netting.net.keys().copied().collect();
            all.sort();
            html.push_str("<p>Who owes whom (row owes column):</p><table><tr><th>insured ↓ / treatment →</th>");
            for c in &all {
                let _ = write!(html, "<th>{c}</th>");
            }
            html.push_str("</tr>");
            for r in &all {
                let _ = write!(html, "<tr><th>{r}</th>");
                for c in &all {
                    let owed = p
                        .pairs
                        .iter()
                        .find(|o| o.insured == *r && o.treatment == *c)
                        .map(|o| o.amount);
                    match owed {
                        Some(a) => html.push_str(&cell(&format!("pair.{r}.{c}"), a)),
                        None => html.push_str("<td></td>"),
                    }
                }
                html.push_str("</tr>");
            }
            html.push_str("</table><table><tr><th>Province</th><th>Net position</th></tr>");
            for (province, net) in &p.netting.net {
                let _ = write!(
                    html,
                    "<tr><td>{province} {}</td>{}</tr>",
                    name(*province),
                    cell(&format!("net.{province}"), net)
                );
            }
            let _ = write!(
                html,
                "<tr><th>Σ</th>{}</tr></table><p>Gross {} · netted {} · liquidity saved {} · {} bills · disputed carried: {}</p>",
                cell("net.sum", p.net_sum),
                keyed("span", "netting.gross", p.netting.gross),
                keyed("span", "netting.netted", p.netting.netted),
                keyed("span", "netting.saved", p.netting.saved),
                p.bills,
                p.disputed.len()
            );
            html.push_str(&net_chart(p));
            html.push_str("<p>Rounds: ");
            for other in all_periods.iter().rev() {
                let _ = write!(html, "<a href=\"/?period={other}\">{other}</a> ");
            }
            html.push_str("</p>");
            let _ = write!(html, "<h3>Reconciliation with the exchanges (3201/3202) <small><a href=\"/api/reconciliation?period={}\">JSON</a></small></h3>", p.period);
            if reconciliations.is_empty() {
                html.push_str("<p>No statement received for this period yet.</p>");
            } else {
                html.push_str("<table><tr><th>Treatment province</th><th>Statement</th><th>Bills (hub / exchange)</th><th>Funds (hub / exchange)</th><th>Mismatches</th></tr>");
                for r in &reconciliations {
                    let hub_bills: i64 = r.rows.iter().map(|row| row.hub.settled).sum();
                    let ex_bills: i64 = r.rows.iter().map(|row| row.exchange.settled).sum();
                    let hub_fund: Amount = r.rows.iter().map(|row| row.hub.fund_pay_sumamt).sum();
                    let ex_fund: Amount =
                        r.rows.iter().map(|row| row.exchange.fund_pay_sumamt).sum();
                    let detail: Vec<String> = r
                        .mismatches
                        .iter()
                        .map(|m| format!("{} {}: hub {} / exchange {} (only at hub: {}; only at exchange: {})", m.insured, m.field, m.hub, m.exchange, m.only_at_hub.join(" "), m.only_at_exchange.join(" ")))
                        .collect();
                    let _ = write!(
                        html,
                        "<tr><td>{} {}</td><td class=\"{}\" data-key=\"reconciled.{}\" data-ok=\"{}\">{} {}</td><td class=\"num\">{hub_bills} / {ex_bills}</td><td class=\"num\">{hub_fund} / {ex_fund}</td><td><small>{}</small></td></tr>",
                        r.treatment,
                        name(r.treatment),
                        if r.balanced { "ok" } else { "bad" },
                        r.treatment,
                        r.balanced,
                        if r.balanced { "balanced" } else { "mismatch" },
                        r.on,
                        escape(&detail.join("; "))
                    );
                }
                html.push_str("</table>");
            }
        }
        None => html.push_str("<h2>Net positions</h2><p>No clearing round yet.</p>"),
    }

    html.push_str("<h2>Prepayment usage <small><a href=\"/api/prepayments\">JSON</a> · <a href=\"/api/prepayments.csv\">CSV</a></small></h2><table><tr><th>Insured → treatment</th><th>Prepaid</th><th>Basis</th><th>Outstanding</th><th>Usage</th><th>Top-up notice</th></tr>");
    for p in &prepayments {
        let key = format!("prepay.{}.{}", p.insured, p.treatment);
        let _ = write!(
            html,
            "<tr><td>{}→{}</td>{}<td>{}</td>{}{}{}</tr>",
            p.insured,
            p.treatment,
            cell(&format!("{key}.prepaid"), p.prepaid),
            p.sizing.basis,
            cell(&format!("{key}.outstanding"), p.outstanding),
            cell(&format!("{key}.usage"), p.usage.usage),
            cell(
                &format!("{key}.top_up"),
                if p.usage.warning { p.usage.top_up.to_string() } else { "—".into() }
            ),
        );
    }
    html.push_str("</table>");
    html.push_str(&prepay_chart(&prepayments));

    let _ = write!(
        html,
        "<h2>Live settlement <small><a href=\"/api/live\">JSON</a></small></h2><p>Last {}s: <b data-key=\"live.rate\">{}</b> results/s · p50 <b>{}</b> ms · p99 <b>{}</b> ms · since start {} results, {} settled</p>",
        live.window_seconds,
        live.rate,
        live.latency_p50_ms.map(|v| v.to_string()).unwrap_or("—".into()),
        live.latency_p99_ms.map(|v| v.to_string()).unwrap_or("—".into()),
        live.results,
        live.settled
    );
    if live.retrying > 0 {
        let _ = write!(
            html,
            "<p class=\"bad\">Waiting out a fault (database or broker): <b data-key=\"live.retrying\">{}</b> messages, <b data-key=\"live.alarmed\">{}</b> failing for over two minutes — see the hub's log; <code>yidi dlq park</code> sets one aside.</p>",
            live.retrying, live.alarmed
        );
    }
    html.push_str("<table><tr><th>Rejection reason</th><th>Count</th></tr>");
    for (reason, count) in &live.rejections {
        let _ = write!(
            html,
            "<tr><td>{}</td>{}</tr>",
            escape(reason),
            cell(&format!("rejections.{reason}"), count)
        );
    }
    html.push_str("</table>");

    html.push_str("<h2>Ladder transitions <small><a href=\"/api/suspensions\">JSON</a> · <a href=\"/api/transitions.csv\">CSV</a></small></h2><table><tr><th>On</th><th>Province</th><th>From</th><th>To</th><th>Reason</th></tr>");
    for t in transitions.iter().rev().take(30) {
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"{}\">{}</td><td>{}</td></tr>",
            t.on,
            t.province,
            t.from.label(),
            t.to.label(),
            t.to.label(),
            escape(&t.reason)
        );
    }
    html.push_str("</table></body></html>");
    Html(html)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue #11 §7: every string the page renders from data is escaped (reasons, details).
    #[test]
    fn rendered_text_cannot_open_a_tag_or_leave_an_attribute() {
        let hostile = r#"<script>alert("x")</script> & <img src=x onerror=y>"#;
        let escaped = escape(hostile);
        assert!(
            !escaped.contains('<') && !escaped.contains('>') && !escaped.contains('"'),
            "{escaped}"
        );
        assert!(escaped.contains("&lt;script&gt;") && escaped.contains("&amp;"));
    }
}
