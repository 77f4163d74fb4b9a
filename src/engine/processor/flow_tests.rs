//! Tests of the processor against SPEC 6: bar extras, footprints and prints.

use std::collections::BTreeMap;

use super::*;
use crate::engine::{FootprintRow, Level, Print};
use proptest::prelude::*;

const W: i64 = 60_000;

fn config() -> ProcessorConfig {
    ProcessorConfig {
        window_ms: W,
        depth_levels: 2,
        obi_levels: None,
        start: 60_000,
        end: 600_000,
    }
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

fn book(ts: Millis) -> Event {
    Event::Book(BookRow {
        id: 0,
        ts,
        action: BookAction::Update,
        bids: vec![Level {
            price: 1.0,
            size: 1.0,
        }],
        asks: Vec::new(),
        seq: None,
    })
}

/// What a reader of the changes ends with: every footprint by window, and the prints.
#[derive(Debug, Default, PartialEq)]
struct Seen {
    footprints: BTreeMap<Millis, FootprintBar>,
    prints: Vec<Print>,
}

impl Seen {
    fn take(&mut self, processor: &mut Processor) {
        let changes = processor.take_changes();
        for bar in changes.footprints {
            self.footprints.insert(bar.ts, bar);
        }
        if !changes.prints.prints.is_empty() {
            self.prints.truncate(changes.prints.first as usize);
            self.prints.extend(changes.prints.prints.iter().copied());
        }
    }
}

#[test]
fn footprint_and_extras_follow_the_trades_of_each_window() {
    use Side::{Buy, Sell};
    let events = [
        trade(30_000, Buy, 9.0, 5.0), // before the start: ignored
        trade(60_000, Buy, 10.0, 1.0),
        trade(60_500, Sell, 10.5, 2.0),
        book(61_000),
        trade(61_000, Buy, 10.0, 0.5),
        trade(125_000, Sell, 11.0, 4.0),
    ];
    let mut processor = Processor::new(config());
    for event in &events {
        processor.apply(event);
    }
    let bars: Vec<_> = processor.footprints().iter().cloned().collect();
    let row = |price, buy, sell| FootprintRow { price, buy, sell };
    assert_eq!(
        bars,
        vec![
            FootprintBar {
                ts: 60_000,
                buy_volume: 1.5,
                sell_volume: 2.0,
                trades: 3,
                rows: vec![row(10.0, 1.5, 0.0), row(10.5, 0.0, 2.0)].into(),
            },
            FootprintBar {
                ts: 120_000,
                buy_volume: 0.0,
                sell_volume: 4.0,
                trades: 1,
                rows: vec![row(11.0, 0.0, 4.0)].into(),
            },
        ]
    );
    assert_eq!(bars[0].delta(), -0.5);
    assert_eq!(bars[0].poc().map(|r| r.price), Some(10.5));
}

#[test]
fn prints_end_at_a_book_row_a_side_change_and_a_new_ms() {
    use Side::{Buy, Sell};
    let events = [
        trade(60_000, Buy, 10.0, 1.0),
        trade(60_000, Buy, 12.0, 1.0),
        book(60_000),
        trade(60_000, Buy, 10.0, 1.0),
        trade(60_000, Sell, 10.0, 2.0),
        trade(60_001, Sell, 10.0, 2.0),
        trade(60_001, Sell, 11.0, 2.0),
    ];
    let mut processor = Processor::new(config());
    let mut seen = Seen::default();
    for event in &events {
        processor.apply(event);
    }
    seen.take(&mut processor);
    let print = |ts, side, vwap, size, trades| Print {
        ts,
        side,
        vwap,
        size,
        trades,
    };
    assert_eq!(
        seen.prints,
        vec![
            print(60_000, Buy, 11.0, 2.0, 2),
            print(60_000, Buy, 10.0, 1.0, 1),
            print(60_000, Sell, 10.0, 2.0, 1),
            print(60_001, Sell, 10.5, 4.0, 2),
        ]
    );
    assert_eq!(processor.print_count(), 4);
}

fn arb_event() -> impl Strategy<Value = Event> {
    let side = prop_oneof![Just(Side::Buy), Just(Side::Sell)];
    prop_oneof![
        4 => (55_000i64..200_000, side, 1u8..8, 1u16..500)
            .prop_map(|(ts, side, p, s)| trade(ts, side, f64::from(p) * 0.25, f64::from(s) / 3.0)),
        1 => (55_000i64..200_000).prop_map(book),
    ]
}

proptest! {
    /// Any split of the event sequence (a part through the whole processor, the rest
    /// through a book stage of its own and the accounting stage, as `--jobs` does) and any
    /// points where the changes are taken give the footprints and prints of one pass.
    #[test]
    fn any_split_gives_the_same_footprint_and_prints(
        mut events in prop::collection::vec(arb_event(), 0..120),
        sorted in any::<bool>(),
        split in 0usize..120,
        takes in prop::collection::vec(0usize..120, 0..6),
        footprints_away in any::<bool>(),
    ) {
        if sorted {
            events.sort_by_key(Event::ts);
        }
        let mut whole = Processor::new(config());
        for event in &events {
            whole.apply(event);
        }
        let mut expected = Seen::default();
        expected.take(&mut whole);

        let split = split.min(events.len());
        let mut parts = Processor::new(config());
        let mut stage = parts.new_book_stage();
        let mut seen = Seen::default();
        // With `footprints_away`, the footprints of the accounted part are built apart,
        // as a `--jobs` stitcher builds them on a thread of their own.
        let mut away = None;
        for (i, event) in events.iter().enumerate() {
            if i < split {
                parts.apply(event);
            } else {
                if footprints_away && away.is_none() {
                    away = Some(parts.take_footprints());
                }
                let outcome = stage.apply(event);
                parts.account(&outcome);
                if let Some(away) = &mut away {
                    away.account(&outcome);
                }
            }
            if takes.contains(&i) {
                seen.take(&mut parts);
            }
        }
        if let Some(away) = away {
            parts.give_back_footprints(away);
        }
        seen.take(&mut parts);
        prop_assert_eq!(parts.counts(), whole.counts());
        prop_assert_eq!(parts.cvd().to_bits(), whole.cvd().to_bits());
        prop_assert_eq!(&seen, &expected);
        prop_assert_eq!(
            expected.footprints.values().cloned().collect::<Vec<_>>(),
            whole.footprints().iter().cloned().collect::<Vec<_>>()
        );
        // Each window's rows add up to its bar's volume, and to its extras.
        for (bar, footprint) in whole.bars().iter().zip(whole.footprints().iter()) {
            prop_assert_eq!(bar.ts, footprint.ts);
            let buy: f64 = footprint.rows.iter().map(|r| r.buy).sum();
            let sell: f64 = footprint.rows.iter().map(|r| r.sell).sum();
            let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(1.0);
            prop_assert!(close(buy + sell, bar.volume));
            prop_assert!(close(buy, footprint.buy_volume));
            prop_assert!(close(sell, footprint.sell_volume));
        }
        let trades: u64 = whole.footprints().iter().map(|f| f.trades).sum();
        prop_assert_eq!(trades, whole.counts().trades);
        let print_trades: u64 = expected.prints.iter().map(|p| u64::from(p.trades)).sum();
        prop_assert_eq!(print_trades, whole.counts().trades);
    }
}

#[test]
fn only_the_newest_footprints_are_kept_when_asked() {
    let mut processor = Processor::new(config());
    processor.keep_newest_footprints(2);
    for minute in 1..6 {
        processor.apply(&trade(minute * W, Side::Buy, 10.0, 1.0));
    }
    // An old window comes back (overlapping files): it is not among the newest two.
    processor.apply(&trade(W, Side::Sell, 10.0, 1.0));
    let windows: Vec<Millis> = processor.footprints().iter().map(|f| f.ts).collect();
    assert_eq!(windows, vec![4 * W, 5 * W]);
    assert_eq!(processor.bars().len(), 5, "the bars are all kept");
}
