//! The agency's side of daily reconciliation: asked by the hub, it states the settlements it
//! made on a day (`yidi_wire::day`), reversed since or not, per pair of insured region and
//! treatment province — its own record of what its funds owe, signed, for the hub to set
//! beside its ledger and the exchanges' records.

use chrono::NaiveDate;
use yidi_bus::{topics, Failure, Incoming, Outgoing, Rejection, Transient};
use yidi_domain::policy::InsuredRegion;
use yidi_store::Tx;
use yidi_wire::codec::ContentType;
use yidi_wire::headers;
use yidi_wire::v1::DayStatementRequest;

use crate::store;

/// Hub → agency: the statement of the day asked, to the hub.
pub async fn day(
    tx: &mut Tx,
    regions: &[InsuredRegion],
    incoming: &Incoming,
    ask: &DayStatementRequest,
    now: &str,
) -> Result<Vec<Outgoing>, Failure> {
    incoming.authorize(yidi_trust::Role::is_hub, "ask for a day's statement")?;
    let day: NaiveDate =
        ask.day.parse().map_err(|_| Rejection::new("INVALID_STATEMENT", "day: not yyyy-MM-dd"))?;
    let held = store::settled_on(tx, day).await.map_err(Transient::new)?;
    let hosted: Vec<String> = regions.iter().map(|r| r.region.to_string()).collect();
    let statement =
        yidi_wire::day::statement(day, "agency", &hosted.join(","), now, held, ask.detail);
    tracing::info!(day = %ask.day, rows = statement.rows.len(), detail = ask.detail,
                   "day statement sent to the hub");
    Ok(vec![Outgoing::new(
        topics::HUB_STATEMENTS,
        &ask.day,
        "yidi.v1.DayStatement",
        &statement,
        ContentType::Protobuf,
    )
    .following(incoming)
    .with_header(headers::RECEIVER, "hub")])
}
