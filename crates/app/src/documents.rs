//! Documents for booked shipments (labels, commercial invoices, packing lists) and picking lists for a
//! batch of orders, from the shipment, its order, products, warehouse, channel and the seller's settings.

use std::collections::{BTreeMap, HashMap};

pub use crate::settings::set_public_url_default;

use codflow_documents::{
    Address, CustomsDocument, CustomsLine, LabelData, Party, PickLine, PickingList, commercial_invoices, labels_pdf,
    packing_lists, picking_lists, zpl_batch,
};
use codflow_domain::rating::Incoterm;
use codflow_domain::{Actor, Country, Money, Order, OrderId, Product, Sku, WarehouseId};
use codflow_store::logistics::{self as lstore, BookingStatus, Shipment};
use codflow_store::{Conn, catalogue, commit, orders, review as rstore};

use crate::error::ConflictKind;
use crate::{Error, Fulfilment, Result};

/// The European Union's members, where an IOSS number lets the seller collect import VAT at checkout.
const EU: [&str; 27] = [
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT", "LT", "LU", "LV",
    "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
];

fn in_eu(c: Country) -> bool {
    EU.contains(&c.code())
}

/// A file to hand to the user.
#[derive(Clone, Debug)]
pub struct Document {
    pub content_type: &'static str,
    pub filename: String,
    pub bytes: Vec<u8>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LabelFormat {
    Zpl,
    Pdf,
}

impl LabelFormat {
    pub fn parse(s: Option<&str>) -> Result<LabelFormat> {
        match s.unwrap_or("zpl") {
            "zpl" => Ok(LabelFormat::Zpl),
            "pdf" => Ok(LabelFormat::Pdf),
            other => Err(Error::invalid("format", format!("{other:?} is not zpl or pdf"))),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CustomsKind {
    CommercialInvoice,
    PackingList,
}

/// The seller as customs sees it, and where the public tracking page is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DocumentSettings {
    pub seller_name: String,
    pub seller_address: Vec<String>,
    pub eori_number: Option<String>,
    pub ioss_number: Option<String>,
    /// The seller's VAT/GST registration in each destination it imports into.
    pub vat_numbers: BTreeMap<Country, String>,
    pub public_base_url: String,
}

/// An optional registration number, upper-cased; blank means none. A malformed one is recorded in `e`.
fn tax_id(
    e: &mut codflow_domain::FieldErrors,
    what: &str,
    s: Option<&str>,
    ok: impl Fn(&str) -> bool,
    shape: &str,
) -> Option<String> {
    let t = s?.trim().to_ascii_uppercase();
    if t.is_empty() {
        return None;
    }
    if !ok(&t) {
        e.push(what, format!("{:?} is not {shape}", s.unwrap_or_default()));
    }
    Some(t)
}

impl DocumentSettings {
    /// Checks and normalises what a user entered; every problem at once.
    pub fn validate(mut self) -> Result<DocumentSettings> {
        let mut e = codflow_domain::FieldErrors::default();
        self.seller_name = self.seller_name.trim().to_owned();
        if self.seller_name.chars().count() > 100 {
            e.push("seller_name", "is longer than 100 characters");
        }
        self.seller_address =
            self.seller_address.iter().map(|l| l.trim().to_owned()).filter(|l| !l.is_empty()).collect();
        if self.seller_address.len() > 4 || self.seller_address.iter().any(|l| l.chars().count() > 100) {
            e.push("seller_address", "is at most 4 lines of at most 100 characters");
        }
        let alnum = |s: &str| s.bytes().all(|b| b.is_ascii_alphanumeric());
        let eori = |s: &str| {
            s.len() >= 3 && s.len() <= 17 && s.as_bytes()[..2].iter().all(|b| b.is_ascii_uppercase()) && alnum(s)
        };
        let shape = "an EORI number (country code and up to 15 letters or digits)";
        self.eori_number = tax_id(&mut e, "eori_number", self.eori_number.as_deref(), eori, shape);
        let ioss =
            |s: &str| s.len() == 12 && s.starts_with("IM") && s.as_bytes()[2..].iter().all(|b| b.is_ascii_digit());
        let shape = "an IOSS number (IM and 10 digits)";
        self.ioss_number = tax_id(&mut e, "ioss_number", self.ioss_number.as_deref(), ioss, shape);
        for (c, n) in self.vat_numbers.iter_mut() {
            let t = n.trim().to_ascii_uppercase();
            if !(2..=20).contains(&t.len()) || !t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b' ') {
                e.push(format!("vat_numbers.{c}"), format!("{n:?} is not a VAT number (2 to 20 letters or digits)"));
            }
            *n = t;
        }
        let url = self.public_base_url.trim().trim_end_matches('/').to_owned();
        let http = url.starts_with("http://") || url.starts_with("https://");
        if !(url.is_empty() || http) || url.len() > 200 {
            e.push("public_base_url", "must be an http:// or https:// address of at most 200 characters");
        }
        self.public_base_url = if url.is_empty() { crate::settings::default_public_url() } else { url };
        if e.is_empty() { Ok(self) } else { Err(Error::Invalid(e)) }
    }

    async fn load(conn: &mut Conn) -> Result<DocumentSettings> {
        let keys = ["seller_name", "seller_address", "eori_number", "ioss_number", "vat_numbers", "public_base_url"];
        let mut found = rstore::settings_of(conn, &keys).await?;
        let mut get = |k: &str| found.remove(k).unwrap_or_default();
        let non_empty = |s: String| (!s.is_empty()).then_some(s);
        let vat = get("vat_numbers");
        let vat_numbers: BTreeMap<String, String> = if vat.is_empty() {
            BTreeMap::new()
        } else {
            serde_json::from_str(&vat)
                .map_err(|e| Error::Internal(codflow_store::Error::Corrupt(format!("setting vat_numbers: {e}"))))?
        };
        Ok(DocumentSettings {
            seller_name: get("seller_name"),
            seller_address: get("seller_address").lines().map(str::to_owned).collect(),
            eori_number: non_empty(get("eori_number")),
            ioss_number: non_empty(get("ioss_number")),
            vat_numbers: vat_numbers.into_iter().filter_map(|(c, n)| Country::parse(&c).ok().map(|c| (c, n))).collect(),
            public_base_url: non_empty(get("public_base_url")).unwrap_or_else(crate::settings::default_public_url),
        })
    }
}

/// Everything about one booked shipment that its documents print.
struct Booked {
    shipment: Shipment,
    tracking: String,
    order: Order,
    warehouse: Option<codflow_domain::Warehouse>,
    service: String,
}

fn money(m: Money) -> String {
    m.amount_string()
}

impl Fulfilment {
    pub async fn document_settings(&self) -> Result<DocumentSettings> {
        DocumentSettings::load(&mut *self.store.read().await?).await
    }

