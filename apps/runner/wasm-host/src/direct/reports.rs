//! Invocation reports for the runner, sent in batches off the request path (the SDK's
//! `serve/native/direct/reports.rs`, the same lines: the runner and the API read them alike).
//!
//! Each direct invocation adds one packed record to its thread's batch; a thread sends them all
//! every [`FLUSH_INTERVAL`] (sooner once a batch holds [`BATCH`] records) as two lines, written
//! at once: `{"type":"summary","count":n,"statuses":{"200":n,…},"cold":k,"seconds":total}` (what the
//! runner's metrics need), then `{"type":"reports","records":"<base64 of the records>"}`, which
//! the runner records without reading it; the API unpacks and validates each record as it stores
//! them (`unpackDirectReports` in @ignite/contracts).
//!
//! Packed rather than one JSON object per report: at tens of thousands of invocations a second
//! every byte of a report is encoded here, then read, copied and stored by the runner and Redis,
//! and a record is 23 bytes where its JSON took about 110 (the runner's garbage collector runs in
//! proportion to them). A record, little-endian:
//!
//! | bytes | field |
//! |---|---|
//! | 16 | execution id (the UUIDv7's bytes: its millisecond is the start) |
//! | 4 | duration, µs (saturating) |
//! | 2 | HTTP status |
//! | 1 | flags: 1 = cold, 2 = an error follows |
//! | 2 + n | with flag 2: the error message's length n, then its UTF-8 bytes (n ≤ [`MAX_ERROR_BYTES`]) |

use std::cell::Cell;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;

use super::Shared;
use crate::log_output::host_line;

/// Reports reach the runner this late at most. Few large batches rather than many small ones:
/// at 50k invocations a second, JSON reports in 512-record batches every 50 ms cost the runner
/// about 2 µs of CPU per invocation, packed ones 8192 every 200 ms about 1 µs (bench/runner);
/// 16384 every 500 ms did not lower it further (what is left goes with the bytes it copies).
const FLUSH_INTERVAL: Duration = Duration::from_millis(200);
/// A thread's batch this full is sent at once, with the others (a line of about 340 KiB each).
const BATCH: usize = 8192;
/// An error message longer than this is cut (at a character boundary).
const MAX_ERROR_BYTES: usize = 4096;
const COLD: u8 = 1;
const HAS_ERROR: u8 = 2;

/// One invocation, as the runner records it.
#[derive(Debug)]
pub(super) struct Report {
    pub(super) execution_id: uuid::Uuid,
    pub(super) status: u16,
    pub(super) duration: Duration,
    pub(super) cold: bool,
    pub(super) error: Option<String>,
}

impl Report {
    /// Appends the packed record (layout in the module's documentation).
    fn pack_into(&self, records: &mut Vec<u8>) {
        records.extend_from_slice(self.execution_id.as_bytes());
        let micros = u32::try_from(self.duration.as_micros()).unwrap_or(u32::MAX);
        records.extend_from_slice(&micros.to_le_bytes());
        records.extend_from_slice(&self.status.to_le_bytes());
        let error = self.error.as_deref().map(cut_to_limit);
        let flags = if self.cold { COLD } else { 0 } | if error.is_some() { HAS_ERROR } else { 0 };
        records.push(flags);
        if let Some(error) = error {
            records.extend_from_slice(&(error.len() as u16).to_le_bytes());
            records.extend_from_slice(error.as_bytes());
        }
    }
}

