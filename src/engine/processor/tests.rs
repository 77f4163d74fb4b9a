//! Tests of the processor against SPEC 2.2–2.5, one table per output.

use super::*;
use crate::engine::{Level, Ohlc};
use proptest::prelude::*;

/// The range of every case: [60 s, 600 s), one-minute windows, depth of 2 levels.
const START: Millis = 60_000;
const END: Millis = 600_000;
const W: i64 = 60_000;

fn config(obi_levels: Option<usize>) -> ProcessorConfig {
    ProcessorConfig {
        window_ms: W,
        depth_levels: 2,
        obi_levels,
        start: START,
        end: END,
    }
}

fn levels(pairs: &[(f64, f64)]) -> Vec<Level> {
    pairs
        .iter()
        .map(|&(price, size)| Level { price, size })
        .collect()
}

fn row(ts: Millis, action: BookAction, bids: &[(f64, f64)], asks: &[(f64, f64)]) -> Event {
    Event::Book(BookRow {
        id: 0,
        ts,
        action,
        bids: levels(bids),
        asks: levels(asks),
        seq: None,
    })
}

fn snap(ts: Millis, bids: &[(f64, f64)], asks: &[(f64, f64)]) -> Event {
    row(ts, BookAction::Snapshot, bids, asks)
}

fn upd(ts: Millis, bids: &[(f64, f64)], asks: &[(f64, f64)]) -> Event {
    row(ts, BookAction::Update, bids, asks)
}

fn trade(ts: Millis, side: Side, price: f64, size: f64) -> Event {
    Event::Trade(Trade {
        id: 0,
        ts,
        price,
        size,
        side,
    })
}

fn buy(ts: Millis, price: f64, size: f64) -> Event {
    trade(ts, Side::Buy, price, size)
}

fn sell(ts: Millis, price: f64, size: f64) -> Event {
    trade(ts, Side::Sell, price, size)
}

/// Runs `events` through a processor with `config`, returning it and what `apply` said.
fn run(config: ProcessorConfig, events: &[Event]) -> (Processor, Vec<Applied>) {
    let mut processor = Processor::new(config);
    let applied = events.iter().map(|event| processor.apply(event)).collect();
    (processor, applied)
}

fn ohlc(open: f64, high: f64, low: f64, close: f64) -> Ohlc {
    Ohlc {
        open,
        high,
        low,
        close,
    }
}

/// A series that stayed at `value` all through its window.
fn flat(value: f64) -> Ohlc {
    ohlc(value, value, value, value)
}

fn mbar(ts: Millis, obi: Ohlc, cvd: Ohlc) -> MetricBar {
    MetricBar { ts, obi, cvd }
}

#[test]
fn apply_classifies_events() {
    use Applied::*;
    type Case<'a> = (&'a str, Event, Applied);
    let cases: &[Case] = &[
        (
            "book row before the start is warm-up",
            upd(START - 1, &[(1.0, 1.0)], &[]),
            Warmup,
        ),
        (
            "snapshot before the start is warm-up",
            snap(0, &[], &[]),
            Warmup,
        ),
        (
            "book row at the start is in range",
            upd(START, &[], &[]),
            InRange,
        ),
        (
            "trade before the start is ignored",
            buy(START - 1, 1.0, 1.0),
            Ignored,
        ),
        (
            "trade at the start is in range",
            buy(START, 1.0, 1.0),
            InRange,
        ),
        (
            "last ms before the end is in range",
            sell(END - 1, 1.0, 1.0),
            InRange,
        ),
        (
            "book row at the end is ignored",
            snap(END, &[(1.0, 1.0)], &[]),
            Ignored,
        ),
        ("trade at the end is ignored", buy(END, 1.0, 1.0), Ignored),
        (
            "trade after the end is ignored",
            buy(i64::MAX, 1.0, 1.0),
            Ignored,
        ),
    ];
    for (name, event, expected) in cases {
        let (_, applied) = run(config(None), std::slice::from_ref(event));
        assert_eq!(applied, [*expected], "case {name}");
    }
}

