//! `yidi quote [FILE]`: the `settlement.md` contract.
//!
//! Exit 0 with the result(s) on standard output (a rejection is a result); exit 2 with one
//! line on standard error naming the field for malformed input; exit 1 if the output cannot
//! be written.

use std::io::{self, BufWriter, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use rayon::prelude::*;
use rust_decimal::Decimal;
use serde_json::value::RawValue;
use yidi_domain::settle::{settle, Outcome};
use yidi_formats::path::FieldPath;
use yidi_formats::{parse_case, quote, split_cases, FormatError, RawCases, ResultJson};

#[derive(clap::Args)]
pub struct Args {
    /// A JSON file with one case or an array of cases; standard input when absent or `-`.
    file: Option<PathBuf>,
    /// Print a summary (counts, money, throughput) instead of the results.
    #[arg(long)]
    summary: bool,
}

pub fn run(args: &Args) -> ExitCode {
    let text = match read_input(args) {
        Ok(text) => text,
        Err(message) => return fail(2, &message),
    };
    let cases = match split_cases(&text) {
        Ok(cases) => cases,
        Err(error) => return fail(2, &error.to_string()),
    };
    if args.summary {
        return match summarize(&cases) {
            Ok(()) => ExitCode::SUCCESS,
            Err(QuoteError::Input(error)) => fail(2, &error.to_string()),
            Err(QuoteError::Output(error)) => fail(1, &format!("writing the summary: {error}")),
        };
    }
    match write_results(&cases) {
        Ok(()) => ExitCode::SUCCESS,
        Err(QuoteError::Input(error)) => fail(2, &error.to_string()),
        // A closed pipe (`yidi quote | head`) is the reader's choice, not a failure.
        Err(QuoteError::Output(error)) if error.kind() == io::ErrorKind::BrokenPipe => {
            ExitCode::SUCCESS
        }
        Err(QuoteError::Output(error)) => fail(1, &format!("writing results: {error}")),
    }
}

enum QuoteError {
    Input(FormatError),
    Output(io::Error),
}

impl From<io::Error> for QuoteError {
    fn from(error: io::Error) -> QuoteError {
        QuoteError::Output(error)
    }
}

/// Cases per parallel batch: large enough to keep both cores busy, small enough that a
/// batch's results stay a few megabytes.
const CHUNK_CASES: usize = 4096;

fn fail(code: u8, message: &str) -> ExitCode {
    eprintln!("yidi quote: {message}");
    ExitCode::from(code)
}

fn read_input(args: &Args) -> Result<String, String> {
    let mut bytes = Vec::new();
    match &args.file {
        Some(path) if path.as_os_str() != "-" => {
            bytes = std::fs::read(path).map_err(|error| format!("{}: {error}", path.display()))?;
        }
        _ => {
            io::stdin()
                .read_to_end(&mut bytes)
                .map_err(|error| format!("standard input: {error}"))?;
        }
    }
    String::from_utf8(bytes)
        .map_err(|error| format!("input is not UTF-8 (byte {})", error.utf8_error().valid_up_to()))
}

/// Writes the results. An array is quoted in parallel batches; its results are written only
/// once every case has parsed, so malformed input never leaves a half-written array behind.
fn write_results(cases: &RawCases) -> Result<(), QuoteError> {
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 20, stdout.lock());
    match cases {
        RawCases::One(text) => {
            let case = parse_case(text, &FieldPath::ROOT).map_err(QuoteError::Input)?;
            serde_json::to_writer_pretty(&mut out, &quote(&case)).map_err(io::Error::other)?;
            out.write_all(b"\n")?;
        }
        RawCases::Many(raws) => {
            let batches = raws
                .chunks(CHUNK_CASES)
                .enumerate()
                .map(|(chunk_index, chunk)| quote_batch(chunk, chunk_index * CHUNK_CASES))
                .collect::<Result<Vec<_>, _>>()?;
            out.write_all(b"[")?;
            let mut first = true;
            for bytes in batches.iter().flatten() {
                out.write_all(if first { b"\n" } else { b",\n" })?;
                out.write_all(bytes)?;
                first = false;
            }
            out.write_all(b"\n]\n")?;
        }
    }
    out.flush()?;
    Ok(())
}

