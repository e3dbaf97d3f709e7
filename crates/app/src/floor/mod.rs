//! The warehouse floor's set-up: pack stations (their printer and device token), product barcodes, the weight
//! rules, and the readings scales and dimensioning devices send. The pack station itself is `pack.rs`.

use codflow_domain::floor::{Barcode, FloorRules, Measure, PrinterAddr, Reading, ReadingSource, Station};
use codflow_domain::{Actor, AuditRecord, ProductId, Sku, StationCode, WarehouseCode};
use codflow_store::{Conn, catalogue, commit, floor as fstore, orders, review as rstore};
use time::OffsetDateTime;

use crate::error::ConflictKind;
use crate::{Error, Floor, Result};

mod bags;
mod inbound;
mod inbound_csv;
mod pack;
pub(crate) mod returns;
mod stats;
mod waves;

pub use bags::{HandoverView, SortOutcome};
pub use codflow_store::inbound::PoSummary;
pub use codflow_store::returns::{MonthCount, RateBy, ReturnFilter, ReturnRate};
pub use inbound::{
    AsnInput, InboundImport, LineError, LineInput, MAX_IMPORT_ROWS, PoInput, PoView, Receipt, ReceiveOutcome,
};
pub use inbound_csv::{ASN_COLUMNS, PO_COLUMNS};
pub use pack::{ItemView, LabelSent, PackView, ScanOutcome, Signal};
pub use returns::{EXPORT_COLUMNS as RETURN_COLUMNS, MAX_PHOTO_BYTES, MAX_PHOTOS, ReturnView};
pub use stats::FloorStats;
pub use waves::{MAX_WAVE, WaveOrder, WaveView};

/// A station as written by an admin.
#[derive(Clone, Debug, Default)]
pub struct StationInput {
    pub name: String,
    pub warehouse: String,
    /// `host[:port]` of a ZPL printer; empty for PDF labels in the browser.
    pub printer: Option<String>,
}

/// A reading as a device or the bridge sends it.
#[derive(Clone, Debug, Default)]
pub struct ReadingInput {
    /// The station the sender believes it serves; refused when it is not the token's.
    pub station: Option<String>,
    pub waybill: Option<String>,
    pub weight_g: i64,
    pub length_cm: Option<i64>,
    pub width_cm: Option<i64>,
    pub height_cm: Option<i64>,
    pub stable: bool,
    /// `scale` or `dws`.
    pub source: Option<String>,
}

/// Most barcodes one product carries.
pub const MAX_BARCODES: usize = 20;

const RULES_KEY: &str = "floor_rules";

pub(crate) async fn rules(conn: &mut Conn) -> Result<FloorRules> {
    let found = rstore::settings_of(conn, &[RULES_KEY]).await?;
    crate::settings::stored(&found, RULES_KEY, FloorRules::default(), |v| serde_json::from_str(v).ok())
}

fn audit(
    entity: &'static str,
    id: &str,
    action: &str,
    to: Option<String>,
    actor: Actor,
    at: OffsetDateTime,
) -> AuditRecord {
    AuditRecord::change(entity, id.to_owned(), action, None, to, actor, at)
}

impl Floor {
    pub async fn stations(&self) -> Result<Vec<Station>> {
        Ok(fstore::stations(&mut *self.store.read().await?).await?)
    }

    pub async fn station(&self, code: &StationCode) -> Result<Station> {
        fstore::station(&mut *self.store.read().await?, code).await?.ok_or(Error::NotFound("station"))
    }

