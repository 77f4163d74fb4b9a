//! A table read straight from the pages of its file, for the reading threads' hot loops.
//!
//! Stepping a query hands each row out of SQLite's virtual machine: on a trade-heavy hour that
//! was about 1,100 instructions a trade, two thirds of the trades thread, where SQLite's own
//! scan of the table stays inside the machine (`BENCHMARKS.md`, twelfth round). A table keyed
//! by its rowid is a b-tree in rowid order, and a query that reads it after an id in id order
//! walks that b-tree's leaves: [`Pages`] walks them itself, through SQLite's own handle of the
//! file (`SQLITE_FCNTL_FILE_POINTER` and the handle's `xRead`, both public API), and decodes
//! each record as SQLite's file format documents it.
//!
//! It does so only while the file holds everything the query would see, and only for what it
//! can read exactly as SQLite would:
//! - each piece starts with SQLite stepping the query once, which takes SQLite's read lock
//!   (a writer cannot change the file under it) and reads the first row; a database in WAL mode
//!   is read this way only while its WAL holds no frames (anything else is in the WAL);
//! - a UTF-8 database, a rowid table with no generated columns, an instrument column whose
//!   comparison SQLite makes on plain text (no collation but `BINARY` or `NOCASE`, text or no
//!   affinity), and a REAL column's integers read as reals, as SQLite's affinity does;
//! - what it learned of the schema (the root page, the columns' places) holds only while the
//!   schema cookie is unchanged: a `VACUUM` or a column dropped by a recorder is a surprise;
//! - anything unexpected (a page of the wrong kind, an empty page below the root, a record
//!   shorter than the table, ids out of order, a serial type it does not know) is a
//!   [`Surprise`]: the reading goes back to SQLite after the last row read, for the rest of
//!   the table, and SQLite says what is wrong.

use std::collections::HashMap;
use std::ffi::{CStr, CString, c_int, c_void};
use std::path::Path;
use std::ptr::{self, NonNull};
use std::rc::Rc;

use rusqlite::types::{Value, ValueRef};
use rusqlite::{Connection, ffi};

use super::cursor::Columns;
use super::guard;

/// A query the pages can answer: `SELECT columns FROM table [WHERE instrument matches] AND
/// id >= from [AND id <= upto] ORDER BY id`, where the first column is the rowid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Direct {
    /// The table, as spelled in the file.
    pub(super) table: String,
    /// The columns selected, in order; the first is the table's `id`, its rowid.
    pub(super) columns: Vec<String>,
    /// The instrument column the query compares, and the run's instrument.
    pub(super) instrument: Option<(String, String)>,
    /// The query's parameter that bounds the ids from above (`id <= ?`), if any.
    pub(super) upto: Option<usize>,
}

/// Why the pages cannot answer (any more): the reading goes on through SQLite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Surprise(pub(super) &'static str);

/// Where a selected column's value comes from.
#[derive(Debug, Clone, Copy)]
enum Take {
    Rowid,
    /// The record's column `index`; `real`: the column has REAL affinity, so an integer stored
    /// there reads as a real.
    Column {
        index: usize,
        real: bool,
    },
}

/// The bytes of interior pages kept at most. A piece walks down from the root to the leaf after
/// the last one read: mostly the pages the last piece walked through, a handful.
const MAX_INTERIORS: usize = 256 << 10;

/// Interior pages on the way down at most (SQLite's `BTCURSOR_MAX_DEPTH`, which counts the
/// leaf too: one level more here, which changes nothing for a file SQLite reads).
const MAX_DEPTH: usize = 20;

/// Bytes read from the file at once (whole pages, at least one): the leaves of a table written
/// in order lie together.
const CHUNK_BYTES: usize = 128 << 10;

/// One table of one connection, read from its pages.
pub(super) struct Pages {
    /// Keeps the connection, and so its file handle, open.
    _conn: Rc<Connection>,
    file: NonNull<ffi::sqlite3_file>,
    db: NonNull<ffi::sqlite3>,
    page_size: usize,
    /// The bytes of a page that hold its content (the rest is reserved).
    usable: usize,
    root: u32,
    takes: Vec<Take>,
    /// The record's column holding the instrument, and the run's instrument.
    filter: Option<(usize, Box<[u8]>)>,
    /// Pages in the file when the current scan began.
    page_count: u64,
    /// The schema cookie (header bytes 40 to 44) when the schema was read.
    schema: Option<[u8; 4]>,
    /// An overflow page, read into the record being put together.
    overflow: Vec<u8>,
    /// Pages read together (`CHUNK_BYTES`), from `chunk_first` on.
    chunk: Vec<u8>,
    chunk_first: u64,
    chunk_len: u64,
    /// Interior pages read before, by number.
    interiors: HashMap<u32, Rc<[u8]>>,
    /// What tells SQLite the file unchanged since its last read: the header's change counter,
    /// page count and free list (bytes 24 to 40), which every commit changes in
    /// rollback-journal mode, and the pager's data version (`SQLITE_FCNTL_DATA_VERSION`),
    /// which any change by any connection moves. While both are as they were, what was read
    /// from the file before holds; in WAL mode nothing is kept.
    version: Option<[u8; 20]>,
    stack: Vec<Interior>,
    leaf: Rc<[u8]>,
    /// An empty page, in place of the leaf while the next one is read.
    no_leaf: Rc<[u8]>,
    leaf_header: usize,
    leaf_cells: usize,
    leaf_next: usize,
    /// A record spilled onto overflow pages, put together.
    spilled: Vec<u8>,
    /// For each of the record's first columns, up to the last one read: its serial type and
    /// where its value starts.
    spots: Vec<(u64, usize)>,
    upto: i64,
    /// The query's parameter that bounds the ids from above, if any ([`Direct::upto`]).
    upto_param: Option<usize>,
    last: Option<i64>,
}

/// An interior page on the way down, and the next of its children to visit.
struct Interior {
    page: Rc<[u8]>,
    header: usize,
    cells: usize,
    next: usize,
}

impl Pages {
    /// The pages of `direct`'s table on `conn`, or `None` (with the reason) when they cannot
    /// answer its query exactly.
    ///
    /// What it learns of the schema (the root page, the columns' places) is read in one
    /// transaction with the header, whose schema cookie each scan then checks: a schema
    /// changed since (a `VACUUM` moving the root, a column dropped) is a [`Surprise`].
    pub(super) fn open(conn: &Rc<Connection>, direct: &Direct) -> Result<Pages, Surprise> {
        conn.execute_batch("BEGIN")
            .map_err(|_| Surprise("a transaction already open"))?;
        let opened = Pages::open_in_transaction(conn, direct);
        // A read-only transaction: ending it cannot fail in a way that matters here.
        let _ = conn.execute_batch("COMMIT");
        opened
    }

