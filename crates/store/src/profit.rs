//! The money facts behind an order's profit: its live shipment's fate, what remittances and invoices said
//! about it, and what payouts gained or lost in exchange on the remittances that paid it.

use std::collections::HashMap;

use codflow_domain::money::{Currency, Money};
use codflow_domain::{OrderId, ShipmentId};
use sqlx::{AnyConnection, Row};
use time::{Date, OffsetDateTime};

use crate::Result;
use crate::db::from_micros;

/// Line classes whose cash a remittance actually paid.
const PAID: &str = "('matched', 'short_paid', 'over_paid', 'fee_above_contract')";
/// Invoice line classes that bill a parcel of ours in its currency (a disputed overcharge is owed until
/// the carrier credits it).
const BILLED: &str = "('matched', 'overcharged', 'undercharged', 'unquoted')";

/// What one remittance reference paid for a shipment, in one currency.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Remitted {
    pub reference: Option<String>,
    pub amount: Money,
    pub fee: Money,
    pub freight: Money,
    pub other: Money,
    pub net: Money,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShipmentMoney {
    pub order_id: OrderId,
    pub shipment: ShipmentId,
    pub weight_g: i64,
    /// The tracking status (`delivered`, `returned`, …); None before tracking started.
    pub status: Option<String>,
    pub delivered_at: Option<OffsetDateTime>,
    pub remitted: Vec<Remitted>,
    /// Freight billed on invoices, per currency.
    pub invoiced: Vec<Money>,
    /// Goods written off on its return (missing, thrown away, or never back), at cost, per currency.
    pub written_off: Vec<Money>,
    /// What carriers agreed to pay on its claims, per currency.
    pub recovered: Vec<Money>,
}