    pub async fn set_document_settings(&self, s: DocumentSettings, actor: Actor) -> Result<DocumentSettings> {
        let s = s.validate()?;
        let mut tx = self.store.begin().await?;
        let now = self.clock().now();
        let vat: BTreeMap<&str, &str> = s.vat_numbers.iter().map(|(c, n)| (c.code(), n.as_str())).collect();
        let vat =
            serde_json::to_string(&vat).map_err(|e| Error::Internal(codflow_store::Error::Corrupt(e.to_string())))?;
        for (k, v) in [
            ("seller_name", s.seller_name.clone()),
            ("seller_address", s.seller_address.join("\n")),
            ("eori_number", s.eori_number.clone().unwrap_or_default()),
            ("ioss_number", s.ioss_number.clone().unwrap_or_default()),
            ("vat_numbers", vat),
            ("public_base_url", s.public_base_url.clone()),
        ] {
            rstore::set_setting(&mut tx, k, &v, now).await?;
        }
        let what = format!("seller {:?}, {} VAT registrations", s.seller_name, s.vat_numbers.len());
        let record =
            codflow_domain::AuditRecord::change("settings", "documents".into(), "update", None, Some(what), actor, now);
        orders::insert_audit(&mut tx, &[record]).await?;
        commit(tx).await?;
        Ok(s)
    }

