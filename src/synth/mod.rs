//! Synthetic recordings: SQLite files in the recorder's schema (SPEC 1.2), one per UTC day.
//!
//! [`generate`] runs a seeded market model ([`market`]) on a fixed grid of book rows (every
//! `book_interval_ms`) and writes what a recorder of OKX's `books` and `trades` channels would
//! have stored: a `snapshot` row of `snapshot_levels` a side first in each day file, then
//! `update` rows with the changed levels (size `"0"` deletes), and the trades between two rows,
//! each at the best ask (taker `buy`) or best bid (taker `sell`) of the book written before it.
//! The same configuration gives byte-identical files.

mod live;
mod market;
mod text;
mod writer;

#[cfg(test)]
mod tests;

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use indicatif::ProgressBar;

use crate::engine::Millis;
pub use live::{LiveOptions, record_live};
use market::{BookSide, Fill, Market, MarketParams};
use text::Notation;
pub use writer::Journal;
use writer::{BookInsert, DayFile, TradeInsert};

const DAY_MS: Millis = 86_400_000;
/// 2000-01-01 and 2100-01-01 UTC: the plausible window of SPEC 1.4.
const EARLIEST_MS: Millis = 946_684_800_000;
const LATEST_MS: Millis = 4_102_444_800_000;

/// What to generate. [`SynthConfig::new`] gives the defaults: BTC-USDT from 2025-01-15 00:00
/// UTC for one hour, like OKX's BTC-USDT spot market.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthConfig {
    /// Folder the day files are written into (created if missing).
    pub out_dir: PathBuf,
    /// Instrument name, used in the rows and the file names.
    pub instrument: String,
    /// Time of the first book row, ms since the epoch (UTC).
    pub start_ms: Millis,
    /// Length of the recording in hours (fractions allowed).
    pub hours: f64,
    /// Seed of the random generator: same seed and options, same bytes.
    pub seed: u64,
    /// Time between two book rows (OKX sends `books` every 100 ms).
    pub book_interval_ms: u32,
    /// Mean number of trade rows per minute (bursts come and go around it).
    pub trades_per_minute: f64,
    /// Levels per side in the snapshot, and kept in the book.
    pub snapshot_levels: usize,
    /// Price step; its decimals are the decimals of every price written.
    pub tick_size: f64,
    /// Mid price at the start.
    pub start_price: f64,
    /// Decimals of sizes (OKX BTC-USDT: 8).
    pub size_decimals: u32,
    /// Daily volatility of the mid price, as a fraction (0.02 = 2 %).
    pub daily_volatility: f64,
    /// Fraction of book messages lost on the way (0 to 1): their rows are not written, so the
    /// next row's `prevSeqId` names a message that is missing (a gap, SPEC 10.2), and the
    /// book read back is wrong until the next snapshot. Never the first row of a file.
    pub drop_rate: f64,
    /// A snapshot row (a resubscription) every this many ms of the day, besides the first row
    /// of each file; `None`: only the first.
    pub snapshot_every_ms: Option<Millis>,
}

/// 2025-01-15 00:00:00 UTC, the default start: a fixed date keeps the default output fixed.
pub const DEFAULT_START_MS: Millis = 1_736_899_200_000;

impl SynthConfig {
    /// The defaults, writing into `out_dir`.
    pub fn new(out_dir: impl Into<PathBuf>) -> Self {
        SynthConfig {
            out_dir: out_dir.into(),
            instrument: "BTC-USDT".to_owned(),
            start_ms: DEFAULT_START_MS,
            hours: 1.0,
            seed: 1,
            book_interval_ms: 100,
            trades_per_minute: 1_200.0,
            snapshot_levels: 400,
            tick_size: 0.1,
            start_price: 96_000.0,
            size_decimals: 8,
            daily_volatility: 0.02,
            drop_rate: 0.0,
            snapshot_every_ms: None,
        }
    }

    /// End of the recording (exclusive), ms since the epoch.
    pub fn end_ms(&self) -> Millis {
        self.start_ms + (self.hours * 3_600_000.0).round() as Millis
    }
}

/// A day file that was written.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthFile {
    pub path: PathBuf,
    pub book_rows: u64,
    pub trades: u64,
    /// Timestamps of the first and last book row.
    pub first_ts: Millis,
    pub last_ts: Millis,
    /// Size of the file.
    pub bytes: u64,
}

/// What [`generate`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthReport {
    /// The day files, oldest first.
    pub files: Vec<SynthFile>,
    pub book_rows: u64,
    pub trades: u64,
    /// Bytes of level text in the `bids` and `asks` columns.
    pub level_text_bytes: u64,
    /// Bytes of all files written.
    pub file_bytes: u64,
    /// Wall time of the generation.
    pub elapsed: std::time::Duration,
}

