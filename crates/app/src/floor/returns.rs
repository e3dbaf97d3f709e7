//! Returns (RTO): a carrier's return scan makes a return expected (tracking calls [`expect`]); the warehouse
//! receives it by scanning its tracking number, grades every unit and gives it a disposition. Only then does
//! stock move: restocked units join the receiving warehouse's shelf (a return warehouse abroad sells them
//! there), held units wait apart, and what is missing or written off leaves the ledger at cost. Returns that
//! never arrive open a task when their lane's usual return time passes, and can be given up (written off).

use std::collections::{BTreeMap, HashMap};

use codflow_domain::anomaly::{AnomalyKind, Thresholds};
use codflow_domain::finance::ledger::Entry;
use codflow_domain::returns::{self, Disposition, GradeInput, Return, ReturnStatus, ShippedLine};
use codflow_domain::work::{Task, TaskStatus};
use codflow_domain::{Actor, AuditRecord, Money, Order, OrderStatus, ProductId, ReturnId, Sku, TaskId, WarehouseCode};
use codflow_store::finance::{self as fstore, Posted};
use codflow_store::returns::{self as rtstore, MonthCount, NewReturn, ReturnFilter};
use codflow_store::{Conn, catalogue, commit, orders, tasks as tstore, tracking as trstore};
use time::{Duration, OffsetDateTime};

use crate::error::ConflictKind;
use crate::{Error, Floor, Result};

/// Photos a return keeps, and the size of each.
pub const MAX_PHOTOS: i64 = 8;
pub const MAX_PHOTO_BYTES: usize = 2 * 1024 * 1024;

/// A return with its order's reference and what was shipped in it.
#[derive(Clone, Debug)]
pub struct ReturnView {
    pub ret: Return,
    pub order_ref: String,
    pub shipped: Vec<ShippedLine>,
}

/// Records a return the carrier announced, expected after its lane's usual return time. True when new.
pub(crate) async fn expect(conn: &mut Conn, r: &NewReturn, now: OffsetDateTime) -> Result<bool> {
    Ok(expect_many(conn, std::slice::from_ref(r), now).await?.first().copied().unwrap_or(false))
}

/// [`expect`] for a batch: each lane's return times read once. Whether each return was new, in order.
pub(crate) async fn expect_many(conn: &mut Conn, rs: &[NewReturn], now: OffsetDateTime) -> Result<Vec<bool>> {
    let mut lanes: HashMap<(&str, &str), Vec<i64>> = HashMap::new();
    let mut out = Vec::with_capacity(rs.len());
    for r in rs {
        let key = (r.carrier.as_str(), r.country.as_str());
        let mut days = match lanes.get(&key) {
            Some(d) => d.clone(),
            None => {
                let d = rtstore::lane_days(conn, &r.carrier, &r.country).await?;
                lanes.insert(key, d.clone());
                d
            }
        };
        let by = returns::expected_back(r.started_at, &mut days);
        out.push(rtstore::expect(conn, r, by, now).await?);
    }
    Ok(out)
}

/// Opens a task for each expected return past its date that has none yet. Returns the tasks opened.
pub(crate) async fn open_overdue_tasks(conn: &mut Conn, now: OffsetDateTime) -> Result<usize> {
    let due = rtstore::overdue_untasked(conn, now, 500).await?;
    if due.is_empty() {
        return Ok(0);
    }
    let kind = AnomalyKind::ReturnOverdue;
    let sla = Thresholds::default().sla(kind);
    let mut tasks = Vec::with_capacity(due.len());
    let mut audits = Vec::with_capacity(due.len());
    for r in &due {
        tasks.push(Task {
            id: TaskId::generate(),
            kind,
            shipment_id: Some(r.shipment_id.clone()),
            order_id: Some(r.order_id.clone()),
            role: kind.role(),
            status: TaskStatus::Open,
            title: format!("{} ({})", kind.title(), r.tracking_number),
            due_at: now + sla,
            assignee: None,
            opened_by: "returns".into(),
            resolution: None,
            created_at: now,
            updated_at: now,
            closed_at: None,
        });
        let mut a = AuditRecord::change(
            "return",
            r.id.to_string(),
            "overdue",
            None,
            None,
            Actor::Worker("returns".into()),
            now,
        );
        a.reason = Some(format!("{} expected back by {} and not received", r.tracking_number, r.expected_by.date()));
        audits.push(a);
        rtstore::mark_tasked(conn, &r.id).await?;
    }
    let opened = tstore::open_many(conn, &tasks).await?;
    orders::insert_audit(conn, &audits).await?;
    Ok(opened.len())
}

