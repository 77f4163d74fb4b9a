#!/usr/bin/env python3
"""An independent implementation of SPEC.md 1.1-3.1 and 6, written from the SPEC text alone.

It reads recordings exactly as `orderflow process` should and writes the three JSON files
(ohlc_data.json, metrics_data.json, depth_data.json) and footprint_data.json (SPEC 6.4), and,
with --prints-file, the prints of SPEC 6.3 as `/api/prints` lists them, so the two can be
compared. It is meant to
be plain rather than fast: it reads whole tables into memory (test recordings are small).

    python3 spec_oracle.py INSTRUMENT START END --data-dir D --json-dir J
        [--window-seconds W] [--depth-levels N] [--obi-levels N]

Stdlib only. Exit status: 2 when no file or no data in range, 1 when a candidate was unusable,
else 0 (SPEC 4).
"""

from __future__ import annotations

import argparse
import ast
import heapq
import json
import math
import os
import re
import sqlite3
import sys
from dataclasses import dataclass, field
from fractions import Fraction

# ---------------------------------------------------------------------------------------------
# 1.4 Timestamps

MIN_MS = 946_684_800_000  # 2000-01-01T00:00:00Z
MAX_MS = 4_102_444_800_000  # 2100-01-01T00:00:00Z (exclusive)

# unit name -> how many of that unit make one millisecond (as an exact fraction)
UNITS = [
    ("s", Fraction(1, 1000)),
    ("ms", Fraction(1)),
    ("us", Fraction(1000)),
    ("ns", Fraction(1_000_000)),
]


def is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def plausible_unit(v):
    """The unit whose plausible window holds the raw value `v`, or None."""
    if not is_number(v):
        return None
    if isinstance(v, float) and not math.isfinite(v):
        return None
    x = Fraction(v)
    for name, per_ms in UNITS:
        if MIN_MS * per_ms <= x < MAX_MS * per_ms:
            return name
    return None


def to_ms(v, unit):
    """Converts a raw timestamp to whole ms (floor), or None when it is invalid."""
    if unit is None or not is_number(v):
        return None
    if isinstance(v, float) and not math.isfinite(v):
        return None
    per_ms = dict(UNITS)[unit]
    if isinstance(v, int):
        ms = math.floor(Fraction(v) / per_ms)  # exact for integers
    else:
        # A REAL is converted in floating point, then floored: 1744133891.03 s is 1744133891030
        # ms although the stored double is a hair below .03 (ambiguity noted in the report).
        ms = math.floor(v * 1000.0 if unit == "s" else v / float(per_ms))
    if MIN_MS <= ms < MAX_MS:
        return ms
    return None


# ---------------------------------------------------------------------------------------------
# 1.2 Numbers stored as text, 1.3 level text

# "surrounding ASCII spaces allowed": read as ASCII whitespace (space, tab, CR, LF, FF), as
# Python's float() and Rust's trim_ascii do (ambiguity noted in the report).
NUMERIC_TEXT = re.compile(r"[ \t\n\r\f]*[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[ \t\n\r\f]*")
LIMIT = 1e15
ASCII_WS = " \t\n\r\x0c"


def read_number(v):
    """A float from an INTEGER/REAL value or numeric text; None when it is no number."""
    if is_number(v):
        try:
            return float(v)
        except OverflowError:
            return None
    if isinstance(v, str):
        if NUMERIC_TEXT.fullmatch(v):
            return float(v.strip(ASCII_WS))
        return None
    return None


def parse_level_text(text):
    """List of (price, size) or None when the text cannot be parsed / holds an invalid level."""
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        try:
            # surrounding whitespace is no error (ast alone would call leading spaces an indent)
            value = ast.literal_eval(text.strip(ASCII_WS))
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            return None
    if not isinstance(value, list):
        return None
    levels = []
    for level in value:
        if not isinstance(level, (list, tuple)) or len(level) < 2:
            return None
        price = read_number(level[0])
        size = read_number(level[1])
        if price is None or size is None:
            return None
        if not (math.isfinite(price) and 0 < price <= LIMIT):
            return None
        if not (math.isfinite(size) and 0 <= size <= LIMIT):
            return None
        levels.append((price, size))
    return levels


