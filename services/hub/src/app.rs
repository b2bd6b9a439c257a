//! Settings and the run loop of the hub.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use tracing::info;
use yidi_bus::topics;
use yidi_domain::ids::RegionCode;
use yidi_runtime::outbox::Outbox;
use yidi_runtime::shutdown::Shutdown;

use crate::clearing::Desk;
use crate::dashboard::{self, Dashboard};
use crate::live::Live;
use crate::record;
use crate::route::Hub;
use secrecy::ExposeSecret;

#[derive(Clone, Debug, Deserialize)]
pub struct Settings {
    #[serde(flatten)]
    pub common: yidi_runtime::settings::Common,
    /// Insured provinces with an agency on the network.
    pub insured_provinces: Vec<String>,
    /// Treatment provinces with an exchange (their result topics are created up front).
    pub treatment_provinces: Vec<String>,
    /// Insured provinces whose direct settlement is suspended.
    #[serde(default)]
    pub suspended: Vec<String>,
    /// The ministry dashboard and the clearing desk's HTTP API.
    #[serde(default = "default_dashboard")]
    pub dashboard: SocketAddr,
    /// When set, every dashboard call needs a token: POST calls this one.
    #[serde(default)]
    pub admin_token: Option<secrecy::SecretString>,
    /// With `admin_token`: a token for reading only (the dashboard's GET calls).
    #[serde(default)]
    pub read_token: Option<secrecy::SecretString>,
    /// Whether `yidi admin advance` may move the business clock (the demo and tests); never
    /// in production.
    #[serde(default)]
    pub simulated_clock: bool,
    /// The business date (`YYYY-MM-DD`) a new clearing log starts at (default: today).
    /// A TOML date or a string; read as text so that `YIDI_CLOCK_START` works too.
    #[serde(default)]
    pub clock_start: Option<toml_date::Text>,
    /// Calendar, prepayment and ladder settings (domain.md §5.3).
    #[serde(default)]
    pub clearing: yidi_clearing::book::Settings,
}

mod toml_date {
    /// A date written as a TOML date or as a string.
    #[derive(Clone, Debug)]
    pub struct Text(pub String);

    impl<'de> serde::Deserialize<'de> for Text {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Text, D::Error> {
            #[derive(serde::Deserialize)]
            #[serde(untagged)]
            enum Either {
                Text(String),
                Date(toml::value::Datetime),
            }
            Ok(Text(match Either::deserialize(d)? {
                Either::Text(text) => text,
                Either::Date(date) => date.to_string(),
            }))
        }
    }
}

fn default_dashboard() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}

fn provinces(codes: &[String], field: &str) -> anyhow::Result<BTreeSet<RegionCode>> {
    codes
        .iter()
        .map(|c| {
            c.parse::<RegionCode>()
                .map(RegionCode::province)
                .map_err(|e| anyhow::anyhow!("{field}: {c}: {e}"))
        })
        .collect()
}

/// How often the clearing calendar looks at the date: the calendar runs when the real date
/// rolls over too, not only when a simulated clock is advanced.
const CALENDAR_EVERY: Duration = Duration::from_secs(30);
/// How often routed requests older than `referee::ROUTED_KEEP_DAYS` are removed.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// How often the hub looks for days over to reconcile.
const DAY_ASK_EVERY: Duration = Duration::from_secs(60);

/// What `--check-config` checks, and what `run` checks before it connects: the provinces
/// read as region codes, the clock's start date, the dashboard not open beyond this machine
/// without a token, the credentials readable.
pub fn check(settings: &Settings) -> anyhow::Result<()> {
    provinces(&settings.insured_provinces, "insured_provinces")?;
    provinces(&settings.suspended, "suspended")?;
    provinces(&settings.treatment_provinces, "treatment_provinces")?;
    check_dashboard_exposure(settings)?;
    clock_start(settings)?;
    settings.common.check()?;
    settings.common.person_tokens()?;
    Ok(())
}

