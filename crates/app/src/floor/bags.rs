//! Sorting and handover. A packed parcel scanned at the sort screen goes into the open bag of its warehouse,
//! carrier, channel and destination country (a new one when there is none); a closed bag gets its label and
//! bagging list; a carrier pickup takes every closed bag of the carrier as one manifest, each bag scanned as it
//! is handed over. Parcels packed but not handed over by the cut-off open a task.

use codflow_connectors::carriers::{BagRequest, Carrier, ManifestRequest, Manifests};
use codflow_documents::bags::{BagDoc, BagParcel, ManifestDoc};
use codflow_domain::anomaly::{AnomalyKind, Thresholds};
use codflow_domain::floor::{Bag, BagStatus, PackStatus};
use codflow_domain::work::{Task, TaskStatus};
use codflow_domain::{Actor, AuditRecord, BagId, HandoverId, TaskId};
use codflow_store::{commit, floor as fstore, logistics as lstore, orders, tasks as tstore};
use time::Duration;

use super::pack::{Signal, find_orders};
use crate::error::ConflictKind;
use crate::{Error, Floor, Result};

/// What a scan at the sort screen did.
#[derive(Clone, Debug)]
pub struct SortOutcome {
    pub signal: Signal,
    pub event: &'static str,
    pub params: Vec<(&'static str, String)>,
    pub message: String,
    pub bag: Option<Bag>,
}

fn sorted(signal: Signal, event: &'static str, params: Vec<(&'static str, String)>, bag: Option<Bag>) -> SortOutcome {
    let v = |k: &str| params.iter().find(|(n, _)| *n == k).map_or("", |(_, v)| v.as_str()).to_owned();
    let message = match event {
        "bagged" => format!("into bag {} ({} parcels)", v("bag"), v("parcels")),
        "new_bag" => format!("a new bag {} for {} {}: put it in", v("bag"), v("channel"), v("country")),
        "already_bagged" => format!("already in bag {}", v("bag")),
        "not_packed" => format!("order {} is not packed ({})", v("order"), v("status")),
        "unknown_code" => format!("{} is not a parcel codflow knows", v("code")),
        "handed_over" => format!("bag {} handed over", v("bag")),
        "not_in_pickup" => format!("bag {} is not in this pickup", v("bag")),
        other => other.to_owned(),
    };
    SortOutcome { signal, event, params, message, bag }
}

/// A pickup and its bags.
#[derive(Clone, Debug)]
pub struct HandoverView {
    pub id: HandoverId,
    pub carrier: String,
    pub created_by: String,
    pub created_at: time::OffsetDateTime,
    pub bags: Vec<Bag>,
    /// The carrier's manifest number, once its API took the pickup.
    pub carrier_ref: Option<String>,
    /// Why sending the pickup to the carrier's API failed, until it succeeds.
    pub carrier_error: Option<String>,
    /// Whether the carrier takes bags and manifests through its API.
    pub carrier_api: bool,
}