    fn open_in_transaction(conn: &Rc<Connection>, direct: &Direct) -> Result<Pages, Surprise> {
        let encoding: String = conn
            .query_row("PRAGMA encoding", [], |row| row.get(0))
            .map_err(|_| Surprise("the encoding"))?;
        if encoding != "UTF-8" {
            return Err(Surprise("a database not in UTF-8"));
        }
        let (kind, without_rowid): (String, i64) = conn
            .query_row(
                "SELECT type, wr FROM pragma_table_list WHERE schema = 'main' AND name = ?1",
                [&direct.table],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .map_err(|_| Surprise("not a table of the main database"))?;
        if kind != "table" || without_rowid != 0 {
            return Err(Surprise("not a rowid table"));
        }
        let root: i64 = conn
            .query_row(
                "SELECT rootpage FROM sqlite_schema WHERE type = 'table' AND name = ?1",
                [&direct.table],
                |row| row.get(0),
            )
            .map_err(|_| Surprise("no root page"))?;
        let root = u32::try_from(root)
            .ok()
            .filter(|&r| r > 1)
            .ok_or(Surprise("no root page"))?;
        let mut statement = conn
            .prepare("SELECT cid, name, type, hidden FROM pragma_table_xinfo(?1) ORDER BY cid")
            .map_err(|_| Surprise("the columns"))?;
        let declared: Vec<(i64, String, String, i64)> = statement
            .query_map([&direct.table], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
            })
            .and_then(Iterator::collect)
            .map_err(|_| Surprise("the columns"))?;
        drop(statement);
        if declared.iter().any(|(_, _, _, hidden)| *hidden != 0) {
            // Generated or hidden columns: the record's columns are not the table's.
            return Err(Surprise("generated columns"));
        }
        let find = |name: &str| {
            declared
                .iter()
                .find(|(_, declared, _, _)| declared.eq_ignore_ascii_case(name))
                .and_then(|(cid, _, kind, _)| Some((usize::try_from(*cid).ok()?, kind)))
        };
        let mut takes = Vec::with_capacity(direct.columns.len());
        for (i, name) in direct.columns.iter().enumerate() {
            if i == 0 {
                takes.push(Take::Rowid);
                continue;
            }
            let (index, kind) = find(name).ok_or(Surprise("a column not declared"))?;
            takes.push(Take::Column {
                index,
                real: affinity(kind) == Affinity::Real,
            });
        }
        let filter = match &direct.instrument {
            None => None,
            Some((name, instrument)) => {
                let (index, kind) = find(name).ok_or(Surprise("a column not declared"))?;
                if !matches!(affinity(kind), Affinity::Text | Affinity::Blob) {
                    return Err(Surprise("an instrument column with numeric affinity"));
                }
                let collation = collation(conn, &direct.table, name)?;
                if !collation.eq_ignore_ascii_case("BINARY")
                    && !collation.eq_ignore_ascii_case("NOCASE")
                {
                    return Err(Surprise("an instrument column with its own collation"));
                }
                Some((index, instrument.as_bytes().into()))
            }
        };
        let widest = takes
            .iter()
            .filter_map(|take| match take {
                Take::Column { index, .. } => Some(index + 1),
                Take::Rowid => None,
            })
            .chain(filter.as_ref().map(|(index, _)| index + 1))
            .max()
            .unwrap_or(0);
        // SAFETY: `conn` is open; the handle lives as long as `conn`, which `Pages` keeps.
        let db = NonNull::new(unsafe { conn.handle() }).ok_or(Surprise("no connection"))?;
        let file =
            file_pointer(db, ffi::SQLITE_FCNTL_FILE_POINTER).ok_or(Surprise("no file handle"))?;
        let mut pages = Pages {
            _conn: Rc::clone(conn),
            file,
            db,
            page_size: 0,
            usable: 0,
            root,
            takes,
            filter,
            page_count: 0,
            schema: None,
            overflow: Vec::new(),
            chunk: Vec::new(),
            chunk_first: 0,
            chunk_len: 0,
            interiors: HashMap::new(),
            version: None,
            stack: Vec::new(),
            leaf: Rc::from(Vec::new()),
            no_leaf: Rc::from(Vec::new()),
            leaf_header: 0,
            leaf_cells: 0,
            leaf_next: 0,
            spilled: Vec::new(),
            spots: vec![(0, 0); widest],
            upto: i64::MAX,
            upto_param: direct.upto,
            last: None,
        };
        pages.check_header()?;
        Ok(pages)
    }

    /// Reads the file's header: its page layout, and whether the file holds every row a query
    /// started now sees. Called with SQLite's read lock held.
    fn check_header(&mut self) -> Result<(), Surprise> {
        let mut header = [0u8; 100];
        self.read_at(0, &mut header)?;
        if &header[..16] != b"SQLite format 3\0" {
            return Err(Surprise("not a database header"));
        }
        let page_size = match u16::from_be_bytes([header[16], header[17]]) {
            1 => 65_536,
            size => usize::from(size),
        };
        if !page_size.is_power_of_two() || !(512..=65_536).contains(&page_size) {
            return Err(Surprise("a page size SQLite does not write"));
        }
        let usable = page_size - usize::from(header[20]);
        if usable < 480 || u32::from_be_bytes(header[56..60].try_into().unwrap()) != 1 {
            return Err(Surprise("the page layout or the text encoding"));
        }
        // The read and write versions: 1 in rollback-journal mode, 2 in WAL mode (SQLite
        // decides by the write version).
        let wal = match (header[18], header[19]) {
            (1, 1) => false,
            (2, 2) => true,
            _ => return Err(Surprise("a file format version the pages do not read")),
        };
        if wal {
            // The file alone holds the rows only while the WAL holds no frame.
            match file_pointer(self.db, ffi::SQLITE_FCNTL_JOURNAL_POINTER) {
                Some(wal) if size_of_file(wal)? <= 32 => {}
                _ => return Err(Surprise("rows in the WAL")),
            }
        }
        let cookie: [u8; 4] = header[40..44].try_into().unwrap();
        match self.schema {
            None => self.schema = Some(cookie),
            Some(schema) if schema != cookie => return Err(Surprise("the schema changed")),
            Some(_) => {}
        }
        if self.page_size != 0 && self.page_size != page_size {
            return Err(Surprise("the page size changed"));
        }
        self.page_size = page_size;
        self.usable = usable;
        let mut version = [0u8; 20];
        version[..16].copy_from_slice(&header[24..40]);
        version[16..].copy_from_slice(&data_version(self.db)?.to_ne_bytes());
        let unchanged = !wal && self.version == Some(version);
        if !unchanged {
            self.chunk_len = 0;
            self.interiors.clear();
            self.version = (!wal).then_some(version);
            self.page_count = size_of_file(self.file)? / page_size as u64;
        }
        Ok(())
    }

