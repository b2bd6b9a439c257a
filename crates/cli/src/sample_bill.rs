//! `yidi sample-bill`: a valid JSON discharge event for an enrolled sample person.

use anyhow::{anyhow, Context};
use yidi_domain::ids::RegionCode;
use yidi_sim::Simulator;

#[derive(clap::Args)]
pub struct Args {
    /// Treatment province: its exchange reads `his.<treatment>.discharge`.
    #[arg(long, default_value = "440000")]
    treatment: String,
    /// Insured region (hosted by an agency of `make up`): 110000, 120000, 310000, 441900.
    #[arg(long, default_value = "120000")]
    insured: String,
    /// Which sample person (0 to the agency's seeded count, 2000 by default).
    #[arg(long)]
    person: Option<u64>,
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let treatment: RegionCode = args.treatment.parse().map_err(|e| anyhow!("--treatment: {e}"))?;
    let insured: RegionCode = args.insured.parse().map_err(|e| anyhow!("--insured: {e}"))?;
    anyhow::ensure!(
        !treatment.same_province(insured),
        "--insured: {insured} is in the treatment province; cross-province bills only"
    );
    let catalogue = yidi_data::treatment_catalogues()?
        .into_iter()
        .find(|c| c.region == treatment.province())
        .ok_or_else(|| anyhow!("--treatment: no embedded catalogue for {treatment}"))?;
    let mut simulator = Simulator::new(args.seed);
    let person = args.person.unwrap_or_else(|| simulator.below(2000));
    let now = yidi_runtime::clock::BusinessClock::default().now();
    let sequence = u32::try_from(simulator.below(10_000)).unwrap_or(0);
    let bill = yidi_sim::his::discharge(&mut simulator, insured, person, &catalogue, now, sequence);
    println!("{}", serde_json::to_string_pretty(&bill).context("writing the bill")?);
    Ok(())
}