/// Routed requests are kept as long as an answer may still honestly come (`referee`), day
/// statements [`crate::daily::DAYS_KEPT`] days; then removed, every [`PRUNE_EVERY`].
fn prune_routed_requests(
    store: &yidi_store::Store,
    clock: yidi_runtime::clock::BusinessClock,
    shutdown: &Shutdown,
) {
    let routed = store.clone();
    shutdown.every(PRUNE_EVERY, move || {
        let (routed, clock) = (routed.clone(), clock.clone());
        async move {
            let keep = chrono::Days::new(crate::referee::ROUTED_KEEP_DAYS);
            let Some(before) = clock.now().checked_sub_days(keep) else { return };
            let before = before.format("%Y-%m-%d %H:%M:%S").to_string();
            match crate::referee::prune(&routed, &before).await {
                Ok(0) => {}
                Ok(pruned) => tracing::info!(pruned, %before, "routed requests pruned"),
                Err(error) => tracing::warn!(%error, "routed requests not pruned"),
            }
            let keep = chrono::Days::new(crate::daily::DAYS_KEPT);
            let Some(before) = clock.today().checked_sub_days(keep) else { return };
            match crate::daily::prune(&routed, &before.to_string()).await {
                Ok(0) => {}
                Ok(pruned) => tracing::info!(pruned, %before, "day statements pruned"),
                Err(error) => tracing::warn!(%error, "day statements not pruned"),
            }
        }
    });
}

/// Who is asked for statements: the exchanges of the `treatment` provinces (of periods and
/// days) and the agencies of the `served` ones (of days). Every [`DAY_ASK_EVERY`], the days
/// over that no one was asked for (`daily::due`) are asked for — on the tick after the one
/// that first saw them over, so that results of the day's last minutes still on their way
/// are in.
fn ask_statements(
    desk: &Arc<Desk>,
    outbox: &Outbox,
    (treatment, served): (&BTreeSet<RegionCode>, &BTreeSet<RegionCode>),
    store: &yidi_store::Store,
    shutdown: &Shutdown,
) {
    let (exchanges, agencies) =
        (treatment.iter().copied().collect(), served.iter().copied().collect());
    desk.request_statements_from(outbox.clone(), exchanges, agencies);
    let (desk, store) = (Arc::clone(desk), store.clone());
    let seen = Arc::new(std::sync::Mutex::new(BTreeSet::<chrono::NaiveDate>::new()));
    shutdown.every(DAY_ASK_EVERY, move || {
        let (desk, store, seen) = (Arc::clone(&desk), store.clone(), Arc::clone(&seen));
        async move {
            let due = match crate::daily::due(&store).await {
                Ok(due) => due,
                Err(error) => return tracing::warn!(%error, "days to reconcile not read"),
            };
            let ready: Vec<chrono::NaiveDate> = {
                let Ok(mut seen) = seen.lock() else { return };
                let ready = due.iter().copied().filter(|day| seen.contains(day)).collect();
                *seen = due.into_iter().collect();
                ready
            };
            for day in ready {
                match desk.request_day_statements(day, false).await {
                    Ok(_) => tracing::info!(%day, "day statements asked for"),
                    Err(error) => tracing::warn!(%error, %day, "day statements not asked for"),
                }
            }
        }
    });
}

pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let served = provinces(&settings.insured_provinces, "insured_provinces")?;
    let suspended = provinces(&settings.suspended, "suspended")?;
    let treatment = provinces(&settings.treatment_provinces, "treatment_provinces")?;
    check_dashboard_exposure(&settings)?;
    // The clearing log is hash-chained by one writer and the desk's rounds are decided in one
    // place: the hub does not run as several processes (issue #9 §6 scales agencies and
    // exchanges).
    anyhow::ensure!(
        settings.common.instance.is_none(),
        "instance: the hub runs as one process (its clearing log has one writer)"
    );
    let schema: Vec<&'static str> =
        record::SCHEMA.iter().chain(crate::clearing::SCHEMA).copied().collect();
    let tokens = Arc::new(settings.common.person_tokens()?);
    let (store, bus) = settings.common.connect(&schema, crate::hospitals::CHANGES, &[]).await?;
    // One writer per role: a second copy of this service on the same database stops here.
    let lease = yidi_runtime::lease::Lease::take(&store, &settings.common.name).await?;
    let outbox = Outbox::new(store.clone(), bus.clone());
    let desk = Arc::new(
        Desk::open(
            store.clone(),
            settings.clearing.clone(),
            settings.common.clock(),
            clock_start(&settings)?,
            Arc::clone(&tokens),
        )
        .await?,
    );
    let live = Arc::new(Live::default());
    bus.ensure_topics(&topic_names(&served, &treatment)).await?;
    let hub = Hub {
        store: store.clone(),
        served: served.clone(),
        suspended,
        overdue_suspended: desk.suspended(),
        desk: Arc::clone(&desk),
        live: Arc::clone(&live),
        tokens,
        bus: bus.clone(),
        catalogues: Arc::new(crate::referee::Catalogues::new(yidi_data::treatment_catalogues()?)),
    };
    let shutdown = Shutdown::on_signals();
    shutdown.spawn(lease.keep(shutdown.requested()));
    let readiness =
        yidi_runtime::health::serve(settings.common.grpc, settings.common.tls()?, None, &shutdown)
            .await?;
    serve_dashboard(&settings, (&desk, &live), (&store, &outbox), &bus, &shutdown).await?;
    let calendar = Arc::clone(&desk);
    shutdown.every(CALENDAR_EVERY, move || {
        let calendar = Arc::clone(&calendar);
        async move {
            if let Err(error) = calendar.tick().await {
                tracing::error!(%error, "clearing calendar");
            }
        }
    });
    prune_routed_requests(&store, settings.common.clock(), &shutdown);
    let gauges = clearing_gauges(&desk, &shutdown);
    let mut exposition = yidi_runtime::metrics::Exposition::new(&bus, &outbox);
    register_figures(&mut exposition, &live, &gauges);
    exposition.serve(settings.common.metrics, readiness.clone(), &shutdown).await?;
    // One consumer for all of the hub's topics: every consumer costs the broker a fetch loop.
    let consumer = bus.consumer("hub", &Hub::topics())?;
    // After each cut-off, every treatment province's exchange is asked for its statement,
    // queued in the outbox with the round that cut it off; each day over, every agency and
    // exchange is asked for the day's.
    ask_statements(&desk, &outbox, (&treatment, &served), &store, &shutdown);
    let stop = shutdown.requested();
    shutdown.spawn(async move { outbox.relay(stop).await });
    readiness.ready().await;
    info!(served = ?hub.served, suspended = ?hub.suspended, "hub ready");
    consumer.run(&bus, shutdown.requested(), &hub).await;
    shutdown.finish(yidi_runtime::shutdown::GRACE).await;
    Ok(())
}

fn clock_start(settings: &Settings) -> anyhow::Result<Option<chrono::NaiveDate>> {
    settings
        .clock_start
        .as_ref()
        .map(|text| {
            text.0
                .parse::<chrono::NaiveDate>()
                .map_err(|e| anyhow::anyhow!("clock_start: {:?}: {e}", text.0))
        })
        .transpose()
}