/// Why a recording could not be generated.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    #[error("invalid synth option {option}: {problem}")]
    InvalidConfig {
        option: &'static str,
        problem: String,
    },
    #[error("cannot create the output folder {}: {source}; choose a folder you can write to", path.display())]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{} already exists: synth and demo never replace a file, and nothing was written; \
         move it away yourself, or write into a new or empty folder (synth --out, demo --data-dir)",
        path.display()
    )]
    Exists { path: PathBuf },
    #[error("cannot write {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write the SQLite file {}: {source}", path.display())]
    Sqlite {
        path: PathBuf,
        source: rusqlite::Error,
    },
}

/// A validated configuration in integer units.
#[derive(Debug)]
struct Plan {
    notation: Notation,
    params: MarketParams,
    end_ms: Millis,
    steps: u64,
}

fn invalid(option: &'static str, problem: impl Into<String>) -> SynthError {
    SynthError::InvalidConfig {
        option,
        problem: problem.into(),
    }
}

impl Plan {
    fn new(c: &SynthConfig) -> Result<Plan, SynthError> {
        let name_ok = !c.instrument.is_empty()
            && !c.instrument.starts_with('.')
            && c.instrument
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || "-_.".contains(ch));
        if !name_ok {
            return Err(invalid(
                "--instrument",
                format!(
                    "{:?} must be letters, digits, '-', '_' or '.', such as BTC-USDT",
                    c.instrument
                ),
            ));
        }
        if !(c.hours.is_finite() && c.hours > 0.0 && c.hours <= 24.0 * 3_660.0) {
            return Err(invalid(
                "--hours",
                format!("{} must be a number of hours above 0", c.hours),
            ));
        }
        if !(1..=3_600_000).contains(&c.book_interval_ms) {
            return Err(invalid(
                "--book-interval-ms",
                "must be from 1 to 3,600,000 ms",
            ));
        }
        if !(1..=10_000).contains(&c.snapshot_levels) {
            return Err(invalid(
                "--levels",
                "must be from 1 to 10,000 levels a side",
            ));
        }
        if !(c.trades_per_minute.is_finite() && (0.0..=1e6).contains(&c.trades_per_minute)) {
            return Err(invalid(
                "--trades-per-minute",
                "must be from 0 to 1,000,000",
            ));
        }
        if !(c.daily_volatility.is_finite() && (0.0..=1.0).contains(&c.daily_volatility)) {
            return Err(invalid(
                "--daily-volatility",
                "must be a fraction from 0 to 1 (0.02 = 2 %)",
            ));
        }
        if !(c.drop_rate.is_finite() && (0.0..=1.0).contains(&c.drop_rate)) {
            return Err(invalid(
                "--drop-rate",
                "must be a fraction from 0 to 1 (0.01 = 1 % of book messages lost)",
            ));
        }
        if c.snapshot_every_ms.is_some_and(|every| every < 1) {
            return Err(invalid("--snapshot-every-minutes", "must be above 0"));
        }
        if c.size_decimals > 12 {
            return Err(invalid("--size-decimals", "must be at most 12"));
        }
        let price_decimals = (0..=8u32)
            .find(|d| {
                let x = c.tick_size * 10f64.powi(*d as i32);
                x.round() >= 1.0 && (x - x.round()).abs() <= 1e-9 * x
            })
            .filter(|_| c.tick_size.is_finite() && c.tick_size > 0.0)
            .ok_or_else(|| {
                invalid(
                    "--tick-size",
                    format!(
                        "{} must be above 0 with at most 8 decimals, such as 0.1",
                        c.tick_size
                    ),
                )
            })?;
        let tick_units = (c.tick_size * 10f64.powi(price_decimals as i32)).round() as u64;
        let min_ticks = c.snapshot_levels as f64 * 8.0 + 200.0;
        if !(c.start_price.is_finite() && c.start_price / c.tick_size >= min_ticks) {
            return Err(invalid(
                "--start-price",
                format!(
                    "{} leaves no room for the book: give at least {} ticks",
                    c.start_price,
                    min_ticks * c.tick_size
                ),
            ));
        }
        // Prices stay exact as f64 (integers below 2^53 at the price scale), with room to move.
        if c.start_price * 10f64.powi(price_decimals as i32) > 1e14
            || c.start_price / c.tick_size > 1e12
        {
            return Err(invalid(
                "--start-price",
                "is too large for the tick size's decimals",
            ));
        }
        let end_ms = c.end_ms();
        if c.start_ms < EARLIEST_MS || end_ms > LATEST_MS {
            return Err(invalid(
                "--start",
                "the recording must lie between 2000 and 2100 (UTC)",
            ));
        }
        let interval = Millis::from(c.book_interval_ms);
        let steps = ((end_ms - c.start_ms) + interval - 1) / interval;
        Ok(Plan {
            notation: Notation {
                tick_units,
                price_decimals,
                size_decimals: c.size_decimals,
            },
            params: MarketParams {
                start_ticks: (c.start_price / c.tick_size).round() as i64,
                tick_size: c.tick_size,
                size_scale: 10f64.powi(c.size_decimals as i32),
                levels: c.snapshot_levels,
                interval_ms: interval,
                trades_per_minute: c.trades_per_minute,
                daily_vol: c.daily_volatility,
            },
            end_ms,
            steps: steps as u64,
        })
    }
}