    /// Creates or changes a station. True when it was created.
    pub async fn put_station(&self, code: &StationCode, input: StationInput, actor: Actor) -> Result<(Station, bool)> {
        let mut errors = codflow_domain::FieldErrors::default();
        let name = codflow_domain::catalogue::required_text("name", &input.name, 100)
            .map_err(|e| errors.push("name", e.to_string()))
            .ok();
        let warehouse =
            WarehouseCode::parse(input.warehouse.trim()).map_err(|e| errors.push("warehouse", e.to_string())).ok();
        let printer = match input.printer.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(p) => PrinterAddr::parse(p).map_err(|e| errors.push("printer", e.to_string())).ok(),
        };
        let (Some(name), Some(warehouse)) = (name, warehouse) else {
            return Err(Error::Invalid(errors));
        };
        if !errors.is_empty() {
            return Err(Error::Invalid(errors));
        }
        let now = self.clock().now();
        let mut tx = self.store.begin().await?;
        if catalogue::warehouse_by_code(&mut tx, &warehouse).await?.is_none() {
            return Err(Error::invalid("warehouse", format!("no warehouse {warehouse}")));
        }
        let existing = fstore::station(&mut tx, code).await?;
        let station = Station {
            code: code.clone(),
            name,
            warehouse,
            printer,
            has_token: existing.as_ref().is_some_and(|s| s.has_token),
            created_at: existing.as_ref().map_or(now, |s| s.created_at),
            updated_at: now,
        };
        let created = fstore::put_station(&mut tx, &station).await?;
        let to = format!(
            "{} in {}, printer {}",
            station.name,
            station.warehouse,
            station.printer.as_ref().map_or("none (PDF)", |p| p.as_str())
        );
        let action = if created { "create" } else { "update" };
        orders::insert_audit(&mut tx, &[audit("station", code.as_str(), action, Some(to), actor, now)]).await?;
        commit(tx).await?;
        Ok((station, created))
    }

    /// Gives the station a new device token (for `codflow scale-bridge` or a DWS device) and returns it: the
    /// only time it is visible. The previous token stops working.
    pub async fn issue_station_token(&self, code: &StationCode, actor: Actor) -> Result<String> {
        let mut bytes = [0u8; 24];
        getrandom::fill(&mut bytes).map_err(|e| Error::Unavailable(e.to_string()))?;
        let token = format!("cfd_{}", codflow_domain::text::hex(&bytes));
        let now = self.clock().now();
        let mut tx = self.store.begin().await?;
        if !fstore::set_station_token(&mut tx, code, Some(&crate::hash_token(&token)), now).await? {
            return Err(Error::NotFound("station"));
        }
        let a = audit("station", code.as_str(), "issue_device_token", None, actor, now);
        orders::insert_audit(&mut tx, &[a]).await?;
        commit(tx).await?;
        Ok(token)
    }

    /// The station a device token belongs to; `Unauthorized` for any other token.
    pub async fn station_of_token(&self, token: &str) -> Result<Station> {
        if !token.starts_with("cfd_") || token.len() > 100 {
            return Err(Error::Unauthorized);
        }
        fstore::station_by_token(&mut *self.store.read().await?, &crate::hash_token(token))
            .await?
            .ok_or(Error::Unauthorized)
    }

    /// Stores a reading from a device of `station`.
    pub async fn record_reading(&self, station: &Station, input: ReadingInput) -> Result<Reading> {
        if let Some(named) = input.station.as_deref().filter(|s| !s.is_empty())
            && named != station.code.as_str()
        {
            return Err(Error::Conflict {
                kind: ConflictKind::PackNotReady,
                message: format!(
                    "this device token belongs to station {}, not {named}; use that station's token",
                    station.code
                ),
            });
        }
        let mut errors = codflow_domain::FieldErrors::default();
        let measure = Measure::parse(input.weight_g, [input.length_cm, input.width_cm, input.height_cm])
            .map_err(|e| push_domain(&mut errors, e))
            .ok();
        let source = match input.source.as_deref().unwrap_or("scale") {
            "scale" => Some(ReadingSource::Scale),
            "dws" => Some(ReadingSource::Dws),
            other => {
                errors.push("source", format!("{other:?} is not a device source (scale or dws)"));
                None
            }
        };
        let waybill = match input.waybill.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(w) if w.len() <= 64 && w.bytes().all(|b| b.is_ascii_graphic()) => Some(w.to_owned()),
            Some(_) => {
                errors.push("waybill", "a waybill is 1 to 64 printable characters without spaces");
                None
            }
        };
        let (Some(measure), Some(source)) = (measure, source) else { return Err(Error::Invalid(errors)) };
        if !errors.is_empty() {
            return Err(Error::Invalid(errors));
        }
        let reading = Reading {
            id: codflow_domain::AuditId::generate().to_string(),
            station: station.code.clone(),
            waybill,
            measure,
            stable: input.stable,
            source,
            at: self.clock().now(),
        };
        let mut tx = self.store.begin().await?;
        fstore::insert_reading(&mut tx, &reading).await?;
        commit(tx).await?;
        Ok(reading)
    }

    pub async fn floor_rules(&self) -> Result<FloorRules> {
        rules(&mut *self.store.read().await?).await
    }

    pub async fn set_floor_rules(&self, r: FloorRules, actor: Actor) -> Result<FloorRules> {
        let r = r.validate().map_err(|e| {
            let mut errors = codflow_domain::FieldErrors::default();
            push_domain(&mut errors, e);
            Error::Invalid(errors)
        })?;
        let json = serde_json::to_string(&r).map_err(|e| Error::Failed(e.to_string()))?;
        let now = self.clock().now();
        let mut tx = self.store.begin().await?;
        rstore::set_setting(&mut tx, RULES_KEY, &json, now).await?;
        orders::insert_audit(&mut tx, &[audit("settings", RULES_KEY, "update", Some(json.clone()), actor, now)])
            .await?;
        commit(tx).await?;
        Ok(r)
    }

    pub async fn barcodes(&self, sku: &Sku) -> Result<Vec<Barcode>> {
        let mut conn = self.store.read().await?;
        let p = catalogue::product_by_sku(&mut conn, sku).await?.ok_or(Error::NotFound("product"))?;
        Ok(fstore::barcodes_of(&mut conn, &p.id).await?)
    }

    /// Makes `codes` the product's barcodes (the whole set): each read strictly, duplicates collapsed; a code
    /// already on another product is refused naming that product.
    pub async fn set_barcodes(&self, sku: &Sku, codes: &[String], actor: Actor) -> Result<Vec<Barcode>> {
        let mut errors = codflow_domain::FieldErrors::default();
        if codes.len() > MAX_BARCODES {
            errors.push("barcodes", format!("at most {MAX_BARCODES} barcodes per product"));
        }
        let mut parsed: Vec<Barcode> = Vec::new();
        for (i, c) in codes.iter().enumerate().take(MAX_BARCODES) {
            match Barcode::parse(c) {
                Ok(b) if !parsed.contains(&b) => parsed.push(b),
                Ok(_) => {}
                Err(e) => errors.push(format!("barcodes[{i}]"), e.to_string()),
            }
        }
        if !errors.is_empty() {
            return Err(Error::Invalid(errors));
        }
        parsed.sort();
        let now = self.clock().now();
        let mut tx = self.store.begin().await?;
        let p = catalogue::product_by_sku(&mut tx, sku).await?.ok_or(Error::NotFound("product"))?;
        for b in &parsed {
            if let Some(owner) = fstore::barcode_owner(&mut tx, b).await?
                && owner != p.id
            {
                let other = sku_of(&mut tx, &owner).await?;
                return Err(Error::Conflict {
                    kind: ConflictKind::BarcodeTaken,
                    message: format!("barcode {b} is already on product {other}; remove it there first"),
                });
            }
        }
        fstore::set_barcodes(&mut tx, &p.id, &parsed, now).await?;
        let to = parsed.iter().map(Barcode::as_str).collect::<Vec<_>>().join(", ");
        orders::insert_audit(&mut tx, &[audit("product", sku.as_str(), "set_barcodes", Some(to), actor, now)]).await?;
        commit(tx).await?;
        Ok(parsed)
    }
}

/// A domain refusal under the field it names.
pub(crate) fn push_domain(errors: &mut codflow_domain::FieldErrors, e: codflow_domain::Error) {
    match e {
        codflow_domain::Error::Invalid { what, message } => errors.push(what, message),
        other => errors.push("input", other.to_string()),
    }
}

async fn sku_of(conn: &mut Conn, id: &ProductId) -> Result<String> {
    let found = catalogue::products_by_id(conn, &[id]).await?;
    Ok(found.first().map_or_else(|| id.to_string(), |p| p.sku.to_string()))
}
