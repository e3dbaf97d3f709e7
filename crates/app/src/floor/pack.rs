//! The pack station. A scan opens a parcel (by order id, shop order number, waybill or pack id) or counts one of
//! its items (by barcode or SKU); once every item is counted the parcel is weighed, and the weight check decides:
//! print as booked, re-rate (and move to a better channel: void with the carrier, book again, new label), or
//! hold it with a task. Every outcome keeps its evidence (readings, the check, quotes before and after) for a
//! later freight-invoice dispute. A scan is never an error for what was scanned: a wrong item or an unknown code
//! is an answer with a signal the station sounds; errors are for malformed requests.

use codflow_connectors::devices::printer;
use codflow_domain::anomaly::{AnomalyKind, Thresholds};
use codflow_domain::floor::{
    self, ItemScan, Measure, Outcome, Pack, PackStatus, ReadingSource, Station, Verdict, Verification, VerifyLine,
};
use codflow_domain::rating::{Parcel, Ranked};
use codflow_domain::work::{BookingStatus, Shipment, Task, TaskStatus};
use codflow_domain::{
    Actor, AuditRecord, ChannelCode, Order, OrderId, OrderStatus, PackId, Product, Sku, StationCode, TaskId,
};
use codflow_store::{Conn, catalogue, commit, floor as fstore, logistics as lstore, orders, tasks as tstore};
use serde_json::json;
use time::OffsetDateTime;

use super::rules;
use crate::error::ConflictKind;
use crate::{Error, Floor, Result, logistics, review};

/// How the station should sound and colour an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Signal {
    /// Right: a parcel opened, an item counted.
    Ok,
    /// Finished: every item verified, or a label printed.
    Done,
    /// Wrong: an alarm the packer must look at.
    Wrong,
    /// Nothing changed (the same scan twice, a parcel resumed).
    Info,
}

