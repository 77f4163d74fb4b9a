#!/usr/bin/env python3
"""Differential test: random recordings through `orderflow process` and through the SPEC oracle.

For each seed it writes a few SQLite recordings of a random shape into a temporary folder (both
level notations, every time unit and REAL timestamps, alias and mixed-case column names, extra
and optional columns, several instruments in one file, re-snapshots, bad rows of every kind,
NULL/empty sides, size-0 deletes, duplicate prices, unsorted trades, trades outside the book's
span, several day files, overlapping files, decoy files that must not be found, ranges that start
mid-file or cross midnight, window/OBI/depth options), runs both, and compares the three JSON
files to 1e-9 (relative or absolute) and the exit status.

    python3 tests/oracle/fuzz_compare.py --binary target/debug/orderflow --seeds 60
    python3 tests/oracle/fuzz_compare.py --binary ... --seed 17 --keep   # one case, kept on disk
    python3 tests/oracle/fuzz_compare.py --binary ... --real tests/data/binance

Stdlib only. Exit status 1 when any case differs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import spec_oracle  # noqa: E402

INST = "BTC-USDT"
DAY_MS = 86_400_000

# ---------------------------------------------------------------------------------------------
# Values


def fmt_num(rng, x, dp):
    """A decimal text for x, in one of several spellings of the same number."""
    s = f"{x:.{dp}f}"
    k = rng.random()
    if k < 0.6:
        return s
    if k < 0.7:
        return s + "0"  # trailing zero: the same price
    if k < 0.8:
        return f"{x:.{dp}e}"
    if k < 0.85:
        return " " + s + " "
    if k < 0.9:
        return "+" + s
    if k < 0.93 and "." in s:
        return s.rstrip("0") if not s.endswith(".") else s  # "100." is a number too
    if k < 0.96 and s.startswith("0."):
        return s[1:]  # ".5"
    return repr(float(s))


ZERO_SPELLINGS = ["0", "0.00000000", "0e0", "-0", "0E-8", "+0.0"]


class Level:
    def __init__(self, price, size, dp, sdp):
        self.price, self.size, self.dp, self.sdp = price, size, dp, sdp


def level_text(rng, levels, notation, dp, sdp):
    """bids/asks text of a list of (price, size)."""
    items = []
    for p, s in levels:
        ps = fmt_num(rng, p, dp)
        ss = rng.choice(ZERO_SPELLINGS) if s == 0 and rng.random() < 0.5 else fmt_num(rng, s, sdp)
        extra = rng.random() < 0.5
        if notation == "json_str":
            items.append(json.dumps([ps, ss, "0", str(rng.randint(1, 9))] if extra else [ps, ss]))
        elif notation == "json_num":
            items.append(json.dumps([float(ps), float(ss)] + ([0, 3] if extra else [])))
        else:  # python literal, lists and tuples, strings and numbers mixed
            pv = repr(ps) if rng.random() < 0.7 else repr(float(ps))
            sv = repr(ss) if rng.random() < 0.7 else repr(float(ss))
            tail = ", '0', 2" if extra else ""
            if rng.random() < 0.5:
                items.append(f"({pv}, {sv}{tail})")
            else:
                items.append(f"[{pv}, {sv}{tail}]")
    sep = ", " if rng.random() < 0.5 else ","
    body = sep.join(items)
    if notation == "python" and items and rng.random() < 0.2:
        body += ","
    text = "[" + body + "]"
    if rng.random() < 0.05:
        text = " \n" + text.replace("[", "[ ", 1) + "\n "
    return text


BAD_LEVEL_TEXTS = [
    '[["100.5", "1"',
    "not levels",
    "{'100.5': 1}",
    "5",
    '[["0", "1"]]',
    '[["-100.5", "1"]]',
    '[["100.5", "-1"]]',
    '[["abc", "1"]]',
    '[["nan", "1"]]',
    '[["inf", "1"]]',
    '[["100.5", "1e16"]]',
    '[["2e15", "1"]]',
    '[["100.5"]]',
    '["100.5", "1"]',
    '[["1_000", "1"]]',
    '[["0x10", "1"]]',
    '[["١٠٠", "1"]]',
    '[["100,5", "1"]]',
    '[[100.5, 1e400]]',
    "[('100.5', None)]",
    "[('100.5', '1'), ('101', 'x')]",
    '[[["100.5"], "1"]]',
    '[["100.5", "1"], 7]',
    "[('100.5', 1+2j)]",
    '[["", "1"]]',
    '[["1 00", "1"]]',
    '[["1e", "1"]]',
]


def bad_level_value(rng):
    k = rng.random()
    if k < 0.08:
        return 5  # not text
    if k < 0.14:
        return b"\xff\xfe[["  # a BLOB that is not UTF-8
    return rng.choice(BAD_LEVEL_TEXTS)


# ---------------------------------------------------------------------------------------------
# Time units


def raw_ts(rng, ms, unit, real):
    """The stored timestamp for `ms` in `unit` (INTEGER or REAL)."""
    frac = rng.random()
    if unit == "s":
        return ms / 1000.0 if real else ms // 1000
    if unit == "ms":
        return ms + frac * 0.999 if real else ms
    if unit == "us":
        v = ms * 1000 + rng.randint(0, 999)
        return float(v) if real else v
    v = ms * 1_000_000 + rng.randint(0, 999_999)
    return float(v) if real else v


def bad_ts(rng, decl):
    k = rng.random()
    if k < 0.25:
        return None
    if k < 0.45:
        return "abc"
    if k < 0.6 and decl == "":
        return "1710000000000"  # numeric text: invalid (only stays text without affinity)
    if k < 0.75:
        return 12345
    if k < 0.85:
        return -1710000000000
    if k < 0.92:
        return float("inf")
    return 5_000_000_000_000  # beyond 2100 in ms, yet plausible in no unit


# ---------------------------------------------------------------------------------------------
# A market


class Market:
    """A random walk of a book and trades; only used to generate plausible rows."""

    def __init__(self, rng):
        self.rng = rng
        self.tick = rng.choice([0.5, 0.1, 0.01, 1.0, 0.00001])
        self.dp = max(0, -int(math.floor(math.log10(self.tick)))) if self.tick < 1 else 0
        self.sdp = rng.choice([8, 3, 0])
        self.mid = rng.randint(1000, 5000)  # in ticks
        self.bids, self.asks = {}, {}

    def price(self, k):
        return round(k * self.tick, self.dp)

    def size(self):
        if self.sdp == 0:
            return float(self.rng.randint(1, 20))
        return round(self.rng.uniform(0.001, 5), self.sdp)

    def snapshot(self, n):
        self.bids = {self.mid - 1 - i: self.size() for i in range(n)}
        self.asks = {self.mid + 1 + i: self.size() for i in range(n)}
        return self.levels(self.bids), self.levels(self.asks)

    def levels(self, side):
        return [(self.price(k), s) for k, s in side.items()]

    def update(self):
        rng = self.rng
        self.mid += rng.choice([-2, -1, 0, 0, 1, 2])
        out = []
        for side, sign in ((self.bids, -1), (self.asks, 1)):
            changes = []
            for _ in range(rng.randint(0, 4)):
                k = self.mid + sign * rng.randint(1, 12)
                r = rng.random()
                if r < 0.3 and side:
                    k = rng.choice(list(side))
                    side.pop(k)
                    changes.append((self.price(k), 0.0))
                elif r < 0.4:
                    changes.append((self.price(k + 500 * sign), 0.0))  # delete a missing level
                else:
                    s = self.size()
                    side[k] = s
                    changes.append((self.price(k), s))
            if changes and rng.random() < 0.1:
                changes.append(changes[0])  # duplicate price in one row
            out.append(changes)
        return out

    def trade(self):
        rng = self.rng
        buy = rng.random() < 0.5
        k = self.mid + (1 if buy else -1) * rng.randint(0, 3)
        return self.price(k), self.size() or 1.0, buy


# ---------------------------------------------------------------------------------------------
# A recording


def rcase(rng, name):
    return "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in name)


class Recording:
    """One SQLite file: a span of time, its schema and its rows."""

    def __init__(self, rng, t0, t1, desc, inst=INST, market=None):
        self.rng = rng
        self.t0, self.t1 = t0, t1
        self.inst = inst
        self.market = market or Market(rng)
        self.desc = desc
        r = rng.random
        self.has_book = r() > 0.05
        self.has_trades = r() > 0.05 if self.has_book else True
        self.has_action = r() < 0.6
        self.inst_col = rng.choice([None, None, "instrument", "instId", "symbol"])
        self.book_ts_col = rng.choice(["timestamp", "timestamp", "ts"])
        self.trade_ts_col = rng.choice(["timestamp", "timestamp", "ts", "timestamp_ms"])
        self.book_unit = self.pick_unit()
        self.trade_unit = self.pick_unit() if r() < 0.5 else self.book_unit
        self.bad_rate = rng.choice([0, 0, 0.02, 0.1])
        self.notation = rng.choice(["json_str", "json_num", "python", "mixed"])
        self.unsorted_trades = rng.choice([None, None, "local", "shuffled"])
        self.jitter_book = r() < 0.15
        self.other_inst_rows = self.inst_col is not None and r() < 0.6
        self.n_levels = rng.choice([1, 3, 10, 30])
        self.resnap = self.has_action and r() < 0.4
        self.update_first = self.has_action and r() < 0.2
        self.bad_first_book = r() < 0.15
        self.junk_first_ts = r() < 0.15
        self.missing_column = r() < 0.02
        self.late_row = r() < 0.1
        self.no_snapshot = self.has_action and r() < 0.05
        self.extremes = r() < 0.1
        # Message numbers (SPEC 10.2) from a generator of their own, so that the other
        # choices of a seed stay as they were before the numbers came.
        self.seq_rng = random.Random(t0 * 7919 + t1)
        self.has_seq = self.seq_rng.random() < 0.5
        self.n_book = rng.randint(5, 120)
        self.n_trades = rng.randint(0, 250)
        desc.append(
            f"file[{t0}..{t1}] book={self.has_book} trades={self.has_trades} "
            f"action={self.has_action} inst_col={self.inst_col} ts=({self.book_ts_col},"
            f"{self.trade_ts_col}) units=({self.book_unit},{self.trade_unit}) "
            f"bad={self.bad_rate} notation={self.notation} unsorted={self.unsorted_trades} "
            f"jitter={self.jitter_book} others={self.other_inst_rows} levels={self.n_levels} "
            f"resnap={self.resnap} update_first={self.update_first} "
            f"bad_first={self.bad_first_book} junk_first_ts={self.junk_first_ts} "
            f"missing_col={self.missing_column} late_row={self.late_row} "
            f"no_snapshot={self.no_snapshot} extremes={self.extremes}"
        )

    def pick_unit(self):
        unit = self.rng.choice(["ms", "ms", "s", "us", "ns"])
        real = self.rng.random() < 0.25
        decl = "REAL" if real and self.rng.random() < 0.7 else self.rng.choice(["INTEGER", ""])
        if decl == "INTEGER" and real:
            decl = ""
        return unit, real, decl

    # -- rows -----------------------------------------------------------------------------

    def times(self, n):
        ts = sorted(self.rng.randint(self.t0, self.t1) for _ in range(n))
        return ts

    def book_rows(self):
        rng, m = self.rng, self.market
        rows = []
        times = self.times(self.n_book)
        if self.jitter_book:
            times = [t + rng.choice([0, 0, 0, -1500, 700]) for t in times]
        first = True
        for i, t in enumerate(times):
            notation = self.notation
            if notation == "mixed":
                notation = rng.choice(["json_str", "json_num", "python"])
            action = None
            if first and not (self.update_first and i == 0):
                bids, asks = m.snapshot(self.n_levels)
                action = rng.choice(["snapshot", "Snapshot", " partial ", "PARTIAL"])
                first = False
            elif self.resnap and rng.random() < 0.05:
                bids, asks = m.snapshot(rng.choice([1, self.n_levels]))
                action = rng.choice(["snapshot", "partial"])
            else:
                bids, asks = m.update()
                action = rng.choice(["update", "update", None, "delta"])
            if action and "snap" in action.lower() and rng.random() < 0.1:
                bids = bids + [(m.price(m.mid - 100), 0.0)]  # a size-0 level in a snapshot
            if self.extremes and rng.random() < 0.05:
                asks = asks + [(1e15, rng.choice([1e15, 1.0]))]
            bt = self.side_value(bids, notation)
            at = self.side_value(asks, notation)
            ts = raw_ts(rng, t, *self.book_unit[:2])
            if rng.random() < self.bad_rate or (i == 0 and self.bad_first_book):
                if rng.random() < 0.6:
                    if rng.random() < 0.5:
                        bt = bad_level_value(rng)
                    else:
                        at = bad_level_value(rng)
                else:
                    ts = bad_ts(rng, self.book_unit[2])
            rows.append({"ts": ts, "bids": bt, "asks": at, "action": action})
        if self.junk_first_ts:
            rows.insert(0, {"ts": 12345, "bids": "[]", "asks": "[]", "action": "snapshot"})
        if self.late_row and rows:
            late = self.t1 + rng.choice([1, DAY_MS, 3 * DAY_MS])
            bad = rng.random() < 0.5
            rows.insert(
                rng.randrange(len(rows)),
                {
                    "ts": raw_ts(rng, late, *self.book_unit[:2]),
                    "bids": '[["1", "1"]]' if not bad else "[[",
                    "asks": "[]",
                    "action": "update",
                },
            )
        if self.no_snapshot:
            for r in rows:
                if r["action"] and "snap" in r["action"].lower() or "part" in (r["action"] or "").lower():
                    r["action"] = "update"
        if self.has_seq:
            self.number(rows)
        return rows

    def number(self, rows):
        """seqId/prevSeqId of each row: mostly a chain, with gaps, resets, heartbeats, chain
        starts (-1) and values that are no integers."""
        sr = self.seq_rng
        seq = sr.randint(0, 1000)
        for r in rows:
            roll = sr.random()
            prev = seq
            if roll < 0.06:
                prev, seq = seq + 1, seq + sr.randint(2, 5)  # a gap
            elif roll < 0.1:
                seq = sr.randint(0, max(0, seq - 1))  # a reset (or a heartbeat at 0)
            elif roll < 0.16:
                pass  # a heartbeat
            elif roll < 0.2:
                prev, seq = -1, seq + 1
            else:
                seq += sr.randint(1, 3)
            r["seqid"], r["prevseqid"] = seq, prev
            odd = sr.random()
            if odd < 0.03:
                r[sr.choice(["seqid", "prevseqid"])] = sr.choice([None, "x", 2.5, " 12 "])
            elif odd < 0.06:
                r["seqid"] = float(seq)

    def side_value(self, levels, notation):
        rng = self.rng
        if not levels:
            return rng.choice([None, "", "[]"])
        if rng.random() < 0.03:
            return None if rng.random() < 0.5 else ""
        text = level_text(rng, levels, notation, self.market.dp, self.market.sdp)
        if rng.random() < 0.05:
            return text.encode("utf-8")  # a BLOB of UTF-8 text
        return text

    def trade_rows(self):
        rng, m = self.rng, self.market
        # trades before the first and after the last book row: widen the span a little
        lo, hi = self.t0 - rng.choice([0, 5000]), self.t1 + rng.choice([0, 5000])
        rows = []
        for t in sorted(rng.randint(lo, hi) for _ in range(self.n_trades)):
            price, size, buy = m.trade()
            side = "buy" if buy else "sell"
            r = rng.random()
            if r < 0.05:
                side = side.upper()
            elif r < 0.08:
                side = " " + side.capitalize() + " "
            p = price
            s = size
            if rng.random() < 0.1:
                p = fmt_num(rng, price, m.dp).strip() if rng.random() < 0.5 else f" {price} "
            if rng.random() < 0.05 and size == int(size):
                s = int(size)
            if self.extremes and rng.random() < 0.03:
                p, s = rng.choice([(1e15, s), (p, 1e15), ("1e15", "1e-300")])
            ts = raw_ts(rng, t, *self.trade_unit[:2])
            if rng.random() < self.bad_rate:
                kind = rng.randrange(4)
                if kind == 0:
                    ts = bad_ts(rng, self.trade_unit[2])
                elif kind == 1:
                    p = rng.choice([0, -1.5, None, "abc", 2e15, float("inf"), "1_0"])
                elif kind == 2:
                    s = rng.choice([0, -1, None, "x", 1e16, "0"])
                else:
                    side = rng.choice(["b", None, "", "buyy", "long", 1, "b uy", "\tbuy"])
            rows.append({"ts": ts, "price": p, "size": s, "side": side})
        return rows

    def other_rows(self, kind):
        """Rows of other instruments (and NULL ones) that must not be read."""
        rng = self.rng
        rows = []
        for _ in range(rng.randint(1, 15)):
            t = rng.randint(self.t0 - DAY_MS // 4, self.t1 + DAY_MS // 4)
            other = rng.choice(["ETH-USDT", None, "BTC-USDT-SWAP", "BTC-USDTX", "BTC-USDT "])
            ts = t // 1000 if rng.random() < 0.5 else t  # other units too
            if kind == "book":
                rows.append(
                    {
                        "ts": ts,
                        "bids": '[["1","999"]]',
                        "asks": '[["999999","999"]]',
                        "action": "snapshot",
                        "inst": other,
                    }
                )
            else:
                rows.append(
                    {"ts": ts, "price": 777.0, "size": 99.0, "side": "buy", "inst": other}
                )
        return rows

    # -- writing --------------------------------------------------------------------------

    def write(self, path):
        rng = self.rng
        conn = sqlite3.connect(path)
        if self.has_book:
            self.write_book(conn)
        if self.has_trades:
            self.write_trades(conn)
        if rng.random() < 0.2:
            conn.execute("CREATE TABLE meta (k TEXT, v TEXT)")
        conn.commit()
        conn.close()

    def mix(self, rows, others):
        rng = self.rng
        for r in rows:
            r.setdefault("inst", self.inst if rng.random() < 0.9 else self.inst.lower())
        if not others:
            return rows
        out = list(rows)
        for o in others:
            out.insert(rng.randint(0, len(out)), o)
        return out

    def columns(self, base, extra):
        rng = self.rng
        cols = list(base)
        if self.inst_col:
            cols.append((self.inst_col, "TEXT", "inst"))
        for name, decl in extra:
            if rng.random() < 0.4:
                cols.append((name, decl, None))
        rng.shuffle(cols)
        return [("id", "INTEGER PRIMARY KEY", "id")] + [
            (rcase(rng, n), d, k) for n, d, k in cols
        ]

    def create_insert(self, conn, table, cols, rows, ids):
        decl = ", ".join(f'"{n}" {d}' for n, d, _ in cols)
        conn.execute(f"CREATE TABLE {rcase(self.rng, table)} ({decl})")
        names = ", ".join(f'"{n}"' for n, _, _ in cols)
        marks = ", ".join("?" for _ in cols)
        sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"
        for rid, r in zip(ids, rows):
            values = []
            for _, _, key in cols:
                if key == "id":
                    values.append(rid)
                elif key is None:
                    values.append(self.rng.choice([None, 1, "x"]))
                else:
                    values.append(r.get(key))
            conn.execute(sql, values)

    def write_book(self, conn):
        rows = self.book_rows()
        if self.other_inst_rows:
            rows = self.mix(rows, self.other_rows("book"))
        else:
            rows = self.mix(rows, [])
        base = [
            ("bids", self.rng.choice(["TEXT", ""]), "bids"),
            ("asks", self.rng.choice(["TEXT", ""]), "asks"),
            (self.book_ts_col, self.book_unit[2], "ts"),
        ]
        if self.has_action:
            base.append(("action", "TEXT", "action"))
        if self.has_seq:
            base.append((self.seq_rng.choice(["seqId", "seq_id"]), "INTEGER", "seqid"))
            base.append((self.seq_rng.choice(["prevSeqId", "prev_seq_id"]), "INTEGER", "prevseqid"))
        if self.missing_column:
            base = base[1:]  # no bids: the file is unusable
            self.desc.append("  (book lacks bids: unusable)")
        cols = self.columns(base, [("seq", "INTEGER"), ("checksum", "TEXT")])
        ids = list(range(1, len(rows) + 1))
        if self.rng.random() < 0.2:
            ids = [i * 3 + 7 for i in ids]  # gaps in ids
        self.create_insert(conn, "book", cols, rows, ids)

    def write_trades(self, conn):
        rows = self.trade_rows()
        if self.other_inst_rows:
            rows = self.mix(rows, self.other_rows("trades"))
        else:
            rows = self.mix(rows, [])
        for i, r in enumerate(rows):
            r["trade_id"] = str(1000 + i) if i % 2 else 1000 + i
        base = [
            ("trade_id", self.rng.choice(["TEXT", "INTEGER"]), "trade_id"),
            ("price", self.rng.choice(["REAL", ""]), "price"),
            ("size", self.rng.choice(["REAL", ""]), "size"),
            ("side", "TEXT", "side"),
            (self.trade_ts_col, self.trade_unit[2], "ts"),
        ]
        cols = self.columns(base, [("fee", "REAL"), ("note", "TEXT")])
        ids = list(range(1, len(rows) + 1))
        if self.unsorted_trades == "shuffled":
            self.rng.shuffle(ids)
        elif self.unsorted_trades == "local":
            for i in range(0, len(ids) - 1, 3):
                ids[i], ids[i + 1] = ids[i + 1], ids[i]
        order = sorted(range(len(rows)), key=lambda i: ids[i])
        self.create_insert(conn, "trades", cols, [rows[i] for i in order], sorted(ids))


# ---------------------------------------------------------------------------------------------
# A case


def day_str(ms):
    return dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc).strftime("%Y-%m-%d")


def rfc3339(rng, ms):
    t = dt.datetime.fromtimestamp(ms // 1000, dt.timezone.utc)
    k = rng.random()
    if k < 0.3:
        return t.strftime("%Y-%m-%dT%H:%M:%SZ")
    if k < 0.4:
        return t.strftime("%Y-%m-%dT%H:%M:%S") + f".{ms % 1000:03d}Z"
    if k < 0.6:
        return t.strftime("%Y-%m-%dT%H:%M:%S")  # no offset: UTC
    if k < 0.8:
        local = t.astimezone(dt.timezone(dt.timedelta(hours=2)))
        return local.strftime("%Y-%m-%dT%H:%M:%S+02:00")
    local = t.astimezone(dt.timezone(-dt.timedelta(hours=5, minutes=30)))
    return local.strftime("%Y-%m-%dT%H:%M:%S-05:30")


MATCHING_NAMES = [
    "{I}-{D}.db",
    "okx_{i}_{d}.sqlite",
    "{I}.SQLITE3",
    "rec {I} 2024.DB",
    "{i}.{d}.sqlite3",
    "{I}_{D}.Db",
]
DECOY_NAMES = [
    "{I}-SWAP-{D}.db",
    ".{I}-{D}.db",
    "{I}-{D}.db.bak",
    "{I}-{D}.txt",
    "X{I}-{D}.db",
    "{I}X-{D}.db",
    "{I}-x.db",
    "{I}--{D}.db",
]


def file_name(rng, pattern, t):
    d = day_str(t)
    return pattern.format(I=INST, i=INST.lower(), D=d, d=d.replace("-", ""))


class Case:
    def __init__(self, seed, root):
        self.seed = seed
        self.rng = rng = random.Random(seed)
        self.root = root
        self.data = os.path.join(root, "data")
        os.makedirs(self.data)
        self.desc = [f"seed {seed}"]
        day0 = 1_704_067_200_000 + rng.randint(0, 700) * DAY_MS  # 2024-01-01 + days
        shape = rng.choice(["single", "midnight", "days", "overlap", "dense", "tiny"])
        self.desc.append(f"shape {shape}")
        spans = []
        h = 3_600_000
        if shape == "single":
            a = day0 + rng.randint(0, 20 * h)
            spans = [(a, a + rng.randint(60_000, 3 * h))]
        elif shape == "midnight":
            a = day0 + DAY_MS - rng.randint(60_000, h)
            spans = [(a, day0 + DAY_MS + rng.randint(60_000, h))]
        elif shape == "days":
            for k in range(rng.randint(2, 3)):
                a = day0 + k * DAY_MS + rng.randint(0, 2 * h)
                spans.append((a, a + rng.randint(60_000, 2 * h)))
        elif shape == "overlap":
            a = day0 + rng.randint(0, 20 * h)
            b = a + rng.randint(0, 20 * 60_000)
            spans = [(a, a + rng.randint(10 * 60_000, h)), (b, b + rng.randint(60_000, h))]
        elif shape == "dense":
            a = day0 + rng.randint(0, 20 * h)
            spans = [(a, a + rng.randint(1500_000, 2500_000))]
        else:
            a = day0 + rng.randint(0, 23 * h)
            spans = [(a, a + rng.randint(0, 5000))]
        self.files = []
        for k, (a, b) in enumerate(spans):
            rec = Recording(rng, a, b, self.desc)
            if shape == "dense":
                rec.n_trades = rng.randint(2500, 4000)  # more than 1000 one-second bars
                rec.n_book = rng.randint(100, 300)
                rec.bad_rate = 0
            pattern = rng.choice(MATCHING_NAMES)
            name = file_name(rng, pattern, a)
            sub = rng.choice(["", "", "sub", os.path.join("a", "b")])
            d = os.path.join(self.data, sub)
            os.makedirs(d, exist_ok=True)
            path = os.path.join(d, name)
            if os.path.exists(path):
                path = os.path.join(d, f"{k}_{name}")
            rec.write(path)
            self.desc.append(f"  -> {os.path.relpath(path, self.data)}")
            self.files.append((rec, path))
        if shape == "overlap" and rng.random() < 0.3:
            # the very same recording a second time, in another folder
            src = self.files[0][1]
            d = os.path.join(self.data, "copy")
            os.makedirs(d, exist_ok=True)
            shutil.copy(src, os.path.join(d, os.path.basename(src)))
            self.desc.append("  + a copy of the first file")
        self.decoys(spans)
        self.pick_range(spans)
        self.pick_options(shape)

    def decoys(self, spans):
        rng = self.rng
        a, b = spans[0]
        for _ in range(rng.randint(0, 2)):
            pattern = rng.choice(DECOY_NAMES)
            rec = Recording(random.Random(rng.random()), a, b, [], market=None)
            rec.has_book = rec.has_trades = True
            rec.missing_column = False
            path = os.path.join(self.data, file_name(rng, pattern, a))
            if not os.path.exists(path):
                rec.write(path)
                self.desc.append(f"  decoy {os.path.basename(path)}")
        r = rng.random()
        if r < 0.05:
            path = os.path.join(self.data, f"{INST}-{day_str(a)}-garbage.db")
            with open(path, "wb") as f:
                f.write(b"this is not a database" * 50)
            self.desc.append("  garbage file (unusable)")
        elif r < 0.1 and hasattr(os, "symlink"):
            # links: a link to a file outside is followed, a link to a folder is not descended
            outside = os.path.join(self.root, "outside")
            os.makedirs(outside, exist_ok=True)
            rec = Recording(random.Random(rng.random()), a, b, [], market=None)
            rec.missing_column = False
            target = os.path.join(outside, "other.db")
            rec.write(target)
            if rng.random() < 0.5:
                os.symlink(target, os.path.join(self.data, f"{INST}-link-{day_str(a)}.db"))
                self.desc.append("  link to a file outside (followed)")
            else:
                os.symlink(outside, os.path.join(self.data, "linkdir"))
                os.rename(target, os.path.join(outside, f"{INST}-{day_str(a)}.db"))
                self.desc.append("  link to a folder (not descended)")
            os.symlink(os.path.join(self.root, "nowhere.db"), os.path.join(self.data, f"{INST}-9.db"))

    def pick_range(self, spans):
        rng = self.rng
        lo = min(a for a, _ in spans)
        hi = max(b for _, b in spans)
        k = rng.random()
        if k < 0.45:
            start, end = day_str(lo), day_str(hi)
        elif k < 0.6:
            start, end = day_str(lo), day_str(lo)  # stops at the first midnight
        elif k < 0.7:
            start, end = day_str(hi), day_str(hi)  # warm-up from an earlier day's file
        elif k < 0.9:
            s = rng.randint(lo - 60_000, hi)
            e = rng.randint(s, hi + 60_000)
            start = rfc3339(rng, s)
            end = rfc3339(rng, e) if rng.random() < 0.7 else day_str(e)
        else:
            start, end = day_str(lo - DAY_MS), day_str(hi + DAY_MS)
        self.start, self.end = start, end
        self.desc.append(f"range {start} {end}")

    def pick_options(self, shape):
        rng = self.rng
        self.window = rng.choice([None, None, 1, 5, 7, 30, 300, 3600, 86400, 31622400])
        if shape == "dense":
            self.window = 1
        self.depth = rng.choice([None, None, 1, 3, 10, 1000])
        self.obi = rng.choice([None, None, 1, 2, 5, 100])
        self.desc.append(f"options window={self.window} depth={self.depth} obi={self.obi}")

    def option_args(self):
        out = []
        for flag, v in (
            ("--window-seconds", self.window),
            ("--depth-levels", self.depth),
            ("--obi-levels", self.obi),
        ):
            if v is not None:
                out += [flag, str(v)]
        return out


# ---------------------------------------------------------------------------------------------
# Running and comparing


FILES = ("ohlc_data.json", "metrics_data.json", "depth_data.json", "footprint_data.json")


def run_binary(binary, inst, start, end, data, json_dir, opts):
    os.makedirs(json_dir, exist_ok=True)
    summary = os.path.join(json_dir, "summary.json")
    cmd = [binary, "process", inst, start, end, "--data-dir", data, "--json-dir", json_dir]
    cmd += ["--summary", summary]
    env = dict(os.environ)
    env.pop("ORDERFLOW_DATA_DIR", None)
    p = subprocess.run(cmd + opts, capture_output=True, text=True, timeout=300, env=env)
    out = {}
    for name in FILES:
        try:
            with open(os.path.join(json_dir, name)) as f:
                out[name] = json.load(f)
        except (OSError, ValueError) as e:
            out[name] = f"<unreadable: {e}>"
    try:
        with open(summary) as f:
            integrity = json.load(f).get("integrity", {})
        out["integrity"] = {k: integrity.get(k) for k in INTEGRITY_KEYS}
    except (OSError, ValueError) as e:
        out["integrity"] = f"<unreadable: {e}>"
    return p.returncode, out, p.stderr


INTEGRITY_KEYS = ("gaps", "resets", "heartbeats", "crossed")


def run_oracle(inst, start, end, data, opts):
    args = [inst, start, end, "--data-dir", data]
    a = argparse.Namespace(window=60, depth=50, obi=None)
    it = iter(opts)
    for flag in it:
        v = int(next(it))
        if flag == "--window-seconds":
            a.window = v
        elif flag == "--depth-levels":
            a.depth = v
        else:
            a.obi = v
    s = spec_oracle.parse_bound(start, False)
    e = spec_oracle.parse_bound(end, True)
    flow = {}
    integrity = {}
    ohlc, metrics, depth, status, notes = spec_oracle.run(
        inst, s, e, data, a.window, a.depth, a.obi, flow, integrity
    )
    del args
    out = {
        "ohlc_data.json": ohlc,
        "metrics_data.json": metrics,
        "depth_data.json": depth,
        "footprint_data.json": flow["footprint_file"],
    }
    out["integrity"] = integrity
    slices = flow.pop("heatmap_slices", {})
    flow = json.loads(json.dumps(flow))
    flow["heatmap_slices"] = slices
    return status, json.loads(json.dumps(out)), notes, flow


def close(a, b):
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    if isinstance(a, int) and isinstance(b, int):
        return a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        d = abs(a - b)
        return d <= 1e-9 or d <= 1e-9 * max(abs(a), abs(b))
    return False


def first_difference(name, got, want):
    """A description of the first difference, or None."""
    if name == "depth_data.json":
        if not isinstance(got, dict) or set(got) != {"bids", "asks"}:
            return f"{name}: not a depth object: {str(got)[:200]}"
        for side in ("bids", "asks"):
            d = first_list_difference(f"{name} {side}", got[side], want[side])
            if d:
                return d
        return None
    if name == "footprint_data.json":
        # [ts, [[price, buy, sell], ...]] flattened to [ts, price, buy, sell, price, ...]
        def flat(bars):
            if not isinstance(bars, list):
                return bars
            return [
                [bar[0]] + [x for row in bar[1] for x in row]
                if isinstance(bar, list) and len(bar) == 2 and isinstance(bar[1], list)
                else bar
                for bar in bars
            ]

        return first_list_difference(name, flat(got), flat(want))
    return first_list_difference(name, got, want)


def first_list_difference(label, got, want):
    if not isinstance(got, list):
        return f"{label}: not a list: {str(got)[:200]}"
    for i, (g, w) in enumerate(zip(got, want)):
        if not isinstance(g, list) or len(g) != len(w):
            return f"{label}[{i}]: shape: rust {g} oracle {w}"
        if g and w and isinstance(g[0], int) != isinstance(w[0], int):
            return f"{label}[{i}]: ts type: rust {g} oracle {w}"
        for j, (x, y) in enumerate(zip(g, w)):
            if not close(x, y):
                ctx = f"\n    rust   {got[max(0, i - 1):i + 2]}\n    oracle {want[max(0, i - 1):i + 2]}"
                return f"{label}[{i}][{j}]: rust {x!r} oracle {y!r}{ctx}"
    if len(got) != len(want):
        g = {r[0] for r in got if r} if label[:4] != "dept" else set()
        w = {r[0] for r in want if r} if label[:4] != "dept" else set()
        return (
            f"{label}: length rust {len(got)} oracle {len(want)}; "
            f"first rows rust {got[:2]} oracle {want[:2]}; only rust {sorted(g - w)[:5]} "
            f"only oracle {sorted(w - g)[:5]}"
        )
    return None


def served(p):
    """The address `orderflow run` (process `p`) prints, and a JSON getter on it; `(None,
    line)` when its first line is not the address."""
    line = p.stdout.readline()
    if "listening on " not in line:
        return None, line
    base = line.split("listening on ", 1)[1].split()[0]

    def get(path):
        with urllib.request.urlopen(base + path, timeout=60) as answer:
            return json.loads(answer.read())

    return base, get


def api_differences(binary, inst, start, end, data, opts, flow):
    """`orderflow run` on the same range: /api/footprint, /api/bar_extras and /api/prints
    (all, and with min_size and since) against the oracle's SPEC 6 (every bar of the run)."""
    cmd = [binary, "run", inst, start, end, "--data-dir", data, "--port", "0", *opts]
    env = dict(os.environ)
    env.pop("ORDERFLOW_DATA_DIR", None)
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    try:
        base, get = served(p)
        if base is None:
            return [f"run: no address line ({get!r})"]

        deadline = time.time() + 120
        while get("/api/status")["phase"] not in ("done", "failed"):
            if time.time() > deadline:
                return ["run: not done within 120 s"]
            time.sleep(0.05)
        diffs = []

        def flat(bars):
            return [[bar[0]] + [x for row in bar[1] for x in row] for bar in bars]

        d = first_list_difference("/api/footprint", flat(get("/api/footprint")), flat(flow["footprints"]))
        if d:
            diffs.append(d)
        d = first_list_difference("/api/bar_extras", get("/api/bar_extras"), flow["extras"])
        if d:
            diffs.append(d)
        prints = flow["prints"]
        sizes = sorted(p[3] for p in prints)
        min_size = sizes[len(sizes) // 2] if sizes else 1.0
        since = prints[len(prints) // 3][0] if prints else 0
        for query, want in (
            ("", prints),
            (f"?min_size={min_size!r}", [p for p in prints if p[3] >= min_size]),
            (f"?min_size={min_size!r}&since={since}", [p for p in prints if p[3] >= min_size and p[0] >= since]),
        ):
            got = get("/api/prints" + query)
            # side is text: compare it apart, the numbers as numbers
            sides = [g[1] for g in got] == [w[1] for w in want]
            strip = lambda rows: [[r[0]] + r[2:] for r in rows]  # noqa: E731
            d = first_list_difference(f"/api/prints{query}", strip(got), strip(want))
            if d or not sides:
                diffs.append(d or f"/api/prints{query}: sides differ")
        diffs += heatmap_differences(get, flow["heatmap_slices"], "")
        return diffs
    finally:
        p.send_signal(2)
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()


def heatmap_differences(get, slices, label):
    """/api/heatmap (SPEC 7, 1-second slices) against the oracle's slices: the whole heatmap
    in one-minute columns, and a stretch at its start and at its end (where a run that stops,
    or a seek, leaves the last slice) at finer zooms, each starting inside a column."""
    diffs = []
    first = min(slices) * 1000 if slices else 0
    last = max(slices) * 1000 if slices else 0
    queries = [(0, 2**62, 60_000, 2.5)]
    for step, row in ((1000, 0.5), (7000, 2.5)) if slices else ():
        queries += [
            (first + 1, first + 45 * step, step, row),
            (max(0, last - 30 * step + 1), 2**62, step, row),
        ]
    for lo, hi, step, row in queries:
        got = get(f"/api/heatmap?from={lo}&to={hi}&step={step}&row={row}")
        want = spec_oracle.heatmap_columns(slices, 1000, lo, hi, step, row)
        flat = lambda cols: [[c[0]] + [x for r in c[1] for x in r] for c in cols]  # noqa: E731
        d = first_list_difference(
            f"{label}/api/heatmap?from={lo}&to={hi}&step={step}&row={row}",
            flat(got["columns"]),
            flat(want),
        )
        if d:
            diffs.append(d)
    return diffs


# Trades per tick bar in the runs sought (`run --tick-bars`).
TICK_BARS = 7


def tick_bars(trades, n):
    """Tick bars of `n` trades (README, "Tick and volume bars"): the in-range trades in
    event order, cut every `n`; the last may hold fewer."""
    bars = []
    for i in range(0, len(trades), n):
        group = trades[i:i + n]
        volume = buy = sell = 0.0
        for _, _, size, is_buy in group:
            volume += size
            if is_buy:
                buy += size
            else:
                sell += size
        prices = [t[1] for t in group]
        bars.append([group[0][0], group[-1][0], prices[0], max(prices), min(prices), prices[-1],
                     volume, buy, sell, len(group)])
    return bars


def seek_differences(binary, inst, start, end, data, opts, want):
    """SPEC 8: `orderflow run --paused`, sought forward and back; after each seek to T the
    JSON files, /api/prints and /api/heatmap are those of the oracle's run ending at T."""
    s = spec_oracle.parse_bound(start, False)
    e_ms = spec_oracle.parse_bound(end, True)
    if not (want["ohlc_data.json"] or want["metrics_data.json"]):
        return []
    last = min(e_ms - 1, s + 7 * DAY_MS)
    instants = [s + int((last - s) * f) for f in (0.7, 0.25, 0.55, 1.0)]
    json_dir = tempfile.mkdtemp(prefix="orderflow-seek-")
    cmd = [binary, "run", inst, start, end, "--data-dir", data, "--port", "0", "--paused",
           "--json-dir", json_dir, "--checkpoint-events", "97", "--prints-between-frames", "13",
           "--tick-bars", str(TICK_BARS), *opts]
    env = dict(os.environ)
    env.pop("ORDERFLOW_DATA_DIR", None)
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    window, depth, obi = 60, 50, None
    it = iter(opts)
    for flag in it:
        v = int(next(it))
        if flag == "--window-seconds":
            window = v
        elif flag == "--depth-levels":
            depth = v
        else:
            obi = v
    try:
        base, get = served(p)
        if base is None:
            return [f"run --paused: no address line ({get!r})"]

        diffs = []
        for t in instants:
            body = json.dumps({"action": "seek", "to": t}).encode()
            request = urllib.request.Request(
                base + "/api/replay",
                data=body,
                headers={"Content-Type": "application/json", "Origin": base},
            )
            try:
                with urllib.request.urlopen(request, timeout=120) as answer:
                    status = json.loads(answer.read())
            except urllib.error.HTTPError as e:
                diffs.append(f"seek to {t} in [{s}, {e_ms}): {e.code} {e.read()[:300]!r}")
                continue
            if status.get("position") != t or status.get("phase") == "seeking":
                diffs.append(f"seek to {t}: not completed: {status}")
                continue
            flow = {}
            ohlc, metrics, dep, code, _ = spec_oracle.run(inst, s, t, data, window, depth, obi, flow)
            if code == 2:
                continue
            label = f"after a seek to {t}: "
            oracle = json.loads(json.dumps({
                "ohlc_data.json": ohlc, "metrics_data.json": metrics, "depth_data.json": dep,
                "footprint_data.json": flow["footprint_file"], "prints": flow["prints"],
            }))
            for name in FILES:
                with open(os.path.join(json_dir, name)) as f:
                    d = first_difference(name, json.load(f), oracle[name])
                if d:
                    diffs.append(label + d)
            got = get("/api/prints")
            strip = lambda rows: [[r[0]] + r[2:] for r in rows]  # noqa: E731
            d = first_list_difference(label + "/api/prints", strip(got), strip(oracle["prints"]))
            if d or [g[1] for g in got] != [w[1] for w in oracle["prints"]]:
                diffs.append(d or label + "/api/prints: sides differ")
            diffs += heatmap_differences(get, flow["heatmap_slices"], label)
            got = get("/api/trade_bars")
            want = tick_bars(flow["trades"], TICK_BARS)
            d = first_list_difference(label + "/api/trade_bars", got["bars"], want)
            if d or got["count"] != len(want) or got["size"] != {"trades": TICK_BARS}:
                diffs.append(d or f"{label}/api/trade_bars: count {got['count']}, size {got['size']}")
        return diffs
    finally:
        p.send_signal(2)
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
        shutil.rmtree(json_dir, ignore_errors=True)


def compare(binary, inst, start, end, data, opts, work, api=False):
    rc, got, stderr = run_binary(binary, inst, start, end, data, os.path.join(work, "rust"), opts)
    status, want, notes, flow = run_oracle(inst, start, end, data, opts)
    diffs = []
    for name in FILES:
        d = first_difference(name, got[name], want[name])
        if d:
            diffs.append(d)
    if rc != status:
        diffs.append(f"exit status: rust {rc} oracle {status}; rust stderr: {stderr[-600:]}")
    elif status != 2 and got["integrity"] != want["integrity"]:
        diffs.append(f"integrity: rust {got['integrity']} oracle {want['integrity']}")
    if api and status != 2:
        diffs += api_differences(binary, inst, start, end, data, opts, flow)
        diffs += seek_differences(binary, inst, start, end, data, opts, want)
    return diffs, notes, status, want


def main():
    ap = argparse.ArgumentParser(description="orderflow vs the SPEC oracle on random recordings")
    ap.add_argument("--binary", default="target/debug/orderflow")
    ap.add_argument("--seeds", type=int, default=60, help="how many seeds")
    ap.add_argument("--first-seed", type=int, default=1)
    ap.add_argument("--seed", type=int, help="run only this seed")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folders")
    ap.add_argument("--max-failures", type=int, default=5)
    ap.add_argument("--real", help="also compare on real recordings under this folder")
    ap.add_argument(
        "--api",
        action="store_true",
        help="also compare /api/footprint, /api/bar_extras, /api/prints and /api/heatmap of "
        "`orderflow run`, and its JSON files, prints and heatmap after seeks (SPEC 6-8)",
    )
    a = ap.parse_args()
    binary = os.path.abspath(a.binary)
    seeds = [a.seed] if a.seed is not None else range(a.first_seed, a.first_seed + a.seeds)
    failures = 0
    began = time.time()
    count = 0
    stats = {}
    for seed in seeds:
        root = tempfile.mkdtemp(prefix=f"orderflow-fuzz-{seed}-")
        try:
            case = Case(seed, root)
            diffs, notes, status, want = compare(
                binary, INST, case.start, case.end, case.data, case.option_args(), root, a.api
            )
            count += 1
            stats["exit %d" % status] = stats.get("exit %d" % status, 0) + 1
            for key, n in (
                ("with bars", len(want["ohlc_data.json"])),
                ("with metric bars", len(want["metrics_data.json"])),
                ("with depth", len(want["depth_data.json"]["bids"])),
                ("1000 bars", len(want["ohlc_data.json"]) == 1000),
                ("with gaps", want["integrity"].get("gaps")),
                ("with resets", want["integrity"].get("resets")),
                ("with heartbeats", want["integrity"].get("heartbeats")),
                ("with crossed books", want["integrity"].get("crossed")),
            ):
                if n:
                    stats[key] = stats.get(key, 0) + 1
            if diffs:
                failures += 1
                print(f"DIFFERENCE seed {seed} ({root if a.keep else 'use --seed --keep'}):")
                print("  " + "\n  ".join(case.desc))
                for n in notes:
                    print(f"  oracle: {n}")
                for d in diffs:
                    print(f"  {d}")
                if failures >= a.max_failures:
                    break
        finally:
            if not a.keep:
                shutil.rmtree(root, ignore_errors=True)
    if a.real:
        for sub in sorted(os.listdir(a.real)) + ["."]:
            data = os.path.join(a.real, sub)
            if not os.path.isdir(data):
                continue
            for start, end, opts in (
                ("2024-08-08", "2024-08-09", []),
                ("2024-08-08", "2024-08-08", ["--window-seconds", "1", "--obi-levels", "20"]),
                ("2024-08-08T23:57:00Z", "2024-08-09", ["--window-seconds", "7", "--depth-levels", "5"]),
            ):
                root = tempfile.mkdtemp(prefix="orderflow-real-")
                try:
                    diffs, _, _, _ = compare(
                        binary, "BTCUSDT", start, end, data, opts, root, a.api
                    )
                finally:
                    shutil.rmtree(root, ignore_errors=True)
                count += 1
                label = f"real {data} {start} {end} {' '.join(opts)}"
                if diffs:
                    failures += 1
                    print(f"DIFFERENCE {label}:\n  " + "\n  ".join(diffs))
                else:
                    print(f"same: {label}")
    print(f"{count} cases, {failures} with differences, {time.time() - began:.1f} s")
    print("oracle outcomes: " + ", ".join(f"{k}: {v}" for k, v in sorted(stats.items())))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
