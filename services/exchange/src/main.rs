//! `yidi-exchange`: a hospital exchange.

use clap::Parser;

#[derive(Parser)]
#[command(name = "yidi-exchange", about = "Hospital exchange of a treatment province")]
struct Args {
    #[command(flatten)]
    settings: yidi_runtime::config::Flags,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let settings: yidi_exchange::app::Settings = args.settings.load()?;
    if args.settings.check_config {
        yidi_exchange::app::check(&settings)?;
        println!("{}: the settings are valid and the credentials readable", settings.common.name);
        return Ok(());
    }
    let telemetry = yidi_runtime::telemetry::init(&settings.common.name);
    let ran = yidi_exchange::app::run(settings).await;
    // The last spans are sent before the process ends.
    telemetry.shutdown();
    ran
}
