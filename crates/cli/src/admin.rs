//! `yidi admin`: the clearing desk's calls on the hub's HTTP API — the business clock,
//! confirmations, payments, audit deductions, prepayment top-ups — and `provinces`, the
//! demo's stand-in for the provincial agencies' finance offices (some of which pay late).

use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Args as ClapArgs, Subcommand};
use serde_json::{json, Value};

#[derive(ClapArgs)]
pub struct Args {
    /// The hub's dashboard address.
    #[arg(long, global = true, default_value = "http://127.0.0.1:8080", env = "YIDI_HUB_URL")]
    hub: String,
    /// Bearer token of the hub's admin calls, when it has one.
    #[arg(long, global = true, env = "YIDI_ADMIN_TOKEN")]
    token: Option<String>,
    /// The idempotency key of a money call (confirm, pay, deduct, top-up): the call repeated
    /// under the same key is answered as the first and records nothing twice. One is made for
    /// each invocation when not given; give your own to repeat a call safely from a script.
    #[arg(long, global = true, env = "YIDI_IDEMPOTENCY_KEY")]
    idempotency_key: Option<String>,
    #[command(subcommand)]
    command: Admin,
}

/// A later decision withdrawing a deduction or a fine.
#[derive(ClapArgs)]
struct Withdrawal {
    /// The deduction's or the fine's id.
    #[arg(long)]
    id: String,
    /// The deciding decision and why.
    #[arg(long)]
    reason: String,
}

#[derive(Subcommand)]
enum Admin {
    /// Advance the business clock, running the clearing calendar for every day in between.
    Advance {
        #[arg(long)]
        days: i64,
    },
    /// Print the business date.
    Clock,
    /// Confirm a province's clearing notice, disputing named bills (they move to the next round).
    Confirm {
        #[arg(long)]
        period: String,
        #[arg(long)]
        province: String,
        #[arg(long = "dispute")]
        disputed: Vec<String>,
    },
    /// Record a province's payment of a round.
    Pay {
        #[arg(long)]
        period: String,
        #[arg(long)]
        province: String,
        #[arg(long)]
        amount: String,
        #[arg(long, default_value = "")]
        reference: String,
    },
    /// Deduct (part of) a settled bill's fund share after audit (拒付).
    Deduct {
        #[arg(long)]
        id: String,
        #[arg(long)]
        setl_id: String,
        #[arg(long)]
        amount: String,
        #[arg(long)]
        reason: String,
    },
    /// Fine the institution behind a bill (seed 004 art. 49): at most five times what was
    /// deducted from the bill; the treatment province owes it in the next round.
    Fine {
        #[arg(long)]
        id: String,
        #[arg(long)]
        setl_id: String,
        #[arg(long)]
        amount: String,
        /// The article and the finding.
        #[arg(long)]
        reason: String,
    },
    /// Withdraw an audit deduction by a later decision: the bill owes again what it took.
    WithdrawDeduction(Withdrawal),
    /// Withdraw a fine by a later decision (an appeal): what it took is owed back in the next
    /// round.
    WithdrawFine(Withdrawal),
    /// Record a prepayment top-up of an insured → treatment pair.
    TopUp {
        #[arg(long)]
        insured: String,
        #[arg(long)]
        treatment: String,
        #[arg(long)]
        amount: String,
    },
    /// Print overdue funds per province.
    Overdue,
    /// Ask the exchanges again for their statements of a period (reconciliation).
    Reconcile {
        #[arg(long)]
        period: String,
    },
    /// Ask the agencies and the exchanges for their statements of a day (daily
    /// reconciliation), with the settlements themselves with `--detail`; print the day's
    /// reconciliation.
    ReconcileDay {
        /// yyyy-MM-dd, by the settlements' setl_time.
        #[arg(long)]
        day: String,
        #[arg(long)]
        detail: bool,
        /// Only print what the hub holds; ask no one.
        #[arg(long)]
        show: bool,
    },
    /// Play the provinces' finance offices: every `--every` seconds advance the clock by
    /// `--days`, confirm notices, and pay each round on its due date — except the `--late`
    /// provinces, which pay `--late-days` after it.
    Provinces {
        #[arg(long, default_value_t = 5)]
        every: u64,
        #[arg(long, default_value_t = 3)]
        days: i64,
        #[arg(long, value_delimiter = ',', default_value = "310000")]
        late: Vec<String>,
        #[arg(long, default_value_t = 40)]
        late_days: i64,
    },
}

