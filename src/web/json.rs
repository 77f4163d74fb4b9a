//! The API's JSON: bodies in the seed's layouts (`output::seed_json`), the status object, and
//! the messages of the push stream.

use serde::Serialize;
use serde_json::{Value, json};

use crate::engine::{Bar, Depth, FootprintBar, MetricBar, PrintChanges};
use crate::output::flow_json::{ApiExtras, ApiFootprint, ApiPrint};
use crate::output::live::{Snapshot, Status, Update};
use crate::output::seed_json::{ApiDepth, BarRow, MetricRow};
use crate::output::status::IntegrityStatus;

/// The body of `/api/bars`: a list of [`BarRow`]s.
pub fn bar_rows(bars: &[Bar]) -> Vec<BarRow> {
    bars.iter().map(BarRow::from).collect()
}

/// The body of `/api/metrics`: a list of [`MetricRow`]s.
pub fn metric_rows(bars: &[MetricBar]) -> Vec<MetricRow> {
    bars.iter().map(MetricRow::from).collect()
}

/// The status object; a replay under control adds `playing`, `speed` (`"max"` or a number),
/// `position` and `loaded_to` (SPEC 8).
pub fn status(status: &Status) -> Value {
    let mut object = json!({
        "instrument": status.instrument,
        "start": status.start,
        "end": status.end,
        "progress": finite(status.progress),
        "replay_ts": status.replay_ts,
        "rows_per_sec": finite(status.rows_per_sec),
        "rows_read": status.rows_read,
        "phase": status.phase.as_str(),
        "message": status.message,
        "integrity": integrity(&status.integrity),
    });
    if let (Some(playback), Some(fields)) = (status.playback, object.as_object_mut()) {
        fields.insert("playing".into(), playback.playing.into());
        let speed = playback.speed.map_or_else(|| "max".into(), Value::from);
        fields.insert("speed".into(), speed);
        fields.insert("position".into(), playback.position.into());
        fields.insert("loaded_to".into(), playback.loaded_to.into());
        fields.insert("window_ms".into(), playback.window_ms.into());
    }
    object
}

/// The integrity of the book (SPEC 10.2): the summary's counts and examples, and the spans
/// of time when the book was uncertain (`to` null while it still is).
fn integrity(integrity: &IntegrityStatus) -> Value {
    json!({
        "gaps": integrity.gaps,
        "resets": integrity.resets,
        "heartbeats": integrity.heartbeats,
        "crossed": integrity.crossed,
        "examples": integrity.examples.iter().map(|example| {
            json!({"file": example.file, "row_id": example.row_id, "kind": example.kind})
        }).collect::<Vec<_>>(),
        "uncertain": integrity.uncertain.iter().map(|span| {
            json!({"from": span.from, "to": span.to})
        }).collect::<Vec<_>>(),
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
        (&snap.footprints, None),
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
        (&update.footprints, Some(&update.prints)),
        &update.depth,
        &update.status,
    );
}

fn write_message(
    out: &mut Vec<u8>,
    seq: u64,
    bars: &[Bar],
    metric_bars: &[MetricBar],
    (footprints, prints): (&[FootprintBar], Option<&PrintChanges>),
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
    /// As `Rows`, for rows that borrow from the item.
    struct Views<'a, T, R>(&'a [T], fn(&'a T) -> R);
    impl<'a, T, R: Serialize> Serialize for Views<'a, T, R> {
        fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            serializer.collect_seq(self.0.iter().map(self.1))
        }
    }
    #[derive(Serialize)]
    struct Message<'a> {
        seq: u64,
        bars: Rows<'a, Bar, BarRow>,
        metrics: Rows<'a, MetricBar, MetricRow>,
        /// Footprints (SPEC 6.4 layout) touched, and their bar extras.
        footprints: Views<'a, FootprintBar, ApiFootprint<'a>>,
        extras: Views<'a, FootprintBar, ApiExtras<'a>>,
        /// Prints made or changed, numbered from `first` (updates only).
        #[serde(skip_serializing_if = "Option::is_none")]
        prints: Option<Prints<'a>>,
        depth: ApiDepth<'a>,
        status: Value,
    }
    #[derive(Serialize)]
    struct Prints<'a> {
        first: u64,
        rows: Views<'a, crate::engine::Print, ApiPrint<'a>>,
    }
    let message = Message {
        seq,
        bars: Rows(bars, |bar| BarRow::from(bar)),
        metrics: Rows(metric_bars, |bar| MetricRow::from(bar)),
        footprints: Views(footprints, ApiFootprint),
        extras: Views(footprints, ApiExtras),
        prints: prints.map(|changes| Prints {
            first: changes.first,
            rows: Views(&changes.prints, ApiPrint),
        }),
        depth: ApiDepth(d),
        status: status(s),
    };
    serde_json::to_writer(out, &message).expect("plain data always serializes");
}

/// JSON has no NaN or infinity; a rate that is not a number yet is shown as 0.
fn finite(x: f64) -> f64 {
    if x.is_finite() { x } else { 0.0 }
}
