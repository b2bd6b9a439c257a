//! The ministry's page and the bill page, as maud templates: every value from the book is
//! escaped by the template engine.
//!
//! Each panel is a `<section data-panel=…>`; a small script of ours (`refresh.js`, served by
//! the hub, no CDN) fetches the page every 15 s and replaces the panels that changed, so a
//! reader's place on the page stays. Without JavaScript the page is the same and complete; a
//! `<noscript>` refresh reloads it whole. Numbers carry `data-key` attributes: the browser
//! test reads them and compares each with the JSON API.

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use maud::{html, Markup, PreEscaped, DOCTYPE};
use yidi_clearing::book::{Overdue, Positions, Prepayment, Reconciliation, Transition};
use yidi_clearing::overdue::{Level, BUCKETS};
use yidi_domain::ids::RegionCode;
use yidi_domain::money::Amount;

use super::{api, charts, period_or_latest, BillQuery, PeriodQuery, Shared};
use crate::clearing::Check;
use crate::live::Snapshot;

/// How often the script refreshes the panels, and the `<noscript>` reload, in seconds.
const REFRESH_SECONDS: u32 = 15;

const STYLE: &str = "body{font:14px system-ui,sans-serif;margin:24px;color:#222;max-width:1100px}\
    h1{font-size:20px}h2{font-size:16px;margin-top:28px;border-bottom:1px solid #ddd}\
    table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;padding:3px 8px}\
    .num{text-align:right;font-variant-numeric:tabular-nums}.ok{background:#27ae60;color:#fff}\
    .bad{background:#eb5757;color:#fff}.badge{padding:2px 8px;border-radius:3px;margin-right:6px}\
    .suspended{color:#9b2226;font-weight:bold}.warning{color:#f2994a}small{color:#666}";

/// The script that refreshes the panels in place.
pub(super) async fn refresh_script() -> Response {
    let script = include_str!("refresh.js");
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], script).into_response()
}

/// Everything the page shows, read from the desk once per request.
struct Figures {
    today: chrono::NaiveDate,
    provinces: Vec<Overdue>,
    positions: Option<Positions>,
    periods: Vec<yidi_clearing::period::Period>,
    reconciliations: Vec<Reconciliation>,
    prepayments: Vec<Prepayment>,
    transitions: Vec<Transition>,
    live: Snapshot,
    checks: Vec<Check>,
    sanctioned: Vec<crate::hospitals::Decision>,
    halts: Vec<crate::halts::Listed>,
    fines: Vec<crate::clearing::FineView>,
}

async fn figures(d: &Shared, q: &PeriodQuery) -> Figures {
    let (today, provinces) = d.desk.overdue().await;
    let period = period_or_latest(&d.desk, q).await.ok();
    let (positions, reconciliations) = match period {
        Some(p) => (d.desk.positions(p).await, d.desk.reconciliations(Some(p)).await),
        None => (None, Vec::new()),
    };
    Figures {
        today,
        provinces,
        positions,
        periods: d.desk.periods().await,
        reconciliations,
        prepayments: d.desk.prepayments().await,
        transitions: d.desk.transitions().await,
        live: d.live(),
        checks: d.desk.checks(false).await,
        sanctioned: crate::hospitals::sanctioned(&d.store).await.unwrap_or_default(),
        halts: crate::halts::listed(&d.store).await.unwrap_or_default(),
        fines: d.desk.fines().await,
    }
}

pub(super) async fn page(State(d): State<Shared>, Query(q): Query<PeriodQuery>) -> Html<String> {
    let f = figures(&d, &q).await;
    let body = html! {
        h1 { "yidi — inter-provincial clearing "
            small { "business date " span data-key="today" { (f.today) } } }
        (panel("checks", checks(&f.checks)))
        (panel("suspended", suspended(&f.provinces)))
        (panel("hospitals", hospitals(&f.sanctioned)))
        (panel("halts", halts(&f.halts)))
        (panel("fines", fines(&f.fines)))
        (panel("overdue", overdue(&f.provinces)))
        (panel("positions", match &f.positions {
            Some(p) => positions(p, &f.periods, &f.reconciliations),
            None => html! { h2 { "Net positions" } p { "No clearing round yet." } },
        }))
        (panel("prepayments", prepayments(&f.prepayments)))
        (panel("live", live(&f.live)))
        (panel("transitions", transitions(&f.transitions)))
    };
    Html(document("yidi · clearing", true, body).into_string())
}