/// What a scan or a weighing came to: a stable `event` code with its values (the console words it from its
/// catalogue), the same in English for API clients, and the parcel as it now stands.
#[derive(Clone, Debug)]
pub struct ScanOutcome {
    pub signal: Signal,
    pub event: &'static str,
    pub params: Vec<(&'static str, String)>,
    pub message: String,
    pub pack: Option<PackView>,
}

/// A parcel at the station, with what the screen shows.
#[derive(Clone, Debug)]
pub struct PackView {
    pub pack: Pack,
    pub order_ref: String,
    pub tracking_number: Option<String>,
    pub channel: ChannelCode,
    pub items: Vec<ItemView>,
    /// Where the label went: the printer's address, or the PDF's path for the browser.
    pub label: Option<LabelSent>,
    /// The parcel crosses a border: its commercial invoice and packing list go with it.
    pub customs: bool,
}

#[derive(Clone, Debug)]
pub struct ItemView {
    pub sku: String,
    pub title: String,
    pub needed: i64,
    pub scanned: i64,
    pub bin: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LabelSent {
    Printer(String),
    Pdf(String),
}

fn outcome(
    signal: Signal,
    event: &'static str,
    params: Vec<(&'static str, String)>,
    pack: Option<PackView>,
) -> ScanOutcome {
    let message = english(event, &params);
    ScanOutcome { signal, event, params, message, pack }
}

/// The English words of an event, for API clients (the console has them in every language).
fn english(event: &str, p: &[(&str, String)]) -> String {
    let v = |k: &str| p.iter().find(|(n, _)| *n == k).map_or("", |(_, v)| v.as_str());
    match event {
        "opened" => format!("order {} opened: scan its {} item(s)", v("order"), v("items")),
        "resumed" => format!("order {} resumed here", v("order")),
        "already_open" => format!("order {} is already open here", v("order")),
        "counted" => format!("{}: {} of {}", v("sku"), v("scanned"), v("needed")),
        "verified" => "every item verified: put the parcel on the scale".into(),
        "wrong_item" => format!("{} is not in this parcel: take it out", v("sku")),
        "extra_item" => format!("{} is already complete: one too many", v("sku")),
        "unknown_code" => format!("{} is not a parcel or product codflow knows", v("code")),
        "scan_parcel_first" => format!("{} is a product: scan the parcel first", v("sku")),
        "ambiguous" => format!("{} is the order number of several shops: scan the waybill", v("code")),
        "already_packed" => format!("order {} was packed at {} on {}", v("order"), v("station"), v("at")),
        "held" => format!("order {} is held at the pack station: see task {}", v("order"), v("task")),
        "not_packable" => format!("order {} is {}: do not pack it", v("order"), v("status")),
        "not_booked" => format!("order {} could not be booked: {}", v("order"), v("reason")),
        "overridden" => format!("items not all scanned; released for weighing by {}", v("by")),
        "passed" => format!("{} g as expected: label printed", v("weight")),
        "rerated" => {
            format!("{} g, expected {} g: re-rated on {}, label printed", v("weight"), v("expected"), v("channel"))
        }
        "rebooked" => format!("{} g: moved from {} to {}, new label printed", v("weight"), v("from"), v("channel")),
        "intercepted" => {
            format!("HOLD: {} g, expected {} g ({}); task {}", v("weight"), v("expected"), v("why"), v("task"))
        }
        "released" => format!("released by {}: label printed", v("by")),
        "reprinted" => "label printed again".into(),
        "no_reading" => "no reading from this station's scale yet: put the parcel on it or type the weight".into(),
        "scale_moving" => format!("the scale is still moving ({} g): wait for it to settle", v("weight")),
        "print_failed" => format!("the label did not print: {}", v("reason")),
        "wave_done" => format!("every parcel of wave {} is packed or open", v("wave")),
        "no_such_slot" => format!("wave {} has no sort slot {}", v("wave"), v("slot")),
        other => other.to_owned(),
    }
}

fn audit(order: &OrderId, action: &str, reason: String, actor: Actor, at: OffsetDateTime) -> AuditRecord {
    let mut a = AuditRecord::change("order", order.to_string(), action, None, None, actor, at);
    a.reason = Some(reason);
    a
}

fn busy() -> Error {
    Error::Conflict {
        kind: ConflictKind::Busy,
        message: "the parcel changed at another station meanwhile; scan it again".into(),
    }
}

/// The score the allocation strategy ranks by, in the base currency's minor units (higher is better).
fn score(r: &Ranked) -> i64 {
    r.expected_profit.map_or(-r.quote.total_base.minor, |m| m.minor)
}

fn grams(g: i64) -> String {
    g.to_string()
}

impl Floor {
    /// One scan at `station`: `pack` is the parcel the screen has open, when it has one.
    pub async fn scan(
        &self,
        station: &StationCode,
        code: &str,
        pack: Option<&PackId>,
        actor: Actor,
    ) -> Result<ScanOutcome> {
        let code = code.trim();
        if code.is_empty() || code.len() > 64 || !code.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::invalid("code", "a scan is 1 to 64 printable characters without spaces"));
        }
        let station = self.station(station).await?;
        let mut conn = self.store.read().await?;
        let active = match pack {
            Some(id) => fstore::pack(&mut conn, id).await?,
            None => fstore::packs(&mut conn, Some(&station.code), None, 1).await?.into_iter().next(),
        }
        .filter(|p| p.station == station.code && matches!(p.status, PackStatus::Open | PackStatus::Verified));
        let product = product_by_code(&mut conn, code).await?;
        if let (Some(p), Some(product)) = (&active, &product) {
            drop(conn);
            return self.count_item(p.clone(), product, actor).await;
        }
        if let Some((ticket, slot)) = floor::wave_ticket(code) {
            drop(conn);
            return match self.order_of_ticket(ticket, slot).await? {
                Some(Ok(order)) => self.open(&station, &order, actor).await,
                Some(Err(wave)) => {
                    let mut params = vec![("wave", wave)];
                    if let Some(s) = slot {
                        params.push(("slot", s.to_string()));
                    }
                    Ok(outcome(Signal::Info, if slot.is_some() { "no_such_slot" } else { "wave_done" }, params, None))
                }
                None => Ok(outcome(Signal::Wrong, "unknown_code", vec![("code", code.to_owned())], None)),
            };
        }
        let orders = find_orders(&mut conn, code).await?;
        drop(conn);
        match (orders.as_slice(), product) {
            ([order], _) => self.open(&station, order, actor).await,
            ([], Some(p)) => Ok(outcome(Signal::Wrong, "scan_parcel_first", vec![("sku", p.sku.to_string())], None)),
            ([], None) => Ok(outcome(Signal::Wrong, "unknown_code", vec![("code", code.to_owned())], None)),
            (_, _) => Ok(outcome(Signal::Wrong, "ambiguous", vec![("code", code.to_owned())], None)),
        }
    }

