//! The live feed: the state the web UI shows, and server push of its changes.
//!
//! The run calls `LiveFeed::new` and shows it frames ([`Output`]); the web server
//! reads `snapshot`, the `*_since` queries and `subscribe`s to the changes.
//!
//! The feed keeps every bar and metric bar of the run (keyed by window, like the engine's
//! series), not only the last 1000 that the JSON files hold: a browser that connects late or
//! reloads gets the whole run. Each change is numbered (`seq`) and sent on a bounded broadcast
//! channel; a client that falls behind by more than [`CHANNEL_CAPACITY`] changes is not buffered
//! further but told to resync from a fresh [`Snapshot`].

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use bytes::Bytes;
use tokio::sync::broadcast;

use super::frame::{Frame, Output, WriteError};
use super::heatmap::HeatmapFeed;
use super::print_log::PrintLog;
use crate::engine::{
    Bar, Depth, FootprintBar, MetricBar, Millis, Print, PrintChanges, TradeBar, TradeBarSize,
    TradeBars,
};

pub use super::status::{Phase, Status};

/// Changes buffered per client before it is told to resync instead.
pub const CHANNEL_CAPACITY: usize = 256;

/// A change to the state: bars and metric bars touched since the last update (oldest first;
/// each replaces the bar of its window), the current depth and status.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Update {
    pub bars: Vec<Bar>,
    pub metric_bars: Vec<MetricBar>,
    /// Footprints (with the bar extras) touched, each replacing the one of its window.
    pub footprints: Vec<FootprintBar>,
    /// Prints made or changed (numbered; see [`PrintChanges`]).
    pub prints: PrintChanges,
    pub depth: Depth,
    pub status: Status,
}

/// The whole state at one moment: every bar and metric bar (oldest first), depth and status.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    /// Number of the last change included.
    pub seq: u64,
    pub bars: Vec<Bar>,
    pub metric_bars: Vec<MetricBar>,
    pub footprints: Vec<FootprintBar>,
    pub depth: Depth,
    pub status: Status,
}

/// One change as sent to subscribers.
#[derive(Debug)]
pub struct Change {
    /// Increases by one with every change; a snapshot with `seq >= change.seq` includes it.
    pub seq: u64,
    pub kind: ChangeKind,
    /// The change rendered once for all clients, shared by them without a copy (the web layer
    /// fills it on first use).
    pub rendered: OnceLock<Bytes>,
}

// Each change is allocated once, inside an `Arc`, so the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum ChangeKind {
    /// Merge these bars, replace depth and status.
    Update(Update),
    /// The state was replaced as a whole: take a fresh snapshot.
    Reset,
}

/// Shared handle to the live state; cheap to clone.
#[derive(Clone)]
pub struct LiveFeed {
    inner: Arc<Inner>,
}

struct Inner {
    state: Mutex<State>,
    /// The run's signals (SPEC 9.2), for `/api/signals`.
    signals: super::signal_board::SignalBoard,
    changes: broadcast::Sender<Arc<Change>>,
    /// The run's heatmap (SPEC 7), served beside the feed.
    heatmap: HeatmapFeed,
}

#[derive(Default)]
struct State {
    seq: u64,
    bars: BTreeMap<Millis, Bar>,
    metric_bars: BTreeMap<Millis, MetricBar>,
    footprints: BTreeMap<Millis, FootprintBar>,
    /// Every print of the run, in event order (in a temporary file but for the newest).
    prints: PrintLog,
    /// A replay under control: its states give the same closed prints again, and the log
    /// shows those of the state shown (`Output::replaying`).
    repeats: bool,
    /// The tick or volume bars of the state shown, when the run makes them (a copy shares
    /// the closed ones).
    trade_bars: Option<TradeBars>,
    depth: Depth,
    status: Status,
}

impl LiveFeed {
    /// An empty feed with this status.
    pub fn new(status: Status) -> Self {
        let (changes, _) = broadcast::channel(CHANNEL_CAPACITY);
        let state = State {
            status,
            ..State::default()
        };
        LiveFeed {
            inner: Arc::new(Inner {
                state: Mutex::new(state),
                signals: super::signal_board::SignalBoard::default(),
                changes,
                heatmap: HeatmapFeed::new(),
            }),
        }
    }

