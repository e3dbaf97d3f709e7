//! Packaging: each warehouse's boxes, how products pack, and the box an allocated order is recommended.

use std::sync::{Arc, Mutex};

use codflow_domain::packaging::{
    self, BoxKind, BoxType, DamageCount, DamageRates, PackLine, PackingAttrs, Pricing, Recommendation,
};
use codflow_domain::rating::{Fx, Parcel};
use codflow_domain::{Actor, AuditRecord, Money, Order, OrderId, Sku, WarehouseCode};
use codflow_store::{Conn, catalogue, commit, orders, packaging as pstore};
use time::{Duration, OffsetDateTime};

use crate::error::ConflictKind;
use crate::{Error, Fulfilment, Result};

/// How far back damage is counted, and how long a count is priced with before it is counted again (it reads
/// every parcel packed in that time).
const DAMAGE_WINDOW: Duration = Duration::days(365);
const DAMAGE_REFRESH: Duration = Duration::minutes(10);

/// The damage rates recommendations are priced with, measured and kept for [`DAMAGE_REFRESH`].
#[derive(Default)]
pub(crate) struct DamageCache(Mutex<Option<(OffsetDateTime, Arc<DamageRates>)>>);

impl DamageCache {
    fn fresh(&self, now: OffsetDateTime) -> Option<Arc<DamageRates>> {
        let held = self.0.lock().unwrap_or_else(|p| p.into_inner());
        held.as_ref().filter(|(at, _)| now - *at < DAMAGE_REFRESH).map(|(_, r)| r.clone())
    }

    /// Damage was just recorded: the next recommendation counts again.
    pub(crate) fn forget(&self) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    fn keep(&self, now: OffsetDateTime, rates: DamageRates) -> Arc<DamageRates> {
        let rates = Arc::new(rates);
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some((now, rates.clone()));
        rates
    }
}

/// One row of the damage table: what was measured for a kind of box (and a category, or all of them) and the
/// rate recommendations price with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DamageRow {
    pub kind: BoxKind,
    pub category: Option<String>,
    pub parcels: i64,
    pub damaged: i64,
    /// What the kind starts from before anything is measured.
    pub default_bp: i64,
    pub rate_bp: i64,
}

impl Fulfilment {
    async fn damage_rates(&self, conn: &mut Conn) -> Result<Arc<DamageRates>> {
        let now = self.clock().now();
        if let Some(r) = self.damage.fresh(now) {
            return Ok(r);
        }
        let counts = pstore::damage_counts(conn, now - DAMAGE_WINDOW).await?;
        Ok(self.damage.keep(now, DamageRates::learned(&counts)))
    }

    /// Damage per kind of box and per kind × product category over the last year, counted now (and priced with
    /// from now on): every kind, measured or not, then each category seen.
    pub async fn damage_table(&self) -> Result<Vec<DamageRow>> {
        let now = self.clock().now();
        let counts = pstore::damage_counts(&mut *self.store.read().await?, now - DAMAGE_WINDOW).await?;
        let rates = self.damage.keep(now, DamageRates::learned(&counts));
        let defaults = DamageRates::defaults();
        let row = |c: &DamageCount| DamageRow {
            kind: c.kind,
            category: c.category.clone(),
            parcels: c.parcels,
            damaged: c.damaged,
            default_bp: defaults.bp(c.kind, None),
            rate_bp: rates.bp(c.kind, c.category.as_deref()),
        };
        let mut rows: Vec<DamageRow> = BoxKind::ALL
            .into_iter()
            .map(|kind| {
                let seen = counts.iter().find(|c| c.kind == kind && c.category.is_none());
                row(seen.unwrap_or(&DamageCount { kind, category: None, parcels: 0, damaged: 0 }))
            })
            .collect();
        let mut by_category: Vec<&DamageCount> = counts.iter().filter(|c| c.category.is_some()).collect();
        by_category.sort_by(|a, b| (a.kind.as_str(), &a.category).cmp(&(b.kind.as_str(), &b.category)));
        rows.extend(by_category.into_iter().map(row));
        Ok(rows)
    }