NO_CHANGE = "no-change"


def read_side(v):
    """NO_CHANGE for NULL/empty, a list of levels, or None for a bad side."""
    if v is None:
        return NO_CHANGE
    if isinstance(v, bytes):
        try:
            v = v.decode("utf-8")
        except UnicodeDecodeError:
            return None
    if not isinstance(v, str):
        return None
    if v == "":
        return NO_CHANGE
    return parse_level_text(v)


# ---------------------------------------------------------------------------------------------
# 1.1 Discovery

EXTENSIONS = (".db", ".sqlite", ".sqlite3")
SEPARATORS = "_-. "


def ascii_lower(s: str) -> str:
    return "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in s)


def stem_matches(stem: str, instrument: str) -> bool:
    s, inst = ascii_lower(stem), ascii_lower(instrument)
    if not inst:
        return False
    i = s.find(inst)
    while i >= 0:
        before_ok = i == 0 or s[i - 1] in SEPARATORS
        j = i + len(inst)
        after_ok = j == len(s) or (
            s[j] in SEPARATORS and j + 1 < len(s) and s[j + 1] in "0123456789"
        )
        if before_ok and after_ok:
            return True
        i = s.find(inst, i + 1)
    return False


def is_candidate_name(name: str, instrument: str) -> bool:
    if name.startswith("."):
        return False
    stem, ext = os.path.splitext(name)
    if ascii_lower(ext) not in EXTENSIONS:
        return False
    return stem_matches(stem, instrument)


def discover(data_dir: str, instrument: str):
    found = []

    def walk(d):
        try:
            entries = sorted(os.scandir(d), key=lambda e: e.name)
        except OSError:
            return
        for e in entries:
            path = e.path
            if e.is_symlink():
                # links to files are followed, links to directories not descended
                try:
                    if os.path.isfile(path) and is_candidate_name(e.name, instrument):
                        found.append(path)
                except OSError:
                    pass
                continue
            if e.is_dir(follow_symlinks=False):
                walk(path)
            elif e.is_file(follow_symlinks=False) and is_candidate_name(e.name, instrument):
                found.append(path)

    walk(data_dir)
    return found


# ---------------------------------------------------------------------------------------------
# Reading one file

BOOK_TS = ("timestamp", "ts")
TRADES_TS = ("timestamp", "ts", "timestamp_ms")
INSTRUMENT = ("instrument", "instid", "symbol")


class Unusable(Exception):
    pass


@dataclass
class BookRow:
    id: int
    ts: int
    bids: object  # NO_CHANGE or list of (price, size)
    asks: object
    snapshot: bool
    seq: tuple | None = None  # (seqId, prevSeqId) when both are integers (SPEC 10.2)


@dataclass
class Trade:
    id: int
    ts: int
    price: float
    size: float
    buy: bool


@dataclass
class FileData:
    path: str
    book: list = field(default_factory=list)  # valid BookRows, id order
    trades: list = field(default_factory=list)  # valid Trades, (ts, id) order
    has_action: bool = False
    first_ts: int | None = None
    last_ts: int | None = None
    order_ts: int | None = None  # first book timestamp (first trade timestamp without book)


def columns(conn, table):
    rows = conn.execute(f"PRAGMA table_info({table})").fetchall()
    if not rows:
        return None
    return {ascii_lower(r[1]): r[1] for r in rows}


def pick(cols, names):
    for n in names:
        if n in cols:
            return cols[n]
    return None


def q(name):
    return '"' + name.replace('"', '""') + '"'


