//! Who may use the ministry dashboard (issue #11 §7): with an admin token set, every call
//! needs a token — reads the admin or the read-only one, changes the admin one — compared in
//! constant time; the full check, which replays the whole log, runs at most once per interval;
//! and the business clock is moved by hand only where it is simulated.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests panic: a failure should stop with a backtrace.
#![allow(clippy::as_conversions)] // Test data is small and made here: counts and indexes fit.

mod support;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use tower::ServiceExt;
use yidi_hub::dashboard::router;

async fn dashboard(name: &str, simulated_clock: bool) -> (axum::Router, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("yidi-dashboard-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let store = support::store(&dir).await;
    let dashboard =
        support::dashboard(store, (Some("admin-secret"), Some("read-secret")), simulated_clock)
            .await;
    (router(Arc::new(dashboard)), dir)
}

async fn call(router: &axum::Router, method: &str, uri: &str, auth: Option<&str>) -> StatusCode {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(auth) = auth {
        request = request
            .header(if auth.starts_with("yidi_token=") { "cookie" } else { "authorization" }, auth);
    }
    let body = if method == "POST" { Body::from(r#"{"days": 1}"#) } else { Body::empty() };
    let request = request.header("content-type", "application/json").body(body).unwrap();
    router.clone().oneshot(request).await.unwrap().status()
}

#[tokio::test]
async fn with_a_token_set_every_call_needs_one_and_only_the_admin_token_changes_anything() {
    let (router, dir) = dashboard("tokens", true).await;
    assert_eq!(call(&router, "GET", "/api/live", None).await, StatusCode::UNAUTHORIZED);
    assert_eq!(call(&router, "GET", "/", Some("Bearer wrong")).await, StatusCode::UNAUTHORIZED);
    assert_eq!(call(&router, "GET", "/api/live", Some("Bearer read-secret")).await, StatusCode::OK);
    assert_eq!(call(&router, "GET", "/", Some("yidi_token=read-secret")).await, StatusCode::OK);
    assert_eq!(
        call(&router, "GET", "/api/clock", Some("Bearer admin-secret")).await,
        StatusCode::OK
    );
    let advance = "/api/admin/advance";
    assert_eq!(
        call(&router, "POST", advance, Some("Bearer read-secret")).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(call(&router, "POST", advance, Some("Bearer admin-secret")).await, StatusCode::OK);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_production_clock_is_not_advanced_by_hand() {
    let (router, dir) = dashboard("clock", false).await;
    let advance = "/api/admin/advance";
    assert_eq!(
        call(&router, "POST", advance, Some("Bearer admin-secret")).await,
        StatusCode::FORBIDDEN
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn the_full_check_runs_at_most_once_per_interval() {
    let (router, dir) = dashboard("checks", true).await;
    let full = "/api/checks?full=true";
    assert_eq!(call(&router, "GET", full, Some("Bearer read-secret")).await, StatusCode::OK);
    assert_eq!(
        call(&router, "GET", full, Some("Bearer read-secret")).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        call(&router, "GET", "/api/checks", Some("Bearer read-secret")).await,
        StatusCode::OK,
        "the quick check is not limited"
    );
    let _ = std::fs::remove_dir_all(dir);
}