struct Hub {
    client: reqwest::Client,
    base: String,
    token: Option<String>,
}

impl Hub {
    async fn get(&self, path: &str) -> anyhow::Result<Value> {
        let response = self
            .authorized(self.client.get(format!("{}{path}", self.base)))
            .send()
            .await
            .with_context(|| format!("GET {path}"))?;
        Hub::answer(path, response).await
    }

    /// `request` with the hub's token, when it has one: with a token set, every call needs it.
    fn authorized(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    async fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        let request = self.authorized(self.client.post(format!("{}{path}", self.base)).json(&body));
        let response = request.send().await.with_context(|| format!("POST {path}"))?;
        Hub::answer(path, response).await
    }

    /// A money call under `key`: sent again, with the same key, when the hub could not be
    /// reached or failed (at most [`MONEY_ATTEMPTS`] times) — the key makes a repeat harmless.
    /// A refusal (4xx) is final.
    async fn money(&self, path: &str, key: &str, body: Value) -> anyhow::Result<Value> {
        let mut attempt = 1;
        loop {
            let request = self.authorized(
                self.client
                    .post(format!("{}{path}", self.base))
                    .header("Idempotency-Key", key)
                    .json(&body),
            );
            let retry = match request.send().await {
                Ok(response) if !response.status().is_server_error() => {
                    return Hub::answer(path, response).await;
                }
                Ok(response) => format!("{path}: {}", response.status()),
                Err(error) => format!("POST {path}: {error}"),
            };
            if attempt == MONEY_ATTEMPTS {
                bail!("{retry} (after {attempt} attempts under idempotency key {key})");
            }
            eprintln!("{retry}; sending again under the same idempotency key");
            tokio::time::sleep(Duration::from_secs(1 << attempt)).await;
            attempt += 1;
        }
    }

    async fn answer(path: &str, response: reqwest::Response) -> anyhow::Result<Value> {
        let status = response.status();
        let body: Value = response.json().await.with_context(|| format!("{path}: not JSON"))?;
        if !status.is_success() {
            bail!(
                "{path}: {} {}",
                body["code"].as_str().unwrap_or("?"),
                body["error"].as_str().unwrap_or("?")
            );
        }
        Ok(body)
    }
}

/// Attempts of one money call.
const MONEY_ATTEMPTS: u32 = 4;