/// A whole page around `body`; `refreshing` pages refresh their panels in place.
fn document(title: &str, refreshing: bool, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { (title) }
                style { (PreEscaped(STYLE)) }
                @if refreshing {
                    noscript { meta http-equiv="refresh" content=(REFRESH_SECONDS); }
                    script src="/static/refresh.js" data-seconds=(REFRESH_SECONDS) defer {}
                }
            }
            body { (body) }
        }
    }
}

fn panel(name: &str, content: Markup) -> Markup {
    html! { section data-panel=(name) { (content) } }
}

/// A number with the key the browser test reads it by.
fn cell(key: &str, value: impl std::fmt::Display) -> Markup {
    html! { td.num data-key=(key) { (value) } }
}

/// A panel's title with where its figures can be had as JSON and as CSV.
fn heading(title: &str, json: &str, csv: &str) -> Markup {
    html! { h2 { (title) " " small { a href=(json) { "JSON" } " · " a href=(csv) { "CSV" } } } }
}

fn keyed(key: &str, value: impl std::fmt::Display) -> Markup {
    html! { span.num data-key=(key) { (value) } }
}

/// The provinces of the demo network by name (the rest by code only).
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

fn checks(checks: &[Check]) -> Markup {
    html! {
        h2 { "Conservation checks" }
        p {
            @for c in checks {
                span.badge.ok[c.ok].bad[!c.ok] data-key={ "check." (c.name) } data-ok=(c.ok)
                    title=(c.detail) {
                    (if c.ok { "✔" } else { "✘" }) " " (c.name)
                }
            }
        }
        ul { @for c in checks { li { small { (c.name) ": " (c.detail) } } } }
    }
}

fn suspended(provinces: &[Overdue]) -> Markup {
    let suspended: Vec<&Overdue> =
        provinces.iter().filter(|o| o.level == Level::Suspended).collect();
    html! {
        h2 { "Suspended provinces" }
        @if suspended.is_empty() {
            p data-key="suspended.count" data-value="0" {
                "None: every insured province settles directly."
            }
        } @else {
            table data-key="suspended.count" data-value=(suspended.len()) {
                tr { th { "Province" } th { "Since" } th { "Why" } }
                @for o in &suspended {
                    tr.suspended {
                        td data-key={ "suspended." (o.province) } {
                            (o.province) " " (name(o.province))
                        }
                        td { (o.since.map(|d| d.to_string()).unwrap_or_default()) }
                        td { (o.reason) }
                    }
                }
            }
            p { small { "Their insured's new bills are answered " code { "province_suspended" }
                "; the HIS falls back to manual reimbursement. Lifted automatically once paid." } }
        }
    }
}

/// Designated institutions whose agreement is suspended or ended (seed 004 art. 49).
fn hospitals(sanctioned: &[crate::hospitals::Decision]) -> Markup {
    html! {
        h2 { "Institutions out of direct settlement " small { a href="/api/hospitals" { "JSON" } } }
        @if sanctioned.is_empty() {
            p data-key="hospitals.count" data-value="0" {
                "None: every designated institution's agreement is in force."
            }
        } @else {
            table data-key="hospitals.count" data-value=(sanctioned.len()) {
                tr { th { "Institution" } th { "Agreement" } th { "Under" } th { "Finding" } th { "Since" } }
                @for d in sanctioned {
                    tr.suspended {
                        td data-key={ "hospitals." (d.fixmedins_code) } {
                            (d.fixmedins_code) " " (d.name)
                        }
                        td { (d.agreement) }
                        td { (d.article) }
                        td { (d.reason) }
                        td { (d.decided_at) }
                    }
                }
            }
            p { small { "Their bills are answered " code { "agreement_suspended" } " or "
                code { "agreement_ended" } " by their province's exchange; a later decision "
                "reinstates them." } }
        }
    }
}

/// Fines on institutions (seed 004 art. 49), standing or withdrawn by a later decision.
fn fines(fines: &[crate::clearing::FineView]) -> Markup {
    html! {
        h2 { "Fines on institutions (art. 49) " small { a href="/api/fines" { "JSON" } } }
        @if fines.is_empty() {
            p { "None." }
        } @else {
            table {
                tr { th { "Fine" } th { "Bill" } th { "Owed by → to" } th { "Amount" }
                    th { "Article and finding" } th { "Posted" } th { "Withdrawn" } }
                @for f in fines {
                    tr.suspended[f.withdrawn.is_none()] {
                        td { (f.fine_id) }
                        td { code { (f.setl_id) } }
                        td { (f.treatment) " → " (f.insured) }
                        td.num data-key={ "fine." (f.fine_id) } { (f.amount) }
                        td { (f.reason) }
                        td { (f.posted_on) }
                        td { @match &f.withdrawn { Some(w) => (w), None => "—" } }
                    }
                }
            }
        }
    }
}

