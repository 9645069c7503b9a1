"""The mean Huber loss (δ = 1) of a Parquet file's pred and target columns with DuckDB.

usage: duckdb_parquet.py FILE.parquet
"""
import sys

import duckdb

q = """SELECT avg(CASE WHEN abs(pred - target) < 1.0 THEN 0.5 * abs(pred - target) * abs(pred - target)
       ELSE abs(pred - target) - 0.5 END) FROM read_parquet(?)"""
print(repr(duckdb.connect().execute(q, [sys.argv[1]]).fetchone()[0]))
