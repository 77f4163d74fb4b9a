//! Property tests that stand in for the fuzzers of `fuzz/` in `cargo test`: the level parser on
//! arbitrary bytes and on level-like text, and reading mutated SQLite recordings. A short run by
//! default; the `#[ignore]`d ones run the long campaigns (`cargo test --test tests fuzz --
//! --ignored`). Inputs that ever broke something are kept below as regression cases.

use std::path::Path;

use orderflow::source::levels::parse_levels;
use orderflow::source::{Next, ReadMode, Record, Recording, TradeOrder};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use super::{DAY16, OTHER, sql};

/// Parses `text`; what is accepted must be valid levels (SPEC 1.3).
fn check_levels(text: &[u8]) {
    let mut levels = Vec::new();
    if parse_levels(text, &mut levels).is_ok() {
        for level in &levels {
            assert!(
                level.price.is_finite() && level.price > 0.0 && level.price <= 1e15,
                "{level:?} accepted from {:?}",
                String::from_utf8_lossy(text)
            );
            assert!(
                level.size.is_finite() && level.size >= 0.0 && level.size <= 1e15,
                "{level:?} accepted from {:?}",
                String::from_utf8_lossy(text)
            );
        }
    }
}

/// Text made of the pieces level text is made of, in any order.
fn level_like() -> impl Strategy<Value = String> {
    let piece = prop::sample::select(vec![
        "[",
        "]",
        "(",
        ")",
        ",",
        "\"",
        "'",
        " ",
        "0",
        "1",
        "9",
        ".",
        "e",
        "E",
        "-",
        "+",
        "1e400",
        "NaN",
        "nan",
        "inf",
        "None",
        "null",
        "true",
        "1e15",
        "1e-400",
        "00",
        "\\",
        "\\\"",
        "{",
        "}",
        ":",
        "[\"100\",\"1\"]",
        "('99', 2)",
        "\u{0}",
        "\u{e9}",
        "\u{ff11}",
    ]);
    prop::collection::vec(piece, 0..200).prop_map(|pieces| pieces.concat())
}

fn levels_campaign(cases: u32) {
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&prop::collection::vec(any::<u8>(), 0..512), |bytes| {
            check_levels(&bytes);
            Ok(())
        })
        .unwrap();
    runner
        .run(&level_like(), |text| {
            check_levels(text.as_bytes());
            Ok(())
        })
        .unwrap();
}

#[test]
fn the_level_parser_never_panics_and_accepts_only_valid_levels() {
    levels_campaign(3_000);
}

#[test]
#[ignore = "long campaign: 200,000 cases of each kind (about a minute)"]
fn the_level_parser_long_campaign() {
    levels_campaign(200_000);
}

/// Inputs that once broke a parser somewhere, or that sit on its edges.
#[test]
fn level_parser_regressions() {
    for text in [
        &b""[..],
        b"[",
        b"]",
        b"[[",
        b"[[\"",
        b"[[\"1",
        b"[['1', '2'",
        b"[[1e400,1]]",
        b"[[1e-400,1]]",
        b"[[\"-0\",\"1\"]]",
        b"[[\"1\",\"-0\"]]",
        b"[[\"\\u0031\",\"1\"]]",
        b"[[\"1\\",
        b"[(1,2,),]",
        b"[[1,2]]]]]]",
        b"\xff\xfe[[1,2]]",
        b"[[\"1\xff\",\"2\"]]",
        b"[[99999999999999999999999999999999999999,1]]",
        b"[[1.0000000000000000000000000000000000001,1]]",
        b"[[0x10,1]]",
        b"[[1,2,[[[[[[[[[[[[[[[[[[[[",
    ] {
        check_levels(text);
    }
}

/// A small valid recording: 300 book rows and 300 trades on several pages.
fn seed_recording(dir: &Path) -> Vec<u8> {
    let path = dir.join("seed.db");
    let mut rows = String::new();
    for i in 0..300 {
        let action = if i == 0 { "snapshot" } else { "update" };
        rows.push_str(&format!(
            "INSERT INTO book VALUES ({id}, 'BTC-USDT', '{action}', '[[\"{bid}\",\"1.5\",\"0\",\"1\"]]', '[(''{ask}'', 2)]', @DAY16+{t});
             INSERT INTO trades VALUES ({id}, 'BTC-USDT', 't{i}', {price}, 0.5, '{side}', @DAY16+{t}+5);",
            id = i + 1,
            bid = 100 + i % 9,
            ask = 110 + i % 7,
            t = i * 1000,
            price = 105 + i % 5,
            side = if i % 2 == 0 { "buy" } else { "sell" },
        ));
    }
    sql(
        &path,
        &format!("PRAGMA page_size = 1024; {}{rows}", crate::common::SCHEMA),
    );
    std::fs::read(path).unwrap()
}

/// Opens and reads the recording in `bytes`: any outcome but a panic or an endless loop.
fn read_recording(dir: &Path, bytes: &[u8]) -> usize {
    let path = dir.join(OTHER);
    std::fs::write(&path, bytes).unwrap();
    let Ok(mut recording) = Recording::open(&path, "BTC-USDT") else {
        return 0;
    };
    let mode = ReadMode::Threads(TradeOrder::Checked);
    let Ok(mut events) = recording.read(DAY16 + 86_400_000, mode) else {
        return 0;
    };
    let mut records = 0;
    while records < 100_000 {
        match events.next() {
            Ok(Next::Record(Record::Event(_) | Record::Bad(_))) => records += 1,
            Ok(Next::End(_)) | Err(_) => break,
        }
    }
    records
}

/// A mutation of a file: flipped bytes, an overwritten run, or a cut.
#[derive(Debug, Clone)]
enum Mutation {
    Flip(Vec<(usize, u8)>),
    Overwrite { at: usize, len: usize, byte: u8 },
    Truncate(usize),
}

fn mutation(len: usize) -> impl Strategy<Value = Mutation> {
    prop_oneof![
        prop::collection::vec((0..len, 1..=255u8), 1..16).prop_map(Mutation::Flip),
        (0..len, 1..2048usize, any::<u8>()).prop_map(|(at, len, byte)| Mutation::Overwrite {
            at,
            len,
            byte
        }),
        (0..len).prop_map(Mutation::Truncate),
    ]
}

fn apply(seed: &[u8], mutation: &Mutation) -> Vec<u8> {
    let mut bytes = seed.to_vec();
    match mutation {
        Mutation::Flip(flips) => {
            for (at, mask) in flips {
                bytes[*at] ^= mask;
            }
        }
        Mutation::Overwrite { at, len, byte } => {
            let end = (at + len).min(bytes.len());
            bytes[*at..end].fill(*byte);
        }
        Mutation::Truncate(len) => bytes.truncate(*len),
    }
    bytes
}

fn recordings_campaign(cases: u32) {
    let dir = tempfile::tempdir().unwrap();
    let seed = seed_recording(dir.path());
    assert_eq!(
        read_recording(dir.path(), &seed),
        600,
        "the seed reads whole"
    );
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&mutation(seed.len()), |mutation| {
            read_recording(dir.path(), &apply(&seed, &mutation));
            Ok(())
        })
        .unwrap();
}

#[test]
fn mutated_recordings_never_panic() {
    recordings_campaign(150);
}

#[test]
#[ignore = "long campaign: 20,000 mutated recordings (a few minutes)"]
fn mutated_recordings_long_campaign() {
    recordings_campaign(20_000);
}