    /// Starts a scan of the query's rows after `last`, bound by `params` (the query's).
    pub(super) fn scan_after(&mut self, last: i64, params: &[Value]) -> Result<(), Surprise> {
        let upto = match self.upto_param {
            None => i64::MAX,
            Some(i) => match params.get(i) {
                Some(Value::Integer(upto)) => *upto,
                _ => return Err(Surprise("no upper bound")),
            },
        };
        match last.checked_add(1) {
            Some(from) => self.scan(from, upto),
            None => {
                // Nothing can follow the largest id.
                self.leaf_cells = 0;
                self.stack.clear();
                Ok(())
            }
        }
    }

    /// Starts a scan of the rows with `from <= rowid <= upto`. Call with SQLite's read lock
    /// held (a query of the connection stepped and not reset), and read the rows before the
    /// lock is released.
    pub(super) fn scan(&mut self, from: i64, upto: i64) -> Result<(), Surprise> {
        self.check_header()?;
        self.stack.clear();
        self.upto = upto;
        self.last = from.checked_sub(1);
        let mut page = self.root;
        loop {
            let (buf, header) = self.page(page)?;
            let cells = cell_count(&buf, header, page == self.root)?;
            match buf[header] {
                0x05 => {
                    // The first child that can hold `from`: the first cell whose key is at
                    // least `from`, else the rightmost child.
                    let mut child = cells;
                    for i in 0..cells {
                        let cell = cell_offset(&buf, header, 12, i)?;
                        let (key, _) = varint(&buf, cell + 4)?;
                        if key as i64 >= from {
                            child = i;
                            break;
                        }
                    }
                    let interior = Interior {
                        page: buf,
                        header,
                        cells,
                        next: child + 1,
                    };
                    page = interior.child(child)?;
                    self.push(interior)?;
                }
                0x0d => {
                    let mut first = cells;
                    for i in 0..cells {
                        let cell = cell_offset(&buf, header, 8, i)?;
                        let (_, at) = varint(&buf, cell)?;
                        let (rowid, _) = varint(&buf, at)?;
                        if rowid as i64 >= from {
                            first = i;
                            break;
                        }
                    }
                    self.set_leaf(buf, header, cells, first);
                    return Ok(());
                }
                _ => return Err(Surprise("a page that is not part of a table")),
            }
        }
    }

