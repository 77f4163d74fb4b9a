//! One partition as a Parquet file (one row group, Snappy), written with the `parquet` crate's
//! column writers: INT64, DOUBLE and UTF-8 BYTE_ARRAY columns, optional where the store allows
//! NULL.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use parquet::basic::Compression;
use parquet::data_type::{ByteArray, ByteArrayType, DoubleType, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;

use crate::store::repository::{Cell, Kind, Table};

/// The Parquet schema of `table`.
fn schema(table: &Table) -> String {
    let fields: Vec<String> = table
        .columns
        .iter()
        .map(|column| {
            let repetition = if column.nullable {
                "optional"
            } else {
                "required"
            };
            let kind = match column.kind {
                Kind::Int => "int64",
                Kind::Real => "double",
                Kind::Text => "binary",
            };
            let logical = if column.kind == Kind::Text {
                " (UTF8)"
            } else {
                ""
            };
            format!("{repetition} {kind} {}{logical};", column.name)
        })
        .collect();
    format!("message {} {{ {} }}", table.name, fields.join(" "))
}

pub(super) fn write(path: &Path, table: &Table, rows: &[Vec<Cell>]) -> anyhow::Result<()> {
    let schema = Arc::new(parse_message_type(&schema(table))?);
    let properties = Arc::new(
        WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .build(),
    );
    let mut writer = SerializedFileWriter::new(File::create(path)?, schema, properties)?;
    let mut group = writer.next_row_group()?;
    let mut index = 0;
    while let Some(mut column) = group.next_column()? {
        let spec = &table.columns[index];
        let cells = rows.iter().map(|row| &row[index]);
        let levels: Vec<i16> = cells
            .clone()
            .map(|cell| i16::from(*cell != Cell::Null))
            .collect();
        let levels = spec.nullable.then_some(levels.as_slice());
        match spec.kind {
            Kind::Int => {
                let values: Vec<i64> = cells
                    .filter_map(|cell| match cell {
                        Cell::Int(x) => Some(*x),
                        Cell::Real(x) => Some(*x as i64),
                        _ => None,
                    })
                    .collect();
                column
                    .typed::<Int64Type>()
                    .write_batch(&values, levels, None)?;
            }
            Kind::Real => {
                let values: Vec<f64> = cells
                    .filter_map(|cell| match cell {
                        Cell::Real(x) => Some(*x),
                        Cell::Int(x) => Some(*x as f64),
                        _ => None,
                    })
                    .collect();
                column
                    .typed::<DoubleType>()
                    .write_batch(&values, levels, None)?;
            }
            Kind::Text => {
                let values: Vec<ByteArray> = cells
                    .filter_map(|cell| match cell {
                        Cell::Text(text) => Some(ByteArray::from(text.as_str())),
                        Cell::Int(x) => Some(ByteArray::from(x.to_string().as_str())),
                        Cell::Real(x) => Some(ByteArray::from(x.to_string().as_str())),
                        Cell::Null => None,
                    })
                    .collect();
                column
                    .typed::<ByteArrayType>()
                    .write_batch(&values, levels, None)?;
            }
        }
        column.close()?;
        index += 1;
    }
    group.close()?;
    writer.close()?;
    Ok(())
}
