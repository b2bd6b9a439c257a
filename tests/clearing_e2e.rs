//! End to end, issue #5 "Checked by": a simulated quarter of inter-provincial clearing on the
//! real network (broker, hub, agencies, exchanges), driven through the hub's clearing API with
//! the business clock advanced by days.
//!
//! January's bills are noticed on 22 February (the 20th is a Saturday) and must net to zero
//! and equal the sums of the settled bills; the exchanges' statements reconcile; one province
//! disputes a bill (it moves to February's round) and an audit deduction flows into February;
//! one net debtor pays late: its aging grows, it climbs reminder → warning → suspension, its
//! insured's new bills get `province_suspended`; it pays and is lifted, and its next bill
//! settles. Headless Chromium opens the dashboard: the numbers on the page equal the API's,
//! and a screenshot is kept.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests panic: a failure should stop with a backtrace.
#![allow(clippy::as_conversions)] // Test data is small and made here: counts and indexes fit.

#[path = "e2e/his.rs"]
#[allow(dead_code)] // Shared with e2e.rs, which uses all of it.
mod his;
#[path = "e2e/network.rs"]
#[allow(dead_code)]
mod network;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use rust_decimal::Decimal;
use serde_json::{json, Value};
use yidi_domain::ids::RegionCode;
use yidi_sim::Simulator;
use yidi_wire::codec::ContentType;
use yidi_wire::v1::{DischargeBill, SettleResult, SettleStatus};

use his::{bill, His, INSURED};
use network::{Network, EXCHANGES};

fn once(bills: &[DischargeBill]) -> HashMap<String, usize> {
    bills.iter().map(|b| (b.msgid.clone(), 1)).collect()
}

fn dec(value: &Value) -> Decimal {
    value.as_str().unwrap_or_else(|| panic!("not a decimal string: {value}")).parse().unwrap()
}

fn province(code: &str) -> String {
    code.parse::<RegionCode>().unwrap().province().to_string()
}

/// What an insured province's hospitals advanced: funds and personal account.
fn advance(result: &SettleResult) -> Decimal {
    let info = result.setlinfo.as_ref().unwrap();
    info.fund_pay_sumamt.parse::<Decimal>().unwrap() + info.acct_pay.parse::<Decimal>().unwrap()
}

struct Api {
    client: reqwest::Client,
    base: String,
}

impl Api {
    async fn get(&self, path: &str) -> Value {
        let response = self.client.get(format!("{}{path}", self.base)).send().await.unwrap();
        assert!(response.status().is_success(), "GET {path}: {}", response.status());
        response.json().await.unwrap()
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        let response =
            self.client.post(format!("{}{path}", self.base)).json(&body).send().await.unwrap();
        let status = response.status();
        let answer: Value = response.json().await.unwrap();
        assert!(status.is_success(), "POST {path} {body}: {status} {answer}");
        answer
    }

    async fn advance(&self, days: i64) -> String {
        let answer = self.post("/api/admin/advance", json!({"days": days})).await;
        answer["today"].as_str().unwrap().to_owned()
    }

    async fn overdue_of(&self, code: &str) -> Value {
        let all = self.get("/api/overdue").await;
        all["provinces"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["province"] == code)
            .cloned()
            .unwrap_or(Value::Null)
    }
}

/// The `data-key` values of a page as a browser rendered it: key → (text, data-ok).
fn keyed(dom: &str) -> BTreeMap<String, (String, Option<String>)> {
    let mut out = BTreeMap::new();
    let mut rest = dom;
    while let Some(at) = rest.find("data-key=\"") {
        rest = &rest[at + 10..];
        let Some(end) = rest.find('"') else { break };
        let key = rest[..end].to_owned();
        let tag_end = rest.find('>').unwrap_or(rest.len());
        let attributes = &rest[..tag_end];
        let ok = attributes.find("data-ok=\"").map(|i| {
            let v = &attributes[i + 9..];
            v[..v.find('"').unwrap_or(0)].to_owned()
        });
        let text_start = (tag_end + 1).min(rest.len());
        let text_end = rest[text_start..].find('<').map_or(rest.len(), |i| text_start + i);
        out.insert(key, (rest[text_start..text_end].trim().to_owned(), ok));
        rest = &rest[text_start..];
    }
    out
}

