//! `yidi check-data`: parses policy and catalogue files and prints what they hold.

use std::path::PathBuf;

use anyhow::Context;
use yidi_domain::policy::InsuredRegion;
use yidi_formats::catalogue_file::{parse_catalogue_file, TreatmentCatalogue};
use yidi_formats::policy_file::{combine, parse_policy_file};

#[derive(clap::Args)]
pub struct Args {
    /// Policy files to check.
    #[arg(long = "policy")]
    policies: Vec<PathBuf>,
    /// Catalogue files to check.
    #[arg(long = "catalogue")]
    catalogues: Vec<PathBuf>,
}

fn read(path: &PathBuf) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let (regions, catalogues) = if args.policies.is_empty() && args.catalogues.is_empty() {
        (yidi_data::insured_regions()?, yidi_data::treatment_catalogues()?)
    } else {
        let regions = args
            .policies
            .iter()
            .map(|path| parse_policy_file(&read(path)?).with_context(|| path.display().to_string()))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let regions = combine(regions)?;
        let catalogues = args
            .catalogues
            .iter()
            .map(|path| {
                parse_catalogue_file(&read(path)?).with_context(|| path.display().to_string())
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        (regions, catalogues)
    };
    regions.iter().for_each(print_region);
    catalogues.iter().for_each(print_catalogue);
    Ok(())
}

fn print_region(region: &InsuredRegion) {
    println!("insured {} {}", region.region, region.name);
    for policy in &region.schemes {
        println!(
            "  scheme {} from {} cap {} ratios {}/{}/{} version {}",
            policy.scheme.code(),
            policy.effective_from.map_or("the beginning".to_owned(), |day| day.to_string()),
            policy.annual_cap,
            policy.levels[0].ratio,
            policy.levels[1].ratio,
            policy.levels[2].ratio,
            policy.version
        );
    }
}

fn print_catalogue(catalogue: &TreatmentCatalogue) {
    let items = &catalogue.catalogue.items;
    let count = |letter: &str| items.values().filter(|item| item.class.letter() == letter).count();
    println!(
        "treatment {} {}: {} items (A {}, B {}, C {}) version {}",
        catalogue.region,
        catalogue.name,
        items.len(),
        count("A"),
        count("B"),
        count("C"),
        catalogue.catalogue.version
    );
}
