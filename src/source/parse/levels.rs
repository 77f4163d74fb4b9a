//! Level text (SPEC 1.3): a list of `[price, size, ...]` levels, in JSON or Python-literal notation.
//!
//! A hand-written byte scanner, because this is the hottest code of a run (one snapshot row holds
//! hundreds of levels). It allocates nothing per level, never recurses (nested values are walked
//! with an explicit stack, so 100,000 open brackets cost memory, not the call stack) and never
//! panics: every index goes through `get`.
//!
//! The grammar is the union of JSON and what Python's `ast.literal_eval` returns for such lists:
//! strings in `"` or `'`, lists `[...]`, tuples `(...)`, trailing commas (`[a, b,]`, `(a,)`),
//! numbers with an optional sign (`+1.5`, `.5`, `1.`), and the constants `null`, `true`, `false`,
//! `None`, `True`, `False`. A level is a list or tuple whose first two elements are the price and
//! the size, as numbers or numeric strings (SPEC 1.2); further elements are checked for syntax and
//! otherwise ignored.
//!
//! One reading that differs from Python: a parenthesised single value in a level's place,
//! `(['1', '2'])`, is read as a one-element tuple (an invalid level), where Python would drop the
//! parentheses.

use std::fmt;
use std::ops::ControlFlow;

use crate::engine::Level;

use super::number::{self, NumError};

/// The largest price or size accepted (SPEC 1.2): no sum of them can overflow.
pub const MAX_VALUE: f64 = 1e15;

/// Why a level text was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LevelError {
    /// The text is not a list of values in either notation (`BadReason::LevelText`).
    Syntax {
        /// Byte offset where reading stopped.
        offset: usize,
    },
    /// The text parses, but a level is not a valid `[price, size, ...]` (`BadReason::InvalidLevel`).
    Invalid {
        /// Zero-based position of the first invalid level.
        index: usize,
        why: InvalidLevel,
    },
}

/// What is wrong with a level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidLevel {
    /// Not a list or tuple.
    NotAList,
    /// Fewer than two elements.
    TooShort,
    /// The price is not a number or numeric string.
    PriceNotNumber,
    /// The size is not a number or numeric string.
    SizeNotNumber,
    /// The price is not finite, > 0 and <= 1e15.
    PriceOutOfRange,
    /// The size is not finite, >= 0 and <= 1e15.
    SizeOutOfRange,
}

impl fmt::Display for LevelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LevelError::Syntax { offset } => {
                write!(f, "not a JSON or Python list of levels (at byte {offset})")
            }
            LevelError::Invalid { index, why } => {
                let why = match why {
                    InvalidLevel::NotAList => "is not a list or tuple",
                    InvalidLevel::TooShort => "has fewer than 2 elements",
                    InvalidLevel::PriceNotNumber => "has a price that is not a number",
                    InvalidLevel::SizeNotNumber => "has a size that is not a number",
                    InvalidLevel::PriceOutOfRange => "has a price not in (0, 1e15]",
                    InvalidLevel::SizeOutOfRange => "has a size not in [0, 1e15]",
                };
                write!(f, "level {index} {why}")
            }
        }
    }
}

impl std::error::Error for LevelError {}

/// Parses level text into `out` (cleared first). Empty or blank text and `[]` give no levels.
/// Levels of size 0 are kept: in an update they delete a level.
///
/// # Errors
/// [`LevelError::Syntax`] when the text is not a list in either notation;
/// [`LevelError::Invalid`] when it is, but a level is not a valid price and size. Syntax wins
/// when the text has both problems, so the reason does not depend on which comes first.
pub fn parse_levels(text: &[u8], out: &mut Vec<Level>) -> Result<(), LevelError> {
    out.clear();
    let mut p = Parser {
        b: text,
        i: 0,
        stack: Vec::new(),
    };
    let result = p.levels(out);
    if result.is_err() {
        out.clear();
    }
    result
}

/// Result of reading one element that should be a number.
enum Element {
    Number(f64),
    NotNumber,
}

struct Parser<'a> {
    b: &'a [u8],
    i: usize,
    /// Closing brackets of the values being skipped; empty (and unallocated) unless a skipped
    /// value nests.
    stack: Vec<u8>,
}

