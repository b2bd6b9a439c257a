//! `yidi trace <msgid|mdtrt_id>`: where a bill went, read from the services' own records
//! (issue #12 §6), for the operator who has no tracing backend — what the exchange received
//! and answered, what the agency decided, what the hub entered in the clearing ledger, with
//! the times each wrote down. A service's database is recognised by its tables.

use std::path::PathBuf;

use prost::Message;
use yidi_store::{Row, Store};
use yidi_wire::v1::{SettleResult, SettleStatus};

#[derive(clap::Args)]
pub struct Args {
    /// The bill's msgid, or its episode's mdtrt_id (every send and reversal of it).
    id: String,
    /// The folder of the services' SQLite databases (`<service>.db`, as `make up` keeps them).
    #[arg(long, default_value = ".run/data")]
    data: PathBuf,
    /// A service's database as `NAME=URL` (PostgreSQL in production); repeatable, and then
    /// `--data` is not read.
    #[arg(long = "database", value_name = "NAME=URL")]
    databases: Vec<String>,
}

/// One thing a service recorded about the bill. Times are to the second: within one, steps
/// follow the bill's path (exchange, agency, hub).
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Step {
    at: String,
    hop: Hop,
    service: String,
    what: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Hop {
    Exchange,
    Agency,
    Hub,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let databases = databases(args)?;
    anyhow::ensure!(!databases.is_empty(), "no service databases in {}", args.data.display());
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let mut steps = Vec::new();
    runtime.block_on(async {
        for (service, url) in &databases {
            let store = Store::connect(url).await?;
            steps.extend(read(&store, service, &args.id).await);
        }
        anyhow::Ok(())
    })?;
    if steps.is_empty() {
        println!("{}: no service has a record of it", args.id);
        return Ok(());
    }
    steps.sort();
    println!("{}:", args.id);
    for step in &steps {
        println!("  {}  {:<16} {}", step.at, step.service, step.what);
    }
    Ok(())
}

/// The databases to read: those named, or every `*.db` of the data folder.
fn databases(args: &Args) -> anyhow::Result<Vec<(String, String)>> {
    if !args.databases.is_empty() {
        return args
            .databases
            .iter()
            .map(|named| {
                let (name, url) = named
                    .split_once('=')
                    .ok_or_else(|| anyhow::anyhow!("--database {named:?}: expected NAME=URL"))?;
                Ok((name.to_owned(), url.to_owned()))
            })
            .collect();
    }
    let mut found = Vec::new();
    let entries = std::fs::read_dir(&args.data)
        .map_err(|error| anyhow::anyhow!("{}: {error}", args.data.display()))?;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|extension| extension == "db") {
            let name = path.file_stem().map(|s| s.to_string_lossy().into_owned());
            found.push((name.unwrap_or_default(), format!("sqlite://{}", path.display())));
        }
    }
    found.sort();
    Ok(found)
}

/// What `service`'s store says of `id`: the tables it has tell which service it is. A table
/// it does not have reads as nothing.
async fn read(store: &Store, service: &str, id: &str) -> Vec<Step> {
    let mut steps = exchange(store, service, id).await.unwrap_or_default();
    steps.extend(agency(store, service, id).await.unwrap_or_default());
    steps.extend(hub(store, service, id).await.unwrap_or_default());
    steps
}

/// The rows `sql` selects with the bill's id as `$1`.
async fn rows_about(
    store: &Store,
    sql: &'static str,
    id: &str,
) -> Result<Vec<sqlx::any::AnyRow>, sqlx::Error> {
    sqlx::query(sql).bind(id).fetch_all(store.pool()).await
}

/// "SETTLED setl_id … " or "REJECTED not_insured" of a result.
fn outcome(bytes: &[u8]) -> String {
    let Ok(result) = SettleResult::decode(bytes) else { return "an unreadable result".into() };
    let status = SettleStatus::try_from(result.status).map_or("UNKNOWN", |s| s.as_str_name());
    let setl_id = result.setlinfo.as_ref().map(|info| info.setl_id.as_str()).unwrap_or_default();
    match (setl_id.is_empty(), result.reason.is_empty()) {
        (false, _) => format!("{status} setl_id {setl_id}"),
        (true, false) => format!("{status} {}", result.reason),
        (true, true) => status.to_owned(),
    }
}

