//! The cash-flow forecast and the freight payables it counts.

use codflow_domain::finance::aging::{self, AgingRow};
use codflow_domain::finance::forecast::{self, Forecast, InTransit, Payable, Receivable};
use codflow_domain::rating::LaneStats;
use codflow_domain::{Actor, AuditRecord, StatementId};
use codflow_store::profit as pstore;
use codflow_store::{commit, finance as fstore, orders};
use time::{Date, Duration};

use crate::{Error, Finance, Result};

/// Days from booking to delivery assumed on a lane with no delivery yet.
const DEFAULT_TRANSIT_DAYS: i64 = 7;

impl Finance {
    /// Inflows from delivered-not-remitted COD (one settlement cycle after delivery) and in-transit COD
    /// (× the lane's P(delivered), a transit and a cycle later), outflows for freight invoices due
    /// `payment_terms_days` after they arrived, over `weeks` weeks from today.
    pub async fn cash_forecast(&self, weeks: u32, payment_terms_days: i64) -> Result<Forecast> {
        Ok(self.cash_position(weeks, payment_terms_days).await?.1)
    }

    /// The receivables' aging and the forecast together, from one read of the open receivables; the COD in
    /// transit and the payables are read at the same time on a second connection.
    pub async fn cash_position(&self, weeks: u32, payment_terms_days: i64) -> Result<(Vec<AgingRow>, Forecast)> {
        if !(1..=104).contains(&weeks) {
            return Err(Error::invalid("weeks", "must be 1 to 104"));
        }
        if !(0..=365).contains(&payment_terms_days) {
            return Err(Error::invalid("payment_terms_days", "must be 0 to 365"));
        }
        let now = self.clock().now();
        let today = now.date();
        let prior = self.fulfilment.logistics_settings().await?.delivery_prior_ppm();
        let owed = async {
            let mut conn = self.store.read().await?;
            let cycles = crate::finance::settlement_cycles(&mut conn).await?;
            let open = fstore::open_receivables(&mut conn, now, None).await?;
            Ok::<_, Error>((cycles, open))
        };
        let flowing = async {
            let mut conn = self.store.read().await?;
            // Each lane's record so far, from the dashboards' sums rather than a pass over every parcel.
            let history = codflow_store::kpi::sums(
                &mut conn,
                &Default::default(),
                &[codflow_domain::kpi::Dim::Channel, codflow_domain::kpi::Dim::Country],
                false,
            )
            .await?
            .into_iter()
            .map(|(k, m)| ((k[0].clone(), k[1].clone()), m))
            .collect::<std::collections::HashMap<(String, String), codflow_domain::kpi::Metrics>>();
            let travelling = pstore::cod_in_transit(&mut conn).await?;
            let unpaid = pstore::unpaid_invoices(&mut conn).await?;
            Ok::<_, Error>((history, travelling, unpaid))
        };
        let ((cycles, open), (history, travelling, unpaid)) = tokio::try_join!(owed, flowing)?;
        let cycle = |ch: &str| cycles.get(ch).copied().unwrap_or(aging::DEFAULT_CYCLE_DAYS);
        let receivables: Vec<Receivable> = open
            .iter()
            .map(|o| Receivable {
                currency: o.currency,
                delivered_on: today - Duration::days(o.days),
                cycle_days: cycle(&o.channel),
                amount_minor: o.amount_minor,
            })
            .collect();
        let in_transit: Vec<InTransit> = travelling
            .into_iter()
            .map(|(currency, channel, country, booked_on, amount_minor)| {
                let h = history.get(&(channel.clone(), country)).copied().unwrap_or_default();
                let failed = h.refused() + h.lost();
                let stats = LaneStats { delivered: h.delivered().max(0) as u64, failed: failed.max(0) as u64 };
                InTransit {
                    currency,
                    booked_on,
                    transit_days: h.mean_transit_days_x10().map(|d| (d + 5) / 10).unwrap_or(DEFAULT_TRANSIT_DAYS),
                    cycle_days: cycle(&channel),
                    p_delivered_ppm: stats.p_delivered_ppm(prior),
                    amount_minor,
                }
            })
            .collect();
        let payables: Vec<Payable> = unpaid
            .into_iter()
            .map(|(_, _, received, currency, amount_minor)| Payable {
                currency,
                due_on: received + Duration::days(payment_terms_days),
                amount_minor,
            })
            .collect();
        let aged = aging::age(&open, |c| cycles.get(c).copied());
        Ok((aged, forecast::forecast(today, weeks, &receivables, &in_transit, &payables)))
    }

    /// Marks a freight invoice paid on `paid_on`, or unpaid again with None; audited.
    pub async fn set_invoice_paid(&self, id: &StatementId, paid_on: Option<Date>, actor: Actor) -> Result<()> {
        let now = self.clock().now();
        let mut tx = self.store.begin().await?;
        if !pstore::set_invoice_paid(&mut tx, id.as_str(), paid_on).await? {
            return Err(Error::NotFound("freight invoice"));
        }
        let a = AuditRecord::change(
            "statement",
            id.to_string(),
            if paid_on.is_some() { "paid" } else { "unpaid" },
            None,
            paid_on.map(|d| d.to_string()),
            actor,
            now,
        );
        orders::insert_audit(&mut tx, &[a]).await?;
        commit(tx).await?;
        Ok(())
    }
}