def read_table(conn, table, cols, wanted, ts_names, instrument):
    """Rows of the requested instrument in id order, as dicts, plus the unit of the table."""
    ts_col = pick(cols, ts_names)
    inst_col = pick(cols, INSTRUMENT)
    id_col = cols.get("id")
    missing = [w for w in wanted if w not in cols]
    if ts_col is None or id_col is None or missing:
        raise Unusable(f"table {table} lacks a required column")
    names = [id_col, ts_col] + [cols[w] for w in wanted]
    if inst_col:
        names.append(inst_col)
    sql = f"SELECT {', '.join(q(n) for n in names)} FROM {q(table)} ORDER BY {q(id_col)}"
    out = []
    want = ascii_lower(instrument)
    for r in conn.execute(sql):
        row = {"id": r[0], "ts": r[1]}
        for k, w in enumerate(wanted):
            row[w] = r[2 + k]
        if inst_col:
            v = r[-1]
            if not (isinstance(v, str) and ascii_lower(v) == want):
                continue
        out.append(row)
    unit = None
    for row in out:
        unit = plausible_unit(row["ts"])
        if unit is not None:
            break
    return out, unit


def read_file(path, instrument) -> FileData:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        tables = {
            ascii_lower(r[0]): r[0]
            for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
    except sqlite3.DatabaseError as e:
        raise Unusable(str(e)) from e
    fd = FileData(path)
    try:
        book_rows = trade_rows = []
        book_unit = trade_unit = None
        if "book" not in tables and "trades" not in tables:
            raise Unusable("neither book nor trades")
        if "book" in tables:
            cols = columns(conn, tables["book"])
            wanted = ["bids", "asks"]
            fd.has_action = "action" in cols
            if fd.has_action:
                wanted.append("action")
            seq_col = pick(cols, ("seqid", "seq_id"))
            prev_col = pick(cols, ("prevseqid", "prev_seq_id"))
            if seq_col and prev_col:
                cols = dict(cols, seqid=seq_col, prevseqid=prev_col)
                wanted += ["seqid", "prevseqid"]
            book_rows, book_unit = read_table(
                conn, tables["book"], cols, wanted, BOOK_TS, instrument
            )
        if "trades" in tables:
            cols = columns(conn, tables["trades"])
            trade_rows, trade_unit = read_table(
                conn, tables["trades"], cols, ["price", "size", "side"], TRADES_TS, instrument
            )
    except sqlite3.DatabaseError as e:
        raise Unusable(str(e)) from e
    finally:
        conn.close()

    # file range: first and last rows (by id) with a valid timestamp of each table
    ends = []
    book_ts = [to_ms(r["ts"], book_unit) for r in book_rows]
    trade_ts = [to_ms(r["ts"], trade_unit) for r in trade_rows]
    for tss in (book_ts, trade_ts):
        valid = [t for t in tss if t is not None]
        if valid:
            ends += [valid[0], valid[-1]]
    if ends:
        fd.first_ts, fd.last_ts = min(ends), max(ends)
    vb = [t for t in book_ts if t is not None]
    vt = [t for t in trade_ts if t is not None]
    fd.order_ts = vb[0] if vb else (vt[0] if vt else None)

    # book rows: valid ones in id order
    for r, ts in zip(book_rows, book_ts):
        if ts is None:
            continue
        bids, asks = read_side(r["bids"]), read_side(r["asks"])
        if bids is None or asks is None:
            continue
        snap = False
        if fd.has_action:
            a = r["action"]
            if isinstance(a, str):
                # "ASCII case and spaces ignored": spaces anywhere ("snap shot" too)
                letters = "".join(c for c in a if c not in ASCII_WS)
                snap = ascii_lower(letters) in ("snapshot", "partial")
        seq = None
        if "seqid" in r:
            seq_id, prev = seq_integer(r["seqid"]), seq_integer(r["prevseqid"])
            if seq_id is not None and prev is not None:
                seq = (seq_id, prev)
        fd.book.append(BookRow(r["id"], ts, bids, asks, snap, seq))
    if not fd.has_action and fd.book:
        fd.book[0].snapshot = True

    # trades: valid ones in (timestamp, id) order
    for r, ts in zip(trade_rows, trade_ts):
        if ts is None:
            continue
        price, size = read_number(r["price"]), read_number(r["size"])
        if price is None or not (math.isfinite(price) and 0 < price <= LIMIT):
            continue
        if size is None or not (math.isfinite(size) and 0 < size <= LIMIT):
            continue
        side = r["side"]
        if not isinstance(side, str):
            continue
        # "ASCII spaces ignored": read as ASCII whitespace around the word (a tab too)
        side = ascii_lower(side.strip(ASCII_WS))
        if side not in ("buy", "sell"):
            continue
        fd.trades.append(Trade(r["id"], ts, price, size, side == "buy"))
    fd.trades.sort(key=lambda t: (t.ts, t.id))
    return fd


def seq_integer(v):
    """A message number: an INTEGER, a REAL without a fraction, or integer text (the
    implementation's reading; SPEC 10.2 names no type)."""
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        return int(v) if math.isfinite(v) and v == int(v) and abs(v) < 9.2e18 else None
    if isinstance(v, str):
        t = v.strip(ASCII_WS)
        if re.fullmatch(r"[+-]?[0-9]+", t):
            n = int(t)
            return n if -(2**63) <= n < 2**63 else None
    return None


def merged(fd: FileData):
    """SPEC 2.1: book first on ties."""
    i = j = 0
    b, t = fd.book, fd.trades
    while i < len(b) and j < len(t):
        if b[i].ts <= t[j].ts:
            yield b[i]
            i += 1
        else:
            yield t[j]
            j += 1
    yield from b[i:]
    yield from t[j:]


# ---------------------------------------------------------------------------------------------
# 2.2-2.5 Processing


class Bars:
    """OHLC bars keyed by window."""

    def __init__(self):
        self.bars = {}

    def add(self, window, value, volume=None):
        bar = self.bars.get(window)
        if bar is None:
            bar = [value, value, value, value] + ([0.0] if volume is not None else [])
            self.bars[window] = bar
        else:
            bar[1] = max(bar[1], value)
            bar[2] = min(bar[2], value)
            bar[3] = value
        if volume is not None:
            bar[4] += volume


class Run:
    def __init__(self, start, end, window_s, obi_levels):
        self.start, self.end = start, end
        self.w = window_s * 1000
        self.obi_levels = obi_levels
        self.bids, self.asks = {}, {}
        self.initialised = False
        self.obi = 0.0
        self.cvd = 0.0
        self.ohlc = Bars()
        self.obi_bars = Bars()
        self.cvd_bars = Bars()
        self.in_range_events = 0
        # SPEC 10.2: counts over book rows applied in range
        self.integrity = {"gaps": 0, "resets": 0, "heartbeats": 0, "crossed": 0}
        self.previous_seq = None  # seqId of the previous valid row of the file's chain
        # SPEC 6: window -> price -> [buy, sell]; extras window -> [buy, sell, trades]
        self.footprint = {}
        self.extras = {}
        self.prints = []  # [ts, side, vwap, size, trades]
        self.open_print = None  # [ts, side, notional, size, trades]
        # The in-range trades in event order (ts, price, size, buy), for tick bars (beyond
        # the SPEC: README, "Tick and volume bars")
        self.trades = []
        # SPEC 7: slice k -> the book (bids, asks) at its end, for the present slices; one
        # copy shared by the slices in which nothing changed
        self.slice_ms = 1000
        self.slices = {}
        self.next_slice = start // self.slice_ms
        self.last_in_range = None

    def sample_through(self, upto):
        """SPEC 7: slices up to `upto` end before the next event: their state is the book as
        it stands (not present while the book is not initialised)."""
        if upto < self.next_slice:
            return
        if self.initialised:
            book = (dict(self.bids), dict(self.asks))
            for k in range(self.next_slice, upto + 1):
                self.slices[k] = book
        self.next_slice = upto + 1

    def end_print(self):
        """SPEC 6.3: any event other than a trade of the same ms and side ends a print."""
        if self.open_print is not None:
            ts, side, notional, size, trades = self.open_print
            self.prints.append([ts, side, notional / size, size, trades])
            self.open_print = None

    def take_trade(self, ev):
        self.trades.append((ev.ts, ev.price, ev.size, ev.buy))
        w = self.window(ev.ts)
        side = "buy" if ev.buy else "sell"
        row = self.footprint.setdefault(w, {}).setdefault(ev.price, [0.0, 0.0])
        extras = self.extras.setdefault(w, [0.0, 0.0, 0])
        k = 0 if ev.buy else 1
        row[k] += ev.size
        extras[k] += ev.size
        extras[2] += 1
        p = self.open_print
        if p is not None and p[0] == ev.ts and p[1] == side:
            p[2] += ev.price * ev.size
            p[3] += ev.size
            p[4] += 1
        else:
            self.end_print()
            self.open_print = [ev.ts, side, ev.price * ev.size, ev.size, 1]

    def link(self, row: BookRow):
        """SPEC 10.2, in its order of tests; a row without numbers is not linked (and a
        snapshot among them ends the chain)."""
        if row.seq is None:
            if row.snapshot:
                self.previous_seq = None
            return None
        seq_id, prev = row.seq
        if self.previous_seq is None or row.snapshot or prev == -1:
            kind = None
        elif seq_id < prev:
            kind = "resets"
        elif prev == self.previous_seq:
            kind = "heartbeats" if prev == seq_id else None
        else:
            kind = "gaps"
        self.previous_seq = seq_id
        return kind

    def crossed(self):
        return bool(self.bids) and bool(self.asks) and max(self.bids) >= min(self.asks)

    def window(self, ts):
        return ts // self.w * self.w

    def apply_book(self, row: BookRow):
        if row.snapshot:
            self.bids, self.asks = {}, {}
            for side, levels in ((self.bids, row.bids), (self.asks, row.asks)):
                if levels is NO_CHANGE:
                    continue
                for price, size in levels:
                    if size > 0:  # levels of size 0 are dropped
                        side[price] = size
            self.initialised = True
        else:
            for side, levels in ((self.bids, row.bids), (self.asks, row.asks)):
                if levels is NO_CHANGE:
                    continue
                for price, size in levels:
                    if size == 0:
                        side.pop(price, None)
                    else:
                        side[price] = size
        self.obi = self.compute_obi()

    def best(self, side, descending, n):
        prices = sorted(side, reverse=descending)
        if n is not None:
            prices = prices[:n]
        return [(p, side[p]) for p in prices]

    def side_sum(self, side, descending):
        if self.obi_levels is None or self.obi_levels >= len(side):
            sizes = side.values()
        else:
            pick = heapq.nlargest if descending else heapq.nsmallest
            sizes = [side[p] for p in pick(self.obi_levels, side)]
        return math.fsum(sizes)  # exactly rounded: order of summation does not matter

    def compute_obi(self):
        b = self.side_sum(self.bids, True)
        a = self.side_sum(self.asks, False)
        if b + a == 0:
            return 0.0
        return (b - a) / (b + a)

    def sample(self, ts):
        if self.initialised:
            w = self.window(ts)
            self.obi_bars.add(w, self.obi)
            self.cvd_bars.add(w, self.cvd)

    def process_file(self, fd: FileData):
        self.previous_seq = None  # each file starts a chain
        for ev in merged(fd):
            if ev.ts >= self.end:
                break  # reading of each file stops at its first event at or after the end
            if isinstance(ev, BookRow) or ev.ts >= self.start:
                self.sample_through(ev.ts // self.slice_ms - 1)
                if ev.ts >= self.start:
                    # the latest in time (overlapping files may go back)
                    self.last_in_range = max(self.last_in_range or ev.ts, ev.ts)
            if isinstance(ev, BookRow):
                self.end_print()
                self.apply_book(ev)
                kind = self.link(ev)
                if ev.ts >= self.start:
                    if kind:
                        self.integrity[kind] += 1
                    if self.crossed():
                        self.integrity["crossed"] += 1
                    self.in_range_events += 1
                    self.sample(ev.ts)
            else:
                if ev.ts < self.start:
                    self.end_print()
                    continue
                self.take_trade(ev)
                self.in_range_events += 1
                self.cvd += ev.size if ev.buy else -ev.size
                self.ohlc.add(self.window(ev.ts), ev.price, ev.size)
                self.sample(ev.ts)

    def outputs(self, depth_levels):
        ohlc = [[w] + bar for w, bar in sorted(self.ohlc.bars.items())][-1000:]
        metrics = [
            [w] + self.obi_bars.bars[w] + self.cvd_bars.bars[w] for w in sorted(self.obi_bars.bars)
        ][-1000:]
        depth = {
            "bids": [[p, s] for p, s in self.best(self.bids, True, depth_levels)],
            "asks": [[p, s] for p, s in self.best(self.asks, False, depth_levels)],
        }
        return ohlc, metrics, depth

    def heatmap_slices(self):
        """SPEC 7: the present slices, slice -> (bids, asks): through the one that holds the
        last in-range event."""
        if self.last_in_range is None:
            return {}
        last = self.last_in_range // self.slice_ms
        self.sample_through(last)
        return {k: book for k, book in self.slices.items() if k <= last}

    def flow_outputs(self):
        """footprint_data.json (newest 1000 bars), every footprint, the extras, the prints."""
        self.end_print()
        footprints = [
            [w, [[p, b, s] for p, (b, s) in sorted(rows.items())]]
            for w, rows in sorted(self.footprint.items())
        ]
        extras = [[w, b, s, b - s, n] for w, (b, s, n) in sorted(self.extras.items())]
        return footprints[-1000:], footprints, extras, list(self.prints)


# ---------------------------------------------------------------------------------------------
# Range bounds (1.1)

DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|z|[+-]\d{2}:\d{2})?$"
)


