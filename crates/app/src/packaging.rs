//! Packaging: each warehouse's boxes, how products pack, and the box an allocated order is recommended.

use codflow_domain::packaging::{self, BoxType, DamageRates, PackLine, PackingAttrs, Pricing, Recommendation};
use codflow_domain::rating::{Fx, Parcel};
use codflow_domain::{Actor, AuditRecord, Money, Order, OrderId, Sku, WarehouseCode};
use codflow_store::{catalogue, commit, orders, packaging as pstore};

use crate::error::ConflictKind;
use crate::{Error, Fulfilment, Result};

impl Fulfilment {
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
        let damage = DamageRates::defaults();
        let pricing = Pricing { currency: card, freight: &freight, convert: &convert, damage: &damage };
        packaging::recommend(&lines, &boxes, &pricing)
            .map_err(|e| Error::Conflict { kind: ConflictKind::NoPackingPlan, message: e.to_string() })
    }
}