    async fn booked(&self, conn: &mut Conn, s: Shipment) -> Result<Booked> {
        let tracking = match (s.status, &s.tracking_number) {
            (BookingStatus::Booked, Some(t)) => t.clone(),
            _ => {
                return Err(Error::Conflict {
                    kind: ConflictKind::NotBooked,
                    message: format!(
                        "shipment {} is {}; only booked shipments have documents",
                        s.id,
                        s.status.as_str()
                    ),
                });
            }
        };
        let order = orders::get(conn, &s.order_id).await?.ok_or(Error::NotFound("order"))?;
        let warehouse = match order.allocation.as_ref() {
            Some(a) => catalogue::warehouse_by_code(conn, &a.warehouse).await?,
            None => None,
        };
        let service = lstore::channel(conn, &s.channel).await?.map_or_else(String::new, |c| c.service);
        Ok(Booked { shipment: s, tracking, order, warehouse, service })
    }

    async fn booked_many(&self, ids: &[String]) -> Result<(Vec<Booked>, DocumentSettings, Incoterm)> {
        let shipments = self.shipments_by_id(ids).await?;
        let mut conn = self.store.read().await?;
        let settings = DocumentSettings::load(&mut conn).await?;
        let incoterm = crate::logistics::settings(&mut conn).await?.incoterm;
        let mut out = Vec::with_capacity(shipments.len());
        for s in shipments {
            out.push(self.booked(&mut conn, s).await?);
        }
        Ok((out, settings, incoterm))
    }

    /// The labels of the shipments, in the order given: one ZPL stream or one PDF with a page each.
    pub async fn labels(&self, ids: &[String], format: LabelFormat) -> Result<Document> {
        let (booked, settings, incoterm) = self.booked_many(ids).await?;
        let labels: Vec<LabelData> = booked.iter().map(|b| label_of(b, &settings, incoterm)).collect();
        let name = if ids.len() == 1 { ids[0].clone() } else { "labels".into() };
        Ok(match format {
            LabelFormat::Zpl => Document {
                content_type: "application/zpl",
                filename: format!("{name}.zpl"),
                bytes: zpl_batch(&labels).into_bytes(),
            },
            LabelFormat::Pdf => Document {
                content_type: "application/pdf",
                filename: format!("{name}.pdf"),
                bytes: labels_pdf(&labels),
            },
        })
    }

    /// One ZPL stream for the shipments, in the order given.
    pub async fn labels_zpl(&self, ids: &[String]) -> Result<String> {
        let doc = self.labels(ids, LabelFormat::Zpl).await?;
        String::from_utf8(doc.bytes).map_err(|e| Error::Internal(codflow_store::Error::Corrupt(e.to_string())))
    }

    /// Commercial invoices or packing lists for the shipments, one PDF, each document on its own pages.
    pub async fn customs_documents(&self, ids: &[String], kind: CustomsKind) -> Result<Document> {
        let (booked, settings, incoterm) = self.booked_many(ids).await?;
        let mut docs: Vec<CustomsDocument> = Vec::with_capacity(booked.len());
        let mut conn = self.store.read().await?;
        for b in &booked {
            let products = crate::logistics::products_of(&mut conn, &b.order).await?;
            docs.push(customs_of(b, &products, &settings, incoterm));
        }
        let one = if ids.len() == 1 { format!("-{}", ids[0]) } else { "s".into() };
        Ok(match kind {
            CustomsKind::CommercialInvoice => Document {
                content_type: "application/pdf",
                filename: format!("commercial-invoice{one}.pdf"),
                bytes: commercial_invoices(&docs),
            },
            CustomsKind::PackingList => Document {
                content_type: "application/pdf",
                filename: format!("packing-list{one}.pdf"),
                bytes: packing_lists(&docs),
            },
        })
    }

