//! `yidi quote [FILE]`: the `settlement.md` contract.
//!
//! Exit 0 with the result(s) on standard output (a rejection is a result); exit 2 with one
//! line on standard error naming the field for malformed input; exit 1 if the output cannot
//! be written.

use std::io::{self, BufWriter, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use rayon::prelude::*;
use serde_json::value::RawValue;
use yidi_formats::path::FieldPath;
use yidi_formats::{parse_case, quote, split_cases, FormatError, RawCases, ResultJson};

#[derive(clap::Args)]
pub struct Args {
    /// A JSON file with one case or an array of cases; standard input when absent or `-`.
    file: Option<PathBuf>,
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
