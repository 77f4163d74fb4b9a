//! A prepared query stepped row by row through SQLite's C API, for the tables' hot loops.
//!
//! rusqlite's `Row::get_ref` asks SQLite for a column's type, then for its value, each call
//! taking and leaving the connection's mutex slot, and checks the column count on the way:
//! about 140 instructions a column, a third of the trades thread's work on a trade-heavy
//! recording (`BENCHMARKS.md`, ninth round). A [`Cursor`] takes each column's value once
//! (`sqlite3_column_value`) and reads its type and contents from it. Everything else (opening,
//! the schema, the plans, errors) stays with rusqlite; errors come out as rusqlite's, so
//! that `FileError::from_sqlite` tells them apart as before.
//!
//! Even one call a column was a fifth of that thread's work (about 90 instructions a column:
//! the call, SQLite's checks, then one call for the type and one for the value). So with the
//! SQLite this crate bundles, whose `struct sqlite3_value` [`Register`] mirrors, a row's
//! columns are read from the registers SQLite holds them in: one call a row for where they
//! are, then plain loads. Any form of value not plainly an integer, a real, UTF-8 text, a
//! blob or NULL (a zero-filled blob, text of a UTF-16 database, a number SQLite also holds as
//! text) is read through the API, as is every value of any other SQLite release. A test fails
//! when the bundled release changes, so that the mirror is checked against its source.

use std::ffi::{CStr, c_int};
use std::marker::PhantomData;
use std::ptr::{self, NonNull};
use std::rc::Rc;

use rusqlite::types::{Value, ValueRef};
use rusqlite::{Connection, ffi};

/// A row's values by column, as SQLite holds them: a [`rusqlite::Row`], or a [`Row`] of a
/// [`Cursor`]. What the decoders read (`decode.rs`).
pub(crate) trait Columns {
    /// The value of `column` (from 0), borrowed from SQLite's row buffer.
    fn value(&self, column: usize) -> rusqlite::Result<ValueRef<'_>>;

    /// The value of `column`, which must be an INTEGER (a key: a rowid).
    fn integer(&self, column: usize) -> rusqlite::Result<i64> {
        match self.value(column)? {
            ValueRef::Integer(v) => Ok(v),
            other => Err(rusqlite::Error::InvalidColumnType(
                column,
                String::new(),
                other.data_type(),
            )),
        }
    }
}

impl Columns for rusqlite::Row<'_> {
    #[inline]
    fn value(&self, column: usize) -> rusqlite::Result<ValueRef<'_>> {
        self.get_ref(column)
    }
}

/// One prepared statement on a connection, stepped row by row.
///
/// [`Cursor::start`] binds the parameters and starts the query again; [`Cursor::next`] gives
/// the rows; [`Cursor::reset`] ends the query early, which releases SQLite's read lock (as
/// reaching the last row does).
pub(crate) struct Cursor {
    /// Shared with the connection's other cursors: a statement must be finalized before its
    /// connection is closed, which holding it here ensures.
    conn: Rc<Connection>,
    stmt: NonNull<ffi::sqlite3_stmt>,
    columns: usize,
    /// Whether rows are read from SQLite's registers directly ([`REGISTERS_KNOWN`]).
    direct: bool,
}

impl Cursor {
    /// Prepares `sql`, one statement.
    ///
    /// # Errors
    /// SQLite's, as rusqlite gives them (a syntax error, a missing table, a locked schema).
    pub(crate) fn prepare(conn: &Rc<Connection>, sql: &str) -> rusqlite::Result<Cursor> {
        let len = c_int::try_from(sql.len()).map_err(|_| rusqlite::Error::InvalidQuery)?;
        let mut stmt = ptr::null_mut();
        let mut tail = ptr::null();
        // SAFETY: `conn` is open; SQLite reads `len` bytes of `sql` and
        // needs no terminating NUL when given the length.
        let code = unsafe {
            ffi::sqlite3_prepare_v2(
                conn.handle(),
                sql.as_ptr().cast(),
                len,
                &mut stmt,
                &mut tail,
            )
        };
        let Some(stmt) = NonNull::new(stmt).filter(|_| code == ffi::SQLITE_OK) else {
            // Failed, or only blanks: rusqlite tells why in its own words (it fails the same
            // way), which are what the messages about a damaged schema expect.
            return Err(conn
                .prepare(sql)
                .err()
                .unwrap_or_else(|| failure(conn, code)));
        };
        // SAFETY: `stmt` was just prepared.
        let columns = unsafe { ffi::sqlite3_column_count(stmt.as_ptr()) };
        let cursor = Cursor {
            conn: Rc::clone(conn),
            stmt,
            columns: usize::try_from(columns).unwrap_or(0),
            // SAFETY: a plain query of the library's version.
            direct: unsafe { ffi::sqlite3_libversion_number() } == REGISTERS_KNOWN,
        };
        // SAFETY: `tail` points into `sql`, at or before its end.
        let rest = unsafe { tail.cast::<u8>().offset_from(sql.as_ptr()) };
        if usize::try_from(rest).is_ok_and(|rest| !sql[rest.min(sql.len())..].trim().is_empty()) {
            return Err(rusqlite::Error::MultipleStatement);
        }
        Ok(cursor)
    }

