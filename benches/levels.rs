//! Throughput of the level-text parser on OKX-style rows, in JSON and Python-literal notation:
//! seeded rows of 400 and 10 levels, and the rows of a synthetic recording.
//!
//! Run: `cargo bench --bench levels` (add `-- --quick` for a short run). With
//! `ORDERFLOW_BENCH_DB` naming a recording (an SQLite file with a `book` table), its level
//! texts too, as recorded and in Python notation.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use orderflow::source::parse_levels;
use orderflow::synth::{self, SynthConfig};

/// `n` OKX-style levels `["price","size","0","orders"]` around 41000.
fn okx_json(n: usize, seed: u64) -> String {
    let mut x = seed | 1;
    let levels: Vec<String> = (0..n)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let price = 41_000.0 + i as f64 * 0.1;
            let size = (x % 100_000_000) as f64 / 1e8;
            format!(r#"["{price:.1}","{size:.8}","0","{}"]"#, 1 + x % 20)
        })
        .collect();
    format!("[{}]", levels.join(","))
}

/// The same levels as Python's `str(list)` writes them.
fn python(json: &str) -> String {
    json.replace('"', "'").replace(',', ", ")
}

/// The level text of the book rows of a 10-minute synthetic OKX-like recording
/// (`orderflow synth`): one snapshot of 400 levels per side, then updates of ~18 levels.
fn synth_rows() -> Vec<String> {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let mut config = SynthConfig::new(dir.path());
    config.hours = 10.0 / 60.0;
    config.seed = 7;
    let report = synth::generate(&config, None).expect("a synthetic recording");
    let mut rows = Vec::new();
    for file in &report.files {
        let db = rusqlite::Connection::open(&file.path).expect("readable");
        let mut statement = db
            .prepare("SELECT bids, asks FROM book ORDER BY id")
            .expect("a book table");
        let mut cursor = statement.query([]).expect("readable");
        while let Some(row) = cursor.next().expect("readable") {
            for side in 0..2 {
                if let Ok(Some(text)) = row.get::<_, Option<String>>(side) {
                    rows.push(text);
                }
            }
        }
    }
    rows
}

/// The level texts of the recording named by `ORDERFLOW_BENCH_DB`, if any.
fn recorded_rows() -> Option<Vec<String>> {
    let path = std::env::var_os("ORDERFLOW_BENCH_DB")?;
    let db = rusqlite::Connection::open(&path).expect("a readable recording");
    let mut statement = db
        .prepare("SELECT bids, asks FROM book ORDER BY id")
        .expect("a book table");
    let mut cursor = statement.query([]).expect("readable");
    let mut rows = Vec::new();
    while let Some(row) = cursor.next().expect("readable") {
        for side in 0..2 {
            if let Ok(Some(text)) = row.get::<_, Option<String>>(side) {
                rows.push(text);
            }
        }
    }
    Some(rows)
}

fn bench(c: &mut Criterion) {
    let mut out = Vec::new();
    let mut group = c.benchmark_group("parse_levels");
    for (name, levels) in [("snapshot_400", 400), ("update_10", 10)] {
        let rows: Vec<String> = (0..64).map(|s| okx_json(levels, s + 1)).collect();
        for (notation, rows) in [
            ("json", rows.clone()),
            ("python", rows.iter().map(|r| python(r)).collect()),
        ] {
            let bytes: usize = rows.iter().map(String::len).sum();
            group.throughput(Throughput::Bytes(bytes as u64));
            group.bench_function(format!("{name}/{notation}"), |b| {
                b.iter(|| {
                    for row in &rows {
                        parse_levels(row.as_bytes(), &mut out).unwrap();
                    }
                    out.len()
                })
            });
        }
    }
    let rows = synth_rows();
    for (notation, rows) in [
        ("json", rows.clone()),
        ("python", rows.iter().map(|r| r.replace('"', "'")).collect()),
    ] {
        let bytes: usize = rows.iter().map(String::len).sum();
        group.throughput(Throughput::Bytes(bytes as u64));
        group.bench_function(format!("synth_10_min/{notation}"), |b| {
            b.iter(|| {
                for row in &rows {
                    parse_levels(row.as_bytes(), &mut out).unwrap();
                }
                out.len()
            })
        });
    }
    group.finish();
    let Some(rows) = recorded_rows() else {
        return;
    };
    let mut group = c.benchmark_group("parse_levels_recorded");
    group.sample_size(10);
    for (notation, rows) in [
        ("json", rows.clone()),
        ("python", rows.iter().map(|r| python(r)).collect()),
    ] {
        let bytes: usize = rows.iter().map(String::len).sum();
        group.throughput(Throughput::Bytes(bytes as u64));
        group.bench_function(notation, |b| {
            b.iter(|| {
                for row in &rows {
                    parse_levels(row.as_bytes(), &mut out).unwrap();
                }
                out.len()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