    /// Picking lists for allocated orders: one per warehouse, lines by bin location then SKU.
    pub async fn picking_list(&self, order_ids: &[String]) -> Result<Document> {
        if order_ids.is_empty() {
            return Err(Error::invalid("orders", "name at least one order"));
        }
        let mut conn = self.store.read().await?;
        let mut by_warehouse: BTreeMap<String, (WarehouseId, Vec<Order>)> = BTreeMap::new();
        for (i, id) in order_ids.iter().enumerate() {
            let parsed = OrderId::parse(id).map_err(|e| Error::invalid(&format!("orders[{i}]"), e.to_string()))?;
            let order = orders::get(&mut conn, &parsed)
                .await?
                .ok_or_else(|| Error::invalid(&format!("orders[{i}]"), format!("no order {id}")))?;
            let Some(alloc) = order.allocation.as_ref() else {
                return Err(Error::Conflict {
                    kind: ConflictKind::NotAllocated,
                    message: format!("order {id} has no warehouse yet, so it cannot be picked"),
                });
            };
            let w =
                catalogue::warehouse_by_code(&mut conn, &alloc.warehouse).await?.ok_or(Error::NotFound("warehouse"))?;
            by_warehouse.entry(w.code.to_string()).or_insert_with(|| (w.id.clone(), Vec::new())).1.push(order);
        }
        let date = self.clock().now().date().to_string();
        let mut lists = Vec::with_capacity(by_warehouse.len());
        for (code, (wid, batch)) in by_warehouse {
            let labelled: Vec<(&Order, String)> = batch.iter().map(|o| (o, o.external_id.clone())).collect();
            let lines = pick_lines(&mut conn, &wid, &labelled).await?;
            lists.push(PickingList {
                reference: format!("{code}-{}", self.clock().now().unix_timestamp()),
                date: date.clone(),
                warehouse: code,
                orders: batch.len(),
                lines,
            });
        }
        Ok(Document {
            content_type: "application/pdf",
            filename: "picking-list.pdf".into(),
            bytes: picking_lists(&lists),
        })
    }
}

/// One pick line per order line, at its SKU's bin in warehouse `wid`, naming the order by its label (its
/// reference, or its sort slot in a wave); [`picking_lists`] merges them in walking order.
pub(crate) async fn pick_lines(
    conn: &mut Conn,
    wid: &WarehouseId,
    orders: &[(&Order, String)],
) -> Result<Vec<PickLine>> {
    let mut skus: Vec<&Sku> = orders.iter().flat_map(|(o, _)| o.lines.iter().map(|l| &l.sku)).collect();
    skus.sort();
    skus.dedup();
    let products: HashMap<Sku, Product> =
        catalogue::products_by_sku(conn, &skus).await?.into_iter().map(|p| (p.sku.clone(), p)).collect();
    let ids: Vec<_> = products.values().map(|p| p.id.clone()).collect();
    let bins = catalogue::locations(conn, wid, &ids).await?;
    let mut lines = Vec::new();
    for (o, label) in orders {
        for l in &o.lines {
            let p = products.get(&l.sku);
            lines.push(PickLine {
                location: p.and_then(|p| bins.get(&p.id)).map(|b| b.as_str().to_owned()),
                sku: l.sku.to_string(),
                title: p.map_or_else(String::new, |p| p.title.clone()),
                quantity: l.quantity,
                orders: vec![label.clone()],
            });
        }
    }
    Ok(lines)
}

/// The seller's name as set, or the shipping warehouse's until one is.
fn seller_name(b: &Booked, settings: &DocumentSettings) -> String {
    if settings.seller_name.is_empty() {
        b.warehouse.as_ref().map_or_else(|| "Seller".into(), |w| w.name.clone())
    } else {
        settings.seller_name.clone()
    }
}

/// The delivery phone, or the buyer's when the address has none.
fn recipient_phone(order: &Order) -> String {
    order.shipping_address.phone.as_ref().unwrap_or(&order.buyer.phone).as_str().to_owned()
}

fn warehouse_party(b: &Booked, settings: &DocumentSettings) -> Party {
    let wh = b.warehouse.as_ref();
    let mut address = settings.seller_address.clone();
    if let Some(w) = wh {
        address.push(format!("Ships from {} ({}), {}", w.name, w.code, w.country));
    }
    Party { name: seller_name(b, settings), address, phone: None, tax_ids: Vec::new() }
}

fn label_of(b: &Booked, settings: &DocumentSettings, incoterm: Incoterm) -> LabelData {
    let (s, order) = (&b.shipment, &b.order);
    let wh = b.warehouse.as_ref();
    let a = &order.shipping_address;
    LabelData {
        tracking_url: format!("{}/track/{}", settings.public_base_url.trim_end_matches('/'), b.tracking),
        tracking_number: b.tracking.clone(),
        sender: Address {
            name: seller_name(b, settings),
            line1: wh.map_or_else(String::new, |w| format!("{} {}", w.code, w.name)),
            city: settings.seller_address.first().cloned().unwrap_or_default(),
            country: wh.map_or_else(String::new, |w| w.country.to_string()),
            ..Address::default()
        },
        recipient: Address {
            name: a.name.clone(),
            phone: Some(recipient_phone(order)),
            line1: a.line1.clone(),
            line2: a.line2.clone(),
            city: a.city.clone(),
            region: a.region.clone(),
            postal_code: a.postal_code.clone(),
            country: a.country.to_string(),
        },
        carrier: s.carrier.clone(),
        channel: s.channel.to_string(),
        service: b.service.clone(),
        weight_g: s.weight_g,
        piece: (1, s.pieces.max(1) as u32),
        cod: (s.cod.minor > 0).then(|| format!("{} {}", s.cod.currency, s.cod.amount_string())),
        ddp: incoterm == Incoterm::Ddp,
        sort_code: s.sort_code.clone(),
        order_ref: format!("{} / {}", order.external_id, order.id),
        date: s.booked_at.unwrap_or(s.created_at).date().to_string(),
    }
}

fn customs_of(
    b: &Booked,
    products: &HashMap<Sku, Product>,
    settings: &DocumentSettings,
    incoterm: Incoterm,
) -> CustomsDocument {
    let (s, order) = (&b.shipment, &b.order);
    let dest = order.shipping_address.country;
    let a = &order.shipping_address;
    let mut consignee_address = vec![a.line1.clone()];
    consignee_address.extend(a.line2.clone());
    consignee_address.push(
        [Some(a.city.clone()), a.region.clone(), a.postal_code.clone(), Some(a.country.to_string())]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" "),
    );
    let consignee = Party {
        name: a.name.clone(),
        address: consignee_address,
        phone: Some(recipient_phone(order)),
        tax_ids: Vec::new(),
    };
    let mut exporter = warehouse_party(b, settings);
    if let Some(e) = &settings.eori_number {
        exporter.tax_ids.push(("EORI".into(), e.clone()));
    }
    // Under DDP the seller imports: customs wants its registration in the destination (VAT/GST, or IOSS
    // for the EU). Under DAP the buyer is the importer.
    let importer = if incoterm == Incoterm::Ddp {
        let mut p = warehouse_party(b, settings);
        p.address.retain(|l| !l.starts_with("Ships from"));
        if let Some(v) = settings.vat_numbers.get(&dest) {
            p.tax_ids.push(("VAT".into(), v.clone()));
        }
        if in_eu(dest)
            && let Some(i) = &settings.ioss_number
        {
            p.tax_ids.push(("IOSS".into(), i.clone()));
        }
        if (in_eu(dest) || dest.code() == "GB")
            && let Some(e) = &settings.eori_number
        {
            p.tax_ids.push(("EORI".into(), e.clone()));
        }
        p
    } else {
        consignee.clone()
    };
    let goods: i64 = order.lines.iter().map(|l| l.unit_price.minor * l.quantity).sum();
    let cur = order.currency;
    CustomsDocument {
        number: format!("CI-{}", order.external_id),
        date: s.booked_at.unwrap_or(s.created_at).date().to_string(),
        order_ref: format!("{} / {}", order.external_id, order.id),
        tracking_number: b.tracking.clone(),
        carrier: format!("{} {} {}", s.carrier, s.channel, b.service).trim().to_owned(),
        incoterm: incoterm.as_str().to_owned(),
        currency: cur.to_string(),
        exporter,
        consignee,
        importer,
        lines: order
            .lines
            .iter()
            .map(|l| {
                let p = products.get(&l.sku);
                CustomsLine {
                    sku: l.sku.to_string(),
                    description: p.map_or_else(String::new, |p| p.title.clone()),
                    hs_code: p.and_then(|p| p.hs_code.as_ref()).map(|h| h.as_str().to_owned()),
                    origin: p.and_then(|p| p.origin_country).map(|c| c.to_string()),
                    quantity: l.quantity,
                    unit_value: money(l.unit_price),
                    total_value: money(Money::new(l.unit_price.minor * l.quantity, cur)),
                    unit_weight_g: p.map_or(0, |p| p.unit_weight_g),
                }
            })
            .collect(),
        goods_total: money(Money::new(goods, cur)),
        shipping: money(order.shipping_fee),
        invoice_total: money(Money::new(goods + order.shipping_fee.minor, cur)),
        pieces: s.pieces.max(1) as u32,
        gross_weight_g: s.weight_g,
        cod: (s.cod.minor > 0).then(|| format!("{} {}", s.cod.currency, s.cod.amount_string())),
    }
}
