//! A hostile province, end to end over the real broker and binaries (issue #11, "Checked
//! by"): a process holding Shanghai's exchange credentials — a real key of the network —
//! tries to speak for others. It publishes a result for a Beijing person, reverses a Tianjin
//! settlement (in its own name and in Guangdong's), submits a bill as Guangdong's exchange; an
//! old message signed by Guangdong's exchange is replayed, a message is signed by a key the
//! root never certified, and one is not signed at all. Every attempt is dead-lettered with an
//! `AUTH_*` reason; no store and no ledger changes; valid traffic goes on. Every genuine
//! answer comes with a receipt that `yidi verify` accepts offline, and refuses once changed.
//! The attacker reaches the broker with Shanghai's own login; a client without a valid login
//! (none, a wrong password, PLAIN, an unsigned OAUTHBEARER token) can neither produce nor
//! consume.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests panic: a failure should stop with a backtrace.
#![allow(clippy::as_conversions)] // Test data is small and made here: counts and indexes fit.

#[path = "e2e/his.rs"]
mod his;
#[path = "e2e/network.rs"]
#[allow(dead_code)] // shared with e2e.rs, which uses all of it
mod network;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::Utc;
use yidi_bus::{topics, Outgoing, Trust};
use yidi_sim::Simulator;
use yidi_store::{Row, Store};
use yidi_wire::codec::ContentType;
use yidi_wire::headers;
use yidi_wire::v1::{DischargeBill, Reversal, Setlinfo, SettleRequest, SettleResult, SettleStatus};

use his::{bill, His};
use network::{serial, Network, EXCHANGES};

async fn count(network: &Network, service: &str, sql: &'static str) -> i64 {
    let store = Store::connect(&network.database(service)).await.unwrap();
    sqlx::query(sql).fetch_one(store.pool()).await.unwrap().try_get::<i64, _>(0).unwrap()
}

/// What the attacks must not change: bills and reversals at the hub and at the agencies.
async fn money_everywhere(network: &Network) -> [i64; 4] {
    [
        count(network, "hub", "SELECT COUNT(*) FROM settled_bill").await,
        count(network, "hub", "SELECT COUNT(*) FROM settled_bill WHERE reversed_at IS NOT NULL")
            .await,
        count(network, "agency-north", "SELECT COUNT(*) FROM settlement").await,
        count(network, "agency-north", "SELECT COUNT(*) FROM settlement WHERE reversed <> 0").await,
    ]
}

/// An attempt: its msgid, the message, who signs it and when, and the refusal it must meet.
type Attack<'a> = (&'a str, Outgoing, Option<(&'a Trust, chrono::DateTime<Utc>)>, &'a str);

/// `yidi verify` on `receipt`: whether it passed, and what it said.
fn verify(network: &Network, receipt: &str, bundle: &std::path::Path) -> (bool, String) {
    let path = network.dir.join(format!("receipt-{}.json", receipt.len()));
    std::fs::write(&path, receipt).unwrap();
    let exe = std::env::current_exe().unwrap();
    let yidi = exe.parent().and_then(std::path::Path::parent).unwrap().join("yidi");
    let output = std::process::Command::new(yidi)
        .arg("verify")
        .arg(&path)
        .arg("--bundle")
        .arg(bundle)
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), said)
}

/// Sends `bills` and waits for one result each.
async fn settle(his: &His, bills: &[DischargeBill]) -> HashMap<String, Vec<SettleResult>> {
    for bill in bills {
        his.send(bill, ContentType::Protobuf).await;
    }
    let wanted = bills.iter().map(|b| (b.msgid.clone(), 1)).collect();
    his.results(&wanted, Duration::from_secs(120)).await
}

fn reversal(msgid: &str, of: &SettleResult, treatment: &str) -> Outgoing {
    let reversal = Reversal {
        msgid: msgid.into(),
        mdtrt_id: of.mdtrt_id.clone(),
        psn_no: of.psn_no.clone(),
        insuplc_admdvs: of.insuplc_admdvs.clone(),
        mdtrtarea_admvs: treatment.into(),
        setl_id: of.setlinfo.as_ref().unwrap().setl_id.clone(),
        omsgid: of.msgid.clone(),
        reason: "refund".into(),
    };
    Outgoing::new(topics::HUB_REQUESTS, "k", "yidi.v1.Reversal", &reversal, ContentType::Protobuf)
        .with_header(headers::MSGID, msgid)
}