impl Parser<'_> {
    #[inline(always)]
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    #[inline(always)]
    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.peek() {
            self.i += 1;
        }
    }

    /// The syntax error at `self.i`. Cold, so that the branches to it (one per check of the
    /// general path) are laid out away from the levels that parse.
    #[cold]
    fn syntax<T>(&self) -> Result<T, LevelError> {
        Err(LevelError::Syntax { offset: self.i })
    }

    fn levels(&mut self, out: &mut Vec<Level>) -> Result<(), LevelError> {
        self.ws();
        match self.peek() {
            None => return Ok(()),
            Some(b'[') => self.i += 1,
            Some(_) => return self.syntax(),
        }
        self.ws();
        if self.peek() == Some(b']') {
            self.i += 1;
            return self.end();
        }
        // The first invalid level; reading goes on so that a syntax error later still wins.
        let mut invalid: Option<LevelError> = None;
        let mut index = 0;
        // Three readers, fastest first: runs of OKX-shaped levels, then one common level, then
        // the general path, which alone decides about invalid levels and syntax errors.
        loop {
            if self.okx_run(out, &mut index) == Run::AfterLevel {
                if self.after_level()?.is_break() {
                    break;
                }
                continue;
            }
            if let Some(level) = self.level_fast() {
                out.push(level);
                index += 1;
                if self.next_level() {
                    continue;
                }
                if self.after_level()?.is_break() {
                    break;
                }
                continue;
            }
            match self.level()? {
                Ok(level) => out.push(level),
                Err(why) => {
                    invalid.get_or_insert(LevelError::Invalid { index, why });
                }
            }
            index += 1;
            if self.after_level()?.is_break() {
                break;
            }
        }
        self.end()?;
        match invalid {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    /// What follows a level: `,` and another level (or `]` after a trailing comma, as Python
    /// allows), or the `]` that closes the list.
    #[inline(always)]
    fn after_level(&mut self) -> Result<ControlFlow<()>, LevelError> {
        self.ws();
        match self.peek() {
            Some(b',') => {
                self.i += 1;
                self.ws();
                if self.peek() == Some(b']') {
                    self.i += 1;
                    return Ok(ControlFlow::Break(()));
                }
                Ok(ControlFlow::Continue(()))
            }
            Some(b']') => {
                self.i += 1;
                Ok(ControlFlow::Break(()))
            }
            _ => self.syntax(),
        }
    }

    /// [`Parser::after_level`] for the usual separator, `,[` or `, [`: taken, leaving `self.i`
    /// at the next level's `[`, and `true`. Anything else is left to `after_level`, which
    /// would have read these the same way.
    #[inline(always)]
    fn next_level(&mut self) -> bool {
        match self.b.get(self.i..self.i + 3) {
            Some([b',', b'[', _]) => self.i += 1,
            Some([b',', b' ', b'[']) => self.i += 2,
            _ => return false,
        }
        true
    }

    /// Takes the levels of the usual OKX shape from `self.i` on, with the separators between
    /// them, in the notation of the first: JSON (`["96004.4","0.14593057","0","3"]`) or Python
    /// (`['96004.4', '0.14593057', '0', '3']`). While 64 bytes or more are left, each level is
    /// read from a 64-byte window of the text (one bounds check per level); the last few from
    /// the rest of the text, checking each read.
    ///
    /// Stops at the first level of another shape, leaving `self.i` at it
    /// ([`Run::AtLevel`]), or after a level not followed by `,[` or `, [`
    /// ([`Run::AfterLevel`]).
    ///
    /// JSON is tried without spaces after the commas and Python with them, as each is usually
    /// written; when the first level does not match, the other spacing.
    #[inline(always)]
    fn okx_run(&mut self, out: &mut Vec<Level>, index: &mut usize) -> Run {
        let before = *index;
        let run = match self.b.get(self.i + 1) {
            Some(b'"') => self.okx_run_in::<b'"', false>(out, index),
            Some(b'\'') => self.okx_run_in::<b'\'', true>(out, index),
            _ => return Run::AtLevel,
        };
        if run == Run::AfterLevel || *index != before {
            return run;
        }
        match self.b.get(self.i + 1) {
            Some(b'"') => self.okx_run_in::<b'"', true>(out, index),
            _ => self.okx_run_in::<b'\'', false>(out, index),
        }
    }

    /// [`Parser::okx_run`] in one notation. Not inlined: on its own, its loop keeps its
    /// constants and counters in registers.
    #[inline(never)]
    fn okx_run_in<const QUOTE: u8, const SPACED: bool>(
        &mut self,
        out: &mut Vec<Level>,
        index: &mut usize,
    ) -> Run {
        // The rest of the text as a local (kept in a register), rather than `self.i`; the
        // levels taken are counted by `out` alone.
        let mut rest = self.b.get(self.i..).unwrap_or_default();
        let before = out.len();
        let run = loop {
            let (taken, after) = match rest.first_chunk::<64>() {
                // A constant length: the reads of `okx_level` need no checks, and a level
                // taken from the window (`len` at most 64) leaves the rest after it.
                Some(window) => {
                    let Some(taken) = okx_level::<QUOTE, SPACED>(window) else {
                        break Run::AtLevel;
                    };
                    let after = rest.get(taken.len.min(64)..).unwrap_or_default();
                    (taken, after)
                }
                None => {
                    let Some(taken) = okx_level::<QUOTE, SPACED>(rest) else {
                        break Run::AtLevel;
                    };
                    let after = rest.get(taken.len..).unwrap_or_default();
                    (taken, after)
                }
            };
            out.push(taken.level);
            rest = after;
            if !taken.more {
                break Run::AfterLevel;
            }
        };
        self.i = self.b.len() - rest.len();
        *index += out.len() - before;
        run
    }

    /// Only whitespace may follow the list.
    fn end(&mut self) -> Result<(), LevelError> {
        self.ws();
        if self.i < self.b.len() {
            return self.syntax();
        }
        Ok(())
    }

    /// The common level, `["41006.8","0.6","0","1"]` (or with `'` and a space after each
    /// comma, as Python writes it): plain numbers in quotes, then strings without escapes.
    /// `None`, with nothing consumed, for anything else, including a level that may be invalid:
    /// then [`Parser::level`] reads it again and decides.
    #[inline(always)]
    fn level_fast(&mut self) -> Option<Level> {
        let b = self.b;
        let &[b'[', quote] = b.get(self.i..self.i + 2)? else {
            return None;
        };
        if quote != b'"' && quote != b'\'' {
            return None;
        }
        let price = number::scan_plain(b, self.i + 2)?;
        let size_start = next_quoted(b, price.end, quote)?;
        let size = number::scan_plain(b, size_start)?;
        let spaced = size_start - price.end == 4;
        let end = match okx_tail(b, size.end, quote, spaced) {
            Some(end) => end,
            None => level_tail(b, size.end, quote)?,
        };
        // The range checks of `validate`, on the integers, so that the divisions that make the
        // floats are only stored. A plain number is never negative (nor -0); with a mantissa of
        // at most 1e15 its value is at most 1e15 too. Other mantissas are left to `validate`.
        if !(1..=MAX_MANTISSA).contains(&price.mantissa) || size.mantissa > MAX_MANTISSA {
            return None;
        }
        self.i = end;
        Some(Level {
            price: price.value(),
            size: size.value(),
        })
    }

    /// One level; the outer `Result` is syntax, the inner one validity.
    #[inline]
    fn level(&mut self) -> Result<Result<Level, InvalidLevel>, LevelError> {
        let close = match self.peek() {
            Some(b'[') => b']',
            Some(b'(') => b')',
            _ => {
                self.skip_value()?;
                return Ok(Err(InvalidLevel::NotAList));
            }
        };
        self.i += 1;
        self.ws();
        if self.peek() == Some(close) {
            self.i += 1;
            return Ok(Err(InvalidLevel::TooShort));
        }
        let price = self.element()?;
        self.ws();
        match self.peek() {
            Some(b',') => self.i += 1,
            Some(c) if c == close => {
                self.i += 1;
                return Ok(Err(InvalidLevel::TooShort));
            }
            _ => return self.syntax(),
        }
        self.ws();
        if self.peek() == Some(close) {
            // `('41006.8',)`: a one-element tuple.
            self.i += 1;
            return Ok(Err(InvalidLevel::TooShort));
        }
        let size = self.element()?;
        // Further elements: checked for syntax, ignored.
        loop {
            self.ws();
            match self.peek() {
                Some(c) if c == close => {
                    self.i += 1;
                    break;
                }
                Some(b',') => {
                    self.i += 1;
                    self.ws();
                    match self.peek() {
                        Some(c) if c == close => {
                            self.i += 1;
                            break;
                        }
                        // The common OKX tail `"0","1"`: strings, skipped without the stack.
                        Some(quote @ (b'"' | b'\'')) => {
                            self.i += 1;
                            self.string_end(quote)?;
                        }
                        _ => self.skip_value()?,
                    }
                }
                _ => return self.syntax(),
            }
        }
        Ok(validate(price, size))
    }

    /// An element that should be a price or a size.
    #[inline]
    fn element(&mut self) -> Result<Element, LevelError> {
        match self.peek() {
            Some(quote @ (b'"' | b'\'')) => {
                let start = self.i + 1;
                // Fastest path: plain `digits.digits` right up to the closing quote.
                if let Some(plain) = number::scan_plain(self.b, start) {
                    if self.b.get(plain.end) == Some(&quote) {
                        self.i = plain.end + 1;
                        return Ok(Element::Number(plain.value()));
                    }
                }
                // Fast path: the number runs right up to the closing quote.
                let (end, value) = number::scan(self.b, start);
                if let (Some(&c), Ok(v)) = (self.b.get(end), value) {
                    if c == quote {
                        self.i = end + 1;
                        return Ok(Element::Number(v));
                    }
                }
                self.i = start;
                let inner_end = self.string_end(quote)?;
                let inner = self.b.get(start..inner_end).unwrap_or_default();
                Ok(match number::parse_number(inner) {
                    Ok(v) => Element::Number(v),
                    Err(NumError::NotFinite) => Element::Number(f64::INFINITY),
                    Err(NumError::Shape) => Element::NotNumber,
                })
            }
            Some(b'0'..=b'9' | b'-' | b'+' | b'.') => Ok(match self.bare_number()? {
                Ok(v) => Element::Number(v),
                Err(_) => Element::Number(f64::INFINITY),
            }),
            _ => {
                self.skip_value()?;
                Ok(Element::NotNumber)
            }
        }
    }

    /// A number outside quotes. A malformed one is a syntax error; a too large one is a valid
    /// literal with an invalid value.
    #[inline]
    fn bare_number(&mut self) -> Result<Result<f64, NumError>, LevelError> {
        let (end, value) = number::scan(self.b, self.i);
        self.i = end;
        if value == Err(NumError::Shape) {
            return self.syntax();
        }
        // `1x`, `0x10`, `1_000`: the token goes on past the number.
        match self.peek() {
            None | Some(b' ' | b'\n' | b'\r' | b'\t' | b',' | b']' | b')') => Ok(value),
            Some(_) => self.syntax(),
        }
    }

    /// Moves past the string whose opening quote is just before `self.i`; returns the index of
    /// its closing quote.
    #[inline]
    fn string_end(&mut self, quote: u8) -> Result<usize, LevelError> {
        while let Some(c) = self.peek() {
            if c == quote {
                let end = self.i;
                self.i += 1;
                return Ok(end);
            }
            // A backslash escapes the next byte, whatever it is.
            self.i += if c == b'\\' { 2 } else { 1 };
        }
        self.i = self.b.len();
        self.syntax()
    }

    /// Checks and moves past one value of any kind, without recursion.
    fn skip_value(&mut self) -> Result<(), LevelError> {
        self.stack.clear();
        loop {
            // A value is expected here.
            self.ws();
            match self.peek() {
                Some(b'[') => {
                    self.i += 1;
                    self.stack.push(b']');
                    self.ws();
                    if self.peek() != Some(b']') {
                        continue;
                    }
                    self.i += 1;
                    self.stack.pop();
                }
                Some(b'(') => {
                    self.i += 1;
                    self.stack.push(b')');
                    self.ws();
                    if self.peek() != Some(b')') {
                        continue;
                    }
                    self.i += 1;
                    self.stack.pop();
                }
                Some(quote @ (b'"' | b'\'')) => {
                    self.i += 1;
                    self.string_end(quote)?;
                }
                Some(b'0'..=b'9' | b'-' | b'+' | b'.') => {
                    // A too large number is still a well-formed ignored value.
                    let _ = self.bare_number()?;
                }
                Some(b'a'..=b'z' | b'A'..=b'Z') => {
                    let start = self.i;
                    while let Some(b'a'..=b'z' | b'A'..=b'Z') = self.peek() {
                        self.i += 1;
                    }
                    match self.b.get(start..self.i) {
                        Some(b"null" | b"true" | b"false" | b"None" | b"True" | b"False") => {}
                        _ => {
                            self.i = start;
                            return self.syntax();
                        }
                    }
                }
                _ => return self.syntax(),
            }
            // After a value: close the containers that end here, or go on to the next element.
            loop {
                let Some(&close) = self.stack.last() else {
                    return Ok(());
                };
                self.ws();
                match self.peek() {
                    Some(b',') => {
                        self.i += 1;
                        self.ws();
                        if self.peek() == Some(close) {
                            self.i += 1;
                            self.stack.pop();
                        } else {
                            break;
                        }
                    }
                    Some(c) if c == close => {
                        self.i += 1;
                        self.stack.pop();
                    }
                    _ => return self.syntax(),
                }
            }
        }
    }
}

/// Where [`Parser::okx_run`] stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Run {
    /// At the `[` (or whatever else) of a level it did not take.
    AtLevel,
    /// Just after a level it took; what follows is not `,[` or `, [`.
    AfterLevel,
}