fn not_found() -> Error {
    Error::NotFound("return")
}

fn transition(r: &Return, to: ReturnStatus, what: &str) -> Result<()> {
    if r.status.can_move_to(to) {
        return Ok(());
    }
    Err(Error::Conflict {
        kind: ConflictKind::IllegalTransition,
        message: format!("return {} is {}: {what}", r.tracking_number, r.status),
    })
}

/// What was shipped, per SKU, with each product's cost.
async fn shipped_lines(conn: &mut Conn, order: &Order) -> Result<Vec<ShippedLine>> {
    let mut qty: BTreeMap<&Sku, i64> = BTreeMap::new();
    for l in &order.lines {
        *qty.entry(&l.sku).or_default() += l.quantity;
    }
    let skus: Vec<&Sku> = qty.keys().copied().collect();
    let products = catalogue::products_by_sku(conn, &skus).await?;
    let by: HashMap<&Sku, _> = products.iter().map(|p| (&p.sku, p)).collect();
    let mut out = Vec::with_capacity(qty.len());
    for (sku, quantity) in qty {
        let Some(p) = by.get(sku) else {
            return Err(codflow_store::Error::Corrupt(format!("order {} holds unknown SKU {sku}", order.id)).into());
        };
        out.push(ShippedLine { product: p.id.clone(), sku: sku.clone(), quantity, unit_cost: p.unit_cost });
    }
    Ok(out)
}

async fn view_of(conn: &mut Conn, ret: Return) -> Result<ReturnView> {
    let order = orders::get(conn, &ret.order_id).await?.ok_or(not_found())?;
    let shipped = shipped_lines(conn, &order).await?;
    Ok(ReturnView { ret, order_ref: order.external_id.clone(), shipped })
}

/// Closes the order of a return that ended (graded or given up), and the return's open overdue tasks.
async fn settle_order(
    conn: &mut Conn,
    ret: &Return,
    why: String,
    actor: &Actor,
    now: OffsetDateTime,
    audits: &mut Vec<AuditRecord>,
) -> Result<()> {
    let mut order = orders::get(conn, &ret.order_id).await?.ok_or(not_found())?;
    if order.status == OrderStatus::Fulfilled {
        audits.push(order.transition(OrderStatus::Closed, "close", actor.clone(), Some(why), now)?);
        orders::save_states(conn, &[(&order, None)]).await?;
    }
    let mut closed = Vec::new();
    for mut t in tstore::open_for_many(conn, std::slice::from_ref(&ret.shipment_id)).await? {
        if t.kind != AnomalyKind::ReturnOverdue {
            continue;
        }
        t.status = TaskStatus::Done;
        t.resolution = Some(format!("return {}", ret.status));
        t.closed_at = Some(now);
        t.updated_at = now;
        closed.push(t);
    }
    tstore::update_many(conn, &closed).await?;
    Ok(())
}

/// Posts the goods' cost lost (or, negative, found again) on a return under `key`.
async fn post_loss(conn: &mut Conn, ret: &Return, key: &str, loss: &[Money], now: OffsetDateTime) -> Result<()> {
    let entries: Vec<Entry> = loss
        .iter()
        .map(|m| Entry::goods_written_off(*m))
        .collect::<std::result::Result<_, _>>()
        .map_err(Error::from)?;
    let posted: Vec<Posted> = entries
        .iter()
        .zip(loss)
        .map(|(e, m)| Posted {
            key: format!("return:{}:{key}:{}", ret.id, m.currency.code()),
            entry: e,
            shipment: Some(&ret.shipment_id),
            statement: None,
            carrier: Some(ret.carrier.as_str()),
        })
        .collect();
    fstore::post(conn, &posted, now).await?;
    Ok(())
}

fn audit(r: &Return, action: &str, to: ReturnStatus, why: String, actor: &Actor, now: OffsetDateTime) -> AuditRecord {
    let mut a = AuditRecord::change(
        "return",
        r.id.to_string(),
        action,
        Some(r.status.as_str().into()),
        Some(to.as_str().into()),
        actor.clone(),
        now,
    );
    a.reason = Some(why);
    a
}

