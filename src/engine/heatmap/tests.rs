//! The heatmap against a straightforward model of SPEC 7: the book replayed, its state taken
//! at each slice end, rows summed, means over each column's present slices.

use std::collections::BTreeMap;

use super::*;
use crate::engine::{
    BookAction, BookRow, Event, Level, Millis, Processor, ProcessorConfig, Side, Trade,
};

const S: i64 = 1000;

/// A small deterministic generator (xorshift), so that each case is reproducible by its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// Events in time order: book rows around a drifting mid on a 0.1 grid (updates before the
/// first snapshot, re-snapshots, gaps of many slices), and trades between them.
fn events(seed: u64, count: usize, t0: Millis) -> Vec<Event> {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut ts = t0;
    let mut mid: i64 = 10_000;
    let mut out = Vec::new();
    let level = |rng: &mut Rng, ticks: i64| Level {
        price: ticks as f64 / 10.0,
        size: if rng.chance(15) {
            0.0
        } else {
            (rng.below(5000) + 1) as f64 / 1000.0
        },
    };
    for id in 0..count as i64 {
        ts += match rng.below(20) {
            0 => rng.below(20) as i64 * S,
            1..=5 => 0,
            _ => rng.below(400) as i64,
        };
        mid += rng.below(5) as i64 - 2;
        if rng.chance(25) {
            out.push(Event::Trade(Trade {
                id,
                ts,
                price: mid as f64 / 10.0,
                size: (rng.below(100) + 1) as f64 / 100.0,
                side: if rng.chance(50) {
                    Side::Buy
                } else {
                    Side::Sell
                },
            }));
            continue;
        }
        let snapshot = (id > 3 && rng.chance(4)) || id == 6;
        let n = if snapshot { 12 } else { rng.below(4) as usize };
        let bids = (0..n)
            .map(|_| {
                let ticks = mid - 1 - rng.below(25) as i64;
                level(&mut rng, ticks)
            })
            .collect();
        let asks = (0..n)
            .map(|_| {
                let ticks = mid + 1 + rng.below(25) as i64;
                level(&mut rng, ticks)
            })
            .collect();
        out.push(Event::Book(BookRow {
            id,
            ts,
            action: if snapshot {
                BookAction::Snapshot
            } else {
                BookAction::Update
            },
            bids,
            asks,
            seq: None,
        }));
    }
    out
}

type Side2 = [BTreeMap<u64, f64>; 2];

fn apply_model(book: &mut Side2, row: &BookRow) {
    for (side, levels) in [(0, &row.bids), (1, &row.asks)] {
        if row.action == BookAction::Snapshot {
            book[side].clear();
        }
        for level in levels.iter() {
            if level.size == 0.0 {
                if row.action == BookAction::Update {
                    book[side].remove(&level.price.to_bits());
                }
            } else {
                book[side].insert(level.price.to_bits(), level.size);
            }
        }
    }
}

/// The state of every present slice (SPEC 7 read literally): the book after every applied
/// event with a timestamp below the slice's end, when a snapshot is among them.
fn model_states(events: &[Event], start: Millis, end: Millis) -> BTreeMap<i64, Side2> {
    let applied = |event: &Event| match event {
        Event::Book(row) => row.ts < end,
        Event::Trade(trade) => trade.ts >= start && trade.ts < end,
    };
    let in_range = |ts: Millis| ts >= start && ts < end;
    let mut states = BTreeMap::new();
    let Some(last) = events
        .iter()
        .map(Event::ts)
        .filter(|ts| in_range(*ts))
        .max()
    else {
        return states;
    };
    // Slices before the first event hold no snapshot: start at the later of the two.
    let first = events
        .iter()
        .map(Event::ts)
        .min()
        .unwrap_or(start)
        .max(start);
    for k in first.div_euclid(S)..=last.div_euclid(S) {
        let mut book: Side2 = Default::default();
        let mut initialised = false;
        for event in events.iter().filter(|e| applied(e) && e.ts() < (k + 1) * S) {
            if let Event::Book(row) = event {
                apply_model(&mut book, row);
                initialised |= row.action == BookAction::Snapshot;
            }
        }
        if initialised {
            states.insert(k, book);
        }
    }
    states
}