/// `text`, cut to at most [`MAX_ERROR_BYTES`] bytes without splitting a character.
fn cut_to_limit(text: &str) -> &str {
    if text.len() <= MAX_ERROR_BYTES {
        return text;
    }
    let mut end = MAX_ERROR_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// What the runner's metrics need of a batch.
struct Summary {
    count: usize,
    statuses: BTreeMap<u16, usize>,
    cold: usize,
    seconds: f64,
}

/// The records gathered since the last send, and their summary.
struct Batch {
    records: Vec<u8>,
    summary: Summary,
}

impl Default for Batch {
    fn default() -> Batch {
        Batch {
            records: Vec::new(),
            summary: Summary {
                count: 0,
                statuses: BTreeMap::new(),
                cold: 0,
                seconds: 0.0,
            },
        }
    }
}

impl Batch {
    /// Adds `other`'s records and counts to these.
    fn merge(&mut self, other: Batch) {
        if self.summary.count == 0 {
            *self = other;
            return;
        }
        self.records.extend_from_slice(&other.records);
        let (summary, other) = (&mut self.summary, other.summary);
        summary.count += other.count;
        for (status, count) in other.statuses {
            *summary.statuses.entry(status).or_insert(0) += count;
        }
        summary.cold += other.cold;
        summary.seconds += other.seconds;
    }

    fn add(&mut self, report: &Report) {
        report.pack_into(&mut self.records);
        let summary = &mut self.summary;
        summary.count += 1;
        *summary.statuses.entry(report.status).or_insert(0) += 1;
        summary.cold += usize::from(report.cold);
        summary.seconds += report.duration.as_secs_f64();
    }

    /// The two lines the runner reads, newline-terminated. The base64 of the records goes
    /// straight into the line (it needs no JSON escaping): a batch is a few hundred KiB, and a
    /// serializer would scan and copy it once more.
    fn encode(&self) -> serde_json::Result<Vec<u8>> {
        const OPEN: &[u8] = br#"{"type":"reports","records":""#;
        const CLOSE: &[u8] = b"\"}\n";
        let packed_len = base64::encoded_len(self.records.len(), true)
            .expect("a batch's base64 length fits in usize");
        let mut lines = Vec::with_capacity(128 + OPEN.len() + packed_len + CLOSE.len());
        let summary = &self.summary;
        let statuses: serde_json::Map<String, serde_json::Value> = summary
            .statuses
            .iter()
            .map(|(status, count)| (status.to_string(), (*count).into()))
            .collect();
        serde_json::to_writer(
            &mut lines,
            &serde_json::json!({
                "type": "summary",
                "count": summary.count,
                "statuses": statuses,
                "cold": summary.cold,
                "seconds": summary.seconds,
            }),
        )?;
        lines.push(b'\n');
        lines.extend_from_slice(OPEN);
        let start = lines.len();
        lines.resize(start + packed_len, 0);
        BASE64
            .encode_slice(&self.records, &mut lines[start..])
            .expect("the buffer holds the whole base64");
        lines.extend_from_slice(CLOSE);
        Ok(lines)
    }
}

/// The records not sent yet: a batch per thread that reports (each on cache lines of its own), so
/// that the worker threads serving direct requests never wait for, or take the memory of, a lock
/// another one just held — one shared batch was written from both cores on every request.
pub(super) struct Reports {
    shards: Box<[Shard]>,
    /// A shard reached [`BATCH`]: the sending thread sends without waiting for the interval.
    full: Mutex<bool>,
    filled: Condvar,
}

#[derive(Default)]
#[repr(align(128))]
struct Shard(Mutex<Batch>);

/// Threads take shards in turn, once each.
static NEXT_SHARD: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static SHARD: Cell<Option<usize>> = const { Cell::new(None) };
}

impl Reports {
    /// Room for `threads` reporting threads without sharing a batch (more share, still correct).
    pub(super) fn new(threads: usize) -> Reports {
        Reports {
            shards: (0..threads.max(1)).map(|_| Shard::default()).collect(),
            full: Mutex::new(false),
            filled: Condvar::new(),
        }
    }

    fn shard(&self) -> &Mutex<Batch> {
        let index = SHARD.with(|shard| {
            shard.get().unwrap_or_else(|| {
                let index = NEXT_SHARD.fetch_add(1, Ordering::Relaxed);
                shard.set(Some(index));
                index
            })
        });
        &self.shards[index % self.shards.len()].0
    }

    pub(super) fn push(&self, report: Report) {
        let full = {
            let mut batch = self.shard().lock().unwrap_or_else(|e| e.into_inner());
            batch.add(&report);
            batch.summary.count == BATCH
        };
        if full {
            *self.full.lock().unwrap_or_else(|e| e.into_inner()) = true;
            self.filled.notify_one();
        }
    }

    /// Everything gathered so far, as one batch.
    fn take(&self) -> Batch {
        let mut all = Batch::default();
        for shard in &self.shards {
            all.merge(std::mem::take(
                &mut *shard.0.lock().unwrap_or_else(|e| e.into_inner()),
            ));
        }
        all
    }
}

