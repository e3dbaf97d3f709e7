//! The warehouse's day in figures, from its packs and bags: parcels per station and hour, outcomes, why parcels
//! were held, what re-rating saved, and the bags waiting for their carrier.

use std::collections::BTreeMap;

use codflow_domain::floor::{BagStatus, Outcome};

use codflow_store::floor as fstore;
use time::OffsetDateTime;

use crate::{Floor, Result};

/// The most packs one view counts (a busy warehouse's several days).
const MAX_PACKS: i64 = 200_000;

#[derive(Clone, Debug, Default)]
pub struct FloorStats {
    /// (station, hour of day in UTC) → parcels weighed.
    pub per_station_hour: BTreeMap<(String, u8), i64>,
    pub per_station: BTreeMap<String, i64>,
    pub outcomes: BTreeMap<&'static str, i64>,
    /// Why parcels were held: heavier, lighter, no_channel, rebook_failed.
    pub held_by_cause: BTreeMap<String, i64>,
    /// Base-currency minor units: what the moved parcels would have cost on their booked channel at the
    /// measured weight, less what they cost on the channel they moved to (only where both were quoted).
    pub rerate_savings_minor: i64,
    pub moved: i64,
    pub bags_open: i64,
    pub bags_awaiting_pickup: i64,
    pub parcels_awaiting_pickup: i64,
}

impl Floor {
    pub async fn stats(&self, from: OffsetDateTime, to: OffsetDateTime) -> Result<FloorStats> {
        let mut conn = self.store.read().await?;
        let packs = fstore::packs_between(&mut conn, from, to, MAX_PACKS).await?;
        let open = fstore::bags(&mut conn, Some(BagStatus::Open), None, 10_000).await?;
        let closed = fstore::bags(&mut conn, Some(BagStatus::Closed), None, 10_000).await?;
        let mut s = FloorStats::default();
        for p in &packs {
            let station = p.station.to_string();
            *s.per_station_hour.entry((station.clone(), p.updated_at.hour())).or_default() += 1;
            *s.per_station.entry(station).or_default() += 1;
            if let Some(o) = p.outcome {
                *s.outcomes.entry(o.as_str()).or_default() += 1;
            }
            let evidence: Option<serde_json::Value> = p.evidence.as_deref().and_then(|e| serde_json::from_str(e).ok());
            let Some(e) = evidence else { continue };
            // Held ones count by cause whether they are still held or were released since.
            if let Some(cause) = e["held_because"]["cause"].as_str() {
                *s.held_by_cause.entry(cause.to_owned()).or_default() += 1;
            }
            if p.outcome == Some(Outcome::Rebooked) {
                s.moved += 1;
                if let (Some(stay), Some(moved)) =
                    (e["quote_after"]["total_base_minor"].as_i64(), e["best_after"]["total_base_minor"].as_i64())
                {
                    s.rerate_savings_minor += stay - moved;
                }
            }
        }
        s.bags_open = open.len() as i64;
        let waiting: Vec<_> = closed.iter().filter(|b| b.status == BagStatus::Closed).collect();
        s.bags_awaiting_pickup = waiting.len() as i64;
        s.parcels_awaiting_pickup = waiting.iter().map(|b| b.parcels).sum();
        Ok(s)
    }
}
