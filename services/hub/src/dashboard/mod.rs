//! The ministry dashboard (issue #5 §7): a server-rendered page with SVG charts, a JSON API
//! behind every panel, CSV exports, and the clearing desk's admin calls (business clock,
//! confirmation, payment, audit deduction, prepayment top-up) and the register's: decisions on
//! designated institutions' service agreements (seed 004 art. 49).
//!
//! It binds to loopback by default; an `admin_token` setting makes every call ask for a token
//! (`Authorization: Bearer <token>` or a `yidi_token` cookie): POST calls the admin token, GET
//! calls the admin or the `read_token`.
//!
//! # Layout
//! - `page`: the HTML page and the bill page (maud templates: every value escaped), and
//!   `charts`, the SVG charts it draws;
//! - `api`: the JSON reads behind every panel;
//! - `admin`: the clearing desk's calls that change the book;
//! - `csv`: the exports, written by the `csv` crate;
//! - here: the router, who may call what, and the errors and parsing they share.

mod admin;
mod api;
mod charts;
mod csv;
mod page;

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use yidi_clearing::period::Period;
use yidi_clearing::text::parse_amount;
use yidi_domain::ids::RegionCode;
use yidi_domain::money::Amount;
use yidi_store::{Store, StoreError};

use yidi_bus::Health;

use crate::clearing::{Desk, DeskError};
use crate::live::Live;

pub struct Dashboard {
    pub desk: Arc<Desk>,
    pub live: Arc<Live>,
    pub store: Store,
    /// Decisions on service agreements go to the exchanges through it.
    pub outbox: yidi_runtime::outbox::Outbox,
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
        .route("/", get(page::page))
        .route("/bill", get(page::bill_page))
        .route("/static/refresh.js", get(page::refresh_script))
        .route("/api/clock", get(api::clock))
        .route("/api/overdue", get(api::overdue))
        .route("/api/overdue.csv", get(csv::overdue))
        .route("/api/positions", get(api::positions))
        .route("/api/positions.csv", get(csv::positions))
        .route("/api/rounds", get(api::rounds))
        .route("/api/notice", get(api::notice))
        .route("/api/notice.csv", get(csv::notice))
        .route("/api/prepayments", get(api::prepayments))
        .route("/api/prepayments.csv", get(csv::prepayments))
        .route("/api/suspensions", get(api::suspensions))
        .route("/api/transitions.csv", get(csv::transitions))
        .route("/api/live", get(api::live))
        .route("/api/bill", get(api::bill))
        .route("/api/checks", get(api::checks))
        .route("/api/reconciliation", get(api::reconciliation))
        .route("/api/reconciliation/day", get(api::day_reconciliation))
        .route("/api/admin/advance", post(admin::advance))
        .route("/api/clearing/confirm", post(admin::confirm))
        .route("/api/clearing/pay", post(admin::pay))
        .route("/api/clearing/deduct", post(admin::deduct))
        .route("/api/clearing/fine", post(admin::fine))
        .route("/api/clearing/fine/withdraw", post(admin::withdraw_fine))
        .route("/api/clearing/deduct/withdraw", post(admin::withdraw_deduction))
        .route("/api/clearing/top-up", post(admin::top_up))
        .route("/api/clearing/reconcile", post(admin::request_statements))
        .route("/api/clearing/reconcile-day", post(admin::request_day_statements))
        .route("/api/hospitals", get(api::hospitals))
        .route("/api/halts", get(api::halts))
        .route("/api/fines", get(api::fines))
        .route("/api/hospitals/agreement", post(admin::agreement))
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

/// An error answer: its HTTP status, a code and a message.
pub(super) struct ApiError(StatusCode, String, String);

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

#[derive(Deserialize)]
pub(super) struct PeriodQuery {
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

#[derive(Deserialize)]
pub(super) struct BillQuery {
    id: String,
}
