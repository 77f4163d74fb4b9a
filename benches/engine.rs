//! Benchmarks of the engine's hot paths: order-book updates (levels/s), OBI over the whole
//! book, and the whole processor (events/s), on a seeded stream of top-of-book updates and on
//! the events of a synthetic OKX-like recording read into memory (`synth 20 min`).
//!
//! Run: `cargo bench --bench engine` (add `-- --quick` for a short run).

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use orderflow::engine::{
    BookAction, BookRow, BookSide, Event, Level, OrderBook, Processor, ProcessorConfig, Side,
    Trade, obi,
};
use orderflow::source::{Next, ReadMode, Record, Recording, TradeOrder};
use orderflow::synth::{self, SynthConfig};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Levels per side in the book, as in a deep OKX book.
const BOOK_LEVELS: u32 = 400;
/// Price of the mid, in ticks of 0.1.
const MID_TICK: u32 = 400_000;
const UPDATES: usize = 20_000;

fn price(tick: u32) -> f64 {
    f64::from(tick) / 10.0
}

fn size(rng: &mut ChaCha8Rng) -> f64 {
    f64::from(rng.random_range(1u32..100_000)) / 1000.0
}

/// A level `distance` ticks away from the top of `side`.
fn level(side: Side, distance: u32, size: f64) -> Level {
    let tick = match side {
        Side::Buy => MID_TICK - 1 - distance,
        Side::Sell => MID_TICK + 1 + distance,
    };
    Level {
        price: price(tick),
        size,
    }
}

/// A full book of `BOOK_LEVELS` per side, one level per tick.
fn snapshot(rng: &mut ChaCha8Rng) -> (Vec<Level>, Vec<Level>) {
    let side = |rng: &mut ChaCha8Rng, side| {
        (0..BOOK_LEVELS)
            .map(|distance| level(side, distance, size(rng)))
            .collect::<Vec<_>>()
    };
    (side(rng, Side::Buy), side(rng, Side::Sell))
}

/// One update: 5 to 20 levels, mostly near the top (distance drawn from an exponential with a
/// mean of 12 ticks, capped to the book), one in eight a deletion.
fn update(rng: &mut ChaCha8Rng) -> (Vec<Level>, Vec<Level>) {
    let (mut bids, mut asks) = (Vec::new(), Vec::new());
    for _ in 0..rng.random_range(5..=20) {
        let distance = (-12.0 * (1.0 - rng.random::<f64>()).ln()) as u32;
        let distance = distance.min(BOOK_LEVELS - 1);
        let size = if rng.random_bool(0.125) {
            0.0
        } else {
            size(rng)
        };
        if rng.random_bool(0.5) {
            bids.push(level(Side::Buy, distance, size));
        } else {
            asks.push(level(Side::Sell, distance, size));
        }
    }
    (bids, asks)
}

fn book_updates(c: &mut Criterion) {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let (bids, asks) = snapshot(&mut rng);
    let mut start = OrderBook::new();
    start.apply_snapshot(&bids, &asks);
    let updates: Vec<_> = (0..UPDATES).map(|_| update(&mut rng)).collect();
    let levels: usize = updates.iter().map(|(b, a)| b.len() + a.len()).sum();

    let mut group = c.benchmark_group("book");
    group.throughput(Throughput::Elements(levels as u64));
    group.bench_function("apply_update levels", |b| {
        b.iter_batched_ref(
            || start.clone(),
            |book| {
                for (bids, asks) in &updates {
                    book.apply_update(bids, asks);
                }
            },
            BatchSize::LargeInput,
        )
    });
    group.throughput(Throughput::Elements(updates.len() as u64));
    group.bench_function("apply_update + whole-book obi per row", |b| {
        b.iter_batched_ref(
            || start.clone(),
            |book| {
                let mut sum = 0.0;
                for (bids, asks) in &updates {
                    book.apply_update(bids, asks);
                    sum += obi(book, None);
                }
                black_box(sum)
            },
            BatchSize::LargeInput,
        )
    });
    group.throughput(Throughput::Elements(1));
    group.bench_function("obi whole book (400 levels per side)", |b| {
        b.iter(|| obi(black_box(&start), None))
    });
    group.finish();
}