    /// The damage table as CSV: kind, category, parcels, damaged, default and priced rates.
    pub async fn damage_csv(&self) -> Result<Vec<u8>> {
        let csv_err = |e: csv::Error| Error::Internal(codflow_store::Error::Corrupt(e.to_string()));
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(["kind", "category", "parcels", "damaged", "default_bp", "rate_bp"]).map_err(csv_err)?;
        for r in self.damage_table().await? {
            let category = codflow_sheets::csv::neutralised(r.category.as_deref().unwrap_or("")).into_owned();
            let row = [r.parcels, r.damaged, r.default_bp, r.rate_bp].map(|n| n.to_string());
            w.write_record([r.kind.as_str().to_owned(), category].into_iter().chain(row)).map_err(csv_err)?;
        }
        w.into_inner().map_err(|e| Error::Internal(codflow_store::Error::Corrupt(e.to_string())))
    }

    pub async fn boxes(&self, warehouse: &WarehouseCode) -> Result<Vec<BoxType>> {
        let mut conn = self.store.read().await?;
        catalogue::warehouse_by_code(&mut conn, warehouse).await?.ok_or(Error::NotFound("warehouse"))?;
        Ok(pstore::boxes(&mut conn, warehouse).await?)
    }

    /// Adds or replaces a warehouse's box; true when it is new.
    pub async fn put_box(&self, warehouse: &WarehouseCode, b: BoxType, actor: Actor) -> Result<bool> {
        b.validate().map_err(Error::Invalid)?;
        let now = self.clock().now();
        let mut tx = self.store.begin().await?;
        catalogue::warehouse_by_code(&mut tx, warehouse).await?.ok_or(Error::NotFound("warehouse"))?;
        let created = pstore::put_box(&mut tx, warehouse, &b, now).await?;
        let what = format!(
            "{} {}×{}×{} mm, {} g empty, up to {} g, {}",
            b.kind.as_str(),
            b.inner_mm[0],
            b.inner_mm[1],
            b.inner_mm[2],
            b.empty_weight_g,
            b.max_load_g,
            b.cost
        );
        let a = AuditRecord::change(
            "box",
            format!("{warehouse}/{}", b.code),
            if created { "create" } else { "update" },
            None,
            Some(what),
            actor,
            now,
        );
        orders::insert_audit(&mut tx, &[a]).await?;
        commit(tx).await?;
        Ok(created)
    }

    pub async fn delete_box(&self, warehouse: &WarehouseCode, code: &str, actor: Actor) -> Result<()> {
        let now = self.clock().now();
        let mut tx = self.store.begin().await?;
        if !pstore::delete_box(&mut tx, warehouse, code).await? {
            return Err(Error::NotFound("box"));
        }
        let a = AuditRecord::change("box", format!("{warehouse}/{code}"), "delete", None, None, actor, now);
        orders::insert_audit(&mut tx, &[a]).await?;
        commit(tx).await?;
        Ok(())
    }

    pub async fn product_packing(&self, sku: &Sku) -> Result<Option<PackingAttrs>> {
        let mut conn = self.store.read().await?;
        catalogue::product_by_sku(&mut conn, sku).await?.ok_or(Error::NotFound("product"))?;
        Ok(pstore::packing(&mut conn, &[sku]).await?.remove(sku))
    }

    pub async fn put_product_packing(&self, sku: &Sku, a: PackingAttrs, actor: Actor) -> Result<()> {
        a.validate().map_err(Error::Invalid)?;
        let now = self.clock().now();
        let mut tx = self.store.begin().await?;
        catalogue::product_by_sku(&mut tx, sku).await?.ok_or(Error::NotFound("product"))?;
        pstore::put_packing(&mut tx, sku, &a, now).await?;
        let what = format!(
            "{}×{}×{} mm{}{}{}",
            a.dims_mm[0],
            a.dims_mm[1],
            a.dims_mm[2],
            if a.fragile { ", fragile" } else { "" },
            if a.keep_upright { ", keep upright" } else { "" },
            if a.can_bag { ", can be bagged" } else { "" }
        );
        let audit = AuditRecord::change("product_packing", sku.to_string(), "update", None, Some(what), actor, now);
        orders::insert_audit(&mut tx, &[audit]).await?;
        commit(tx).await?;
        Ok(())
    }

