//! `GET /api/heatmap` (SPEC 7) of `orderflow run` against a straightforward model: the book
//! replayed, its state taken at each slice end, rows summed, means over each column's present
//! slices; on recordings with warm-up rows, re-snapshots and a range that starts mid-file.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use serde_json::Value;

use crate::common::{Fixture, listening_address, replay_command};
use crate::reliability::child::Child;

/// 2025-01-15T00:00:00Z in ms.
const DAY: i64 = 1_736_899_200_000;

/// One row of a generated recording, in time order.
#[derive(Clone)]
enum Row {
    Book {
        ts: i64,
        snapshot: bool,
        bids: Vec<(f64, f64)>,
        asks: Vec<(f64, f64)>,
    },
    Trade {
        ts: i64,
        price: f64,
        size: f64,
        buy: bool,
    },
}

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// A recording from `t0`: updates before the first snapshot, re-snapshots, gaps of many
/// slices, trades between book rows.
fn rows(seed: u64, count: usize, t0: i64) -> Vec<Row> {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut ts = t0;
    let mut mid: i64 = 420_000;
    let mut out = Vec::new();
    for i in 0..count {
        ts += match rng.below(30) {
            0 => rng.below(15) as i64 * 1000,
            1..=4 => 0,
            _ => rng.below(300) as i64,
        };
        mid += rng.below(5) as i64 - 2;
        if rng.below(4) == 0 {
            out.push(Row::Trade {
                ts,
                price: mid as f64 / 10.0,
                size: (rng.below(100) + 1) as f64 / 100.0,
                buy: rng.below(2) == 0,
            });
            continue;
        }
        let snapshot = i == 5 || (i > 5 && rng.below(40) == 0);
        let n = if snapshot { 15 } else { rng.below(4) as usize };
        let mut side = |sign: i64| -> Vec<(f64, f64)> {
            (0..n)
                .map(|_| {
                    let ticks = mid + sign * (1 + rng.below(30) as i64);
                    let size = if rng.below(6) == 0 {
                        0.0
                    } else {
                        (rng.below(90_000) + 1) as f64 / 10_000.0
                    };
                    (ticks as f64 / 10.0, size)
                })
                .collect()
        };
        let bids = side(-1);
        let asks = side(1);
        out.push(Row::Book {
            ts,
            snapshot,
            bids,
            asks,
        });
    }
    out
}

fn levels_text(levels: &[(f64, f64)]) -> String {
    let items: Vec<String> = levels
        .iter()
        .map(|(p, s)| format!("[\"{p}\",\"{s}\",\"0\",\"1\"]"))
        .collect();
    format!("[{}]", items.join(","))
}

fn write(rows: &[Row]) -> crate::common::Done {
    let mut fixture = Fixture::new("BTC-USDT-2025-01-15.db").standard();
    for (id, row) in rows.iter().enumerate() {
        let id = id as i64 + 1;
        fixture = match row {
            Row::Book {
                ts,
                snapshot,
                bids,
                asks,
            } => fixture.book(
                id,
                *ts,
                if *snapshot { "snapshot" } else { "update" },
                &levels_text(bids),
                &levels_text(asks),
            ),
            Row::Trade {
                ts,
                price,
                size,
                buy,
            } => fixture.trade(id, *ts, *price, *size, if *buy { "buy" } else { "sell" }),
        };
    }
    fixture.done()
}

type Book = [BTreeMap<u64, f64>; 2];

/// `(ts, [(price, bid, ask)])` per column.
type Columns = Vec<(i64, Vec<(f64, f64, f64)>)>;

/// The book at the end of every present slice (SPEC 7): the rows (in time order) replayed,
/// the state taken when the next row lies beyond the slice's end.
fn states(rows: &[Row], start: i64, slice: i64) -> BTreeMap<i64, Book> {
    let ts_of = |row: &Row| match row {
        Row::Book { ts, .. } | Row::Trade { ts, .. } => *ts,
    };
    let last = rows
        .iter()
        .map(ts_of)
        .filter(|ts| *ts >= start)
        .max()
        .unwrap();
    let mut states = BTreeMap::new();
    let mut book: Book = Default::default();
    let mut initialised = false;
    let mut next = 0;
    for k in start.div_euclid(slice)..=last.div_euclid(slice) {
        while next < rows.len() && ts_of(&rows[next]) < (k + 1) * slice {
            if let Row::Book {
                snapshot,
                bids,
                asks,
                ..
            } = &rows[next]
            {
                initialised |= *snapshot;
                for (side, levels) in [(0, bids), (1, asks)] {
                    if *snapshot {
                        book[side].clear();
                    }
                    for (price, size) in levels {
                        if *size == 0.0 {
                            if !*snapshot {
                                book[side].remove(&price.to_bits());
                            }
                        } else {
                            book[side].insert(price.to_bits(), *size);
                        }
                    }
                }
            }
            next += 1;
        }
        if initialised {
            states.insert(k, book.clone());
        }
    }
    states
}