/// Three book rows per trade, 10 ms apart, starting with a snapshot: about 7 hours of
/// one-minute bars for 200,000 events.
fn events(n: usize) -> Vec<Event> {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let (bids, asks) = snapshot(&mut rng);
    let start = 1_736_899_200_000;
    let mut events = vec![Event::Book(BookRow {
        id: 0,
        ts: start,
        action: BookAction::Snapshot,
        bids,
        asks,
        seq: None,
    })];
    for i in 1..n {
        let ts = start + 10 * i as i64;
        let id = i as i64;
        if i % 4 == 0 {
            let side = if rng.random_bool(0.5) {
                Side::Buy
            } else {
                Side::Sell
            };
            let price = price(MID_TICK + rng.random_range(0..3) - 1);
            events.push(Event::Trade(Trade {
                id,
                ts,
                price,
                size: size(&mut rng),
                side,
            }));
        } else {
            let (bids, asks) = update(&mut rng);
            events.push(Event::Book(BookRow {
                id,
                ts,
                action: BookAction::Update,
                bids,
                asks,
                seq: None,
            }));
        }
    }
    events
}

fn processor(c: &mut Criterion) {
    let events = events(200_000);
    let config = ProcessorConfig {
        window_ms: 60_000,
        depth_levels: 50,
        obi_levels: None,
        start: events[0].ts(),
        end: i64::MAX,
    };
    let mut group = c.benchmark_group("processor");
    group.throughput(Throughput::Elements(events.len() as u64));
    group.bench_function("apply events (whole-book obi)", |b| {
        b.iter_batched_ref(
            || Processor::new(config),
            |processor| {
                for event in &events {
                    processor.apply(event);
                }
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

/// The events of a synthetic OKX-like recording (`orderflow synth`, 400 levels per side, a
/// book row every 100 ms, its trades), read through the source into memory: the realistic
/// stream, where about half of the level changes enter or leave the bottom of the book.
fn synth_events(minutes: f64) -> Vec<Event> {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let mut config = SynthConfig::new(dir.path());
    config.hours = minutes / 60.0;
    config.seed = 7;
    let report = synth::generate(&config, None).expect("a synthetic recording");
    let mut events = Vec::new();
    for file in &report.files {
        let mut recording = Recording::open(&file.path, &config.instrument).expect("readable");
        let mut stream = recording
            .read(i64::MAX, ReadMode::Threads(TradeOrder::Checked))
            .expect("readable");
        while let Next::Record(record) = stream.next().expect("readable") {
            if let Record::Event(event) = record {
                events.push(event);
            }
        }
    }
    events
}

fn synth_stream(c: &mut Criterion) {
    let events = synth_events(20.0);
    let rows: Vec<&BookRow> = events
        .iter()
        .filter_map(|event| match event {
            Event::Book(row) => Some(row),
            Event::Trade(_) => None,
        })
        .collect();
    let levels: usize = rows.iter().map(|row| row.bids.len() + row.asks.len()).sum();

    let mut group = c.benchmark_group("synth 20 min");
    group.sample_size(20);
    group.throughput(Throughput::Elements(levels as u64));
    group.bench_function("book rows applied (levels/s)", |b| {
        b.iter(|| {
            let mut book = OrderBook::new();
            for row in &rows {
                match row.action {
                    BookAction::Snapshot => book.apply_snapshot(&row.bids, &row.asks),
                    BookAction::Update => book.apply_update(&row.bids, &row.asks),
                }
            }
            black_box(book.len(BookSide::Bid))
        })
    });
    group.throughput(Throughput::Elements(events.len() as u64));
    let config = ProcessorConfig {
        window_ms: 60_000,
        depth_levels: 50,
        obi_levels: None,
        start: events[0].ts(),
        end: i64::MAX,
    };
    group.bench_function("processor, whole-book obi (events/s)", |b| {
        b.iter_batched_ref(
            || Processor::new(config),
            |processor| {
                for event in &events {
                    processor.apply(event);
                }
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, book_updates, processor, synth_stream);
criterion_main!(benches);
