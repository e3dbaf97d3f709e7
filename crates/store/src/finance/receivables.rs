//! Open COD kept as sums with the data (migration 0017): what carriers owe, aged, and the orders behind it.

use std::fmt::Write as _;

use super::*;

const HOUR_US: i64 = 3_600_000_000;
const DAY_US: i64 = 86_400_000_000;

/// Delivered COD parcels whose cash is still due, grouped by carrier, currency, channel and whole days since
/// delivery as of `now` (only those at least `at_least_days` old when given). Read from the sums kept by
/// hour of delivery (migration 0017), except the hours at now's time of day, whose parcels straddle a day
/// boundary and are read one by one through their index.
pub async fn open_receivables(
    conn: &mut AnyConnection,
    now: OffsetDateTime,
    at_least_days: Option<i64>,
) -> Result<Vec<Open>> {
    let now_us = micros(now);
    let before = at_least_days.map(|d| now_us - d * DAY_US).unwrap_or(i64::MAX);
    let hour_of_day = (now_us / HOUR_US) % 24;
    let mut open: std::collections::BTreeMap<(String, String, String, i64), (i64, i64)> = Default::default();
    let hours = sqlx::query(
        "SELECT carrier, currency, channel, bucket, CAST(SUM(parcels) AS BIGINT) AS parcels, \
                CAST(SUM(amount) AS BIGINT) AS amount \
           FROM (SELECT carrier, currency, channel, bucket, parcels, amount FROM cod_open WHERE kind = 'owed' \
                 UNION ALL \
                 SELECT carrier, currency, channel, bucket, parcels, amount FROM cod_open_delta WHERE kind = 'owed') u \
          WHERE bucket % 24 <> $1 AND bucket <= $2 \
          GROUP BY carrier, currency, channel, bucket",
    )
    .bind(hour_of_day)
    .bind(before.div_euclid(HOUR_US))
    .fetch_all(&mut *conn)
    .await?;
    for r in &hours {
        // Every parcel of an hour at another time of day than now is the same whole number of days old.
        let days = (now_us - r.try_get::<i64, _>("bucket")? * HOUR_US) / DAY_US;
        if at_least_days.is_some_and(|d| days < d) {
            continue;
        }
        let key = (r.try_get("carrier")?, r.try_get("currency")?, r.try_get("channel")?, days);
        let e = open.entry(key).or_default();
        e.0 += r.try_get::<i64, _>("parcels")?;
        e.1 += r.try_get::<i64, _>("amount")?;
    }
    let straddling = sqlx::query(
        "SELECT carrier, cod_currency AS currency, lane_channel AS channel, \
                (CAST($1 AS BIGINT) - delivered_at) / 86400000000 AS days, \
                COUNT(*) AS parcels, CAST(SUM(cod_minor) AS BIGINT) AS amount FROM tracking \
          WHERE cod_status IN ('expected', 'collected') AND delivered_at IS NOT NULL AND cod_minor > 0 \
            AND ((delivered_at / 3600000000) % 24) = $2 AND delivered_at <= $3 \
          GROUP BY carrier, cod_currency, lane_channel, (CAST($1 AS BIGINT) - delivered_at) / 86400000000",
    )
    .bind(now_us)
    .bind(hour_of_day)
    .bind(before)
    .fetch_all(&mut *conn)
    .await?;
    // A parcel paid short is owed what was not paid, as the ledger's receivable has it.
    let short = sqlx::query(
        "SELECT t.carrier, t.cod_currency AS currency, t.lane_channel AS channel, \
                (CAST($1 AS BIGINT) - t.delivered_at) / 86400000000 AS days, CAST(1 AS BIGINT) AS parcels, \
                t.cod_minor - CAST(COALESCE(SUM(l.amount_minor), 0) AS BIGINT) AS amount \
           FROM tracking t LEFT JOIN statement_lines l ON l.shipment_id = t.shipment_id \
                AND l.currency = t.cod_currency AND l.class IN ('matched', 'short_paid', 'over_paid', 'fee_above_contract') \
          WHERE t.cod_status = 'short_paid' AND t.delivered_at IS NOT NULL AND t.delivered_at <= $2 \
          GROUP BY t.shipment_id, t.carrier, t.cod_currency, t.lane_channel, t.delivered_at, t.cod_minor",
    )
    .bind(now_us)
    .bind(before)
    .fetch_all(&mut *conn)
    .await?;
    for r in straddling.iter().chain(&short) {
        let key = (r.try_get("carrier")?, r.try_get("currency")?, r.try_get("channel")?, r.try_get("days")?);
        let amount = r.try_get::<i64, _>("amount")?;
        if amount <= 0 {
            continue;
        }
        let e = open.entry(key).or_default();
        e.0 += r.try_get::<i64, _>("parcels")?;
        e.1 += amount;
    }
    open.into_iter()
        .filter(|(_, (parcels, _))| *parcels != 0)
        .map(|((carrier, currency, channel, days), (parcels, amount_minor))| {
            Ok(Open { carrier, currency: Currency::parse(&currency)?, channel, days, parcels, amount_minor })
        })
        .collect()
}