impl Floor {
    /// Sorts a packed parcel into its bag.
    pub async fn sort(&self, code: &str, actor: Actor) -> Result<SortOutcome> {
        let code = code.trim();
        if code.is_empty() || code.len() > 64 || !code.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::invalid("code", "a scan is 1 to 64 printable characters without spaces"));
        }
        let mut conn = self.store.read().await?;
        let found = find_orders(&mut conn, code).await?;
        let [order_id] = found.as_slice() else {
            return Ok(sorted(Signal::Wrong, "unknown_code", vec![("code", code.to_owned())], None));
        };
        let order = orders::get(&mut conn, order_id).await?.ok_or(Error::NotFound("order"))?;
        let pack = match fstore::pack_of_order(&mut conn, order_id).await? {
            Some(p) if p.status == PackStatus::Packed => p,
            other => {
                let status = other.map_or("not at a pack station yet".to_owned(), |p| p.status.as_str().to_owned());
                let params = vec![("order", order.external_id), ("status", status)];
                return Ok(sorted(Signal::Wrong, "not_packed", params, None));
            }
        };
        if let Some(b) = fstore::bag_of_shipment(&mut conn, &pack.shipment_id).await? {
            return Ok(sorted(Signal::Info, "already_bagged", vec![("bag", b.code.clone())], Some(b)));
        }
        let shipment = lstore::shipment(&mut conn, &pack.shipment_id).await?.ok_or(Error::NotFound("shipment"))?;
        let warehouse = order.allocation.as_ref().map(|a| a.warehouse.clone()).ok_or(Error::NotFound("allocation"))?;
        let country = order.shipping_address.country;
        drop(conn);
        let now = self.clock().now();
        let mut tx = self.store.begin().await?;
        let (bag, new) =
            match fstore::open_bag(&mut tx, &warehouse, &shipment.carrier, &shipment.channel, country).await? {
                Some(b) => (b, false),
                None => {
                    let b = Bag {
                        id: BagId::generate(),
                        code: String::new(),
                        warehouse,
                        carrier: shipment.carrier.clone(),
                        channel: shipment.channel.clone(),
                        country,
                        status: BagStatus::Open,
                        handover: None,
                        parcels: 0,
                        weight_g: 0,
                        created_at: now,
                        closed_at: None,
                        handed_at: None,
                        carrier_ref: None,
                    };
                    fstore::insert_bag(&mut tx, &b).await?;
                    (b, true)
                }
            };
        let weight = pack.measure.map_or(shipment.weight_g, |m| m.weight_g);
        if !fstore::add_to_bag(&mut tx, &bag.id, &shipment.id, weight, now).await? {
            codflow_store::rollback(tx).await?;
            return Err(Error::Conflict {
                kind: ConflictKind::Busy,
                message: "the parcel was bagged at another screen meanwhile; scan it again".into(),
            });
        }
        let bag = fstore::bag(&mut tx, &bag.id).await?.ok_or(Error::NotFound("bag"))?;
        let mut a = AuditRecord::change("order", order.id.to_string(), "bag", None, None, actor, now);
        a.reason = Some(format!("into bag {} ({} {} {})", bag.code, bag.carrier, bag.channel, bag.country));
        orders::insert_audit(&mut tx, &[a]).await?;
        commit(tx).await?;
        let mut params = vec![("bag", bag.code.clone()), ("parcels", bag.parcels.to_string())];
        params.push(("channel", bag.channel.to_string()));
        params.push(("country", bag.country.to_string()));
        Ok(sorted(Signal::Ok, if new { "new_bag" } else { "bagged" }, params, Some(bag)))
    }

    pub async fn bags(&self, status: Option<BagStatus>, limit: i64) -> Result<Vec<Bag>> {
        Ok(fstore::bags(&mut *self.store.read().await?, status, None, limit.clamp(1, 500)).await?)
    }

    pub async fn bag(&self, id: &BagId) -> Result<Bag> {
        fstore::bag(&mut *self.store.read().await?, id).await?.ok_or(Error::NotFound("bag"))
    }

    /// Seals an open bag: no parcel goes in after.
    pub async fn close_bag(&self, id: &BagId, actor: Actor) -> Result<Bag> {
        let now = self.clock().now();
        let mut tx = self.store.begin().await?;
        let bag = fstore::bag(&mut tx, id).await?.ok_or(Error::NotFound("bag"))?;
        if !fstore::move_bag(&mut tx, id, BagStatus::Open, BagStatus::Closed, now).await? {
            return Err(Error::Conflict {
                kind: ConflictKind::BagNotOpen,
                message: format!("bag {} is {}; only an open bag is closed", bag.code, bag.status.as_str()),
            });
        }
        let a = AuditRecord::change(
            "bag",
            bag.code.clone(),
            "close",
            Some("open".into()),
            Some("closed".into()),
            actor,
            now,
        );
        orders::insert_audit(&mut tx, &[a]).await?;
        commit(tx).await?;
        self.bag(id).await
    }

    /// The bag with its parcels, for its label and list.
    pub async fn bag_doc(&self, id: &BagId) -> Result<BagDoc> {
        let bag = self.bag(id).await?;
        let parcels = fstore::bag_parcels(&mut *self.store.read().await?, id).await?;
        Ok(doc_of(&bag, parcels, &self.clock().now().date().to_string()))
    }

    /// A carrier pickup of every closed bag of the carrier not yet in one.
    pub async fn create_handover(&self, carrier: &str, actor: Actor) -> Result<HandoverView> {
        let carrier = carrier.trim();
        if carrier.is_empty() || carrier.len() > 32 {
            return Err(Error::invalid("carrier", "name the carrier (as its channels do)"));
        }
        let id = HandoverId::generate();
        let now = self.clock().now();
        let mut tx = self.store.begin().await?;
        let taken = fstore::insert_handover(&mut tx, &id, carrier, &actor.to_stored(), now).await?;
        if taken == 0 {
            codflow_store::rollback(tx).await?;
            return Err(Error::Conflict {
                kind: ConflictKind::NothingToHandOver,
                message: format!("no closed bag of {carrier} waits for a pickup; close the open bags first"),
            });
        }
        let a = AuditRecord::change(
            "handover",
            id.to_string(),
            "create",
            None,
            Some(format!("{taken} bags")),
            actor.clone(),
            now,
        );
        orders::insert_audit(&mut tx, &[a]).await?;
        commit(tx).await?;
        // The carrier's API, where it has one, hears of the pickup at once; a failure is kept on the pickup
        // for a retry and does not undo it.
        match self.send_manifest(&id, actor).await {
            Ok(v) => Ok(v),
            Err(Error::Conflict { kind: ConflictKind::NoCarrierApi, .. }) => self.handover(&id).await,
            Err(e) => Err(e),
        }
    }

    pub async fn handover(&self, id: &HandoverId) -> Result<HandoverView> {
        let mut conn = self.store.read().await?;
        let h = fstore::handover(&mut conn, id).await?.ok_or(Error::NotFound("handover"))?;
        let bags = fstore::bags(&mut conn, None, Some(id), 10_000).await?;
        let carrier_api = self.pickup_carrier(&h.carrier).await?.is_some_and(|c| c.takes_manifests());
        Ok(HandoverView {
            id: id.clone(),
            carrier: h.carrier,
            created_by: h.created_by,
            created_at: h.created_at,
            bags,
            carrier_ref: h.carrier_ref,
            carrier_error: h.carrier_error,
            carrier_api,
        })
    }

    /// Sends a pickup's bags, then its manifest, to the carrier's API where the carrier takes them, and records
    /// the manifest number, or why it failed. Sending again is safe: each bag's number is kept as it comes, and
    /// the carrier answers the same bag and manifest for our references (the bag's code, the pickup's id).
    pub async fn send_manifest(&self, id: &HandoverId, actor: Actor) -> Result<HandoverView> {
        let view = self.handover(id).await?;
        let carrier = self.pickup_carrier(&view.carrier).await?.filter(|c| c.takes_manifests()).ok_or_else(|| {
            Error::Conflict {
                kind: ConflictKind::NoCarrierApi,
                message: format!(
                    "{} takes no bags or manifests through an API codflow speaks: hand it the PDF manifest",
                    view.carrier
                ),
            }
        })?;
        if view.carrier_ref.is_some() {
            return Ok(view);
        }
        let sent = async {
            let mut numbers = Vec::with_capacity(view.bags.len());
            let mut tracking_numbers = Vec::new();
            for bag in &view.bags {
                let parcels = fstore::bag_parcels(&mut *self.store.read().await?, &bag.id).await?;
                let in_bag: Vec<String> = parcels.into_iter().map(|p| p.1).collect();
                tracking_numbers.extend(in_bag.iter().cloned());
                if !carrier.takes_bags() {
                    continue;
                }
                if let Some(n) = &bag.carrier_ref {
                    numbers.push(n.clone());
                    continue;
                }
                let req = BagRequest {
                    reference: bag.code.clone(),
                    destination_country: bag.country.to_string(),
                    tracking_numbers: in_bag,
                    weight_g: bag.weight_g.max(1),
                };
                let number = carrier
                    .register_bag(&req)
                    .await
                    .map_err(|e| Error::Unavailable(format!("bag {}: {e}", bag.code)))?;
                let mut tx = self.store.begin().await?;
                fstore::set_bag_carrier_ref(&mut tx, &bag.id, &number).await?;
                commit(tx).await?;
                numbers.push(number);
            }
            let weight_g = view.bags.iter().map(|b| b.weight_g.max(0)).sum::<i64>().max(1);
            let req = ManifestRequest { reference: id.to_string(), bag_numbers: numbers, tracking_numbers, weight_g };
            carrier.submit_manifest(&req).await.map_err(|e| Error::Unavailable(format!("manifest: {e}")))
        }
        .await;
        let now = self.clock().now();
        let mut tx = self.store.begin().await?;
        let audit = match &sent {
            Ok(m) => {
                fstore::set_handover_carrier(&mut tx, id, Some(&m.number), None).await?;
                let what = format!("{} parcels, {} g: manifest {}", m.parcels, m.weight_g, m.number);
                AuditRecord::change("handover", id.to_string(), "send_manifest", None, Some(what), actor, now)
            }
            Err(Error::Unavailable(why)) => {
                fstore::set_handover_carrier(&mut tx, id, None, Some(why)).await?;
                let mut a =
                    AuditRecord::change("handover", id.to_string(), "send_manifest_failed", None, None, actor, now);
                a.reason = Some(why.clone());
                a
            }
            Err(_) => {
                codflow_store::rollback(tx).await?;
                return sent.map(|_| view);
            }
        };
        orders::insert_audit(&mut tx, &[audit]).await?;
        commit(tx).await?;
        self.handover(id).await
    }

    /// The connector a pickup of `carrier` is sent through: the one given on the command line, else the
    /// carrier's first stored account.
    async fn pickup_carrier(&self, carrier: &str) -> Result<Option<Carrier>> {
        let mut conn = self.store.read().await?;
        Ok(self.fulfilment.carriers.resolve(&mut conn, carrier, None).await?.ok())
    }

    /// A bag scanned onto the carrier's vehicle.
    pub async fn hand_over(&self, id: &HandoverId, code: &str, actor: Actor) -> Result<SortOutcome> {
        let code = code.trim();
        let now = self.clock().now();
        let mut tx = self.store.begin().await?;
        fstore::handover(&mut tx, id).await?.ok_or(Error::NotFound("handover"))?;
        let Some(bag) = fstore::bag_by_code(&mut tx, code).await? else {
            return Ok(sorted(Signal::Wrong, "unknown_code", vec![("code", code.to_owned())], None));
        };
        if bag.handover.as_ref() != Some(id) {
            return Ok(sorted(Signal::Wrong, "not_in_pickup", vec![("bag", bag.code.clone())], Some(bag)));
        }
        if bag.status == BagStatus::HandedOver {
            return Ok(sorted(Signal::Info, "handed_over", vec![("bag", bag.code.clone())], Some(bag)));
        }
        if !fstore::move_bag(&mut tx, &bag.id, BagStatus::Closed, BagStatus::HandedOver, now).await? {
            return Err(Error::Conflict {
                kind: ConflictKind::Busy,
                message: "the bag changed meanwhile; scan it again".into(),
            });
        }
        let a = AuditRecord::change(
            "bag",
            bag.code.clone(),
            "hand_over",
            Some("closed".into()),
            Some("handed_over".into()),
            actor.clone(),
            now,
        );
        // Each parcel's own timeline shows it left with the bag.
        let mut audits = vec![a];
        for order in fstore::bag_orders(&mut tx, &bag.id).await? {
            let mut a = AuditRecord::change("order", order.to_string(), "hand_over", None, None, actor.clone(), now);
            a.reason = Some(format!("handed to {} in bag {} (pickup {id})", bag.carrier, bag.code));
            audits.push(a);
        }
        orders::insert_audit(&mut tx, &audits).await?;
        commit(tx).await?;
        let bag = self.bag(&bag.id).await?;
        Ok(sorted(Signal::Done, "handed_over", vec![("bag", bag.code.clone())], Some(bag)))
    }

    /// The pickup's manifest: its bags and their parcels.
    pub async fn manifest(&self, id: &HandoverId) -> Result<ManifestDoc> {
        let h = self.handover(id).await?;
        let date = h.created_at.date().to_string();
        let mut bags = Vec::with_capacity(h.bags.len());
        for b in &h.bags {
            let parcels = fstore::bag_parcels(&mut *self.store.read().await?, &b.id).await?;
            bags.push(doc_of(b, parcels, &date));
        }
        Ok(ManifestDoc { reference: id.to_string(), carrier: h.carrier, date, bags })
    }

    /// The manifest as CSV: one row per parcel, cells neutralised against spreadsheet formulas.
    pub async fn manifest_csv(&self, id: &HandoverId) -> Result<String> {
        let m = self.manifest(id).await?;
        let mut out = String::from("bag,carrier,channel,country,tracking_number,order,weight_g\n");
        for b in &m.bags {
            for p in &b.parcels {
                let cells = [&b.code, &b.carrier, &b.channel, &b.country, &p.tracking_number, &p.order_ref];
                for c in cells {
                    let c = codflow_sheets::csv::neutralised(c);
                    out.push_str(&format!("\"{}\",", c.replace('"', "\"\"")));
                }
                out.push_str(&format!("{}\n", p.weight_g));
            }
        }
        Ok(out)
    }

    /// Opens a task for each parcel packed more than `cutoff` ago and still not handed over to its carrier.
    pub async fn flag_missed_pickups(&self, cutoff: Duration) -> Result<usize> {
        let now = self.clock().now();
        let late = fstore::unhanded(&mut *self.store.read().await?, now - cutoff, 1000).await?;
        let kind = AnomalyKind::MissedPickup;
        let tasks: Vec<Task> = late
            .into_iter()
            .map(|(order, shipment)| Task {
                id: TaskId::generate(),
                kind,
                shipment_id: Some(shipment),
                order_id: Some(order),
                role: kind.role(),
                status: TaskStatus::Open,
                title: kind.title().to_owned(),
                due_at: now + Thresholds::default().sla(kind),
                assignee: None,
                opened_by: "floor".into(),
                resolution: None,
                created_at: now,
                updated_at: now,
                closed_at: None,
            })
            .collect();
        let mut tx = self.store.begin().await?;
        let opened = tstore::open_many(&mut tx, &tasks).await?;
        commit(tx).await?;
        Ok(opened.len())
    }

    /// Starts the floor's sweeper: every ten minutes, parcels past the pickup cut-off open a task.
    pub fn start_floor_sweeper(&self) {
        let floor = self.clone();
        self.ctx.workers.spawn("floor", move |mut stop| async move {
            while !stop.requested() {
                let cutoff = match floor.floor_rules().await {
                    Ok(r) => Duration::hours(r.pickup_cutoff_hours),
                    Err(e) => {
                        tracing::error!(error = %e, "floor rules");
                        Duration::hours(24)
                    }
                };
                if let Err(e) = floor.flag_missed_pickups(cutoff).await {
                    tracing::error!(error = %e, "missed pickups");
                }
                if stop.pause(std::time::Duration::from_secs(600), None).await {
                    break;
                }
            }
        });
    }
}

