//! `orderflow export` (SPEC 9.3): every table of a store as files partitioned Hive-style by
//! instrument and UTC date, `DIR/TABLE/instrument=I/date=YYYY-MM-DD/part-0.parquet` (or
//! `.csv`), which DuckDB, DataFusion, Polars and Spark read as one dataset.
//!
//! The partition columns are in the paths, not in the files (as Hive writes them): `instrument`
//! and `date` come back as columns when the dataset is read with Hive partitioning.
//! `parquet.rs` and `csv.rs` write one partition each; this file walks the tables.

mod csv;
mod parquet;

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::store::repository::{Cell, Store, TABLES, Table};

/// The file an export leaves at the top of its folder, so that a later export may replace it.
pub const MARKER: &str = ".orderflow-export";

/// The files' format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Parquet,
    Csv,
}

impl Format {
    fn extension(self) -> &'static str {
        match self {
            Format::Parquet => "parquet",
            Format::Csv => "csv",
        }
    }
}

/// What an export wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Exported {
    pub files: u64,
    pub rows: u64,
}

/// Writes every table of `store` under `out` in `format`.
///
/// `out` must be new, empty, or an earlier export (it has [`MARKER`]): then the tables'
/// folders are replaced.
///
/// # Errors
/// When `out` is a folder of something else, or a file cannot be written.
pub fn export(store: &Store, out: &Path, format: Format) -> anyhow::Result<Exported> {
    prepare(out)?;
    let mut exported = Exported::default();
    for table in &TABLES {
        let dir = out.join(table.name);
        if dir.exists() {
            fs::remove_dir_all(&dir)
                .with_context(|| format!("removing the earlier export {}", dir.display()))?;
        }
        let mut partition: Option<Partition> = None;
        store.scan(table, |instrument, cells| {
            let date = date_of(table, cells);
            let same = partition
                .as_ref()
                .is_some_and(|open| open.instrument == instrument && open.date == date);
            if !same {
                if let Some(done) = partition.take() {
                    exported.files += 1;
                    done.write(out, table, format)?;
                }
                partition = Some(Partition {
                    instrument: instrument.to_owned(),
                    date,
                    rows: Vec::new(),
                });
            }
            if let Some(open) = partition.as_mut() {
                open.rows.push(cells.to_vec());
            }
            exported.rows += 1;
            Ok(())
        })?;
        if let Some(done) = partition.take() {
            exported.files += 1;
            done.write(out, table, format)?;
        }
    }
    Ok(exported)
}

/// Makes `out` ready: new, empty, or an earlier export.
fn prepare(out: &Path) -> anyhow::Result<()> {
    if out.exists() {
        if !out.is_dir() {
            bail!("--out {} is not a folder: give a new folder", out.display());
        }
        let empty = fs::read_dir(out)
            .with_context(|| format!("reading {}", out.display()))?
            .next()
            .is_none();
        if !empty && !out.join(MARKER).is_file() {
            bail!(
                "--out {} holds files that no export wrote; give a new or empty folder",
                out.display()
            );
        }
    }
    fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    fs::write(
        out.join(MARKER),
        b"written by orderflow export; a later export replaces the tables' folders\n",
    )
    .with_context(|| format!("writing into {}", out.display()))?;
    Ok(())
}

/// The rows of one table, one instrument and one day.
struct Partition {
    instrument: String,
    date: String,
    rows: Vec<Vec<Cell>>,
}

impl Partition {
    fn write(&self, out: &Path, table: &Table, format: Format) -> anyhow::Result<()> {
        let dir: PathBuf = out
            .join(table.name)
            .join(format!("instrument={}", escape(&self.instrument)))
            .join(format!("date={}", self.date));
        fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let path = dir.join(format!("part-0.{}", format.extension()));
        match format {
            Format::Parquet => parquet::write(&path, table, &self.rows),
            Format::Csv => csv::write(&path, table, &self.rows),
        }
        .with_context(|| format!("writing {}", path.display()))
    }
}

/// The UTC date (`YYYY-MM-DD`) of a row's time column.
fn date_of(table: &Table, cells: &[Cell]) -> String {
    let index = table
        .columns
        .iter()
        .position(|column| column.name == table.time_column);
    let ms = match index.and_then(|index| cells.get(index)) {
        Some(Cell::Int(ms)) => *ms,
        _ => 0,
    };
    chrono::DateTime::from_timestamp_millis(ms).map_or_else(
        || "1970-01-01".to_owned(),
        |time| time.format("%Y-%m-%d").to_string(),
    )
}

/// A partition value as a path component: as Hive does, `%XX` for the bytes that a path or a
/// `key=value` pair cannot hold.
fn escape(value: &str) -> String {
    let mut escaped = String::new();
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b' ') {
            escaped.push(char::from(byte));
        } else {
            escaped.push_str(&format!("%{byte:02X}"));
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_values_are_escaped_as_hive_does() {
        assert_eq!(escape("BTC-USDT"), "BTC-USDT");
        assert_eq!(escape("a/b=c"), "a%2Fb%3Dc");
    }
}