    /// The tick or volume bars from number `from` on, or from the last if there are fewer
    /// (it may be open, and a state that went back has fewer), with the count of all and
    /// their size; `None` when the run makes none.
    pub fn trade_bars(&self, from: usize) -> Option<(TradeBarSize, usize, Vec<TradeBar>)> {
        let state = self.lock();
        let bars = state.trade_bars.as_ref()?;
        let count = bars.len();
        Some((
            bars.size(),
            count,
            bars.from(from.min(count.saturating_sub(1))),
        ))
    }

    /// The run's signals.
    pub fn signals(&self) -> &super::signal_board::SignalBoard {
        &self.inner.signals
    }

    /// Merges `update` into the state and pushes it to connected clients.
    ///
    /// Needs no tokio runtime: the processing loop calls it from a plain thread.
    pub fn publish(&self, update: Update) {
        let mut state = self.lock();
        for bar in &update.bars {
            state.bars.insert(bar.ts, *bar);
        }
        for bar in &update.metric_bars {
            state.metric_bars.insert(bar.ts, *bar);
        }
        for bar in &update.footprints {
            state.footprints.insert(bar.ts, bar.clone());
        }
        if !state.repeats {
            // (A replay's log is given the state's prints by `show`.)
            merge_prints(&mut state.prints, &update.prints);
        }
        state.depth = update.depth.clone();
        state.status = update.status.clone();
        self.send(&mut state, ChangeKind::Update(update));
    }

    /// Changes only the status (and pushes it, with the current depth).
    pub fn set_status(&self, status: Status) {
        let depth = self.lock().depth.clone();
        self.publish(Update {
            depth,
            status,
            ..Update::default()
        });
    }

    /// Replaces the whole state (a new run, or files that started over); clients resync.
    pub fn reset(&self, bars: Vec<Bar>, metric_bars: Vec<MetricBar>, depth: Depth, status: Status) {
        let mut state = self.lock();
        state.bars = bars.into_iter().map(|bar| (bar.ts, bar)).collect();
        state.metric_bars = metric_bars.into_iter().map(|bar| (bar.ts, bar)).collect();
        state.depth = depth;
        state.status = status;
        self.send(&mut state, ChangeKind::Reset);
    }

    /// The whole state.
    pub fn snapshot(&self) -> Snapshot {
        let state = self.lock();
        Snapshot {
            seq: state.seq,
            bars: state.bars.values().copied().collect(),
            metric_bars: state.metric_bars.values().copied().collect(),
            footprints: state.footprints.values().cloned().collect(),
            depth: state.depth.clone(),
            status: state.status.clone(),
        }
    }

    /// Bars whose window starts at or after `since` (all with `None`), oldest first.
    pub fn bars_since(&self, since: Option<Millis>) -> Vec<Bar> {
        let state = self.lock();
        state
            .bars
            .range(since.unwrap_or(Millis::MIN)..)
            .map(|(_, bar)| *bar)
            .collect()
    }

    /// Metric bars whose window starts at or after `since` (all with `None`), oldest first.
    pub fn metric_bars_since(&self, since: Option<Millis>) -> Vec<MetricBar> {
        let state = self.lock();
        state
            .metric_bars
            .range(since.unwrap_or(Millis::MIN)..)
            .map(|(_, bar)| *bar)
            .collect()
    }

    /// Footprints (with the bar extras) whose window starts at or after `since` (all with
    /// `None`), oldest first.
    pub fn footprints_since(&self, since: Option<Millis>) -> Vec<FootprintBar> {
        let state = self.lock();
        state
            .footprints
            .range(since.unwrap_or(Millis::MIN)..)
            .map(|(_, bar)| bar.clone())
            .collect()
    }

    /// Replaces every footprint (before a [`LiveFeed::reset`], which tells the clients).
    pub fn replace_footprints(&self, footprints: Vec<FootprintBar>) {
        self.lock().footprints = footprints.into_iter().map(|bar| (bar.ts, bar)).collect();
    }

    /// The prints of at least `min_size` at or after `since` (all with `None`), in event order.
    pub fn prints(&self, min_size: f64, since: Option<Millis>) -> Vec<Print> {
        let since = since.unwrap_or(Millis::MIN);
        let state = self.lock();
        let mut out = Vec::new();
        state.prints.for_each(|print| {
            if print.size >= min_size && print.ts >= since {
                out.push(*print);
            }
        });
        out
    }