    async fn open(&self, station: &Station, id: &OrderId, actor: Actor) -> Result<ScanOutcome> {
        let mut conn = self.store.read().await?;
        let order = orders::get(&mut conn, id).await?.ok_or(Error::NotFound("order"))?;
        let oref = vec![("order", order.external_id.clone())];
        if let Some(p) = fstore::pack_of_order(&mut conn, id).await? {
            drop(conn);
            return self.reopen(station, p, &order, actor).await;
        }
        match order.status {
            OrderStatus::Allocated => {}
            s => {
                let mut params = oref;
                params.push(("status", s.as_str().to_owned()));
                return Ok(outcome(Signal::Wrong, "not_packable", params, None));
            }
        }
        let live = lstore::live_shipment(&mut conn, id).await?;
        drop(conn);
        let shipment = match live {
            Some(s) if s.status == BookingStatus::Booked => s,
            _ => {
                let why = match self.fulfilment.book_order(id, actor.clone()).await {
                    Ok(s) if s.status == BookingStatus::Booked => Ok(s),
                    Ok(s) => Err(s.last_error.unwrap_or_else(|| "waiting for the carrier".into())),
                    Err(Error::Conflict { message, .. }) => Err(message),
                    Err(e) => return Err(e),
                };
                match why {
                    Ok(s) => s,
                    Err(reason) => {
                        let mut params = oref;
                        params.push(("reason", reason));
                        return Ok(outcome(Signal::Wrong, "not_booked", params, None));
                    }
                }
            }
        };
        let now = self.clock().now();
        let pack = Pack {
            id: PackId::generate(),
            order_id: order.id.clone(),
            shipment_id: shipment.id.clone(),
            station: station.code.clone(),
            status: PackStatus::Open,
            verification: Verification {
                lines: order
                    .lines
                    .iter()
                    .map(|l| VerifyLine { sku: l.sku.to_string(), needed: l.quantity, scanned: 0 })
                    .collect(),
            },
            overridden_by: None,
            measure: None,
            source: None,
            outcome: None,
            evidence: None,
            task_id: None,
            packed_by: actor.to_stored(),
            printed_at: None,
            created_at: now,
            updated_at: now,
        };
        let mut tx = self.store.begin().await?;
        if !fstore::insert_pack(&mut tx, &pack).await? {
            codflow_store::rollback(tx).await?;
            return Err(busy());
        }
        let why = format!(
            "opened at pack station {} ({} units)",
            station.code,
            pack.verification.lines.iter().map(|l| l.needed).sum::<i64>()
        );
        orders::insert_audit(&mut tx, &[audit(id, "pack_open", why, actor, now)]).await?;
        commit(tx).await?;
        let items = pack.verification.lines.iter().map(|l| l.needed).sum::<i64>().to_string();
        let mut params = oref;
        params.push(("items", items));
        Ok(outcome(Signal::Ok, "opened", params, Some(self.view(pack, None).await?)))
    }

    /// A parcel scanned again: resumed here, reprinted if its label never printed, or refused as done or held.
    async fn reopen(&self, station: &Station, mut p: Pack, order: &Order, actor: Actor) -> Result<ScanOutcome> {
        let oref = ("order", order.external_id.clone());
        match p.status {
            PackStatus::Open | PackStatus::Verified if p.station == station.code => {
                Ok(outcome(Signal::Info, "already_open", vec![oref], Some(self.view(p, None).await?)))
            }
            PackStatus::Open | PackStatus::Verified => {
                let read_at = p.updated_at;
                let now = self.clock().now();
                let why = format!("moved from pack station {} to {}", p.station, station.code);
                p.station = station.code.clone();
                p.updated_at = now;
                let mut tx = self.store.begin().await?;
                if !fstore::update_pack(&mut tx, &p, read_at).await? {
                    return Err(busy());
                }
                orders::insert_audit(&mut tx, &[audit(&order.id, "pack_resume", why, actor, now)]).await?;
                commit(tx).await?;
                Ok(outcome(Signal::Info, "resumed", vec![oref], Some(self.view(p, None).await?)))
            }
            PackStatus::Packed if p.printed_at.is_none() => {
                self.print_and_answer(station, p, "reprinted", vec![]).await
            }
            PackStatus::Packed => {
                let at = p.printed_at.unwrap_or(p.updated_at);
                let params = vec![
                    oref,
                    ("station", p.station.to_string()),
                    ("at", at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()),
                ];
                Ok(outcome(Signal::Wrong, "already_packed", params, Some(self.view(p, None).await?)))
            }
            PackStatus::Intercepted => {
                let task = p.task_id.as_ref().map(|t| t.to_string()).unwrap_or_default();
                Ok(outcome(Signal::Wrong, "held", vec![oref, ("task", task)], Some(self.view(p, None).await?)))
            }
        }
    }

    async fn count_item(&self, mut p: Pack, product: &Product, actor: Actor) -> Result<ScanOutcome> {
        let read_at = p.updated_at;
        let now = self.clock().now();
        let counted = if p.status == PackStatus::Verified {
            // Complete already: any further unit is one too many, or not in the parcel at all.
            match p.verification.lines.iter().any(|l| l.sku == product.sku.as_str()) {
                true => ItemScan::Extra { sku: product.sku.to_string() },
                false => ItemScan::Wrong { sku: product.sku.to_string() },
            }
        } else {
            p.verification.count(product.sku.as_str())
        };
        let (signal, event, alarm) = match &counted {
            ItemScan::Counted { done: true, .. } => (Signal::Done, "verified", None),
            ItemScan::Counted { done: false, .. } => (Signal::Ok, "counted", None),
            ItemScan::Extra { sku } => (Signal::Wrong, "extra_item", Some(format!("one {sku} too many scanned"))),
            ItemScan::Wrong { sku } => (Signal::Wrong, "wrong_item", Some(format!("{sku} scanned, not in the order"))),
        };
        let line = p.verification.lines.iter().find(|l| l.sku == product.sku.as_str());
        let mut params = vec![("sku", product.sku.to_string())];
        if let Some(l) = line {
            params.push(("scanned", l.scanned.to_string()));
            params.push(("needed", l.needed.to_string()));
        }
        let mut tx = self.store.begin().await?;
        if let ItemScan::Counted { done, .. } = counted {
            if done {
                p.status = PackStatus::Verified;
            }
            p.updated_at = now;
            if !fstore::update_pack(&mut tx, &p, read_at).await? {
                return Err(busy());
            }
            if done {
                let why = format!("every item verified by scan at {}", p.station);
                orders::insert_audit(&mut tx, &[audit(&p.order_id, "pack_verify", why, actor, now)]).await?;
            }
        } else if let Some(why) = alarm {
            orders::insert_audit(&mut tx, &[audit(&p.order_id, "pack_alarm", why, actor, now)]).await?;
        }
        commit(tx).await?;
        Ok(outcome(signal, event, params, Some(self.view(p, None).await?)))
    }