/// Checks the trade bars, the CVD and the counts after `events`.
#[track_caller]
fn check_trades(name: &str, events: &[Event], bars: &[Bar], cvd: f64, counts: Counts) {
    let (processor, _) = run(config(None), events);
    assert_eq!(
        processor.bars().iter().copied().collect::<Vec<_>>(),
        bars,
        "case {name}: bars"
    );
    assert_eq!(processor.cvd(), cvd, "case {name}: cvd");
    assert_eq!(processor.counts(), counts, "case {name}: counts");
}

#[test]
fn trades_make_bars_cvd_and_counts() {
    type Case<'a> = (&'a str, Vec<Event>, Vec<Bar>, f64, Counts);
    let bar =
        |ts, open, high, low, close, volume| Bar::from_ohlcv(ts, [open, high, low, close, volume]);
    let counts =
        |book_rows, warmup_book_rows, trades, first: Option<Millis>, last: Option<Millis>| Counts {
            book_rows,
            warmup_book_rows,
            trades,
            first_ts: first,
            last_ts: last,
        };
    let cases: Vec<Case> = vec![
        ("nothing", vec![], vec![], 0.0, Counts::default()),
        (
            "trades before the start are ignored",
            vec![buy(START - 1, 10.0, 1.0), sell(0, 10.0, 1.0)],
            vec![],
            0.0,
            Counts::default(),
        ),
        (
            "cvd: buys add, sells subtract",
            vec![
                buy(START, 10.0, 2.0),
                sell(START + 1, 11.0, 0.5),
                sell(START + 2, 9.0, 0.25),
            ],
            vec![bar(START, 10.0, 11.0, 9.0, 9.0, 2.75)],
            1.25,
            counts(0, 0, 3, Some(START), Some(START + 2)),
        ),
        (
            "cvd accumulates before the book is initialised",
            vec![upd(START, &[(1.0, 1.0)], &[]), buy(START + 1, 10.0, 3.0)],
            vec![bar(START, 10.0, 10.0, 10.0, 10.0, 3.0)],
            3.0,
            counts(1, 0, 1, Some(START), Some(START + 1)),
        ),
        (
            "a trade at a window start opens the next bar",
            vec![buy(2 * W - 1, 10.0, 1.0), buy(2 * W, 11.0, 1.0)],
            vec![
                bar(W, 10.0, 10.0, 10.0, 10.0, 1.0),
                bar(2 * W, 11.0, 11.0, 11.0, 11.0, 1.0),
            ],
            2.0,
            counts(0, 0, 2, Some(2 * W - 1), Some(2 * W)),
        ),
        (
            "an older bar is updated in place; first/last are the extremes",
            vec![
                buy(3 * W, 20.0, 1.0),
                sell(W + 5, 5.0, 1.0),
                buy(W, 6.0, 1.0),
            ],
            vec![
                bar(W, 5.0, 6.0, 5.0, 6.0, 2.0),
                bar(3 * W, 20.0, 20.0, 20.0, 20.0, 1.0),
            ],
            1.0,
            counts(0, 0, 3, Some(W), Some(3 * W)),
        ),
        (
            "book rows are counted apart from warm-up rows",
            vec![
                snap(0, &[(1.0, 1.0)], &[]),
                upd(START - 1, &[], &[]),
                upd(START, &[], &[]),
            ],
            vec![],
            0.0,
            counts(1, 2, 0, Some(START), Some(START)),
        ),
        (
            "events at the end change nothing",
            vec![
                buy(START, 10.0, 1.0),
                buy(END, 99.0, 5.0),
                snap(END, &[(1.0, 1.0)], &[]),
            ],
            vec![bar(START, 10.0, 10.0, 10.0, 10.0, 1.0)],
            1.0,
            counts(0, 0, 1, Some(START), Some(START)),
        ),
    ];
    for (name, events, bars, cvd, counts) in &cases {
        check_trades(name, events, bars, *cvd, *counts);
    }
}

/// Checks the metric bars after `events`.
#[track_caller]
fn check_metrics(name: &str, obi_levels: Option<usize>, events: &[Event], expected: &[MetricBar]) {
    let (processor, _) = run(config(obi_levels), events);
    let got: Vec<MetricBar> = processor.metric_bars().iter().copied().collect();
    assert_eq!(got, expected, "case {name}");
}