def days_from_civil(y, m, d):
    # days since 1970-01-01 (proleptic Gregorian)
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def parse_bound(text, is_end):
    m = DATE.match(text)
    if m:
        days = days_from_civil(int(m[1]), int(m[2]), int(m[3]))
        return (days + (1 if is_end else 0)) * 86_400_000
    m = RFC3339.match(text)
    if not m:
        raise SystemExit(f"bad date {text!r}")
    days = days_from_civil(int(m[1]), int(m[2]), int(m[3]))
    secs = days * 86400 + int(m[4]) * 3600 + int(m[5]) * 60 + int(m[6])
    ms = secs * 1000
    if m[7]:
        ms += math.floor(Fraction("0" + m[7]) * 1000)
    off = m[8]
    if off and off not in ("Z", "z"):
        sign = 1 if off[0] == "+" else -1
        ms -= sign * (int(off[1:3]) * 3600 + int(off[4:6]) * 60) * 1000
    return ms


# ---------------------------------------------------------------------------------------------


def run(
    instrument, start, end, data_dir, window_s=60, depth_levels=50, obi_levels=None, flow=None,
    integrity=None,
):
    """Returns (ohlc, metrics, depth, exit_status, notes). With a dict `flow`, also fills it
    with SPEC 6: `footprint_file`, `footprints` (every bar), `extras`, `prints`, and SPEC 7's
    `heatmap_slices` (slice -> book, 1-second slices); fills the dict
    `integrity`, when given, with the counts of SPEC 10.2."""
    notes = []
    candidates = discover(data_dir, instrument)
    files, unusable = [], 0
    for path in candidates:
        try:
            fd = read_file(path, instrument)
        except Unusable as e:
            unusable += 1
            notes.append(f"unusable {path}: {e}")
            continue
        if fd.first_ts is None or not (fd.first_ts < end and fd.last_ts >= start):
            continue
        files.append(fd)
    files.sort(key=lambda f: (f.order_ts, f.path))
    r = Run(start, end, window_s, obi_levels)
    for fd in files:
        notes.append(f"file {fd.path} [{fd.first_ts}, {fd.last_ts}]")
        r.process_file(fd)
    ohlc, metrics, depth = r.outputs(depth_levels)
    if flow is not None:
        keys = ("footprint_file", "footprints", "extras", "prints")
        flow.update(zip(keys, r.flow_outputs()))
        flow["heatmap_slices"] = r.heatmap_slices()
        flow["trades"] = r.trades
    if integrity is not None:
        integrity.update(r.integrity)
    if not candidates or not files or r.in_range_events == 0:
        status = 2
        # SPEC 4: the JSON files are written "empty when there was no data", so no depth of a
        # book that only warm-up rows built either.
        ohlc, metrics, depth = [], [], {"bids": [], "asks": []}
        if flow is not None:
            flow.update(footprint_file=[], footprints=[], extras=[], prints=[], heatmap_slices={},
                        trades=[])
    elif unusable:
        status = 1
    else:
        status = 0
    return ohlc, metrics, depth, status, notes


