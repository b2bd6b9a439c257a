//! `yidi holds`: the insured agency's desk on its persons' admission holds (2401) — list a
//! person's, release one — over the agency's gRPC service, with the agency's own certificate
//! (mutual TLS: the agency acts only for regions that certificate hosts).

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args as ClapArgs, Subcommand};
use yidi_wire::v1::agency_client::AgencyClient;
use yidi_wire::v1::{HoldQuery, HoldRecord, ReleaseHoldRequest};

#[derive(ClapArgs)]
pub struct Args {
    /// The agency's gRPC address (`make up`: agency-north 50061, agency-south 50062).
    #[arg(long, default_value = "127.0.0.1:50061", env = "YIDI_AGENCY_GRPC")]
    agency: String,
    /// The agency's name in its certificate (the TLS server name).
    #[arg(long, default_value = "agency-north")]
    server: String,
    /// The network's credentials (`yidi keys init`; `make up`: .run/keys).
    #[arg(long, default_value = ".run/keys", env = "YIDI_KEYS")]
    keys: PathBuf,
    /// Whose certificate to call with: the agency's own.
    #[arg(long, default_value = "agency-north")]
    party: String,
    /// The insured region the person belongs to.
    #[arg(long)]
    region: String,
    #[arg(long)]
    psn_no: String,
    #[command(subcommand)]
    command: Holds,
}

#[derive(Subcommand)]
enum Holds {
    /// The person's holds, newest admission first.
    List,
    /// Release the open hold of one of the person's stays.
    Release {
        #[arg(long)]
        mdtrt_id: String,
        /// The desk's finding, recorded with the release.
        #[arg(long)]
        reason: String,
    },
}

fn print(hold: &HoldRecord) {
    let released = if hold.released_at.is_empty() {
        String::new()
    } else {
        format!("  released {} ({})", hold.released_at, hold.release_reason)
    };
    println!(
        "{:<24} {:<9} held {:>12} account {:>10}  admitted {} in {} until {}{released}",
        hold.mdtrt_id,
        hold.status,
        hold.hold_amt,
        hold.acct_hold_amt,
        hold.admitted_on,
        hold.mdtrtarea_admvs,
        hold.hold_until
    );
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let files = yidi_trust::tls::TlsFiles::load(&args.keys, &args.party)
            .with_context(|| format!("credentials of {} in {}", args.party, args.keys.display()))?;
        let tls = yidi_runtime::health::client_tls(&files, &args.server);
        let channel = tonic::transport::Channel::from_shared(format!("https://{}", args.agency))?
            .tls_config(tls)?
            .connect()
            .await
            .with_context(|| format!("connect to the agency at {}", args.agency))?;
        let mut agency = AgencyClient::new(channel);
        match &args.command {
            Holds::List => {
                let query =
                    HoldQuery { insuplc_admdvs: args.region.clone(), psn_no: args.psn_no.clone() };
                let list = agency.query_holds(query).await.map_err(status)?.into_inner();
                if list.holds.is_empty() {
                    println!("{}: no admission holds", args.psn_no);
                }
                list.holds.iter().for_each(print);
            }
            Holds::Release { mdtrt_id, reason } => {
                let request = ReleaseHoldRequest {
                    insuplc_admdvs: args.region.clone(),
                    psn_no: args.psn_no.clone(),
                    mdtrt_id: mdtrt_id.clone(),
                    reason: reason.clone(),
                };
                print(&agency.release_hold(request).await.map_err(status)?.into_inner());
            }
        }
        Ok(())
    })
}

fn status(status: tonic::Status) -> anyhow::Error {
    anyhow::anyhow!("{:?}: {}", status.code(), status.message())
}