/// A key for one invocation's money call.
fn fresh_key() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("yidi-cli-{}-{nanos}", std::process::id())
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let hub = Hub {
        client: reqwest::Client::builder().timeout(Duration::from_secs(60)).build()?,
        base: args.hub.trim_end_matches('/').to_owned(),
        token: args.token.clone(),
    };
    let key = args.idempotency_key.clone().unwrap_or_else(fresh_key);
    runtime.block_on(async {
        match &args.command {
            Admin::Advance { days } => {
                let answer = hub.post("/api/admin/advance", json!({"days": days})).await?;
                println!("business date {}", answer["today"].as_str().unwrap_or("?"));
                for event in answer["events"].as_array().into_iter().flatten() {
                    println!("  {}", describe(event));
                }
            }
            Admin::Clock => println!("{}", hub.get("/api/clock").await?["today"].as_str().unwrap_or("?")),
            Admin::Confirm { period, province, disputed } => {
                let a = hub.money("/api/clearing/confirm", &key, json!({"period": period, "province": province, "disputed": disputed})).await?;
                println!("{}", describe(&a["event"]));
            }
            Admin::Pay { period, province, amount, reference } => {
                let a = hub
                    .money("/api/clearing/pay", &key, json!({"period": period, "province": province, "amount": amount, "reference": reference}))
                    .await?;
                println!("{}", describe(&a["event"]));
            }
            Admin::Deduct { id, setl_id, amount, reason } => {
                let a = hub
                    .money("/api/clearing/deduct", &key, json!({"deduction_id": id, "setl_id": setl_id, "amount": amount, "reason": reason}))
                    .await?;
                println!("{}", outcome(&a, "already posted"));
            }
            Admin::Fine { id, setl_id, amount, reason } => {
                let body = json!({"fine_id": id, "setl_id": setl_id, "amount": amount, "reason": reason});
                let a = hub.money("/api/clearing/fine", &key, body).await?;
                println!("{}", outcome(&a, "already posted"));
            }
            Admin::WithdrawDeduction(w) => {
                let body = json!({"deduction_id": w.id, "reason": w.reason});
                let a = hub.money("/api/clearing/deduct/withdraw", &key, body).await?;
                println!("{}", outcome(&a, "already withdrawn"));
            }
            Admin::WithdrawFine(w) => {
                let body = json!({"fine_id": w.id, "reason": w.reason});
                let a = hub.money("/api/clearing/fine/withdraw", &key, body).await?;
                println!("{}", outcome(&a, "already withdrawn"));
            }
            Admin::TopUp { insured, treatment, amount } => {
                let a = hub.money("/api/clearing/top-up", &key, json!({"insured": insured, "treatment": treatment, "amount": amount})).await?;
                println!("{}", describe(&a["event"]));
            }
            Admin::Overdue => print_overdue(&hub.get("/api/overdue").await?),
            Admin::Reconcile { period } => {
                hub.post("/api/clearing/reconcile", json!({"period": period})).await?;
                println!("statements of {period} requested; see /api/reconciliation?period={period}");
            }
            Admin::ReconcileDay { day, detail, show } => {
                if !*show {
                    hub.post("/api/clearing/reconcile-day", json!({"day": day, "detail": detail}))
                        .await?;
                    println!("statements of {day} requested; the answers come within seconds");
                }
                let found = hub.get(&format!("/api/reconciliation/day?day={day}")).await?;
                println!("{}", serde_json::to_string_pretty(&found)?);
            }
            Admin::Provinces { every, days, late, late_days } => provinces(&hub, *every, *days, late, *late_days).await?,
        }
        Ok(())
    })
}

/// What a ledger command did: its event, or `repeated` when the entry was there already.
fn outcome(answer: &Value, repeated: &str) -> String {
    if answer["duplicate"] == json!(true) {
        repeated.to_owned()
    } else {
        describe(&answer["event"])
    }
}

fn describe(event: &Value) -> String {
    match event["event"].as_str() {
        Some("round_generated") => format!(
            "{}: notices of round {} (confirm by {}, pay by {}), {} entries",
            event["on"].as_str().unwrap_or("?"),
            event["period"].as_str().unwrap_or("?"),
            event["confirm_by"].as_str().unwrap_or("?"),
            event["pay_by"].as_str().unwrap_or("?"),
            event["entries"].as_array().map_or(0, Vec::len)
        ),
        Some("round_final") => format!(
            "{}: round {} final, {} disputed bill(s) carried",
            event["on"].as_str().unwrap_or("?"),
            event["period"].as_str().unwrap_or("?"),
            event["carried"].as_array().map_or(0, Vec::len)
        ),
        Some("transition") => format!(
            "{}: {} {} → {}: {}",
            event["on"].as_str().unwrap_or("?"),
            event["province"].as_str().unwrap_or("?"),
            event["from"].as_str().unwrap_or("?"),
            event["to"].as_str().unwrap_or("?"),
            event["reason"].as_str().unwrap_or("")
        ),
        _ => event.to_string(),
    }
}

