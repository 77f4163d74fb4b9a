//! Fixture builders shared by the integration tests.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use rusqlite::{Connection, ToSql};

/// A SQLite recording built in a temporary directory, table by table.
pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
    conn: Connection,
}

impl Fixture {
    /// An empty database `name` in a fresh temporary directory.
    pub fn new(name: &str) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        let conn = Connection::open(&path).unwrap();
        Fixture { dir, path, conn }
    }

    /// Runs `sql` (table definitions, inserts).
    pub fn sql(self, sql: &str) -> Fixture {
        self.conn.execute_batch(sql).unwrap();
        self
    }

    /// The standard tables of SPEC 1.2, without an instrument column.
    pub fn standard(self) -> Fixture {
        self.sql(
            "CREATE TABLE book (id INTEGER PRIMARY KEY, bids TEXT, asks TEXT, timestamp INTEGER, action TEXT);
             CREATE TABLE trades (id INTEGER PRIMARY KEY, trade_id TEXT, price REAL, size REAL, side TEXT, timestamp INTEGER);",
        )
    }

    /// Inserts one row; `columns` like `"id, timestamp, bids"`.
    pub fn row(self, table: &str, columns: &str, values: &[&dyn ToSql]) -> Fixture {
        let marks = vec!["?"; values.len()].join(", ");
        self.conn
            .execute(
                &format!("INSERT INTO {table} ({columns}) VALUES ({marks})"),
                values,
            )
            .unwrap();
        self
    }

    /// A book row with `action` (standard tables).
    pub fn book(self, id: i64, ts: i64, action: &str, bids: &str, asks: &str) -> Fixture {
        self.row(
            "book",
            "id, timestamp, action, bids, asks",
            &[&id, &ts, &action, &bids, &asks],
        )
    }

    /// A trade (standard tables).
    pub fn trade(self, id: i64, ts: i64, price: f64, size: f64, side: &str) -> Fixture {
        self.row(
            "trades",
            "id, trade_id, timestamp, price, size, side",
            &[&id, &id.to_string(), &ts, &price, &size, &side],
        )
    }

    /// Closes the writer and makes the file look old enough for immutable mode.
    pub fn done(self) -> Done {
        let Fixture { dir, path, conn } = self;
        conn.close().unwrap();
        age(&path);
        Done { dir, path }
    }
}

/// A finished fixture: the directory lives as long as this value.
pub struct Done {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
}

/// Sets the modification time of `path` a minute back.
pub fn age(path: &Path) {
    let file = std::fs::File::options().append(true).open(path).unwrap();
    let past = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
    file.set_modified(past).unwrap();
}