#[test]
fn metric_samples_follow_the_book_and_the_cvd() {
    type Case<'a> = (&'a str, Option<usize>, Vec<Event>, Vec<MetricBar>);
    let bids: &[(f64, f64)] = &[(100.0, 3.0), (99.0, 5.0)];
    let asks: &[(f64, f64)] = &[(101.0, 1.0), (102.0, 7.0)];
    let cases: Vec<Case> = vec![
        (
            "no sample before the book is initialised",
            None,
            vec![upd(START, bids, asks), buy(START + 1, 10.0, 1.0)],
            vec![],
        ),
        (
            "a sample after every event once initialised",
            Some(1),
            vec![
                snap(START, bids, asks),              // (3 - 1) / 4 = 0.5, cvd 0
                buy(START + 1, 10.0, 2.0),            // 0.5, cvd 2
                upd(START + 2, &[], &[(101.0, 3.0)]), // (3 - 3) / 6 = 0, cvd 2
            ],
            vec![mbar(
                START,
                ohlc(0.5, 0.5, 0.0, 0.0),
                ohlc(0.0, 2.0, 0.0, 2.0),
            )],
        ),
        (
            "obi over the whole book by default",
            None,
            vec![snap(START, bids, asks)], // (8 - 8) / 16
            vec![mbar(START, flat(0.0), flat(0.0))],
        ),
        (
            "B + A = 0 gives obi 0",
            None,
            vec![snap(START, &[], &[]), sell(START + 1, 10.0, 1.0)],
            vec![mbar(START, flat(0.0), ohlc(0.0, 0.0, -1.0, -1.0))],
        ),
        (
            "a warm-up snapshot initialises but is not sampled",
            Some(1),
            vec![snap(START - 1, bids, asks), sell(START, 10.0, 1.0)],
            vec![mbar(START, flat(0.5), flat(-1.0))],
        ),
        (
            "the book stays initialised after an empty snapshot",
            None,
            vec![snap(START, &[(1.0, 1.0)], &[]), snap(START + 1, &[], &[])],
            vec![mbar(START, ohlc(1.0, 1.0, 0.0, 0.0), flat(0.0))],
        ),
        (
            "a window without a sample has no metric bar",
            None,
            vec![snap(START, bids, &[]), buy(3 * W, 1.0, 1.0)],
            vec![
                mbar(START, flat(1.0), flat(0.0)),
                mbar(3 * W, flat(1.0), flat(1.0)),
            ],
        ),
        (
            "an older metric bar is updated in place, its open kept",
            None,
            vec![
                snap(START, bids, &[]),
                buy(2 * W, 1.0, 1.0),
                buy(START + 5, 1.0, 4.0),
            ],
            vec![
                mbar(START, flat(1.0), ohlc(0.0, 5.0, 0.0, 5.0)),
                mbar(2 * W, flat(1.0), flat(1.0)),
            ],
        ),
        (
            "events at the end are not sampled",
            None,
            vec![
                snap(START, bids, &[]),
                buy(END, 1.0, 1.0),
                snap(END, &[], asks),
            ],
            vec![mbar(START, flat(1.0), flat(0.0))],
        ),
    ];
    for (name, obi_levels, events, expected) in &cases {
        check_metrics(name, *obi_levels, events, expected);
    }
}

/// Checks the depth after `events` (2 levels per side).
#[track_caller]
fn check_depth(name: &str, events: &[Event], bids: &[(f64, f64)], asks: &[(f64, f64)]) {
    let (processor, _) = run(config(None), events);
    let expected = Depth {
        bids: levels(bids),
        asks: levels(asks),
    };
    assert_eq!(processor.depth(), expected, "case {name}");
}

