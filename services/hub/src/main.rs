//! `yidi-hub`: the national hub.

use clap::Parser;

#[derive(Parser)]
#[command(name = "yidi-hub", about = "National hub of the yidi network")]
struct Args {
    #[command(flatten)]
    settings: yidi_runtime::config::Flags,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let settings: yidi_hub::app::Settings = args.settings.load()?;
    if args.settings.check_config {
        yidi_hub::app::check(&settings)?;
        println!("{}: the settings are valid and the credentials readable", settings.common.name);
        return Ok(());
    }
    let telemetry = yidi_runtime::telemetry::init(&settings.common.name);
    let ran = yidi_hub::app::run(settings).await;
    // The last spans are sent before the process ends.
    telemetry.shutdown();
    ran
}
