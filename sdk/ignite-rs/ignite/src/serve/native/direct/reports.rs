//! Invocation reports for the runner, sent in batches off the request path.
//!
//! Each direct invocation adds one record; a thread sends what has gathered every
//! [`FLUSH_INTERVAL`] (sooner once [`BATCH`] records wait) as two lines, written at once:
//! `{"type":"summary","count":n,"statuses":{"200":n,…},"cold":k,"seconds":total}` (what the
//! runner's metrics need), then
//! `{"type":"reports","items":[{"e":execution id,"s":status,"d":ms,"t":unix ms,"c":true,"err":…}]}`
//! (`c`, cold, only when true),
//! which the runner records without reading each report (the API validates them as it stores
//! them): at tens of thousands of invocations a second, reading every one in the runner cost
//! more than serving it here.

use std::collections::BTreeMap;
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use serde::Serialize;

use super::Shared;

const FLUSH_INTERVAL: Duration = Duration::from_millis(50);
const BATCH: usize = 512;

/// One invocation, as the runner records it.
#[derive(Debug, Serialize)]
pub(super) struct Report {
    #[serde(rename = "e")]
    pub(super) execution_id: ExecutionId,
    #[serde(rename = "s")]
    pub(super) status: u16,
    #[serde(rename = "d")]
    pub(super) duration_ms: f64,
    #[serde(rename = "c", skip_serializing_if = "is_false")]
    pub(super) cold: bool,
    /// When it started, in ms since the Unix epoch.
    #[serde(rename = "t")]
    pub(super) at_unix_ms: u64,
    #[serde(rename = "err", skip_serializing_if = "Option::is_none")]
    pub(super) error: Option<String>,
}

/// A new execution id (UUIDv7) as text, held without allocating: it is made, copied into the
/// watchdog's view, the request header and the report of every invocation.
#[derive(Clone, Copy)]
pub(super) struct ExecutionId([u8; 36]);

impl ExecutionId {
    pub(super) fn new() -> ExecutionId {
        let mut text = [0u8; 36];
        uuid::Uuid::now_v7().hyphenated().encode_lower(&mut text);
        ExecutionId(text)
    }

    pub(super) fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("a hyphenated UUID is ASCII")
    }
}

impl std::fmt::Display for ExecutionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Debug for ExecutionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ExecutionId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

fn is_false(value: &bool) -> bool {
    !value
}

/// The message the records go out in.
#[derive(Serialize)]
struct ReportsMessage<'a> {
    r#type: &'static str,
    items: &'a [Report],
}

/// What the runner's metrics need of a batch.
#[derive(Serialize)]
struct Summary {
    r#type: &'static str,
    count: usize,
    statuses: BTreeMap<u16, usize>,
    cold: usize,
    seconds: f64,
}

impl Summary {
    fn of(items: &[Report]) -> Summary {
        let mut statuses = BTreeMap::new();
        let (mut cold, mut seconds) = (0, 0.0);
        for item in items {
            *statuses.entry(item.status).or_insert(0) += 1;
            cold += usize::from(item.cold);
            seconds += item.duration_ms / 1000.0;
        }
        Summary {
            r#type: "summary",
            count: items.len(),
            statuses,
            cold,
            seconds,
        }
    }
}

/// The records not sent yet.
#[derive(Default)]
pub(super) struct Reports {
    queue: Mutex<Vec<Report>>,
    full: Condvar,
}

impl Reports {
    pub(super) fn push(&self, report: Report) {
        let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        queue.push(report);
        if queue.len() == BATCH {
            self.full.notify_one();
        }
    }
}

/// The sending thread.
pub(super) fn run(shared: &Shared) {
    loop {
        {
            let queue = shared
                .reports
                .queue
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            let _unused = shared
                .reports
                .full
                .wait_timeout_while(queue, FLUSH_INTERVAL, |queue| queue.len() < BATCH)
                .unwrap_or_else(|e| e.into_inner());
        }
        flush(shared);
    }
}

/// Sends what has gathered, now.
pub(super) fn flush(shared: &Shared) {
    let items = std::mem::take(
        &mut *shared
            .reports
            .queue
            .lock()
            .unwrap_or_else(|e| e.into_inner()),
    );
    if items.is_empty() {
        return;
    }
    let summary = serde_json::to_vec(&Summary::of(&items));
    let reports = serde_json::to_vec(&ReportsMessage {
        r#type: "reports",
        items: &items,
    });
    match (summary, reports) {
        // One write: the runner reads a summary and its reports together.
        (Ok(summary), Ok(reports)) => shared.tell_lines(&[summary, reports]),
        (Err(error), _) | (_, Err(error)) => eprintln!("ignite: could not encode reports: {error}"),
    }
}
