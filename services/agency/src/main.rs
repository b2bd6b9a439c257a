//! `yidi-agency`: an insured-place agency process.

use clap::Parser;

#[derive(Parser)]
#[command(name = "yidi-agency", about = "Insured-place agency of the yidi network")]
struct Args {
    #[command(flatten)]
    settings: yidi_runtime::config::Flags,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let settings: yidi_agency::app::Settings = args.settings.load()?;
    if args.settings.check_config {
        yidi_agency::app::check(&settings)?;
        println!("{}: the settings are valid and the credentials readable", settings.common.name);
        return Ok(());
    }
    let telemetry = yidi_runtime::telemetry::init(&settings.common.name);
    let ran = yidi_agency::app::run(settings).await;
    // The last spans are sent before the process ends.
    telemetry.shutdown();
    ran
}
