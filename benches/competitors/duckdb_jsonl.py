"""The mean Huber loss (δ = 1) of a JSON Lines file's pred and target fields with DuckDB's read_json.

usage: duckdb_jsonl.py FILE.jsonl
"""
import sys

import duckdb

q = """SELECT avg(CASE WHEN abs(pred - target) < 1.0 THEN 0.5 * abs(pred - target) * abs(pred - target)
       ELSE abs(pred - target) - 0.5 END) FROM read_json(?, format = 'newline_delimited')"""
print(repr(duckdb.connect().execute(q, [sys.argv[1]]).fetchone()[0]))