/// An exchange's `request` rows: each send received, and the first answer.
async fn exchange(store: &Store, service: &str, id: &str) -> Result<Vec<Step>, sqlx::Error> {
    let rows = rows_about(
        store,
        "SELECT msgid, via, received_at, result, sends, delivered, reversed_at FROM request
         WHERE msgid = $1 OR mdtrt_id = $1",
        id,
    )
    .await?;
    let mut steps = Vec::new();
    for row in rows {
        let msgid: String = row.try_get(0)?;
        let via: String = row.try_get(1)?;
        let received_at: String = row.try_get(2)?;
        let result: Option<Vec<u8>> = row.try_get(3)?;
        let (sends, delivered): (i64, i64) = (row.try_get(4)?, row.try_get(5)?);
        let reversed_at: Option<String> = row.try_get(6)?;
        let answer = result.as_deref().map_or_else(|| "no answer yet".to_owned(), outcome);
        steps.push(Step {
            at: received_at,
            hop: Hop::Exchange,
            service: service.to_owned(),
            what: format!(
                "{msgid} received over {via}; answered {answer} ({delivered} of {sends} sends answered)"
            ),
        });
        if let Some(at) = reversed_at {
            steps.push(Step {
                at,
                hop: Hop::Exchange,
                service: service.to_owned(),
                what: format!("{msgid} reversed"),
            });
        }
    }
    Ok(steps)
}

/// An agency's decisions: its inbox (every answer, rejections too) and its settlements.
async fn agency(store: &Store, service: &str, id: &str) -> Result<Vec<Step>, sqlx::Error> {
    let settlements = rows_about(
        store,
        "SELECT msgid, setl_id, settled_at, reversed FROM settlement WHERE msgid = $1 OR mdtrt_id = $1",
        id,
    )
    .await?;
    let mut msgids = vec![id.to_owned()];
    let mut steps = Vec::new();
    for row in settlements {
        let msgid: String = row.try_get(0)?;
        let setl_id: String = row.try_get(1)?;
        let settled_at: String = row.try_get(2)?;
        let reversed: i64 = row.try_get(3)?;
        let state = if reversed != 0 { "since reversed" } else { "in force" };
        steps.push(Step {
            at: settled_at,
            hop: Hop::Agency,
            service: service.to_owned(),
            what: format!("{msgid} settled {setl_id}: funds' shares recorded, {state}"),
        });
        msgids.push(msgid);
    }
    msgids.dedup();
    for msgid in msgids {
        let answered = sqlx::query("SELECT response, created_at FROM inbox WHERE msgid = $1")
            .bind(&msgid)
            .fetch_optional(store.pool())
            .await?;
        if let Some(row) = answered {
            let response: Vec<u8> = row.try_get(0)?;
            steps.push(Step {
                at: row.try_get(1)?,
                hop: Hop::Agency,
                service: service.to_owned(),
                what: format!("{msgid} decided: {}", outcome(&response)),
            });
        }
    }
    Ok(steps)
}

/// The hub's clearing ledger: the settled bill as entered for its month's round
/// (`yidi_hub::record::bill_entries`, which the dashboard's bill page reads too).
async fn hub(store: &Store, service: &str, id: &str) -> Result<Vec<Step>, yidi_store::StoreError> {
    let mut steps = Vec::new();
    for entry in yidi_hub::record::bill_entries(store, id).await? {
        let step = |at: String, what: String| Step {
            at,
            hop: Hop::Hub,
            service: service.to_owned(),
            what,
        };
        steps.push(step(
            entry.setl_time,
            format!(
                "{} entered in the clearing ledger: {}, insured {}, treated {}, funds {} yuan",
                entry.msgid, entry.setl_id, entry.insured, entry.treatment, entry.fund_pay_sumamt
            ),
        ));
        if let Some(at) = entry.reversed_at {
            steps.push(step(at, format!("{} reversed in the ledger", entry.setl_id)));
        }
    }
    Ok(steps)
}
