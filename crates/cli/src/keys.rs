//! `yidi keys`: the network's credentials (issue #11 §1). `init` makes the root, unless it is
//! there, and every party's SM2 key and certificate from the services' config files — the hub,
//! each agency for the regions it hosts, each exchange for its province and a HIS identity for
//! that province's hospitals — and the bundle every party verifies with. Run again, it keeps
//! what is there. `show` lists a bundle's certificates.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::{Args as ClapArgs, Subcommand};
use yidi_trust::keys::BUNDLE;
use yidi_trust::{Bundle, Role};

#[derive(ClapArgs)]
pub struct Args {
    #[command(subcommand)]
    command: Keys,
}

#[derive(Subcommand)]
enum Keys {
    /// Make (or complete) a network's credentials in DIR from the services' config files.
    Init {
        /// Where the credentials go: `<name>.key` (owner-only), `<name>.cert.json`, `bundle.json`.
        #[arg(long)]
        dir: PathBuf,
        /// The services' config files (`deploy/config/local/*.toml`).
        #[arg(required = true)]
        configs: Vec<PathBuf>,
    },
    /// List the certificates of a bundle (DIR/bundle.json).
    Show {
        #[arg(long)]
        dir: PathBuf,
    },
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    match &args.command {
        Keys::Init { dir, configs } => {
            let mut parties = Vec::new();
            for config in configs {
                parties.extend(parties_of(config)?);
            }
            let today = chrono::Utc::now().date_naive();
            yidi_trust::keys::init(dir, &parties, today)
                .with_context(|| format!("making credentials in {}", dir.display()))?;
            println!("credentials of {} parties in {}", parties.len(), dir.display());
            Ok(())
        }
        Keys::Show { dir } => {
            let bundle = Bundle::load(&dir.join(BUNDLE))?;
            let root = bundle.root();
            println!("root {} valid {} to {}", root.subject, root.not_before, root.not_after);
            let file: yidi_trust::bundle::BundleFile =
                serde_json::from_str(&std::fs::read_to_string(dir.join(BUNDLE))?)?;
            for c in &file.certificates {
                println!(
                    "{:<18} {:<28} valid {} to {}",
                    c.subject, c.role, c.not_before, c.not_after
                );
            }
            Ok(())
        }
    }
}

/// The parties a service's config file names: an agency (it has `regions`), an exchange and
/// its province's HIS (it has `province`), or the hub (it has `insured_provinces`).
fn parties_of(path: &Path) -> anyhow::Result<Vec<(String, Role)>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("{}", path.display()))?;
    let config: toml::Table =
        toml::from_str(&text).with_context(|| format!("{}", path.display()))?;
    let Some(name) = config.get("name").and_then(toml::Value::as_str) else {
        bail!("{}: no name", path.display());
    };
    let text_of = |value: &toml::Value| value.as_str().map(str::to_owned);
    if let Some(regions) = config.get("regions").and_then(toml::Value::as_array) {
        let regions: Vec<String> = regions.iter().filter_map(text_of).collect();
        let role = format!("agency:{}", regions.join(",")).parse::<Role>()?;
        return Ok(vec![(name.to_owned(), role)]);
    }
    if let Some(province) = config.get("province").and_then(toml::Value::as_str) {
        let exchange = format!("exchange:{province}").parse::<Role>()?;
        let his = format!("his:{province}").parse::<Role>()?;
        return Ok(vec![(name.to_owned(), exchange), (format!("his-{province}"), his)]);
    }
    if config.contains_key("insured_provinces") {
        return Ok(vec![(name.to_owned(), Role::Hub)]);
    }
    bail!("{}: neither an agency (regions), an exchange (province) nor the hub", path.display())
}