/// A level read by [`okx_level`].
struct Taken {
    level: Level,
    /// The bytes taken: the level, and the separator after it if `more`.
    len: usize,
    /// Whether a separator `,[` or `, [` was taken too (the next level's `[` is not).
    more: bool,
}

/// The level OKX writes, `["96004.4","0.14593057","0","3"]` (or `['96004.4', '0.14593057',
/// '0', '3']` when `SPACED`, as Python writes it), at the start of `b`, and the separator to
/// the next level: numbers of the shapes [`number::scan_e8`] reads, then OKX's tail (or other
/// strings without escapes, read by [`level_tail`] within the window). The longest
/// level taken ends at byte 55 (a 7 + 8 digit price and size, Python's spaces, a 6-digit order
/// count) and no read goes past byte 58, so a window of 64 bytes always holds it.
///
/// `None` for anything else, including an invalid level (a price of 0): then the general path
/// reads it. Where it answers, the level and its end are what [`Parser::level`] and
/// [`Parser::after_level`] give.
#[inline(always)]
fn okx_level<const QUOTE: u8, const SPACED: bool>(b: &[u8]) -> Option<Taken> {
    if *b.first_chunk::<2>()? != [b'[', QUOTE] {
        return None;
    }
    let price = number::scan_e8::<QUOTE>(b, 2)?;
    if price.units == 0 {
        return None;
    }
    // The price's closing quote, a comma, the space of Python's notation, the size's opening
    // quote.
    let size_start = if SPACED {
        let between = b.get(price.end..)?.first_chunk::<4>()?;
        if *between != [QUOTE, b',', b' ', QUOTE] {
            return None;
        }
        price.end + 4
    } else {
        let between = b.get(price.end..)?.first_chunk::<3>()?;
        if *between != [QUOTE, b',', QUOTE] {
            return None;
        }
        price.end + 3
    };
    let size = number::scan_e8_size::<QUOTE>(b, size_start)?;
    let end = match okx_tail_start(b, size.end, QUOTE, SPACED) {
        Some(orders_start) => {
            let orders = number::load8_padded(b, orders_start);
            // The usual end, checked at once: a one-digit order count, its closing quote,
            // `]`, the separator of the notation and the next level's `[` (not taken).
            let (usual, mask, len) = if SPACED {
                (
                    [0, QUOTE, b']', b',', b' ', b'[', 0, 0],
                    0xFFFF_FFFF_FF00,
                    5,
                )
            } else {
                ([0, QUOTE, b']', b',', b'[', 0, 0, 0], 0xFF_FFFF_FF00, 4)
            };
            if orders & mask == u64::from_le_bytes(usual) && (orders as u8).is_ascii_digit() {
                return Some(Taken {
                    level: Level {
                        price: price.value(),
                        size: size.value(),
                    },
                    len: orders_start + len,
                    more: true,
                });
            }
            okx_orders(orders, orders_start, QUOTE)?
        }
        // Another tail, such as none at all.
        None => other_tail(b, size.end, QUOTE)?,
    };
    // The separator of the notation; any other is left to `Parser::after_level`.
    let (len, more) = match (SPACED, b.get(end..end + 3)) {
        (false, Some([b',', b'[', _])) => (end + 1, true),
        (true, Some([b',', b' ', b'['])) => (end + 2, true),
        _ => (end, false),
    };
    Some(Taken {
        level: Level {
            price: price.value(),
            size: size.value(),
        },
        len,
        more,
    })
}

