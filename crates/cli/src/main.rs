//! `yidi`: the command line of the yidi network.
//!
//! # Layout
//! - `quote`: the fund-share calculation of `settlement.md` on self-contained cases.
//! - `sample`: realistic cases drawn from the embedded policies and catalogues.
//! - `data`: checks policy and catalogue files.
//! - `sample-bill`, `loadgen`: a HIS's discharge events, one or a stream against the network.
//! - `admin`: the hub's clearing desk; `dlq`: dead letters and parking.

mod admin;
mod broker;
mod data;
mod dlq;
mod holds;
mod keys;
mod loadgen;
mod quote;
mod sample;
mod sample_bill;
mod trace;
mod verify;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "yidi", version, about = "Cross-province direct settlement of medical insurance")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Quote one case or a JSON array of cases (settlement.md): FILE, or standard input.
    Quote(quote::Args),
    /// Print realistic quote cases drawn from the embedded policy and catalogue files.
    SampleCase(sample::Args),
    /// Check policy and catalogue files (the embedded ones when no file is given).
    CheckData(data::Args),
    /// Print a valid JSON discharge event (DischargeBill) for an enrolled sample person.
    SampleBill(sample_bill::Args),
    /// Drive the running network like hospitals do, and report throughput and latency.
    Loadgen(loadgen::Args),
    /// The clearing desk of the running hub: business clock, confirmations, payments,
    /// deductions, top-ups, overdue funds.
    Admin(admin::Args),
    /// Dead letters: list them by reason, show one, replay chosen ones after a fix; park a
    /// message that keeps failing.
    Dlq(dlq::Args),
    /// The network's credentials: a root, and every party's SM2 key and certificate.
    Keys(keys::Args),
    /// Check a settlement receipt offline: the agency's signature, the hub's countersignature.
    Verify(verify::Args),
    /// Where a bill went (by msgid or mdtrt_id), from the services' own records.
    Trace(trace::Args),
    /// The insured agency's desk on a person's admission holds: list them, release one.
    Holds(holds::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Quote(args) => quote::run(&args),
        Command::SampleCase(args) => report(sample::run(&args)),
        Command::CheckData(args) => report(data::run(&args)),
        Command::SampleBill(args) => report(sample_bill::run(&args)),
        Command::Loadgen(args) => report(loadgen::run(&args)),
        Command::Admin(args) => report(admin::run(&args)),
        Command::Dlq(args) => report(dlq::run(&args)),
        Command::Keys(args) => report(keys::run(&args)),
        Command::Verify(args) => report(verify::run(&args)),
        Command::Trace(args) => report(trace::run(&args)),
        Command::Holds(args) => report(holds::run(&args)),
    }
}

/// Prints an error chain on one line and maps it to exit code 2 (bad input or usage).
fn report(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("yidi: {error:#}");
            ExitCode::from(2)
        }
    }
}
