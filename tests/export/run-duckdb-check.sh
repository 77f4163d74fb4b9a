#!/usr/bin/env bash
# The export read by DuckDB (tests/export/duckdb_check.py): installs DuckDB from PyPI into a
# venv under the target folder (once), builds orderflow and compares every exported table with
# the store. Skips, loudly, only when PyPI cannot be reached.
set -euo pipefail
cd "$(dirname "$0")/../.."
target="${CARGO_TARGET_DIR:-target}"
venv="$target/duckdb-venv"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import duckdb' 2>/dev/null; then
    python3 -m venv "$venv"
    if ! "$venv/bin/pip" install --quiet --disable-pip-version-check duckdb; then
        if ! "$venv/bin/pip" download --quiet --no-deps --dest "$venv/probe" pip >/dev/null 2>&1; then
            echo "=================================================================="
            echo "SKIPPED: the export's DuckDB check: PyPI cannot be reached to install duckdb"
            echo "=================================================================="
            exit 0
        fi
        echo "installing duckdb from PyPI failed although PyPI answers" >&2
        exit 1
    fi
fi
cargo build --bin orderflow
work="$target/duckdb-check"
rm -rf "$work"
mkdir -p "$work"
"$venv/bin/python" tests/export/duckdb_check.py --binary "$target/debug/orderflow" --work "$work"