/// The sending thread.
pub(super) fn run(shared: &Shared) {
    let reports = &shared.reports;
    loop {
        {
            let full = reports.full.lock().unwrap_or_else(|e| e.into_inner());
            let (mut full, _) = reports
                .filled
                .wait_timeout_while(full, FLUSH_INTERVAL, |full| !*full)
                .unwrap_or_else(|e| e.into_inner());
            *full = false;
        }
        flush(shared);
    }
}

/// Sends what has gathered, now.
pub(super) fn flush(shared: &Shared) {
    let batch = shared.reports.take();
    if batch.summary.count == 0 {
        return;
    }
    match batch.encode() {
        // One write: the runner reads a summary and its reports together.
        Ok(lines) => shared.tell_encoded(&lines),
        Err(error) => host_line(&format!("could not encode direct reports: {error}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(status: u16, cold: bool, error: Option<&str>) -> Report {
        Report {
            execution_id: uuid::Uuid::now_v7(),
            status,
            duration: Duration::from_micros(1_234),
            cold,
            error: error.map(str::to_string),
        }
    }

    #[test]
    fn packs_a_record_as_documented() {
        let ok = report(200, true, None);
        let mut records = Vec::new();
        ok.pack_into(&mut records);
        assert_eq!(records.len(), 23);
        assert_eq!(&records[..16], ok.execution_id.as_bytes());
        assert_eq!(records[16..20], 1_234u32.to_le_bytes());
        assert_eq!(records[20..22], 200u16.to_le_bytes());
        assert_eq!(records[22], COLD);

        records.clear();
        report(500, false, Some("boom")).pack_into(&mut records);
        assert_eq!(records.len(), 23 + 2 + 4);
        assert_eq!(records[22], HAS_ERROR);
        assert_eq!(records[23..25], 4u16.to_le_bytes());
        assert_eq!(&records[25..], b"boom");
    }

    #[test]
    fn cuts_long_errors_at_a_character_boundary() {
        let long = "é".repeat(MAX_ERROR_BYTES);
        let cut = cut_to_limit(&long);
        assert!(cut.len() <= MAX_ERROR_BYTES && cut.len() > MAX_ERROR_BYTES - 2);
        assert!(cut.chars().all(|c| c == 'é'));
        assert_eq!(cut_to_limit("short"), "short");
    }

    #[test]
    fn reports_from_several_threads_are_sent_as_one_batch() {
        let reports = Reports::new(2);
        std::thread::scope(|scope| {
            for status in [200, 200, 500] {
                let reports = &reports;
                scope.spawn(move || {
                    for _ in 0..10 {
                        reports.push(report(status, status == 500, None));
                    }
                });
            }
        });
        let batch = reports.take();
        assert_eq!(batch.summary.count, 30);
        assert_eq!(batch.records.len(), 23 * 30);
        assert_eq!(
            batch.summary.statuses,
            BTreeMap::from([(200, 20), (500, 10)])
        );
        assert_eq!(batch.summary.cold, 10);
        assert!((batch.summary.seconds - 30.0 * 0.001_234).abs() < 1e-9);
        assert_eq!(reports.take().summary.count, 0, "taken once");
    }

    #[test]
    fn a_batch_is_a_summary_and_its_packed_records() {
        let mut batch = Batch::default();
        batch.add(&report(200, true, None));
        batch.add(&report(200, false, None));
        batch.add(&report(504, false, Some("late")));
        let encoded = batch.encode().unwrap();
        let lines: Vec<&[u8]> = encoded
            .strip_suffix(b"\n")
            .unwrap()
            .split(|&b| b == b'\n')
            .collect();
        let [summary, reports] = lines[..] else {
            panic!("two lines expected, got {}", lines.len());
        };
        let summary: serde_json::Value = serde_json::from_slice(summary).unwrap();
        assert_eq!(summary["type"], "summary");
        assert_eq!(summary["count"], 3);
        assert_eq!(
            summary["statuses"],
            serde_json::json!({ "200": 2, "504": 1 })
        );
        assert_eq!(summary["cold"], 1);
        let reports: serde_json::Value = serde_json::from_slice(reports).unwrap();
        assert_eq!(reports["type"], "reports");
        let packed = BASE64.decode(reports["records"].as_str().unwrap()).unwrap();
        assert_eq!(packed, batch.records);
        assert_eq!(packed.len(), 23 * 3 + 2 + 4);
    }
}