def heatmap_columns(slices, slice_ms, t0, t1, step, row):
    """SPEC 7's answer for `from=t0&to=t1&step=step&row=row` over `slices` (slice -> book):
    `[[ts, [[price, bid, ask], ...]], ...]`, each value the mean over the column's present
    slices of the row's summed size."""
    columns = {}
    for k, book in slices.items():
        ts = k * slice_ms
        column = ts // step * step
        if t0 <= column < t1:
            columns.setdefault(column, {}).setdefault(id(book), [book, 0])[1] += 1
    out = []
    for column in sorted(columns):
        groups = columns[column].values()
        present = sum(n for _, n in groups)
        rows = {}
        for (bids, asks), n in groups:
            for side, levels in ((0, bids), (1, asks)):
                for price, size in levels.items():
                    number = math.floor(price / row)
                    rows.setdefault(number, [0.0, 0.0])[side] += size * n
        cells = [
            [number * row, bid / present, ask / present]
            for number, (bid, ask) in sorted(rows.items())
            if bid != 0 or ask != 0
        ]
        out.append([column, cells])
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("instrument")
    ap.add_argument("start")
    ap.add_argument("end")
    ap.add_argument("--data-dir", default=os.environ.get("ORDERFLOW_DATA_DIR", "../data/OKX"))
    ap.add_argument("--json-dir", default=".")
    ap.add_argument("--window-seconds", type=int, default=60)
    ap.add_argument("--depth-levels", type=int, default=50)
    ap.add_argument("--obi-levels", type=int, default=None)
    ap.add_argument("--prints-file", help="also write the prints here, as /api/prints lists them")
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args(argv)
    start, end = parse_bound(a.start, False), parse_bound(a.end, True)
    if end < start:
        print("END < START", file=sys.stderr)
        return 2
    flow = {}
    ohlc, metrics, depth, status, notes = run(
        a.instrument, start, end, a.data_dir, a.window_seconds, a.depth_levels, a.obi_levels, flow
    )
    if a.verbose:
        for n in notes:
            print(n, file=sys.stderr)
    os.makedirs(a.json_dir, exist_ok=True)
    for name, value in (
        ("ohlc_data.json", ohlc),
        ("metrics_data.json", metrics),
        ("depth_data.json", depth),
        ("footprint_data.json", flow["footprint_file"]),
    ):
        with open(os.path.join(a.json_dir, name), "w") as f:
            json.dump(value, f)
    if a.prints_file:
        with open(a.prints_file, "w") as f:
            json.dump(flow["prints"], f)
    return status


if __name__ == "__main__":
    sys.exit(main())
