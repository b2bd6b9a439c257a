//! `yidi sample-case`: realistic quote cases from the embedded data.

use std::io::{self, Write};

use anyhow::{anyhow, Context};
use yidi_domain::ids::{RegionCode, Scheme};
use yidi_formats::case_out::CaseOut;
use yidi_sim::Simulator;

#[derive(clap::Args)]
pub struct Args {
    /// Insured region (an embedded policy file): 110000, 120000, 310000 or 441900.
    #[arg(long, default_value = "120000")]
    insured: String,
    /// Scheme: 310 (employee) or 390 (resident).
    #[arg(long, default_value = "310")]
    scheme: String,
    /// Treatment province (an embedded catalogue): 110000, 120000, 310000, 330000, 440000.
    #[arg(long, default_value = "440000")]
    treatment: String,
    /// How many cases; more than one prints a JSON array.
    #[arg(long, default_value_t = 1)]
    count: usize,
    /// Seed of the simulation, to replay the same cases.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let insured: RegionCode = args.insured.parse().map_err(|e| anyhow!("--insured: {e}"))?;
    let scheme: Scheme = args.scheme.parse().map_err(|e| anyhow!("--scheme: {e}"))?;
    let treatment: RegionCode = args.treatment.parse().map_err(|e| anyhow!("--treatment: {e}"))?;
    let regions = yidi_data::insured_regions()?;
    let region = regions
        .iter()
        .find(|region| region.region == insured)
        .ok_or_else(|| anyhow!("--insured: no embedded policy for {insured}"))?;
    let policy = region
        .policy(scheme)
        .ok_or_else(|| anyhow!("--scheme: {insured} has no {scheme:?} policy"))?;
    let catalogues = yidi_data::treatment_catalogues()?;
    let catalogue = catalogues
        .iter()
        .find(|catalogue| catalogue.region == treatment)
        .ok_or_else(|| anyhow!("--treatment: no embedded catalogue for {treatment}"))?;
    let mut simulator = Simulator::new(args.seed);
    let cases: Vec<CaseOut> =
        (0..args.count).map(|_| CaseOut::from_case(&simulator.case(policy, catalogue))).collect();
    let mut out = io::BufWriter::new(io::stdout().lock());
    if args.count == 1 {
        if let Some(case) = cases.first() {
            serde_json::to_writer_pretty(&mut out, case).context("writing the case")?;
        }
    } else {
        serde_json::to_writer(&mut out, &cases).context("writing the cases")?;
    }
    writeln!(out).context("writing the cases")?;
    Ok(())
}