/// Columns of SPEC 7, `[(ts, [(price, bid, ask)])]`: each slice's sizes summed per row, the
/// means over each column's present slices.
fn model(states: &BTreeMap<i64, Book>, slice: i64, query: (i64, i64, i64, f64)) -> Columns {
    let (from, to, step, r) = query;
    let (first, last) = (
        *states.keys().next().unwrap(),
        *states.keys().next_back().unwrap(),
    );
    let mut columns = Vec::new();
    let mut column = (-(-from).div_euclid(step)).max(first * slice / step);
    while column * step < to && column * step <= last * slice {
        let present: Vec<_> = states
            .range(column * step / slice..(column + 1) * step / slice)
            .map(|(_, book)| book)
            .collect();
        if !present.is_empty() {
            let mut total: BTreeMap<i64, (f64, f64)> = BTreeMap::new();
            for book in &present {
                for (side, levels) in book.iter().enumerate() {
                    for (bits, size) in levels {
                        let cell = total
                            .entry((f64::from_bits(*bits) / r).floor() as i64)
                            .or_default();
                        if side == 0 {
                            cell.0 += size;
                        } else {
                            cell.1 += size;
                        }
                    }
                }
            }
            let n = present.len() as f64;
            columns.push((
                column * step,
                total
                    .into_iter()
                    .filter(|(_, (b, a))| *b != 0.0 || *a != 0.0)
                    .map(|(row, (b, a))| (row as f64 * r, b / n, a / n))
                    .collect(),
            ));
        }
        column += 1;
    }
    columns
}

fn get(address: SocketAddr, target: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    stream
        .write_all(
            format!("GET {target} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let code = answer.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    // A chunked body: take the JSON between the chunk sizes.
    let body = if answer
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(&body)
    } else {
        body
    };
    (code, body)
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.push_str(&rest[..size]);
        body = &rest[size + 2..];
    }
    out
}

/// `orderflow run` on `data` over `range`, serving on a free port, once the run is done.
fn run(data: &std::path::Path, start: &str, end: &str, extra: &[&str]) -> (Child, SocketAddr) {
    let mut args = vec![
        "run",
        "BTC-USDT",
        start,
        end,
        "--data-dir",
        data.to_str().unwrap(),
        "--port",
        "0",
    ];
    args.extend_from_slice(extra);
    let child = Child::spawn(&args);
    let line = child.wait_for_line("listening on http://", Duration::from_secs(60));
    let address = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap()
        .parse()
        .unwrap();
    child.wait_for_line("processing finished", Duration::from_secs(120));
    (child, address)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

fn check(got: &Value, want: &Columns, at: &str) {
    let columns = got["columns"]
        .as_array()
        .unwrap_or_else(|| panic!("{at}: {got}"));
    let ts: Vec<i64> = columns.iter().map(|c| c[0].as_i64().unwrap()).collect();
    assert_eq!(
        ts,
        want.iter().map(|c| c.0).collect::<Vec<_>>(),
        "{at}: columns"
    );
    for (column, (ts, rows)) in columns.iter().zip(want) {
        let got_rows = column[1].as_array().unwrap();
        assert_eq!(
            got_rows.len(),
            rows.len(),
            "{at}: rows of column {ts}: {column}"
        );
        for (g, (price, bid, ask)) in got_rows.iter().zip(rows) {
            let g: Vec<f64> = g
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect();
            assert!(
                g[0] == *price && close(g[1], *bid) && close(g[2], *ask),
                "{at}: column {ts}: got {g:?}, want {:?}",
                (price, bid, ask)
            );
        }
    }
}

#[test]
fn the_api_answers_spec_7_at_every_zoom_on_a_range_that_starts_mid_file() {
    let rows = rows(7, 1500, DAY + 3_600_000);
    let t0 = DAY + 3_600_000;
    let t1 = match rows.last().unwrap() {
        Row::Book { ts, .. } | Row::Trade { ts, .. } => *ts,
    };
    let file = write(&rows);
    // START a third into the file: the rows before it are warm-up.
    let start = t0 + (t1 - t0) / 3;
    let start_text = chrono_like(start);
    let (child, address) = run(
        file.dir.path(),
        &start_text,
        "2025-01-15",
        &["--heatmap-ms", "500"],
    );
    let slice = 500;
    let states = states(&rows, start, slice);
    let mut queries = Vec::new();
    for step in [500, 1000, 3500, 60_000] {
        for row in [0.1, 0.5, 2.5, 1000.0] {
            for (from, to) in [
                (0, i64::MAX),
                (start, t1),
                (start + 1234, start + (t1 - start) / 2 + 17),
                (t1 - 1, t1 + 1),
                (t1 + step, t1 + 10 * step),
            ] {
                queries.push((from, to, step, row));
            }
        }
    }
    for query in queries {
        let (from, to, step, row) = query;
        let (code, body) = get(
            address,
            &format!("/api/heatmap?from={from}&to={to}&step={step}&row={row}"),
        );
        assert_eq!(code, 200, "{body}");
        let got: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(got["slice_ms"], 500);
        assert_eq!(got["step"], step);
        assert_eq!(got["row"].as_f64(), Some(row));
        check(&got, &model(&states, slice, query), &format!("{query:?}"));
    }
    // Defaults: the whole heatmap, and the server says what it picked.
    let (code, body) = get(address, "/api/heatmap");
    assert_eq!(code, 200, "{body}");
    let got: Value = serde_json::from_str(&body).unwrap();
    let (from, to, step, row) = (
        got["from"].as_i64().unwrap(),
        got["to"].as_i64().unwrap(),
        got["step"].as_i64().unwrap(),
        got["row"].as_f64().unwrap(),
    );
    assert!(
        step > 0 && step % slice == 0 && row > 0.0,
        "{}",
        &body[..200.min(body.len())]
    );
    assert!(from <= start && to > t1, "{from} {to}");
    check(
        &got,
        &model(&states, slice, (from, to, step, row)),
        "defaults",
    );
    drop(child);
}

#[test]
fn bad_parameters_get_a_400_that_says_what_is_wrong() {
    let rows = rows(3, 200, DAY + 60_000);
    let file = write(&rows);
    let (child, address) = run(file.dir.path(), "2025-01-15", "2025-01-15", &[]);
    for (query, says) in [
        ("step=1500", "multiple of the slice length, 1000 ms"),
        ("step=0", "positive multiple"),
        ("step=-1000", "positive multiple"),
        ("step=abc", "`step` must be"),
        ("row=0", "`row` must be"),
        ("row=-1", "`row` must be"),
        ("row=NaN", "`row` must be"),
        ("row=inf", "`row` must be"),
        ("from=x", "`from` must be"),
        ("to=1.5", "`to` must be"),
        ("from=2000&to=1000", "after `to`"),
        ("color=red", "unknown query parameter `color`"),
    ] {
        let (code, body) = get(address, &format!("/api/heatmap?{query}"));
        assert_eq!(code, 400, "{query}: {body}");
        assert!(body.contains(says), "{query}: {body}");
    }
    // An empty range is no error: no columns.
    let (code, body) = get(address, "/api/heatmap?from=5000&to=5000");
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("\"columns\":[]"), "{body}");
    drop(child);
}