    /// Starts the query (again) with `params` bound to `?1`, `?2`, … in order.
    ///
    /// # Errors
    /// When the count differs from the statement's, or SQLite refuses a value.
    pub(crate) fn start(&mut self, params: &[Value]) -> rusqlite::Result<()> {
        self.reset();
        let stmt = self.stmt.as_ptr();
        // SAFETY: `stmt` is a live statement of this connection; text and blobs are copied by
        // SQLite (`SQLITE_TRANSIENT`) before the calls return.
        unsafe {
            let expected = ffi::sqlite3_bind_parameter_count(stmt);
            if usize::try_from(expected).ok() != Some(params.len()) {
                return Err(rusqlite::Error::InvalidParameterCount(
                    params.len(),
                    usize::try_from(expected).unwrap_or(0),
                ));
            }
            for (i, value) in params.iter().enumerate() {
                let index = c_int::try_from(i + 1).map_err(|_| rusqlite::Error::InvalidQuery)?;
                let code = match value {
                    Value::Null => ffi::sqlite3_bind_null(stmt, index),
                    Value::Integer(v) => ffi::sqlite3_bind_int64(stmt, index, *v),
                    Value::Real(v) => ffi::sqlite3_bind_double(stmt, index, *v),
                    Value::Text(text) => {
                        let (data, len) = raw_bytes(text.as_bytes())?;
                        ffi::sqlite3_bind_text(stmt, index, data, len, ffi::SQLITE_TRANSIENT())
                    }
                    Value::Blob(blob) => {
                        let (data, len) = raw_bytes(blob)?;
                        ffi::sqlite3_bind_blob(
                            stmt,
                            index,
                            data.cast(),
                            len,
                            ffi::SQLITE_TRANSIENT(),
                        )
                    }
                };
                if code != ffi::SQLITE_OK {
                    return Err(failure(&self.conn, code));
                }
            }
        }
        Ok(())
    }

    /// The next row, `Ok(None)` after the last.
    ///
    /// # Errors
    /// SQLite's, as rusqlite gives them (a corrupt page, an interrupt, a lock).
    #[inline]
    pub(crate) fn next(&mut self) -> rusqlite::Result<Option<Row<'_>>> {
        // SAFETY: `stmt` is a live statement of this connection, used on this thread only
        // (`Connection` is not `Sync`).
        match unsafe { ffi::sqlite3_step(self.stmt.as_ptr()) } {
            ffi::SQLITE_ROW => Ok(Some(Row {
                stmt: self.stmt,
                columns: self.columns,
                registers: self.registers(),
                _cursor: PhantomData,
            })),
            ffi::SQLITE_DONE => {
                self.reset();
                Ok(None)
            }
            code => {
                let error = failure(&self.conn, code);
                self.reset();
                Err(error)
            }
        }
    }

    /// The row's registers in SQLite's own layout, when that is the layout [`Register`]
    /// mirrors (see [`REGISTERS_KNOWN`]); `None` otherwise, and the row is read through the API.
    #[inline]
    fn registers(&self) -> Option<NonNull<Register>> {
        if !self.direct || self.columns == 0 {
            return None;
        }
        // SAFETY: the statement has just given a row and has at least one column. The value
        // SQLite hands back for column 0 is the first of the row's registers (`columnMem`:
        // `&pVm->pResultRow[0]`), which hold the columns in order.
        let first = unsafe { ffi::sqlite3_column_value(self.stmt.as_ptr(), 0) };
        NonNull::new(first.cast::<Register>())
    }

    /// Ends the query where it is: SQLite releases the statement's read lock.
    pub(crate) fn reset(&mut self) {
        // SAFETY: `stmt` is a live statement. The code `reset` returns repeats the last
        // step's error, which `next` has reported already.
        unsafe {
            ffi::sqlite3_reset(self.stmt.as_ptr());
        }
    }
}

