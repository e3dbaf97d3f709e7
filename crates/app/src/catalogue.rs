//! Warehouses, products and stock counts.

use std::collections::HashMap;
use std::sync::{PoisonError, RwLock};

use codflow_domain::catalogue::{required_text, weight_g};
use codflow_domain::order::MoneyInput;
use codflow_domain::{
    Actor, AuditRecord, BinLocation, Country, Currency, FieldErrors, HsCode, Money, Product, ProductId, Sku,
    StockLevel, Warehouse, WarehouseCode, WarehouseId,
};
use codflow_store::{Store, catalogue, commit, orders};

use time::OffsetDateTime;

use crate::error::ConflictKind;
use crate::{Catalogue, Error, Result};

/// Product ids by SKU, remembered once read: a product is never deleted and its SKU never changes, so a
/// remembered id cannot go stale. Only found SKUs are kept (a product created a moment later is read then).
/// Intake resolves every order's SKUs here instead of with a query per order.
#[derive(Default)]
pub struct ProductIds {
    known: RwLock<HashMap<Sku, ProductId>>,
}

impl ProductIds {
    /// Beyond this many the memory starts again empty rather than grow without bound.
    const MOST: usize = 100_000;

    /// The ids of `skus` that exist; unknown SKUs are absent from the answer.
    pub async fn resolve(&self, store: &Store, skus: &[&Sku]) -> Result<HashMap<Sku, ProductId>> {
        let mut found = HashMap::with_capacity(skus.len());
        let mut missing = Vec::new();
        {
            let known = self.known.read().unwrap_or_else(PoisonError::into_inner);
            for s in skus {
                match known.get(*s) {
                    Some(id) => {
                        found.insert((*s).clone(), id.clone());
                    }
                    None => missing.push(*s),
                }
            }
        }
        if missing.is_empty() {
            return Ok(found);
        }
        let read = catalogue::product_ids(&mut *store.read().await?, &missing).await?;
        let mut known = self.known.write().unwrap_or_else(PoisonError::into_inner);
        if known.len() + read.len() > Self::MOST {
            known.clear();
        }
        known.extend(read.iter().map(|(s, id)| (s.clone(), id.clone())));
        found.extend(read);
        Ok(found)
    }
}

/// A SKU in one warehouse: how many, and in which bin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stock {
    pub level: StockLevel,
    pub location: Option<BinLocation>,
}