fn chromium(args: &[&str], url: &str) -> String {
    let profile = std::env::temp_dir().join(format!("yidi-chromium-{}", std::process::id()));
    let output = Command::new("chromium")
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"])
        .args(["--disable-background-networking", "--disable-component-update", "--disable-sync"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url)
        .output()
        .unwrap_or_else(|e| {
            panic!("chromium: {e} (scripts/setup.sh installs it; make test runs it)")
        });
    assert!(
        output.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Where the screenshot is kept: beside the test binaries' target folder.
fn screenshot_path() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent()
        .and_then(|p| p.parent())
        .and_then(|p| p.parent())
        .unwrap()
        .join("yidi-dashboard.png")
}

/// The page, opened in a real browser, shows the API's numbers.
#[allow(clippy::too_many_lines)] // One scenario whose steps build on each other, read in order.
async fn page_equals_api(api: &Api, shot: bool) {
    let dom = chromium(&["--dump-dom"], &format!("{}/", api.base));
    let page = keyed(&dom);
    let overdue = api.get("/api/overdue").await;
    assert_eq!(page["today"].0, overdue["today"].as_str().unwrap());
    let mut compared = 0;
    for p in overdue["provinces"].as_array().unwrap() {
        let code = p["province"].as_str().unwrap();
        assert_eq!(
            page[&format!("overdue.{code}.overdue")].0,
            p["overdue"].as_str().unwrap(),
            "{code} overdue"
        );
        for b in 0..4 {
            assert_eq!(
                page[&format!("overdue.{code}.aging.{b}")].0,
                p["aging"][b].as_str().unwrap(),
                "{code} aging {b}"
            );
        }
        assert_eq!(
            page[&format!("overdue.{code}.interest")].0,
            p["interest"].as_str().unwrap(),
            "{code} interest"
        );
        assert_eq!(page[&format!("overdue.{code}.days")].0, p["days_past_due"].to_string());
        compared += 6;
    }
    let period = &page["positions.period"].0;
    let positions = api.get(&format!("/api/positions?period={period}")).await;
    for (code, net) in positions["netting"]["net"].as_object().unwrap() {
        assert_eq!(&page[&format!("net.{code}")].0, net.as_str().unwrap(), "net {code}");
        compared += 1;
    }
    for pair in positions["pairs"].as_array().unwrap() {
        let key = format!(
            "pair.{}.{}",
            pair["insured"].as_str().unwrap(),
            pair["treatment"].as_str().unwrap()
        );
        assert_eq!(page[&key].0, pair["amount"].as_str().unwrap(), "{key}");
        compared += 1;
    }
    // Settled first against prepayments (issue #13 §6), when the round is final.
    for draw in positions["prepay"]["draws"].as_array().into_iter().flatten() {
        let key = format!(
            "draw.{}.{}",
            draw["insured"].as_str().unwrap(),
            draw["treatment"].as_str().unwrap()
        );
        assert_eq!(page[&key].0, draw["amount"].as_str().unwrap(), "{key}");
        compared += 1;
    }
    for payout in positions["prepay"]["paid_out"].as_array().into_iter().flatten() {
        let key = format!("paid_out.{}", payout["province"].as_str().unwrap());
        assert_eq!(page[&key].0, payout["amount"].as_str().unwrap(), "{key}");
        compared += 1;
    }
    // Each fund cleared apart, under its national code, adding up to the round.
    let mut by_fund = rust_decimal::Decimal::ZERO;
    for line in positions["by_fund"].as_array().unwrap() {
        let key = format!("fund.{}", line["field"].as_str().unwrap());
        assert_eq!(page[&key].0, line["amount"].as_str().unwrap(), "{key}");
        by_fund += line["amount"].as_str().unwrap().parse::<rust_decimal::Decimal>().unwrap();
        compared += 1;
    }
    let gross: rust_decimal::Decimal = positions["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|pair| pair["amount"].as_str().unwrap().parse::<rust_decimal::Decimal>().unwrap())
        .sum();
    assert_eq!(by_fund, gross, "the funds add up to what the pairs owe");
    let pools: Vec<&str> = positions["by_fund"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["fund_pay_type"].as_str().unwrap())
        .collect();
    assert!(pools.contains(&"310100") && pools.contains(&"390100"), "{pools:?}");
    assert_eq!(page["net.sum"].0, "0.00");
    for check in api.get("/api/checks").await.as_array().unwrap() {
        let name = check["name"].as_str().unwrap();
        assert_eq!(check["ok"], json!(true), "{check}");
        assert_eq!(page[&format!("check.{name}")].1.as_deref(), Some("true"), "page check {name}");
        compared += 1;
    }
    for prepay in api.get("/api/prepayments").await.as_array().unwrap() {
        let key = format!(
            "prepay.{}.{}",
            prepay["insured"].as_str().unwrap(),
            prepay["treatment"].as_str().unwrap()
        );
        assert_eq!(page[&format!("{key}.prepaid")].0, prepay["prepaid"].as_str().unwrap());
        assert_eq!(page[&format!("{key}.outstanding")].0, prepay["outstanding"].as_str().unwrap());
        assert_eq!(page[&format!("{key}.balance")].0, prepay["balance"].as_str().unwrap());
        compared += 3;
    }
    for fine in api.get("/api/fines").await.as_array().unwrap() {
        let key = format!("fine.{}", fine["fine_id"].as_str().unwrap());
        assert_eq!(page[&key].0, fine["amount"].as_str().unwrap(), "{key}");
        compared += 1;
    }
    println!("clearing e2e: the dashboard in headless Chromium shows the API's {compared} numbers");
    if shot {
        let path = screenshot_path();
        chromium(
            &["--window-size=1200,2400", &format!("--screenshot={}", path.display())],
            &format!("{}/", api.base),
        );
        assert!(
            std::fs::metadata(&path).map(|m| m.len() > 10_000).unwrap_or(false),
            "no screenshot at {}",
            path.display()
        );
        println!("clearing e2e: dashboard screenshot kept at {}", path.display());
    }
}

#[test]
#[allow(clippy::too_many_lines)] // One scenario whose steps build on each other, read in order.
fn a_quarter_of_clearing_with_a_late_province() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let network = Network::start_at(Some("2027-01-04"));
        // Never dropped: closing its consumers can hang when a test fails mid-way, and then the
        // network (declared first, so dropped after it) would never be stopped.
        let his = std::mem::ManuallyDrop::new(His::connect(&network.client("operator"), &EXCHANGES));
        let api = Api {
            client: reqwest::Client::builder().timeout(Duration::from_secs(120)).build().unwrap(),
            base: format!("http://127.0.0.1:{}", network.dashboard),
        };
        let mut simulator = Simulator::new(2027);
        assert_eq!(api.get("/api/clock").await["today"], "2027-01-04");

        // January: 240 bills, every insured region, every other province's exchange.
        let bills: Vec<DischargeBill> =
            (0..240u32).map(|i| bill(&mut simulator, (i % 4) as usize, u64::from(i / 4), (i / 4) as usize, i)).collect();
        for bill in &bills {
            his.send(bill, ContentType::Protobuf).await;
        }
        let results = his.results(&once(&bills), Duration::from_secs(180)).await;
        let mut owed: BTreeMap<(String, String), Decimal> = BTreeMap::new();
        let mut settled: Vec<&SettleResult> = Vec::new();
        for bill in &bills {
            let result = &results.get(&bill.msgid).unwrap_or_else(|| panic!("no result for {}", bill.msgid))[0];
            if result.status == SettleStatus::Settled as i32 {
                *owed.entry((province(&result.insuplc_admdvs), province(&result.mdtrtarea_admvs))).or_default() += advance(result);
                settled.push(result);
            }
        }
        // Shanghai refuses its unfiled insured (seed 003 III(5)): about a quarter are refused.
        assert!(settled.len() > 150, "only {} settled", settled.len());

        // The cut-off: notices of January come on Monday 22 February.
        assert_eq!(api.advance(48).await, "2027-02-21");
        assert!(api.get("/api/rounds").await.as_array().unwrap().is_empty(), "no notice before the 20th (a Saturday) → Monday");
        assert_eq!(api.advance(1).await, "2027-02-22");
        let january = api.get("/api/positions?period=2027-01").await;
        assert_eq!(january["state"], "confirming");
        let mut from_api: BTreeMap<(String, String), Decimal> = BTreeMap::new();
        for pair in january["pairs"].as_array().unwrap() {
            from_api.insert((pair["insured"].as_str().unwrap().into(), pair["treatment"].as_str().unwrap().into()), dec(&pair["amount"]));
        }
        assert_eq!(from_api, owed, "each pair's obligation = the sum of its settled bills' advances");
        let nets: Decimal = january["netting"]["net"].as_object().unwrap().values().map(dec).sum();
        assert_eq!(nets, Decimal::ZERO, "net positions sum to zero");
        assert_eq!(dec(&january["netting"]["gross"]), owed.values().sum::<Decimal>());
        println!(
            "clearing e2e: January noticed on 2027-02-22, {} bills, gross {} netted {} saved {}",
            january["bills"], january["netting"]["gross"], january["netting"]["netted"], january["netting"]["saved"]
        );

        // The exchanges' statements of January reconcile with the ledger.
        let deadline = Instant::now() + Duration::from_secs(90);
        let reconciled = loop {
            let r = api.get("/api/reconciliation?period=2027-01").await;
            if r["reconciliations"].as_array().unwrap().len() == EXCHANGES.len() || Instant::now() > deadline {
                break r;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        };
        let reconciliations = reconciled["reconciliations"].as_array().unwrap();
        assert_eq!(reconciliations.len(), EXCHANGES.len(), "{reconciled}");
        for r in reconciliations {
            assert_eq!(r["balanced"], json!(true), "{r}");
        }
        println!("clearing e2e: all {} exchanges' statements of 2027-01 balanced", reconciliations.len());

        // Beijing disputes one bill it owes; the others accept. An audit deducts 100.00 from a
        // Tianjin bill: it goes into February's round.
        let disputed = settled.iter().find(|r| province(&r.insuplc_admdvs) == "110000").unwrap();
        let disputed_id = disputed.setlinfo.as_ref().unwrap().setl_id.clone();
        let audited = settled.iter().find(|r| province(&r.insuplc_admdvs) == "120000").unwrap();
        let audited_id = audited.setlinfo.as_ref().unwrap().setl_id.clone();
        api.post("/api/clearing/confirm", json!({"period": "2027-01", "province": "110000", "disputed": [disputed_id]})).await;
        let wrong = api
            .client
            .post(format!("{}/api/clearing/confirm", api.base))
            .json(&json!({"period": "2027-01", "province": "120000", "disputed": [disputed_id]}))
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status().as_u16(), 422, "a province cannot dispute a bill it does not owe");
        // Bad input is a clear error naming the field, and changes nothing.
        for (path, body, status, says) in [
            ("/api/clearing/pay", json!({"period": "2027-13", "province": "310000", "amount": "1.00"}), 400, "period"),
            ("/api/clearing/pay", json!({"period": "2027-01", "province": "31000", "amount": "1.00"}), 400, "province"),
            ("/api/clearing/pay", json!({"period": "2027-01", "province": "310000", "amount": "1.005"}), 400, "amount"),
            ("/api/clearing/pay", json!({"period": "2026-12", "province": "310000", "amount": "1.00"}), 422, "CLR_05"),
            ("/api/clearing/pay", json!({"period": "2027-01", "province": "310000", "amount": "1.00"}), 422, "CLR_09"),
            ("/api/admin/advance", json!({"days": -3}), 400, "days"),
            ("/api/clearing/deduct", json!({"deduction_id": "X", "setl_id": "nope", "amount": "1.00", "reason": "r"}), 422, "CLR_01"),
        ] {
            let response = api.client.post(format!("{}{path}", api.base)).json(&body).send().await.unwrap();
            assert_eq!(response.status().as_u16(), status, "{path} {body}");
            let text = response.text().await.unwrap();
            assert!(text.contains(says), "{path} {body}: {text}");
        }
        for p in ["120000", "310000", "440000"] {
            api.post("/api/clearing/confirm", json!({"period": "2027-01", "province": p})).await;
        }
        let d = api
            .post("/api/clearing/deduct", json!({"deduction_id": "AUD-2027-001", "setl_id": audited_id, "amount": "100.00", "reason": "phantom bed days (art. 49)"}))
            .await;
        assert_eq!(d["duplicate"], json!(false));
        let again = api
            .post("/api/clearing/deduct", json!({"deduction_id": "AUD-2027-001", "setl_id": audited_id, "amount": "100.00", "reason": "phantom bed days (art. 49)"}))
            .await;
        assert_eq!(again["duplicate"], json!(true), "a replayed deduction posts nothing");
        // A fine withdrawn on appeal by a later decision is owed back, once, and no longer
        // counts against the five-times ceiling.
        api.post("/api/clearing/fine", json!({"fine_id": "FINE-2027-002", "setl_id": audited_id, "amount": "0.01", "reason": "seed 004 art. 49(ii): late records"})).await;
        let withdrawal = json!({"fine_id": "FINE-2027-002", "reason": "appeal decision A-2027-1: finding set aside"});
        let withdrawn = api.post("/api/clearing/fine/withdraw", withdrawal.clone()).await;
        assert_eq!(withdrawn["duplicate"], json!(false), "{withdrawn}");
        let again = api.post("/api/clearing/fine/withdraw", withdrawal).await;
        assert_eq!(again["duplicate"], json!(true), "withdrawn once");
        // Seed 004 art. 49 (issue #13 §4): a fine on the institution behind the audited bill,
        // at most five times what the deduction recovered; it flows into February's round.
        let beyond = api
            .client
            .post(format!("{}/api/clearing/fine", api.base))
            .json(&json!({"fine_id": "FINE-2027-001", "setl_id": audited_id, "amount": "500.01", "reason": "seed 004 art. 49(ii): phantom bed days"}))
            .send()
            .await
            .unwrap();
        assert_eq!(beyond.status().as_u16(), 422, "more than five times the recovery");
        assert!(beyond.text().await.unwrap().contains("CLR_16"));
        let fined = api
            .post("/api/clearing/fine", json!({"fine_id": "FINE-2027-001", "setl_id": audited_id, "amount": "500.00", "reason": "seed 004 art. 49(ii): phantom bed days"}))
            .await;
        assert_eq!(fined["duplicate"], json!(false), "{fined}");

        let january = api.get("/api/positions?period=2027-01").await;
        assert_eq!(january["state"], "final", "every debtor confirmed: final at once");
        assert_eq!(january["disputed"], json!([disputed_id]));
        let undisputed = owed[&("110000".to_owned(), province(&disputed.mdtrtarea_admvs))] - advance(disputed);
        let beijing_pair = january["pairs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["insured"] == "110000" && p["treatment"] == province(&disputed.mdtrtarea_admvs).as_str())
            .unwrap();
        assert_eq!(dec(&beijing_pair["amount"]), undisputed, "the disputed bill left the round");
        let pay_by: chrono::NaiveDate = january["pay_by"].as_str().unwrap().parse().unwrap();
        // Prepay first, clear after (issue #13 §6): each net debtor's position was drawn from
        // its prepayments (the floor covers January) and paid out to the creditors at once.
        let net = january["netting"]["net"].as_object().unwrap();
        let owed_net: Decimal = net.values().map(dec).filter(|n| *n > Decimal::ZERO).sum();
        let drawn: Decimal = january["prepay"]["draws"].as_array().unwrap().iter().map(|d| dec(&d["amount"])).sum();
        let paid_out: Decimal =
            january["prepay"]["paid_out"].as_array().unwrap().iter().map(|p| dec(&p["amount"])).sum();
        assert_eq!((drawn, paid_out), (owed_net, owed_net), "{}", january["prepay"]);

        // Everyone pays on time but the largest net debtor.
        let mut debtors: Vec<(String, Decimal)> = january["netting"]["net"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(_, n)| dec(n) < Decimal::ZERO)
            .map(|(p, n)| (p.clone(), -dec(n)))
            .collect();
        debtors.sort_by_key(|d| std::cmp::Reverse(d.1));
        let (late, late_due) = debtors[0].clone();
        for (p, due) in &debtors[1..] {
            api.post("/api/clearing/pay", json!({"period": "2027-01", "province": p, "amount": due.to_string(), "reference": "on time"})).await;
        }
        let today: chrono::NaiveDate = api.get("/api/clock").await["today"].as_str().unwrap().parse().unwrap();
        let to_due = (pay_by - today).num_days();
        api.advance(to_due).await;
        assert_eq!(api.overdue_of(&late).await["level"], "normal", "not late on the due date");

        // Late: reminder, warning, suspension, with aging growing.
        api.advance(1).await;
        let o = api.overdue_of(&late).await;
        assert_eq!((o["level"].as_str(), o["days_past_due"].as_i64()), (Some("reminder"), Some(1)), "{o}");
        assert_eq!(dec(&o["aging"][0]), late_due);
        api.advance(14).await;
        assert_eq!(api.overdue_of(&late).await["level"], "warning");
        api.advance(15).await;
        let o = api.overdue_of(&late).await;
        assert_eq!((o["level"].as_str(), o["days_past_due"].as_i64()), (Some("suspended"), Some(30)), "{o}");
        assert!(dec(&o["interest"]) > Decimal::ZERO, "late interest accrues: {o}");
        api.advance(5).await;
        let o = api.overdue_of(&late).await;
        assert_eq!(dec(&o["aging"][1]), late_due, "35 days past due: the 31–60 bucket; {o}");
        assert_eq!(dec(&o["aging"][0]), Decimal::ZERO);
        let suspensions = api.get("/api/suspensions").await;
        assert_eq!(suspensions["suspended"][0]["province"], late.as_str(), "{suspensions}");
        println!("clearing e2e: {late} owes {late_due}, 35 days past due, interest {}: suspended", o["interest"]);

        // Its insured's new bills are answered `province_suspended` by the hub.
        let region = INSURED.iter().position(|r| province(r) == late).unwrap();
        let index = settled
            .iter()
            .find(|r| province(&r.insuplc_admdvs) == late)
            .and_then(|r| bills.iter().position(|b| b.msgid == r.msgid))
            .map(|i| u64::try_from(i / 4).unwrap())
            .unwrap();
        let refused = bill(&mut simulator, region, index, 0, 900);
        his.send(&refused, ContentType::Json).await;
        let answer = his.results(&once(std::slice::from_ref(&refused)), Duration::from_secs(60)).await;
        let answer = &answer[&refused.msgid][0];
        assert_eq!((answer.status, answer.reason.as_str(), answer.answered_by.as_str()), (SettleStatus::Rejected as i32, "province_suspended", "hub"));
        println!("clearing e2e: a new bill of {late}'s insured was answered province_suspended by the hub");

        page_equals_api(&api, true).await;

        // It pays: lifted at once; its next bill settles.
        let paid = api.post("/api/clearing/pay", json!({"period": "2027-01", "province": late, "amount": late_due.to_string(), "reference": "late"})).await;
        let lifted = paid["events"].as_array().unwrap().iter().any(|e| e["event"] == "transition" && e["to"] == "normal" && e["province"] == late.as_str());
        assert!(lifted, "{paid}");
        let steps: Vec<String> = api.get("/api/suspensions").await["transitions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["province"] == late.as_str())
            .map(|t| t["to"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(steps, ["reminder", "warning", "suspended", "normal"]);
        let accepted = bill(&mut simulator, region, index, 0, 901);
        his.send(&accepted, ContentType::Json).await;
        let answer = his.results(&once(std::slice::from_ref(&accepted)), Duration::from_secs(60)).await;
        assert_eq!(answer[&accepted.msgid][0].status, SettleStatus::Settled as i32, "{:?}", answer[&accepted.msgid][0]);
        println!("clearing e2e: {late} paid, lifted, and its next bill settled");

        // February's round carries the disputed bill and the deduction; every round nets to zero.
        let today: chrono::NaiveDate = api.get("/api/clock").await["today"].as_str().unwrap().parse().unwrap();
        let march_20 = chrono::NaiveDate::from_ymd_opt(2027, 3, 22).unwrap();
        if today < march_20 {
            api.advance((march_20 - today).num_days()).await;
        }
        let february = api.get("/api/positions?period=2027-02").await;
        let notice = api.get("/api/notice?period=2027-02&province=110000").await;
        let carried = notice["owing"].as_array().unwrap().iter().flat_map(|l| l["bills"].as_array().unwrap().clone()).any(|b| b["setl_id"] == disputed_id.as_str());
        assert!(carried, "the disputed bill is in February's notice: {notice}");
        let deduction_line = february["pairs"].as_array().unwrap().iter().any(|p| p["insured"] == "120000");
        assert!(deduction_line, "{february}");
        let tianjin = api.get("/api/notice?period=2027-02&province=120000").await;
        let fine = tianjin["owing"]
            .as_array()
            .unwrap()
            .iter()
            .chain(tianjin["owed"].as_array().unwrap())
            .flat_map(|l| l["bills"].as_array().unwrap().clone())
            .find(|b| b["entry"] == "F:FINE-2027-001")
            .unwrap_or_else(|| panic!("the fine is in February's notice: {tianjin}"));
        assert_eq!((fine["setl_id"].as_str(), fine["amount"].as_str()), (Some(audited_id.as_str()), Some("-500.00")));
        // The dashboard lists both fines, the withdrawn one with its decision.
        let fines = api.get("/api/fines").await;
        let listed: Vec<(&str, bool)> = fines
            .as_array()
            .unwrap()
            .iter()
            .map(|f| (f["fine_id"].as_str().unwrap(), f["withdrawn"].is_string()))
            .collect();
        assert_eq!(listed, [("FINE-2027-001", false), ("FINE-2027-002", true)], "{fines}");
        let withdrawn = tianjin["owing"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|l| l["bills"].as_array().unwrap().clone())
            .find(|b| b["kind"] == "fine_withdrawn" && b["entry"] == "W:FINE-2027-002")
            .unwrap_or_else(|| panic!("the withdrawal is in February's notice: {tianjin}"));
        assert_eq!(withdrawn["amount"], "0.01");
        for round in api.get("/api/rounds").await.as_array().unwrap() {
            assert_eq!(round["net_sum"], "0.00", "{}", round["period"]);
        }
        for check in api.get("/api/checks").await.as_array().unwrap() {
            assert_eq!(check["ok"], json!(true), "{check}");
        }
        page_equals_api(&api, false).await;
        let csv = api.client.get(format!("{}/api/overdue.csv", api.base)).send().await.unwrap().text().await.unwrap();
        assert!(csv.starts_with("as_of,province,level"), "{csv}");
        println!("clearing e2e: February carries the dispute, the deduction and the fine; every round nets to zero; checks green");
    });
}