    /// The next row of the scan, `None` after the last.
    #[inline]
    pub(super) fn next(&mut self) -> Result<Option<PageRow<'_>>, Surprise> {
        // The row's rowid and where its record is: on the leaf (`Some(range)`) or put
        // together in `spilled` (`None`).
        let (rowid, on_leaf) = loop {
            if self.leaf_next >= self.leaf_cells {
                if !self.next_leaf()? {
                    return Ok(None);
                }
                continue;
            }
            let cell = cell_offset(&self.leaf, self.leaf_header, 8, self.leaf_next)?;
            self.leaf_next += 1;
            let (length, at) = varint(&self.leaf, cell)?;
            let (rowid, at) = varint(&self.leaf, at)?;
            let rowid = rowid as i64;
            if rowid > self.upto {
                self.leaf_cells = 0;
                self.stack.clear();
                return Ok(None);
            }
            if self.last.is_some_and(|last| rowid <= last) {
                return Err(Surprise("rowids out of order"));
            }
            self.last = Some(rowid);
            // No record is longer than the file.
            let length = usize::try_from(length)
                .ok()
                .filter(|&l| (l as u64) <= self.page_count * self.usable as u64)
                .ok_or(Surprise("a record longer than the file"))?;
            let on_leaf = if self.local_size(length) < length {
                self.gather(at, length)?;
                None
            } else if at + length > self.leaf.len() {
                return Err(Surprise("a record past its page"));
            } else {
                Some(at..at + length)
            };
            let record = match &on_leaf {
                Some(range) => &self.leaf[range.clone()],
                None => &self.spilled[..],
            };
            locate(record, &mut self.spots)?;
            if let Some((index, instrument)) = &self.filter {
                let (kind, start) = self.spots[*index];
                match value(record, kind, start, false) {
                    ValueRef::Text(text)
                        if text == &instrument[..] || text.eq_ignore_ascii_case(instrument) => {}
                    _ => continue,
                }
            }
            break (rowid, on_leaf);
        };
        let record = match on_leaf {
            Some(range) => &self.leaf[range],
            None => &self.spilled[..],
        };
        Ok(Some(PageRow {
            rowid,
            record,
            spots: &self.spots,
            takes: &self.takes,
        }))
    }

    /// Moves to the leaf after the current one; false at the end of the table.
    fn next_leaf(&mut self) -> Result<bool, Surprise> {
        if guard::reading_cancelled() {
            // SQLite, reading on, is interrupted and says so.
            return Err(Surprise("the reading was cancelled"));
        }
        loop {
            let Some(top) = self.stack.last_mut() else {
                return Ok(false);
            };
            if top.next > top.cells {
                self.stack.pop();
                continue;
            }
            let mut page = top.child(top.next)?;
            top.next += 1;
            // Down the leftmost side to a leaf.
            loop {
                let (buf, header) = self.page(page)?;
                let cells = cell_count(&buf, header, false)?;
                match buf[header] {
                    0x05 => {
                        let interior = Interior {
                            page: buf,
                            header,
                            cells,
                            next: 1,
                        };
                        page = interior.child(0)?;
                        self.push(interior)?;
                    }
                    0x0d => {
                        self.set_leaf(buf, header, cells, 0);
                        return Ok(true);
                    }
                    _ => return Err(Surprise("a page that is not part of a table")),
                }
            }
        }
    }

    fn push(&mut self, interior: Interior) -> Result<(), Surprise> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(Surprise("a b-tree deeper than SQLite's"));
        }
        self.stack.push(interior);
        Ok(())
    }

    fn set_leaf(&mut self, buf: Rc<[u8]>, header: usize, cells: usize, next: usize) {
        self.leaf = buf;
        self.leaf_header = header;
        self.leaf_cells = cells;
        self.leaf_next = next;
    }

    /// The bytes of a record of `length` kept on its leaf (SQLite's file format, 1.6).
    fn local_size(&self, length: usize) -> usize {
        let usable = self.usable;
        let most = usable - 35;
        if length <= most {
            return length;
        }
        let least = (usable - 12) * 32 / 255 - 23;
        let local = least + (length - least) % (usable - 4);
        if local <= most { local } else { least }
    }

    /// Puts together a record that starts at `at` on the leaf and goes on over overflow pages.
    fn gather(&mut self, at: usize, length: usize) -> Result<(), Surprise> {
        let local = self.local_size(length);
        let end = at + local;
        let pointer = self
            .leaf
            .get(end..end + 4)
            .ok_or(Surprise("a record past its page"))?;
        let mut next = u32::from_be_bytes(pointer.try_into().unwrap());
        let mut spilled = std::mem::take(&mut self.spilled);
        spilled.clear();
        spilled.extend_from_slice(&self.leaf[at..end]);
        while spilled.len() < length {
            if next == 0 {
                return Err(Surprise("an overflow chain that ends early"));
            }
            let offset = self.page_offset(next)?;
            let mut page = std::mem::take(&mut self.overflow);
            page.resize(self.usable, 0);
            let read = self.read_at(offset, &mut page);
            self.overflow = page;
            read?;
            next = u32::from_be_bytes(self.overflow[..4].try_into().unwrap());
            let take = (length - spilled.len()).min(self.usable - 4);
            spilled.extend_from_slice(&self.overflow[4..4 + take]);
        }
        self.spilled = spilled;
        Ok(())
    }

    fn page_offset(&self, page: u32) -> Result<u64, Surprise> {
        if page == 0 || u64::from(page) > self.page_count {
            return Err(Surprise("a page past the end of the file"));
        }
        Ok(u64::from(page - 1) * self.page_size as u64)
    }

    /// A b-tree page's bytes and where its header starts (after the file header on page 1).
    /// Interior pages are kept (see [`Pages::interiors`]): each piece walks down from the root.
    fn page(&mut self, page: u32) -> Result<(Rc<[u8]>, usize), Surprise> {
        let header = if page == 1 { 100 } else { 0 };
        if let Some(buf) = self.interiors.get(&page) {
            return Ok((Rc::clone(buf), header));
        }
        let offset = self.page_offset(page)?;
        let number = u64::from(page);
        if !(self.chunk_first..self.chunk_first + self.chunk_len).contains(&number) {
            let pages = (CHUNK_BYTES / self.page_size).max(1) as u64;
            let len = pages.min(self.page_count + 1 - number);
            let mut chunk = std::mem::take(&mut self.chunk);
            chunk.resize(len as usize * self.page_size, 0);
            self.chunk_len = 0;
            let read = self.read_at(offset, &mut chunk);
            self.chunk = chunk;
            read?;
            self.chunk_first = number;
            self.chunk_len = len;
        }
        let start = (number - self.chunk_first) as usize * self.page_size;
        let bytes = &self.chunk[start..start + self.usable];
        if bytes.len() < header + 12 {
            return Err(Surprise("a page too small"));
        }
        // A leaf goes where the last one was, which no row borrows any more: no allocation
        // for each leaf.
        let mut leaf = std::mem::replace(&mut self.leaf, Rc::clone(&self.no_leaf));
        if bytes[header] == 0x0d
            && let Some(spare) = Rc::get_mut(&mut leaf).filter(|spare| spare.len() == bytes.len())
        {
            spare.copy_from_slice(bytes);
            return Ok((leaf, header));
        }
        let buf: Rc<[u8]> = Rc::from(bytes);
        if !leaf.is_empty() {
            self.leaf = leaf;
        }
        if buf[header] == 0x05 {
            if self.interiors.len() * self.usable >= MAX_INTERIORS {
                self.interiors.clear();
            }
            self.interiors.insert(page, Rc::clone(&buf));
        }
        Ok((buf, header))
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), Surprise> {
        let length = c_int::try_from(buf.len()).map_err(|_| Surprise("a read too large"))?;
        let offset = i64::try_from(offset).map_err(|_| Surprise("a read too far"))?;
        // SAFETY: `file` is SQLite's open handle of the main database, kept open by the
        // connection `Pages` holds, and used on the connection's thread; `xRead` writes at most
        // `length` bytes into `buf`.
        let code = unsafe {
            let file = self.file.as_ptr();
            let methods = (*file).pMethods;
            match methods.as_ref().and_then(|m| m.xRead) {
                Some(read) => read(file, buf.as_mut_ptr().cast::<c_void>(), length, offset),
                None => ffi::SQLITE_ERROR,
            }
        };
        if code == ffi::SQLITE_OK {
            Ok(())
        } else {
            Err(Surprise("a read of the file failed"))
        }
    }
}

/// The pages of `direct`'s table, or `None` when SQLite must read it (said in the log).
pub(super) fn open(conn: &Rc<Connection>, direct: &Direct, path: &Path) -> Option<Pages> {
    match Pages::open(conn, direct) {
        Ok(pages) => Some(pages),
        Err(Surprise(why)) => {
            tracing::debug!(file = %path.display(), table = %direct.table, "read through SQLite: {why}");
            None
        }
    }
}

/// Stops reading from the pages: SQLite reads the rest of the table.
pub(super) fn give_up(pages: &mut Option<Pages>, path: &Path, Surprise(why): Surprise) {
    if let Some(gone) = pages.take() {
        tracing::debug!(file = %path.display(), root = gone.root, "the rest read through SQLite: {why}");
    }
}

impl Interior {
    /// Child `i`: the left child of cell `i`, or the rightmost child after the last cell.
    fn child(&self, i: usize) -> Result<u32, Surprise> {
        let at = if i < self.cells {
            cell_offset(&self.page, self.header, 12, i)?
        } else {
            self.header + 8
        };
        let bytes = self
            .page
            .get(at..at + 4)
            .ok_or(Surprise("a child past its page"))?;
        Ok(u32::from_be_bytes(bytes.try_into().unwrap()))
    }
}

/// A row read from the pages: its rowid and its record, valid until the next row.
pub(super) struct PageRow<'r> {
    rowid: i64,
    record: &'r [u8],
    spots: &'r [(u64, usize)],
    takes: &'r [Take],
}

impl Columns for PageRow<'_> {
    #[inline(always)]
    fn value(&self, column: usize) -> rusqlite::Result<ValueRef<'_>> {
        match self.takes.get(column) {
            Some(Take::Rowid) => Ok(ValueRef::Integer(self.rowid)),
            Some(&Take::Column { index, real }) => {
                let (kind, start) = self.spots[index];
                Ok(value(self.record, kind, start, real))
            }
            None => Err(rusqlite::Error::InvalidColumnIndex(column)),
        }
    }
}

