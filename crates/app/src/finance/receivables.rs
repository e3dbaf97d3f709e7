//! What carriers still owe: receivables aged, and the orders behind them.

use super::*;

impl Finance {
    /// Delivered cash not yet remitted, by carrier and currency, in age buckets, with what is past each
    /// channel's settlement cycle.
    pub async fn receivables_aging(&self) -> Result<Vec<AgingRow>> {
        let mut conn = self.store.read().await?;
        let cycles = settlement_cycles(&mut conn).await?;
        let open = fstore::open_receivables(&mut conn, self.clock().now(), None).await?;
        Ok(aging::age(&open, |c| cycles.get(c).copied()))
    }

    /// The orders behind an aging row: `carrier`'s delivered COD parcels in `currency` whose cash is still
    /// owed, or with `past_cycle` only those aging counts overdue; newest first, a page at a time.
    pub async fn owed_orders(
        &self,
        carrier: &str,
        currency: Currency,
        past_cycle: bool,
        cursor: Option<&str>,
        limit: i64,
    ) -> Result<(Vec<codflow_domain::Order>, Option<String>)> {
        let before = cursor.map(OrderId::parse).transpose().map_err(|_| Error::invalid("cursor", "not a cursor"))?;
        let mut conn = self.store.read().await?;
        let cycles = if past_cycle { Some(settlement_cycles(&mut conn).await?) } else { None };
        let cycles = cycles.as_ref().map(|c| (c, aging::DEFAULT_CYCLE_DAYS));
        let now = self.clock().now();
        let ids = fstore::owed_orders(&mut conn, carrier, currency, now, cycles, before.as_ref(), limit + 1).await?;
        let mut orders = orders::get_many(&mut conn, &ids).await?;
        orders.sort_by(|a, b| b.id.cmp(&a.id));
        Ok(crate::split_page(orders, limit, |o| o.id.to_string()))
    }

    /// What is past its channel's settlement cycle, by carrier and currency (`overdue` of each row; the
    /// buckets count only parcels older than the shortest cycle). Reads the old slice of the receivables
    /// alone, so it stays cheap however much recent cash is owed.
    pub async fn overdue_receivables(&self) -> Result<Vec<AgingRow>> {
        let mut conn = self.store.read().await?;
        let cycles = settlement_cycles(&mut conn).await?;
        let shortest =
            cycles.values().copied().min().unwrap_or(aging::DEFAULT_CYCLE_DAYS).min(aging::DEFAULT_CYCLE_DAYS);
        let open = fstore::open_receivables(&mut conn, self.clock().now(), Some(shortest.max(0) + 1)).await?;
        let mut rows = aging::age(&open, |c| cycles.get(c).copied());
        rows.retain(|r| r.overdue.parcels > 0);
        Ok(rows)
    }
}