    /// The number of prints so far, and the size of the smallest of the largest `share` of
    /// them (at least one print): the default filter of big prints. `None` without prints.
    pub fn print_size_at_top(&self, share: f64) -> (usize, Option<f64>) {
        let state = self.lock();
        let count = usize::try_from(state.prints.len()).unwrap_or(usize::MAX);
        (count, state.prints.size_at_top(share))
    }

    /// The run's heatmap: empty unless the run started one.
    pub fn heatmap(&self) -> &HeatmapFeed {
        &self.inner.heatmap
    }

    /// Number of the last change.
    pub fn seq(&self) -> u64 {
        self.lock().seq
    }

    pub fn depth(&self) -> Depth {
        self.lock().depth.clone()
    }

    pub fn status(&self) -> Status {
        self.lock().status.clone()
    }

    /// Changes from now on. Take the snapshot after subscribing and skip changes whose `seq`
    /// it already includes, so nothing falls between the two.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Change>> {
        self.inner.changes.subscribe()
    }

    /// Sends under the state lock, so the channel's order is the order of `seq`.
    fn send(&self, state: &mut State, kind: ChangeKind) {
        state.seq += 1;
        let change = Change {
            seq: state.seq,
            kind,
            rendered: OnceLock::new(),
        };
        // An error only means that nobody is listening right now.
        let _ = self.inner.changes.send(Arc::new(change));
    }

    /// A replay's log: the closed prints of the frame held, those of its state shown.
    fn log_prints(&self, frame: &Frame<'_>) {
        let mut state = self.lock();
        if state.repeats {
            let tape = frame.processor.print_tape();
            state
                .prints
                .show_state(&frame.changes.prints, tape.closed_count(), tape.open());
        }
    }

    /// Keeps the bars of trades of the frame's state.
    fn keep_trade_bars(&self, frame: &Frame<'_>) {
        if let Some(bars) = frame.processor.trade_bars() {
            self.lock().trade_bars = Some(bars.clone());
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the maps half-updated in a way that
        // matters to a viewer, so a poisoned lock is used as it is.
        self.inner
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl std::fmt::Debug for LiveFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.lock();
        f.debug_struct("LiveFeed")
            .field("seq", &state.seq)
            .field("bars", &state.bars.len())
            .field("metric_bars", &state.metric_bars.len())
            .finish()
    }
}

/// The page's feed: each frame's changes are pushed to the connected pages; a restart hands
/// them the whole state afresh.
impl Output for LiveFeed {
    /// A replay's states (seeks back and forth, a read-ahead) give the same closed prints
    /// again: the log keeps every closed print and shows those of the state shown
    /// ([`PrintLog::repeating`]). Told before the first frame.
    fn replaying(&mut self) {
        let mut state = self.lock();
        state.repeats = true;
        state.prints = std::mem::take(&mut state.prints).repeating();
    }

    /// The page sees the prints as they are handed on, in an update of their own.
    fn show_prints(&mut self, frame: &Frame<'_>) -> Result<(), WriteError> {
        self.show(frame)
    }

    fn hold_prints(&mut self, changes: &PrintChanges, closed: u64) {
        let mut state = self.lock();
        if state.repeats {
            state.prints.hold_closed(changes, closed);
        }
    }

    fn show(&mut self, frame: &Frame<'_>) -> Result<(), WriteError> {
        self.log_prints(frame);
        self.keep_trade_bars(frame);
        self.publish(Update {
            bars: frame.changes.bars.clone(),
            metric_bars: frame.changes.metric_bars.clone(),
            footprints: frame.changes.footprints.clone(),
            prints: frame.changes.prints.clone(),
            depth: frame.depth.clone(),
            status: frame.status.clone(),
        });
        Ok(())
    }