impl Drop for Cursor {
    fn drop(&mut self) {
        // SAFETY: `stmt` is live and finalized once, here, before its connection can be closed;
        // no `Row` outlives the cursor.
        unsafe {
            ffi::sqlite3_finalize(self.stmt.as_ptr());
        }
    }
}

/// The current row of a [`Cursor`], valid until its next step.
pub(crate) struct Row<'r> {
    stmt: NonNull<ffi::sqlite3_stmt>,
    columns: usize,
    registers: Option<NonNull<Register>>,
    _cursor: PhantomData<&'r ()>,
}

/// The SQLite release whose `struct sqlite3_value` (`Mem`) [`Register`] mirrors: the one
/// bundled by `libsqlite3-sys` 0.35 (Cargo.lock). Any other reads every value through the API.
const REGISTERS_KNOWN: c_int = 3_050_002;

/// SQLite's `struct sqlite3_value` (`Mem` in sqlite3.c of [`REGISTERS_KNOWN`], built without
/// `SQLITE_DEBUG`, as `libsqlite3-sys` builds it): a row's columns are an array of these.
/// Only the first fields are read; the others give the array its stride.
#[repr(C)]
#[allow(dead_code)]
struct Register {
    /// `u`: the value of an INTEGER (`i64`) or REAL (`f64`).
    value: u64,
    z: *const u8,
    n: c_int,
    flags: u16,
    enc: u8,
    subtype: u8,
    db: *const (),
    size_malloc: c_int,
    temp: u32,
    malloc: *const u8,
    destructor: *const (),
}

const _: () = assert!(std::mem::size_of::<Register>() == 56);

// `Mem.flags` (sqlite3.c).
const MEM_NULL: u16 = 0x0001;
const MEM_STR: u16 = 0x0002;
const MEM_INT: u16 = 0x0004;
const MEM_REAL: u16 = 0x0008;
const MEM_BLOB: u16 = 0x0010;
/// The bits that tell the type (`MEM_AffMask`).
const MEM_TYPE: u16 = 0x003f;
/// A blob with `value` zero bytes appended (`zeroblob()`).
const MEM_ZERO: u16 = 0x0400;

impl Row<'_> {
    /// The value of `column` read from its register, when it is one of the plain forms the
    /// columns of a table take (see [`Register`]); `None` for anything else.
    ///
    /// # Safety
    /// `registers` must be this row's (from [`Cursor::registers`]) and `column` one of its
    /// columns.
    #[inline(always)]
    unsafe fn direct<'a>(registers: NonNull<Register>, column: usize) -> Option<ValueRef<'a>> {
        // SAFETY: as the caller promises; the registers stay as they are until the next step.
        let register = unsafe { &*registers.as_ptr().add(column) };
        Some(match register.flags & MEM_TYPE {
            MEM_NULL => ValueRef::Null,
            MEM_INT => ValueRef::Integer(register.value as i64),
            MEM_REAL => ValueRef::Real(f64::from_bits(register.value)),
            MEM_STR if register.enc == ffi::SQLITE_UTF8 as u8 => {
                // SAFETY: a string register points to `n` bytes of its text.
                ValueRef::Text(unsafe { bytes(register.z, register.n) })
            }
            MEM_BLOB if register.flags & MEM_ZERO == 0 => {
                // SAFETY: a blob register points to `n` bytes.
                ValueRef::Blob(unsafe { bytes(register.z, register.n) })
            }
            _ => return None,
        })
    }
}

