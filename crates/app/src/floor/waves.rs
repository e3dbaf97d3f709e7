//! Waves: the allocated orders of one warehouse (and channel) picked together. Single-unit orders are picked
//! as one batch (the pick list adds them up per bin); an order of several units gets a sort slot, so the
//! picker drops its units into slot N and the packer scans `W000012-N` to open it. Scanning the wave's ticket
//! at the pack station opens its next parcel not yet packed. Progress is counted from the packs.

use codflow_documents::picking::{PickingList, picking_list};
use codflow_domain::floor::{PackStatus, Wave, slots};
use codflow_domain::{Actor, ChannelCode, Order, OrderId, WarehouseCode, WaveId};
use codflow_store::{catalogue, commit, floor as fstore, orders};

use crate::documents::{Document, pick_lines};
use crate::error::ConflictKind;
use crate::{Error, Floor, Result};

/// The most orders one wave holds.
pub const MAX_WAVE: i64 = 1000;

/// A wave with its orders and how far packing has got.
#[derive(Clone, Debug)]
pub struct WaveView {
    pub wave: Wave,
    pub orders: Vec<WaveOrder>,
    pub packed: usize,
    pub held: usize,
}

#[derive(Clone, Debug)]
pub struct WaveOrder {
    pub order_id: OrderId,
    pub order_ref: String,
    pub slot: Option<i64>,
    pub units: i64,
    pub pack: Option<PackStatus>,
}

impl Floor {
    /// Puts the warehouse's allocated orders not yet in a wave nor packed (of one channel when given, of the
    /// carriers whose daily pickup is at or before `cutoff` (`HH:MM`, from the floor rules) when given), oldest
    /// first and at most `limit`, into a new wave.
    pub async fn create_wave(
        &self,
        warehouse: &WarehouseCode,
        channel: Option<&ChannelCode>,
        cutoff: Option<&str>,
        limit: i64,
        actor: Actor,
    ) -> Result<WaveView> {
        if !(1..=MAX_WAVE).contains(&limit) {
            return Err(Error::invalid("limit", format!("a wave holds 1 to {MAX_WAVE} orders")));
        }
        let by = cutoff
            .map(|c| codflow_domain::floor::time_of_day(c).map_err(|e| Error::invalid("cutoff", e.to_string())))
            .transpose()?;
        let mut channels: Vec<ChannelCode> = channel.into_iter().cloned().collect();
        if let Some(minutes) = by {
            let rules = super::rules(&mut *self.store.read().await?).await?;
            let carriers = rules.carriers_cut_off_by(minutes);
            let all = self.fulfilment.channels().await?;
            channels = all
                .into_iter()
                .filter(|c| carriers.contains(&c.carrier.as_str()) && channel.is_none_or(|only| *only == c.code))
                .map(|c| c.code)
                .collect();
            if channels.is_empty() {
                return Err(Error::Conflict {
                    kind: ConflictKind::NothingToPick,
                    message: format!(
                        "no channel's carrier is picked up by {}: set carrier_cutoffs in the floor rules",
                        cutoff.unwrap_or_default()
                    ),
                });
            }
        }
        let now = self.clock().now();
        let mut tx = self.store.begin().await?;
        let w = catalogue::warehouse_by_code(&mut tx, warehouse).await?.ok_or(Error::NotFound("warehouse"))?;
        let ids = fstore::wave_candidates(&mut tx, &w.id, &channels, limit).await?;
        if ids.is_empty() {
            return Err(Error::Conflict {
                kind: ConflictKind::NothingToPick,
                message: format!(
                    "no allocated order in {warehouse}{}{} waits for a wave",
                    channel.map(|c| format!(" on {c}")).unwrap_or_default(),
                    cutoff.map(|c| format!(" for the pickups by {c}")).unwrap_or_default()
                ),
            });
        }
        let found = orders::get_many(&mut tx, &ids).await?;
        let units: Vec<i64> = ids
            .iter()
            .map(|id| found.iter().find(|o| o.id == *id).map_or(0, |o| o.lines.iter().map(|l| l.quantity).sum()))
            .collect();
        // Single units first (one batch, walked once), then the sorted orders by slot.
        let mut ordered: Vec<(OrderId, i64)> = ids.into_iter().zip(units).collect();
        ordered.sort_by_key(|(_, u)| *u > 1);
        let slotted: Vec<(OrderId, Option<i64>)> = {
            let units: Vec<i64> = ordered.iter().map(|(_, u)| *u).collect();
            ordered.into_iter().map(|(id, _)| id).zip(slots(&units)).collect()
        };
        let wave = Wave {
            id: WaveId::generate(),
            code: fstore::next_wave_code(&mut tx).await?,
            warehouse: warehouse.clone(),
            channel: channel.cloned(),
            created_by: actor.to_stored(),
            created_at: now,
        };
        if !fstore::insert_wave(&mut tx, &wave, &slotted).await? {
            codflow_store::rollback(tx).await?;
            return Err(Error::Conflict {
                kind: ConflictKind::Busy,
                message: "another wave took some of these orders meanwhile; create it again".into(),
            });
        }
        let mut audits = Vec::with_capacity(slotted.len());
        for (id, slot) in &slotted {
            let mut a =
                codflow_domain::AuditRecord::change("order", id.to_string(), "wave", None, None, actor.clone(), now);
            a.reason = Some(match slot {
                Some(s) => format!("in wave {}, sort slot {s}", wave.code),
                None => format!("in wave {} (single-unit batch)", wave.code),
            });
            audits.push(a);
        }
        orders::insert_audit(&mut tx, &audits).await?;
        commit(tx).await?;
        self.wave(&wave.id).await
    }