/// [`level_tail`], kept out of [`okx_level`]'s loop, where it is rare.
#[cold]
#[inline(never)]
fn other_tail(b: &[u8], end: usize, quote: u8) -> Option<usize> {
    level_tail(b, end, quote)
}

/// After a quoted element whose text ends at `end`: its closing quote, a comma, at most one
/// space and the opening quote of the next element; the index after that quote.
#[inline(always)]
fn next_quoted(b: &[u8], end: usize, quote: u8) -> Option<usize> {
    // One bounds check for all four bytes; a level always has more text after its price.
    match *b.get(end..end + 4)? {
        [close, b',', open, _] if close == quote && open == quote => Some(end + 3),
        [close, b',', b' ', open] if close == quote && open == quote => Some(end + 4),
        _ => None,
    }
}

/// After the size's text, which ends at `end`: its closing quote, then short strings such as
/// `,"0","1"` (or `, '0', '1'`), then the `]` that closes the level; the index after it.
#[inline(always)]
fn level_tail(b: &[u8], end: usize, quote: u8) -> Option<usize> {
    let mut rest = b.get(end..)?.strip_prefix(&[quote])?;
    loop {
        match *rest {
            [b']', ..] => return Some(b.len() - rest.len() + 1),
            [b',', b' ', open, ref after @ ..] | [b',', open, ref after @ ..] if open == quote => {
                // The string's text runs to the first quote; a backslash (an escape) is left
                // to the general path.
                let len = after.iter().position(|&c| c == quote || c == b'\\')?;
                if after[len] != quote {
                    return None;
                }
                rest = &after[len + 1..];
            }
            _ => return None,
        }
    }
}