#[test]
#[allow(clippy::too_many_lines)] // One scenario whose steps build on each other, read in order.
fn a_province_holding_its_own_credentials_cannot_speak_for_another() {
    let _serial = serial();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let network = Network::start();
        // Never dropped: closing its consumers can hang when a test fails mid-way.
        let his =
            std::mem::ManuallyDrop::new(His::connect(&network.client("operator"), &EXCHANGES));
        let mut simulator = Simulator::new(1129);
        // Tianjin persons (insured 120000) treated in Guangdong (440000): a settled one is the
        // target of the reversals.
        let tianjin: Vec<DischargeBill> =
            (0..6u32).map(|i| bill(&mut simulator, 1, u64::from(i), 0, 100 + i)).collect();
        let results = settle(&his, &tianjin).await;
        let settled = tianjin
            .iter()
            .filter_map(|b| results.get(&b.msgid).and_then(|r| r.first()))
            .find(|r| r.status == SettleStatus::Settled as i32)
            .expect("one Tianjin bill settles")
            .clone();
        assert!(settled.mdtrtarea_admvs.starts_with("44"), "{settled:?}");
        // Every answer came with a receipt an auditor checks offline with the bundle alone;
        // one with a single field changed is refused.
        let bundle = network.dir.join("keys").join(yidi_trust::keys::BUNDLE);
        for bill in &tianjin {
            let receipt =
                his.receipt(&bill.msgid).unwrap_or_else(|| panic!("no receipt for {}", bill.msgid));
            let (ok, said) = verify(&network, &receipt, &bundle);
            assert!(ok && said.contains(&bill.msgid), "{said}");
            if bill.msgid == settled.msgid {
                println!("hostile: yidi verify of a real receipt:\n{said}");
            }
        }
        let mut forged: serde_json::Value =
            serde_json::from_str(&his.receipt(&settled.msgid).unwrap()).unwrap();
        forged["hub"]["headers"]["clearing_period"] = "2020-01".into();
        let (ok, said) = verify(&network, &forged.to_string(), &bundle);
        assert!(!ok && said.contains("AUTH_FORGED"), "{said}");
        let before = money_everywhere(&network).await;

        let shanghai = network.trust("exchange-310000");
        let guangdong = network.trust("exchange-440000");
        let now = Utc::now();
        // A key the root never certified, under Guangdong's exchange's name.
        let outsider_dir = network.dir.join("outsider-keys");
        yidi_trust::keys::init(
            &outsider_dir,
            &[("exchange-440000".to_owned(), "exchange:440000".parse().unwrap())],
            now.date_naive(),
        )
        .unwrap();
        let outsider = Trust {
            credentials: std::sync::Arc::new(
                yidi_trust::Credentials::load(&outsider_dir, "exchange-440000").unwrap(),
            ),
            ..guangdong.clone()
        };

        let beijing_result = SettleResult {
            msgid: "ATTACK-RESULT".into(),
            psn_no: "110000000000000000001".into(),
            insuplc_admdvs: "110000".into(),
            mdtrtarea_admvs: "310000".into(),
            status: SettleStatus::Settled as i32,
            setlinfo: Some(Setlinfo {
                setl_id: "110000forged".into(),
                fund_pay_sumamt: "99999.00".into(),
                ..Setlinfo::default()
            }),
            ..SettleResult::default()
        };
        let mut as_guangdong = tianjin[0].clone();
        as_guangdong.msgid = "ATTACK-BILL".into();
        let catalogue = yidi_data::treatment_catalogues()
            .unwrap()
            .into_iter()
            .find(|c| c.region.as_str() == "440000")
            .unwrap();
        let request = SettleRequest {
            lines: yidi_wire::convert::classify(&as_guangdong, &catalogue.catalogue),
            catalogue_version: catalogue.catalogue.version.clone(),
            exchange: "440000".into(),
            requested_at: now.format("%Y-%m-%d %H:%M:%S").to_string(),
            bill: Some(as_guangdong),
        };
        let old = now - chrono::Duration::days(8);
        let attacks: Vec<Attack<'_>> = vec![
            (
                "ATTACK-RESULT",
                Outgoing::new(
                    topics::HUB_RESULTS,
                    "k",
                    "yidi.v1.SettleResult",
                    &beijing_result,
                    ContentType::Protobuf,
                )
                .with_header(headers::MSGID, "ATTACK-RESULT"),
                Some((&shanghai, now)),
                "AUTH_NOT_ALLOWED",
            ),
            (
                "ATTACK-REVERSE-OWN",
                reversal("ATTACK-REVERSE-OWN", &settled, "310000"),
                Some((&shanghai, now)),
                "AUTH_NOT_ALLOWED",
            ),
            (
                "ATTACK-REVERSE-AS-GUANGDONG",
                reversal("ATTACK-REVERSE-AS-GUANGDONG", &settled, "440300"),
                Some((&shanghai, now)),
                "AUTH_NOT_ALLOWED",
            ),
            (
                "ATTACK-BILL",
                Outgoing::new(
                    topics::HUB_REQUESTS,
                    "k",
                    "yidi.v1.SettleRequest",
                    &request,
                    ContentType::Protobuf,
                )
                .with_header(headers::MSGID, "ATTACK-BILL"),
                Some((&shanghai, now)),
                "AUTH_NOT_ALLOWED",
            ),
            (
                "ATTACK-REPLAY",
                reversal("ATTACK-REPLAY", &settled, "440300"),
                Some((&guangdong, old)),
                "AUTH_STALE",
            ),
            (
                "ATTACK-UNCERTIFIED",
                reversal("ATTACK-UNCERTIFIED", &settled, "440300"),
                Some((&outsider, now)),
                "AUTH_FORGED",
            ),
            (
                "ATTACK-UNSIGNED",
                reversal("ATTACK-UNSIGNED", &settled, "440300"),
                None,
                "AUTH_UNSIGNED",
            ),
        ];
        // The attacker is on the broker under Shanghai's exchange's own login.
        let intruder = std::mem::ManuallyDrop::new(His::connect(
            &network.client("exchange-310000"),
            &["310000"],
        ));
        for (_, message, signer, _) in &attacks {
            intruder.publish(message, *signer).await;
        }
        // Every attack's dead letter, by msgid (a refused reversal's answer may be refused
        // again on its way back; only the attacks' own letters are counted).
        let mut letters: HashMap<String, String> = HashMap::new();
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline && letters.len() < attacks.len() {
            for letter in his.dead_letters(1, Duration::from_secs(2)).await {
                if attacks.iter().any(|(msgid, ..)| *msgid == letter.msgid)
                    && letter.reason_code.starts_with("AUTH_")
                {
                    letters.entry(letter.msgid.clone()).or_insert(letter.reason_code);
                }
            }
        }
        for (msgid, _, _, code) in &attacks {
            assert_eq!(
                letters.get(*msgid).map(String::as_str),
                Some(*code),
                "{msgid}: {letters:?}"
            );
        }
        assert_eq!(money_everywhere(&network).await, before, "no store or ledger changed");

        // Valid traffic goes on.
        let next: Vec<DischargeBill> =
            (0..4u32).map(|i| bill(&mut simulator, 0, 40 + u64::from(i), 1, 200 + i)).collect();
        let answered = settle(&his, &next).await;
        assert_eq!(answered.len(), next.len(), "every genuine bill answered after the attacks");
        println!("hostile: {} attacks, each refused: {letters:?}", attacks.len());

        // The broker itself: only a client that logged in reaches it (issue #11 §5). Tianjin's
        // requests are on the broker now; a login reads them, nothing else does.
        let probe = "hostile.probe".to_owned();
        topics::ensure_with(network.client("operator"), std::slice::from_ref(&probe), Default::default())
            .await
            .unwrap();
        let tianjin_requests = topics::agency_requests("120000");
        let (sent, read) = reach(network.client("his-440000"), &probe, &tianjin_requests).await;
        assert!(sent && read > 0, "a login produces and consumes: sent {sent}, read {read}");
        let bare = || {
            let mut config = rdkafka::ClientConfig::new();
            config.set("bootstrap.servers", &network.brokers);
            config
        };
        let mut wrong_password = network.client("hub");
        wrong_password.set("sasl.password", "guess");
        let mut plain = bare();
        plain
            .set("security.protocol", "SASL_PLAINTEXT")
            .set("sasl.mechanisms", "PLAIN")
            .set("sasl.username", "hub")
            .set("sasl.password", "guess");
        // An unsigned token naming the hub: the broker has OAUTHBEARER built in, with nothing
        // to validate a token, so every token must fail.
        let mut token = bare();
        token
            .set("security.protocol", "SASL_PLAINTEXT")
            .set("sasl.mechanisms", "OAUTHBEARER")
            .set("enable.sasl.oauthbearer.unsecure.jwt", "true")
            .set("sasl.oauthbearer.config", "principal=hub");
        for (who, client) in [
            ("no login", bare()),
            ("a wrong password", wrong_password),
            ("PLAIN", plain),
            ("an unsigned OAUTHBEARER token", token),
        ] {
            let (sent, read) = reach(client, &probe, &tianjin_requests).await;
            assert!(!sent && read == 0, "{who}: sent {sent}, read {read} records");
        }
        println!("hostile: without a valid login the broker takes nothing and gives nothing");

        // gRPC: a certificate of the network, and only for the caller's own region or
        // province (issue #11 §4–§5).
        use yidi_wire::v1::agency_client::AgencyClient;
        use yidi_wire::v1::exchange_client::ExchangeClient;
        use yidi_wire::v1::{ContributionRequest, GetSettlementRequest, StatusQuery};
        let before = money_everywhere(&network).await;
        let person = settled.psn_no.clone();
        let status = || StatusQuery {
            insuplc_admdvs: "120000".into(),
            psn_no: person.clone(),
            on: String::new(),
        };
        let lookup = || GetSettlementRequest { msgid: settled.msgid.clone(), mdtrt_id: String::new() };
        let mut own = AgencyClient::new(network.grpc("agency-north", "agency-north").await.unwrap());
        assert!(own.status(status()).await.is_ok(), "the agency's own systems are answered");
        let mut guangdong_his =
            ExchangeClient::new(network.grpc("exchange-440000", "his-440000").await.unwrap());
        assert!(guangdong_his.get_settlement(lookup()).await.is_ok(), "the hospital's province is answered");
        let mut as_shanghai =
            AgencyClient::new(network.grpc("agency-north", "exchange-310000").await.unwrap());
        let paid = as_shanghai
            .pay_contribution(ContributionRequest {
                insuplc_admdvs: "120000".into(),
                psn_no: person.clone(),
                period: "2026-11".into(),
                paid_on: "2026-11-29".into(),
            })
            .await;
        assert_eq!(paid.map(|_| ()).unwrap_err().code(), tonic::Code::PermissionDenied);
        let mut as_other_agency =
            AgencyClient::new(network.grpc("agency-north", "agency-south").await.unwrap());
        let asked = as_other_agency.status(status()).await;
        assert_eq!(asked.map(|_| ()).unwrap_err().code(), tonic::Code::PermissionDenied);
        let mut shanghai_his =
            ExchangeClient::new(network.grpc("exchange-440000", "his-310000").await.unwrap());
        let asked = shanghai_his.get_settlement(lookup()).await;
        assert_eq!(asked.map(|_| ()).unwrap_err().code(), tonic::Code::PermissionDenied);
        // Without a certificate of the network no call gets through: none at all, plain
        // HTTP/2, or one issued by another root (the outsider's `keys init`).
        let keys = network.dir.join("keys");
        let ca = std::fs::read_to_string(keys.join(yidi_trust::tls::CA_CERTIFICATE)).unwrap();
        let address = format!("https://127.0.0.1:{}", network.grpc_port("exchange-440000"));
        let outsider_tls = yidi_trust::tls::TlsFiles::load(&outsider_dir, "exchange-440000").unwrap();
        let no_certificate = tonic::transport::ClientTlsConfig::new()
            .ca_certificate(tonic::transport::Certificate::from_pem(&ca))
            .domain_name("exchange-440000");
        let foreign = yidi_runtime::health::client_tls(
            &yidi_trust::tls::TlsFiles { ca: ca.clone(), ..outsider_tls },
            "exchange-440000",
        );
        for (who, tls) in [("no certificate", Some(no_certificate)), ("another root's", Some(foreign)), ("plain HTTP/2", None)] {
            let endpoint = match tls {
                Some(tls) => tonic::transport::Channel::from_shared(address.clone()).unwrap().tls_config(tls).unwrap(),
                None => tonic::transport::Channel::from_shared(address.replace("https", "http")).unwrap(),
            };
            let answered = match endpoint.connect().await {
                Ok(channel) => ExchangeClient::new(channel).get_settlement(lookup()).await.is_ok(),
                Err(_) => false,
            };
            assert!(!answered, "{who}: answered");
        }
        assert_eq!(money_everywhere(&network).await, before, "no store or ledger changed");
        println!("hostile: gRPC refused another region's agency and another province's hospitals, and every caller without a certificate of the network");
    });
}