impl Columns for Row<'_> {
    #[inline(always)]
    fn value(&self, column: usize) -> rusqlite::Result<ValueRef<'_>> {
        if column >= self.columns {
            return Err(rusqlite::Error::InvalidColumnIndex(column));
        }
        if let Some(registers) = self.registers {
            // SAFETY: this row's registers, and one of its columns.
            if let Some(value) = unsafe { Row::direct(registers, column) } {
                return Ok(value);
            }
        }
        // SAFETY: the statement is on a row (a `Row` exists only between a step that gave
        // one and the next step) and `column` is one of its columns. The value is SQLite's
        // own, read on the connection's thread; the slices point into SQLite's row buffer,
        // which stays as it is until the next step, and the `ValueRef` cannot outlive `self`.
        unsafe {
            let value = ffi::sqlite3_column_value(self.stmt.as_ptr(), column as c_int);
            Ok(match ffi::sqlite3_value_type(value) {
                ffi::SQLITE_INTEGER => ValueRef::Integer(ffi::sqlite3_value_int64(value)),
                ffi::SQLITE_FLOAT => ValueRef::Real(ffi::sqlite3_value_double(value)),
                ffi::SQLITE_TEXT => {
                    // The pointer first, then the length (SQLite's advice: the length is that
                    // of the form the pointer was taken in).
                    let text = ffi::sqlite3_value_text(value);
                    let len = ffi::sqlite3_value_bytes(value);
                    ValueRef::Text(bytes(text, len))
                }
                ffi::SQLITE_BLOB => {
                    let blob = ffi::sqlite3_value_blob(value).cast::<u8>();
                    let len = ffi::sqlite3_value_bytes(value);
                    ValueRef::Blob(bytes(blob, len))
                }
                _ => ValueRef::Null,
            })
        }
    }
}

/// `bytes` as SQLite's binding functions take them: a pointer and a length.
fn raw_bytes(bytes: &[u8]) -> rusqlite::Result<(*const std::ffi::c_char, c_int)> {
    let len = c_int::try_from(bytes.len()).map_err(|_| rusqlite::Error::InvalidQuery)?;
    Ok((bytes.as_ptr().cast(), len))
}

/// The `len` bytes at `data`; none for a null pointer (an empty blob, or out of memory).
///
/// # Safety
/// `data` must point to `len` bytes that live for `'a`.
unsafe fn bytes<'a>(data: *const u8, len: c_int) -> &'a [u8] {
    match usize::try_from(len) {
        Ok(len) if len > 0 && !data.is_null() => {
            // SAFETY: as the caller promises.
            unsafe { std::slice::from_raw_parts(data, len) }
        }
        _ => &[],
    }
}

