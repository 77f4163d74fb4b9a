//! What an output may replace (SPEC 4): nothing but a new file or a regular file of
//! orderflow's own making.
//!
//! orderflow recognises its own file by what is in it, since a name proves nothing (`--summary`
//! can name any path, and a recording could be called `ohlc_data.json`):
//! - an empty file (a reset, or one made with `touch`);
//! - a JSON file of one of the shapes orderflow writes: a list of rows of numbers
//!   (`ohlc_data.json`, `metrics_data.json`), a list of footprint bars `[ts, rows]`
//!   (`footprint_data.json`), an object of exactly `bids` and `asks`, lists of
//!   rows of numbers (`depth_data.json`), or an object with the run summary's `instrument`,
//!   `start`, `end`, `files` and `skipped`. Any of them may be replaced by any output: the files
//!   are all orderflow's (or the seed's, whose JSON files have the same shapes).
//!
//! A file that starts with `SQLite format 3` (a recording) is never ours, nor is any file larger
//! than [`MAX_OWN_BYTES`]. A symbolic link is judged by the file it points to, and then that
//! file is written (the link stays); a link to nothing is refused. A folder, a FIFO, a device
//! or a socket is refused. Anything refused is left exactly as it was.
//!
//! A JSON file is judged without building its lists (a day's `footprint_data.json` is
//! megabytes), only the small objects: from its bytes in memory up to 8 MiB, above that while
//! it is read, a buffer at a time.

use std::fmt;
use std::fs;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::value::MapAccessDeserializer;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// No output of orderflow comes near this size (the JSON files hold at most 1000 bars).
pub const MAX_OWN_BYTES: u64 = 64 << 20;

/// Files up to this size are read whole and judged from memory; larger ones a buffer at a time.
const SLICE_BYTES: u64 = 8 << 20;

/// The first bytes of every SQLite database.
const SQLITE_HEADER: &[u8] = b"SQLite format 3\0";

/// The output that is about to be written (for the message).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// `ohlc_data.json` or `metrics_data.json`: `[[ts, n, ...], ...]`.
    Bars,
    /// `depth_data.json`: `{"bids": [[p, s], ...], "asks": [[p, s], ...]}`.
    Depth,
    /// `footprint_data.json`: `[[ts, [[price, buy, sell], ...]], ...]`.
    Footprint,
    /// The run summary of `--summary`.
    Summary,
}

/// Whether `object` is one of the objects orderflow writes: the depth (exactly `bids` and
/// `asks`, lists of rows of numbers) or the run summary (see the module's notes).
fn is_own_object(object: &Map<String, Value>) -> bool {
    let numbers = |row: &Value| {
        row.as_array()
            .is_some_and(|row| row.iter().all(Value::is_number))
    };
    let rows = |value: &Value| {
        value
            .as_array()
            .is_some_and(|rows| rows.iter().all(numbers))
    };
    let depth = object.len() == 2
        && ["bids", "asks"]
            .iter()
            .all(|side| object.get(*side).is_some_and(rows));
    let summary = ["instrument", "start", "end", "files", "skipped"]
        .iter()
        .all(|key| object.contains_key(*key));
    depth || summary
}

/// Which of the shapes orderflow writes one JSON value has, found while it is read: a list is
/// judged element by element and never kept, so a large file costs no memory of its size. The
/// value is read through to its end (by the same parser as any JSON) even once it cannot be
/// ours, so a file that is not JSON is still told apart from one of another shape.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Shape {
    number: bool,
    /// A list of numbers: `[ts, n, ...]`, `[price, size]`, `[price, buy, sell]`.
    row: bool,
    /// A list of rows (`ohlc_data.json`, `metrics_data.json`, a side of the depth).
    rows: bool,
    /// A footprint bar: `[ts, rows]`.
    bar: bool,
    /// A list of footprint bars (`footprint_data.json`).
    bars: bool,
    /// The whole file is one of orderflow's objects (only judged for the outermost value).
    own_object: bool,
}

impl Shape {
    const NUMBER: Shape = Shape {
        number: true,
        row: false,
        rows: false,
        bar: false,
        bars: false,
        own_object: false,
    };