/// Waits for the dead letter of each msgid in `codes` whose reason is the one expected or
/// begins `RESULT_` or `AUTH_`; the codes seen, by msgid.
async fn refusals(his: &His, codes: &[(String, &str)]) -> HashMap<String, String> {
    let mut letters: HashMap<String, String> = HashMap::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline && letters.len() < codes.len() {
        for letter in his.dead_letters(1, Duration::from_secs(2)).await {
            let expected = codes.iter().find(|(msgid, _)| *msgid == letter.msgid);
            if expected.is_some_and(|(_, code)| {
                letter.reason_code == *code
                    || letter.reason_code.starts_with("RESULT_")
                    || letter.reason_code.starts_with("AUTH_")
            }) {
                letters.entry(letter.msgid.clone()).or_insert(letter.reason_code);
            }
        }
    }
    letters
}

/// Issue #26 §3: a Guangdong hospital admits a Tianjin person, declaring no amount: the hold
/// is a typical stay's, for weeks, not the person's whole cap for half a year; the person's
/// real stay in another province is still paid by the pooled fund. The Tianjin agency's desk
/// then releases the hold with `yidi holds release`, and `yidi holds list` shows it released.
async fn a_hold_made_on_a_hospitals_word_is_bounded(
    network: &Network,
    his: &His,
    simulator: &mut Simulator,
) {
    use yidi_domain::hold::{HoldRules, TYPICAL_HOLD};
    let index = his::active_person("120000".parse().unwrap(), 1700);
    let mut admission = bill(simulator, 1, index, 0, 330);
    admission.admission = true;
    admission.feedetail.clear();
    admission.endtime.clear();
    admission.hold_amt.clear();
    let mut stay = bill(simulator, 1, index, 1, 331);
    // A stay well above any deductible, so that the pooled fund's share shows.
    stay.feedetail.iter_mut().for_each(|line| line.cnt = "30".into());
    assert_ne!(&admission.mdtrtarea_admvs[..2], &stay.mdtrtarea_admvs[..2]);
    let admitted = settle(his, std::slice::from_ref(&admission)).await;
    let held = &admitted[&admission.msgid][0];
    assert_eq!(held.status, SettleStatus::Admitted as i32, "{held:?}");
    let info = held.admission.as_ref().unwrap();
    assert_eq!(info.hold_amt, TYPICAL_HOLD.to_string(), "a typical stay, never the whole cap");
    let admitted_on: chrono::NaiveDate = admission.begntime[..10].parse().unwrap();
    assert_eq!(info.hold_until, HoldRules::default().until(admitted_on).to_string());
    let paid = settle(his, std::slice::from_ref(&stay)).await;
    let settled = &paid[&stay.msgid][0];
    assert_eq!(settled.status, SettleStatus::Settled as i32, "{settled:?}");
    let hifp: rust_decimal::Decimal = settled.setlinfo.as_ref().unwrap().hifp_pay.parse().unwrap();
    assert!(hifp > rust_decimal::Decimal::ZERO, "the hold froze the pooled fund: {settled:?}");

    // The insured agency's desk, with its own certificate, releases the hold.
    let exe = std::env::current_exe().unwrap();
    let yidi = exe.parent().and_then(std::path::Path::parent).unwrap().join("yidi");
    let desk = |arguments: &[&str]| {
        let output = std::process::Command::new(&yidi)
            .arg("holds")
            .args(["--agency", &format!("127.0.0.1:{}", network.grpc_port("agency-north"))])
            .args(["--keys", &network.dir.join("keys").display().to_string()])
            .args(["--region", "120000", "--psn-no", &admission.psn_no])
            .args(arguments)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(output.status.success(), "{text} {}", String::from_utf8_lossy(&output.stderr));
        text
    };
    let reason = "the person was never admitted there";
    let released = desk(&["release", "--mdtrt-id", &admission.mdtrt_id, "--reason", reason]);
    assert!(released.contains("released") && released.contains(reason), "{released}");
    let listed = desk(&["list"]);
    assert!(listed.contains(&admission.mdtrt_id) && listed.contains("released"), "{listed}");
    println!("hostile: a hold on a hospital's word held {} until {}; the stay elsewhere paid {hifp} from the pool; the desk released it", info.hold_amt, info.hold_until);
}

