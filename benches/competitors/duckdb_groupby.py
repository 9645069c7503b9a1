"""The mean Huber loss (δ = 1) per KEY of a CSV file with DuckDB's GROUP BY; prints the number of
groups and the first group's loss.

usage: duckdb_groupby.py FILE.csv KEY
"""
import sys

import duckdb

path, key = sys.argv[1], sys.argv[2]
q = f"""SELECT "{key}", avg(CASE WHEN abs(pred - target) < 1 THEN 0.5 * (pred - target) ^ 2
        ELSE abs(pred - target) - 0.5 END) AS loss FROM read_csv(?) GROUP BY "{key}" ORDER BY "{key}" """
rows = duckdb.connect().execute(q, [path]).fetchall()
print(len(rows), repr(rows[0][1]) if rows else "")
