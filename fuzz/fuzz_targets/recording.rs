//! Opening and reading a recording whose bytes are anything (seeded with valid recordings, so
//! the mutations are of real SQLite files): never a panic, whatever the file holds.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use orderflow::source::{Next, ReadMode, Record, Recording, TradeOrder};

/// Most records read from one input; a mutated file cannot make the loop endless.
const MAX_RECORDS: usize = 100_000;

fn folder() -> &'static std::path::Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().unwrap()).path()
}

fuzz_target!(|bytes: &[u8]| {
    let path = folder().join("BTC-USDT-2025-01-16.db");
    std::fs::write(&path, bytes).unwrap();
    let Ok(mut recording) = Recording::open(&path, "BTC-USDT") else {
        return;
    };
    let Ok(mut events) = recording.read(i64::MAX, ReadMode::Threads(TradeOrder::Checked)) else {
        return;
    };
    for _ in 0..MAX_RECORDS {
        match events.next() {
            Ok(Next::Record(Record::Event(_) | Record::Bad(_))) => {}
            Ok(Next::End(_)) | Err(_) => break,
        }
    }
});