/// Issue #26 §4: Guangdong's exchange, with its own real key, classes a line of a bill more
/// generously than its published catalogue (class A): the hub dead-letters the request
/// `CLASSIFICATION_MISMATCH` and the agency never sees it.
async fn a_request_classed_against_the_catalogue_is_refused(
    network: &Network,
    his: &His,
    simulator: &mut Simulator,
) {
    let guangdong = network.trust("exchange-440000");
    let bill = bill(simulator, 1, his::active_person("120000".parse().unwrap(), 1750), 0, 332);
    assert_eq!(&bill.mdtrtarea_admvs[..2], "44");
    let catalogues = yidi_data::treatment_catalogues().unwrap();
    let catalogue = catalogues.iter().find(|c| c.region.as_str() == "440000").unwrap();
    let mut lines = yidi_wire::convert::classify(&bill, &catalogue.catalogue);
    lines[0].chrgitm_lv = "A".into();
    lines[0].selfpay_prop = "0".into();
    let request = SettleRequest {
        lines,
        catalogue_version: catalogue.catalogue.version.clone(),
        exchange: "440000".into(),
        requested_at: Utc::now().format("%Y-%m-%d %H:%M:%S").to_string(),
        bill: Some(bill.clone()),
    };
    let message = Outgoing::new(
        topics::HUB_REQUESTS,
        &bill.mdtrt_id,
        "yidi.v1.SettleRequest",
        &request,
        ContentType::Protobuf,
    )
    .with_header(headers::MSGID, &bill.msgid);
    let before = count(network, "agency-north", "SELECT COUNT(*) FROM settlement").await;
    let exchange =
        std::mem::ManuallyDrop::new(His::connect(&network.client("exchange-440000"), &["440000"]));
    exchange.publish(&message, Some((&guangdong, Utc::now()))).await;
    let letters = refusals(his, &[(bill.msgid.clone(), "CLASSIFICATION_MISMATCH")]).await;
    assert_eq!(
        letters.get(&bill.msgid).map(String::as_str),
        Some("CLASSIFICATION_MISMATCH"),
        "{letters:?}"
    );
    assert_eq!(count(network, "agency-north", "SELECT COUNT(*) FROM settlement").await, before);
    println!("hostile: a line classed A against Guangdong's catalogue: refused at the hub");
}