#[test]
fn depth_is_as_of_the_last_in_range_event() {
    type Case<'a> = (&'a str, Vec<Event>, &'a [(f64, f64)], &'a [(f64, f64)]);
    let bids: &[(f64, f64)] = &[(99.0, 2.0), (100.0, 1.0), (98.0, 3.0)];
    let asks: &[(f64, f64)] = &[(103.0, 6.0), (101.0, 4.0), (102.0, 5.0)];
    let top_bids: &[(f64, f64)] = &[(100.0, 1.0), (99.0, 2.0)];
    let top_asks: &[(f64, f64)] = &[(101.0, 4.0), (102.0, 5.0)];
    let cases: Vec<Case> = vec![
        ("empty before any event", vec![], &[], &[]),
        (
            "empty after warm-up rows only",
            vec![snap(0, bids, asks)],
            &[],
            &[],
        ),
        (
            "empty after ignored trades",
            vec![snap(0, bids, asks), buy(0, 1.0, 1.0)],
            &[],
            &[],
        ),
        (
            "top levels after an in-range event",
            vec![snap(START, bids, asks)],
            top_bids,
            top_asks,
        ),
        (
            "a trade in range shows the warm-up book",
            vec![snap(0, bids, asks), buy(START, 1.0, 1.0)],
            top_bids,
            top_asks,
        ),
        (
            "shown before the book is initialised",
            vec![upd(START, &[(100.0, 1.0)], &[])],
            &[(100.0, 1.0)],
            &[],
        ),
        (
            "a warm-up row after in-range events does not change it",
            vec![
                snap(START, bids, asks),
                upd(START - 10, &[(100.0, 0.0)], &[(100.5, 9.0)]),
                snap(START - 5, &[], &[]),
            ],
            top_bids,
            top_asks,
        ),
        (
            "the next in-range event shows the book with the warm-up rows",
            vec![
                snap(START, bids, asks),
                upd(START - 10, &[(100.0, 0.0)], &[(100.5, 9.0)]),
                sell(START + 1, 1.0, 1.0),
            ],
            &[(99.0, 2.0), (98.0, 3.0)],
            &[(100.5, 9.0), (101.0, 4.0)],
        ),
        (
            "a book row at the end changes nothing",
            vec![snap(START, bids, asks), snap(END, &[], &[])],
            top_bids,
            top_asks,
        ),
    ];
    for (name, events, bids, asks) in &cases {
        check_depth(name, events, bids, asks);
    }
}

#[test]
fn take_changes_returns_what_changed_since_the_last_call() {
    let mut processor = Processor::new(config(None));
    assert_eq!(processor.take_changes(), Changes::default());
    for event in [
        snap(START, &[(1.0, 1.0)], &[]),
        buy(START, 10.0, 1.0),
        buy(2 * W, 11.0, 1.0),
    ] {
        processor.apply(&event);
    }
    let changes = processor.take_changes();
    let windows = |bars: &[Bar]| bars.iter().map(|bar| bar.ts).collect::<Vec<_>>();
    assert_eq!(windows(&changes.bars), [START, 2 * W]);
    assert_eq!(
        changes
            .metric_bars
            .iter()
            .map(|bar| bar.ts)
            .collect::<Vec<_>>(),
        [START, 2 * W]
    );
    assert_eq!(processor.take_changes(), Changes::default(), "nothing new");
    processor.apply(&buy(2 * W + 1, 12.0, 1.0));
    let changes = processor.take_changes();
    assert_eq!(windows(&changes.bars), [2 * W]);
    assert_eq!(changes.bars[0].close, 12.0);
    processor.apply(&upd(START - 1, &[(2.0, 1.0)], &[]));
    assert_eq!(
        processor.take_changes(),
        Changes::default(),
        "a warm-up row changes no bar"
    );
}

#[test]
fn a_window_below_one_ms_does_not_panic() {
    let mut processor = Processor::new(ProcessorConfig {
        window_ms: 0,
        ..config(None)
    });
    assert_eq!(processor.apply(&buy(START + 7, 1.0, 1.0)), Applied::InRange);
    assert_eq!(processor.config().window_ms, 1);
    assert_eq!(
        processor.bars().iter().next().map(|bar| bar.ts),
        Some(START + 7)
    );
}

fn arb_event() -> impl Strategy<Value = Event> {
    let level = (1u32..30, prop_oneof![Just(0.0), 0.1f64..5.0]);
    let side = || prop::collection::vec(level.clone(), 0..6);
    let pairs = |v: Vec<(u32, f64)>| -> Vec<(f64, f64)> {
        v.into_iter().map(|(p, s)| (f64::from(p), s)).collect()
    };
    let ts = 0i64..END + W;
    prop_oneof![
        (ts.clone(), any::<bool>(), side(), side()).prop_map(move |(ts, is_snapshot, b, a)| {
            let action = if is_snapshot {
                BookAction::Snapshot
            } else {
                BookAction::Update
            };
            row(ts, action, &pairs(b), &pairs(a))
        }),
        (ts, any::<bool>(), 1u32..100, 0.1f64..5.0).prop_map(|(ts, is_buy, price, size)| {
            trade(
                ts,
                if is_buy { Side::Buy } else { Side::Sell },
                f64::from(price),
                size,
            )
        }),
    ]
}