/// The orders of `carrier`'s delivered COD parcels in `currency` whose cash is still owed (a short payment's
/// rest included), newest first before `before`; with `cycles`, only those past their channel's settlement
/// cycle (whole days since delivery above the cycle, `default_cycle` for channels not listed), as aging
/// counts them overdue.
#[allow(clippy::too_many_arguments)]
pub async fn owed_orders(
    conn: &mut AnyConnection,
    carrier: &str,
    currency: Currency,
    now: OffsetDateTime,
    cycles: Option<(&HashMap<String, i64>, i64)>,
    before: Option<&OrderId>,
    limit: i64,
) -> Result<Vec<OrderId>> {
    let mut vals: Vec<Val> = vec![carrier.into(), currency.code().into()];
    let mut sql = format!(
        "SELECT DISTINCT order_id FROM tracking WHERE carrier = {} AND cod_currency = {} \
           AND cod_status IN ('expected', 'collected', 'short_paid') AND delivered_at IS NOT NULL AND cod_minor > 0",
        crate::db::param(conn, 1),
        crate::db::param(conn, 2)
    );
    if let Some((cycles, default_cycle)) = cycles {
        vals.push(micros(now).into());
        let now_at = crate::db::param(conn, vals.len());
        let mut case = String::from("CASE");
        for (channel, days) in cycles {
            vals.push(channel.as_str().into());
            let c = crate::db::param(conn, vals.len());
            vals.push((*days).into());
            let _ = write!(case, " WHEN lane_channel = {c} THEN {}", crate::db::param(conn, vals.len()));
        }
        vals.push(default_cycle.into());
        let _ = write!(case, " ELSE {} END", crate::db::param(conn, vals.len()));
        sql.push_str(&format!(" AND delivered_at <= {now_at} - ({case} + 1) * {DAY_US}"));
    }
    if let Some(b) = before {
        vals.push(b.as_str().into());
        sql.push_str(&format!(" AND order_id < {}", crate::db::param(conn, vals.len())));
    }
    vals.push(limit.max(1).into());
    sql.push_str(&format!(" ORDER BY order_id DESC LIMIT {}", crate::db::param(conn, vals.len())));
    let rows = crate::kpi::bind(sqlx::query(&sql), vals).fetch_all(&mut *conn).await?;
    rows.iter().map(|r| Ok(OrderId::parse(&r.try_get::<String, _>(0)?)?)).collect()
}

/// Whether the tracking triggers have appended open-COD deltas not yet folded (a read, so an idle refresher
/// need not take the writer).
pub async fn cod_deltas_waiting(conn: &mut AnyConnection) -> Result<bool> {
    Ok(sqlx::query("SELECT 1 FROM cod_open_delta LIMIT 1").fetch_optional(conn).await?.is_some())
}

/// Folds the open-COD deltas the tracking triggers appended into the sums; returns 0 when there were none
/// (otherwise the deltas folded on SQLite, the sum rows moved on PostgreSQL).
/// One folder at a time (an advisory lock on PostgreSQL; SQLite has one writer).
pub async fn fold_cod_open(conn: &mut AnyConnection) -> Result<u64> {
    const COLUMNS: &str = "kind, carrier, currency, channel, country, bucket";
    let upsert = format!(
        "INSERT INTO cod_open ({COLUMNS}, parcels, amount) \
         SELECT {COLUMNS}, CAST(SUM(parcels) AS BIGINT), CAST(SUM(amount) AS BIGINT) FROM {{source}} GROUP BY {COLUMNS} \
         ON CONFLICT ({COLUMNS}) DO UPDATE SET parcels = cod_open.parcels + excluded.parcels, \
                                             amount = cod_open.amount + excluded.amount"
    );
    let folded = if crate::db::Engine::of(conn) == crate::db::Engine::Sqlite {
        sqlx::query(&upsert.replace("{source}", "cod_open_delta")).execute(&mut *conn).await?;
        sqlx::query("DELETE FROM cod_open_delta").execute(&mut *conn).await?.rows_affected()
    } else {
        // PostgreSQL only: one fold at a time across nodes.
        sqlx::query("SELECT pg_advisory_xact_lock(73017)").execute(&mut *conn).await?;
        // The rows deleted are exactly the rows summed: a delta committed meanwhile waits for the next fold.
        let sql =
            format!("WITH moved AS (DELETE FROM cod_open_delta RETURNING *) {}", upsert.replace("{source}", "moved"));
        sqlx::query(&sql).execute(&mut *conn).await?.rows_affected()
    };
    if folded > 0 {
        sqlx::query("DELETE FROM cod_open WHERE parcels = 0 AND amount = 0").execute(&mut *conn).await?;
    }
    Ok(folded)
}