/// Persons whose direct settlement an agency halted (seed 004 art. 53), in force or lifted.
fn halts(halts: &[crate::halts::Listed]) -> Markup {
    let standing = halts.iter().filter(|h| h.lifted_by.is_empty()).count();
    html! {
        h2 { "Persons halted from direct settlement (art. 53) "
            small { a href="/api/halts" { "JSON" } } }
        @if halts.is_empty() {
            p data-key="halts.standing" data-value="0" { "None: no agency has halted anyone." }
        } @else {
            p { b data-key="halts.standing" data-value=(standing) { (standing) }
                " standing, " (halts.len() - standing) " lifted. Their benefits continue by "
                "manual claim at home; their bills are answered " code { "direct_settlement_halted" } "." }
            table {
                tr { th { "Decision" } th { "Insured region" } th { "Person (token)" } th { "From" }
                    th { "Until" } th { "Under" } th { "Finding" } th { "Lifted by" } }
                @for h in halts {
                    tr.suspended[h.lifted_by.is_empty()] {
                        td data-key={ "halts." (h.decision_id) } { (h.decision_id) }
                        td { (h.insuplc_admdvs) }
                        td { code { (h.person) } }
                        td { (h.begndate) }
                        td { @if h.enddate.is_empty() { "until lifted" } @else { (h.enddate) } }
                        td { (h.article) }
                        td { (h.reason) }
                        td { @if h.lifted_by.is_empty() { "—" }
                            @else { (h.lifted_by) " (" (h.lifted_at) "): " (h.lift_reason) } }
                    }
                }
            }
        }
    }
}

fn overdue(provinces: &[Overdue]) -> Markup {
    html! {
        (heading("Overdue clearing funds", "/api/overdue", "/api/overdue.csv"))
        table {
            tr {
                th { "Province" } th { "Level" } th { "Overdue" }
                @for b in BUCKETS { th { (b) " days" } }
                th { "Late interest" } th { "Days past due" } th { "Outstanding" }
            }
            @for o in provinces {
                @let p = o.province;
                tr {
                    td { (p) " " (name(p)) }
                    td class=(o.level.label()) { (o.level.label()) }
                    (cell(&format!("overdue.{p}.overdue"), o.overdue))
                    @for (b, a) in o.aging.iter().enumerate() {
                        (cell(&format!("overdue.{p}.aging.{b}"), a))
                    }
                    (cell(&format!("overdue.{p}.interest"), o.interest))
                    (cell(&format!("overdue.{p}.days"), o.days_past_due))
                    (cell(&format!("overdue.{p}.outstanding"), o.outstanding))
                }
            }
        }
        (charts::aging(provinces))
    }
}

fn positions(
    p: &Positions,
    periods: &[yidi_clearing::period::Period],
    recs: &[Reconciliation],
) -> Markup {
    html! {
        h2 { "Net positions, round " span data-key="positions.period" { (p.period) }
            " (" (format!("{:?}", p.state)) ") "
            small { a href={ "/api/positions?period=" (p.period) } { "JSON" } " · "
                a href={ "/api/positions.csv?period=" (p.period) } { "CSV" } } }
        p { "Who owes whom (row owes column):" }
        (pair_matrix(p))
        table {
            tr { th { "Province" } th { "Net position" } }
            @for (province, net) in &p.netting.net {
                tr {
                    td { (province) " " (name(*province)) }
                    (cell(&format!("net.{province}"), net))
                }
            }
            tr { th { "Σ" } (cell("net.sum", p.net_sum)) }
        }
        p {
            "Gross " (keyed("netting.gross", p.netting.gross))
            " · netted " (keyed("netting.netted", p.netting.netted))
            " · liquidity saved " (keyed("netting.saved", p.netting.saved))
            " · " (p.bills) " bills · disputed carried: " (p.disputed.len())
        }
        (charts::net(p))
        (prepay_first(&p.prepay))
        h3 { "By fund (seed 004 art. 44: each cleared apart)" }
        table {
            tr { th { "fund_pay_type" } th { "Fund" } th { "Cleared" } }
            @for line in &p.by_fund {
                tr {
                    td { (line.fund_pay_type) }
                    td { (line.name) }
                    (cell(&format!("fund.{}", line.field), line.amount))
                }
            }
        }
        p {
            "Rounds: "
            @for other in periods.iter().rev() { a href={ "/?period=" (other) } { (other) } " " }
        }
        h3 { "Reconciliation with the exchanges (3201/3202) "
            small { a href={ "/api/reconciliation?period=" (p.period) } { "JSON" } } }
        (reconciliation(recs))
    }
}

