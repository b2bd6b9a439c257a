//! The JSON reads behind every panel of the page.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::json;
use yidi_clearing::book::{Positions, Prepayment};
use yidi_clearing::overdue::{Level, BUCKETS};
use yidi_clearing::period::Period;

use super::{
    bad, period_or_latest, region, ApiError, BillQuery, PeriodQuery, Shared, FULL_CHECK_EVERY,
};

pub(super) async fn clock(State(d): State<Shared>) -> Json<serde_json::Value> {
    Json(json!({"today": d.desk.today().await}))
}

pub(super) async fn overdue(State(d): State<Shared>) -> Json<serde_json::Value> {
    let (today, provinces) = d.desk.overdue().await;
    Json(json!({"today": today, "aging_buckets": BUCKETS, "provinces": provinces}))
}

pub(super) async fn positions(
    State(d): State<Shared>,
    Query(q): Query<PeriodQuery>,
) -> Result<Json<Positions>, ApiError> {
    let period = period_or_latest(&d.desk, &q).await?;
    d.desk.positions(period).await.map(Json).ok_or_else(|| {
        ApiError(StatusCode::NOT_FOUND, "CLR_05".into(), format!("no clearing round for {period}"))
    })
}

pub(super) async fn rounds(State(d): State<Shared>) -> Json<Vec<Positions>> {
    let mut out = Vec::new();
    for period in d.desk.periods().await {
        if let Some(p) = d.desk.positions(period).await {
            out.push(p);
        }
    }
    Json(out)
}

pub(super) async fn notice(
    State(d): State<Shared>,
    Query(q): Query<PeriodQuery>,
) -> Result<Json<yidi_clearing::round::Notice>, ApiError> {
    let period = period_or_latest(&d.desk, &q).await?;
    let province = region("province", q.province.as_deref().unwrap_or_default())?;
    d.desk.notice(period, province).await.map(Json).ok_or_else(|| {
        ApiError(StatusCode::NOT_FOUND, "CLR_05".into(), format!("no clearing round for {period}"))
    })
}

pub(super) async fn prepayments(State(d): State<Shared>) -> Json<Vec<Prepayment>> {
    Json(d.desk.prepayments().await)
}

pub(super) async fn suspensions(State(d): State<Shared>) -> Json<serde_json::Value> {
    let (_, provinces) = d.desk.overdue().await;
    let suspended: Vec<_> = provinces
        .iter()
        .filter(|o| o.level == Level::Suspended)
        .map(|o| json!({"province": o.province.as_str(), "since": o.since, "reason": o.reason}))
        .collect();
    Json(json!({"suspended": suspended, "transitions": d.desk.transitions().await}))
}

pub(super) async fn live(State(d): State<Shared>) -> Json<crate::live::Snapshot> {
    Json(d.live())
}

/// Where a bill is, as the hub knows it (issue #12 §6): waiting for its insured agency (and
/// since when), or entered in the clearing ledger (reversed or not). What the exchange and
/// the agency recorded is in their provinces' databases: `yidi trace` there.
pub(super) async fn bill(
    State(d): State<Shared>,
    Query(q): Query<BillQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let entries = crate::record::bill_entries(&d.store, &q.id)
        .await
        .map_err(|e| ApiError(StatusCode::SERVICE_UNAVAILABLE, "STORE".into(), e.to_string()))?;
    let waiting_ms = d.live.in_flight(&q.id).map(|waited| waited.as_millis());
    Ok(Json(json!({"id": q.id, "waiting_for_agency_ms": waiting_ms, "ledger": entries})))
}

#[derive(Deserialize)]
pub(super) struct ChecksQuery {
    #[serde(default)]
    full: bool,
}

pub(super) async fn checks(
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
    Ok(Json(d.desk.checks(q.full).await))
}

pub(super) async fn reconciliation(
    State(d): State<Shared>,
    Query(q): Query<PeriodQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let period = match &q.period {
        Some(text) => Some(text.parse::<Period>().map_err(|e| bad("period", e))?),
        None => None,
    };
    Ok(Json(json!({"reconciliations": d.desk.reconciliations(period).await})))
}

/// The register's decisions (issue #13 §3–4): institutions out of direct settlement now, and
/// every decision, newest first.
/// Fines on institutions (seed 004 art. 49), the newest first, with their withdrawals.
pub(super) async fn fines(State(d): State<Shared>) -> Json<Vec<crate::clearing::FineView>> {
    Json(d.desk.fines().await)
}

/// Person-level halts of direct settlement (seed 004 art. 53), the newest first.
pub(super) async fn halts(
    State(d): State<Shared>,
) -> Result<Json<Vec<crate::halts::Listed>>, ApiError> {
    crate::halts::listed(&d.store)
        .await
        .map(Json)
        .map_err(|e| ApiError(StatusCode::SERVICE_UNAVAILABLE, "STORE".into(), e.to_string()))
}

pub(super) async fn hospitals(
    State(d): State<Shared>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let unavailable = |e: yidi_store::StoreError| {
        ApiError(StatusCode::SERVICE_UNAVAILABLE, "STORE".into(), e.to_string())
    };
    let sanctioned = crate::hospitals::sanctioned(&d.store).await.map_err(unavailable)?;
    let decisions = crate::hospitals::history(&d.store, 200).await.map_err(unavailable)?;
    Ok(Json(json!({"sanctioned": sanctioned, "decisions": decisions})))
}

#[derive(Debug, Deserialize)]
pub(super) struct DayQuery {
    day: Option<String>,
}

/// Daily reconciliation (`daily`): every pair of `day` as the agencies and the exchanges
/// stated it against the ledger, with the bills behind each difference; without a day, the
/// latest stated days.
pub(super) async fn day_reconciliation(
    State(d): State<Shared>,
    Query(q): Query<DayQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let internal = |e: yidi_store::StoreError| {
        ApiError(StatusCode::INTERNAL_SERVER_ERROR, "STORE".into(), e.to_string())
    };
    let pairs = match &q.day {
        Some(text) => {
            let day: chrono::NaiveDate = text.parse().map_err(|e| bad("day", e))?;
            let mut tx = d.desk.store().begin().await.map_err(internal)?;
            crate::daily::reconcile_day(&mut tx, day).await.map_err(internal)?
        }
        None => d.desk.daily_reconciliation().await.map_err(internal)?,
    };
    let differing = pairs.iter().filter(|p| !p.agrees).count();
    Ok(Json(json!({"pairs": pairs, "differing": differing})))
}