fn doc_of(b: &Bag, parcels: Vec<(codflow_domain::ShipmentId, String, String, i64)>, date: &str) -> BagDoc {
    BagDoc {
        code: b.code.clone(),
        warehouse: b.warehouse.to_string(),
        carrier: b.carrier.clone(),
        channel: b.channel.to_string(),
        country: b.country.to_string(),
        date: date.to_owned(),
        parcels: parcels
            .into_iter()
            .map(|(_, tracking_number, order_ref, weight_g)| BagParcel { tracking_number, order_ref, weight_g })
            .collect(),
    }
}

impl Floor {
    /// The bag's 4×6 label (ZPL) or its bagging list (PDF).
    pub async fn bag_document(&self, id: &BagId, pdf: bool) -> Result<crate::documents::Document> {
        let doc = self.bag_doc(id).await?;
        Ok(if pdf {
            crate::documents::Document {
                content_type: "application/pdf",
                filename: format!("{}-list.pdf", doc.code),
                bytes: codflow_documents::bags::bag_list_pdf(&doc),
            }
        } else {
            crate::documents::Document {
                content_type: "application/zpl",
                filename: format!("{}.zpl", doc.code),
                bytes: codflow_documents::bags::bag_label_zpl(&doc).into_bytes(),
            }
        })
    }

    /// The pickup's manifest as PDF or CSV.
    pub async fn manifest_document(&self, id: &HandoverId, csv: bool) -> Result<crate::documents::Document> {
        Ok(if csv {
            crate::documents::Document {
                content_type: "text/csv; charset=utf-8",
                filename: format!("manifest-{id}.csv"),
                bytes: self.manifest_csv(id).await?.into_bytes(),
            }
        } else {
            crate::documents::Document {
                content_type: "application/pdf",
                filename: format!("manifest-{id}.pdf"),
                bytes: codflow_documents::bags::manifest_pdf(&self.manifest(id).await?),
            }
        })
    }
}
