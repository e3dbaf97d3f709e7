"""The same reconciliation as reconcile_pandas.py in DuckDB's SQL, over the same two files.

usage: reconcile_duckdb.py DIR [AS_OF]"""

import datetime
import resource
import sys
import time

import duckdb

SQL = """
CREATE TEMP TABLE ships AS
  SELECT tracking_number, CAST(cod_minor AS BIGINT) AS cod_minor, currency, cod_status,
         CAST(NULLIF(delivered_at, '') AS TIMESTAMPTZ) AS delivered_at
    FROM read_csv('{dir}/shipments.csv', header = true, all_varchar = true);
CREATE TEMP TABLE classed AS
WITH lines AS (
  SELECT row_number() OVER () + 1 AS line, tracking_number, currency,
         CAST(replace(cod_amount, '.', '') AS BIGINT) AS amount_minor,
         CAST(replace(cod_fee, '.', '') AS BIGINT) AS fee_minor
    FROM read_csv('{dir}/remittance.csv', header = true, all_varchar = true)),
joined AS (
  SELECT l.*, s.cod_minor, s.currency AS cod_currency, s.cod_status IN ('remitted', 'paid_out') AS remitted,
         s.tracking_number IS NOT NULL AS known,
         row_number() OVER (PARTITION BY l.tracking_number ORDER BY l.line) = 1 AS first
    FROM lines l LEFT JOIN ships s USING (tracking_number)),
verdicts AS (
  SELECT *, CASE
      WHEN NOT known THEN 'unknown_reference'
      WHEN remitted OR NOT first THEN 'duplicate'
      WHEN currency <> cod_currency THEN 'currency_mismatch'
      WHEN amount_minor < cod_minor THEN 'short_paid'
      WHEN amount_minor > cod_minor THEN 'over_paid'
      WHEN fee_minor > (greatest(amount_minor, 0) * 200 + 5000) // 10000 THEN 'fee_above_contract'
      ELSE 'matched' END AS class
    FROM joined)
SELECT * FROM verdicts;
"""

COUNTS = "SELECT class, count(*) FROM classed GROUP BY class ORDER BY class"

MISSING = """
SELECT count(*) FROM ships s
 WHERE s.cod_status NOT IN ('remitted', 'paid_out') AND s.delivered_at IS NOT NULL
   AND CAST(s.delivered_at AS DATE) + INTERVAL 10 DAY < DATE '{as_of}'
   AND s.tracking_number NOT IN (SELECT tracking_number FROM classed
                                  WHERE class IN ('matched', 'short_paid', 'over_paid', 'fee_above_contract'))
"""


def main():
    folder = sys.argv[1]
    as_of = sys.argv[2] if len(sys.argv) > 2 else datetime.datetime.now(datetime.timezone.utc).date().isoformat()
    started = time.perf_counter()
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(SQL.format(dir=folder))
    rows = con.execute(COUNTS).fetchall()
    missing = con.execute(MISSING.format(dir=folder, as_of=as_of)).fetchone()[0]
    elapsed = time.perf_counter() - started
    for cls, n in rows:
        print(f"  {cls:<20} {n:>9} lines")
    print(f"  missing past their cycle: {missing}")
    print(f"duckdb: {sum(n for _, n in rows)} lines in {elapsed:.2f} s, "
          f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
