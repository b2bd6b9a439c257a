//! `yidi-exchange`: a hospital exchange.

use std::path::PathBuf;

use clap::Parser;

#[derive(Parser)]
#[command(name = "yidi-exchange", about = "Hospital exchange of a treatment province")]
struct Args {
    /// Settings file (TOML); `YIDI_<KEY>` environment variables override it.
    #[arg(long)]
    config: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let settings: yidi_exchange::app::Settings =
        yidi_runtime::config::load(args.config.as_deref())?;
    let telemetry = yidi_runtime::telemetry::init(&settings.common.name);
    let ran = yidi_exchange::app::run(settings).await;
    // The last spans are sent before the process ends.
    telemetry.shutdown();
    ran
}