    fn restart(&mut self, frame: &Frame<'_>) -> Result<(), WriteError> {
        self.keep_trade_bars(frame);
        let footprints = frame.processor.footprints();
        self.replace_footprints(footprints.tail(usize::MAX).cloned().collect());
        {
            let mut state = self.lock();
            if state.repeats {
                drop(state);
                self.log_prints(frame);
            } else {
                // The prints of a file that started over: the closed ones up to where the
                // state went back, then the open one as it is now (it may have been shown
                // longer).
                let tape = frame.processor.print_tape();
                merge_prints(&mut state.prints, &frame.changes.prints);
                state.prints.truncate(tape.closed_count());
                if let Some(open) = tape.open() {
                    state.prints.push(open);
                }
            }
        }
        self.reset(
            frame.processor.bars().tail(usize::MAX).copied().collect(),
            frame
                .processor
                .metric_bars()
                .tail(usize::MAX)
                .copied()
                .collect(),
            frame.depth.clone(),
            frame.status.clone(),
        );
        Ok(())
    }
}

/// Takes numbered prints in: from `changes.first` on, what was held is replaced.
fn merge_prints(prints: &mut PrintLog, changes: &PrintChanges) {
    if !changes.prints.is_empty() {
        prints.truncate(changes.first);
        for print in changes.prints.iter() {
            prints.push(*print);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Ohlc;

    fn bar(ts: Millis, close: f64) -> Bar {
        Bar {
            ts,
            open: 1.0,
            high: close.max(1.0),
            low: close.min(1.0),
            close,
            volume: 2.0,
        }
    }

    fn metric(ts: Millis, cvd: f64) -> MetricBar {
        let flat = |v| Ohlc {
            open: v,
            high: v,
            low: v,
            close: v,
        };
        MetricBar {
            ts,
            obi: flat(0.1),
            cvd: flat(cvd),
        }
    }

    #[test]
    fn publish_keeps_every_bar_and_replaces_by_window() {
        let feed = LiveFeed::new(Status::default());
        feed.publish(Update {
            bars: (0..1500).map(|i| bar(i * 60_000, 1.0)).collect(),
            ..Update::default()
        });
        feed.publish(Update {
            bars: vec![bar(60_000, 5.0)],
            metric_bars: vec![metric(0, 3.0)],
            ..Update::default()
        });
        let snap = feed.snapshot();
        assert_eq!(snap.bars.len(), 1500);
        assert_eq!(snap.bars[1].close, 5.0);
        assert_eq!(snap.metric_bars, vec![metric(0, 3.0)]);
        assert_eq!(snap.seq, 2);
        assert_eq!(feed.bars_since(Some(1499 * 60_000)).len(), 1);
        assert_eq!(feed.metric_bars_since(Some(1)).len(), 0);
    }

    #[test]
    fn publish_works_without_a_runtime_and_reaches_subscribers_in_order() {
        let feed = LiveFeed::new(Status::default());
        let mut rx = feed.subscribe();
        let from_thread = feed.clone();
        std::thread::spawn(move || {
            from_thread.publish(Update {
                bars: vec![bar(0, 2.0)],
                ..Update::default()
            });
            from_thread.set_status(Status {
                phase: Phase::Done,
                ..Status::default()
            });
        })
        .join()
        .unwrap();
        let first = rx.try_recv().unwrap();
        let second = rx.try_recv().unwrap();
        assert_eq!((first.seq, second.seq), (1, 2));
        assert!(
            matches!(&second.kind, ChangeKind::Update(u) if u.status.phase == Phase::Done && u.bars.is_empty())
        );
        assert_eq!(feed.snapshot().bars.len(), 1, "set_status keeps the bars");
    }

    #[test]
    fn a_lagging_subscriber_is_told_so_instead_of_buffering() {
        let feed = LiveFeed::new(Status::default());
        let mut rx = feed.subscribe();
        for i in 0..(CHANNEL_CAPACITY as i64 + 10) {
            feed.publish(Update {
                bars: vec![bar(i, 1.0)],
                ..Update::default()
            });
        }
        assert!(matches!(
            rx.try_recv(),
            Err(broadcast::error::TryRecvError::Lagged(_))
        ));
    }

    #[test]
    fn reset_replaces_everything() {
        let feed = LiveFeed::new(Status::default());
        feed.publish(Update {
            bars: vec![bar(0, 1.0), bar(60_000, 1.0)],
            ..Update::default()
        });
        let mut rx = feed.subscribe();
        feed.reset(
            vec![bar(120_000, 1.0)],
            vec![],
            Depth::default(),
            Status::default(),
        );
        assert_eq!(feed.snapshot().bars, vec![bar(120_000, 1.0)]);
        assert!(matches!(rx.try_recv().unwrap().kind, ChangeKind::Reset));
    }
}