    /// A supervisor lets a parcel be weighed without every item scanned (a barcode that will not read); audited.
    pub async fn override_verification(&self, id: &PackId, actor: Actor) -> Result<ScanOutcome> {
        let mut p = self.pack(id).await?;
        if p.status != PackStatus::Open {
            return Err(not_ready(&p, "only a parcel whose items are being scanned can be released for weighing"));
        }
        let read_at = p.updated_at;
        let now = self.clock().now();
        p.status = PackStatus::Verified;
        p.overridden_by = Some(actor.to_stored());
        p.updated_at = now;
        let missing: Vec<String> = p
            .verification
            .lines
            .iter()
            .filter(|l| l.scanned < l.needed)
            .map(|l| format!("{} {}/{}", l.sku, l.scanned, l.needed))
            .collect();
        let mut tx = self.store.begin().await?;
        if !fstore::update_pack(&mut tx, &p, read_at).await? {
            return Err(busy());
        }
        let why = format!("verification overridden; not scanned: {}", missing.join(", "));
        orders::insert_audit(&mut tx, &[audit(&p.order_id, "pack_override", why, actor.clone(), now)]).await?;
        commit(tx).await?;
        Ok(outcome(Signal::Done, "overridden", vec![("by", actor.to_stored())], Some(self.view(p, None).await?)))
    }

    /// Weighs the parcel with the station's newest reading: a DWS reading for its waybill first, else the scale's.
    pub async fn weigh_from_devices(&self, id: &PackId, actor: Actor) -> Result<ScanOutcome> {
        let p = self.pack(id).await?;
        let mut conn = self.store.read().await?;
        let shipment = lstore::shipment(&mut conn, &p.shipment_id).await?.ok_or(Error::NotFound("shipment"))?;
        let by_waybill = match &shipment.tracking_number {
            Some(t) => fstore::reading_for_waybill(&mut conn, t).await?.filter(|r| r.at >= p.created_at),
            None => None,
        };
        let reading = match by_waybill {
            Some(r) => Some(r),
            // A reading from before the parcel was opened belongs to the parcel before it.
            None => fstore::latest_reading(&mut conn, &p.station, p.created_at).await?,
        };
        drop(conn);
        match reading {
            None => Ok(outcome(Signal::Wrong, "no_reading", vec![], Some(self.view(p, None).await?))),
            Some(r) if !r.stable => {
                let params = vec![("weight", grams(r.measure.weight_g))];
                Ok(outcome(Signal::Wrong, "scale_moving", params, Some(self.view(p, None).await?)))
            }
            Some(r) => self.weigh(id, r.measure, r.source, actor).await,
        }
    }