/// How filing `id` stands at the hub (revoked at, version) and in Guangdong's exchange's
/// replica (version); `None` where it is not kept.
async fn filing_everywhere(network: &Network, id: &str) -> (Option<(String, i64)>, Option<i64>) {
    let hub = Store::connect(&network.database("hub")).await.unwrap();
    let at_hub =
        sqlx::query("SELECT revoked_at, version FROM national_filing WHERE filing_id = $1")
            .bind(id)
            .fetch_optional(hub.pool())
            .await
            .unwrap()
            .map(|row| (row.try_get(0).unwrap(), row.try_get(1).unwrap()));
    let exchange = Store::connect(&network.database("exchange-440000")).await.unwrap();
    let replica = sqlx::query("SELECT version FROM filing_replica WHERE filing_id = $1")
        .bind(id)
        .fetch_optional(exchange.pool())
        .await
        .unwrap()
        .map(|row| row.try_get(0).unwrap());
    (at_hub, replica)
}

/// Waits up to a minute for filing `id` to stand as `wanted` says at the hub and the exchange;
/// how it stands then.
async fn filing_until(
    network: &Network,
    id: &str,
    wanted: impl Fn(&(Option<(String, i64)>, Option<i64>)) -> bool,
) -> (Option<(String, i64)>, Option<i64>) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = filing_everywhere(network, id).await;
    while !wanted(&seen) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(500)).await;
        seen = filing_everywhere(network, id).await;
    }
    seen
}