    /// Whether a whole file of this shape is orderflow's own.
    fn is_own(self) -> bool {
        self.rows || self.bars || self.own_object
    }
}

/// The shape of a list, told from its elements one at a time (by both readers of lists: the
/// JSON parser's visitor and [`lists_of_numbers`]).
struct ListShape {
    numbers: bool,
    rows: bool,
    bars: bool,
    len: usize,
    first_number: bool,
    second_rows: bool,
}

impl ListShape {
    fn new() -> ListShape {
        ListShape {
            numbers: true,
            rows: true,
            bars: true,
            len: 0,
            first_number: false,
            second_rows: false,
        }
    }

    fn add(&mut self, element: Shape) {
        self.numbers &= element.number;
        self.rows &= element.row;
        self.bars &= element.bar;
        match self.len {
            0 => self.first_number = element.number,
            1 => self.second_rows = element.rows,
            _ => {}
        }
        self.len += 1;
    }

    /// A list of numbers is a row; of rows, rows; `[number, rows]` a footprint bar; of those,
    /// footprint bars (an empty list is all of these but a bar).
    fn shape(self) -> Shape {
        Shape {
            row: self.numbers,
            rows: self.rows,
            bar: self.len == 2 && self.first_number && self.second_rows,
            bars: self.bars,
            ..Shape::default()
        }
    }
}

/// Reads one value as a [`Shape`]; `outermost` says whether it is the whole file (only there
/// an object can be ours, and it is small enough to be read whole).
#[derive(Clone, Copy)]
struct ShapeOf {
    outermost: bool,
}

impl<'de> DeserializeSeed<'de> for ShapeOf {
    type Value = Shape;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Shape, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Deserialize<'de> for Shape {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Shape, D::Error> {
        ShapeOf { outermost: true }.deserialize(deserializer)
    }
}