    /// The box (or boxes) an allocated order's items go in, for the lowest total of box, freight on its channel
    /// and expected damage, all in the channel's card currency.
    pub async fn packaging(&self, id: &OrderId) -> Result<Recommendation> {
        let order = orders::get(&mut *self.store.read().await?, id).await?.ok_or(Error::NotFound("order"))?;
        self.packaging_of(&order).await
    }

    /// As [`Fulfilment::packaging`], for an order already read (the weighing has it).
    pub(crate) async fn packaging_of(&self, order: &Order) -> Result<Recommendation> {
        let mut conn = self.store.read().await?;
        let not_allocated = || Error::Conflict {
            kind: ConflictKind::NotAllocated,
            message: format!("order {} has no warehouse and channel yet: allocate it first", order.id),
        };
        let alloc = order.allocation.as_ref().ok_or_else(not_allocated)?;
        let channel_code = alloc.channel.as_ref().ok_or_else(not_allocated)?;
        // A warehouse without boxes is answered before anything else is read: weighing asks for every parcel.
        let boxes = pstore::boxes(&mut conn, &alloc.warehouse).await?;
        if boxes.is_empty() {
            return Err(Error::Conflict {
                kind: ConflictKind::NoPackingPlan,
                message: packaging::NoFit::NoBoxes.to_string(),
            });
        }
        let snap = self.ctx.review.snapshot(&mut conn).await?;
        let logistics = snap.logistics();
        let channel = logistics.channels.iter().find(|c| &c.code == channel_code).ok_or(Error::NotFound("channel"))?;
        let products = crate::logistics::products_of(&mut conn, order).await?;
        let skus: Vec<&Sku> = order.lines.iter().map(|l| &l.sku).collect();
        let packing = pstore::packing(&mut conn, &skus).await?;
        let damage = self.damage_rates(&mut conn).await?;
        drop(conn);
        let fx = logistics.rates.as_slice();
        let card = channel.card.currency;
        let day = order.placed_at.date();
        let lines: Vec<PackLine> = order
            .lines
            .iter()
            .map(|l| {
                let p = products.get(&l.sku);
                PackLine {
                    sku: l.sku.to_string(),
                    quantity: l.quantity,
                    unit_weight_g: p.map_or(0, |p| p.unit_weight_g),
                    unit_value_minor: fx.convert(l.unit_price, card, day).map_or(0, |m| m.minor),
                    attrs: packing.get(&l.sku).copied(),
                    category: p.and_then(|p| p.category.clone()),
                }
            })
            .collect();
        let template = crate::logistics::request_for(order, &products, logistics.settings.incoterm);
        let freight = |outer_mm: [i64; 3], weight_g: i64| {
            let cm = |mm: i64| (mm + 9) / 10;
            let mut req = template.clone();
            req.parcels = vec![Parcel {
                weight_g,
                length_cm: cm(outer_mm[0]),
                width_cm: cm(outer_mm[1]),
                height_cm: cm(outer_mm[2]),
            }];
            channel.quote(&req, &logistics.duties, fx, card).ok().map(|q| Money::new(q.breakdown.total(), q.currency))
        };
        let convert = |m: Money| fx.convert(m, card, day).ok();
        let pricing = Pricing { currency: card, freight: &freight, convert: &convert, damage: &damage };
        packaging::recommend(&lines, &boxes, &pricing)
            .map_err(|e| Error::Conflict { kind: ConflictKind::NoPackingPlan, message: e.to_string() })
    }
}