/// The columns of `query` over the slice states: rows summed per slice, means over columns.
fn model(states: &BTreeMap<i64, Side2>, query: &HeatmapQuery) -> Vec<HeatmapColumn> {
    let (Some(first), Some(last)) = (states.keys().next(), states.keys().next_back()) else {
        return Vec::new();
    };
    let mut columns = Vec::new();
    let mut column = (-(-query.from).div_euclid(query.step)).max(first * S / query.step);
    while column * query.step < query.to && column * query.step <= last * S {
        let (a, b) = (column * query.step / S, (column + 1) * query.step / S);
        let present: Vec<_> = states.range(a..b).map(|(_, book)| book).collect();
        if !present.is_empty() {
            let mut sums: BTreeMap<i64, (f64, f64)> = BTreeMap::new();
            for book in &present {
                for (side, levels) in book.iter().enumerate() {
                    for (bits, size) in levels {
                        let number = (f64::from_bits(*bits) / query.row).floor() as i64;
                        let cell = sums.entry(number).or_default();
                        if side == 0 {
                            cell.0 += size;
                        } else {
                            cell.1 += size;
                        }
                    }
                }
            }
            let n = present.len() as f64;
            columns.push(HeatmapColumn {
                ts: column * query.step,
                rows: sums
                    .into_iter()
                    .filter(|(_, (bid, ask))| *bid != 0.0 || *ask != 0.0)
                    .map(|(number, (bid, ask))| HeatmapRow {
                        price: (number as f64) * query.row,
                        bid: bid / n,
                        ask: ask / n,
                    })
                    .collect(),
            });
        }
        column += 1;
    }
    columns
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

fn check(got: &[HeatmapColumn], want: &[HeatmapColumn], at: &str) {
    assert_eq!(
        got.iter().map(|c| c.ts).collect::<Vec<_>>(),
        want.iter().map(|c| c.ts).collect::<Vec<_>>(),
        "{at}: columns"
    );
    for (g, w) in got.iter().zip(want) {
        let prices = |c: &HeatmapColumn| c.rows.iter().map(|r| r.price).collect::<Vec<_>>();
        assert_eq!(prices(g), prices(w), "{at}: rows of column {}", g.ts);
        for (gr, wr) in g.rows.iter().zip(&w.rows) {
            assert!(
                close(gr.bid, wr.bid) && close(gr.ask, wr.ask),
                "{at}: column {} row {}: got {gr:?}, want {wr:?}",
                g.ts,
                gr.price
            );
        }
    }
}

fn config(start: Millis, end: Millis) -> ProcessorConfig {
    ProcessorConfig {
        window_ms: 60_000,
        depth_levels: 5,
        obi_levels: None,
        start,
        end,
    }
}

/// The store a run builds: events applied, batches taken every `every` events.
fn store_of(events: &[Event], start: Millis, end: Millis, every: usize) -> HeatmapStore {
    let mut processor = Processor::new(config(start, end)).with_heatmap(S);
    let mut store = HeatmapStore::new(S);
    for (i, event) in events.iter().enumerate() {
        processor.apply(event);
        if i % every == 0 {
            store.append(&processor.take_changes().heatmap.unwrap());
        }
    }
    processor.finish_heatmap();
    store.append(&processor.take_changes().heatmap.unwrap());
    store
}

fn queries(events: &[Event]) -> Vec<HeatmapQuery> {
    let t0 = events.first().unwrap().ts();
    let t1 = events.last().unwrap().ts();
    let mut out = Vec::new();
    for step in [S, 2 * S, 7 * S, 60 * S] {
        for row in [0.1, 0.5, 1.0, 3.7, 1000.0] {
            for (from, to) in [
                (0, i64::MAX / 2),
                (t0, t1),
                (t0 + 1234, t0 + (t1 - t0) / 2 + 17),
                (
                    (t0 + t1) / 2 / step * step,
                    (t0 + t1) / 2 / step * step + step,
                ),
                (t1 - 1, t1 + 1),
                (t0, t0),
            ] {
                out.push(HeatmapQuery {
                    from,
                    to,
                    step,
                    row,
                });
            }
        }
    }
    out
}

#[test]
fn columns_are_spec_7s_means_over_present_slices() {
    for seed in 1..=6 {
        let events = events(seed, 300, 1_736_899_200_000 + seed as i64 * 777);
        let t0 = events.first().unwrap().ts();
        let t1 = events.last().unwrap().ts();
        // Whole file; a range starting mid-file (warm-up rows before it); one ending early.
        for (start, end) in [
            (0, i64::MAX),
            ((t0 + t1) / 3, i64::MAX),
            (t0, (t0 + t1) / 2),
        ] {
            let store = store_of(&events, start, end, 1 + seed as usize * 7);
            let states = model_states(&events, start, end);
            for query in queries(&events) {
                let at = format!("seed {seed}, range {start}..{end}, {query:?}");
                check(&store.columns(&query), &model(&states, &query), &at);
            }
        }
    }
}

#[test]
fn a_file_started_over_drops_the_slices_after_the_state_it_went_back_to() {
    let events = events(99, 800, 1_736_899_200_000);
    let straight = store_of(&events, 0, i64::MAX, 5);
    let mut processor = Processor::new(config(0, i64::MAX)).with_heatmap(S);
    let mut store = HeatmapStore::new(S);
    let mut before = None;
    for (i, event) in events.iter().enumerate() {
        if i == 300 {
            before = Some((processor.clone(), i));
        }
        processor.apply(event);
        if i % 9 == 0 {
            store.append(&processor.take_changes().heatmap.unwrap());
        }
    }
    // Back to the state at event 300, as `replay/attempt.rs` does, and on to the end.
    let (mut processor, from) = before.unwrap();
    for event in &events[from..] {
        processor.apply(event);
        store.append(&processor.take_changes().heatmap.unwrap());
    }
    processor.finish_heatmap();
    store.append(&processor.take_changes().heatmap.unwrap());
    assert_eq!(store.slices(), straight.slices());
    for query in queries(&events) {
        assert_eq!(store.columns(&query), straight.columns(&query), "{query:?}");
    }
}

#[test]
fn no_slice_before_the_book_is_initialised_nor_after_the_last_event() {
    let update = |id, ts| {
        Event::Book(BookRow {
            id,
            ts,
            action: BookAction::Update,
            bids: vec![Level {
                price: 99.0,
                size: 1.0,
            }],
            asks: vec![],
            seq: None,
        })
    };
    let snapshot = |id, ts| {
        Event::Book(BookRow {
            id,
            ts,
            action: BookAction::Snapshot,
            bids: vec![Level {
                price: 100.0,
                size: 2.0,
            }],
            asks: vec![Level {
                price: 101.0,
                size: 3.0,
            }],
            seq: None,
        })
    };
    // An update at 0.5 s (book not initialised), the snapshot at 2.5 s, an update at 4.2 s.
    let events = [update(1, 500), snapshot(2, 2500), update(3, 4200)];
    let store = store_of(&events, 0, i64::MAX, 1);
    // Slice 2 holds the snapshot: its end state is the first initialised one; slice 4 holds
    // the last event.
    assert_eq!(store.slices(), 2..5);
    let query = HeatmapQuery {
        from: 0,
        to: 10_000,
        step: 2000,
        row: 1.0,
    };
    let columns = store.columns(&query);
    // Column [0, 2 s) has no present slice; [2 s, 4 s) holds slices 2 and 3; [4 s, 6 s) slice 4.
    assert_eq!(
        columns,
        vec![
            HeatmapColumn {
                ts: 2000,
                rows: vec![
                    HeatmapRow {
                        price: 100.0,
                        bid: 2.0,
                        ask: 0.0
                    },
                    HeatmapRow {
                        price: 101.0,
                        bid: 0.0,
                        ask: 3.0
                    },
                ],
            },
            HeatmapColumn {
                ts: 4000,
                rows: vec![
                    HeatmapRow {
                        price: 99.0,
                        bid: 1.0,
                        ask: 0.0
                    },
                    HeatmapRow {
                        price: 100.0,
                        bid: 2.0,
                        ask: 0.0
                    },
                    HeatmapRow {
                        price: 101.0,
                        bid: 0.0,
                        ask: 3.0
                    },
                ],
            },
        ]
    );
    // A column width that is not a multiple of the slice gives nothing (the server refuses it).
    assert!(
        store
            .columns(&HeatmapQuery {
                step: 1500,
                ..query
            })
            .is_empty()
    );
}

#[test]
fn large_batches_go_straight_to_the_store_and_a_start_over_still_drops_what_follows() {
    let events = events(41, 900, 1_736_899_200_000);
    let straight = store_of(&events, 0, i64::MAX, 5);
    let shared: SharedStore = Default::default();
    *shared.write().unwrap() = Some(HeatmapStore::new(S));
    let append = |batch: SliceBatch| shared.write().unwrap().as_mut().unwrap().append(&batch);
    let mut processor = Processor::new(config(0, i64::MAX))
        .with_heatmap(S)
        .with_heatmap_sink(shared.clone());
    let mut before = None;
    for (i, event) in events.iter().enumerate() {
        if i == 400 {
            before = Some(processor.clone());
        }
        processor.apply(event);
        if i % 97 == 0 {
            append(processor.take_changes().heatmap.unwrap());
        }
    }
    let mut processor = before.unwrap();
    append(processor.take_changes().heatmap.unwrap());
    for event in &events[400..] {
        processor.apply(event);
    }
    processor.finish_heatmap();
    append(processor.take_changes().heatmap.unwrap());
    let store = shared.read().unwrap();
    let store = store.as_ref().unwrap();
    assert_eq!(store.slices(), straight.slices());
    for query in queries(&events) {
        assert_eq!(store.columns(&query), straight.columns(&query), "{query:?}");
    }
}

/// A replay under control: a read-ahead copy of the state appends the slices of events the
/// state shown has not reached, and seeks go back and forth; what is shown is always the
/// heatmap of a run ending where the state shown is, its open slice included (SPEC 8).
#[test]
fn a_repeating_store_shows_the_state_shown_whatever_was_read_ahead() {
    let events = events(43, 900, 1_736_899_200_000);
    let shared: SharedStore = Default::default();
    *shared.write().unwrap() = Some(HeatmapStore::new(S).repeating());
    let show = |processor: &mut Processor| {
        let batch = processor.take_changes().heatmap.unwrap();
        shared.write().unwrap().as_mut().unwrap().show(&batch);
        processor.show_heatmap_tail();
    };
    let fresh = || {
        Processor::new(config(0, i64::MAX))
            .with_heatmap(S)
            .with_heatmap_sink(shared.clone())
    };
    // The read-ahead: every event, its large batches straight into the store, never shown;
    // a checkpoint (a copy of its state) every 150 events.
    let mut ahead = fresh();
    let mut checkpoints = Vec::new();
    for (i, event) in events.iter().enumerate() {
        if i % 150 == 0 {
            checkpoints.push((i, ahead.clone()));
        }
        ahead.apply(event);
    }
    // The state shown, at positions forward and back, each reached from the latest
    // checkpoint before it, as a seek does; shown in frames every 61 events.
    for cut in [300, 120, 899, 0, 1, 640, 641, 450, 899] {
        let (from, checkpoint) = checkpoints.iter().rev().find(|(i, _)| *i <= cut).unwrap();
        let mut shown = checkpoint.clone();
        show(&mut shown);
        for (i, event) in events[*from..cut].iter().enumerate() {
            shown.apply(event);
            if i % 61 == 0 {
                show(&mut shown);
            }
        }
        show(&mut shown);
        let store = shared.read().unwrap();
        let store = store.as_ref().unwrap();
        if cut == 0 {
            assert!(store.slices().is_empty(), "nothing shown before any event");
            continue;
        }
        let want = store_of(&events[..cut], 0, i64::MAX, 5);
        if want.slices().is_empty() {
            assert!(store.slices().is_empty(), "after {cut} events");
        } else {
            assert_eq!(store.slices(), want.slices(), "after {cut} events");
        }
        for query in queries(&events[..cut]) {
            assert_eq!(
                store.columns(&query),
                want.columns(&query),
                "after {cut} events: {query:?}"
            );
            assert_eq!(
                store.overlay(query.from, query.to, query.step),
                want.overlay(query.from, query.to, query.step),
                "after {cut} events: {query:?}"
            );
        }
    }
}

#[test]
fn the_running_sweep_sums_blocks_as_a_sweep_afresh_does() {
    // The store checks every block its running sweep sums against a sweep afresh.
    let swept = || super::store::SWEPT_BLOCKS.get();
    let before = swept();
    for seed in 1..=3 {
        let events = events(seed, 900, 1_736_899_200_000 + seed as i64 * 777);
        for every in [1, 13, 400, 10_000] {
            store_of(&events, 0, i64::MAX, every);
        }
    }
    assert!(swept() > before, "no block was summed by the running sweep");
}