/// The file name of the day that starts at `day_start`: `{INSTRUMENT}-{YYYY-MM-DD}.db`.
pub fn day_file_name(instrument: &str, day_start: Millis) -> String {
    let date = chrono::DateTime::from_timestamp_millis(day_start)
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_default();
    format!("{instrument}-{date}.db")
}

/// The day files that `config` writes, oldest first.
pub fn day_files(config: &SynthConfig) -> Result<Vec<PathBuf>, SynthError> {
    let plan = Plan::new(config)?;
    let last_ts = config.start_ms + (plan.steps.max(1) - 1) as Millis * plan.params.interval_ms;
    let first_day = config.start_ms.div_euclid(DAY_MS);
    let last_day = last_ts.div_euclid(DAY_MS);
    Ok((first_day..=last_day)
        .map(|day| {
            config
                .out_dir
                .join(day_file_name(&config.instrument, day * DAY_MS))
        })
        .collect())
}

/// Writes the recording described by `config`, one file per UTC day, and returns what it wrote.
/// Each file appears under its final name only when complete, and never in place of an existing
/// file: when one of the day files exists, nothing is written at all. `progress`, when given,
/// gets the number of book rows as its length and advances as they are written.
///
/// # Errors
/// [`SynthError::InvalidConfig`] for an option out of range; [`SynthError::Exists`] when a day
/// file already exists (or appears while writing); the I/O and SQLite variants when the output
/// folder or a file cannot be written.
pub fn generate(
    config: &SynthConfig,
    progress: Option<&ProgressBar>,
) -> Result<SynthReport, SynthError> {
    let started = Instant::now();
    let plan = Plan::new(config)?;
    // Any entry counts, a dangling link too: it is not ours to replace.
    if let Some(path) = day_files(config)?
        .into_iter()
        .find(|path| path.symlink_metadata().is_ok())
    {
        return Err(SynthError::Exists { path });
    }
    std::fs::create_dir_all(&config.out_dir).map_err(|source| SynthError::CreateDir {
        path: config.out_dir.clone(),
        source,
    })?;
    crate::output::temp::remove_stale(&config.out_dir);
    if let Some(bar) = progress {
        bar.set_length(plan.steps);
        bar.set_position(0);
    }

    let interval = plan.params.interval_ms;
    let mut rows = Rows::new(config, &plan);
    let mut report = SynthReport {
        files: Vec::new(),
        book_rows: 0,
        trades: 0,
        level_text_bytes: 0,
        file_bytes: 0,
        elapsed: Default::default(),
    };

    let mut step = 0u64;
    while step < plan.steps {
        let first_ts = config.start_ms + step as Millis * interval;
        let day_start = first_ts.div_euclid(DAY_MS) * DAY_MS;
        let file_end = (day_start + DAY_MS).min(plan.end_ms);
        let file = DayFile::create(
            config
                .out_dir
                .join(day_file_name(&config.instrument, day_start)),
        )?;
        let mut summary = SynthFile::new(file.path(), first_ts);
        {
            let mut inserts = file.inserts(&config.instrument)?;
            loop {
                let ts = config.start_ms + step as Millis * interval;
                if step >= plan.steps || ts >= file_end {
                    break;
                }
                rows.step(step, ts, day_start, file_end, &mut inserts, &mut summary)
                    .map_err(|e| file.error(e))?;
                step += 1;
                if step % 1024 == 0 {
                    if let Some(bar) = progress {
                        bar.set_position(step);
                    }
                }
            }
        }
        summary.bytes = file.finish()?;
        report.book_rows += summary.book_rows;
        report.trades += summary.trades;
        report.file_bytes += summary.bytes;
        report.files.push(summary);
    }
    report.level_text_bytes = rows.level_text_bytes;
    if let Some(bar) = progress {
        bar.set_position(plan.steps);
    }
    report.elapsed = started.elapsed();
    Ok(report)
}

