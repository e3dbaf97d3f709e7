"""A finance analyst's reconciliation in pandas: the carrier's COD remittance against the shipments export,
each line classified as codflow classifies it (matched, short/over paid, COD fee above the contract's 2 %,
paid twice, another currency, not ours) and the parcels missing past their cycle. Classifies only; records
nothing. Prints the class counts, the wall time and the peak memory.

usage: reconcile_pandas.py DIR [AS_OF] (DIR holds remittance.csv and shipments.csv)"""

import resource
import sys
import time

import pandas as pd

FEE_BP, CYCLE_DAYS, GRACE_DAYS = 200, 7, 3


def minor(col):
    # Amounts carry exactly two decimals: read them as integers of cents, never as floats.
    return col.str.replace(".", "", regex=False).astype("int64")


def main():
    folder = sys.argv[1]
    as_of = pd.Timestamp(sys.argv[2] if len(sys.argv) > 2 else pd.Timestamp.now(tz="UTC").date().isoformat(), tz="UTC")
    started = time.perf_counter()
    lines = pd.read_csv(f"{folder}/remittance.csv", dtype=str, keep_default_na=False)
    ships = pd.read_csv(f"{folder}/shipments.csv", dtype={"cod_minor": "int64"}, keep_default_na=False)
    lines["line"] = range(2, len(lines) + 2)
    lines["amount_minor"] = minor(lines["cod_amount"])
    lines["fee_minor"] = minor(lines["cod_fee"])
    ships["remitted"] = ships["cod_status"].isin(["remitted", "paid_out"])
    m = lines.merge(ships, on="tracking_number", how="left", suffixes=("", "_s"), indicator=True)
    known = m["_merge"] == "both"
    first = ~m[known].duplicated("tracking_number")
    m["first"] = False
    m.loc[first.index, "first"] = first
    diff = m["amount_minor"] - m["cod_minor"].fillna(0).astype("int64")
    allowed = (m["amount_minor"].clip(lower=0) * FEE_BP + 5000) // 10000
    m["class"] = "matched"
    m.loc[known & (diff < 0), "class"] = "short_paid"
    m.loc[known & (diff > 0), "class"] = "over_paid"
    m.loc[known & (diff == 0) & (m["fee_minor"] > allowed), "class"] = "fee_above_contract"
    m.loc[known & (m["currency"] != m["currency_s"]), "class"] = "currency_mismatch"
    m.loc[known & (m["remitted"].fillna(False).astype(bool) | ~m["first"]), "class"] = "duplicate"
    m.loc[~known, "class"] = "unknown_reference"
    paid = set(m.loc[known & m["class"].isin(["matched", "short_paid", "over_paid", "fee_above_contract"]),
                     "tracking_number"])
    delivered = pd.to_datetime(ships["delivered_at"], utc=True, errors="coerce").dt.normalize()
    due = delivered + pd.Timedelta(days=CYCLE_DAYS + GRACE_DAYS)
    missing = (~ships["tracking_number"].isin(paid)) & (~ships["remitted"]) & (due < as_of.normalize())
    counts = m["class"].value_counts().sort_index()
    elapsed = time.perf_counter() - started
    for cls, n in counts.items():
        print(f"  {cls:<20} {n:>9} lines")
    print(f"  missing past their cycle: {int(missing.sum())}")
    print(f"pandas: {len(lines)} lines in {elapsed:.2f} s, "
          f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