/// SQLite's error `code` on `conn`, as rusqlite reports it.
fn failure(conn: &Connection, code: c_int) -> rusqlite::Error {
    // SAFETY: `conn` is open; the message is copied before any other call on it.
    let message = unsafe {
        let db = conn.handle();
        if ffi::sqlite3_errcode(db) == code {
            let text = ffi::sqlite3_errmsg(db);
            (!text.is_null()).then(|| CStr::from_ptr(text).to_string_lossy().into_owned())
        } else {
            let text = ffi::sqlite3_errstr(code);
            (!text.is_null()).then(|| CStr::from_ptr(text).to_string_lossy().into_owned())
        }
    };
    rusqlite::Error::SqliteFailure(ffi::Error::new(code), message)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    fn db() -> Rc<Connection> {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, a, b);
             INSERT INTO t VALUES (1, 5, 'five'), (2, 2.5, x'0102'), (3, NULL, ''), (4, 'x', 7);",
        )
        .unwrap();
        Rc::new(conn)
    }

    /// A value as read, kept whole: text as its bytes (which need not be UTF-8), reals by
    /// their bits. (Also what the tests of `pages.rs` compare.)
    #[derive(Debug, Clone, PartialEq)]
    pub(crate) enum Owned {
        Null,
        Integer(i64),
        Real(u64),
        Text(Vec<u8>),
        Blob(Vec<u8>),
    }

    impl From<ValueRef<'_>> for Owned {
        fn from(value: ValueRef<'_>) -> Owned {
            match value {
                ValueRef::Null => Owned::Null,
                ValueRef::Integer(v) => Owned::Integer(v),
                ValueRef::Real(v) => Owned::Real(v.to_bits()),
                ValueRef::Text(text) => Owned::Text(text.to_vec()),
                ValueRef::Blob(blob) => Owned::Blob(blob.to_vec()),
            }
        }
    }

    /// Every row of `sql` with `params`, through a cursor and through rusqlite.
    fn both(
        conn: &Rc<Connection>,
        sql: &str,
        params: &[Value],
    ) -> (Vec<Vec<Owned>>, Vec<Vec<Owned>>) {
        let mut cursor = Cursor::prepare(conn, sql).unwrap();
        cursor.start(params).unwrap();
        let mut ours = Vec::new();
        while let Some(row) = cursor.next().unwrap() {
            ours.push(
                (0..3)
                    .map(|c| Owned::from(row.value(c).unwrap()))
                    .collect::<Vec<_>>(),
            );
        }
        (ours, rows_of(conn, sql, params, 3))
    }

    /// The first `columns` values of every row of `sql`, as rusqlite reads them.
    pub(crate) fn rows_of(
        conn: &Connection,
        sql: &str,
        params: &[Value],
        columns: usize,
    ) -> Vec<Vec<Owned>> {
        let mut stmt = conn.prepare(sql).unwrap();
        stmt.query_map(rusqlite::params_from_iter(params), |row| {
            (0..columns)
                .map(|c| Columns::value(row, c).map(Owned::from))
                .collect::<rusqlite::Result<Vec<_>>>()
        })
        .unwrap()
        .collect::<rusqlite::Result<Vec<_>>>()
        .unwrap()
    }

    /// Which of the three columns of the first row of `sql` are read from the registers.
    fn direct_forms(conn: &Rc<Connection>, sql: &str) -> [bool; 3] {
        let mut cursor = Cursor::prepare(conn, sql).unwrap();
        cursor.start(&[]).unwrap();
        let row = cursor.next().unwrap().unwrap();
        let registers = row.registers.unwrap();
        // SAFETY: the row's registers, and its three columns.
        [0, 1, 2].map(|c| unsafe { Row::direct(registers, c) }.is_some())
    }

    #[test]
    fn a_cursor_reads_every_type_as_rusqlite_does() {
        let conn = db();
        let (ours, theirs) = both(&conn, "SELECT id, a, b FROM t ORDER BY id", &[]);
        assert_eq!(ours.len(), 4);
        assert_eq!(ours, theirs);
        assert_eq!(ours[2][2], Owned::Text(Vec::new()));
        assert_eq!(ours[1][2], Owned::Blob(vec![1, 2]));
    }

    /// The bundled SQLite is the release [`Register`] mirrors. When this fails after an
    /// update of `libsqlite3-sys`, compare `Register` and the `MEM_` flags with the new
    /// sqlite3.c's `struct sqlite3_value`, then set [`REGISTERS_KNOWN`] (until then every value
    /// is read through the API, correct but slower).
    #[test]
    fn the_bundled_sqlite_is_the_release_whose_registers_are_read() {
        // SAFETY: a plain query of the library's version.
        assert_eq!(unsafe { ffi::sqlite3_libversion_number() }, REGISTERS_KNOWN);
        assert_eq!(ffi::SQLITE_VERSION_NUMBER, REGISTERS_KNOWN);
        let conn = db();
        let mut cursor = Cursor::prepare(&conn, "SELECT id, a, b FROM t").unwrap();
        cursor.start(&[]).unwrap();
        assert!(cursor.next().unwrap().unwrap().registers.is_some());
    }

    /// Every form a column's value can take in the registers, read directly or through the
    /// API, gives what rusqlite gives: computed values, zero-filled blobs, long text on
    /// overflow pages, numbers with text affinity, and integers kept in REAL columns.
    #[test]
    fn a_cursor_reads_values_of_every_form_as_rusqlite_does() {
        let conn = Rc::new(Connection::open_in_memory().unwrap());
        conn.execute_batch(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, a REAL, b TEXT);
             INSERT INTO t VALUES (1, 3, '42'), (2, 2.5, 'buy'), (3, -7, NULL),
                                  (4, NULL, '  1e3 '), (5, 1e300, ''), (6, 0, x'00ff');",
        )
        .unwrap();
        conn.execute("INSERT INTO t VALUES (7, 1, ?1)", [&"x".repeat(20_000)])
            .unwrap();
        for sql in [
            "SELECT id, a, b FROM t ORDER BY id",
            "SELECT id, a + 0, b || '' FROM t ORDER BY id",
            "SELECT zeroblob(id), CAST(a AS TEXT), CAST(b AS BLOB) FROM t ORDER BY id",
            "SELECT a, id * 1.0, length(b) FROM t ORDER BY id",
        ] {
            let (ours, theirs) = both(&conn, sql, &[]);
            assert_eq!(ours.len(), 7, "{sql}");
            assert_eq!(ours, theirs, "{sql}");
        }
        let (ours, _) = both(&conn, "SELECT id, a, b FROM t ORDER BY id", &[]);
        assert_eq!(ours[0][1], Owned::Real(3.0f64.to_bits()));
        assert_eq!(ours[6][2], Owned::Text(vec![b'x'; 20_000]));
        let (zeros, _) = both(&conn, "SELECT zeroblob(2), 1, 2", &[]);
        assert_eq!(zeros[0][0], Owned::Blob(vec![0, 0]));
        assert_eq!(
            direct_forms(&conn, "SELECT x'01', 2.5, NULL"),
            [true, true, true]
        );
        let (bytes, _) = both(&conn, "SELECT b || '', 1, 2 FROM t WHERE id = 6", &[]);
        assert_eq!(bytes[0][0], Owned::Text(vec![0, 0xff]));
    }

    /// Text of a UTF-16 database is held as UTF-16 in the registers: read through the API,
    /// which gives it as UTF-8.
    #[test]
    fn a_cursor_reads_the_text_of_a_utf16_database() {
        let conn = Rc::new(Connection::open_in_memory().unwrap());
        conn.execute_batch(
            "PRAGMA encoding = 'UTF-16le';
             CREATE TABLE t (id INTEGER PRIMARY KEY, a, b);
             INSERT INTO t VALUES (1, 'BTC-USDT', 'sell'), (2, 'é', 5);",
        )
        .unwrap();
        let (ours, theirs) = both(&conn, "SELECT id, a, b FROM t ORDER BY id", &[]);
        assert_eq!(ours, theirs);
        assert_eq!(ours[0][2], Owned::Text(b"sell".to_vec()));
        assert_eq!(
            direct_forms(&conn, "SELECT id, a, b FROM t"),
            [true, false, false]
        );
        assert_eq!(ours[1][1], Owned::Text("é".as_bytes().to_vec()));
    }

    #[test]
    fn a_cursor_binds_its_parameters_and_starts_over() {
        let conn = db();
        let sql = "SELECT id, a, b FROM t WHERE id >= ?1 AND (?2 IS NULL OR b = ?2) ORDER BY id";
        let mut cursor = Cursor::prepare(&conn, sql).unwrap();
        for (params, ids) in [
            (vec![Value::Integer(2), Value::Null], vec![2, 3, 4]),
            (vec![Value::Integer(1), Value::Text("five".into())], vec![1]),
            (vec![Value::Real(3.5), Value::Blob(vec![1, 2])], vec![]),
            (vec![Value::Integer(1), Value::Blob(vec![1, 2])], vec![2]),
        ] {
            cursor.start(&params).unwrap();
            let mut got = Vec::new();
            while let Some(row) = cursor.next().unwrap() {
                got.push(row.integer(0).unwrap());
            }
            assert_eq!(got, ids, "{params:?}");
            let (ours, theirs) = both(&conn, sql, &params);
            assert_eq!(ours, theirs);
        }
        // Ended early, then started again from the first row.
        cursor.start(&[Value::Integer(1), Value::Null]).unwrap();
        assert_eq!(cursor.next().unwrap().unwrap().integer(0).unwrap(), 1);
        cursor.reset();
        cursor.start(&[Value::Integer(1), Value::Null]).unwrap();
        assert_eq!(cursor.next().unwrap().unwrap().integer(0).unwrap(), 1);
    }

    #[test]
    fn a_cursor_reports_errors_as_rusqlite_does() {
        let conn = db();
        let ours = Cursor::prepare(&conn, "SELECT nothing FROM t")
            .err()
            .unwrap();
        let theirs = conn.prepare("SELECT nothing FROM t").err().unwrap();
        assert_eq!(ours.sqlite_error_code(), theirs.sqlite_error_code());
        assert_eq!(ours.to_string(), theirs.to_string());
        assert!(matches!(
            Cursor::prepare(&conn, "SELECT 1; SELECT 2"),
            Err(rusqlite::Error::MultipleStatement)
        ));
        let mut cursor = Cursor::prepare(&conn, "SELECT id, a, b FROM t WHERE id = ?1").unwrap();
        assert!(matches!(
            cursor.start(&[]),
            Err(rusqlite::Error::InvalidParameterCount(0, 1))
        ));
        cursor.start(&[Value::Integer(4)]).unwrap();
        let row = cursor.next().unwrap().unwrap();
        assert!(matches!(
            row.value(3),
            Err(rusqlite::Error::InvalidColumnIndex(3))
        ));
        assert!(row.integer(1).is_err());
        // A runtime error: an interrupted step.
        let mut cursor = Cursor::prepare(
            &conn,
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT i, i, i FROM n",
        )
        .unwrap();
        cursor.start(&[]).unwrap();
        conn.get_interrupt_handle().interrupt();
        let error = loop {
            match cursor.next() {
                Ok(Some(_)) => {}
                Ok(None) => panic!("an endless query ended"),
                Err(error) => break error,
            }
        };
        assert_eq!(
            error.sqlite_error_code(),
            Some(rusqlite::ErrorCode::OperationInterrupted)
        );
    }
}
