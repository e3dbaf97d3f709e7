//! Inbound goods: purchase orders and advance shipping notices (by API, CSV and console), receiving them by
//! scan at the dock (good and damaged counted per SKU, takebacks allowed until closed), put-away to bins, and
//! closing a receipt: stock rises by the good units with the ASN and its purchase order as the audited reason,
//! and any short, over, damaged or unannounced item opens one task for the warehouse.

use std::collections::{BTreeMap, HashSet};

use codflow_domain::anomaly::{AnomalyKind, Thresholds};
use codflow_domain::inbound::{self, Asn, AsnLine, AsnStatus, Condition, Discrepancy, PoLine, PoStatus, PurchaseOrder};
use codflow_domain::work::{Task, TaskStatus};
use codflow_domain::{
    Actor, AsnId, AsnRef, AuditRecord, BinLocation, FieldErrors, PoNumber, ProductId, PurchaseOrderId, Sku, TaskId,
    WarehouseCode,
};
use codflow_store::inbound::{self as istore, PoSummary};
use codflow_store::{Conn, catalogue, commit, orders, tasks as tstore};
use time::OffsetDateTime;

use super::Signal;
use super::pack::product_by_code;
use crate::error::ConflictKind;
use crate::{Error, Floor, Result};

/// One line of a purchase order or ASN as written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LineInput {
    pub sku: String,
    pub quantity: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PoInput {
    pub number: String,
    pub supplier: String,
    pub warehouse: String,
    pub expected_on: Option<String>,
    pub note: Option<String>,
    pub lines: Vec<LineInput>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AsnInput {
    pub reference: String,
    /// The purchase order's number or id.
    pub purchase_order: String,
    pub tracking: Option<String>,
    pub expected_on: Option<String>,
    /// Empty: everything still outstanding on the purchase order.
    pub lines: Vec<LineInput>,
}

/// A purchase order with its notices.
#[derive(Clone, Debug)]
pub struct PoView {
    pub po: PurchaseOrder,
    pub asns: Vec<Asn>,
}

/// What a receiving scan came to: a stable event code with its values (worded by the console's catalogue),
/// the same in English, and the notice as it now stands.
#[derive(Clone, Debug)]
pub struct ReceiveOutcome {
    pub signal: Signal,
    pub event: &'static str,
    pub params: Vec<(&'static str, String)>,
    pub message: String,
    pub asn: Option<Asn>,
}

/// What closing a receipt did.
#[derive(Clone, Debug)]
pub struct Receipt {
    pub asn: Asn,
    pub discrepancies: Vec<Discrepancy>,
    pub task: Option<TaskId>,
    /// Good units added to stock.
    pub stocked: i64,
}

/// A bad line of an imported file, with its field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineError {
    pub line: u64,
    pub field: String,
    pub message: String,
}

/// What an import of purchase orders or ASNs did: the numbers created, those already present as they are
/// (a replay), and the bad lines (their order or notice did not land; the others did).
#[derive(Clone, Debug, Default)]
pub struct InboundImport {
    pub created: Vec<String>,
    pub unchanged: Vec<String>,
    pub errors: Vec<LineError>,
}

/// Most rows of one imported file.
pub const MAX_IMPORT_ROWS: usize = 50_000;

fn english(event: &str, p: &[(&str, String)]) -> String {
    let v = |k: &str| p.iter().find(|(n, _)| *n == k).map_or("", |(_, v)| v.as_str());
    match event {
        "asn_opened" => format!("ASN {} of {} opened: {} unit(s) announced", v("asn"), v("po"), v("units")),
        "counted" => format!("{}: {} of {} counted", v("sku"), v("counted"), v("expected")),
        "counted_damaged" => {
            format!("{}: {} damaged ({} of {} counted)", v("sku"), v("damaged"), v("counted"), v("expected"))
        }
        "line_complete" => format!("{}: all {} counted", v("sku"), v("expected")),
        "over" => format!("{}: {} counted, only {} announced", v("sku"), v("counted"), v("expected")),
        "unexpected" => format!("{} is not on ASN {}: counted as unannounced", v("sku"), v("asn")),
        "taken_back" => format!("{}: count taken back to {}", v("sku"), v("counted")),
        "cannot_take_back" => format!("{}: nothing counted to take back", v("sku")),
        "unknown_code" => format!("{} is not a product, ASN or purchase order codflow knows", v("code")),
        "scan_asn_first" => format!("{} is a product: scan the ASN or purchase order first", v("sku")),
        "already_received" => format!("ASN {} was received on {}", v("asn"), v("at")),
        "not_receivable" => format!("{} is {}: nothing is expected against it", v("code"), v("status")),
        "other_warehouse" => format!("ASN {} is for warehouse {}, not this one", v("asn"), v("warehouse")),
        "nothing_outstanding" => format!("purchase order {} has nothing outstanding", v("po")),
        other => other.to_owned(),
    }
}

fn outcome(
    signal: Signal,
    event: &'static str,
    params: Vec<(&'static str, String)>,
    asn: Option<Asn>,
) -> ReceiveOutcome {
    let message = english(event, &params);
    ReceiveOutcome { signal, event, params, message, asn }
}

fn audit(
    entity: &'static str,
    id: &str,
    action: &str,
    to: Option<String>,
    actor: &Actor,
    at: OffsetDateTime,
) -> AuditRecord {
    AuditRecord::change(entity, id.to_owned(), action, None, to, actor.clone(), at)
}

fn busy() -> Error {
    Error::Conflict { kind: ConflictKind::Busy, message: "the notice changed meanwhile; scan it again".into() }
}

fn optional_text(e: &mut FieldErrors, path: &str, s: Option<&str>, max: usize) -> Option<String> {
    let t = s.map(str::trim).filter(|t| !t.is_empty())?;
    if t.chars().count() > max || t.chars().any(char::is_control) {
        e.push(path, format!("at most {max} characters, no control characters"));
        return None;
    }
    Some(t.to_owned())
}

/// Checks lines against the catalogue: each SKU known, once, with a quantity.
async fn resolve_lines(
    conn: &mut Conn,
    e: &mut FieldErrors,
    lines: &[LineInput],
) -> Result<Vec<(ProductId, Sku, i64)>> {
    if lines.len() > inbound::MAX_LINES {
        e.push("lines", format!("at most {} lines", inbound::MAX_LINES));
        return Ok(Vec::new());
    }
    let mut out = Vec::with_capacity(lines.len());
    let mut seen = HashSet::new();
    for (i, l) in lines.iter().enumerate() {
        let qty = e.take(format!("lines[{i}].quantity"), inbound::quantity(l.quantity));
        let Some(sku) = e.take(format!("lines[{i}].sku"), Sku::parse(l.sku.trim())) else { continue };
        if !seen.insert(sku.clone()) {
            e.push(format!("lines[{i}].sku"), format!("{sku} is on an earlier line; put its units on one line"));
            continue;
        }
        match catalogue::product_by_sku(conn, &sku).await? {
            None => e.push(format!("lines[{i}].sku"), format!("no product {sku}")),
            Some(p) => {
                if let Some(q) = qty {
                    out.push((p.id, sku, q));
                }
            }
        }
    }
    Ok(out)
}

fn po_matches(existing: &PurchaseOrder, new: &PurchaseOrder) -> bool {
    let lines = |p: &PurchaseOrder| {
        let mut v: Vec<(Sku, i64)> = p.lines.iter().map(|l| (l.sku.clone(), l.ordered)).collect();
        v.sort();
        v
    };
    existing.supplier == new.supplier
        && existing.warehouse == new.warehouse
        && existing.expected_on == new.expected_on
        && existing.note == new.note
        && lines(existing) == lines(new)
}

fn asn_matches(existing: &Asn, new: &Asn) -> bool {
    let lines = |a: &Asn| {
        let mut v: Vec<(Sku, i64)> =
            a.lines.iter().filter(|l| l.expected > 0).map(|l| (l.sku.clone(), l.expected)).collect();
        v.sort();
        v
    };
    existing.po == new.po
        && existing.tracking == new.tracking
        && existing.expected_on == new.expected_on
        && lines(existing) == lines(new)
}

impl Floor {
    // ----------------------------------------------------------------------------------- purchase orders

    /// Places a purchase order. The same number sent again with the same content is a replay: the order as
    /// stored and false; with other content it is refused.
    pub async fn create_po(&self, input: PoInput, actor: Actor) -> Result<(PurchaseOrder, bool)> {
        let mut e = FieldErrors::default();
        let number = e.take("number", PoNumber::parse(input.number.trim()));
        let supplier = e.take("supplier", codflow_domain::catalogue::required_text("supplier", &input.supplier, 200));
        let warehouse = e.take("warehouse", WarehouseCode::parse(input.warehouse.trim()));
        let expected_on = input
            .expected_on
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .and_then(|s| e.take("expected_on", inbound::day(s)));
        let note = optional_text(&mut e, "note", input.note.as_deref(), 500);
        if input.lines.is_empty() {
            e.push("lines", "a purchase order needs at least one line");
        }
        let now = self.clock().now();
        let mut tx = self.store.begin().await?;
        let lines = resolve_lines(&mut tx, &mut e, &input.lines).await?;
        let w = match &warehouse {
            Some(code) => {
                let w = catalogue::warehouse_by_code(&mut tx, code).await?;
                if w.is_none() {
                    e.push("warehouse", format!("no warehouse {code}"));
                }
                w
            }
            None => None,
        };
        let (Some(number), Some(supplier), Some(w)) = (number, supplier, w) else {
            return Err(Error::Invalid(e));
        };
        if !e.is_empty() {
            return Err(Error::Invalid(e));
        }
        let po = PurchaseOrder {
            id: PurchaseOrderId::generate(),
            number: number.clone(),
            supplier,
            warehouse: w.code.clone(),
            status: PoStatus::Open,
            expected_on,
            note,
            lines: lines
                .into_iter()
                .map(|(product, sku, ordered)| PoLine { product, sku, ordered, received: 0, damaged: 0 })
                .collect(),
            created_at: now,
            updated_at: now,
        };
        if let Some(existing) = istore::po_by_number(&mut tx, &number).await? {
            return if po_matches(&existing, &po) {
                Ok((existing, false))
            } else {
                Err(Error::Conflict {
                    kind: ConflictKind::PoExists,
                    message: format!("purchase order {number} already exists with other content ({})", existing.id),
                })
            };
        }
        match istore::insert_po(&mut tx, &po, &w.id).await {
            Err(err) if err.is_unique_violation() => {
                return Err(Error::Conflict {
                    kind: ConflictKind::PoExists,
                    message: format!("purchase order {number} was created meanwhile; send it again"),
                });
            }
            r => r?,
        }
        let units: i64 = po.lines.iter().map(|l| l.ordered).sum();
        let what = format!(
            "{} from {} for {}: {} line(s), {units} unit(s)",
            po.number,
            po.supplier,
            po.warehouse,
            po.lines.len()
        );
        orders::insert_audit(&mut tx, &[audit("purchase_order", po.id.as_str(), "create", Some(what), &actor, now)])
            .await?;
        commit(tx).await?;
        Ok((po, true))
    }

    /// A purchase order by its id or its number.
    pub async fn find_po(&self, code: &str) -> Result<PurchaseOrder> {
        let mut conn = self.store.read().await?;
        find_po(&mut conn, code).await?.ok_or(Error::NotFound("purchase order"))
    }

    pub async fn po_view(&self, code: &str) -> Result<PoView> {
        let mut conn = self.store.read().await?;
        let po = find_po(&mut conn, code).await?.ok_or(Error::NotFound("purchase order"))?;
        let asns = istore::asns_of_po(&mut conn, &po.id).await?;
        Ok(PoView { po, asns })
    }

    /// Purchase orders newest first, a page at a time.
    pub async fn pos(
        &self,
        status: Option<PoStatus>,
        cursor: Option<&str>,
        limit: i64,
    ) -> Result<(Vec<PoSummary>, Option<String>)> {
        let after = cursor
            .map(|c| {
                PurchaseOrderId::parse(c).map_err(|_| Error::invalid("cursor", "is not a cursor from a previous page"))
            })
            .transpose()?;
        let rows = istore::pos(&mut *self.store.read().await?, status, after.as_ref(), limit + 1).await?;
        Ok(crate::split_page(rows, limit, |s| s.po.id.to_string()))
    }

    /// Withdraws a purchase order nothing has arrived against; its notices are cancelled with it.
    pub async fn cancel_po(&self, code: &str, reason: &str, actor: Actor) -> Result<PurchaseOrder> {
        self.end_po(code, reason, PoStatus::Cancelled, actor).await
    }

    /// Closes a partly received purchase order: what is still short will not come.
    pub async fn close_po(&self, code: &str, reason: &str, actor: Actor) -> Result<PurchaseOrder> {
        self.end_po(code, reason, PoStatus::Closed, actor).await
    }

    async fn end_po(&self, code: &str, reason: &str, to: PoStatus, actor: Actor) -> Result<PurchaseOrder> {
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(Error::invalid("reason", "say why"));
        }
        codflow_domain::text::line(reason, 200).map_err(|e| Error::invalid("reason", e.to_string()))?;
        let now = self.clock().now();
        let mut tx = self.store.begin().await?;
        let po = find_po(&mut tx, code).await?.ok_or(Error::NotFound("purchase order"))?;
        let allowed_from = match to {
            PoStatus::Cancelled => PoStatus::Open,
            _ => PoStatus::PartlyReceived,
        };
        let asns = istore::asns_of_po(&mut tx, &po.id).await?;
        let receiving = asns.iter().find(|a| {
            a.status == AsnStatus::Receiving || (to == PoStatus::Cancelled && a.lines.iter().any(|l| l.counted() > 0))
        });
        if po.status != allowed_from || receiving.is_some() {
            let why = match (to, receiving) {
                (_, Some(a)) => format!("ASN {} is being received: close or take back its counts first", a.reference),
                (PoStatus::Cancelled, _) => {
                    "only a purchase order nothing has arrived against can be cancelled; close it instead".into()
                }
                _ => "only a partly received purchase order can be closed short".into(),
            };
            return Err(Error::Conflict {
                kind: ConflictKind::NotReceivable,
                message: format!("purchase order {} is {}: {why}", po.number, po.status.as_str()),
            });
        }
        if !istore::set_po_status(&mut tx, &po.id, po.status, to, now).await? {
            return Err(busy());
        }
        let mut audits = vec![{
            let mut a = AuditRecord::change(
                "purchase_order",
                po.id.to_string(),
                if to == PoStatus::Cancelled { "cancel" } else { "close" },
                Some(po.status.as_str().into()),
                Some(to.as_str().into()),
                actor.clone(),
                now,
            );
            a.reason = Some(reason.to_owned());
            a
        }];
        for a in asns.iter().filter(|a| a.status == AsnStatus::Expected) {
            istore::set_asn_status(&mut tx, &a.id, &[AsnStatus::Expected], AsnStatus::Cancelled, now).await?;
            audits.push(audit(
                "asn",
                a.id.as_str(),
                "cancel",
                Some(format!("with purchase order {}", po.number)),
                &actor,
                now,
            ));
        }
        orders::insert_audit(&mut tx, &audits).await?;
        let po = find_po(&mut tx, po.id.as_str()).await?.ok_or(Error::NotFound("purchase order"))?;
        commit(tx).await?;
        Ok(po)
    }

    // ----------------------------------------------------------------------------------- notices

    /// Announces a supplier shipment against a purchase order that still expects goods. Without lines it
    /// announces everything outstanding. A replay (same reference, same content) returns the stored notice.
    pub async fn create_asn(&self, input: AsnInput, actor: Actor) -> Result<(Asn, bool)> {
        let mut e = FieldErrors::default();
        let reference = e.take("reference", AsnRef::parse(input.reference.trim()));
        let tracking = optional_text(&mut e, "tracking", input.tracking.as_deref(), 64);
        let expected_on = input
            .expected_on
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .and_then(|s| e.take("expected_on", inbound::day(s)));
        let mut tx = self.store.begin().await?;
        let po = find_po(&mut tx, input.purchase_order.trim()).await?;
        if po.is_none() {
            e.push("purchase_order", format!("no purchase order {:?}", input.purchase_order.trim()));
        }
        let mut lines = resolve_lines(&mut tx, &mut e, &input.lines).await?;
        let (Some(reference), Some(po)) = (reference, po) else { return Err(Error::Invalid(e)) };
        for (i, (product, sku, _)) in lines.iter().enumerate() {
            if !po.lines.iter().any(|l| &l.product == product) {
                e.push(format!("lines[{i}].sku"), format!("{sku} is not on purchase order {}", po.number));
            }
        }
        if !e.is_empty() {
            return Err(Error::Invalid(e));
        }
        if lines.is_empty() {
            lines = po
                .lines
                .iter()
                .filter(|l| l.outstanding() > 0)
                .map(|l| (l.product.clone(), l.sku.clone(), l.outstanding()))
                .collect();
        }
        let now = self.clock().now();
        let asn = Asn {
            id: AsnId::generate(),
            reference: reference.clone(),
            po: po.id.clone(),
            po_number: po.number.clone(),
            warehouse: po.warehouse.clone(),
            status: AsnStatus::Expected,
            tracking,
            expected_on,
            lines: lines
                .into_iter()
                .map(|(product, sku, expected)| AsnLine { product, sku, expected, good: 0, damaged: 0, bin: None })
                .collect(),
            created_at: now,
            updated_at: now,
            received_at: None,
        };
        if let Some(existing) = istore::asn_by_ref(&mut tx, &reference).await? {
            return if asn_matches(&existing, &asn) {
                Ok((existing, false))
            } else {
                Err(Error::Conflict {
                    kind: ConflictKind::AsnExists,
                    message: format!("ASN {reference} already exists with other content ({})", existing.id),
                })
            };
        }
        if !po.status.expects_goods() {
            return Err(Error::Conflict {
                kind: ConflictKind::NotReceivable,
                message: format!(
                    "purchase order {} is {}: nothing more is expected against it",
                    po.number,
                    po.status.as_str()
                ),
            });
        }
        if asn.lines.is_empty() {
            return Err(Error::Conflict {
                kind: ConflictKind::NotReceivable,
                message: format!(
                    "purchase order {} has nothing outstanding; name the lines this shipment carries",
                    po.number
                ),
            });
        }
        match istore::insert_asn(&mut tx, &asn).await {
            Err(err) if err.is_unique_violation() => {
                return Err(Error::Conflict {
                    kind: ConflictKind::AsnExists,
                    message: format!("ASN {reference} was created meanwhile; send it again"),
                });
            }
            r => r?,
        }
        let units: i64 = asn.lines.iter().map(|l| l.expected).sum();
        let what = format!("{} against {}: {} line(s), {units} unit(s)", asn.reference, po.number, asn.lines.len());
        orders::insert_audit(&mut tx, &[audit("asn", asn.id.as_str(), "create", Some(what), &actor, now)]).await?;
        commit(tx).await?;
        Ok((asn, true))
    }

    /// An ASN by its id or reference.
    pub async fn find_asn(&self, code: &str) -> Result<Asn> {
        find_asn(&mut *self.store.read().await?, code).await?.ok_or(Error::NotFound("ASN"))
    }

    /// Notices still to receive, oldest expected first.
    pub async fn open_asns(&self, warehouse: Option<&WarehouseCode>, limit: i64) -> Result<Vec<Asn>> {
        Ok(istore::open_asns(&mut *self.store.read().await?, warehouse, limit).await?)
    }

    /// Cancels a notice nothing has been counted on.
    pub async fn cancel_asn(&self, code: &str, actor: Actor) -> Result<Asn> {
        let now = self.clock().now();
        let mut tx = self.store.begin().await?;
        let asn = find_asn(&mut tx, code).await?.ok_or(Error::NotFound("ASN"))?;
        if asn.status != AsnStatus::Expected
            && !(asn.status == AsnStatus::Receiving && asn.lines.iter().all(|l| l.counted() == 0))
        {
            return Err(Error::Conflict {
                kind: ConflictKind::NotReceivable,
                message: format!("ASN {} is {} with counts: take them back first", asn.reference, asn.status.as_str()),
            });
        }
        if !istore::set_asn_status(
            &mut tx,
            &asn.id,
            &[AsnStatus::Expected, AsnStatus::Receiving],
            AsnStatus::Cancelled,
            now,
        )
        .await?
        {
            return Err(busy());
        }
        orders::insert_audit(&mut tx, &[audit("asn", asn.id.as_str(), "cancel", None, &actor, now)]).await?;
        let asn = find_asn(&mut tx, asn.id.as_str()).await?.ok_or(Error::NotFound("ASN"))?;
        commit(tx).await?;
        Ok(asn)
    }

    // ----------------------------------------------------------------------------------- receiving

    /// One scan at the dock. With no notice open, a code opens one: an ASN's reference, or a purchase order's
    /// number (a notice of everything outstanding is made for it when it has no open one). With a notice
    /// open, a product's barcode or SKU counts `quantity` units in `condition` (a negative quantity takes a
    /// count back); another notice's code switches to it. Like the pack station, what was scanned is answered
    /// with a signal, never an error; errors are for malformed requests.
    pub async fn receive_scan(
        &self,
        warehouse: Option<&WarehouseCode>,
        open: Option<&AsnId>,
        code: &str,
        quantity: i64,
        condition: Condition,
        actor: Actor,
    ) -> Result<ReceiveOutcome> {
        let code = code.trim();
        if code.is_empty() || code.len() > 64 || !code.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::invalid("code", "a scan is 1 to 64 printable characters without spaces"));
        }
        if quantity == 0 || quantity.abs() > inbound::MAX_QUANTITY {
            return Err(Error::invalid(
                "quantity",
                format!("1 to {} units, or negative to take a count back", inbound::MAX_QUANTITY),
            ));
        }
        let mut conn = self.store.read().await?;
        let active = match open {
            Some(id) => istore::asn(&mut conn, id).await?.filter(|a| a.status.is_open()),
            None => None,
        };
        if let Some(asn) = &active
            && let Some(product) = product_by_code(&mut conn, code).await?
        {
            drop(conn);
            return self.count(asn, &product.id, &product.sku, quantity, condition, actor).await;
        }
        if let Some(asn) = find_asn(&mut conn, code).await? {
            drop(conn);
            return self.open_asn(asn, warehouse, actor).await;
        }
        if let Some(po) = find_po(&mut conn, code).await? {
            let mut asns = istore::asns_of_po(&mut conn, &po.id).await?;
            drop(conn);
            let made = asns.len();
            if let Some(i) = asns.iter().position(|a| a.status.is_open()) {
                return self.open_asn(asns.swap_remove(i), warehouse, actor).await;
            }
            if !po.status.expects_goods() {
                let params = vec![("code", po.number.to_string()), ("status", po.status.as_str().into())];
                return Ok(outcome(Signal::Wrong, "not_receivable", params, None));
            }
            if warehouse.is_some_and(|w| w != &po.warehouse) {
                let params = vec![("asn", po.number.to_string()), ("warehouse", po.warehouse.to_string())];
                return Ok(outcome(Signal::Wrong, "other_warehouse", params, None));
            }
            let n = made + 1;
            let reference = AsnRef::parse(&format!("{}/{n}", po.number)).map_err(|_| {
                Error::invalid("code", format!("announce an ASN for {}: its number is too long to make one", po.number))
            })?;
            let input =
                AsnInput { reference: reference.to_string(), purchase_order: po.id.to_string(), ..Default::default() };
            return match self.create_asn(input, actor.clone()).await {
                Ok((asn, _)) => self.open_asn(asn, warehouse, actor).await,
                Err(Error::Conflict { kind: ConflictKind::NotReceivable, .. }) => {
                    Ok(outcome(Signal::Wrong, "nothing_outstanding", vec![("po", po.number.to_string())], None))
                }
                Err(e) => Err(e),
            };
        }
        let product = product_by_code(&mut conn, code).await?;
        drop(conn);
        Ok(match product {
            Some(p) => outcome(Signal::Wrong, "scan_asn_first", vec![("sku", p.sku.to_string())], None),
            None => outcome(Signal::Wrong, "unknown_code", vec![("code", code.to_owned())], None),
        })
    }

    async fn open_asn(&self, asn: Asn, warehouse: Option<&WarehouseCode>, actor: Actor) -> Result<ReceiveOutcome> {
        let name = vec![("asn", asn.reference.to_string())];
        if warehouse.is_some_and(|w| w != &asn.warehouse) {
            let params = vec![("asn", asn.reference.to_string()), ("warehouse", asn.warehouse.to_string())];
            return Ok(outcome(Signal::Wrong, "other_warehouse", params, None));
        }
        match asn.status {
            AsnStatus::Received => {
                let at = asn.received_at.map(|t| t.date().to_string()).unwrap_or_default();
                Ok(outcome(Signal::Info, "already_received", [name, vec![("at", at)]].concat(), Some(asn)))
            }
            AsnStatus::Cancelled => {
                let params = vec![("code", asn.reference.to_string()), ("status", asn.status.as_str().into())];
                Ok(outcome(Signal::Wrong, "not_receivable", params, Some(asn)))
            }
            AsnStatus::Expected | AsnStatus::Receiving => {
                let now = self.clock().now();
                let mut asn = asn;
                if asn.status == AsnStatus::Expected {
                    let mut tx = self.store.begin().await?;
                    istore::set_asn_status(&mut tx, &asn.id, &[AsnStatus::Expected], AsnStatus::Receiving, now).await?;
                    orders::insert_audit(
                        &mut tx,
                        &[audit("asn", asn.id.as_str(), "start_receiving", None, &actor, now)],
                    )
                    .await?;
                    commit(tx).await?;
                    asn.status = AsnStatus::Receiving;
                }
                let units: i64 = asn.lines.iter().map(|l| l.expected).sum();
                let params = vec![
                    ("asn", asn.reference.to_string()),
                    ("po", asn.po_number.to_string()),
                    ("units", units.to_string()),
                ];
                Ok(outcome(Signal::Ok, "asn_opened", params, Some(asn)))
            }
        }
    }

    async fn count(
        &self,
        asn: &Asn,
        product: &ProductId,
        sku: &Sku,
        quantity: i64,
        condition: Condition,
        actor: Actor,
    ) -> Result<ReceiveOutcome> {
        let (good, damaged) = match condition {
            Condition::Good => (quantity, 0),
            Condition::Damaged => (0, quantity),
        };
        let now = self.clock().now();
        let mut tx = self.store.begin().await?;
        if !istore::set_asn_status(
            &mut tx,
            &asn.id,
            &[AsnStatus::Receiving, AsnStatus::Expected],
            AsnStatus::Receiving,
            now,
        )
        .await?
        {
            return Err(busy());
        }
        let counted = istore::count(&mut tx, &asn.id, product, good, damaged).await?;
        if !counted {
            drop(tx);
            let asn = find_asn(&mut *self.store.read().await?, asn.id.as_str()).await?;
            return Ok(outcome(Signal::Wrong, "cannot_take_back", vec![("sku", sku.to_string())], asn));
        }
        let what = format!("{sku} {quantity:+} {}", condition.as_str());
        orders::insert_audit(&mut tx, &[audit("asn", asn.id.as_str(), "count", Some(what), &actor, now)]).await?;
        let asn = find_asn(&mut tx, asn.id.as_str()).await?.ok_or(Error::NotFound("ASN"))?;
        commit(tx).await?;
        let line = asn.lines.iter().find(|l| &l.product == product).cloned();
        let Some(line) = line else { return Err(busy()) };
        let params = vec![
            ("sku", sku.to_string()),
            ("counted", line.counted().to_string()),
            ("expected", line.expected.to_string()),
            ("damaged", line.damaged.to_string()),
            ("asn", asn.reference.to_string()),
        ];
        let (signal, event) = if quantity < 0 {
            (Signal::Info, "taken_back")
        } else if line.expected == 0 {
            (Signal::Wrong, "unexpected")
        } else if line.counted() > line.expected {
            (Signal::Wrong, "over")
        } else if condition == Condition::Damaged {
            (Signal::Wrong, "counted_damaged")
        } else if line.counted() == line.expected {
            (Signal::Done, "line_complete")
        } else {
            (Signal::Ok, "counted")
        };
        Ok(outcome(signal, event, params, Some(asn)))
    }

    /// Names the bin a line's good units go to before the receipt is closed.
    pub async fn put_away(&self, asn: &AsnId, sku: &Sku, bin: &str, actor: Actor) -> Result<Asn> {
        let bin = BinLocation::parse(bin).map_err(|e| Error::invalid("bin", e.to_string()))?;
        let now = self.clock().now();
        let mut tx = self.store.begin().await?;
        let found = istore::asn(&mut tx, asn).await?.ok_or(Error::NotFound("ASN"))?;
        if !found.status.is_open() {
            return Err(not_open(&found));
        }
        let Some(line) = found.lines.iter().find(|l| &l.sku == sku) else {
            return Err(Error::invalid("sku", format!("{sku} is not on ASN {}", found.reference)));
        };
        istore::set_bin(&mut tx, asn, &line.product, Some(&bin)).await?;
        let what = format!("{sku} to {}", bin.as_str());
        orders::insert_audit(&mut tx, &[audit("asn", asn.as_str(), "put_away", Some(what), &actor, now)]).await?;
        let asn = istore::asn(&mut tx, asn).await?.ok_or(Error::NotFound("ASN"))?;
        commit(tx).await?;
        Ok(asn)
    }

    /// Closes a receipt: every line with good units needs a bin (given here by SKU, named earlier, or the
    /// SKU's own bin in the warehouse). Stock rises by the good units with the notice as the reason; the
    /// purchase order's lines and status follow; differences open one task.
    pub async fn close_receipt(&self, id: &AsnId, bins: &BTreeMap<String, String>, actor: Actor) -> Result<Receipt> {
        let now = self.clock().now();
        let mut tx = self.store.begin().await?;
        let asn = istore::asn(&mut tx, id).await?.ok_or(Error::NotFound("ASN"))?;
        if !asn.status.is_open() {
            return Err(not_open(&asn));
        }
        if asn.lines.iter().all(|l| l.counted() == 0) {
            return Err(Error::Conflict {
                kind: ConflictKind::NothingCounted,
                message: format!(
                    "nothing has been counted on ASN {}: count it, or cancel it if it will not come",
                    asn.reference
                ),
            });
        }
        let w = catalogue::warehouse_by_code(&mut tx, &asn.warehouse).await?.ok_or(Error::NotFound("warehouse"))?;
        let mut e = FieldErrors::default();
        for sku in bins.keys() {
            if !asn.lines.iter().any(|l| l.sku.as_str() == sku) {
                e.push(format!("bins.{sku}"), format!("{sku} is not on ASN {}", asn.reference));
            }
        }
        let mut put = Vec::new();
        for l in asn.lines.iter().filter(|l| l.good > 0) {
            let given = bins.get(l.sku.as_str()).map(|b| b.trim()).filter(|b| !b.is_empty());
            let bin = match given {
                Some(b) => e.take(format!("bins.{}", l.sku), BinLocation::parse(b)),
                None => match &l.bin {
                    Some(b) => Some(b.clone()),
                    None => catalogue::stock_location(&mut tx, &w.id, &l.product).await?,
                },
            };
            match bin {
                Some(b) => put.push((l, b)),
                None if e.0.iter().any(|x| x.path == format!("bins.{}", l.sku)) => {}
                None => e.push(
                    format!("bins.{}", l.sku),
                    format!("put the {} good unit(s) of {} away to a bin", l.good, l.sku),
                ),
            }
        }
        if !e.is_empty() {
            return Err(Error::Invalid(e));
        }
        if !istore::set_asn_status(
            &mut tx,
            &asn.id,
            &[AsnStatus::Expected, AsnStatus::Receiving],
            AsnStatus::Received,
            now,
        )
        .await?
        {
            return Err(busy());
        }
        let reason = format!("received on ASN {} of purchase order {}", asn.reference, asn.po_number);
        let mut audits = Vec::new();
        let mut stocked = 0;
        for (l, bin) in &put {
            istore::set_bin(&mut tx, &asn.id, &l.product, Some(bin)).await?;
            let (before, after) = istore::add_stock(&mut tx, &w.id, &l.product, l.good, now).await?;
            stocked += l.good;
            let key = format!("{}/{}", asn.warehouse, l.sku);
            let mut a = AuditRecord::change(
                "stock",
                key.clone(),
                "receive",
                Some(before.to_string()),
                Some(after.to_string()),
                actor.clone(),
                now,
            );
            a.reason = Some(reason.clone());
            audits.push(a);
            let old = catalogue::stock_location(&mut tx, &w.id, &l.product).await?;
            if old.as_ref() != Some(bin) {
                catalogue::set_location(&mut tx, &w.id, &l.product, Some(bin)).await?;
                let mut a = AuditRecord::change(
                    "stock",
                    key,
                    "locate",
                    old.map(|o| o.as_str().to_owned()),
                    Some(bin.as_str().to_owned()),
                    actor.clone(),
                    now,
                );
                a.reason = Some(format!("put away from ASN {}", asn.reference));
                audits.push(a);
            }
        }
        for l in &asn.lines {
            istore::add_po_counts(&mut tx, &asn.po, &l.product, l.good, l.damaged).await?;
        }
        let po = istore::po(&mut tx, &asn.po).await?.ok_or(Error::NotFound("purchase order"))?;
        if po.status.expects_goods() {
            let next = PoStatus::from_lines(&po.lines);
            if next != po.status {
                istore::set_po_status(&mut tx, &po.id, po.status, next, now).await?;
                audits.push(AuditRecord::change(
                    "purchase_order",
                    po.id.to_string(),
                    "receive",
                    Some(po.status.as_str().into()),
                    Some(next.as_str().into()),
                    actor.clone(),
                    now,
                ));
            }
        }
        let found = inbound::discrepancies(&asn.lines);
        let task = (!found.is_empty()).then(|| {
            let kind = AnomalyKind::InboundDiscrepancy;
            let mut listed: Vec<String> = found.iter().take(6).map(ToString::to_string).collect();
            if found.len() > 6 {
                listed.push(format!("and {} more", found.len() - 6));
            }
            Task {
                id: TaskId::generate(),
                kind,
                shipment_id: None,
                order_id: None,
                role: kind.role(),
                status: TaskStatus::Open,
                title: format!(
                    "{}: ASN {} (PO {}, {}): {}",
                    kind.title(),
                    asn.reference,
                    asn.po_number,
                    po.supplier,
                    listed.join("; ")
                ),
                due_at: now + Thresholds::default().sla(kind),
                assignee: None,
                opened_by: format!("receiving at {}", asn.warehouse),
                resolution: None,
                created_at: now,
                updated_at: now,
                closed_at: None,
            }
        });
        if let Some(t) = &task {
            tstore::open_many(&mut tx, std::slice::from_ref(t)).await?;
        }
        let summary = format!(
            "{stocked} good unit(s) stocked, {} damaged{}",
            asn.lines.iter().map(|l| l.damaged).sum::<i64>(),
            if found.is_empty() { String::new() } else { format!("; {} discrepancy(ies)", found.len()) }
        );
        audits.push(audit("asn", asn.id.as_str(), "receive", Some(summary), &actor, now));
        orders::insert_audit(&mut tx, &audits).await?;
        let asn = istore::asn(&mut tx, &asn.id).await?.ok_or(Error::NotFound("ASN"))?;
        commit(tx).await?;
        Ok(Receipt { asn, discrepancies: found, task: task.map(|t| t.id), stocked })
    }

    /// The history of a purchase order and its notices, oldest first, each entry with what it is about (the
    /// order's number or the notice's reference).
    pub async fn inbound_history(&self, po: &PoView) -> Result<Vec<(String, orders::StoredAudit)>> {
        let mut conn = self.store.read().await?;
        let mut all: Vec<(String, orders::StoredAudit)> =
            orders::audit_of(&mut conn, "purchase_order", po.po.id.as_str())
                .await?
                .into_iter()
                .map(|a| (po.po.number.to_string(), a))
                .collect();
        for asn in &po.asns {
            let of = orders::audit_of(&mut conn, "asn", asn.id.as_str()).await?;
            all.extend(of.into_iter().map(|a| (asn.reference.to_string(), a)));
        }
        all.sort_by_key(|(_, a)| a.at);
        Ok(all)
    }
}

fn not_open(asn: &Asn) -> Error {
    Error::Conflict {
        kind: ConflictKind::NotReceivable,
        message: format!("ASN {} is {}: its counts cannot change", asn.reference, asn.status.as_str()),
    }
}

async fn find_po(conn: &mut Conn, code: &str) -> Result<Option<PurchaseOrder>> {
    if let Ok(id) = PurchaseOrderId::parse(code) {
        return Ok(istore::po(conn, &id).await?);
    }
    match PoNumber::parse(code) {
        Ok(n) => Ok(istore::po_by_number(conn, &n).await?),
        Err(_) => Ok(None),
    }
}

async fn find_asn(conn: &mut Conn, code: &str) -> Result<Option<Asn>> {
    if let Ok(id) = AsnId::parse(code) {
        return Ok(istore::asn(conn, &id).await?);
    }
    match AsnRef::parse(code) {
        Ok(r) => Ok(istore::asn_by_ref(conn, &r).await?),
        Err(_) => Ok(None),
    }
}
