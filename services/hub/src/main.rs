//! `yidi-hub`: the national hub.

use std::path::PathBuf;

use clap::Parser;

#[derive(Parser)]
#[command(name = "yidi-hub", about = "National hub of the yidi network")]
struct Args {
    /// Settings file (TOML); `YIDI_<KEY>` environment variables override it.
    #[arg(long)]
    config: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let settings: yidi_hub::app::Settings = yidi_runtime::config::load(args.config.as_deref())?;
    let telemetry = yidi_runtime::telemetry::init(&settings.common.name);
    let ran = yidi_hub::app::run(settings).await;
    // The last spans are sent before the process ends.
    telemetry.shutdown();
    ran
}