    pub async fn waves(&self, limit: i64) -> Result<Vec<WaveView>> {
        let list = fstore::waves(&mut *self.store.read().await?, limit.clamp(1, 200)).await?;
        let mut out = Vec::with_capacity(list.len());
        for w in list {
            out.push(self.wave(&w.id).await?);
        }
        Ok(out)
    }

    pub async fn wave(&self, id: &WaveId) -> Result<WaveView> {
        let mut conn = self.store.read().await?;
        let wave = fstore::wave(&mut conn, id).await?.ok_or(Error::NotFound("wave"))?;
        let rows = fstore::wave_orders(&mut conn, id).await?;
        let ids: Vec<OrderId> = rows.iter().map(|r| r.0.clone()).collect();
        let found = orders::get_many(&mut conn, &ids).await?;
        let orders: Vec<WaveOrder> = rows
            .into_iter()
            .map(|(order_id, slot, pack)| {
                let o = found.iter().find(|o| o.id == order_id);
                WaveOrder {
                    order_ref: o.map_or_else(String::new, |o| o.external_id.clone()),
                    units: o.map_or(0, |o| o.lines.iter().map(|l| l.quantity).sum()),
                    order_id,
                    slot,
                    pack,
                }
            })
            .collect();
        let packed = orders.iter().filter(|o| o.pack == Some(PackStatus::Packed)).count();
        let held = orders.iter().filter(|o| o.pack == Some(PackStatus::Intercepted)).count();
        Ok(WaveView { wave, orders, packed, held })
    }

    /// The wave's pick list (PDF): lines by bin then SKU; single units added up, sorted orders named by slot.
    pub async fn wave_pick_list(&self, id: &WaveId) -> Result<Document> {
        let view = self.wave(id).await?;
        let mut conn = self.store.read().await?;
        let w =
            catalogue::warehouse_by_code(&mut conn, &view.wave.warehouse).await?.ok_or(Error::NotFound("warehouse"))?;
        let ids: Vec<OrderId> = view.orders.iter().map(|o| o.order_id.clone()).collect();
        let found: Vec<Order> = orders::get_many(&mut conn, &ids).await?;
        let labelled: Vec<(&Order, String)> = view
            .orders
            .iter()
            .filter_map(|wo| {
                let o = found.iter().find(|o| o.id == wo.order_id)?;
                Some((o, wo.slot.map_or_else(|| "batch".to_owned(), |s| format!("slot {s}: {}", o.external_id))))
            })
            .collect();
        let lines = pick_lines(&mut conn, &w.id, &labelled).await?;
        let list = PickingList {
            reference: view.wave.code.clone(),
            date: self.clock().now().date().to_string(),
            warehouse: w.code.to_string(),
            orders: view.orders.len(),
            lines,
        };
        Ok(Document {
            content_type: "application/pdf",
            filename: format!("{}-pick-list.pdf", view.wave.code),
            bytes: picking_list(&list),
        })
    }

    /// The order a wave ticket names: its slot's, or the wave's next parcel not yet packed. None when the
    /// wave has none left (or no such slot).
    pub(crate) async fn order_of_ticket(
        &self,
        code: &str,
        slot: Option<i64>,
    ) -> Result<Option<Result<OrderId, String>>> {
        let mut conn = self.store.read().await?;
        let Some(wave) = fstore::wave_by_code(&mut conn, code).await? else { return Ok(None) };
        let rows = fstore::wave_orders(&mut conn, &wave.id).await?;
        let found = match slot {
            Some(s) => rows.into_iter().find(|r| r.1 == Some(s)).map(|r| r.0),
            None => rows.into_iter().find(|r| r.2.is_none() || r.2 == Some(PackStatus::Open)).map(|r| r.0),
        };
        Ok(Some(found.ok_or_else(|| wave.code.clone())))
    }
}
