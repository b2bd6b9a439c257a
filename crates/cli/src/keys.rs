//! `yidi keys`: the network's credentials (issue #11 §1). `init` makes the root, unless it is
//! there, and every party's SM2 key and certificate from the services' config files — the hub,
//! each agency for the regions it hosts, each exchange for its province and a HIS identity for
//! that province's hospitals — and the bundle every party verifies with. Run again, it keeps
//! what is there, and a broker login per party (and the tools'). `show` lists a bundle's
//! certificates. `acls` prints the script that gives a Kafka cluster every party's login and
//! grants (`deploy/kafka-acls.sh` is its output for the production configs).

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
    /// Print the script that gives a Kafka cluster (Apache Kafka with an ACL authorizer) every
    /// party's SCRAM login and its grants: the per-province topic design as ACLs.
    Acls {
        /// The services' config files (`deploy/config/production/*.toml`).
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
            let parties = parties_of_all(configs)?;
            let today = chrono::Utc::now().date_naive();
            yidi_trust::keys::init(dir, &parties, today)
                .with_context(|| format!("making credentials in {}", dir.display()))?;
            println!("credentials of {} parties in {}", parties.len(), dir.display());
            Ok(())
        }
        Keys::Acls { configs } => {
            let parties = parties_of_all(configs)?;
            print!("{}", acl_script(&parties, configs));
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

/// What the script of `yidi keys acls` says and defines before its logins and grants.
const ACL_SCRIPT_HEAD: &str = r#"# Gives an Apache Kafka cluster (SASL_SSL, StandardAuthorizer, allow.everyone.if.no.acl.found
# false) every yidi party's SCRAM-SHA-512 login, with the password `yidi keys init` made
# ($KEYS/<name>.broker-password), and its grants: each agency reads only the requests of the
# provinces it hosts, each exchange and HIS only their own province's topics.
#   BOOTSTRAP=kafka-1:9093 ADMIN_CONFIG=admin.properties KEYS=keys sh deploy/kafka-acls.sh
set -eu
: "${BOOTSTRAP:?}" "${ADMIN_CONFIG:?}" "${KEYS:?}"
login() {
    kafka-configs.sh --bootstrap-server "$BOOTSTRAP" --command-config "$ADMIN_CONFIG" --alter \
        --entity-type users --entity-name "$1" \
        --add-config "SCRAM-SHA-512=[password=$(cat "$KEYS/$1.broker-password")]"
}
grant() {
    kafka-acls.sh --bootstrap-server "$BOOTSTRAP" --command-config "$ADMIN_CONFIG" "$@"
}
"#;

/// The script of `yidi keys acls`: logins first (a grant names a user), then grants.
fn acl_script(parties: &[(String, Role)], configs: &[PathBuf]) -> String {
    use std::fmt::Write as _;
    let sources: Vec<String> = configs
        .iter()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    let mut out = String::new();
    let _ = writeln!(out, "#!/bin/sh");
    let _ = writeln!(
        out,
        "# Made by `yidi keys acls` from {} (do not edit: run it again).",
        sources.join(" ")
    );
    out.push_str(ACL_SCRIPT_HEAD);
    let mut names: Vec<&str> = parties.iter().map(|(name, _)| name.as_str()).collect();
    names.push(yidi_trust::login::OPERATOR);
    for name in &names {
        let _ = writeln!(out, "login {name}");
    }
    let mut grants: Vec<yidi_bus::acl::Grant> =
        parties.iter().flat_map(|(name, role)| yidi_bus::acl::grants(name, role)).collect();
    grants.extend(yidi_bus::acl::operator_grants());
    for grant in grants {
        let _ = writeln!(out, "grant {}", grant.kafka_acls_args());
    }
    out
}

/// The parties all of `configs` name, in their order.
fn parties_of_all(configs: &[PathBuf]) -> anyhow::Result<Vec<(String, Role)>> {
    let mut parties = Vec::new();
    for config in configs {
        parties.extend(parties_of(config)?);
    }
    Ok(parties)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_acl_script_is_what_the_production_configs_make() {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut configs: Vec<PathBuf> = std::fs::read_dir(repo.join("deploy/config/production"))
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|e| e == "toml"))
            .collect();
        configs.sort();
        let parties = parties_of_all(&configs).unwrap();
        let made = acl_script(&parties, &configs);
        let committed = std::fs::read_to_string(repo.join("deploy/kafka-acls.sh")).unwrap();
        assert!(
            made == committed,
            "deploy/kafka-acls.sh is stale: run `yidi keys acls deploy/config/production/*.toml > deploy/kafka-acls.sh`"
        );
        assert!(made.contains("login his-440000"));
        assert!(made.contains(
            "grant --add --allow-principal User:agency-north --operation Read --topic agency.110000.requests"
        ));
    }
}