/// What the round settled first against prepayments (先预付后清算, issue #13 §6).
fn prepay_first(prepay: &yidi_clearing::prepay::PrepayFirst) -> Markup {
    html! {
        h3 { "Settled first against prepayments" }
        @if prepay.is_empty() {
            p { "Nothing: the round is not final, or no debtor's prepayment held anything." }
        } @else {
            table {
                tr { th { "Drawn from the prepayment of" } th { "Amount" } }
                @for draw in &prepay.draws {
                    tr {
                        td { (draw.insured) "→" (draw.treatment) }
                        (cell(&format!("draw.{}.{}", draw.insured, draw.treatment), draw.amount))
                    }
                }
                tr { th { "Paid out at once to" } th { "Amount" } }
                @for payout in &prepay.paid_out {
                    tr {
                        td { (payout.province) " " (name(payout.province)) }
                        (cell(&format!("paid_out.{}", payout.province), payout.amount))
                    }
                }
            }
            p { "The rest reaches the creditors as the debtors pay; a debtor's payment refills its "
                "prepayments first." }
        }
    }
}

fn pair_matrix(p: &Positions) -> Markup {
    let mut all: Vec<RegionCode> = p.netting.net.keys().copied().collect();
    all.sort();
    let owed = |r: RegionCode, c: RegionCode| {
        p.pairs.iter().find(|o| o.insured == r && o.treatment == c).map(|o| o.amount)
    };
    html! {
        table {
            tr { th { "insured ↓ / treatment →" } @for c in &all { th { (c) } } }
            @for r in &all {
                tr {
                    th { (r) }
                    @for c in &all {
                        @match owed(*r, *c) {
                            Some(a) => (cell(&format!("pair.{r}.{c}"), a)),
                            None => td {},
                        }
                    }
                }
            }
        }
    }
}

fn reconciliation(recs: &[Reconciliation]) -> Markup {
    html! {
        @if recs.is_empty() {
            p { "No statement received for this period yet." }
        } @else {
            table {
                tr { th { "Treatment province" } th { "Statement" } th { "Bills (hub / exchange)" }
                    th { "Funds (hub / exchange)" } th { "Mismatches" } }
                @for r in recs {
                    @let hub_bills: i64 = r.rows.iter().map(|row| row.hub.settled).sum();
                    @let exchange_bills: i64 = r.rows.iter().map(|row| row.exchange.settled).sum();
                    @let hub_funds: Amount = r.rows.iter().map(|row| row.hub.fund_pay_sumamt).sum();
                    @let exchange_funds: Amount =
                        r.rows.iter().map(|row| row.exchange.fund_pay_sumamt).sum();
                    tr {
                        td { (r.treatment) " " (name(r.treatment)) }
                        td.ok[r.balanced].bad[!r.balanced] data-key={ "reconciled." (r.treatment) }
                            data-ok=(r.balanced) {
                            (if r.balanced { "balanced" } else { "mismatch" }) " " (r.on)
                        }
                        td.num { (hub_bills) " / " (exchange_bills) }
                        td.num { (hub_funds) " / " (exchange_funds) }
                        td { small { (mismatches(r)) } }
                    }
                }
            }
        }
    }
}

fn mismatches(r: &Reconciliation) -> String {
    let each = r.mismatches.iter().map(|m| {
        format!(
            "{} {}: hub {} / exchange {} (only at hub: {}; only at exchange: {})",
            m.insured,
            m.field,
            m.hub,
            m.exchange,
            m.only_at_hub.join(" "),
            m.only_at_exchange.join(" ")
        )
    });
    each.collect::<Vec<_>>().join("; ")
}

fn prepayments(prepayments: &[Prepayment]) -> Markup {
    html! {
        (heading("Prepayment usage", "/api/prepayments", "/api/prepayments.csv"))
        table {
            tr { th { "Insured → treatment" } th { "Prepaid" } th { "Basis" } th { "Outstanding" }
                th { "Usage" } th { "Top-up notice" } th { "Drawn by rounds" } th { "Refilled" }
                th { "Balance" } }
            @for p in prepayments {
                @let key = format!("prepay.{}.{}", p.insured, p.treatment);
                tr {
                    td { (p.insured) "→" (p.treatment) }
                    (cell(&format!("{key}.prepaid"), p.prepaid))
                    td { (p.sizing.basis) }
                    (cell(&format!("{key}.outstanding"), p.outstanding))
                    (cell(&format!("{key}.usage"), p.usage.usage))
                    @if p.usage.warning { (cell(&format!("{key}.top_up"), p.usage.top_up)) }
                    @else { (cell(&format!("{key}.top_up"), "—")) }
                    (cell(&format!("{key}.drawn"), p.drawn))
                    (cell(&format!("{key}.refilled"), p.refilled))
                    (cell(&format!("{key}.balance"), p.balance))
                }
            }
        }
        (charts::prepayment(prepayments))
    }
}