impl<'de> Visitor<'de> for ShapeOf {
    type Value = Shape;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Shape, E> {
        Ok(Shape::default())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Shape, E> {
        Ok(Shape::NUMBER)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Shape, E> {
        Ok(Shape::NUMBER)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Shape, E> {
        Ok(Shape::NUMBER)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Shape, E> {
        Ok(Shape::default())
    }

    fn visit_unit<E: de::Error>(self) -> Result<Shape, E> {
        Ok(Shape::default())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Shape, A::Error> {
        let inner = ShapeOf { outermost: false };
        let mut list = ListShape::new();
        while let Some(element) = seq.next_element_seed(inner)? {
            list.add(element);
        }
        Ok(list.shape())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Shape, A::Error> {
        if self.outermost {
            let object = Map::deserialize(MapAccessDeserializer::new(map))?;
            return Ok(Shape {
                own_object: is_own_object(&object),
                ..Shape::default()
            });
        }
        let inner = ShapeOf { outermost: false };
        while map.next_key_seed(inner)?.is_some() {
            map.next_value_seed(inner)?;
        }
        Ok(Shape::default())
    }
}

impl Target {
    fn advice(self) -> &'static str {
        match self {
            Target::Bars | Target::Depth | Target::Footprint => {
                "give --json-dir a folder of its own (a new or empty one), or move the file away yourself"
            }
            Target::Summary => {
                "give --summary a new file name (such as summary.json), or move the file away yourself"
            }
        }
    }
}

/// An output target that orderflow will not replace.
#[derive(Debug, thiserror::Error)]
#[error(
    "refusing to write {} over {}: it is {what}, not a file orderflow wrote, and it was left as it was; {advice}",
    if *output == Target::Summary { "the run summary" } else { "a JSON file" },
    path.display()
)]
pub struct Refused {
    pub path: PathBuf,
    pub output: Target,
    /// What the target is, e.g. "a SQLite database (a recording?)".
    pub what: String,
    pub advice: &'static str,
}

/// Checks that `path` may be written as `output`, and returns the path to write: `path` itself,
/// or the file a symbolic link points to.
///
/// A path that cannot be looked at (a parent that is not a folder, no permission) is returned
/// as it is: writing it then fails with its own error.
///
/// # Errors
/// [`Refused`] when `path` exists and is not a regular file of orderflow's own making (see the
/// module's notes).
pub fn check(path: &Path, output: Target) -> Result<PathBuf, Refused> {
    let refuse = |what: &str| Refused {
        path: path.to_owned(),
        output,
        what: what.to_owned(),
        advice: output.advice(),
    };
    let Ok(meta) = fs::symlink_metadata(path) else {
        return Ok(path.to_owned());
    };
    let (target, meta) = if meta.is_symlink() {
        match fs::canonicalize(path).and_then(|real| Ok((fs::metadata(&real)?, real))) {
            Ok((meta, real)) => (real, meta),
            Err(_) => {
                return Err(refuse(
                    "a symbolic link to nothing (its target is missing or a loop)",
                ));
            }
        }
    } else {
        (path.to_owned(), meta)
    };
    if let Some(kind) = not_a_file(&meta) {
        return Err(refuse(kind));
    }
    match judge(&target) {
        Ok(Judged::Empty | Judged::Own) => Ok(target),
        Ok(Judged::Recording) => Err(refuse("a SQLite database (a recording?)")),
        Ok(Judged::TooLarge) => Err(refuse("a file larger than any orderflow writes")),
        Ok(Judged::OtherShape) => Err(refuse("a JSON file of a shape orderflow does not write")),
        Ok(Judged::NotJson) => Err(refuse("a file that is not JSON")),
        Err(error) => Err(refuse(&format!("a file that cannot be read ({error})"))),
    }
}

/// What a regular file turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Judged {
    Empty,
    Recording,
    TooLarge,
    Own,
    OtherShape,
    NotJson,
}

/// Reads the file at `path` as far as needed to tell whether it is orderflow's own: its first
/// bytes for the SQLite header, then (below [`MAX_OWN_BYTES`]) the whole file through the JSON
/// parser: from memory up to [`SLICE_BYTES`], a buffer at a time above. Opened without blocking, so that a FIFO put there since it was
/// looked at cannot hang the run.
fn judge(path: &Path) -> io::Result<Judged> {
    judge_with(path, SLICE_BYTES)
}

/// [`judge`], reading files up to `slice_bytes` whole.
fn judge_with(path: &Path, slice_bytes: u64) -> io::Result<Judged> {
    let mut options = fs::File::options();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    let mut file = options.open(path)?;
    let meta = file.metadata()?;
    if let Some(kind) = not_a_file(&meta) {
        return Err(io::Error::other(format!("it became {kind}")));
    }
    let mut head = Vec::with_capacity(SQLITE_HEADER.len());
    (&mut file)
        .take(SQLITE_HEADER.len() as u64)
        .read_to_end(&mut head)?;
    if head.is_empty() {
        return Ok(Judged::Empty);
    }
    if head.starts_with(SQLITE_HEADER) {
        return Ok(Judged::Recording);
    }
    if meta.len() > MAX_OWN_BYTES {
        return Ok(Judged::TooLarge);
    }
    // The limit also holds for a file that grew since its size was looked at.
    let rest = file.take(MAX_OWN_BYTES + 1 - head.len() as u64);
    let (shape, read_all) = if meta.len() <= slice_bytes {
        // Parsed from memory: serde_json reads a slice about ten times as fast as a reader,
        // and a buffer this size is returned to the system as soon as it is dropped.
        let mut content = Vec::with_capacity(meta.len() as usize + 1);
        content.extend_from_slice(&head);
        let mut rest = rest;
        rest.read_to_end(&mut content)?;
        let read_all = content.len() as u64 > MAX_OWN_BYTES;
        let shape = match lists_of_numbers(&content) {
            Some(shape) => Ok(shape),
            None => serde_json::from_slice::<Shape>(&content),
        };
        (shape, read_all)
    } else {
        let mut reader = BufReader::new(head.as_slice().chain(rest));
        if let Some(shape) = lines_of_lists(&mut reader)? {
            (Ok(shape), reader.get_ref().get_ref().1.limit() == 0)
        } else {
            // Judged by the JSON parser, from the start.
            let file = options.open(path)?;
            let mut reader = BufReader::new(file.take(MAX_OWN_BYTES + 1));
            let shape = match serde_json::from_reader::<_, Shape>(&mut reader) {
                Err(error) if error.is_io() => return Err(error.into()),
                shape => shape,
            };
            (shape, reader.get_ref().limit() == 0)
        }
    };
    if read_all {
        return Ok(Judged::TooLarge);
    }
    Ok(match shape {
        Ok(shape) if shape.is_own() => Judged::Own,
        Ok(_) => Judged::OtherShape,
        Err(_) => Judged::NotJson,
    })
}

/// The shape of `content` when it is JSON made of lists and numbers only, as the list files
/// orderflow writes are, read without converting its numbers: the JSON parser's conversions
/// were nearly all of the check (27 M instructions for the 667 kB `footprint_data.json` of a
/// trade-heavy hour, before the reading threads could start). `None` for anything else,
/// invalid JSON included, which the JSON parser then judges: so the verdict is the parser's
/// either way (a test holds the two together).
fn lists_of_numbers(content: &[u8]) -> Option<Shape> {
    let mut at = 0;
    let shape = list_or_number(content, &mut at, 0)?;
    skip_blanks(content, &mut at);
    (at == content.len()).then_some(shape)
}

/// [`lists_of_numbers`] for a file too large to read whole (`footprint_data.json` of a busy
/// day: 13 MB, which the JSON parser took 0.4 s to judge before a run could start), laid out as
/// orderflow writes its lists: `[`, one element a line, each but the last followed by a comma,
/// then `]`. Each line is read from memory; `None` for any other layout, which the JSON parser
/// then judges.
fn lines_of_lists(reader: &mut impl BufRead) -> io::Result<Option<Shape>> {
    let mut line = Vec::new();
    reader.read_until(b'\n', &mut line)?;
    if line != b"[\n" {
        return Ok(None);
    }
    let mut list = ListShape::new();
    loop {
        line.clear();
        reader.read_until(b'\n', &mut line)?;
        let (element, more) = match line.strip_suffix(b",\n") {
            Some(element) => (element, true),
            None => match line.strip_suffix(b"\n") {
                Some(element) => (element, false),
                None => return Ok(None),
            },
        };
        let Some(shape) = lists_of_numbers(element) else {
            return Ok(None);
        };
        list.add(shape);
        if !more {
            break;
        }
    }
    line.clear();
    reader.read_to_end(&mut line)?;
    let mut at = 0;
    if line.first() != Some(&b']') {
        return Ok(None);
    }
    at += 1;
    skip_blanks(&line, &mut at);
    Ok((at == line.len()).then(|| list.shape()))
}

/// Lists nested deeper than this are left to the JSON parser, whose own limit is 128.
const MAX_LIST_DEPTH: usize = 100;

/// Reads one list or number from `at` ([`lists_of_numbers`]).
fn list_or_number(content: &[u8], at: &mut usize, depth: usize) -> Option<Shape> {
    skip_blanks(content, at);
    match content.get(*at)? {
        b'-' | b'0'..=b'9' => {
            number(content, at)?;
            Some(Shape::NUMBER)
        }
        b'[' if depth < MAX_LIST_DEPTH => {
            *at += 1;
            let mut list = ListShape::new();
            skip_blanks(content, at);
            if content.get(*at) == Some(&b']') {
                *at += 1;
            } else {
                loop {
                    list.add(list_or_number(content, at, depth + 1)?);
                    skip_blanks(content, at);
                    match content.get(*at)? {
                        b',' => *at += 1,
                        b']' => {
                            *at += 1;
                            break;
                        }
                        _ => return None,
                    }
                }
            }
            Some(list.shape())
        }
        _ => None,
    }
}

/// Reads a JSON number from `at`: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`,
/// and one whose magnitude is beyond `f64` (an error to the JSON parser) is `None`.
fn number(content: &[u8], at: &mut usize) -> Option<()> {
    let start = *at;
    let digits = |at: &mut usize| {
        let rest = content.get(*at..).unwrap_or_default();
        let n = rest
            .iter()
            .position(|b| !b.is_ascii_digit())
            .unwrap_or(rest.len());
        *at += n;
        (n > 0).then_some(())
    };
    if content.get(*at) == Some(&b'-') {
        *at += 1;
    }
    match content.get(*at)? {
        b'0' => *at += 1,
        b'1'..=b'9' => digits(at)?,
        _ => return None,
    }
    if content.get(*at) == Some(&b'.') {
        *at += 1;
        digits(at)?;
    }
    // Whether the exponent is positive and has more than two digits.
    let mut large_exponent = false;
    if matches!(content.get(*at), Some(b'e' | b'E')) {
        *at += 1;
        let negative = content.get(*at) == Some(&b'-');
        if matches!(content.get(*at), Some(b'+' | b'-')) {
            *at += 1;
        }
        let from = *at;
        digits(at)?;
        large_exponent = !negative && *at - from > 2;
    }
    // Up to 200 characters with an exponent below 100 stay below 1e300 (a negative exponent
    // makes a number smaller; SQLite's and serde's parsers both take it to 0 at worst): only
    // a longer number, or one with a larger exponent, can be out of range.
    let token = &content[start..*at];
    if large_exponent || token.len() > 200 {
        let value: f64 = std::str::from_utf8(token).ok()?.parse().ok()?;
        value.is_finite().then_some(())?;
    }
    Some(())
}

/// Moves `at` past JSON's blanks (space, tab, line feed, carriage return).
fn skip_blanks(content: &[u8], at: &mut usize) {
    while matches!(content.get(*at), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        *at += 1;
    }
}

/// What `meta` is, when it is not a regular file.
fn not_a_file(meta: &fs::Metadata) -> Option<&'static str> {
    let kind = meta.file_type();
    if kind.is_file() {
        return None;
    }
    if kind.is_dir() {
        return Some("a directory");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return Some("a FIFO (named pipe)");
        }
        if kind.is_char_device() || kind.is_block_device() {
            return Some("a device");
        }
        if kind.is_socket() {
            return Some("a socket");
        }
    }
    Some("not a regular file")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Wherever the reading of lists of numbers gives a shape, the JSON parser gives the
        /// same one: texts made of the characters of list files, near-valid ones included.
        #[test]
        fn lists_of_numbers_are_judged_as_the_json_parser_judges_them(
            pieces in prop::collection::vec(prop_oneof![
                Just("["), Just("]"), Just(","), Just(" "), Just("\n"), Just("-"), Just("+"),
                Just("."), Just("e"), Just("E"), Just("0"), Just("1"), Just("12"), Just("1.5"),
                Just("1e999"), Just("1e-999"), Just("00"), Just("[1,[[2,3,4]]]"), Just("[[1,2]]"),
                Just("1e308"), Just("2e308"), Just("x"),
            ], 0..40),
        ) {
            let text = pieces.concat();
            if let Some(shape) = lists_of_numbers(text.as_bytes()) {
                let parsed = serde_json::from_slice::<Shape>(text.as_bytes());
                prop_assert_eq!(parsed.ok(), Some(shape), "{:?}", text);
            }
        }
    }

    #[test]
    fn lists_of_numbers_read_the_list_files_and_leave_the_rest() {
        for (text, own) in [
            ("[]", true),
            (" [ [1, 2.5e-3, -0.0, 1E+2] ,[3] ]\r\n", true),
            ("[\n[60000,[[1.5,2,0],[2,0,1]]]\n]", true),
            ("[[60000,[[1.5,2,0]],[]]]", false),
            ("[1,2]", false),
            ("5", false),
        ] {
            let shape = lists_of_numbers(text.as_bytes()).expect(text);
            assert_eq!(shape.is_own(), own, "{text}");
            assert_eq!(
                serde_json::from_slice::<Shape>(text.as_bytes()).unwrap(),
                shape
            );
        }
        let deep = format!("{}{}", "[".repeat(150), "]".repeat(150));
        for text in [
            "[1,]",
            "[01]",
            "[1.]",
            "[.5]",
            "[-]",
            "[1e]",
            "[1e999]",
            "[1] x",
            "[\"a\"]",
            "[true]",
            "{}",
            "",
            "[1",
            deep.as_str(),
        ] {
            assert_eq!(lists_of_numbers(text.as_bytes()), None, "{text}");
        }
    }

    proptest! {
        /// Files in the layout orderflow writes, or near it, are judged alike read a line at
        /// a time (files too large to read whole) or whole.
        #[test]
        fn files_read_a_line_at_a_time_are_judged_as_read_whole(
            lines in prop::collection::vec(prop_oneof![
                Just("[60000,[[1.5,2,0],[2,0,1]]]"), Just("[1,[[2,3,4]]]"), Just("1"),
                Just("[1e999]"), Just("[1,]"), Just(""), Just("[[1,2]]"), Just(" [3] "),
                Just("[1]\n"), Just("{}"),
            ], 0..6),
            start in prop_oneof![Just("[\n"), Just("[ \n"), Just("[")],
            end in prop_oneof![Just("\n]"), Just("\n] \n"), Just("\n]x"), Just("]"), Just("\n")],
        ) {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("file.json");
            fs::write(&path, format!("{start}{}{end}", lines.join(",\n"))).unwrap();
            prop_assert_eq!(
                judge_with(&path, 0).unwrap(),
                judge_with(&path, SLICE_BYTES).unwrap()
            );
        }
    }

    fn check_content(content: &[u8], output: Target) -> Result<PathBuf, Refused> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("file.json");
        fs::write(&path, content).unwrap();
        let result = check(&path, output);
        assert_eq!(fs::read(&path).unwrap(), content, "never changed");
        assert_eq!(
            judge_with(&path, 0).unwrap(),
            judge_with(&path, SLICE_BYTES).unwrap(),
            "read a buffer at a time or whole, the file is judged alike: {:?}",
            String::from_utf8_lossy(content)
        );
        result
    }

    #[test]
    fn own_files_are_recognised_by_their_content() {
        for (content, output, own) in [
            (&b""[..], Target::Bars, true),
            (b"[]", Target::Bars, true),
            (b"[\n[1736899200000,1.5,2,1,1.25,3]\n]", Target::Bars, true),
            (b"{\"bids\":[[1,2]],\"asks\":[]}", Target::Depth, true),
            (
                b"[\n[60000,[[1.5,2,0],[2,0,1]]]\n]",
                Target::Footprint,
                true,
            ),
            (b"[[60000,[[1.5,\"x\",0]]]]", Target::Footprint, false),
            (
                b"{\"instrument\":\"X\",\"start\":0,\"end\":1,\"files\":[],\"skipped\":{}}",
                Target::Summary,
                true,
            ),
            (b"SQLite format 3\0rest of a recording", Target::Bars, false),
            (b"SQLite format 3\0", Target::Summary, false),
            (b"{\"bids\":[],\"asks\":[]}", Target::Bars, true),
            (b"[[1,2]]", Target::Depth, true),
            (
                b"{\"bids\":[[\"1\",\"2\"]],\"asks\":[]}",
                Target::Depth,
                false,
            ),
            (b"{\"mine\":[1,2,3]}", Target::Bars, false),
            (b"[1,2,3]", Target::Bars, false),
            (b"\"text\"", Target::Summary, false),
            (
                b"{\"bids\":[],\"asks\":[],\"mine\":1}",
                Target::Depth,
                false,
            ),
            (b"[[\"a\"]]", Target::Bars, false),
            (b"my notes", Target::Summary, false),
            (b"{\"instrument\":\"X\"}", Target::Summary, false),
        ] {
            assert_eq!(
                check_content(content, output).is_ok(),
                own,
                "{:?} as {output:?}",
                String::from_utf8_lossy(content)
            );
        }
    }

    /// The shapes orderflow writes, read as they stream by, and the near misses it refuses with
    /// the message that says why.
    #[test]
    fn the_streaming_check_tells_every_shape_apart() {
        let footprint =
            b"[\n[1736899200000,[[100000.5,1.25,0],[100001,0,2]]],\n[1736899260000,[]]\n]";
        let rows = b"[\n[1736899200000,100000.5,100010,99990,100001,12.5],\n[1736899260000,100001,100002,99999,100000,3]\n]";
        let summary = br#"{"instrument":"BTC-USDT","start":"2025-01-15","end":"2025-01-15","files":["a.db"],"skipped":{"files":0},"extra":true}"#;
        for (content, own) in [
            (&footprint[..], true),
            (rows, true),
            (b"[]", true),
            (b" [ ] \n", true),
            (b"[[]]", true),
            (b"[[1,[]]]", true),
            (b"[[-1,2.5e3,18446744073709551615]]", true),
            (b"{\"bids\":[[1,2],[3,4]],\"asks\":[[5,6]]}", true),
            (summary, true),
            (b"[[1,\"a\"]]", false),
            (b"[[1,[[1,2,\"x\"]]]]", false),
            (b"{\"bids\":[]}", false),
            (b"[[1,2],[3,[[1]]]]", false),
            (b"[[1,[[1]],2]]", false),
            (b"[[[1],[[1]]]]", false),
            (b"[[1,[1]]]", false),
            (b"[[1,[[1]]],{}]", false),
            (b"[[null]]", false),
            (b"{\"bids\":[],\"asks\":{}}", false),
            (b"{\"asks\":[],\"other\":[]}", false),
            (b"1", false),
        ] {
            let result = check_content(content, Target::Footprint);
            let shown = String::from_utf8_lossy(content);
            assert_eq!(result.is_ok(), own, "{shown:?}");
            if let Err(err) = result {
                assert_eq!(
                    err.what, "a JSON file of a shape orderflow does not write",
                    "{shown:?}"
                );
            }
        }
    }

    /// A file that goes wrong only after its shape is already known not to be ours is still
    /// told to be no JSON, as when it was parsed whole.
    #[test]
    fn a_file_is_read_to_its_end_before_its_shape_is_told() {
        for content in [
            &b"[[1,\"a\"],"[..],
            b"[[1,\"a\"]] trailing",
            b"[[1,\"a\"],[\"\xff\"]]",
            b"{\"bids\":[],\"asks\":[]",
            b"[[1,2]]]",
            b"[[1,1e999]]",
        ] {
            let err = check_content(content, Target::Bars).unwrap_err();
            assert_eq!(
                err.what,
                "a file that is not JSON",
                "{:?}",
                String::from_utf8_lossy(content)
            );
        }
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let err = check_content(deep.as_bytes(), Target::Bars).unwrap_err();
        assert_eq!(
            err.what, "a file that is not JSON",
            "nesting beyond the parser's limit"
        );
    }

    #[test]
    fn a_file_too_large_is_refused_before_it_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.json");
        fs::write(&path, b"[]").unwrap();
        let file = fs::OpenOptions::new().write(true).open(&path).unwrap();
        file.set_len(MAX_OWN_BYTES + 1).unwrap();
        let err = check(&path, Target::Bars).unwrap_err();
        assert_eq!(err.what, "a file larger than any orderflow writes");
    }

    #[test]
    fn a_missing_file_may_be_written_and_a_folder_may_not() {
        let dir = tempfile::tempdir().unwrap();
        let new = dir.path().join("new.json");
        assert_eq!(check(&new, Target::Summary).unwrap(), new);
        let err = check(dir.path(), Target::Summary).unwrap_err();
        assert!(err.to_string().contains("a directory"), "{err}");
        assert!(err.to_string().contains("--summary"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn a_link_is_judged_by_its_target_and_resolved() {
        let dir = tempfile::tempdir().unwrap();
        let own = dir.path().join("own.json");
        fs::write(&own, "[]").unwrap();
        let recording = dir.path().join("r.db");
        fs::write(&recording, b"SQLite format 3\0...").unwrap();
        let link = |name: &str, to: &Path| {
            let path = dir.path().join(name);
            std::os::unix::fs::symlink(to, &path).unwrap();
            path
        };
        let to_own = link("to-own.json", &own);
        assert_eq!(
            check(&to_own, Target::Bars).unwrap(),
            fs::canonicalize(&own).unwrap()
        );
        assert!(check(&link("to-recording.json", &recording), Target::Bars).is_err());
        assert!(
            check(
                &link("dangling.json", &dir.path().join("none")),
                Target::Bars
            )
            .is_err()
        );
    }
}
