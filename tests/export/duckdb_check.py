#!/usr/bin/env python3
"""The export (SPEC 9.3) read back by DuckDB, an engine others use: every table of a store,
exported as Parquet and as CSV, must equal the store row for row.

Run by tests/export/run-duckdb-check.sh, which installs DuckDB from PyPI into a venv under
target/. Usage: duckdb_check.py --binary PATH/TO/orderflow --work DIR
"""

import argparse
import math
import sqlite3
import subprocess
import sys
from pathlib import Path

import duckdb

TABLES = {
    "bars": ["window_s", "ts", "open", "high", "low", "close", "volume", "buy_volume",
             "sell_volume", "trades"],
    "metric_bars": ["window_s", "ts", "obi_open", "obi_high", "obi_low", "obi_close",
                    "cvd_open", "cvd_high", "cvd_low", "cvd_close"],
    "footprint": ["window_s", "ts", "price", "buy", "sell"],
    "prints": ["window_s", "ts", "seq", "side", "vwap", "size", "trades"],
    "signals": ["window_s", "ts", "name", "price", "value", "detail"],
    "runs": ["id", "range_start", "range_end", "window_s", "options", "started_at",
             "finished_at", "status"],
}


def run(*args):
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)


def store_rows(store, table, columns):
    db = sqlite3.connect(store)
    rows = db.execute(
        f"SELECT instrument, {', '.join(columns)} FROM {table} ORDER BY instrument, {', '.join(columns)}"
    ).fetchall()
    db.close()
    return rows


def dataset_rows(out, table, columns, fmt):
    pattern = f"{out}/{table}/*/*/*.{fmt}"
    reader = "read_parquet" if fmt == "parquet" else "read_csv"
    # CSV carries no types: the texts that look like times or JSON stay texts.
    texts = {c: "VARCHAR" for c in columns if c in ("detail", "options", "started_at", "finished_at")}
    extra = "" if fmt == "parquet" else f", header = true, types = {texts}"
    query = (
        f"SELECT instrument, {', '.join(columns)} FROM {reader}('{pattern}', hive_partitioning = true{extra}) "
        f"ORDER BY instrument, {', '.join(columns)}"
    )
    return duckdb.sql(query).fetchall(), duckdb.sql(
        f"SELECT DISTINCT instrument, CAST(date AS VARCHAR) FROM {reader}('{pattern}', hive_partitioning = true{extra})"
    ).fetchall()


def same(a, b):
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is b
        return float(a) == float(b) or (math.isnan(a) and math.isnan(b))
    if a is None or b is None:
        return a is None and b is None
    return str(a) == str(b)


def compare(store, out, fmt):
    problems = 0
    for table, columns in TABLES.items():
        expected = store_rows(store, table, columns)
        actual, partitions = dataset_rows(out, table, columns, fmt)
        if len(actual) != len(expected):
            print(f"{fmt} {table}: {len(actual)} rows, the store has {len(expected)}")
            problems += 1
            continue
        differences = [
            (index, a, e)
            for index, (a, e) in enumerate(zip(actual, expected))
            if len(a) != len(e) or not all(same(x, y) for x, y in zip(a, e))
        ]
        if differences:
            index, a, e = differences[0]
            print(f"{fmt} {table} row {index}: {a} != {e} ({len(differences)} rows differ)")
            problems += 1
            continue
        print(f"{fmt} {table}: {len(actual)} rows equal, partitions {sorted(partitions)}")
    return problems


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--work", required=True)
    args = parser.parse_args()
    work = Path(args.work)
    data, store = work / "data", work / "store.db"
    # Two days crossing midnight and two instruments: several partitions per table.
    for instrument in ["BTC-USDT", "ETH-USDT"]:
        run(args.binary, "synth", "--out", str(data), "--instrument", instrument,
            "--start", "2025-01-15T23:30:00Z", "--hours", "1", "--book-interval-ms", "2000",
            "--trades-per-minute", "200", "--levels", "20")
        run(args.binary, "process", instrument, "2025-01-15", "2025-01-16", "--data-dir",
            str(data), "--json-dir", str(work / "json"), "--store", str(store),
            "--big-print", "0.05")
    problems = 0
    for fmt in ["parquet", "csv"]:
        out = work / f"export-{fmt}"
        run(args.binary, "export", "--store", str(store), "--out", str(out), "--format", fmt)
        problems += compare(store, out, fmt)
    if problems:
        print(f"FAILED: {problems} differences between the store and its export")
        return 1
    print("the export equals the store row for row (DuckDB, Parquet and CSV)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