/// Issue #26 §5: Tianjin's agency files a person for Guangdong and revokes the filing; the
/// filing's first record — validly signed, inside the signature window — is published again.
/// The hub's national filing database and Guangdong's exchange keep the revocation.
async fn a_replayed_filing_changes_nothing(network: &Network) {
    use yidi_wire::v1::agency_client::AgencyClient;
    use yidi_wire::v1::{FileRequest, FilingRecord, RevokeRequest};
    let mut agency = AgencyClient::new(network.grpc("agency-north", "agency-north").await.unwrap());
    let file = FileRequest {
        psn_no: yidi_sim::registry::psn_no("120000".parse().unwrap(), 1910),
        insuplc_admdvs: "120000".into(),
        filing_type: "referral".into(),
        target_admdvs: "440000".into(),
        begndate: yidi_runtime::clock::BusinessClock::default().today().to_string(),
        enddate: String::new(),
    };
    let filed = agency.file(file).await.unwrap().into_inner();
    let revoke =
        RevokeRequest { insuplc_admdvs: "120000".into(), filing_id: filed.filing_id.clone() };
    agency.revoke(revoke).await.unwrap();
    let revoked = |(at_hub, replica): &(Option<(String, i64)>, Option<i64>)| {
        at_hub.as_ref().is_some_and(|(at, version)| !at.is_empty() && *version == 2)
            && *replica == Some(2)
    };
    let seen = filing_until(network, &filed.filing_id, revoked).await;
    assert!(revoked(&seen), "the revocation reached the hub and the exchange: {seen:?}");

    // The first record again, then a new genuine filing of the same person behind it on the
    // same partition: once that one is kept everywhere, the replay has been read.
    let north = network.trust("agency-north");
    let marker = FilingRecord { filing_id: format!("{}-MARK", filed.filing_id), ..filed.clone() };
    let replayer =
        std::mem::ManuallyDrop::new(His::connect(&network.client("agency-north"), &["310000"]));
    for record in [&filed, &marker] {
        // As the agency publishes a filing: keyed by the person, from its insured region.
        let message = Outgoing::new(
            topics::FILING,
            &yidi_wire::convert::person_key(&record.psn_no),
            "yidi.v1.FilingRecord",
            record,
            ContentType::Protobuf,
        )
        .with_header(headers::SENDER, &record.insuplc_admdvs);
        replayer.publish(&message, Some((&north, Utc::now()))).await;
    }
    let kept = |(at_hub, replica): &(Option<(String, i64)>, Option<i64>)| {
        at_hub.is_some() && replica.is_some()
    };
    let marked = filing_until(network, &marker.filing_id, kept).await;
    assert!(kept(&marked), "the filing behind the replay was kept: {marked:?}");
    let after = filing_everywhere(network, &filed.filing_id).await;
    assert!(revoked(&after), "a replayed filing undid its revocation: {after:?}");
    println!("hostile: a revoked filing's first record replayed: the hub and the exchange keep the revocation");
}

fn result_message(result: &SettleResult) -> Outgoing {
    Outgoing::new(topics::HUB_RESULTS, "k", "yidi.v1.SettleResult", result, ContentType::Protobuf)
        .with_header(headers::MSGID, &result.msgid)
}