/// Finds the serial type and the start of each of the record's first `spots.len()` columns,
/// and checks that each value lies within the record.
#[inline(always)]
fn locate(record: &[u8], spots: &mut [(u64, usize)]) -> Result<(), Surprise> {
    let (header_size, mut at) = varint(record, 0)?;
    let header_end = usize::try_from(header_size)
        .ok()
        .filter(|&end| end <= record.len())
        .ok_or(Surprise("a record header past the record"))?;
    let mut start = header_end;
    for spot in spots.iter_mut() {
        if at >= header_end {
            // Fewer columns than the table: the rest take their defaults, which SQLite knows.
            return Err(Surprise("a record shorter than its table"));
        }
        let (kind, after) = varint(record, at)?;
        at = after;
        let size = match kind {
            0 | 8 | 9 => 0,
            1..=4 => kind as usize,
            5 => 6,
            6 | 7 => 8,
            10 | 11 => return Err(Surprise("a reserved serial type")),
            _ => usize::try_from((kind - 12) / 2).map_err(|_| Surprise("a value too long"))?,
        };
        *spot = (kind, start);
        start = start
            .checked_add(size)
            .filter(|&end| end <= record.len())
            .ok_or(Surprise("a value past the record"))?;
    }
    Ok(())
}

/// The value of serial type `kind` at `start` (checked by [`locate`]); `real`: an integer
/// reads as a real (REAL affinity).
#[inline(always)]
fn value(record: &[u8], kind: u64, start: usize, real: bool) -> ValueRef<'_> {
    // The `N` big-endian bytes at `start`, sign-extended from the first.
    fn int<const N: usize>(record: &[u8], start: usize) -> i64 {
        let mut bytes = [0u8; 8];
        bytes[8 - N..].copy_from_slice(&record[start..start + N]);
        i64::from_be_bytes(bytes) << (64 - 8 * N) >> (64 - 8 * N)
    }
    let integer = match kind {
        0 => return ValueRef::Null,
        1 => int::<1>(record, start),
        2 => int::<2>(record, start),
        3 => int::<3>(record, start),
        4 => int::<4>(record, start),
        5 => int::<6>(record, start),
        6 => int::<8>(record, start),
        7 => {
            let bits = u64::from_be_bytes(record[start..start + 8].try_into().unwrap());
            let v = f64::from_bits(bits);
            // SQLite reads a stored NaN as NULL.
            return if v.is_nan() {
                ValueRef::Null
            } else {
                ValueRef::Real(v)
            };
        }
        8 => 0,
        9 => 1,
        _ => {
            let len = ((kind - 12) / 2) as usize;
            let bytes = &record[start..start + len];
            return if kind % 2 == 0 {
                ValueRef::Blob(bytes)
            } else {
                ValueRef::Text(bytes)
            };
        }
    };
    if real {
        ValueRef::Real(integer as f64)
    } else {
        ValueRef::Integer(integer)
    }
}

/// SQLite's variable-length integer at `at`, and where the next byte is. Serial types and
/// the lengths of short records take one byte: that case is kept inline.
#[inline(always)]
fn varint(bytes: &[u8], at: usize) -> Result<(u64, usize), Surprise> {
    match bytes.get(at) {
        Some(&b) if b < 0x80 => Ok((u64::from(b), at + 1)),
        _ => long_varint(bytes, at),
    }
}

/// [`varint`] of two bytes or more.
#[inline(never)]
fn long_varint(bytes: &[u8], at: usize) -> Result<(u64, usize), Surprise> {
    let mut v = 0u64;
    for i in 0..8 {
        let b = *bytes
            .get(at + i)
            .ok_or(Surprise("a number past its page"))?;
        v = (v << 7) | u64::from(b & 0x7f);
        if b < 0x80 {
            return Ok((v, at + i + 1));
        }
    }
    let b = *bytes
        .get(at + 8)
        .ok_or(Surprise("a number past its page"))?;
    Ok(((v << 8) | u64::from(b), at + 9))
}

/// The cells of a page. Only the root may have none (an empty table, or a root whose one child
/// is its rightmost): SQLite holds any other empty page corrupt, and walking such pages could
/// go on for as long as a malformed file makes it.
fn cell_count(page: &[u8], header: usize, root: bool) -> Result<usize, Surprise> {
    let bytes = page
        .get(header + 3..header + 5)
        .ok_or(Surprise("a page too small"))?;
    let cells = usize::from(u16::from_be_bytes([bytes[0], bytes[1]]));
    if cells == 0 && !root {
        return Err(Surprise("an empty page below the root"));
    }
    Ok(cells)
}

