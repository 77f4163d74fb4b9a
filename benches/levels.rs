//! Throughput of the level-text parser on OKX-style rows, in JSON and Python-literal notation.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use orderflow::source::parse_levels;

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
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