/// The live shipment of each order, with what statements said about it.
pub async fn shipment_money(conn: &mut AnyConnection, orders: &[&OrderId]) -> Result<Vec<ShipmentMoney>> {
    let mut out: Vec<ShipmentMoney> = Vec::with_capacity(orders.len());
    for chunk in crate::db::pow2_chunks(orders, 512) {
        let sql = format!(
            "SELECT s.id, s.order_id, s.weight_g, t.status, t.delivered_at FROM shipments s \
             LEFT JOIN tracking t ON t.shipment_id = s.id \
             WHERE s.status <> 'cancelled' AND s.order_id IN ({})",
            crate::params(conn, 0, chunk.len())
        );
        let mut q = sqlx::query(&sql);
        for o in chunk {
            q = q.bind(o.as_str());
        }
        for r in q.fetch_all(&mut *conn).await? {
            out.push(ShipmentMoney {
                order_id: OrderId::parse(r.try_get::<&str, _>("order_id")?)?,
                shipment: ShipmentId::parse(r.try_get::<&str, _>("id")?)?,
                weight_g: r.try_get("weight_g")?,
                status: r.try_get("status")?,
                delivered_at: r.try_get::<Option<i64>, _>("delivered_at")?.map(from_micros),
                remitted: Vec::new(),
                invoiced: Vec::new(),
                written_off: Vec::new(),
                recovered: Vec::new(),
            });
        }
    }
    let index: HashMap<String, usize> = out.iter().enumerate().map(|(i, s)| (s.shipment.to_string(), i)).collect();
    let ids: Vec<String> = index.keys().cloned().collect();
    for chunk in crate::db::pow2_chunks(&ids, 512) {
        let sql = format!(
            "SELECT l.shipment_id, s.kind, l.reference, l.currency, CAST(SUM(l.amount_minor) AS BIGINT) AS amount, \
             CAST(SUM(l.fee_minor) AS BIGINT) AS fee, CAST(SUM(l.freight_minor) AS BIGINT) AS freight, \
             CAST(SUM(l.other_minor) AS BIGINT) AS other, CAST(SUM(l.net_minor) AS BIGINT) AS net \
             FROM statement_lines l JOIN statements s ON s.id = l.statement_id \
             WHERE l.shipment_id IN ({}) AND ((s.kind = 'cod_remittance' AND l.class IN {PAID}) \
               OR (s.kind = 'freight_invoice' AND l.class IN {BILLED})) \
             GROUP BY l.shipment_id, s.kind, l.reference, l.currency",
            crate::params(conn, 0, chunk.len())
        );
        let mut q = sqlx::query(&sql);
        for id in chunk {
            q = q.bind(id.as_str());
        }
        for r in q.fetch_all(&mut *conn).await? {
            let Some(&i) = index.get(r.try_get::<&str, _>("shipment_id")?) else { continue };
            let c = Currency::parse(r.try_get("currency")?)?;
            let m = |col: &str| -> Result<Money> { Ok(Money::new(r.try_get(col)?, c)) };
            if r.try_get::<&str, _>("kind")? == "freight_invoice" {
                // The invoice's billed total is the line's amount (profiles map the charge to `amount`).
                out[i].invoiced.push(m("amount")?);
            } else {
                out[i].remitted.push(Remitted {
                    reference: r.try_get("reference")?,
                    amount: m("amount")?,
                    fee: m("fee")?,
                    freight: m("freight")?,
                    other: m("other")?,
                    net: m("net")?,
                });
            }
        }
    }
    for chunk in crate::db::pow2_chunks(&ids, 512) {
        let sql = format!(
            "SELECT shipment_id, account, currency, CAST(SUM(amount_minor) AS BIGINT) AS amount FROM ledger_postings \
             WHERE account IN ('goods_written_off', 'claim_recoveries') AND shipment_id IN ({}) \
             GROUP BY shipment_id, account, currency",
            crate::params(conn, 0, chunk.len())
        );
        let mut q = sqlx::query(&sql);
        for id in chunk {
            q = q.bind(id.as_str());
        }
        for r in q.fetch_all(&mut *conn).await? {
            let Some(&i) = index.get(r.try_get::<&str, _>("shipment_id")?) else { continue };
            let m = Money::new(r.try_get("amount")?, Currency::parse(r.try_get("currency")?)?);
            if r.try_get::<&str, _>("account")? == "goods_written_off" {
                out[i].written_off.push(m);
            } else {
                // Recoveries are credits: what was recovered is their negation.
                out[i].recovered.push(Money::new(-m.minor, m.currency));
            }
        }
    }
    Ok(out)
}

/// What the payouts of one remittance reference (in one currency) gained in exchange and paid the
/// platform, in the currency they settled in, with what the reference remitted in all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PayoutShare {
    pub fx_gain: Money,
    pub platform_fee: Money,
    pub remitted_net: i64,
}

/// Payout results per (remittance reference, remitted currency).
pub async fn payout_shares(conn: &mut AnyConnection) -> Result<HashMap<(String, Currency), Vec<PayoutShare>>> {
    let rows = sqlx::query(&format!(
        "SELECT p.reference, p.currency, f.account, f.currency AS settled_currency, \
                CAST(SUM(f.amount_minor) AS BIGINT) AS amount, \
                (SELECT CAST(SUM(r.net_minor) AS BIGINT) FROM statement_lines r JOIN statements rs ON rs.id = r.statement_id \
                  WHERE rs.kind = 'cod_remittance' AND r.class IN {PAID} AND r.reference = p.reference \
                    AND r.currency = p.currency) AS remitted \
           FROM ledger_postings f \
           JOIN statement_lines p ON p.statement_id = f.statement_id \
                AND f.entry_key = 'pay:' || p.statement_id || ':' || CAST(p.line AS TEXT) \
          WHERE f.kind = 'paid_out' AND f.account IN ('fx_gain_loss', 'platform_fees') AND p.reference IS NOT NULL \
          GROUP BY p.reference, p.currency, f.account, f.currency"
    ))
    .fetch_all(&mut *conn)
    .await?;
    let mut out: HashMap<(String, Currency), Vec<PayoutShare>> = HashMap::new();
    for r in rows {
        let key = (r.try_get::<String, _>("reference")?, Currency::parse(r.try_get("currency")?)?);
        let settled = Currency::parse(r.try_get("settled_currency")?)?;
        let amount: i64 = r.try_get("amount")?;
        let remitted_net: i64 = r.try_get::<Option<i64>, _>("remitted")?.unwrap_or(0);
        let share = match r.try_get::<&str, _>("account")? {
            // A gain is credited to the account: its balance is the gain with the sign turned.
            "fx_gain_loss" => {
                PayoutShare { fx_gain: Money::new(-amount, settled), platform_fee: Money::zero(key.1), remitted_net }
            }
            _ => PayoutShare { fx_gain: Money::zero(settled), platform_fee: Money::new(amount, settled), remitted_net },
        };
        out.entry(key).or_default().push(share);
    }
    Ok(out)
}