/// Issue #26 "Checked by": the hub referees the money. An agency with its own real key
/// publishes a result for a bill never routed to it, a reversal result no one asked for, a
/// result for another region's bill labelled with a region it hosts, and a second result with
/// other amounts for a bill routed to it — each is dead-lettered with its `RESULT_*` reason,
/// no store or ledger changes, and the next genuine bills settle. A hospital resubmits a
/// settled stay under a new msgid, and under a new episode with the same dates: each is
/// answered with the first `setl_id` and paid once. A hospital of another province admits a
/// person declaring no amount: the hold is bounded and the person's stay elsewhere is paid;
/// the insured agency's desk releases it. An exchange classes a line against its catalogue:
/// refused. A revoked filing's first record is replayed: no effect. The day reconciles with
/// the agencies' and exchanges' statements; a record the ledger loses is named.
#[test]
#[allow(clippy::too_many_lines)] // One scenario whose steps build on each other, read in order.
fn an_agency_or_a_hospital_in_bad_faith_is_refereed_and_a_stay_is_paid_once() {
    let _serial = serial();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let network = Network::start();
        let his =
            std::mem::ManuallyDrop::new(His::connect(&network.client("operator"), &EXCHANGES));
        let mut simulator = Simulator::new(2626);
        // Tianjin persons (agency-north's) and Dongguan persons (agency-south's).
        let tianjin: Vec<DischargeBill> =
            (0..6u32).map(|i| bill(&mut simulator, 1, u64::from(i), 0, 300 + i)).collect();
        let dongguan: Vec<DischargeBill> =
            (0..6u32).map(|i| bill(&mut simulator, 3, u64::from(i), 0, 310 + i)).collect();
        let all: Vec<DischargeBill> = tianjin.iter().chain(&dongguan).cloned().collect();
        let results = settle(&his, &all).await;
        let settled_of = |bills: &[DischargeBill]| {
            bills
                .iter()
                .find_map(|b| {
                    let result = results.get(&b.msgid)?.first()?;
                    (result.status == SettleStatus::Settled as i32).then(|| (b.clone(), result.clone()))
                })
                .expect("a bill settles")
        };
        let (tianjin_bill, tianjin_settled) = settled_of(&tianjin);
        let (_, dongguan_settled) = settled_of(&dongguan);
        let before = money_everywhere(&network).await;
        let hub_advance = count(&network, "hub", "SELECT COUNT(*) FROM settled_bill WHERE reversed_at IS NULL").await;

        let north = network.trust("agency-north");
        let now = Utc::now();
        let unrouted = SettleResult {
            msgid: "H44010100001202611290000009901".into(),
            psn_no: tianjin_settled.psn_no.clone(),
            mdtrt_id: "E-NEVER".into(),
            setlinfo: Some(Setlinfo {
                setl_id: "120000unrouted".into(),
                fund_pay_sumamt: "9999.00".into(),
                hifp_pay: "9999.00".into(),
                ..Setlinfo::default()
            }),
            ..tianjin_settled.clone()
        };
        let unasked_reversal = SettleResult {
            msgid: "H44010100001202611290000009902".into(),
            status: SettleStatus::Reversed as i32,
            reason: "refund".into(),
            setlinfo: tianjin_settled.setlinfo.as_ref().map(|info| Setlinfo {
                setl_id: info.setl_id.clone(),
                ..Setlinfo::default()
            }),
            ..tianjin_settled.clone()
        };
        let relabelled =
            SettleResult { insuplc_admdvs: "120000".into(), duplicate: false, ..dongguan_settled.clone() };
        let mut richer = tianjin_settled.clone();
        richer.duplicate = false;
        if let Some(info) = richer.setlinfo.as_mut() {
            info.psn_cash_pay = "0.00".into();
            info.hifp_pay = info.medfee_sumamt.clone();
            info.fund_pay_sumamt = info.medfee_sumamt.clone();
        }
        let attacks = [
            (unrouted, "RESULT_UNROUTED"),
            (unasked_reversal, "RESULT_UNROUTED"),
            (relabelled, "RESULT_MISMATCH"),
            (richer, "RESULT_CONFLICT"),
        ];
        let intruder = std::mem::ManuallyDrop::new(His::connect(&network.client("agency-north"), &["310000"]));
        for (result, _) in &attacks {
            intruder.publish(&result_message(result), Some((&north, now))).await;
        }
        let codes: Vec<(String, &str)> = attacks.iter().map(|(r, code)| (r.msgid.clone(), *code)).collect();
        let letters = refusals(&his, &codes).await;
        for (msgid, code) in &codes {
            assert_eq!(letters.get(msgid).map(String::as_str), Some(*code), "{msgid}: {letters:?}");
        }
        assert_eq!(money_everywhere(&network).await, before, "no store or ledger changed");
        println!("hostile: an agency's unrouted, unasked, relabelled and second results, each refused: {letters:?}");

        // A hospital bills the settled stay again: under a new msgid, then under a new episode
        // with the same dates.
        let code = tianjin_bill.fixmedins_code.clone();
        let at = chrono::NaiveDateTime::parse_from_str(&tianjin_bill.endtime, "%Y-%m-%d %H:%M:%S").unwrap();
        let again = DischargeBill {
            msgid: yidi_wire::convert::msgid(&code, at, 9001),
            ..tianjin_bill.clone()
        };
        let new_episode = DischargeBill {
            msgid: yidi_wire::convert::msgid(&code, at, 9002),
            mdtrt_id: format!("{}9", tianjin_bill.mdtrt_id),
            ..tianjin_bill.clone()
        };
        let answered = settle(&his, &[again.clone(), new_episode.clone()]).await;
        let first_setl_id = tianjin_settled.setlinfo.as_ref().unwrap().setl_id.clone();
        for (bill, reason) in [(&again, "duplicate_stay"), (&new_episode, "overlapping_stay")] {
            let got = &answered[&bill.msgid][0];
            assert_eq!(got.status, SettleStatus::Rejected as i32, "{got:?}");
            assert!(got.reason.starts_with(reason), "{}", got.reason);
            assert_eq!(got.setlinfo.as_ref().map(|i| i.setl_id.as_str()), Some(first_setl_id.as_str()));
        }
        let paid = count(&network, "agency-north", "SELECT COUNT(*) FROM settlement WHERE reversed = 0").await;
        assert_eq!(paid, before[2] - before[3], "paid once");
        assert_eq!(
            count(&network, "hub", "SELECT COUNT(*) FROM settled_bill WHERE reversed_at IS NULL").await,
            hub_advance
        );
        println!("hostile: a settled stay billed again under a new msgid and a new episode: answered with {first_setl_id}, paid once");

        a_hold_made_on_a_hospitals_word_is_bounded(&network, &his, &mut simulator).await;
        a_request_classed_against_the_catalogue_is_refused(&network, &his, &mut simulator).await;
        a_replayed_filing_changes_nothing(&network).await;

        // Genuine traffic goes on.
        let next: Vec<DischargeBill> =
            (0..4u32).map(|i| bill(&mut simulator, 0, 60 + u64::from(i), 1, 320 + i)).collect();
        let answered = settle(&his, &next).await;
        assert_eq!(answered.len(), next.len(), "every genuine bill answered after the attacks");
        a_day_is_reconciled_and_a_lost_record_is_named(&network, &tianjin_settled).await;
    });
}