/// Parses, quotes and renders one batch in parallel; the first malformed case by position
/// fails the batch.
fn quote_batch(chunk: &[&RawValue], offset: usize) -> Result<Vec<Vec<u8>>, QuoteError> {
    chunk
        .par_iter()
        .enumerate()
        .map(|(index, raw)| {
            let case = parse_case(raw.get(), &FieldPath::ROOT.index(offset + index))
                .map_err(QuoteError::Input)?;
            render(&quote(&case)).map_err(QuoteError::Output)
        })
        .collect::<Vec<_>>()
        .into_iter()
        .collect()
}

fn render(result: &ResultJson) -> io::Result<Vec<u8>> {
    serde_json::to_vec(result).map_err(io::Error::other)
}

/// Totals over many results, for `--summary`.
#[derive(Default)]
struct Summary {
    settled: u64,
    rejected: std::collections::BTreeMap<&'static str, u64>,
    medfee: Decimal,
    funds: Decimal,
    cash: Decimal,
    account: Decimal,
}

impl Summary {
    fn add(mut self, outcome: &Outcome) -> Summary {
        match outcome {
            Outcome::Settled(settlement) => {
                self.settled += 1;
                self.medfee += settlement.buckets.medfee_sumamt.value();
                self.funds += settlement.fund_pay_sumamt.value();
                self.cash += settlement.psn_cash_pay.value();
                self.account += settlement.acct_pay.value();
            }
            Outcome::Rejected(reason) => *self.rejected.entry(reason.code()).or_default() += 1,
        }
        self
    }

    fn merge(mut self, other: Summary) -> Summary {
        self.settled += other.settled;
        for (reason, count) in other.rejected {
            *self.rejected.entry(reason).or_default() += count;
        }
        self.medfee += other.medfee;
        self.funds += other.funds;
        self.cash += other.cash;
        self.account += other.account;
        self
    }
}

fn summarize(cases: &RawCases) -> Result<(), QuoteError> {
    let started = std::time::Instant::now();
    let raws: Vec<&str> = match cases {
        RawCases::One(text) => vec![text],
        RawCases::Many(raws) => raws.iter().map(|raw| raw.get()).collect(),
    };
    let summary = raws
        .par_iter()
        .enumerate()
        .map(|(index, text)| {
            let case = parse_case(text, &FieldPath::ROOT.index(index)).map_err(|e| (index, e))?;
            Ok(settle(&case.claim, &case.policy, &case.catalogue))
        })
        .try_fold(Summary::default, |summary, outcome: Result<Outcome, (usize, FormatError)>| {
            outcome.map(|outcome| summary.add(&outcome))
        })
        .try_reduce(Summary::default, |a, b| Ok(a.merge(b)))
        .map_err(|(_, error)| QuoteError::Input(error))?;
    let seconds = started.elapsed().as_secs_f64();
    let total = summary.settled + summary.rejected.values().sum::<u64>();
    let mut out = io::stdout().lock();
    writeln!(
        out,
        "cases        {total} quoted in {seconds:.2} s ({:.0} cases/s)",
        rate(total, seconds)
    )?;
    writeln!(out, "settled      {}", summary.settled)?;
    for (reason, count) in &summary.rejected {
        writeln!(out, "rejected     {count} {reason}")?;
    }
    writeln!(out, "medical fees {} yuan", summary.medfee.round_dp(2))?;
    writeln!(
        out,
        "funds pay    {} yuan ({}%)",
        summary.funds.round_dp(2),
        percent(summary.funds, summary.medfee)
    )?;
    writeln!(out, "account pays {} yuan", summary.account.round_dp(2))?;
    writeln!(out, "cash at desk {} yuan", summary.cash.round_dp(2))?;
    Ok(())
}

#[allow(clippy::cast_precision_loss, clippy::float_arithmetic, clippy::as_conversions)]
fn rate(count: u64, seconds: f64) -> f64 {
    // A display figure only; money never passes through a float (no count nears 2^53).
    count as f64 / seconds.max(1e-9)
}

fn percent(part: Decimal, whole: Decimal) -> Decimal {
    if whole.is_zero() {
        Decimal::ZERO
    } else {
        (part * Decimal::ONE_HUNDRED / whole).round_dp(1)
    }
}