/// COD on parcels still on their way (not delivered, not coming back), per currency, channel, country and
/// day booked: (currency, channel, country, booked day, amount).
pub async fn cod_in_transit(conn: &mut AnyConnection) -> Result<Vec<(Currency, String, String, Date, i64)>> {
    // From the sums the tracking triggers keep (migration 0017), with the deltas not yet folded in.
    let rows = sqlx::query(
        "SELECT currency AS cod_currency, channel AS lane_channel, country AS lane_country, bucket AS day, \
                CAST(SUM(amount) AS BIGINT) AS amount \
           FROM (SELECT currency, channel, country, bucket, parcels, amount FROM cod_open WHERE kind = 'travelling' \
                 UNION ALL \
                 SELECT currency, channel, country, bucket, parcels, amount FROM cod_open_delta WHERE kind = 'travelling') u \
          GROUP BY currency, channel, country, bucket \
         HAVING SUM(parcels) <> 0",
    )
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                Currency::parse(r.try_get("cod_currency")?)?,
                r.try_get("lane_channel")?,
                r.try_get("lane_country")?,
                epoch_day(r.try_get("day")?)?,
                r.try_get("amount")?,
            ))
        })
        .collect()
}

fn epoch_day(day: i64) -> Result<Date> {
    Ok((OffsetDateTime::UNIX_EPOCH + time::Duration::days(day)).date())
}

/// Freight invoices not marked paid: (statement, carrier, imported day, currency, amount billed).
pub async fn unpaid_invoices(conn: &mut AnyConnection) -> Result<Vec<(String, String, Date, Currency, i64)>> {
    let rows = sqlx::query(&format!(
        "SELECT s.id, COALESCE(s.carrier, '') AS carrier, s.as_of, l.currency, CAST(SUM(l.amount_minor) AS BIGINT) AS amount \
           FROM statements s JOIN statement_lines l ON l.statement_id = s.id \
          WHERE s.kind = 'freight_invoice' AND s.paid_on IS NULL AND l.class IN {BILLED} \
          GROUP BY s.id, s.carrier, s.as_of, l.currency"
    ))
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("id")?,
                r.try_get("carrier")?,
                from_micros(r.try_get("as_of")?).date(),
                Currency::parse(r.try_get("currency")?)?,
                r.try_get("amount")?,
            ))
        })
        .collect()
}

/// Records the day a freight invoice was paid, or clears it; false when there is no such invoice.
pub async fn set_invoice_paid(conn: &mut AnyConnection, id: &str, paid_on: Option<Date>) -> Result<bool> {
    let r = sqlx::query("UPDATE statements SET paid_on = $1 WHERE id = $2 AND kind = 'freight_invoice'")
        .bind(paid_on.map(|d| d.to_string()))
        .bind(id)
        .execute(conn)
        .await?;
    Ok(r.rows_affected() == 1)
}