/// Where cell `i` of a page starts (`size`: the page header's, 8 for a leaf, 12 interior).
#[inline(always)]
fn cell_offset(page: &[u8], header: usize, size: usize, i: usize) -> Result<usize, Surprise> {
    let at = header + size + 2 * i;
    let bytes = page
        .get(at..at + 2)
        .ok_or(Surprise("a cell pointer past its page"))?;
    let cell = usize::from(u16::from_be_bytes([bytes[0], bytes[1]]));
    if cell >= page.len() {
        return Err(Surprise("a cell past its page"));
    }
    Ok(cell)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Affinity {
    Integer,
    Text,
    Blob,
    Real,
    Numeric,
}

/// A declared type's affinity, by SQLite's rules (datatype3.html, 3.1).
fn affinity(declared: &str) -> Affinity {
    let upper = declared.to_ascii_uppercase();
    if upper.contains("INT") {
        Affinity::Integer
    } else if ["CHAR", "CLOB", "TEXT"].iter().any(|t| upper.contains(t)) {
        Affinity::Text
    } else if upper.contains("BLOB") || upper.trim().is_empty() {
        Affinity::Blob
    } else if ["REAL", "FLOA", "DOUB"].iter().any(|t| upper.contains(t)) {
        Affinity::Real
    } else {
        Affinity::Numeric
    }
}

/// The collation `column` of `table` declares (`BINARY` when none).
fn collation(conn: &Connection, table: &str, column: &str) -> Result<String, Surprise> {
    let (table, column) = (
        CString::new(table).map_err(|_| Surprise("a name with a NUL"))?,
        CString::new(column).map_err(|_| Surprise("a name with a NUL"))?,
    );
    let mut collation = ptr::null();
    // SAFETY: `conn` is open; the out-pointers are valid or null (not wanted); the collation
    // name SQLite gives is valid until the next call on the connection, and copied at once.
    let code = unsafe {
        ffi::sqlite3_table_column_metadata(
            conn.handle(),
            c"main".as_ptr(),
            table.as_ptr(),
            column.as_ptr(),
            ptr::null_mut(),
            &mut collation,
            ptr::null_mut(),
            ptr::null_mut(),
            ptr::null_mut(),
        )
    };
    if code != ffi::SQLITE_OK || collation.is_null() {
        return Err(Surprise("the column's collation"));
    }
    // SAFETY: a NUL-terminated name, as above.
    Ok(unsafe { CStr::from_ptr(collation) }
        .to_string_lossy()
        .into_owned())
}

/// `sqlite3_file_control` on the main database: `op` reads or writes `arg`.
///
/// # Safety
/// `db` must be open, and `T` the type `op` reads or writes.
unsafe fn file_control<T>(db: *mut ffi::sqlite3, op: c_int, arg: &mut T) -> c_int {
    // SAFETY: as the caller promises.
    unsafe { ffi::sqlite3_file_control(db, c"main".as_ptr(), op, (arg as *mut T).cast::<c_void>()) }
}

/// SQLite's handle of the main database file (`SQLITE_FCNTL_FILE_POINTER`) or of its journal
/// or WAL (`SQLITE_FCNTL_JOURNAL_POINTER`), if open.
fn file_pointer(db: NonNull<ffi::sqlite3>, op: c_int) -> Option<NonNull<ffi::sqlite3_file>> {
    let mut file: *mut ffi::sqlite3_file = ptr::null_mut();
    // SAFETY: `db` is open; both operations write one pointer, owned by SQLite.
    let code = unsafe { file_control(db.as_ptr(), op, &mut file) };
    let file = NonNull::new(file).filter(|_| code == ffi::SQLITE_OK)?;
    // SAFETY: a file object SQLite gave; an unopened one has no methods.
    (!unsafe { (*file.as_ptr()).pMethods }.is_null()).then_some(file)
}

/// The pager's data version of the main database (`SQLITE_FCNTL_DATA_VERSION`).
fn data_version(db: NonNull<ffi::sqlite3>) -> Result<u32, Surprise> {
    let mut version: u32 = 0;
    // SAFETY: `db` is open; the operation writes one unsigned int.
    let code = unsafe { file_control(db.as_ptr(), ffi::SQLITE_FCNTL_DATA_VERSION, &mut version) };
    if code != ffi::SQLITE_OK {
        return Err(Surprise("the data version"));
    }
    Ok(version)
}

fn size_of_file(file: NonNull<ffi::sqlite3_file>) -> Result<u64, Surprise> {
    let mut size: ffi::sqlite3_int64 = 0;
    // SAFETY: an open file of SQLite's, used on its connection's thread.
    let code = unsafe {
        let file = file.as_ptr();
        match (*(*file).pMethods).xFileSize {
            Some(size_of) => size_of(file, &mut size),
            None => ffi::SQLITE_ERROR,
        }
    };
    if code != ffi::SQLITE_OK {
        return Err(Surprise("the file's size"));
    }
    u64::try_from(size).map_err(|_| Surprise("the file's size"))
}

#[cfg(test)]
mod tests {
    use super::super::cursor::tests::{Owned, rows_of};
    use super::*;
    use proptest::prelude::*;
    use rusqlite::params_from_iter;

    type Rows = Vec<Vec<Owned>>;

    const COLUMNS: [&str; 4] = ["id", "price", "note", "n"];

    /// A database file, open, in a folder removed when the test ends.
    fn file() -> (tempfile::TempDir, Rc<Connection>) {
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open(dir.path().join("t.db")).unwrap();
        (dir, Rc::new(conn))
    }

    /// A table like a recording's: an INTEGER PRIMARY KEY, a REAL, a TEXT, an untyped column
    /// and an instrument, on pages of `page_size` bytes with `reserved` bytes kept back.
    fn db(page_size: u32, reserved: u8) -> (tempfile::TempDir, Rc<Connection>) {
        let (dir, conn) = file();
        conn.execute_batch(&format!("PRAGMA page_size = {page_size}"))
            .unwrap();
        let mut bytes = c_int::from(reserved);
        // SAFETY: an open connection; the operation reads an int.
        let code =
            unsafe { file_control(conn.handle(), ffi::SQLITE_FCNTL_RESERVE_BYTES, &mut bytes) };
        assert_eq!(code, ffi::SQLITE_OK);
        conn.execute_batch(
            "CREATE TABLE t(id INTEGER PRIMARY KEY, price REAL, note TEXT, n, instId TEXT)",
        )
        .unwrap();
        (dir, conn)
    }

    fn direct(instrument: Option<&str>) -> Direct {
        Direct {
            table: "t".to_owned(),
            columns: COLUMNS.iter().map(|c| (*c).to_owned()).collect(),
            instrument: instrument.map(|i| ("instId".to_owned(), i.to_owned())),
            upto: None,
        }
    }

    /// The rows with `from <= id <= upto` (of `instrument`), from the pages and from SQLite.
    fn both(
        conn: &Rc<Connection>,
        instrument: Option<&str>,
        (from, upto): (i64, i64),
    ) -> (Result<Rows, Surprise>, Rows) {
        let ours = (|| {
            let mut pages = Pages::open(conn, &direct(instrument))?;
            pages.scan(from, upto)?;
            let mut rows = Vec::new();
            while let Some(row) = pages.next()? {
                rows.push((0..4).map(|c| Owned::from(row.value(c).unwrap())).collect());
            }
            Ok(rows)
        })();
        let mut params = vec![Value::Integer(from), Value::Integer(upto)];
        let filter = match instrument {
            Some(i) => {
                params.push(Value::Text(i.to_owned()));
                "AND (instId = ?3 OR instId = ?3 COLLATE NOCASE)"
            }
            None => "",
        };
        let sql = format!(
            "SELECT id, price, note, n FROM t WHERE id >= ?1 AND id <= ?2 {filter} ORDER BY id"
        );
        (ours, rows_of(conn, &sql, &params, 4))
    }

    /// A value of every form a record holds: each size of integer, reals, text, blobs, NULL.
    fn any_value() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            prop_oneof![
                -2i64..2,
                any::<i8>().prop_map(i64::from),
                any::<i16>().prop_map(i64::from),
                -(1i64 << 23)..(1 << 23),
                any::<i32>().prop_map(i64::from),
                -(1i64 << 47)..(1 << 47),
                any::<i64>(),
            ]
            .prop_map(Value::Integer),
            prop_oneof![
                any::<f64>().prop_filter("NaN", |v| !v.is_nan()),
                -1e6..1e6f64
            ]
            .prop_map(Value::Real),
            // Long text spills onto overflow pages.
            prop_oneof![8 => ".{0,12}", 1 => "[a-z]{3000,9000}"].prop_map(Value::Text),
            proptest::collection::vec(any::<u8>(), 0..40).prop_map(Value::Blob),
        ]
    }

    fn any_instrument() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Text("BTC-USDT".to_owned())),
            Just(Value::Text("btc-usdt".to_owned())),
            Just(Value::Text("ETH-USDT".to_owned())),
            Just(Value::Blob(b"BTC-USDT".to_vec())),
            Just(Value::Null),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        /// Any rows, any page size, any range: the pages give what SQLite gives.
        #[test]
        fn the_pages_give_the_rows_sqlite_gives(
            rows in proptest::collection::vec(
                (1i64..40, any_value(), any_value(), any_value(), any_instrument()),
                0..250,
            ),
            page_size in prop_oneof![Just(512u32), Just(1024), Just(4096), Just(65536)],
            reserved in prop_oneof![Just(0u8), Just(8), Just(32)],
            (from, upto) in (-5i64..2000, 0i64..3000),
            filtered in any::<bool>(),
        ) {
            let (_dir, conn) = db(page_size, reserved);
            let mut id = -3i64;
            for (step, price, note, n, instrument) in rows {
                id += step;
                conn.execute(
                    "INSERT INTO t VALUES (?1, ?2, ?3, ?4, ?5)",
                    params_from_iter([Value::Integer(id), price, note, n, instrument]),
                )
                .unwrap();
            }
            let instrument = filtered.then_some("BTC-USDT");
            let (ours, theirs) = both(&conn, instrument, (from, from + upto));
            prop_assert_eq!(ours.unwrap(), theirs);
        }
    }

    #[test]
    fn a_deep_table_is_read_from_any_id_to_its_end() {
        let (_dir, conn) = db(512, 0);
        conn.execute_batch(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
             INSERT INTO t SELECT i * 3, i / 7.0, 'x' || i, i, 'BTC-USDT' FROM n",
        )
        .unwrap();
        for from in [i64::MIN, 0, 3, 4, 29_999, 59_999, 60_000, 60_001] {
            let (ours, theirs) = both(&conn, Some("BTC-USDT"), (from, i64::MAX));
            assert_eq!(ours.unwrap(), theirs, "from {from}");
        }
        let (ours, theirs) = both(&conn, None, (100, 200));
        assert_eq!(theirs.len(), 33);
        assert_eq!(ours.unwrap(), theirs);
    }

    /// What the pages keep between two scans (interior pages, the last pages read) is
    /// dropped once a commit has changed the file.
    #[test]
    fn a_scan_after_a_commit_sees_the_commit() {
        let (_dir, conn) = db(1024, 0);
        let fill = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000)
                    INSERT OR REPLACE INTO t SELECT i, i, ?1, i, 'BTC-USDT' FROM n";
        conn.execute(fill, ["before"]).unwrap();
        let mut pages = Pages::open(&conn, &direct(None)).unwrap();
        let notes = |pages: &mut Pages| {
            pages.scan(0, i64::MAX).unwrap();
            let mut notes = Vec::new();
            while let Some(row) = pages.next().unwrap() {
                notes.push(Owned::from(row.value(2).unwrap()));
            }
            notes
        };
        assert_eq!(
            notes(&mut pages),
            vec![Owned::Text(b"before".to_vec()); 3000]
        );
        conn.execute(fill, ["after, and longer"]).unwrap();
        conn.execute("DELETE FROM t WHERE id > 2000", []).unwrap();
        let after = notes(&mut pages);
        assert_eq!(
            after,
            vec![Owned::Text(b"after, and longer".to_vec()); 2000]
        );
        // A commit by another connection, as a recorder's.
        let writer = Connection::open(conn.path().unwrap()).unwrap();
        writer
            .execute("UPDATE t SET note = 'by another'", [])
            .unwrap();
        let other = notes(&mut pages);
        assert_eq!(other, vec![Owned::Text(b"by another".to_vec()); 2000]);
    }

    #[test]
    fn tables_the_pages_cannot_read_exactly_are_left_to_sqlite() {
        let (_dir, conn) = file();
        conn.execute_batch(
            "CREATE TABLE wr(id INTEGER PRIMARY KEY, price REAL, note TEXT, n) WITHOUT ROWID;
             CREATE TABLE gen(id INTEGER PRIMARY KEY, price REAL, g AS (price * 2), note TEXT, n);
             CREATE TABLE coll(id INTEGER PRIMARY KEY, price, note, n, instId TEXT COLLATE RTRIM);
             CREATE TABLE num(id INTEGER PRIMARY KEY, price, note, n, instId NUMERIC);
             CREATE VIEW v AS SELECT 1 AS id, 2 AS price, 3 AS note, 4 AS n;",
        )
        .unwrap();
        let open = |table: &str, instrument: bool| {
            let mut direct = direct(instrument.then_some("BTC-USDT"));
            direct.table = table.to_owned();
            Pages::open(&conn, &direct).err()
        };
        assert_eq!(open("wr", false), Some(Surprise("not a rowid table")));
        assert_eq!(open("gen", false), Some(Surprise("generated columns")));
        assert_eq!(
            open("coll", true),
            Some(Surprise("an instrument column with its own collation"))
        );
        assert_eq!(
            open("num", true),
            Some(Surprise("an instrument column with numeric affinity"))
        );
        assert_eq!(open("coll", false), None);
        assert!(open("v", false).is_some());
        assert!(open("missing", false).is_some());
    }

    /// Rows written before `ALTER TABLE … ADD COLUMN` lack the column, whose default SQLite
    /// supplies: the pages stop there and say so.
    #[test]
    fn a_record_shorter_than_its_table_is_a_surprise() {
        let (_dir, conn) = file();
        conn.execute_batch(
            "CREATE TABLE t(id INTEGER PRIMARY KEY, price REAL, note TEXT, n);
             INSERT INTO t VALUES (1, 1.5, 'a', 1);
             ALTER TABLE t ADD COLUMN instId TEXT DEFAULT 'BTC-USDT';
             INSERT INTO t VALUES (2, 2.5, 'b', 2, 'BTC-USDT');",
        )
        .unwrap();
        let mut pages = Pages::open(&conn, &direct(Some("BTC-USDT"))).unwrap();
        pages.scan(2, i64::MAX).unwrap();
        assert_eq!(
            pages.next().unwrap().unwrap().value(0).unwrap(),
            ValueRef::Integer(2)
        );
        pages.scan(1, i64::MAX).unwrap();
        assert_eq!(
            pages.next().err(),
            Some(Surprise("a record shorter than its table"))
        );
    }

    /// In WAL mode, rows in the WAL are not in the file: the pages read only an empty WAL.
    #[test]
    fn a_wal_with_frames_is_left_to_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        let writer = Connection::open(&path).unwrap();
        writer
            .execute_batch(
                "PRAGMA journal_mode = WAL;
                 CREATE TABLE t(id INTEGER PRIMARY KEY, price REAL, note TEXT, n);
                 INSERT INTO t VALUES (1, 1.0, 'a', 1);
                 PRAGMA wal_checkpoint(TRUNCATE);",
            )
            .unwrap();
        let reader = Rc::new(Connection::open(&path).unwrap());
        let mut pages = Pages::open(&reader, &direct(None)).unwrap();
        // Between two statements the reader holds no snapshot: open one as a piece does.
        let scan = |pages: &mut Pages| {
            let mut stmt = reader.prepare("SELECT id FROM t WHERE id >= 1").unwrap();
            let mut rows = stmt.query([]).unwrap();
            rows.next().unwrap();
            pages.scan(1, i64::MAX)
        };
        assert_eq!(scan(&mut pages), Ok(()));
        writer
            .execute("INSERT INTO t VALUES (2, 2.0, 'b', 2)", [])
            .unwrap();
        assert_eq!(scan(&mut pages), Err(Surprise("rows in the WAL")));
    }

    /// The rows of `t` after SQLite's first, as a piece reads them: `None` when the pages
    /// give up.
    fn piece(conn: &Rc<Connection>, pages: &mut Pages) -> Option<Rows> {
        let mut stmt = conn
            .prepare("SELECT id FROM t WHERE id >= 0 ORDER BY id")
            .unwrap();
        let mut sqlite = stmt.query([]).unwrap();
        let first: i64 = sqlite.next().unwrap()?.get(0).unwrap();
        pages.scan_after(first, &[]).ok()?;
        let mut rows = Vec::new();
        while let Some(row) = pages.next().ok()? {
            rows.push((0..4).map(|c| Owned::from(row.value(c).unwrap())).collect());
        }
        Some(rows)
    }

    /// A `VACUUM` by another connection can give the table's root page to another table.
    #[test]
    fn a_schema_changed_by_another_connection_is_a_surprise() {
        let (_dir, conn) = file();
        conn.execute_batch(
            "CREATE TABLE t0(x);
             CREATE TABLE t(id INTEGER PRIMARY KEY, price REAL, note TEXT, n, instId TEXT);
             CREATE TABLE u(id INTEGER PRIMARY KEY, price REAL, note TEXT, n, instId TEXT);
             INSERT INTO t VALUES (1, 1.0, 'from t', 1, 'X'), (2, 1.0, 'from t', 2, 'X');
             INSERT INTO u VALUES (1, 2.0, 'from u', 1, 'X'), (2, 3.0, 'from u', 2, 'X');",
        )
        .unwrap();
        let mut pages = Pages::open(&conn, &direct(None)).unwrap();
        assert_eq!(piece(&conn, &mut pages).unwrap().len(), 1);
        let writer = Connection::open(conn.path().unwrap()).unwrap();
        writer.execute_batch("DROP TABLE t0; VACUUM;").unwrap();
        assert_eq!(piece(&conn, &mut pages), None);
        // A column dropped rewrites every record: the columns move.
        let mut pages = Pages::open(&conn, &direct(None)).unwrap();
        writer
            .execute_batch("ALTER TABLE t DROP COLUMN instId;")
            .unwrap();
        assert_eq!(piece(&conn, &mut pages), None);
    }

    /// A malformed file whose interior pages all point at the next, down to an empty leaf:
    /// 60 children a level, 18 levels. SQLite calls it corrupt; the pages stop at the first
    /// empty leaf instead of walking 60^18 paths to it.
    #[test]
    fn an_empty_page_below_the_root_is_a_surprise() {
        const SIZE: usize = 512;
        let (dir, conn) = db(512, 0);
        conn.execute("INSERT INTO t VALUES (1, 1.5, 'a', 1, 'X')", [])
            .unwrap();
        drop(conn);
        let path = dir.path().join("t.db");
        let mut bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes.len(), 2 * SIZE, "the table's root is page 2, a leaf");
        let leaf = bytes[SIZE..].to_vec();
        let interior = |cells: &[(u32, u8)], right: u32| {
            let mut page = vec![0u8; SIZE];
            page[0] = 0x05;
            page[3..5].copy_from_slice(&(cells.len() as u16).to_be_bytes());
            page[8..12].copy_from_slice(&right.to_be_bytes());
            let mut at = SIZE;
            for (i, (child, key)) in cells.iter().enumerate() {
                at -= 5;
                page[at..at + 4].copy_from_slice(&child.to_be_bytes());
                page[at + 4] = *key;
                page[12 + 2 * i..14 + 2 * i].copy_from_slice(&(at as u16).to_be_bytes());
            }
            page[5..7].copy_from_slice(&(at as u16).to_be_bytes());
            page
        };
        bytes.truncate(SIZE);
        bytes.extend(interior(&[(3, 1), (4, 2)], 4));
        bytes.extend(leaf);
        for page in 4..=21u32 {
            bytes.extend(interior(&[(page + 1, 2); 60], page + 1));
        }
        let mut empty = vec![0u8; SIZE];
        empty[0] = 0x0d;
        empty[5..7].copy_from_slice(&(SIZE as u16).to_be_bytes());
        bytes.extend(empty);
        let pages_now = (bytes.len() / SIZE) as u32;
        bytes[28..32].copy_from_slice(&pages_now.to_be_bytes());
        let counter: [u8; 4] = bytes[24..28].try_into().unwrap();
        bytes[92..96].copy_from_slice(&counter);
        std::fs::write(&path, &bytes).unwrap();

        let conn = Rc::new(Connection::open(&path).unwrap());
        let mut pages = Pages::open(&conn, &direct(None)).unwrap();
        pages.scan(0, i64::MAX).unwrap();
        assert_eq!(
            pages.next().unwrap().unwrap().value(0).unwrap(),
            ValueRef::Integer(1)
        );
        assert_eq!(
            pages.next().err(),
            Some(Surprise("an empty page below the root"))
        );
    }

    #[test]
    fn affinities_follow_sqlites_rules() {
        for (declared, expected) in [
            ("INTEGER", Affinity::Integer),
            ("BIGINT", Affinity::Integer),
            ("FLOATING POINT", Affinity::Integer),
            ("VARCHAR(20)", Affinity::Text),
            ("clob", Affinity::Text),
            ("", Affinity::Blob),
            ("BLOB", Affinity::Blob),
            ("REAL", Affinity::Real),
            ("double precision", Affinity::Real),
            ("FLOAT", Affinity::Real),
            ("DECIMAL(10,5)", Affinity::Numeric),
            ("STRING", Affinity::Numeric),
        ] {
            assert_eq!(affinity(declared), expected, "{declared}");
        }
    }
}
