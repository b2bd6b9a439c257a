//! The CSV exports of the page's tables, written by the `csv` crate: a reason or a name with
//! a comma, a quote or a line break in it stays one field.

use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::{api, ApiError, PeriodQuery, Shared};

/// A CSV file of `rows` under `heading`, offered for download as `name`.
fn file<R: AsRef<[String]>>(name: &str, heading: &[&str], rows: &[R]) -> Response {
    match write(heading, rows) {
        Ok(body) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
            ],
            body,
        )
            .into_response(),
        Err(error) => ApiError(StatusCode::INTERNAL_SERVER_ERROR, "CSV".into(), error.to_string())
            .into_response(),
    }
}

fn write<R: AsRef<[String]>>(heading: &[&str], rows: &[R]) -> Result<Vec<u8>, csv::Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(heading)?;
    for row in rows {
        writer.write_record(row.as_ref())?;
    }
    writer.into_inner().map_err(|error| csv::Error::from(error.into_error()))
}

pub(super) async fn overdue(State(d): State<Shared>) -> Response {
    let (today, provinces) = d.desk.overdue().await;
    let rows: Vec<Vec<String>> = provinces
        .iter()
        .map(|o| {
            let mut row = vec![
                today.to_string(),
                o.province.to_string(),
                o.level.label().to_owned(),
                o.since.map(|d| d.to_string()).unwrap_or_default(),
                o.overdue.to_string(),
            ];
            row.extend(o.aging.iter().map(ToString::to_string));
            row.extend([
                o.interest.to_string(),
                o.days_past_due.to_string(),
                o.outstanding.to_string(),
            ]);
            row
        })
        .collect();
    let heading = [
        "as_of",
        "province",
        "level",
        "since",
        "overdue",
        "aging_1_30",
        "aging_31_60",
        "aging_61_90",
        "aging_over_90",
        "interest",
        "days_past_due",
        "outstanding",
    ];
    file("overdue.csv", &heading, &rows)
}

pub(super) async fn positions(
    State(d): State<Shared>,
    Query(q): Query<PeriodQuery>,
) -> Result<Response, ApiError> {
    let Json(p) = api::positions(State(d), Query(q)).await?;
    let period = p.period.to_string();
    let pairs = p.pairs.iter().map(|pair| {
        let (insured, treatment) = (pair.insured.to_string(), pair.treatment.to_string());
        [
            period.clone(),
            "obligation".into(),
            insured,
            treatment,
            String::new(),
            pair.amount.to_string(),
        ]
    });
    let nets = p.netting.net.iter().map(|(province, net)| {
        [
            period.clone(),
            "net_position".into(),
            String::new(),
            String::new(),
            province.to_string(),
            net.to_string(),
        ]
    });
    let rows: Vec<[String; 6]> = pairs.chain(nets).collect();
    let heading = ["period", "kind", "insured", "treatment", "province", "amount"];
    Ok(file(&format!("positions-{period}.csv"), &heading, &rows))
}

pub(super) async fn notice(
    State(d): State<Shared>,
    Query(q): Query<PeriodQuery>,
) -> Result<Response, ApiError> {
    let Json(n) = api::notice(State(d), Query(q)).await?;
    let mut rows: Vec<[String; 8]> = Vec::new();
    for (side, lines) in [("owing", &n.owing), ("owed", &n.owed)] {
        for line in lines {
            for b in &line.bills {
                let kind = serde_json::to_value(b.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                rows.push([
                    n.period.to_string(),
                    side.to_owned(),
                    line.insured.to_string(),
                    line.treatment.to_string(),
                    b.setl_id.clone(),
                    b.entry.clone(),
                    kind,
                    b.amount.to_string(),
                ]);
            }
        }
    }
    let heading = ["period", "side", "insured", "treatment", "setl_id", "entry", "kind", "amount"];
    Ok(file(&format!("notice-{}-{}.csv", n.period, n.province), &heading, &rows))
}

pub(super) async fn prepayments(State(d): State<Shared>) -> Response {
    let rows: Vec<[String; 12]> = d
        .desk
        .prepayments()
        .await
        .iter()
        .map(|p| {
            [
                p.year.to_string(),
                p.insured.to_string(),
                p.treatment.to_string(),
                p.prepaid.to_string(),
                p.sizing.basis.to_string(),
                p.outstanding.to_string(),
                p.usage.usage.to_string(),
                p.usage.warning.to_string(),
                p.usage.top_up.to_string(),
                p.drawn.to_string(),
                p.refilled.to_string(),
                p.balance.to_string(),
            ]
        })
        .collect();
    let heading = [
        "year",
        "insured",
        "treatment",
        "prepaid",
        "basis",
        "outstanding",
        "usage",
        "warning",
        "top_up",
        "drawn",
        "refilled",
        "balance",
    ];
    file("prepayments.csv", &heading, &rows)
}

pub(super) async fn transitions(State(d): State<Shared>) -> Response {
    let rows: Vec<[String; 5]> = d
        .desk
        .transitions()
        .await
        .iter()
        .map(|t| {
            [
                t.on.to_string(),
                t.province.to_string(),
                t.from.label().to_owned(),
                t.to.label().to_owned(),
                t.reason.clone(),
            ]
        })
        .collect();
    file("transitions.csv", &["on", "province", "from", "to", "reason"], &rows)
}

#[cfg(test)]
mod tests {
    use super::write;

    #[test]
    fn a_reason_with_a_comma_and_quotes_stays_one_field() {
        let rows = [vec!["2027-03-01".to_owned(), "overdue, \"30 days\"\nsuspended".to_owned()]];
        let body = String::from_utf8(write(&["on", "reason"], &rows).unwrap()).unwrap();
        let mut reader = csv::Reader::from_reader(body.as_bytes());
        let read: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(read.len(), 1);
        assert_eq!(&read[0][1], "overdue, \"30 days\"\nsuspended");
    }
}