/// `ms` as an RFC 3339 UTC time with milliseconds.
fn chrono_like(ms: i64) -> String {
    let in_day = ms - DAY;
    assert!(
        (0..86_400_000).contains(&in_day),
        "the tests stay on 2025-01-15"
    );
    format!(
        "2025-01-15T{:02}:{:02}:{:02}.{:03}Z",
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000
    )
}

/// SPEC 8: after a seek to `T` the heatmap is that of a run whose END is `T` (its last slice
/// the book after the events below `T`), forward and back, across checkpoints.
#[test]
fn after_a_seek_the_heatmap_is_that_of_a_run_ending_there() {
    let rows = rows(11, 1200, DAY + 3_600_000);
    let t0 = DAY + 3_600_000;
    let t1 = match rows.last().unwrap() {
        Row::Book { ts, .. } | Row::Trade { ts, .. } => *ts,
    };
    let file = write(&rows);
    let start = t0 + (t1 - t0) / 4;
    let start_text = chrono_like(start);
    let child = Child::spawn(&[
        "run",
        "BTC-USDT",
        &start_text,
        "2025-01-15",
        "--data-dir",
        file.dir.path().to_str().unwrap(),
        "--port",
        "0",
        "--paused",
        "--heatmap-ms",
        "500",
        "--checkpoint-events",
        "200",
    ]);
    let address =
        listening_address(&child.wait_for_line("listening on http://", Duration::from_secs(60)));
    let slice = 500;
    let span = t1 - start;
    // Forward, back past a checkpoint, onto a slice edge, between two rows, to the end.
    let seeks = [
        start + span / 2 + 137,
        start + span / 5 + 3,
        (start + span * 3 / 4) / slice * slice,
        start + span * 3 / 4 + 1,
        start + span / 3,
        t1 + 1,
    ];
    for to in seeks {
        let status = replay_command(address, &format!(r#"{{"action":"seek","to":{to}}}"#));
        assert_eq!(status["position"], to, "{status}");
        assert_ne!(status["phase"], "seeking", "{status}");
        let before: Vec<Row> = rows
            .iter()
            .filter(|row| match row {
                Row::Book { ts, .. } | Row::Trade { ts, .. } => *ts < to,
            })
            .cloned()
            .collect();
        let states = states(&before, start, slice);
        for query in [(0, i64::MAX, 500, 0.5), (start, to + 5000, 3500, 2.5)] {
            let (from, until, step, row) = query;
            let (code, body) = get(
                address,
                &format!("/api/heatmap?from={from}&to={until}&step={step}&row={row}"),
            );
            assert_eq!(code, 200, "{body}");
            let got: Value = serde_json::from_str(&body).unwrap();
            check(
                &got,
                &model(&states, slice, query),
                &format!("after a seek to {to}: {query:?}"),
            );
        }
    }
    drop(child);
}
