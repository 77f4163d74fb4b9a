//! Helpers shared by the integration tests: recordings built in code, running the binary.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use rusqlite::{Connection, ToSql};
use serde_json::Value;

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

    /// Closes the writer and makes the file look a minute old.
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

pub const SCHEMA: &str = "
    CREATE TABLE book (id INTEGER PRIMARY KEY, instrument TEXT, action TEXT, bids TEXT, asks TEXT, timestamp INTEGER);
    CREATE TABLE trades (id INTEGER PRIMARY KEY, instrument TEXT, trade_id TEXT, price REAL, size REAL, side TEXT, timestamp INTEGER);";

/// Writes a recording from SQL statements run after [`SCHEMA`].
pub fn recording(dir: &Path, name: &str, rows: &str) -> PathBuf {
    let path = dir.join(name);
    let db = rusqlite::Connection::open(&path).unwrap();
    db.execute_batch(SCHEMA).unwrap();
    db.execute_batch(rows).unwrap();
    path
}

pub fn orderflow(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_orderflow"))
        .args(args)
        .output()
        .unwrap()
}

pub fn read_json(dir: &Path, name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join(name)).unwrap()).unwrap()
}

/// Asserts two JSON values are equal, numbers to 1e-12.
pub fn assert_json_eq(actual: &Value, expected: &Value, at: &str) {
    match (actual, expected) {
        (Value::Number(a), Value::Number(e)) => {
            let (a, e) = (a.as_f64().unwrap(), e.as_f64().unwrap());
            assert!(
                (a - e).abs() <= 1e-12 * e.abs().max(1.0),
                "{at}: {a} != {e}"
            );
        }
        (Value::Array(a), Value::Array(e)) => {
            assert_eq!(a.len(), e.len(), "{at}: length of {actual} vs {expected}");
            for (i, (a, e)) in a.iter().zip(e).enumerate() {
                assert_json_eq(a, e, &format!("{at}[{i}]"));
            }
        }
        (Value::Object(a), Value::Object(e)) => {
            assert_eq!(
                a.keys().collect::<Vec<_>>(),
                e.keys().collect::<Vec<_>>(),
                "{at}"
            );
            for (key, e) in e {
                assert_json_eq(&a[key], e, &format!("{at}.{key}"));
            }
        }
        _ => assert_eq!(actual, expected, "{at}"),
    }
}

pub struct Run {
    pub output: Output,
    pub json_dir: tempfile::TempDir,
}

impl Run {
    pub fn code(&self) -> i32 {
        self.output.status.code().unwrap()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }
    pub fn json(&self, name: &str) -> Value {
        read_json(self.json_dir.path(), name)
    }
    pub fn summary(&self) -> Value {
        self.json("summary.json")
    }
}

/// Runs `orderflow process` into a fresh JSON folder, with `--summary` there too.
pub fn process(data_dir: &Path, instrument: &str, start: &str, end: &str, extra: &[&str]) -> Run {
    let json_dir = tempfile::tempdir().unwrap();
    let json = json_dir.path().to_str().unwrap();
    let summary = json_dir.path().join("summary.json");
    let mut args = vec![
        "process",
        instrument,
        start,
        end,
        "--data-dir",
        data_dir.to_str().unwrap(),
        "--json-dir",
        json,
    ];
    args.extend(["--summary", summary.to_str().unwrap()]);
    args.extend(extra);
    Run {
        output: orderflow(&args),
        json_dir,
    }
}

/// The address in a server's line `listening on http://ADDR ...`.
pub fn listening_address(line: &str) -> std::net::SocketAddr {
    line.split("http://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|address| address.parse().ok())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
}

/// `POST /api/replay` with `body` as the page sends it (its own `Origin`, JSON); the status
/// it answers, which must be a 200.
pub fn replay_command(address: std::net::SocketAddr, body: &str) -> Value {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(60)))
        .unwrap();
    let raw = format!(
        "POST /api/replay HTTP/1.1\r\nHost: {address}\r\nOrigin: http://{address}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(raw.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{body}: {answer}");
    let start = answer.find('{').unwrap();
    let end = answer.rfind('}').unwrap();
    serde_json::from_str(&answer[start..=end]).unwrap()
}