impl Floor {
    pub async fn returns(&self, filter: &ReturnFilter, after: Option<&ReturnId>, limit: i64) -> Result<Vec<Return>> {
        let mut conn = self.store.read().await?;
        Ok(rtstore::list(&mut conn, filter, after, limit.clamp(1, 500)).await?)
    }

    pub async fn return_view(&self, id: &ReturnId) -> Result<ReturnView> {
        let mut conn = self.store.read().await?;
        let ret = rtstore::get(&mut conn, id).await?.ok_or(not_found())?;
        view_of(&mut conn, ret).await
    }

    /// The return of a parcel, by its tracking number.
    pub async fn return_of_tracking(&self, tracking_number: &str) -> Result<ReturnView> {
        let mut conn = self.store.read().await?;
        let ret = rtstore::by_tracking(&mut conn, tracking_number).await?.ok_or(not_found())?;
        view_of(&mut conn, ret).await
    }

    /// A parcel scanned in at `warehouse` by its tracking number. A parcel the carrier never announced as
    /// returning is received all the same when it had left the warehouse and was not delivered. Scanning a
    /// received return again changes nothing; the flag says whether this scan received it.
    pub async fn receive_return(
        &self,
        warehouse: &WarehouseCode,
        code: &str,
        actor: Actor,
    ) -> Result<(ReturnView, bool)> {
        let code = code.trim();
        if code.is_empty() || code.len() > 64 || !code.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::invalid("code", "a tracking number is 1 to 64 printable characters without spaces"));
        }
        let now = self.clock().now();
        let mut tx = self.store.begin().await?;
        let w = catalogue::warehouse_by_code(&mut tx, warehouse)
            .await?
            .ok_or_else(|| Error::invalid("warehouse", format!("no warehouse {warehouse}")))?;
        let ret = match rtstore::by_tracking(&mut tx, code).await? {
            Some(r) => r,
            None => {
                let t = trstore::by_number(&mut tx, code).await?.ok_or_else(|| {
                    Error::invalid("code", format!("no parcel with tracking number {code} was shipped"))
                })?;
                use codflow_domain::ShipmentStatus::*;
                let status = t.progress.status;
                if matches!(status, Delivered | Cancelled) || t.progress.picked_up_at.is_none() {
                    let what = if status == Delivered {
                        format!(
                            "was delivered on {}; a buyer's return after delivery is not a carrier return",
                            t.progress.status_at.date()
                        )
                    } else {
                        format!("never left the warehouse ({status})")
                    };
                    return Err(Error::Conflict {
                        kind: ConflictKind::NotReceivable,
                        message: format!("{code} {what}"),
                    });
                }
                let order = orders::get(&mut tx, &t.order_id).await?.ok_or(not_found())?;
                let from = order.allocation.as_ref().map(|a| a.warehouse.clone()).unwrap_or_else(|| w.code.clone());
                let from = catalogue::warehouse_by_code(&mut tx, &from).await?.map(|x| x.id).unwrap_or(w.id.clone());
                let new = NewReturn {
                    order_id: t.order_id.clone(),
                    shipment_id: t.shipment_id.clone(),
                    tracking_number: t.tracking_number.clone(),
                    carrier: t.carrier.clone(),
                    channel: t.channel.clone(),
                    country: t.country.clone(),
                    warehouse: from,
                    started_at: now,
                    carrier_returned_at: None,
                };
                expect(&mut tx, &new, now).await?;
                rtstore::by_tracking(&mut tx, code).await?.ok_or(not_found())?
            }
        };
        if matches!(ret.status, ReturnStatus::Received | ReturnStatus::Closed) {
            drop(tx);
            return Ok((view_of(&mut *self.store.read().await?, ret).await?, false));
        }
        transition(&ret, ReturnStatus::Received, "it cannot be received")?;
        if !rtstore::set_status(&mut tx, &ret.id, &[ret.status], ReturnStatus::Received, Some((&w.id, now)), None, now)
            .await?
        {
            return Err(Error::Conflict { kind: ConflictKind::Busy, message: "the return changed meanwhile".into() });
        }
        let mut audits = vec![audit(
            &ret,
            "receive",
            ReturnStatus::Received,
            format!("{} scanned in at {}", ret.tracking_number, w.code),
            &actor,
            now,
        )];
        // A parcel that came back without a pickup scan still holds its reservations: they left the shelf.
        let mut order = orders::get(&mut tx, &ret.order_id).await?.ok_or(not_found())?;
        if order.status == OrderStatus::Allocated {
            orders::ship_reservations_many(&mut tx, std::slice::from_ref(&order.id), codflow_store::micros(now))
                .await?;
            let why = format!("came back as {} before any pickup scan", ret.tracking_number);
            audits.push(order.transition(OrderStatus::Fulfilled, "fulfil", actor.clone(), Some(why), now)?);
            orders::save_states(&mut tx, &[(&order, None)]).await?;
        }
        orders::insert_audit(&mut tx, &audits).await?;
        let ret = rtstore::get(&mut tx, &ret.id).await?.ok_or(not_found())?;
        let view = view_of(&mut tx, ret).await?;
        commit(tx).await?;
        Ok((view, true))
    }

    /// Grades a received return: every shipped unit sellable, damaged or missing, anything else found in it
    /// wrong, each with its disposition. Restocked units go onto the receiving warehouse's shelf (to the bin
    /// named), the cost of what is missing or written off is posted, and the order closes.
    pub async fn grade_return(
        &self,
        id: &ReturnId,
        input: &[GradeInput],
        note: Option<&str>,
        actor: Actor,
    ) -> Result<ReturnView> {
        let note = match note.map(str::trim).filter(|n| !n.is_empty()) {
            Some(n) if n.chars().count() > 500 || n.chars().any(char::is_control) => {
                return Err(Error::invalid("note", "at most 500 characters, no control characters"));
            }
            n => n,
        };
        let now = self.clock().now();
        let mut tx = self.store.begin().await?;
        let ret = rtstore::get(&mut tx, id).await?.ok_or(not_found())?;
        transition(&ret, ReturnStatus::Closed, "only a received return is graded")?;
        let order = orders::get(&mut tx, &ret.order_id).await?.ok_or(not_found())?;
        let shipped = shipped_lines(&mut tx, &order).await?;
        let extra: Vec<Sku> = input
            .iter()
            .filter_map(|l| Sku::parse(&l.sku).ok())
            .filter(|s| !shipped.iter().any(|l| &l.sku == s))
            .collect();
        let extra_refs: Vec<&Sku> = extra.iter().collect();
        let catalogue_of: HashMap<Sku, (ProductId, Money)> = catalogue::products_by_sku(&mut tx, &extra_refs)
            .await?
            .into_iter()
            .map(|p| (p.sku, (p.id, p.unit_cost)))
            .collect();
        let lines = returns::grade(&shipped, &catalogue_of, input).map_err(Error::Invalid)?;
        let received = ret.received_warehouse.clone().unwrap_or_else(|| ret.warehouse.clone());
        let w = catalogue::warehouse_by_code(&mut tx, &received).await?.ok_or(not_found())?;
        if !rtstore::set_status(&mut tx, id, &[ReturnStatus::Received], ReturnStatus::Closed, None, note, now).await? {
            return Err(Error::Conflict { kind: ConflictKind::Busy, message: "the return changed meanwhile".into() });
        }
        rtstore::insert_lines(&mut tx, id, &lines).await?;
        for l in lines.iter().filter(|l| l.disposition == Some(Disposition::Restock)) {
            codflow_store::inbound::add_stock(&mut tx, &w.id, &l.product, l.quantity, now).await?;
            if let Some(bin) = &l.bin {
                let bin = codflow_domain::BinLocation::parse(bin).map_err(Error::from)?;
                catalogue::set_location(&mut tx, &w.id, &l.product, Some(&bin)).await?;
            }
        }
        // A return given up earlier had everything written off: that comes back before this grading's loss.
        let found_again = fstore::postings_of(&mut tx, &ret.shipment_id)
            .await?
            .iter()
            .any(|p| p.entry_key.starts_with(&format!("return:{}:lost:", ret.id)));
        if found_again {
            let back: Vec<Money> = returns::loss(&lost_all(&shipped))
                .map_err(Error::from)?
                .into_iter()
                .map(|m| Money::new(-m.minor, m.currency))
                .collect();
            post_loss(&mut tx, &ret, "found", &back, now).await?;
        }
        let loss = returns::loss(&lines).map_err(Error::from)?;
        post_loss(&mut tx, &ret, "graded", &loss, now).await?;
        let by = returns::units_by_disposition(&lines);
        let n = |d: Option<Disposition>| by.get(&d).copied().unwrap_or(0);
        let summary = format!(
            "{} restocked at {}, {} quarantined, {} to refurbish, {} written off, {} missing",
            n(Some(Disposition::Restock)),
            w.code,
            n(Some(Disposition::Quarantine)),
            n(Some(Disposition::Refurbish)),
            n(Some(Disposition::WriteOff)),
            n(None)
        );
        let mut audits = vec![audit(&ret, "grade", ReturnStatus::Closed, summary.clone(), &actor, now)];
        let mut closed = ret.clone();
        closed.status = ReturnStatus::Closed;
        settle_order(&mut tx, &closed, format!("returned and graded: {summary}"), &actor, now, &mut audits).await?;
        orders::insert_audit(&mut tx, &audits).await?;
        let ret = rtstore::get(&mut tx, id).await?.ok_or(not_found())?;
        let view = view_of(&mut tx, ret).await?;
        commit(tx).await?;
        if lines.iter().any(|l| l.grade == returns::Grade::Damaged) {
            self.fulfilment.damage.forget();
        }
        Ok(view)
    }

    /// Releases `quantity` held units of `sku` (quarantined or to refurbish) of a graded return: onto the
    /// receiving warehouse's shelf (`Restock`, to `bin`) or written off at cost (`WriteOff`).
    pub async fn release_held(
        &self,
        id: &ReturnId,
        sku: &str,
        quantity: i64,
        to: Disposition,
        bin: Option<&str>,
        actor: Actor,
    ) -> Result<ReturnView> {
        if !matches!(to, Disposition::Restock | Disposition::WriteOff) {
            return Err(Error::invalid("to", "restock or write_off"));
        }
        if !(1..=returns::MAX_QUANTITY).contains(&quantity) {
            return Err(Error::invalid("quantity", format!("1 to {} units", returns::MAX_QUANTITY)));
        }
        let bin = match bin.map(str::trim).filter(|b| !b.is_empty()) {
            Some(_) if to != Disposition::Restock => {
                return Err(Error::invalid("bin", "a bin is named only for units restocked"));
            }
            Some(b) => Some(codflow_domain::BinLocation::parse(b).map_err(|e| Error::invalid("bin", e.to_string()))?),
            None => None,
        };
        let now = self.clock().now();
        let mut tx = self.store.begin().await?;
        let ret = rtstore::get(&mut tx, id).await?.ok_or(not_found())?;
        let held: i64 = ret.lines.iter().filter(|l| l.sku.as_str() == sku).map(|l| l.held()).sum();
        if held < quantity {
            return Err(Error::invalid("quantity", format!("{held} units of {sku} are held on this return")));
        }
        let mut left = quantity;
        let mut cost = Vec::new();
        for (seq, l) in ret.lines.iter().enumerate().filter(|(_, l)| l.sku.as_str() == sku && l.held() > 0) {
            let n = left.min(l.held());
            if !rtstore::release(&mut tx, id, seq, n).await? {
                return Err(Error::Conflict {
                    kind: ConflictKind::Busy,
                    message: "the return changed meanwhile".into(),
                });
            }
            cost.push(returns::GradedLine { quantity: n, disposition: Some(Disposition::WriteOff), ..l.clone() });
            left -= n;
            if left == 0 {
                break;
            }
        }
        let product = ret.lines.iter().find(|l| l.sku.as_str() == sku).map(|l| l.product.clone()).ok_or(not_found())?;
        let warehouse = ret.received_warehouse.clone().unwrap_or_else(|| ret.warehouse.clone());
        let w = catalogue::warehouse_by_code(&mut tx, &warehouse).await?.ok_or(not_found())?;
        if to == Disposition::Restock {
            codflow_store::inbound::add_stock(&mut tx, &w.id, &product, quantity, now).await?;
            if let Some(b) = &bin {
                catalogue::set_location(&mut tx, &w.id, &product, Some(b)).await?;
            }
        } else {
            let loss = returns::loss(&cost).map_err(Error::from)?;
            post_loss(&mut tx, &ret, &format!("release:{}", codflow_domain::AuditId::generate()), &loss, now).await?;
        }
        let why = format!("{quantity} held {sku} released: {to}");
        orders::insert_audit(&mut tx, &[audit(&ret, "release", ret.status, why, &actor, now)]).await?;
        let ret = rtstore::get(&mut tx, id).await?.ok_or(not_found())?;
        let view = view_of(&mut tx, ret).await?;
        commit(tx).await?;
        Ok(view)
    }

    /// Gives up on an expected return that never arrived: its goods are written off at cost and its order
    /// closes. If it turns up later it can still be received and graded (the write-off is then reversed).
    pub async fn give_up_return(&self, id: &ReturnId, reason: &str, actor: Actor) -> Result<ReturnView> {
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > 500 || reason.chars().any(char::is_control) {
            return Err(Error::invalid("reason", "say why, in 1 to 500 characters"));
        }
        let now = self.clock().now();
        let mut tx = self.store.begin().await?;
        let ret = rtstore::get(&mut tx, id).await?.ok_or(not_found())?;
        transition(&ret, ReturnStatus::Lost, "only an expected return can be given up")?;
        if !rtstore::set_status(&mut tx, id, &[ReturnStatus::Expected], ReturnStatus::Lost, None, Some(reason), now)
            .await?
        {
            return Err(Error::Conflict { kind: ConflictKind::Busy, message: "the return changed meanwhile".into() });
        }
        let order = orders::get(&mut tx, &ret.order_id).await?.ok_or(not_found())?;
        let shipped = shipped_lines(&mut tx, &order).await?;
        let loss = returns::loss(&lost_all(&shipped)).map_err(Error::from)?;
        post_loss(&mut tx, &ret, "lost", &loss, now).await?;
        let mut audits = vec![audit(&ret, "give_up", ReturnStatus::Lost, reason.to_owned(), &actor, now)];
        let mut lost = ret.clone();
        lost.status = ReturnStatus::Lost;
        settle_order(&mut tx, &lost, format!("return never arrived: {reason}"), &actor, now, &mut audits).await?;
        orders::insert_audit(&mut tx, &audits).await?;
        let ret = rtstore::get(&mut tx, id).await?.ok_or(not_found())?;
        let view = view_of(&mut tx, ret).await?;
        commit(tx).await?;
        Ok(view)
    }

    /// Per carrier and month of the first return scan, over the last `months`: what the carrier said came
    /// back against what was received.
    pub async fn return_months(&self, months: i64) -> Result<Vec<MonthCount>> {
        let from = self.clock().now() - Duration::days(31 * months.clamp(1, 36));
        let mut conn = self.store.read().await?;
        Ok(rtstore::month_counts(&mut conn, from).await?)
    }

    /// Return rates per channel, country or SKU over the last `days`, with what the returns lost at cost.
    pub async fn return_rates(&self, by: rtstore::RateBy, days: i64) -> Result<Vec<rtstore::ReturnRate>> {
        let from = self.clock().now() - Duration::days(days.clamp(1, 730));
        let mut conn = self.store.read().await?;
        Ok(rtstore::rates(&mut conn, by, from).await?)
    }

    /// Keeps a photo of a return (JPEG, PNG or WebP, checked by its first bytes). Returns its number.
    pub async fn add_return_photo(&self, id: &ReturnId, bytes: &[u8], actor: Actor) -> Result<i64> {
        use base64::Engine as _;
        let Some(content_type) = image_type(bytes) else {
            return Err(Error::invalid("photo", "a photo is a JPEG, PNG or WebP image"));
        };
        if bytes.len() > MAX_PHOTO_BYTES {
            return Err(Error::invalid("photo", format!("a photo is at most {} MiB", MAX_PHOTO_BYTES >> 20)));
        }
        let now = self.clock().now();
        let mut tx = self.store.begin().await?;
        let ret = rtstore::get(&mut tx, id).await?.ok_or(not_found())?;
        if ret.photos >= MAX_PHOTOS {
            return Err(Error::invalid("photo", format!("a return keeps at most {MAX_PHOTOS} photos")));
        }
        let data = base64::engine::general_purpose::STANDARD.encode(bytes);
        let n = rtstore::add_photo(&mut tx, id, content_type, &data, now).await?;
        let why = format!("photo {n} ({content_type}, {} bytes)", bytes.len());
        orders::insert_audit(&mut tx, &[audit(&ret, "photo", ret.status, why, &actor, now)]).await?;
        commit(tx).await?;
        Ok(n)
    }

    pub async fn return_photo(&self, id: &ReturnId, n: i64) -> Result<(String, Vec<u8>)> {
        use base64::Engine as _;
        let mut conn = self.store.read().await?;
        let (content_type, data) = rtstore::photo(&mut conn, id, n).await?.ok_or(Error::NotFound("photo"))?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(data)
            .map_err(|e| codflow_store::Error::Corrupt(format!("return photo: {e}")))?;
        Ok((content_type, bytes))
    }
}

