//! One partition as CSV: a header of column names, then a row per line; numbers as the
//! shortest text that reads back the same, texts quoted, NULL as an empty field.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use crate::store::repository::{Cell, Table};

pub(super) fn write(path: &Path, table: &Table, rows: &[Vec<Cell>]) -> anyhow::Result<()> {
    let mut out = BufWriter::new(File::create(path)?);
    let names: Vec<&str> = table.columns.iter().map(|column| column.name).collect();
    writeln!(out, "{}", names.join(","))?;
    for row in rows {
        for (index, cell) in row.iter().enumerate() {
            if index > 0 {
                out.write_all(b",")?;
            }
            match cell {
                Cell::Null => {}
                Cell::Int(x) => write!(out, "{x}")?,
                Cell::Real(x) => write!(out, "{x:?}")?,
                Cell::Text(text) => write!(out, "\"{}\"", text.replace('"', "\"\""))?,
            }
        }
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}