/// What a stock update changes; `location: Some("")` clears the bin.
#[derive(Clone, Debug, Default)]
pub struct StockChange {
    pub on_hand: Option<i64>,
    pub location: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct WarehouseInput {
    pub code: Option<String>,
    pub name: Option<String>,
    pub country: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct ProductInput {
    pub sku: Option<String>,
    pub title: Option<String>,
    pub unit_weight_g: Option<i64>,
    pub unit_cost: Option<MoneyInput>,
    pub hs_code: Option<String>,
    pub origin_country: Option<String>,
    pub category: Option<String>,
}

fn need<T>(e: &mut FieldErrors, path: &str, v: Option<T>) -> Option<T> {
    if v.is_none() {
        e.push(path, "is required");
    }
    v
}

impl WarehouseInput {
    fn validate(self) -> Result<Warehouse> {
        let mut e = FieldErrors::default();
        let code = need(&mut e, "code", self.code).and_then(|c| e.take("code", WarehouseCode::parse(&c)));
        let name = need(&mut e, "name", self.name).and_then(|n| e.take("name", required_text("name", &n, 200)));
        let country = need(&mut e, "country", self.country).and_then(|c| e.take("country", Country::parse(&c)));
        match (code, name, country) {
            (Some(code), Some(name), Some(country)) if e.is_empty() => {
                Ok(Warehouse { id: WarehouseId::generate(), code, name, country })
            }
            _ => Err(Error::Invalid(e)),
        }
    }
}

impl ProductInput {
    fn validate(self) -> Result<Product> {
        let mut e = FieldErrors::default();
        let sku = need(&mut e, "sku", self.sku).and_then(|s| e.take("sku", Sku::parse(&s)));
        let title = need(&mut e, "title", self.title).and_then(|t| e.take("title", required_text("title", &t, 300)));
        let weight =
            need(&mut e, "unit_weight_g", self.unit_weight_g).and_then(|w| e.take("unit_weight_g", weight_g(w)));
        let cost = need(&mut e, "unit_cost", self.unit_cost).and_then(|m| {
            let c = e.take("unit_cost.currency", Currency::parse(m.currency.as_deref().unwrap_or("")))?;
            let money = e.take("unit_cost.amount", Money::parse(&m.amount, c))?;
            if money.is_negative() {
                e.push("unit_cost.amount", "must not be negative");
            }
            Some(money)
        });
        let hs_code = self.hs_code.and_then(|h| e.take("hs_code", HsCode::parse(&h)));
        let origin = self.origin_country.and_then(|c| e.take("origin_country", Country::parse(&c)));
        let category = self.category.map(|c| c.trim().to_owned()).filter(|c| !c.is_empty());
        match (sku, title, weight, cost) {
            (Some(sku), Some(title), Some(unit_weight_g), Some(unit_cost)) if e.is_empty() => Ok(Product {
                id: ProductId::generate(),
                sku,
                title,
                unit_weight_g,
                unit_cost,
                hs_code,
                origin_country: origin,
                category,
            }),
            _ => Err(Error::Invalid(e)),
        }
    }
}

fn bad_cursor() -> Error {
    Error::invalid("cursor", "is not a cursor from a previous page")
}

/// The audit key of a stock level: warehouse code and SKU, as people name it.
fn stock_key(code: &WarehouseCode, sku: &Sku) -> String {
    format!("{code}/{sku}")
}

fn product_audit(p: &Product, action: &str, actor: Actor, at: OffsetDateTime) -> AuditRecord {
    let what = format!("{}: {}, {} g, cost {}", p.sku, p.title, p.unit_weight_g, p.unit_cost);
    AuditRecord::change("product", p.id.to_string(), action, None, Some(what), actor, at)
}

impl Catalogue {
    pub async fn create_warehouse(&self, input: WarehouseInput, actor: Actor) -> Result<Warehouse> {
        let w = input.validate()?;
        let mut tx = self.store.begin().await?;
        match catalogue::insert_warehouse(&mut tx, &w).await {
            Err(e) if e.is_unique_violation() => Err(Error::Conflict {
                kind: ConflictKind::WarehouseExists,
                message: format!("a warehouse with code {} already exists", w.code),
            }),
            Err(e) => Err(e.into()),
            Ok(()) => {
                let what = format!("{} {} ({})", w.code, w.name, w.country);
                let audit = AuditRecord::change(
                    "warehouse",
                    w.id.to_string(),
                    "create",
                    None,
                    Some(what),
                    actor,
                    self.clock().now(),
                );
                orders::insert_audit(&mut tx, &[audit]).await?;
                commit(tx).await?;
                Ok(w)
            }
        }
    }

    /// A page of warehouses by code, and the cursor of the next page when there is one.
    pub async fn warehouses(&self, limit: i64, cursor: Option<&str>) -> Result<(Vec<Warehouse>, Option<String>)> {
        let after = cursor.map(|c| WarehouseCode::parse(c).map_err(|_| bad_cursor())).transpose()?;
        let rows = catalogue::warehouses(&mut *self.store.read().await?, after.as_ref(), limit).await?;
        Ok(crate::split_page(rows, limit, |w| w.code.to_string()))
    }

    pub async fn create_product(&self, input: ProductInput, actor: Actor) -> Result<Product> {
        let p = input.validate()?;
        let mut tx = self.store.begin().await?;
        match catalogue::insert_product(&mut tx, &p).await {
            Err(e) if e.is_unique_violation() => Err(Error::Conflict {
                kind: ConflictKind::ProductExists,
                message: format!(
                    "a product with SKU {} already exists; PUT /api/v1/products/{} updates it",
                    p.sku, p.sku
                ),
            }),
            Err(e) => Err(e.into()),
            Ok(()) => {
                orders::insert_audit(&mut tx, &[product_audit(&p, "create", actor, self.clock().now())]).await?;
                commit(tx).await?;
                Ok(p)
            }
        }
    }

    /// Creates or replaces the product with this SKU; the body's SKU, when given, must agree with the path.
    pub async fn put_product(&self, sku: &str, mut input: ProductInput, actor: Actor) -> Result<(Product, bool)> {
        if let Some(body_sku) = &input.sku
            && body_sku != sku
        {
            return Err(Error::invalid("sku", format!("the body's SKU {body_sku:?} differs from the path's {sku:?}")));
        }
        input.sku = Some(sku.to_owned());
        let mut p = input.validate()?;
        let mut tx = self.store.begin().await?;
        if let Some(existing) = catalogue::product_by_sku(&mut tx, &p.sku).await? {
            p.id = existing.id;
            catalogue::update_product(&mut tx, &p).await?;
            orders::insert_audit(&mut tx, &[product_audit(&p, "update", actor, self.clock().now())]).await?;
            commit(tx).await?;
            Ok((p, false))
        } else {
            catalogue::insert_product(&mut tx, &p).await?;
            orders::insert_audit(&mut tx, &[product_audit(&p, "create", actor, self.clock().now())]).await?;
            commit(tx).await?;
            Ok((p, true))
        }
    }

    pub async fn product(&self, sku: &Sku) -> Result<Product> {
        let sku = sku.clone();
        catalogue::product_by_sku(&mut *self.store.read().await?, &sku).await?.ok_or(Error::NotFound("product"))
    }

    /// A page of products by SKU, and the cursor of the next page when there is one.
    pub async fn products(&self, limit: i64, cursor: Option<&str>) -> Result<(Vec<Product>, Option<String>)> {
        let after = cursor.map(|c| Sku::parse(c).map_err(|_| bad_cursor())).transpose()?;
        let rows = catalogue::products_page(&mut *self.store.read().await?, after.as_ref(), limit).await?;
        Ok(crate::split_page(rows, limit, |p| p.sku.to_string()))
    }

    pub async fn stock(&self, warehouse: &WarehouseCode, sku: &Sku) -> Result<Stock> {
        let code = warehouse.clone();
        let sku = sku.clone();
        let mut conn = self.store.read().await?;
        let w = catalogue::warehouse_by_code(&mut conn, &code).await?.ok_or(Error::NotFound("warehouse"))?;
        let p = catalogue::product_by_sku(&mut conn, &sku).await?.ok_or(Error::NotFound("product"))?;
        Ok(Stock {
            level: catalogue::stock_level(&mut conn, &w.id, &p.id)
                .await?
                .unwrap_or(StockLevel { on_hand: 0, reserved: 0 }),
            location: catalogue::stock_location(&mut conn, &w.id, &p.id).await?,
        })
    }

    /// Records a stock count, a bin location, or both. A count below what orders already hold is refused
    /// (409): those units are promised, and taking them back is a decision (cancel or re-allocate orders),
    /// not a side effect.
    pub async fn set_stock(
        &self,
        warehouse: &WarehouseCode,
        sku: &Sku,
        change: StockChange,
        actor: Actor,
    ) -> Result<Stock> {
        self.change_stock(warehouse, sku, change, None, actor).await
    }

    /// A stock count made by a person with the reason for it (a recount, damage found, a found box), kept
    /// on the SKU's history.
    pub async fn adjust_stock(
        &self,
        warehouse: &WarehouseCode,
        sku: &Sku,
        on_hand: i64,
        reason: &str,
        actor: Actor,
    ) -> Result<Stock> {
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(Error::invalid("reason", "say why the count changes"));
        }
        codflow_domain::text::line(reason, 200).map_err(|e| Error::invalid("reason", e.to_string()))?;
        let change = StockChange { on_hand: Some(on_hand), location: None };
        self.change_stock(warehouse, sku, change, Some(reason.to_owned()), actor).await
    }

    async fn change_stock(
        &self,
        warehouse: &WarehouseCode,
        sku: &Sku,
        change: StockChange,
        reason: Option<String>,
        actor: Actor,
    ) -> Result<Stock> {
        let mut errors = FieldErrors::default();
        if change.on_hand.is_none() && change.location.is_none() {
            errors.push("on_hand", "on_hand, location or both are required");
        }
        if let Some(n) = change.on_hand
            && !(0..=1_000_000_000).contains(&n)
        {
            errors.push("on_hand", "must be between 0 and 1000000000");
        }
        // An empty location takes the SKU out of its bin.
        let location = match change.location.as_deref().map(str::trim) {
            None => None,
            Some("") => Some(None),
            Some(l) => errors.take("location", BinLocation::parse(l)).map(Some),
        };
        if !errors.is_empty() {
            return Err(Error::Invalid(errors));
        }
        let code = warehouse.clone();
        let sku = sku.clone();
        let mut tx = self.store.begin().await?;
        let w = catalogue::warehouse_by_code(&mut tx, &code).await?.ok_or(Error::NotFound("warehouse"))?;
        let p = catalogue::product_by_sku(&mut tx, &sku).await?.ok_or(Error::NotFound("product"))?;
        let before =
            catalogue::stock_level(&mut tx, &w.id, &p.id).await?.unwrap_or(StockLevel { on_hand: 0, reserved: 0 });
        let mut audits = Vec::with_capacity(2);
        if let Some(on_hand) = change.on_hand {
            // The store makes the comparison with the write, so a reservation cannot slip in between.
            if !catalogue::set_on_hand(&mut tx, &w.id, &p.id, on_hand).await? {
                let held = catalogue::stock_level(&mut tx, &w.id, &p.id).await?.map(|s| s.reserved).unwrap_or(0);
                return Err(Error::Conflict {
                    kind: ConflictKind::StockBelowReserved,
                    message: format!("on_hand {on_hand} is below the {held} units reserved for orders"),
                });
            }
            let mut count = AuditRecord::change(
                "stock",
                stock_key(&code, &sku),
                "count",
                Some(before.on_hand.to_string()),
                Some(on_hand.to_string()),
                actor.clone(),
                self.clock().now(),
            );
            count.reason = reason;
            audits.push(count);
        }
        if let Some(location) = location {
            let old = catalogue::stock_location(&mut tx, &w.id, &p.id).await?;
            catalogue::set_location(&mut tx, &w.id, &p.id, location.as_ref()).await?;
            audits.push(AuditRecord::change(
                "stock",
                stock_key(&code, &sku),
                "locate",
                old.map(|l| l.as_str().to_owned()),
                location.map(|l| l.as_str().to_owned()),
                actor,
                self.clock().now(),
            ));
        }
        orders::insert_audit(&mut tx, &audits).await?;
        let after = Stock {
            level: catalogue::stock_level(&mut tx, &w.id, &p.id).await?.unwrap_or(before),
            location: catalogue::stock_location(&mut tx, &w.id, &p.id).await?,
        };
        commit(tx).await?;
        Ok(after)
    }

    /// Every count of one SKU in one warehouse, oldest first: who counted what, and when.
    /// Stock rows a page at a time (at most `limit`), optionally only those with at most `low` available.
    /// `search` keeps the rows whose SKU or title holds it, whatever its case.
    pub async fn stock_rows(
        &self,
        after: Option<(&str, &str)>,
        low: Option<i64>,
        search: Option<&str>,
        limit: i64,
    ) -> Result<Vec<codflow_store::catalogue::StockRow>> {
        Ok(codflow_store::catalogue::stock_rows(&mut *self.store.read().await?, after, low, search, limit).await?)
    }

    pub async fn stock_history(&self, warehouse: &WarehouseCode, sku: &Sku) -> Result<Vec<orders::StoredAudit>> {
        self.stock(warehouse, sku).await?;
        let code = warehouse.clone();
        let sku = sku.clone();
        Ok(orders::audit_of(&mut *self.store.read().await?, "stock", &stock_key(&code, &sku)).await?)
    }
}