fn print_overdue(answer: &Value) {
    println!("as of {}", answer["today"].as_str().unwrap_or("?"));
    println!(
        "{:<8} {:<10} {:>14} {:>12} {:>12} {:>12} {:>12} {:>10} {:>5}",
        "province", "level", "overdue", "1-30", "31-60", "61-90", ">90", "interest", "days"
    );
    for p in answer["provinces"].as_array().into_iter().flatten() {
        let aging: Vec<&str> =
            p["aging"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        println!(
            "{:<8} {:<10} {:>14} {:>12} {:>12} {:>12} {:>12} {:>10} {:>5}",
            p["province"].as_str().unwrap_or("?"),
            p["level"].as_str().unwrap_or("?"),
            p["overdue"].as_str().unwrap_or("?"),
            aging.first().unwrap_or(&"?"),
            aging.get(1).unwrap_or(&"?"),
            aging.get(2).unwrap_or(&"?"),
            aging.get(3).unwrap_or(&"?"),
            p["interest"].as_str().unwrap_or("?"),
            p["days_past_due"]
        );
    }
}

async fn provinces(
    hub: &Hub,
    every: u64,
    days: i64,
    late: &[String],
    late_days: i64,
) -> anyhow::Result<()> {
    println!("playing the provinces' finance offices: +{days} days every {every}s; late payers {late:?} pay {late_days} days after the due date");
    loop {
        let answer = hub.post("/api/admin/advance", json!({"days": days})).await?;
        let today: chrono::NaiveDate =
            answer["today"].as_str().unwrap_or_default().parse().context("today")?;
        for event in answer["events"].as_array().into_iter().flatten() {
            println!("{}", describe(event));
        }
        let rounds = hub.get("/api/rounds").await?;
        for round in rounds.as_array().into_iter().flatten() {
            let period = round["period"].as_str().unwrap_or_default();
            match round["state"].as_str() {
                Some("confirming") => confirm_all(hub, round, period).await,
                Some("final") => pay(hub, round, period, today, (late, late_days)).await?,
                _ => {}
            }
        }
        top_up(hub, today).await?;
        tokio::time::sleep(Duration::from_secs(every)).await;
    }
}

/// Every province with a position in a round being confirmed confirms it.
async fn confirm_all(hub: &Hub, round: &Value, period: &str) {
    let confirmed: Vec<&str> =
        round["confirmed"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    for (province, _) in round["netting"]["net"].as_object().into_iter().flatten() {
        if !confirmed.contains(&province.as_str()) {
            // A province with nothing owing is not asked; errors here are benign.
            let _ = hub
                .post("/api/clearing/confirm", json!({"period": period, "province": province}))
                .await;
        }
    }
}

/// Every province pays what it owes in a final round: on time, or `late_days` after the
/// due date for the late payers.
async fn pay(
    hub: &Hub,
    round: &Value,
    period: &str,
    today: chrono::NaiveDate,
    (late, late_days): (&[String], i64),
) -> anyhow::Result<()> {
    let pay_by: chrono::NaiveDate =
        round["pay_by"].as_str().unwrap_or_default().parse().context("pay_by")?;
    let overdue = hub.get("/api/overdue").await?;
    for p in overdue["provinces"].as_array().into_iter().flatten() {
        let province = p["province"].as_str().unwrap_or_default();
        let Some(debt) =
            p["rounds"].as_array().into_iter().flatten().find(|r| r["period"] == period)
        else {
            continue;
        };
        let outstanding = debt["outstanding"].as_str().unwrap_or("0.00");
        if outstanding == "0.00" {
            continue;
        }
        let delay = if late.iter().any(|l| l == province) { late_days } else { 0 };
        if delay == 0 || (today - pay_by).num_days() >= delay {
            let a = hub
                    .money(
                        "/api/clearing/pay",
                        &format!("provinces-pay-{period}-{province}-{outstanding}"),
                        json!({"period": period, "province": province, "amount": outstanding, "reference": format!("transfer {period} {province}")}),
                    )
                    .await?;
            println!(
                "{}: {province} paid {outstanding} for round {period}",
                a["event"]["on"].as_str().unwrap_or("?")
            );
            for event in a["events"].as_array().into_iter().flatten() {
                println!("{}", describe(event));
            }
        }
    }
    Ok(())
}

/// Insured provinces top up a prepayment when the hub sends a top-up notice.
async fn top_up(hub: &Hub, today: chrono::NaiveDate) -> anyhow::Result<()> {
    for p in hub.get("/api/prepayments").await?.as_array().into_iter().flatten() {
        if p["warning"] == json!(true) {
            let (insured, treatment, amount) = (
                p["insured"].as_str().unwrap_or_default(),
                p["treatment"].as_str().unwrap_or_default(),
                p["top_up"].as_str().unwrap_or("0.00"),
            );
            if amount != "0.00" {
                hub.money(
                    "/api/clearing/top-up",
                    &format!("provinces-top-up-{today}-{insured}-{treatment}"),
                    json!({"insured": insured, "treatment": treatment, "amount": amount}),
                )
                .await?;
                println!(
                    "{today}: {insured} topped up its prepayment with {treatment} by {amount}"
                );
            }
        }
    }
    Ok(())
}
