//! Decisions on designated institutions' service agreements at the hub (issue #13 §3–4, seed
//! 004 art. 49), through the desk's API: recorded with their article, sent to the
//! institution's exchange through the outbox in the same transaction, idempotent by their id,
//! undone only by a later decision, and shown on the dashboard.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests panic: a failure should stop with a backtrace.

mod support;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{json, Value};
use tower::ServiceExt;
use yidi_hub::dashboard::router;

async fn call(router: &axum::Router, method: &str, uri: &str, body: Value) -> (StatusCode, String) {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .body(if method == "POST" { Body::from(body.to_string()) } else { Body::empty() })
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
    (status, String::from_utf8(bytes.to_vec()).unwrap())
}

fn decision(id: &str, code: &str, agreement: &str) -> Value {
    json!({"decision_id": id, "fixmedins_code": code, "agreement": agreement,
           "article": "seed 004 art. 49(ii)", "reason": "false inpatient stays"})
}

#[tokio::test]
async fn an_agreement_suspended_for_fraud_reaches_the_exchange_and_the_dashboard_until_reinstated()
{
    let dir = std::env::temp_dir().join(format!("yidi-hub-hospitals-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let store = support::store(&dir).await;
    let dashboard = support::dashboard(store.clone(), (None, None), true).await;
    let router = router(Arc::new(dashboard));
    let hospital = yidi_sim::hospitals::designation("440000".parse().unwrap(), 7);

    let (status, body) = call(
        &router,
        "POST",
        "/api/hospitals/agreement",
        decision("D-1", &hospital.code, "suspended"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let decided: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(decided["decision"]["province"], "440000");
    // The decision is queued for Guangdong's exchange, keyed by the institution.
    let queued = yidi_store::outbox::oldest(store.pool(), 10).await.unwrap();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].topic, "exchange.440000.hospitals");
    assert_eq!(queued[0].key, hospital.code);

    // The same decision again is the same decision; its id with other terms is a conflict.
    let (status, _) = call(
        &router,
        "POST",
        "/api/hospitals/agreement",
        decision("D-1", &hospital.code, "suspended"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(yidi_store::outbox::oldest(store.pool(), 10).await.unwrap().len(), 1, "sent once");
    let (status, _) =
        call(&router, "POST", "/api/hospitals/agreement", decision("D-1", &hospital.code, "ended"))
            .await;
    assert_eq!(status, StatusCode::CONFLICT);
    // Only designated institutions, only known agreement states, always an article.
    let (status, _) =
        call(&router, "POST", "/api/hospitals/agreement", decision("D-2", "H99999999999", "ended"))
            .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = call(
        &router,
        "POST",
        "/api/hospitals/agreement",
        decision("D-3", &hospital.code, "closed"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let mut no_article = decision("D-4", &hospital.code, "ended");
    no_article["article"] = json!(" ");
    let (status, _) = call(&router, "POST", "/api/hospitals/agreement", no_article).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (_, body) = call(&router, "GET", "/api/hospitals", Value::Null).await;
    let listed: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(listed["sanctioned"][0]["fixmedins_code"], hospital.code.as_str());
    assert_eq!(listed["sanctioned"][0]["article"], "seed 004 art. 49(ii)");
    let (_, page) = call(&router, "GET", "/", Value::Null).await;
    assert!(page.contains(&format!("data-key=\"hospitals.{}\"", hospital.code)), "on the page");

    // Reinstated by a later decision: out of the list, both decisions on record.
    let (status, _) = call(
        &router,
        "POST",
        "/api/hospitals/agreement",
        decision("D-5", &hospital.code, "in_force"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, body) = call(&router, "GET", "/api/hospitals", Value::Null).await;
    let listed: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(listed["sanctioned"], json!([]));
    assert_eq!(listed["decisions"].as_array().unwrap().len(), 2);
    assert_eq!(yidi_store::outbox::oldest(store.pool(), 10).await.unwrap().len(), 2);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue #13 §3: the hub keeps the register. A decision with a registration enters a new
/// institution (its exchange gets the entry with the decision); a later decision on it needs
/// no registration; a registration that is not a 12-character code, a region or a level 1–3
/// is refused, and an unregistered institution cannot be decided on.
#[tokio::test]
async fn the_desk_registers_an_institution_and_decides_on_it_afterwards() {
    use prost::Message;
    let dir = std::env::temp_dir().join(format!("yidi-hub-register-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let store = support::store(&dir).await;
    let dashboard = support::dashboard(store.clone(), (None, None), true).await;
    let router = router(Arc::new(dashboard));
    let code = "H31011500777";
    let (status, _) =
        call(&router, "POST", "/api/hospitals/agreement", decision("R-0", code, "in_force")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "not registered yet");
    let mut register = decision("R-1", code, "in_force");
    register["article"] = json!("N22 point 3: opened for cross-province settlement");
    register["registration"] = json!({"name": "Pudong New Hospital", "admdvs": "310115", "hosp_lv": 2, "cross_province": true});
    let (status, body) = call(&router, "POST", "/api/hospitals/agreement", register.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let decided: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(decided["decision"]["province"], "310000");
    assert_eq!(decided["decision"]["registration"]["hosp_lv"], 2);
    let queued = yidi_store::outbox::oldest(store.pool(), 10).await.unwrap();
    assert_eq!(queued[0].topic, "exchange.310000.hospitals");
    let sent = yidi_wire::v1::HospitalAgreement::decode(queued[0].payload.as_slice()).unwrap();
    let entry = sent.registration.unwrap();
    assert_eq!(
        (entry.name.as_str(), entry.admdvs.as_str(), entry.hosp_lv),
        ("Pudong New Hospital", "310115", 2)
    );

    let (status, body) =
        call(&router, "POST", "/api/hospitals/agreement", decision("R-2", code, "suspended")).await;
    assert_eq!(status, StatusCode::OK, "registered now: {body}");
    let (_, body) = call(&router, "GET", "/api/hospitals", Value::Null).await;
    let listed: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(listed["sanctioned"][0]["name"], "Pudong New Hospital");

    for (field, value) in [("hosp_lv", json!(4)), ("admdvs", json!("31011")), ("name", json!(" "))]
    {
        let mut bad = register.clone();
        bad["decision_id"] = json!(format!("R-bad-{field}"));
        bad["registration"][field] = value;
        let (status, body) = call(&router, "POST", "/api/hospitals/agreement", bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{field}: {body}");
        assert!(body.contains(field), "{field}: {body}");
    }
    let mut short = register;
    short["decision_id"] = json!("R-bad-code");
    short["fixmedins_code"] = json!("H3101");
    let (status, _) = call(&router, "POST", "/api/hospitals/agreement", short).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let _ = std::fs::remove_dir_all(&dir);
}
