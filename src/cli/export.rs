//! `orderflow export`: a store's tables as Parquet or CSV files partitioned by instrument and
//! day (SPEC 9.3).

use std::path::PathBuf;

use anyhow::bail;
use clap::Args;
use orderflow::export::{Format, export as write_export};
use orderflow::store::Store;

use super::print::say;

#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    /// The store to export.
    #[arg(long, value_name = "FILE")]
    store: PathBuf,
    /// Folder of the dataset: DIR/TABLE/instrument=I/date=YYYY-MM-DD/part-0.EXT.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// File format.
    #[arg(long, value_enum, default_value = "parquet")]
    format: Format,
}

pub(crate) fn export(args: ExportArgs) -> anyhow::Result<u8> {
    if !args.store.is_file() {
        bail!(
            "the store {} does not exist: make one with `orderflow process ... --store FILE`",
            args.store.display()
        );
    }
    let path = orderflow::store::file::check(&args.store)?;
    let store = Store::open_read(&path)?;
    let exported = write_export(&store, &args.out, args.format)?;
    say!(
        "exported {} rows into {} files under {}",
        exported.rows,
        exported.files,
        args.out.display()
    );
    Ok(0)
}