    /// Weighs a verified parcel and acts on the check: print, re-rate (moving it to a better channel when there
    /// is one), or hold it with a task.
    pub async fn weigh(&self, id: &PackId, m: Measure, source: ReadingSource, actor: Actor) -> Result<ScanOutcome> {
        let mut p = self.pack(id).await?;
        match p.status {
            PackStatus::Verified => {}
            PackStatus::Open => {
                let left: i64 = p.verification.lines.iter().map(|l| (l.needed - l.scanned).max(0)).sum();
                return Err(not_ready(&p, &format!("{left} item(s) still to scan before weighing")));
            }
            PackStatus::Packed => return Err(not_ready(&p, "already weighed and packed")),
            PackStatus::Intercepted => return Err(not_ready(&p, "held: a supervisor releases it or re-weighs it")),
        }
        let station = self.station(&p.station).await?;
        let mut conn = self.store.read().await?;
        let order = orders::get(&mut conn, &p.order_id).await?.ok_or(Error::NotFound("order"))?;
        let shipment = lstore::shipment(&mut conn, &p.shipment_id).await?.ok_or(Error::NotFound("shipment"))?;
        if shipment.status != BookingStatus::Booked {
            return Err(not_ready(&p, "its shipment is no longer booked (cancelled elsewhere?)"));
        }
        let rules = rules(&mut conn).await?;
        let products = logistics::products_of(&mut conn, &order).await?;
        let snap = self.ctx.review.snapshot(&mut conn).await?;
        let lg = snap.logistics();
        let base = snap.base();
        let country = order.shipping_address.country;
        let wanted: Vec<String> = lg.lane_keys(country).collect();
        let refs: Vec<&str> = wanted.iter().map(String::as_str).collect();
        let counts = codflow_store::review::counts(&mut conn, &refs).await?;
        drop(conn);

        let units: i64 =
            order.lines.iter().map(|l| products.get(&l.sku).map_or(0, |p| p.unit_weight_g) * l.quantity).sum();
        // The recommended boxes' own weight where the warehouse has boxes for the order, else the floor's
        // allowance for packaging.
        let recommended = self.fulfilment.packaging_of(&order).await.ok();
        let packaging_g = recommended.as_ref().map_or(rules.packaging_g, |r| r.expected_weight_g - units);
        // The box holding most units names the parcel's kind when the order goes in several.
        let boxed = recommended.as_ref().and_then(|r| {
            let main = r.boxes.iter().max_by_key(|b| b.skus.len())?;
            Some((main.kind, r.boxes.iter().map(|b| b.code.as_str()).collect::<Vec<_>>().join(",")))
        });
        let expected = units + packaging_g;
        let categories: Vec<&str> = products.values().filter_map(|p| p.category.as_deref()).collect();
        let tolerance = rules.tolerance_for(shipment.channel.as_str(), categories.iter().copied());
        let mut req = logistics::request_for(&order, &products, lg.settings.incoterm);
        let dims = m.dims_cm.unwrap_or([0, 0, 0]);
        req.parcels = vec![Parcel { weight_g: m.weight_g, length_cm: dims[0], width_cm: dims[1], height_cm: dims[2] }];
        let revenue = review::to_base(&order, base, snap.rates()).ok();
        let cost = logistics::goods_cost(&order, &products, base, &lg.rates);
        let stats = |c: &ChannelCode| logistics::lane_stats(&counts, c, country);
        let (ranking, ineligible) = lg.choose(&req, base, revenue, cost, lg.settings.strategy, stats);
        let before = order
            .allocation
            .as_ref()
            .and_then(|a| a.choice.as_ref())
            .and_then(|c| c.ranking.iter().find(|r| r.channel == shipment.channel.as_str()).cloned());
        let booked_now = ranking.ranked.iter().find(|r| r.quote.channel == shipment.channel);
        let booked_channel = lg.channels.iter().find(|c| c.code == shipment.channel);
        let measured_billable = match (booked_now, booked_channel) {
            (Some(r), _) => r.quote.billable_weight_g,
            (None, Some(c)) => c.card.billable(&req.parcels[0]).1,
            (None, None) => m.weight_g,
        };
        // Allocation quoted the units alone; the box the packer must add is no surprise, so a parcel bills
        // "heavier" only beyond what the expected parcel (units and packaging) bills at on its channel.
        let expected_billable = booked_channel
            .map(|c| c.card.billable(&Parcel { weight_g: expected, length_cm: 0, width_cm: 0, height_cm: 0 }).1)
            .unwrap_or(expected);
        let quoted_billable = before.as_ref().map_or(shipment.weight_g, |b| b.billable_weight_g).max(expected_billable);
        let check = floor::check(expected, m.weight_g, quoted_billable, measured_billable, tolerance, rules.intercept);
        let best = ranking.ranked.first();
        let why_ineligible =
            ineligible.iter().find(|(c, _)| c.code == shipment.channel).map(|(_, e)| e.message.clone());

        // What to do: keep the booking, move it, or hold the parcel.
        enum Plan<'a> {
            Print(Outcome),
            Move(&'a Ranked),
            /// Why, as a stable cause and in English words.
            Hold(&'static str, String),
        }
        let plan = match check.verdict {
            Verdict::Within => Plan::Print(Outcome::Passed),
            Verdict::Intercept => {
                Plan::Hold(check.cause.as_str(), format!("{} by {} g", check.cause.as_str(), check.diff_g.abs()))
            }
            Verdict::Rerate => match (booked_now, best) {
                (Some(b), Some(top))
                    if top.quote.channel != b.quote.channel && score(top) - score(b) > rules.rebook_margin_minor =>
                {
                    Plan::Move(top)
                }
                (Some(_), _) => Plan::Print(Outcome::Rerated),
                (None, Some(top)) => Plan::Move(top),
                (None, None) => Plan::Hold(
                    "no_channel",
                    format!(
                        "no channel can take it at {} g{}",
                        m.weight_g,
                        why_ineligible.as_deref().map(|w| format!(" ({w})")).unwrap_or_default()
                    ),
                ),
            },
        };
        let quote_of = |r: &Ranked| {
            json!({
                "channel": r.quote.channel.as_str(),
                "currency": r.quote.currency.code(),
                "total_minor": r.quote.breakdown.total(),
                "total_base_minor": r.quote.total_base.minor,
                "billable_weight_g": r.quote.billable_weight_g,
                "volumetric_weight_g": r.quote.volumetric_weight_g,
                "expected_profit_minor": r.expected_profit.map(|m| m.minor),
            })
        };
        let mut evidence = json!({
            "reading": { "weight_g": m.weight_g, "dims_cm": m.dims_cm, "source": source.as_str() },
            "check": check,
            "tolerance": tolerance,
            "intercept": rules.intercept,
            "packaging_g": rules.packaging_g,
            "units_weight_g": units,
            "boxes": boxed.as_ref().map(|(_, codes)| codes),
            "declared_weight_g": shipment.weight_g,
            "quote_before": before,
            "quote_after": booked_now.map(quote_of),
            "best_after": best.map(quote_of),
            "why": ranking.why,
            "booked": { "shipment": shipment.id.as_str(), "channel": shipment.channel.as_str(),
                        "tracking_number": shipment.tracking_number },
        });

        let (final_outcome, new_shipment, hold) = match plan {
            Plan::Print(o) => (o, None, None),
            Plan::Hold(cause, why) => (Outcome::Intercepted, None, Some((cause, why))),
            Plan::Move(top) => {
                match self.rebook(&order, &shipment, top, &ranking, &ineligible, &m, actor.clone()).await {
                    Ok(s) => (Outcome::Rebooked, Some(s), None),
                    Err(why) => (Outcome::Intercepted, None, Some(("rebook_failed", why))),
                }
            }
        };
        if let Some(s) = &new_shipment {
            evidence["rebooked"] = json!({ "shipment": s.id.as_str(), "channel": s.channel.as_str(),
                                           "tracking_number": s.tracking_number });
        }
        if let Some((cause, why)) = &hold {
            evidence["held_because"] = json!({ "cause": cause, "why": why });
        }

        let read_at = p.updated_at;
        let now = self.clock().now();
        p.measure = Some(m);
        p.source = Some(source);
        p.outcome = Some(final_outcome);
        p.evidence = Some(evidence.to_string());
        p.updated_at = now;
        if let Some(s) = &new_shipment {
            p.shipment_id = s.id.clone();
        }
        let task = hold.as_ref().map(|(_, why)| {
            let kind = AnomalyKind::WeightIntercepted;
            Task {
                id: TaskId::generate(),
                kind,
                shipment_id: Some(p.shipment_id.clone()),
                order_id: Some(p.order_id.clone()),
                role: kind.role(),
                status: TaskStatus::Open,
                title: format!("{}: weighed {} g, expected {} g, {why}", kind.title(), m.weight_g, expected),
                due_at: now + Thresholds::default().sla(kind),
                assignee: None,
                opened_by: format!("pack station {}", p.station),
                resolution: None,
                created_at: now,
                updated_at: now,
                closed_at: None,
            }
        });
        p.status = if task.is_some() { PackStatus::Intercepted } else { PackStatus::Packed };
        p.task_id = task.as_ref().map(|t| t.id.clone());
        let reason = format!(
            "weighed {} g{} ({}) at {}, expected {} g ± {} g: {}{}",
            m.weight_g,
            m.dims_cm.map(|d| format!(", {}×{}×{} cm", d[0], d[1], d[2])).unwrap_or_default(),
            source.as_str(),
            p.station,
            expected,
            check.margin_g,
            final_outcome.as_str(),
            hold.as_ref().map(|(_, w)| format!(" — {w}")).unwrap_or_default()
        );
        let mut tx = self.store.begin().await?;
        if !fstore::update_pack(&mut tx, &p, read_at).await? {
            return Err(busy());
        }
        if let Some(t) = &task {
            tstore::open_many(&mut tx, std::slice::from_ref(t)).await?;
        }
        if let Some((kind, codes)) = &boxed {
            codflow_store::packaging::set_pack_box(&mut tx, &p.id, *kind, codes).await?;
        }
        orders::insert_audit(&mut tx, &[audit(&p.order_id, "pack_weigh", reason, actor, now)]).await?;
        commit(tx).await?;

        let base_params = vec![("weight", grams(m.weight_g)), ("expected", grams(expected))];
        match (final_outcome, &hold) {
            (Outcome::Intercepted, Some((cause, why))) => {
                let mut params = base_params;
                params.push(("cause", (*cause).to_owned()));
                params.push(("diff", check.diff_g.abs().to_string()));
                params.push(("why", why.clone()));
                params.push(("task", p.task_id.as_ref().map(|t| t.to_string()).unwrap_or_default()));
                Ok(outcome(Signal::Wrong, "intercepted", params, Some(self.view(p, None).await?)))
            }
            (o, _) => {
                let mut params = base_params;
                let channel = new_shipment.as_ref().map_or(shipment.channel.clone(), |s| s.channel.clone());
                params.push(("channel", channel.to_string()));
                params.push(("from", shipment.channel.to_string()));
                self.print_and_answer(&station, p, o.as_str(), params).await
            }
        }
    }

    /// Voids the booking with its carrier and books the order on `to` with the measured weight. The reason in
    /// words when any step fails (the parcel is then held).
    #[allow(clippy::too_many_arguments)]
    async fn rebook(
        &self,
        order: &Order,
        old: &Shipment,
        to: &Ranked,
        ranking: &codflow_domain::rating::Ranking,
        ineligible: &[(&codflow_domain::rating::Channel, codflow_domain::rating::Ineligible)],
        m: &Measure,
        actor: Actor,
    ) -> std::result::Result<Shipment, String> {
        self.fulfilment
            .cancel_shipment(&old.id, actor.clone())
            .await
            .map_err(|e| format!("the carrier did not void {}: {e}", old.tracking_number.as_deref().unwrap_or("")))?;
        let moved = async {
            let now = self.clock().now();
            let mut tx = self.store.begin().await?;
            let mut o = orders::get(&mut tx, &order.id).await?.ok_or(Error::NotFound("order"))?;
            let Some(a) = o.allocation.as_mut() else { return Err(Error::NotFound("allocation")) };
            let warehouse =
                catalogue::warehouse_by_code(&mut tx, &a.warehouse).await?.ok_or(Error::NotFound("warehouse"))?;
            let mut choice = logistics::choice_of(ranking, ineligible);
            choice.why = format!("re-rated at the pack station at {} g: {}", m.weight_g, choice.why);
            a.channel = Some(to.quote.channel.clone());
            a.choice = Some(choice);
            o.updated_at = now;
            orders::save_state(&mut tx, &o, Some(&warehouse.id)).await?;
            let why = format!("moved from {} to {} after weighing {} g", old.channel, to.quote.channel, m.weight_g);
            orders::insert_audit(&mut tx, &[audit(&o.id, "pack_rerate", why, actor.clone(), now)]).await?;
            commit(tx).await?;
            self.fulfilment.book_weighing(&order.id, actor.clone(), Some(m.weight_g)).await
        };
        let s = moved.await.map_err(|e| format!("re-booking on {} failed: {e}", to.quote.channel))?;
        if s.status != BookingStatus::Booked {
            return Err(format!(
                "{} did not book it: {}",
                to.quote.channel,
                s.last_error.as_deref().unwrap_or("no answer yet")
            ));
        }
        Ok(s)
    }

    /// Lets a held parcel go as booked (a supervisor checked it): prints, and closes its task.
    pub async fn release(&self, id: &PackId, actor: Actor) -> Result<ScanOutcome> {
        let mut p = self.pack(id).await?;
        if p.status != PackStatus::Intercepted {
            return Err(Error::Conflict {
                kind: ConflictKind::NotIntercepted,
                message: format!("pack {} is {}; only a held parcel is released", p.id, p.status.as_str()),
            });
        }
        let station = self.station(&p.station).await?;
        let read_at = p.updated_at;
        let now = self.clock().now();
        p.status = PackStatus::Packed;
        p.outcome = Some(Outcome::Released);
        p.updated_at = now;
        let mut tx = self.store.begin().await?;
        if !fstore::update_pack(&mut tx, &p, read_at).await? {
            return Err(busy());
        }
        if let Some(t) = &p.task_id
            && let Some(mut task) = tstore::get(&mut tx, t).await?
            && task.status != TaskStatus::Done
        {
            task.status = TaskStatus::Done;
            task.resolution = Some(format!("released at the pack station by {}", actor.to_stored()));
            task.closed_at = Some(now);
            task.updated_at = now;
            tstore::update(&mut tx, &task).await?;
        }
        let why = format!("held parcel released by {}", actor.to_stored());
        orders::insert_audit(&mut tx, &[audit(&p.order_id, "pack_release", why, actor.clone(), now)]).await?;
        commit(tx).await?;
        self.print_and_answer(&station, p, "released", vec![("by", actor.to_stored())]).await
    }

    /// Prints a packed parcel's label again.
    pub async fn reprint(&self, id: &PackId) -> Result<ScanOutcome> {
        let p = self.pack(id).await?;
        if p.status != PackStatus::Packed {
            return Err(not_ready(&p, "only a packed parcel has a label to print"));
        }
        let station = self.station(&p.station).await?;
        self.print_and_answer(&station, p, "reprinted", vec![]).await
    }

    /// Sends the label and answers `event`, or `print_failed` with the printer's reason (the parcel stays
    /// packed; scanning it again prints it).
    async fn print_and_answer(
        &self,
        station: &Station,
        mut p: Pack,
        event: &'static str,
        params: Vec<(&'static str, String)>,
    ) -> Result<ScanOutcome> {
        let sent = match &station.printer {
            None => Ok(LabelSent::Pdf(format!("/api/v1/shipments/{}/label?format=pdf", p.shipment_id))),
            Some(addr) => {
                let zpl = self.fulfilment.labels_zpl(&[p.shipment_id.to_string()]).await?;
                printer::send_zpl(addr.as_str(), &zpl, printer::TIMEOUT)
                    .await
                    .map(|()| LabelSent::Printer(addr.as_str().to_owned()))
                    .map_err(|e| e.to_string())
            }
        };
        match sent {
            Ok(label) => {
                let read_at = p.updated_at;
                let now = self.clock().now();
                p.printed_at = Some(now);
                p.updated_at = now;
                let mut tx = self.store.begin().await?;
                if fstore::update_pack(&mut tx, &p, read_at).await? {
                    commit(tx).await?;
                } else {
                    codflow_store::rollback(tx).await?;
                }
                Ok(outcome(Signal::Done, event, params, Some(self.view(p, Some(label)).await?)))
            }
            Err(reason) => {
                let view = self.view(p, None).await?;
                Ok(outcome(Signal::Wrong, "print_failed", vec![("reason", reason)], Some(view)))
            }
        }
    }

    /// The pack of the parcel this shipment is, when it went through a pack station.
    pub async fn pack_of_shipment(&self, id: &codflow_domain::ShipmentId) -> Result<Option<Pack>> {
        Ok(fstore::pack_of_shipment(&mut *self.store.read().await?, id).await?)
    }

    pub async fn pack(&self, id: &PackId) -> Result<Pack> {
        fstore::pack(&mut *self.store.read().await?, id).await?.ok_or(Error::NotFound("pack"))
    }

    /// The parcel open at a station (being scanned or waiting for its weight), if any.
    pub async fn open_pack(&self, station: &StationCode) -> Result<Option<PackView>> {
        let found = fstore::packs(&mut *self.store.read().await?, Some(station), None, 1).await?;
        match found.into_iter().next().filter(|p| matches!(p.status, PackStatus::Open | PackStatus::Verified)) {
            Some(p) => Ok(Some(self.view(p, None).await?)),
            None => Ok(None),
        }
    }

    /// Recent packs, newest first.
    pub async fn packs(
        &self,
        station: Option<&StationCode>,
        status: Option<PackStatus>,
        limit: i64,
    ) -> Result<Vec<Pack>> {
        Ok(fstore::packs(&mut *self.store.read().await?, station, status, limit.clamp(1, 500)).await?)
    }

    /// Recent packs as the station shows them, newest first.
    pub async fn pack_views(
        &self,
        station: Option<&StationCode>,
        status: Option<PackStatus>,
        limit: i64,
    ) -> Result<Vec<PackView>> {
        let packs = self.packs(station, status, limit).await?;
        let mut out = Vec::with_capacity(packs.len());
        for p in packs {
            out.push(self.view(p, None).await?);
        }
        Ok(out)
    }

    pub async fn pack_view(&self, id: &PackId) -> Result<PackView> {
        let p = self.pack(id).await?;
        self.view(p, None).await
    }

    async fn view(&self, pack: Pack, label: Option<LabelSent>) -> Result<PackView> {
        let mut conn = self.store.read().await?;
        let order = orders::get(&mut conn, &pack.order_id).await?.ok_or(Error::NotFound("order"))?;
        let shipment = lstore::shipment(&mut conn, &pack.shipment_id).await?.ok_or(Error::NotFound("shipment"))?;
        let products = logistics::products_of(&mut conn, &order).await?;
        let warehouse = match order.allocation.as_ref() {
            Some(a) => catalogue::warehouse_by_code(&mut conn, &a.warehouse).await?,
            None => None,
        };
        let mut items = Vec::with_capacity(pack.verification.lines.len());
        for l in &pack.verification.lines {
            let p = Sku::parse(&l.sku).ok().and_then(|s| products.get(&s));
            let bin = match (p, &warehouse) {
                (Some(p), Some(w)) => {
                    catalogue::stock_location(&mut conn, &w.id, &p.id).await?.map(|b| b.as_str().to_owned())
                }
                _ => None,
            };
            items.push(ItemView {
                sku: l.sku.clone(),
                title: p.map(|p| p.title.clone()).unwrap_or_default(),
                needed: l.needed,
                scanned: l.scanned,
                bin,
            });
        }
        let customs = warehouse.as_ref().is_some_and(|w| w.country != order.shipping_address.country);
        Ok(PackView {
            customs,
            order_ref: order.external_id,
            tracking_number: shipment.tracking_number,
            channel: shipment.channel,
            items,
            label,
            pack,
        })
    }
}

fn not_ready(p: &Pack, why: &str) -> Error {
    Error::Conflict {
        kind: ConflictKind::PackNotReady,
        message: format!("pack {} ({}): {why}", p.id, p.status.as_str()),
    }
}

/// The product a scanned code names: one of its barcodes, or its SKU as printed on the shelf.
pub(super) async fn product_by_code(conn: &mut Conn, code: &str) -> Result<Option<Product>> {
    if let Some(p) = fstore::product_by_barcode(conn, code).await? {
        return Ok(Some(p));
    }
    match Sku::parse(code) {
        Ok(sku) => Ok(catalogue::product_by_sku(conn, &sku).await?),
        Err(_) => Ok(None),
    }
}

/// The orders a scanned code names: an order id, a pack id, a waybill, or a shop's order number.
pub(super) async fn find_orders(conn: &mut Conn, code: &str) -> Result<Vec<OrderId>> {
    if let Ok(id) = OrderId::parse(code) {
        return Ok(orders::get(conn, &id).await?.map(|o| o.id).into_iter().collect());
    }
    if let Ok(id) = PackId::parse(code) {
        return Ok(fstore::pack(conn, &id).await?.map(|p| p.order_id).into_iter().collect());
    }
    if let Some(s) = lstore::shipment_by_tracking(conn, code).await? {
        return Ok(vec![s.order_id]);
    }
    Ok(fstore::orders_by_external(conn, code, 2).await?)
}
