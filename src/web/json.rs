//! The seed's JSON schemas (SPEC 3.1) for the HTTP API, plus the status object.

use serde::Serialize;
use serde_json::{Value, json};

use crate::engine::{Bar, Depth, MetricBar, Millis};
use crate::output::live::{Snapshot, Status, Update};

/// A bar as the seed's row `[ts, open, high, low, close, volume]`.
pub type BarRow = (Millis, f64, f64, f64, f64, f64);
/// A metric bar as the seed's row `[ts, obi_o, obi_h, obi_l, obi_c, cvd_o, cvd_h, cvd_l, cvd_c]`.
pub type MetricRow = (Millis, f64, f64, f64, f64, f64, f64, f64, f64);

pub fn bar_rows(bars: &[Bar]) -> Vec<BarRow> {
    bars.iter()
        .map(|b| (b.ts, b.open, b.high, b.low, b.close, b.volume))
        .collect()
}

pub fn metric_rows(bars: &[MetricBar]) -> Vec<MetricRow> {
    bars.iter().map(metric_row).collect()
}

fn metric_row(m: &MetricBar) -> MetricRow {
    let (o, c) = (m.obi, m.cvd);
    (
        m.ts, o.open, o.high, o.low, o.close, c.open, c.high, c.low, c.close,
    )
}

/// `{"bids": [[price, size], ...], "asks": [[price, size], ...]}`
pub fn depth(depth: &Depth) -> Value {
    let side = |levels: &[crate::engine::Level]| -> Vec<(f64, f64)> {
        levels.iter().map(|l| (l.price, l.size)).collect()
    };
    json!({ "bids": side(&depth.bids), "asks": side(&depth.asks) })
}

pub fn status(status: &Status) -> Value {
    json!({
        "instrument": status.instrument,
        "start": status.start,
        "end": status.end,
        "progress": finite(status.progress),
        "replay_ts": status.replay_ts,
        "rows_per_sec": finite(status.rows_per_sec),
        "rows_read": status.rows_read,
        "phase": status.phase.as_str(),
        "message": status.message,
    })
}

/// The `snapshot` event of the push stream: the whole state.
pub fn snapshot(snap: &Snapshot) -> String {
    let mut out = Vec::new();
    write_snapshot(&mut out, snap);
    String::from_utf8(out).expect("JSON is UTF-8")
}

/// Appends [`snapshot`] to `out`, without building the rows first.
pub fn write_snapshot(out: &mut Vec<u8>, snap: &Snapshot) {
    out.reserve(snap.bars.len() * 48 + snap.metric_bars.len() * 112 + 4096);
    write_message(
        out,
        snap.seq,
        &snap.bars,
        &snap.metric_bars,
        &snap.depth,
        &snap.status,
    );
}

/// The `update` event of the push stream: changed bars, current depth and status.
pub fn update(seq: u64, update: &Update) -> String {
    let mut out = Vec::new();
    write_update(&mut out, seq, update);
    String::from_utf8(out).expect("JSON is UTF-8")
}

/// Appends [`update`] to `out`.
pub fn write_update(out: &mut Vec<u8>, seq: u64, update: &Update) {
    write_message(
        out,
        seq,
        &update.bars,
        &update.metric_bars,
        &update.depth,
        &update.status,
    );
}

fn write_message(
    out: &mut Vec<u8>,
    seq: u64,
    bars: &[Bar],
    metric_bars: &[MetricBar],
    d: &Depth,
    s: &Status,
) {
    /// Rows serialized one by one as they are made: a snapshot of a day of 1-second bars
    /// never holds a second copy of them.
    struct Rows<'a, T, R>(&'a [T], fn(&T) -> R);
    impl<T, R: Serialize> Serialize for Rows<'_, T, R> {
        fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            serializer.collect_seq(self.0.iter().map(self.1))
        }
    }
    #[derive(Serialize)]
    struct Message<'a> {
        seq: u64,
        bars: Rows<'a, Bar, BarRow>,
        metrics: Rows<'a, MetricBar, MetricRow>,
        depth: Value,
        status: Value,
    }
    let message = Message {
        seq,
        bars: Rows(bars, |b| (b.ts, b.open, b.high, b.low, b.close, b.volume)),
        metrics: Rows(metric_bars, metric_row),
        depth: depth(d),
        status: status(s),
    };
    serde_json::to_writer(out, &message).expect("plain data always serializes");
}

/// JSON has no NaN or infinity; a rate that is not a number yet is shown as 0.
fn finite(x: f64) -> f64 {
    if x.is_finite() { x } else { 0.0 }
}