/// [`level_tail`] for the tail OKX writes, `,"0","<orders>"]` (the deprecated liquidation count,
/// always `"0"`, and the number of orders), or `, '0', '<orders>']` when the level's elements
/// are separated by `", "` (`spaced`, as Python writes them). The size's text ends at `end`.
///
/// Two eight-byte loads instead of a byte loop per string: the fixed part is compared whole,
/// the order count is a run of digits. `None` for any other tail, even a valid one: then
/// [`level_tail`] reads it (and finds the same end for the tails taken here). Near the end of
/// the text the loads are padded with zero bytes ([`number::load8_padded`]), which match
/// nothing, so the last level is read here too.
#[inline(always)]
fn okx_tail(b: &[u8], end: usize, quote: u8, spaced: bool) -> Option<usize> {
    let start = okx_tail_start(b, end, quote, spaced)?;
    okx_orders(number::load8_padded(b, start), start, quote)
}

/// The fixed start of OKX's tail, from the size's closing quote at `end` to the order count's
/// opening quote; the index after that quote.
#[inline(always)]
fn okx_tail_start(b: &[u8], end: usize, quote: u8, spaced: bool) -> Option<usize> {
    let head = number::load8_padded(b, end);
    if spaced {
        let fixed = u64::from_le_bytes([quote, b',', b' ', quote, b'0', quote, b',', b' ']);
        if head != fixed || b.get(end + 8) != Some(&quote) {
            return None;
        }
        Some(end + 9)
    } else {
        // The eighth byte is the order count's first digit, checked by `okx_orders`.
        let fixed = u64::from_le_bytes([quote, b',', quote, b'0', quote, b',', quote, 0]);
        if head & 0x00FF_FFFF_FFFF_FFFF != fixed {
            return None;
        }
        Some(end + 7)
    }
}

/// The order count's digits from `start` (`orders`, the eight bytes there), then its closing
/// quote and the level's `]`; the index after the `]`.
#[inline(always)]
fn okx_orders(orders: u64, start: usize, quote: u8) -> Option<usize> {
    let close = u64::from(u16::from_le_bytes([quote, b']']));
    // Most often a single digit.
    if (orders >> 8) & 0xFFFF == close && (orders as u8).is_ascii_digit() {
        return Some(start + 3);
    }
    let digits = number::digit_run(orders);
    // The digits, then the closing quote and `]`, all within the eight bytes.
    if digits == 0 || digits > 6 || (orders >> (8 * digits)) & 0xFFFF != close {
        return None;
    }
    Some(start + digits + 2)
}

/// The largest mantissa of a plain number (see [`number::Plain`]) whose value is surely within
/// [`MAX_VALUE`], whatever its number of decimals.
const MAX_MANTISSA: u64 = 1_000_000_000_000_000;