/// The columns of the returns export: one row per graded line (a return not graded yet is one row).
pub const EXPORT_COLUMNS: [&str; 15] = [
    "return_id",
    "tracking_number",
    "order",
    "carrier",
    "country",
    "status",
    "started_at",
    "carrier_returned_at",
    "expected_by",
    "received_at",
    "received_at_warehouse",
    "sku",
    "grade",
    "quantity",
    "disposition",
];

impl Floor {
    /// Every return matching `filter` as rows under [`EXPORT_COLUMNS`], one per graded line.
    pub async fn returns_rows(&self, filter: &ReturnFilter) -> Result<Vec<Vec<String>>> {
        let time = |t: Option<OffsetDateTime>| {
            t.and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok()).unwrap_or_default()
        };
        let mut out = Vec::new();
        let mut after: Option<ReturnId> = None;
        let mut conn = self.store.read().await?;
        loop {
            let page = rtstore::list(&mut conn, filter, after.as_ref(), 500).await?;
            for r in &page {
                let order = orders::get(&mut conn, &r.order_id).await?.map(|o| o.external_id).unwrap_or_default();
                let head = vec![
                    r.id.to_string(),
                    r.tracking_number.clone(),
                    order,
                    r.carrier.clone(),
                    r.country.clone(),
                    r.status.as_str().to_owned(),
                    time(Some(r.started_at)),
                    time(r.carrier_returned_at),
                    time(Some(r.expected_by)),
                    time(r.received_at),
                    r.received_warehouse.as_ref().map(|w| w.to_string()).unwrap_or_default(),
                ];
                if r.lines.is_empty() {
                    out.push([head.clone(), vec![String::new(); 4]].concat());
                }
                for l in &r.lines {
                    let tail = vec![
                        l.sku.to_string(),
                        l.grade.as_str().to_owned(),
                        l.quantity.to_string(),
                        l.disposition.map(|d| d.as_str().to_owned()).unwrap_or_default(),
                    ];
                    out.push([head.clone(), tail].concat());
                }
            }
            match page.last() {
                Some(last) if page.len() == 500 => after = Some(last.id.clone()),
                _ => break,
            }
        }
        Ok(out)
    }

    /// [`Floor::returns_rows`] as CSV, cells neutralised against formulas.
    pub async fn returns_csv(&self, filter: &ReturnFilter) -> Result<Vec<u8>> {
        let csv_err = |e: csv::Error| Error::Internal(codflow_store::Error::Corrupt(e.to_string()));
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(EXPORT_COLUMNS).map_err(csv_err)?;
        for row in self.returns_rows(filter).await? {
            w.write_record(row.iter().map(|c| codflow_sheets::csv::neutralised(c).into_owned())).map_err(csv_err)?;
        }
        w.into_inner().map_err(|e| Error::Internal(codflow_store::Error::Corrupt(e.to_string())))
    }
}

/// Every shipped unit as missing: what a return given up loses.
fn lost_all(shipped: &[ShippedLine]) -> Vec<returns::GradedLine> {
    shipped
        .iter()
        .map(|s| returns::GradedLine {
            product: s.product.clone(),
            sku: s.sku.clone(),
            grade: returns::Grade::Missing,
            quantity: s.quantity,
            disposition: None,
            bin: None,
            unit_cost: s.unit_cost,
            released: 0,
        })
        .collect()
}

pub(crate) fn image_type(b: &[u8]) -> Option<&'static str> {
    if b.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if b.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if b.len() >= 12 && &b[..4] == b"RIFF" && &b[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}