/// The hub's daily reconciliation of `day` (`/api/reconciliation/day`) once `done` says it is
/// complete, or after a minute.
async fn day_reconciled(
    network: &Network,
    day: &str,
    done: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, body) =
            network::http_get(network.dashboard, &format!("/api/reconciliation/day?day={day}"))
                .unwrap();
        let found: serde_json::Value = serde_json::from_str(&body).unwrap();
        if done(&found) || Instant::now() > deadline {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The dashboard's `daily_reconciliation` check: whether it is green, and what it says.
fn daily_check(network: &Network) -> (bool, String) {
    let (_, body) = network::http_get(network.dashboard, "/api/checks").unwrap();
    let checks: Vec<serde_json::Value> = serde_json::from_str(&body).unwrap();
    let check = checks.iter().find(|c| c["name"] == "daily_reconciliation").unwrap();
    (check["ok"] == serde_json::json!(true), check["detail"].as_str().unwrap_or("").to_owned())
}

/// Issue #26 §7: the hub asks the agencies and the exchanges for their signed statements of
/// the day's settlements; with every genuine bill in, the ledger and both agree. A settlement
/// the ledger then loses (a record gone from the hub's table) turns the day red, and once the
/// parties send their detail the check names the bill.
async fn a_day_is_reconciled_and_a_lost_record_is_named(network: &Network, settled: &SettleResult) {
    let info = settled.setlinfo.as_ref().unwrap();
    let day = &info.setl_time[..10];
    let ask = |detail: bool| {
        let body = serde_json::json!({"day": day, "detail": detail}).to_string();
        let (status, answer) =
            network::http_post(network.dashboard, "/api/clearing/reconcile-day", &body).unwrap();
        assert_eq!(status, 200, "{answer}");
    };
    ask(false);
    // Both parties of the settled bill's pair stated it.
    let both = |found: &serde_json::Value| {
        let pairs = found["pairs"].as_array().cloned().unwrap_or_default();
        let of_pair = |party: &str| {
            pairs
                .iter()
                .any(|p| p["party"] == party && p["insured"] == settled.insuplc_admdvs.as_str())
        };
        of_pair("agency") && of_pair("exchange")
    };
    let found = day_reconciled(network, day, both).await;
    assert!(both(&found), "{found}");
    assert_eq!(found["differing"], 0, "{found}");
    let (ok, detail) = daily_check(network);
    assert!(ok, "{detail}");
    println!("hostile: {day} reconciled with the agencies' and exchanges' statements: {detail}");

    let hub = Store::connect(&network.database("hub")).await.unwrap();
    sqlx::query("DELETE FROM settled_bill WHERE setl_id = $1")
        .bind(&info.setl_id)
        .execute(hub.pool())
        .await
        .unwrap();
    // The desk asks again, for the detail at once (the hub asks for it by itself once a day
    // differs, the in-process tests show; here the first round may have used that ask).
    ask(true);
    let named = |found: &serde_json::Value| found.to_string().contains(&info.setl_id);
    let found = day_reconciled(network, day, named).await;
    assert!(named(&found), "the lost record is named: {found}");
    let (ok, detail) = daily_check(network);
    assert!(!ok && detail.contains(&format!("{} not in the ledger", info.setl_id)), "{detail}");
    println!(
        "hostile: a settlement the ledger lost: the daily check is red and names it: {detail}"
    );
}

/// What a client with `client`'s settings gets from the broker in a few seconds: whether a
/// record it produced to `target` was acknowledged, and how many records of `source` (from
/// its beginning) it read.
async fn reach(client: rdkafka::ClientConfig, target: &str, source: &str) -> (bool, usize) {
    use rdkafka::consumer::{Consumer, StreamConsumer};
    use rdkafka::producer::{FutureProducer, FutureRecord};
    const WAIT: Duration = Duration::from_secs(5);
    let producer: FutureProducer =
        client.clone().set("message.timeout.ms", "5000").create().unwrap();
    let sent =
        producer.send(FutureRecord::to(target).key("probe").payload("probe"), WAIT).await.is_ok();
    let consumer: StreamConsumer = client
        .clone()
        .set("group.id", format!("probe-{}", std::process::id()))
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut partitions = rdkafka::TopicPartitionList::new();
    partitions.add_partition_offset(source, 0, rdkafka::Offset::Beginning).unwrap();
    consumer.assign(&partitions).unwrap();
    let mut read = 0;
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        if let Ok(Ok(_)) = tokio::time::timeout(Duration::from_millis(500), consumer.recv()).await {
            read += 1;
        }
    }
    (sent, read)
}