/// A hash of `(seed, step)` (splitmix64): decisions that must not draw from the market's
/// random generator, so that the market is the same with and without them.
fn mix(seed: u64, step: u64) -> u64 {
    let mut z = seed
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(step)
        .wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Whether the book message of `step` is lost, with probability `rate`.
fn dropped(seed: u64, step: u64, rate: f64) -> bool {
    let uniform = (mix(seed ^ 0xD809, step) >> 11) as f64 / (1u64 << 53) as f64;
    rate > 0.0 && uniform < rate
}

impl SynthFile {
    fn new(path: &std::path::Path, first_ts: Millis) -> Self {
        SynthFile {
            path: path.to_owned(),
            book_rows: 0,
            trades: 0,
            first_ts,
            last_ts: first_ts,
            bytes: 0,
        }
    }
}

/// The rows of each step of the market, written by a batch ([`generate`]) or at real pace
/// (`live.rs`) alike.
struct Rows<'c> {
    config: &'c SynthConfig,
    notation: Notation,
    interval: Millis,
    market: Market,
    bids: Vec<u8>,
    asks: Vec<u8>,
    fills: Vec<Fill>,
    trade_id: String,
    price_scale: f64,
    size_scale: f64,
    seq_id: i64,
    level_text_bytes: u64,
}

impl<'c> Rows<'c> {
    fn new(config: &'c SynthConfig, plan: &Plan) -> Self {
        Rows {
            config,
            notation: plan.notation,
            interval: plan.params.interval_ms,
            market: Market::new(plan.params.clone(), config.seed),
            bids: Vec::with_capacity(64 * 1024),
            asks: Vec::with_capacity(64 * 1024),
            fills: Vec::new(),
            trade_id: String::new(),
            price_scale: 10f64.powi(plan.notation.price_decimals as i32),
            size_scale: 10f64.powi(plan.notation.size_decimals as i32),
            seq_id: 1_000,
            level_text_bytes: 0,
        }
    }

    /// Moves the market to step `step` (at `ts`, in the file of the day from `day_start` that
    /// ends at `file_end`) and writes its book row and the trades until the next step.
    fn step(
        &mut self,
        step: u64,
        ts: Millis,
        day_start: Millis,
        file_end: Millis,
        inserts: &mut writer::Inserts<'_>,
        summary: &mut SynthFile,
    ) -> rusqlite::Result<()> {
        let (config, interval) = (self.config, self.interval);
        let notation = &self.notation;
        if step > 0 {
            self.market.step();
        }
        // A recorder resubscribes each day: every file starts with a snapshot.
        let first = summary.book_rows == 0;
        let snapshot = first
            || config.snapshot_every_ms.is_some_and(|every| {
                (ts - day_start) / every != (ts - interval - day_start).max(0) / every
            });
        let (bids, asks) = (&mut self.bids, &mut self.asks);
        if snapshot {
            text::write_side(bids, notation, &self.market, BookSide::Bid);
            text::write_side(asks, notation, &self.market, BookSide::Ask);
        } else {
            text::write_changes(bids, notation, &self.market, BookSide::Bid);
            text::write_changes(asks, notation, &self.market, BookSide::Ask);
        }
        self.market.clear_touched();
        // OKX numbers each message; a snapshot starts the chain (`prevSeqId` -1).
        let prev_seq_id = if snapshot { -1 } else { self.seq_id };
        self.seq_id += 1 + (mix(config.seed, step) % 3) as i64;
        let lost = !first && dropped(config.seed, step, config.drop_rate);
        if !lost {
            summary.book_rows += 1;
            summary.last_ts = ts;
            self.level_text_bytes += (bids.len() + asks.len()) as u64;
            let row = BookInsert {
                id: summary.book_rows as i64,
                snapshot,
                bids,
                asks,
                ts,
                seq_id: self.seq_id,
                prev_seq_id,
            };
            inserts.book(&row)?;
        }

        // Trades see this row's book; none cross midnight into the next file.
        self.fills.clear();
        self.market
            .trades(ts, (ts + interval).min(file_end), &mut self.fills);
        for fill in &self.fills {
            self.trade_id.clear();
            let _ = write!(self.trade_id, "{}", fill.trade_id);
            summary.trades += 1;
            let price_units = fill.price as u64 * notation.tick_units;
            // Both integers are exact in f64, so the division is the correctly rounded value
            // of the decimal text: equal to what a reader parses from the level.
            let trade = TradeInsert {
                id: summary.trades as i64,
                trade_id: &self.trade_id,
                price: price_units as f64 / self.price_scale,
                size: fill.size as f64 / self.size_scale,
                side: fill.side,
                ts: fill.ts,
            };
            inserts.trade(&trade)?;
        }
        Ok(())
    }
}