fn live(live: &Snapshot) -> Markup {
    let or_dash = |v: Option<u64>| v.map_or_else(|| "—".to_owned(), |v| v.to_string());
    html! {
        h2 { "Live settlement " small { a href="/api/live" { "JSON" } } }
        p { "Last " (live.window_seconds) "s: " b data-key="live.rate" { (live.rate) }
            " results/s · p50 "
            b { (or_dash(live.latency_p50_ms)) } " ms · p99 " b { (or_dash(live.latency_p99_ms)) }
            " ms · since start " (live.results) " results, " (live.settled) " settled" }
        @if live.retrying > 0 {
            p.bad { "Waiting out a fault (database or broker): "
                b data-key="live.retrying" { (live.retrying) }
                " messages, " b data-key="live.alarmed" { (live.alarmed) }
                " failing for over two minutes — see the hub's log; " code { "yidi dlq park" }
                " sets one aside." }
        }
        table {
            tr { th { "Rejection reason" } th { "Count" } }
            @for (reason, count) in &live.rejections {
                tr { td { (reason) } (cell(&format!("rejections.{reason}"), count)) }
            }
        }
    }
}

fn transitions(transitions: &[Transition]) -> Markup {
    html! {
        (heading("Ladder transitions", "/api/suspensions", "/api/transitions.csv"))
        table {
            tr { th { "On" } th { "Province" } th { "From" } th { "To" } th { "Reason" } }
            @for t in transitions.iter().rev().take(30) {
                tr { td { (t.on) } td { (t.province) } td { (t.from.label()) }
                    td class=(t.to.label()) { (t.to.label()) } td { (t.reason) } }
            }
        }
    }
}

/// Where a bill is, as the hub knows it (issue #12 §6), for a person to read.
pub(super) async fn bill_page(State(d): State<Shared>, Query(q): Query<BillQuery>) -> Response {
    let Json(found) = match api::bill(State(d), Query(BillQuery { id: q.id.clone() })).await {
        Ok(found) => found,
        Err(error) => return error.into_response(),
    };
    let entries = found["ledger"].as_array().cloned().unwrap_or_default();
    let fields = [
        "msgid",
        "setl_id",
        "insured",
        "treatment",
        "medfee_sumamt",
        "fund_pay_sumamt",
        "setl_time",
        "reversed_at",
    ];
    let body = html! {
        h1 { "Bill " (q.id) }
        p { a href="/" { "dashboard" } " · " a href={ "/api/bill?id=" (q.id) } { "JSON" } }
        @if let Some(waited) = found["waiting_for_agency_ms"].as_u64() {
            p { "Routed to its insured agency " (waited) " ms ago; no result yet." }
        }
        @if entries.is_empty() {
            p { "Not in the clearing ledger: not settled (yet), refused, or not known to the hub." }
        } @else {
            table {
                tr { th { "msgid" } th { "setl_id" } th { "insured" } th { "treated" }
                    th { "medical fees" }
                    th { "funds paid" } th { "settled" } th { "reversed" } }
                @for entry in &entries {
                    tr { @for field in fields { td { (entry[field].as_str().unwrap_or("")) } } }
                }
            }
        }
        p { "The exchange's and the agency's records of it: " code { "yidi trace <msgid|mdtrt_id>" }
            " where their databases are." }
    };
    Html(document(&format!("yidi: bill {}", q.id), false, body).into_string()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue #11 §7: every string the page renders from data is escaped (reasons, details).
    #[test]
    fn rendered_text_cannot_open_a_tag_or_leave_an_attribute() {
        let hostile = r#"<script>alert("x")</script> & <img src=x onerror=y>"#;
        let check = Check { name: "hostile", ok: false, detail: hostile.into() };
        let rendered = checks(&[check]).into_string();
        assert!(!rendered.contains("<script>") && !rendered.contains("<img"), "{rendered}");
        assert!(rendered.contains("&lt;script&gt;") && rendered.contains("&amp;"), "{rendered}");
        assert!(!rendered.contains(r#""x""#), "a quote would end the title attribute: {rendered}");
    }
}