#[inline]
fn validate(price: Element, size: Element) -> Result<Level, InvalidLevel> {
    let Element::Number(price) = price else {
        return Err(InvalidLevel::PriceNotNumber);
    };
    let Element::Number(size) = size else {
        return Err(InvalidLevel::SizeNotNumber);
    };
    // Written so that NaN fails every test.
    if !(price > 0.0 && price <= MAX_VALUE) {
        return Err(InvalidLevel::PriceOutOfRange);
    }
    if !(0.0..=MAX_VALUE).contains(&size) {
        return Err(InvalidLevel::SizeOutOfRange);
    }
    // `-0` is a size of 0.
    Ok(Level {
        price,
        size: size + 0.0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(text: &str) -> Result<Vec<(f64, f64)>, LevelError> {
        let mut out = vec![Level {
            price: 9.0,
            size: 9.0,
        }];
        parse_levels(text.as_bytes(), &mut out)?;
        Ok(out.iter().map(|l| (l.price, l.size)).collect())
    }

    fn check(text: &str, expected: &[(f64, f64)]) {
        assert_eq!(parse(text), Ok(expected.to_vec()), "{text:?}");
    }

    fn syntax(text: &str) {
        assert!(
            matches!(parse(text), Err(LevelError::Syntax { .. })),
            "{text:?} should be a syntax error, got {:?}",
            parse(text)
        );
    }

    fn invalid(text: &str, index: usize, why: InvalidLevel) {
        assert_eq!(
            parse(text),
            Err(LevelError::Invalid { index, why }),
            "{text:?}"
        );
    }

    #[test]
    fn nothing() {
        for text in ["", "  \n", "[]", " [ ] ", "[\n]"] {
            check(text, &[]);
        }
    }

    #[test]
    fn json() {
        check(
            r#"[["41006.8","0.60038921","0","1"],["41006.3","1.5","0","2"]]"#,
            &[(41006.8, 0.60038921), (41006.3, 1.5)],
        );
        check(
            r#"[["61837.63000000", "3.78826000"], ["61820.99000000", "0.00000000"]]"#,
            &[(61837.63, 3.78826), (61820.99, 0.0)],
        );
        check("[[1, 2.5], [3e2, 0]]", &[(1.0, 2.5), (300.0, 0.0)]);
        check(r#"[[" 1 ", "2"]]"#, &[(1.0, 2.0)]);
    }

    #[test]
    fn python_literal() {
        check(
            "[['41006.8', '0.6', '0', '1'], ('41006.3', 1.5)]",
            &[(41006.8, 0.6), (41006.3, 1.5)],
        );
        check("[('1', '2',), ['3', '4', ], ]", &[(1.0, 2.0), (3.0, 4.0)]);
        check("[(+1.5, -0), [.5, 1.]]", &[(1.5, 0.0), (0.5, 1.0)]);
        check(
            "[[1, 2, None, True, False, 'x', \"y\", [1, (2,), []], ()]]",
            &[(1.0, 2.0)],
        );
        check(
            r#"[[1, 2, null, true, false, "a\"b", 'c\'d']]"#,
            &[(1.0, 2.0)],
        );
    }

    /// Levels near the limits of the fast path: it either reads them exactly as the general
    /// path does, or leaves them to it.
    #[test]
    fn fast_path_limits() {
        check(
            r#"[["1000000000000000","1000000000000000","0","1"]]"#,
            &[(1e15, 1e15)],
        );
        check(r#"[["0.0000001","0","0","0"]]"#, &[(1e-7, 0.0)]);
        check(
            r#"[["96004.4","0.14593057","",""]]"#,
            &[(96004.4, 0.14593057)],
        );
        check(
            r#"[["96004.4","0.14593057","a\"b","1"]]"#,
            &[(96004.4, 0.14593057)],
        );
        check(
            r#"[["96004.4","0.14593057","a long string, with ]"]]"#,
            &[(96004.4, 0.14593057)],
        );
        check(
            "[['96004.4', '0.14593057',  '0'], ['1', '2' ,'0']]",
            &[(96004.4, 0.14593057), (1.0, 2.0)],
        );
        check(
            r#"[["1234567.12345678","1.123456789","0","1"]]"#,
            &[(1234567.12345678, 1.123456789)],
        );
        invalid(r#"[["0.0","1","0","1"]]"#, 0, InvalidLevel::PriceOutOfRange);
        invalid(
            r#"[["1000000000000001","1","0","1"]]"#,
            0,
            InvalidLevel::PriceOutOfRange,
        );
        invalid(
            r#"[["1","1000000000000001","0","1"]]"#,
            0,
            InvalidLevel::SizeOutOfRange,
        );
        invalid(
            r#"[["1","1","0","1"],["1000000000000000.1","1"]]"#,
            1,
            InvalidLevel::PriceOutOfRange,
        );
        syntax(r#"[["1","1","0","1]]"#);
        syntax(r#"[["1","1","0"x]]"#);
    }

    #[test]
    fn syntax_errors() {
        for text in [
            "x",
            "[",
            "[[1, 2]",
            "[[1, 2]]]",
            "[[1, 2)]",
            "[(1, 2]]",
            "[[1 2]]",
            "[[1, 2],,]",
            "[,]",
            "[[1,,2]]",
            "[['1', '2'] x]",
            "[[1, 2]] x",
            "[[1_000, 2]]",
            "[[0x10, 2]]",
            "[[1e, 2]]",
            "[[inf, 2]]",
            "[[nan, 2]]",
            "[[1, 2, nul]]",
            "[[1, 2, {}]]",
            "[['1, 2]]",
            "{\"a\": 1}",
            "[[1, 2, [[[]]]]",
            "[[1, 2]], [[3, 4]]",
        ] {
            syntax(text);
        }
    }

    #[test]
    fn invalid_levels() {
        invalid("[[1, 2], [0, 1]]", 1, InvalidLevel::PriceOutOfRange);
        invalid("[[-1, 1]]", 0, InvalidLevel::PriceOutOfRange);
        invalid("[['1e16', 1]]", 0, InvalidLevel::PriceOutOfRange);
        invalid("[[1e400, 1]]", 0, InvalidLevel::PriceOutOfRange);
        invalid("[[1, -1]]", 0, InvalidLevel::SizeOutOfRange);
        invalid("[[1, '1e16']]", 0, InvalidLevel::SizeOutOfRange);
        invalid("[[1, '1e400']]", 0, InvalidLevel::SizeOutOfRange);
        invalid("[['abc', 1]]", 0, InvalidLevel::PriceNotNumber);
        invalid("[['nan', 1]]", 0, InvalidLevel::PriceNotNumber);
        invalid("[['inf', 1]]", 0, InvalidLevel::PriceNotNumber);
        invalid("[['1_0', 1]]", 0, InvalidLevel::PriceNotNumber);
        invalid("[[1, None]]", 0, InvalidLevel::SizeNotNumber);
        invalid("[[1, [2]]]", 0, InvalidLevel::SizeNotNumber);
        invalid("[[1]]", 0, InvalidLevel::TooShort);
        invalid("[('1',)]", 0, InvalidLevel::TooShort);
        invalid("[()]", 0, InvalidLevel::TooShort);
        invalid("[[]]", 0, InvalidLevel::TooShort);
        invalid("['1', '2']", 0, InvalidLevel::NotAList);
        invalid("[1, 2]", 0, InvalidLevel::NotAList);
        // A syntax error after an invalid level still makes the text unparsable.
        syntax("[[0, 1], [1, 2");
    }

    #[test]
    fn deep_nesting_neither_recurses_nor_panics() {
        let deep = "[".repeat(100_000);
        syntax(&deep);
        let deep = format!("[[1, 2, {}{}]]", "[".repeat(100_000), "]".repeat(100_000));
        check(&deep, &[(1.0, 2.0)]);
        let deep = format!("[[1, 2, {}{}]]", "(".repeat(100_000), ")".repeat(99_999));
        syntax(&deep);
    }

    #[test]
    fn large_text() {
        let row = r#"["41006.8","0.60038921","0","1"],"#;
        let text = format!("[{}]", row.repeat(310_000).trim_end_matches(','));
        assert!(text.len() > 10_000_000);
        assert_eq!(parse(&text).map(|v| v.len()), Ok(310_000));
    }

    fn level_strategy() -> impl Strategy<Value = (f64, f64)> {
        (
            1u64..=10_000_000_000,
            0u32..9,
            0u64..=10_000_000_000,
            0u32..9,
        )
            .prop_map(|(p, pe, s, se)| {
                (
                    format!("{p}e-{pe}").parse().unwrap(),
                    format!("{s}e-{se}").parse().unwrap(),
                )
            })
    }

    #[test]
    fn okx_tail_reads_the_okx_shapes() {
        for (text, quote, spaced, end) in [
            (r#"","0","1"],["96"#, b'"', false, 10),
            (r#"","0","123456"]"#, b'"', false, 15),
            ("', '0', '17'], ['", b'\'', true, 13),
            // The last level of a text: fewer than eight bytes from the order count on.
            (r#"","0","1"]]"#, b'"', false, 10),
            (r#"","0","12"]"#, b'"', false, 11),
        ] {
            assert_eq!(
                okx_tail(text.as_bytes(), 0, quote, spaced),
                Some(end),
                "{text}"
            );
            assert_eq!(level_tail(text.as_bytes(), 0, quote), Some(end), "{text}");
        }
        for (text, quote, spaced) in [
            // Seven digits, a third field other than "0", a string, the other notation.
            (r#"","0","1234567"]"#, b'"', false),
            (r#"","1","1"],["#, b'"', false),
            (r#"","0","a"],["#, b'"', false),
            (r#"", "0", "1"],["#, b'"', false),
            (r#"","0","1"],["#, b'"', true),
            (r#"","0","1"],["#, b'\'', false),
            // The text ends within the tail.
            (r#"","0","1""#, b'"', false),
            (r#"","0","#, b'"', false),
        ] {
            assert_eq!(okx_tail(text.as_bytes(), 0, quote, spaced), None, "{text}");
        }
    }

    /// [`parse_levels`] without its fast paths: every level through [`Parser::level`] and
    /// [`Parser::after_level`], the reference the fast paths must agree with.
    fn parse_general(text: &[u8]) -> Result<Vec<Level>, LevelError> {
        let mut p = Parser {
            b: text,
            i: 0,
            stack: Vec::new(),
        };
        let mut out = Vec::new();
        p.ws();
        match p.peek() {
            None => return Ok(out),
            Some(b'[') => p.i += 1,
            Some(_) => return p.syntax(),
        }
        p.ws();
        if p.peek() == Some(b']') {
            p.i += 1;
            p.end()?;
            return Ok(out);
        }
        let mut invalid = None;
        let mut index = 0;
        loop {
            match p.level()? {
                Ok(level) => out.push(level),
                Err(why) => {
                    invalid.get_or_insert(LevelError::Invalid { index, why });
                }
            }
            index += 1;
            if p.after_level()?.is_break() {
                break;
            }
        }
        p.end()?;
        match invalid {
            Some(error) => Err(error),
            None => Ok(out),
        }
    }

    /// Both parsers on `text`: the same levels (to the bit) or the same error.
    fn agrees_with_general(text: &[u8]) -> Result<(), TestCaseError> {
        let mut out = Vec::new();
        let fast = parse_levels(text, &mut out).map(|()| out);
        let general = parse_general(text);
        let bits = |levels: &Vec<Level>| -> Vec<(u64, u64)> {
            levels
                .iter()
                .map(|l| (l.price.to_bits(), l.size.to_bits()))
                .collect()
        };
        prop_assert_eq!(
            fast.as_ref().map(bits),
            general.as_ref().map(bits),
            "{}",
            String::from_utf8_lossy(text)
        );
        Ok(())
    }

    /// A number as exchanges write it, or close to it: signs, a missing integer part or
    /// decimals, long runs of digits, exponents.
    fn number_text() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => "[0-9]{1,7}\\.[0-9]{1,8}",
            2 => "[0-9]{1,3}",
            2 => "0\\.[0-9]{8}",
            1 => "[+-]?[0-9]{0,18}(\\.[0-9]{0,19})?([eE][+-]?[0-9]{1,3})?",
            1 => "[0-9.eE+\\- ]{0,12}",
        ]
    }

    /// An OKX-like level text: the fields in either quote (or none), separators with and
    /// without spaces, OKX's tail or another one, a few bytes replaced and the end cut
    /// anywhere.
    fn okx_like_text() -> impl Strategy<Value = Vec<u8>> {
        let level = (
            number_text(),
            number_text(),
            prop_oneof![
                6 => "[0-9]{1,7}".prop_map(|orders| format!("0,{orders}")),
                1 => Just(String::new()),
                1 => "[0-9a-z\\\\\"', ]{0,6}".prop_map(|tail| format!("0,{tail}")),
            ],
            prop_oneof![8 => Just('"'), 3 => Just('\''), 1 => Just(' ')],
            prop_oneof![Just(","), Just(", "), Just(" ,"), Just(",  ")],
        )
            .prop_map(|(price, size, tail, quote, separator)| {
                let quote = if quote == ' ' {
                    String::new()
                } else {
                    quote.to_string()
                };
                let mut fields = vec![price, size];
                if !tail.is_empty() {
                    fields.extend(tail.trim_start_matches("0,").split(',').map(String::from));
                    fields.insert(2, "0".into());
                }
                let fields: Vec<String> = fields
                    .iter()
                    .map(|f| format!("{quote}{f}{quote}"))
                    .collect();
                format!("[{}]", fields.join(separator))
            });
        (
            proptest::collection::vec(level, 0..8),
            prop_oneof![Just(","), Just(", "), Just(" , ")],
            prop_oneof![
                2 => Just(Vec::new()),
                1 => proptest::collection::vec(
                    (any::<usize>(), proptest::sample::select(b",\"' ]\\[0.5e-".to_vec())),
                    1..3,
                ),
            ],
            prop_oneof![3 => Just(None), 1 => any::<usize>().prop_map(Some)],
        )
            .prop_map(|(levels, separator, changes, cut)| {
                let mut bytes = format!("[{}]", levels.join(separator)).into_bytes();
                let len = bytes.len();
                for (at, byte) in changes {
                    bytes[at % len] = byte;
                }
                if let Some(cut) = cut {
                    bytes.truncate(cut % (len + 1));
                }
                bytes
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        /// The fast paths read OKX-like texts, and their near misses, exactly as the general
        /// path does: the same values to the bit, the same errors at the same offsets.
        #[test]
        fn fast_paths_agree_with_the_general_path(text in okx_like_text()) {
            agrees_with_general(&text)?;
        }

        /// The same with the text long enough for the 64-byte windows: OKX rows as recorded,
        /// then near misses placed anywhere in them.
        #[test]
        fn fast_paths_agree_on_long_rows(
            levels in proptest::collection::vec(
                ("[1-9][0-9]{4}\\.[0-9]", prop_oneof!["0", "0\\.[0-9]{8}", "[0-9]{1,2}\\.[0-9]{1,9}"], 0u64..2_000),
                1..12,
            ),
            python in any::<bool>(),
            spaced in any::<bool>(),
            okx_tail in any::<bool>(),
            changes in proptest::collection::vec(
                (any::<usize>(), proptest::sample::select(b",\"' ]\\[0.5e-+\0".to_vec())),
                0..3,
            ),
        ) {
            let quote = if python { "'" } else { "\"" };
            let separator = if spaced { ", " } else { "," };
            let items: Vec<String> = levels
                .iter()
                .map(|(price, size, orders)| {
                    let orders = orders.to_string();
                    let fields = [price.as_str(), size, "0", &orders];
                    let fields = if okx_tail { &fields[..] } else { &fields[..2] };
                    fields
                        .iter()
                        .map(|field| format!("{quote}{field}{quote}"))
                        .collect::<Vec<_>>()
                        .join(separator)
                })
                .map(|level| format!("[{level}]"))
                .collect();
            let mut bytes = format!("[{}]", items.join(separator)).into_bytes();
            let len = bytes.len();
            for &(at, byte) in &changes {
                bytes[at % len] = byte;
            }
            agrees_with_general(&bytes)?;
        }
    }

    proptest! {
        /// OKX tails and their near misses (up to three bytes replaced): [`okx_tail`] finds
        /// the end [`level_tail`] finds, or leaves the tail to it; and it takes OKX's own.
        #[test]
        fn okx_tail_agrees_with_level_tail(
            python in any::<bool>(),
            spaced_text in any::<bool>(),
            spaced in any::<bool>(),
            orders in 0u64..100_000_000,
            orders_digits in 1u32..=8,
            changes in proptest::collection::vec(
                (any::<usize>(), proptest::sample::select(b",\"' ]0123456789\\a[".to_vec())),
                0..4,
            ),
            after in "[ -~]{0,9}",
        ) {
            let orders = orders % 10u64.pow(orders_digits);
            let quote = if python { '\'' } else { '"' };
            let separator = if spaced_text { ", " } else { "," };
            let text = format!("{quote}{separator}{quote}0{quote}{separator}{quote}{orders}{quote}]{after}");
            let mut bytes = text.into_bytes();
            let len = bytes.len();
            for &(at, byte) in &changes {
                bytes[at % len] = byte;
            }
            let got = okx_tail(&bytes, 0, quote as u8, spaced);
            if got.is_some() {
                prop_assert_eq!(got, level_tail(&bytes, 0, quote as u8));
            }
            let orders_start = if spaced_text { 9 } else { 7 };
            if changes.is_empty() && spaced == spaced_text && orders < 1_000_000 && len >= orders_start + 8 {
                prop_assert!(got.is_some());
            }
        }

        /// [`Parser::next_level`] takes a separator only where [`Parser::after_level`] reads
        /// one and another level, and moves to the same place.
        #[test]
        fn next_level_agrees_with_after_level(text in r#"[ ,\[\]'"(0]{0,5}"#) {
            let mut fast = Parser { b: text.as_bytes(), i: 0, stack: Vec::new() };
            if fast.next_level() {
                let mut general = Parser { b: text.as_bytes(), i: 0, stack: Vec::new() };
                prop_assert_eq!(general.after_level(), Ok(ControlFlow::Continue(())));
                prop_assert_eq!(general.i, fast.i);
            }
        }

        /// OKX rows as recorded: quoted numbers of the usual shapes, `"0"` and an order count,
        /// in both notations; read exactly as `str::parse` reads the numbers.
        #[test]
        fn reads_okx_rows(
            levels in proptest::collection::vec(
                ("[1-9][0-9]{0,7}(\\.[0-9]{1,9})?", "[0-9]{1,3}(\\.[0-9]{1,10})?", 0u64..20_000_000),
                0..12,
            ),
            python in any::<bool>(),
        ) {
            let (quote, separator) = if python { ("'", ", ") } else { ("\"", ",") };
            let items: Vec<String> = levels
                .iter()
                .map(|(price, size, orders)| {
                    [price.as_str(), size, "0", &orders.to_string()]
                        .map(|field| format!("{quote}{field}{quote}"))
                        .join(separator)
                })
                .map(|level| format!("[{level}]"))
                .collect();
            let text = format!("[{}]", items.join(separator));
            let expected: Vec<(f64, f64)> = levels
                .iter()
                .map(|(price, size, _)| (price.parse().unwrap(), size.parse().unwrap()))
                .collect();
            let got = parse(&text).unwrap();
            prop_assert_eq!(got.len(), expected.len());
            for (g, e) in got.iter().zip(&expected) {
                prop_assert_eq!((g.0.to_bits(), g.1.to_bits()), (e.0.to_bits(), e.1.to_bits()), "{}", text);
            }
        }

        #[test]
        fn never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let mut out = Vec::new();
            let _ = parse_levels(&bytes, &mut out);
        }

        #[test]
        fn never_panics_on_near_misses(text in r#"[\[\]\(\)'", 0-9.eE+\-a-zN]{0,80}"#) {
            let mut out = Vec::new();
            let _ = parse_levels(text.as_bytes(), &mut out);
        }

        #[test]
        fn round_trips_both_notations(
            levels in proptest::collection::vec(level_strategy(), 0..20),
            python in any::<bool>(),
            quoted in any::<bool>(),
            extra in any::<bool>(),
        ) {
            let q = if python { "'" } else { "\"" };
            let items: Vec<String> = levels
                .iter()
                .enumerate()
                .map(|(i, (p, s))| {
                    let (open, close) = if python && i % 2 == 1 { ("(", ")") } else { ("[", "]") };
                    let (p, s) = if quoted {
                        (format!("{q}{p}{q}"), format!("{q}{s}{q}"))
                    } else {
                        (format!("{p:?}"), format!("{s:?}"))
                    };
                    let tail = if extra { format!(", {q}0{q}, {}", i + 1) } else { String::new() };
                    format!("{open}{p}, {s}{tail}{close}")
                })
                .collect();
            let text = format!("[{}]", items.join(", "));
            prop_assert_eq!(parse(&text), Ok(levels));
        }
    }
}