proptest! {
    /// For any event sequence: OBI samples stay in [-1, 1], every bar is in range, and the
    /// counts add up to the events that `apply` said it took.
    #[test]
    fn processor_outputs_stay_consistent(
        events in prop::collection::vec(arb_event(), 0..80),
        obi_levels in prop::option::of(1usize..5),
    ) {
        let (processor, applied) = run(config(obi_levels), &events);
        for bar in processor.metric_bars().iter() {
            for value in [bar.obi.open, bar.obi.high, bar.obi.low, bar.obi.close] {
                prop_assert!((-1.0..=1.0).contains(&value));
            }
        }
        prop_assert!(processor.bars().iter().all(|bar| (START..END).contains(&bar.ts)));
        let counts = processor.counts();
        let in_range = applied.iter().filter(|a| **a == Applied::InRange).count() as u64;
        let warmup = applied.iter().filter(|a| **a == Applied::Warmup).count() as u64;
        prop_assert_eq!(counts.book_rows + counts.trades, in_range);
        prop_assert_eq!(counts.warmup_book_rows, warmup);
        let depth = processor.depth();
        prop_assert!(depth.bids.len() <= 2 && depth.asks.len() <= 2);
    }

    /// The window kept from the last event gives what `window_start` computes afresh, for
    /// events in any order (overlapping files go back in time) and at the ends of time.
    #[test]
    fn the_kept_window_is_window_start(
        window_ms in prop_oneof![Just(1i64), 1_000i64..100_000, Just(i64::MAX)],
        stamps in prop::collection::vec(
            prop_oneof![
                4 => -200_000i64..200_000,
                1 => any::<i64>(),
                1 => prop_oneof![Just(i64::MIN), Just(i64::MAX), Just(i64::MAX - 1)],
            ],
            1..60,
        ),
    ) {
        let mut processor = Processor::new(ProcessorConfig { window_ms, ..config(None) });
        for ts in stamps {
            prop_assert_eq!(processor.window_of(ts), window_start(ts, window_ms), "ts {}", ts);
        }
    }
}

/// A book row with message numbers `(seqId, prevSeqId)`.
fn numbered(id: i64, ts: Millis, action: BookAction, seq: (i64, i64)) -> Event {
    Event::Book(BookRow {
        id,
        ts,
        action,
        bids: levels(&[(100.0, 1.0)]),
        asks: levels(&[(101.0, 1.0)]),
        seq: Some(crate::engine::SeqIds {
            seq_id: seq.0,
            prev_seq_id: seq.1,
        }),
    })
}

#[test]
fn a_gap_leaves_the_book_uncertain_until_the_next_snapshot_and_files_restart_the_chain() {
    use crate::engine::{Finding, Uncertain};
    let mut p = Processor::new(config(None));
    p.start_file(0);
    for event in [
        // Warm-up: the chain is followed, nothing counted.
        numbered(1, 30_000, BookAction::Snapshot, (10, -1)),
        numbered(2, 40_000, BookAction::Update, (12, 11)),
        // In range: still uncertain from the warm-up gap until this snapshot.
        numbered(3, 70_000, BookAction::Snapshot, (20, -1)),
        numbered(4, 80_000, BookAction::Update, (22, 21)),
        numbered(5, 90_000, BookAction::Update, (23, 22)),
    ] {
        p.apply(&event);
    }
    p.start_file(1);
    // A new file: its first row starts a chain, whatever came before.
    p.apply(&numbered(1, 100_000, BookAction::Update, (500, 400)));
    let integrity = p.integrity();
    assert_eq!(
        (integrity.gaps, integrity.resets, integrity.heartbeats),
        (1, 0, 0)
    );
    assert_eq!(
        integrity
            .examples
            .iter()
            .map(|e| (e.file, e.row_id, e.kind))
            .collect::<Vec<_>>(),
        [(0, 4, Finding::Gap)]
    );
    assert_eq!(
        integrity.uncertain_within(START, END),
        [
            Uncertain {
                from: START,
                to: Some(70_000)
            },
            Uncertain {
                from: 80_000,
                to: None
            }
        ]
    );
}
