//! CPU time of the network's processes, read from `/proc` as an outsider would: the pids that
//! `scripts/network.sh` writes under `.run/pids/`, and this process itself.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// Linux reports `utime`/`stime` in USER_HZ ticks, which is 100 on every architecture's ABI.
const TICKS_PER_SECOND: u64 = 100;

/// CPU time used so far by each named process.
#[derive(Clone, Debug, Default)]
pub struct Sample(pub BTreeMap<String, Duration>);

impl Sample {
    /// Reads every `<name>.pid` in `pids` (a process that is gone is left out), plus `loadgen`.
    pub fn take(pids: &Path) -> Sample {
        let mut times = BTreeMap::new();
        if let Ok(entries) = std::fs::read_dir(pids) {
            for entry in entries.flatten() {
                let path = entry.path();
                if path.extension().and_then(|e| e.to_str()) != Some("pid") {
                    continue;
                }
                let Some(name) = path.file_stem().and_then(|s| s.to_str()) else { continue };
                let Some(pid) = std::fs::read_to_string(&path)
                    .ok()
                    .and_then(|text| text.trim().parse::<u32>().ok())
                else {
                    continue;
                };
                if let Some(used) = cpu_of(&format!("/proc/{pid}/stat")) {
                    times.insert(name.to_owned(), used);
                }
            }
        }
        if let Some(used) = cpu_of("/proc/self/stat") {
            times.insert("loadgen".to_owned(), used);
        }
        Sample(times)
    }

    /// What each process used between `earlier` and this sample.
    pub fn since(&self, earlier: &Sample) -> BTreeMap<String, Duration> {
        self.0
            .iter()
            .filter_map(|(name, now)| {
                earlier.0.get(name).map(|before| (name.clone(), now.saturating_sub(*before)))
            })
            .collect()
    }
}

/// `utime + stime` of all of a process's threads, from its `stat` line.
fn cpu_of(stat: &str) -> Option<Duration> {
    parse_stat(&std::fs::read_to_string(stat).ok()?)
}

fn parse_stat(line: &str) -> Option<Duration> {
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    let after_name = &line[line.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Fields 14 and 15 of stat(5) are the 12th and 13th after the name.
    let user: u64 = fields.get(11)?.parse().ok()?;
    let system: u64 = fields.get(12)?.parse().ok()?;
    Some(Duration::from_millis((user + system) * 1000 / TICKS_PER_SECOND))
}

/// The role a process plays, for totals: `hub`, `agency-north` → `agency`, `exchange-440000`
/// → `exchange`, `broker`, `loadgen`.
pub fn role(name: &str) -> &str {
    name.split('-').next().unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_and_system_ticks_are_added_even_when_the_name_has_spaces() {
        let line = "4242 (yidi hub) S 1 4242 4242 0 -1 4194560 2071 0 0 0 150 50 0 0 20 0 9 0";
        assert_eq!(parse_stat(line), Some(Duration::from_millis(2000)));
    }

    #[test]
    fn a_line_cut_short_reads_as_nothing() {
        assert_eq!(parse_stat("4242 (tansu) S 1 2"), None);
    }

    #[test]
    fn processes_are_grouped_by_role() {
        assert_eq!(role("agency-north"), "agency");
        assert_eq!(role("exchange-440000"), "exchange");
        assert_eq!(role("hub"), "hub");
    }

    #[test]
    fn this_process_reads_its_own_cpu_time() {
        let sample = Sample::take(Path::new("/nonexistent"));
        assert!(sample.0.contains_key("loadgen"));
    }
}