/// Every topic the hub reads or writes, created at start.
fn topic_names(served: &BTreeSet<RegionCode>, treatment: &BTreeSet<RegionCode>) -> Vec<String> {
    let mut names = vec![
        topics::HUB_REQUESTS.to_owned(),
        topics::HUB_RESULTS.to_owned(),
        topics::FILING.to_owned(),
        topics::DEAD_LETTER.to_owned(),
        topics::HUB_STATEMENTS.to_owned(),
        topics::HUB_SANCTIONS.to_owned(),
    ];
    names.extend(treatment.iter().map(|p| topics::exchange_statements(p.as_str())));
    names.extend(treatment.iter().map(|p| topics::exchange_hospitals(p.as_str())));
    names.extend(served.iter().map(|p| topics::agency_requests(p.as_str())));
    names.extend(treatment.iter().map(|p| topics::exchange_results(p.as_str())));
    names
}

/// The clearing desk's admin calls move money: beyond loopback they need a token.
fn check_dashboard_exposure(settings: &Settings) -> anyhow::Result<()> {
    if !settings.dashboard.ip().is_loopback()
        && settings.admin_token.as_ref().is_none_or(|t| t.expose_secret().is_empty())
    {
        anyhow::bail!(
            "dashboard {}: the clearing desk's admin calls would be open beyond this machine; set admin_token (YIDI_ADMIN_TOKEN)",
            settings.dashboard
        );
    }
    Ok(())
}

/// Serves the ministry dashboard until the stop request (open requests are answered).
async fn serve_dashboard(
    settings: &Settings,
    (desk, live): (&Arc<Desk>, &Arc<Live>),
    (store, outbox): (&yidi_store::Store, &Outbox),
    bus: &yidi_bus::Bus,
    shutdown: &Shutdown,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(settings.dashboard)
        .await
        .map_err(|e| anyhow::anyhow!("dashboard {}: {e}", settings.dashboard))?;
    info!(address = %settings.dashboard, "dashboard at http://{}/", settings.dashboard);
    let router = dashboard::router(Arc::new(Dashboard {
        desk: Arc::clone(desk),
        live: Arc::clone(live),
        store: store.clone(),
        outbox: outbox.clone(),
        admin_token: settings.admin_token.as_ref().map(|t| t.expose_secret().to_owned()),
        read_token: settings.read_token.as_ref().map(|t| t.expose_secret().to_owned()),
        simulated_clock: settings.simulated_clock,
        health: Arc::clone(bus.health()),
        full_checked: std::sync::Mutex::new(None),
    }))
    // Each request a span (exported when tracing is on), the child of the caller's traceparent.
    .layer(tower_http::trace::TraceLayer::new_for_http().make_span_with(
        |request: &axum::http::Request<axum::body::Body>| {
            yidi_runtime::telemetry::request_span(request)
        },
    ));
    let stop = shutdown.requested();
    shutdown.spawn(async move {
        if let Err(error) = axum::serve(listener, router).with_graceful_shutdown(stop).await {
            tracing::error!(%error, "dashboard stopped");
        }
    });
    Ok(())
}

/// The clearing desk's gauges, refreshed on the business calendar until the stop.
fn clearing_gauges(desk: &Arc<Desk>, shutdown: &Shutdown) -> crate::figures::ClearingGauges {
    let gauges = crate::figures::ClearingGauges::default();
    let (refreshed, desk) = (gauges.clone(), Arc::clone(desk));
    shutdown.spawn({
        let stop = shutdown.requested();
        async move {
            tokio::pin!(stop);
            loop {
                refreshed.refresh(&desk).await;
                tokio::select! {
                    () = &mut stop => break,
                    () = tokio::time::sleep(crate::figures::REFRESH) => {}
                }
            }
        }
    });
    gauges
}

fn register_figures(
    exposition: &mut yidi_runtime::metrics::Exposition,
    live: &Live,
    gauges: &crate::figures::ClearingGauges,
) {
    live.results.register(
        exposition.registry(),
        "results",
        "Results the hub routed back to treatment provinces, by outcome and reason",
    );
    live.round_trip.register(
        exposition.registry(),
        "round_trip",
        "A request routed to its insured agency until its result came back to the hub",
    );
    gauges.register(exposition.registry());
}
