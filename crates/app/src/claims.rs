//! Claims against carriers: opened for a lost or damaged parcel or a return graded with damage, within the
//! carrier account's filing window; filed, reviewed, decided and paid, the decision and the payment booked in
//! the ledger; an evidence pack (PDF, and a ZIP with the return's photos) built from our own records; a task
//! when a draft nears its deadline.

use codflow_documents::claim::{ClaimPacket, claim_pdf};
use codflow_documents::dispute::TimelineEntry;
use codflow_domain::anomaly::{AnomalyKind, Thresholds};
use codflow_domain::claims::{self, ClaimReason, ClaimStatus, ClaimWindow};
use codflow_domain::finance::ledger::Entry;
use codflow_domain::returns::{Disposition, Grade};
use codflow_domain::work::{Task, TaskStatus};
use codflow_domain::{Actor, AuditRecord, CarrierAccountCode, ClaimId, Money, ShipmentId, TaskId};
use codflow_store::claims::{self as cstore, Claim};
pub use codflow_store::claims::{CarrierClaims, Claim as StoredClaim, ClaimFilter};
use codflow_store::finance::{self as fstore, Posted};
use codflow_store::{Conn, commit, orders, returns as rtstore, tasks as tstore, tracking as trstore};
use time::{Duration, OffsetDateTime};

use crate::error::ConflictKind;
use crate::{Error, Finance, Result};

/// A draft gets its task this long before the carrier's deadline.
pub const DEADLINE_WARNING_DAYS: i64 = 3;

pub(crate) fn not_found() -> Error {
    Error::NotFound("claim")
}

pub(crate) fn audit(
    c: &Claim,
    action: &str,
    from: ClaimStatus,
    why: String,
    actor: &Actor,
    now: OffsetDateTime,
) -> AuditRecord {
    let mut a = AuditRecord::change(
        "claim",
        c.id.to_string(),
        action,
        Some(from.as_str().into()),
        Some(c.status.as_str().into()),
        actor.clone(),
        now,
    );
    a.reason = Some(why);
    a
}

fn text(field: &'static str, s: &str, max: usize) -> Result<String> {
    let t = s.trim();
    if t.is_empty() || t.chars().count() > max || t.chars().any(char::is_control) {
        return Err(Error::invalid(field, format!("1 to {max} characters, no control characters")));
    }
    Ok(t.to_owned())
}

/// The filing window of the account a shipment was booked through: its channel's account, else the
/// carrier's first account, else the default.
async fn window_of(conn: &mut Conn, channel: &str, carrier: &str) -> Result<ClaimWindow> {
    let account = match codflow_domain::ChannelCode::parse(channel) {
        Ok(code) => codflow_store::logistics::channel(conn, &code).await?.and_then(|c| c.carrier_account),
        Err(_) => None,
    };
    let w = match account {
        Some(a) => cstore::window(conn, &a).await?,
        None => None,
    };
    Ok(match w {
        Some(w) => w,
        None => cstore::first_window(conn, carrier).await?.unwrap_or_default(),
    })
}

/// Opens a task for each draft whose deadline is near and has none. Returns the tasks opened.
pub(crate) async fn open_deadline_tasks(conn: &mut Conn, now: OffsetDateTime) -> Result<usize> {
    let due = cstore::drafts_due(conn, now + Duration::days(DEADLINE_WARNING_DAYS), 500).await?;
    if due.is_empty() {
        return Ok(0);
    }
    let kind = AnomalyKind::ClaimDeadline;
    let mut tasks = Vec::with_capacity(due.len());
    for c in &due {
        tasks.push(Task {
            id: TaskId::generate(),
            kind,
            shipment_id: Some(c.shipment_id.clone()),
            order_id: Some(c.order_id.clone()),
            role: kind.role(),
            status: TaskStatus::Open,
            title: format!("{} ({}, by {})", kind.title(), c.tracking_number, c.deadline.date()),
            due_at: (now + Thresholds::default().sla(kind)).min(c.deadline),
            assignee: None,
            opened_by: "claims".into(),
            resolution: None,
            created_at: now,
            updated_at: now,
            closed_at: None,
        });
        cstore::mark_tasked(conn, &c.id).await?;
    }
    Ok(tstore::open_many(conn, &tasks).await?.len())
}

/// Posts a claim's decision or payment under a key that makes posting it again a no-op.
async fn post(conn: &mut Conn, c: &Claim, key: &str, entry: Entry, now: OffsetDateTime) -> Result<()> {
    let posted = Posted {
        key: format!("claim:{}:{key}", c.id),
        entry: &entry,
        shipment: Some(&c.shipment_id),
        statement: None,
        carrier: Some(c.carrier.as_str()),
    };
    fstore::post(conn, &[posted], now).await?;
    Ok(())
}

type Pair<'a> =
    (&'a codflow_domain::finance::statement::StatementLine, &'a codflow_domain::finance::reconcile::LineMatch);

/// Marks an approved claim paid by a statement's line and books the payment; false when the claim moved
/// meanwhile.
async fn paid_by_line(
    conn: &mut Conn,
    mut c: Claim,
    statement: &codflow_domain::StatementId,
    line: u32,
    how: &str,
    entry: Entry,
    now: OffsetDateTime,
) -> Result<bool> {
    let from = c.status;
    let amount = c.approved.unwrap_or(c.claimed);
    c.status = ClaimStatus::Paid;
    c.paid = Some(amount);
    c.payment_ref = Some(format!("{how} {statement} line {line}"));
    c.paid_at = Some(now);
    c.updated_at = now;
    if !cstore::update(conn, &c, from).await? {
        return Ok(false);
    }
    let posted = Posted {
        key: format!("claim:{}:paid", c.id),
        entry: &entry,
        shipment: Some(&c.shipment_id),
        statement: Some(statement),
        carrier: Some(c.carrier.as_str()),
    };
    fstore::post(conn, &[posted], now).await?;
    let why = format!("paid {amount} as line {line} of {how} {statement}");
    orders::insert_audit(conn, &[audit(&c, "paid", from, why, &Actor::Worker("reconciliation".into()), now)]).await?;
    Ok(true)
}

/// A carrier's approved, unpaid claims by tracking number, each taken once when a line pays it.
struct Awaiting(std::collections::HashMap<String, Vec<cstore::Claim>>);

impl Awaiting {
    async fn of(conn: &mut Conn, carrier: &str) -> Result<Awaiting> {
        let mut by_tn: std::collections::HashMap<String, Vec<cstore::Claim>> = Default::default();
        for c in cstore::approved_unpaid(conn, carrier).await? {
            by_tn.entry(c.tracking_number.clone()).or_default().push(c);
        }
        Ok(Awaiting(by_tn))
    }

    fn is_empty(&self) -> bool {
        self.0.values().all(Vec::is_empty)
    }

    /// The first claim on `tn` approved for exactly `amount` that `fits`, no longer awaiting.
    fn take(&mut self, tn: &str, amount: Money, fits: impl Fn(&cstore::Claim) -> bool) -> Option<cstore::Claim> {
        let claims = self.0.get_mut(tn)?;
        let at = claims.iter().position(|c| c.approved == Some(amount))?;
        fits(&claims[at]).then(|| claims.remove(at))
    }
}

/// Settles approved claims paid as lines of a COD remittance: a line whose tracking number has an approved
/// claim of the same carrier for exactly its amount is that claim's payment. A line reconciliation could not
/// place is posted as the claim's cash here; one it placed on the parcel (and so posted as cash collected)
/// has that collection turned into the claim's payment. Returns the lines settled: they open no task.
pub(crate) async fn settle_from_remittance(
    conn: &mut Conn,
    statement: &codflow_domain::StatementId,
    carrier: Option<&str>,
    pairs: &[Pair<'_>],
    now: OffsetDateTime,
) -> Result<std::collections::HashSet<u32>> {
    use codflow_domain::finance::reconcile::LineClass;
    let mut settled = std::collections::HashSet::new();
    let Some(carrier) = carrier else { return Ok(settled) };
    let posted_as_cash = |c: LineClass| {
        matches!(c, LineClass::Matched | LineClass::ShortPaid | LineClass::OverPaid | LineClass::FeeAboveContract)
    };
    let mut open = Awaiting::of(conn, carrier).await?;
    if open.is_empty() {
        return Ok(settled);
    }
    for (l, m) in pairs.iter().filter(|(_, m)| m.class == LineClass::UnknownReference || posted_as_cash(m.class)) {
        let Some(tn) = l.tracking_number.as_deref() else { continue };
        let Some(c) =
            open.take(tn, l.amount, |c| !posted_as_cash(m.class) || m.shipment.as_ref() == Some(&c.shipment_id))
        else {
            continue;
        };
        let entry = if posted_as_cash(m.class) {
            Entry::claim_collected(l.amount)?
        } else {
            Entry::claim_remitted(l.amount, l.net)?
        };
        if paid_by_line(conn, c, statement, l.line, "statement", entry, now).await? {
            settled.insert(l.line);
        }
    }
    Ok(settled)
}

/// Settles approved claims the carrier paid as a credit on its freight invoice: a line of minus exactly the
/// approved amount on the claim's tracking number. The credit lowers what the invoice asks to be paid (the
/// cash kept is the claim's payment: bank against the receivable). Returns the lines settled: they open no
/// task.
pub(crate) async fn settle_from_freight_invoice(
    conn: &mut Conn,
    statement: &codflow_domain::StatementId,
    carrier: &str,
    pairs: &[Pair<'_>],
    now: OffsetDateTime,
) -> Result<std::collections::HashSet<u32>> {
    let mut settled = std::collections::HashSet::new();
    let mut open = Awaiting::of(conn, carrier).await?;
    if open.is_empty() {
        return Ok(settled);
    }
    for (l, _) in pairs.iter().filter(|(l, _)| l.amount.minor < 0) {
        let Some(tn) = l.tracking_number.as_deref() else { continue };
        let credit = Money::new(-l.amount.minor, l.amount.currency);
        let Some(c) = open.take(tn, credit, |_| true) else { continue };
        let entry = Entry::claim_paid(credit)?;
        if paid_by_line(conn, c, statement, l.line, "credit on freight invoice", entry, now).await? {
            settled.insert(l.line);
        }
    }
    Ok(settled)
}

impl Finance {
    /// Opens a draft claim for a parcel. Without an amount, it claims the declared value of what was lost:
    /// the order's total for a lost or damaged parcel, the lost units at their selling price for a return.
    pub async fn open_claim(
        &self,
        shipment: &ShipmentId,
        reason: ClaimReason,
        amount: Option<Money>,
        note: Option<&str>,
        actor: Actor,
    ) -> Result<Claim> {
        let note = note.filter(|n| !n.trim().is_empty()).map(|n| text("note", n, 500)).transpose()?;
        let now = self.clock().now();
        let mut tx = self.store.begin().await?;
        let t = trstore::by_shipment(&mut tx, shipment).await?.ok_or(Error::NotFound("shipment"))?;
        let order = orders::get(&mut tx, &t.order_id).await?.ok_or(Error::NotFound("order"))?;
        let ret = rtstore::of_shipment(&mut tx, shipment).await?;
        let lost_lines: Vec<_> = ret
            .iter()
            .flat_map(|r| r.lines.iter())
            .filter(|l| {
                matches!(l.grade, Grade::Damaged | Grade::Missing) || l.disposition == Some(Disposition::WriteOff)
            })
            .filter(|l| l.grade != Grade::Wrong)
            .cloned()
            .collect();
        let window = window_of(&mut tx, &t.channel, &t.carrier).await?;
        let deadline = window.deadline(t.booked_at, t.progress.last_scan_at);
        claims::may_open(reason, t.progress.status, !lost_lines.is_empty(), deadline, now)
            .map_err(|message| Error::Conflict { kind: ConflictKind::ClaimNotAllowed, message })?;
        let claimed = match amount {
            Some(a) if a.currency != order.currency => {
                return Err(Error::invalid("amount", format!("claim in the order's currency, {}", order.currency)));
            }
            Some(a) if a.minor <= 0 => return Err(Error::invalid("amount", "more than zero")),
            Some(a) => a,
            None if reason == ClaimReason::ReturnDamaged => {
                let mut sum = Money::zero(order.currency);
                for l in &lost_lines {
                    if let Some(ol) = order.lines.iter().find(|o| o.sku == l.sku) {
                        sum = sum.checked_add(ol.unit_price.checked_mul(l.quantity)?)?;
                    }
                }
                sum
            }
            None => order.total,
        };
        let c = Claim {
            id: ClaimId::generate(),
            shipment_id: shipment.clone(),
            order_id: order.id.clone(),
            tracking_number: t.tracking_number.clone(),
            carrier: t.carrier.clone(),
            reason,
            status: ClaimStatus::Draft,
            claimed,
            approved: None,
            paid: None,
            deadline,
            carrier_ref: None,
            payment_ref: None,
            note,
            filed_at: None,
            decided_at: None,
            paid_at: None,
            created_at: now,
            updated_at: now,
        };
        if !cstore::insert(&mut tx, &c).await? {
            return Err(Error::Conflict {
                kind: ConflictKind::ClaimExists,
                message: format!("{} already has a {} claim", t.tracking_number, reason),
            });
        }
        let why = format!("{reason} claim for {} of {}, file by {}", t.tracking_number, claimed, deadline.date());
        orders::insert_audit(&mut tx, &[audit(&c, "open", ClaimStatus::Draft, why, &actor, now)]).await?;
        commit(tx).await?;
        if reason != ClaimReason::Lost {
            self.fulfilment.damage.forget();
        }
        Ok(c)
    }

    pub async fn claim(&self, id: &ClaimId) -> Result<Claim> {
        let mut conn = self.store.read().await?;
        cstore::get(&mut conn, id).await?.ok_or(not_found())
    }

    pub async fn claims(&self, filter: &ClaimFilter, after: Option<&ClaimId>, limit: i64) -> Result<Vec<Claim>> {
        let mut conn = self.store.read().await?;
        Ok(cstore::list(&mut conn, filter, after, limit.clamp(1, 500)).await?)
    }

    /// Recovered against claimed per carrier: the scorecard's claims column.
    pub async fn claims_by_carrier(&self) -> Result<Vec<CarrierClaims>> {
        let mut conn = self.store.read().await?;
        Ok(cstore::by_carrier(&mut conn, self.clock().now()).await?)
    }

    async fn change(
        &self,
        id: &ClaimId,
        to: ClaimStatus,
        actor: Actor,
        apply: impl FnOnce(&mut Claim, OffsetDateTime) -> Result<(String, Option<(&'static str, Entry)>)>,
    ) -> Result<Claim> {
        let now = self.clock().now();
        let mut tx = self.store.begin().await?;
        let mut c = cstore::get(&mut tx, id).await?.ok_or(not_found())?;
        let from = c.status;
        if !from.can_move_to(to) {
            return Err(Error::Conflict {
                kind: ConflictKind::IllegalTransition,
                message: format!("claim {} is {from}; it cannot become {to}", c.id),
            });
        }
        let (why, entry) = apply(&mut c, now)?;
        if c.status == from {
            c.status = to;
        }
        c.updated_at = now;
        if !cstore::update(&mut tx, &c, from).await? {
            return Err(Error::Conflict { kind: ConflictKind::Busy, message: "the claim changed meanwhile".into() });
        }
        if let Some((key, entry)) = entry {
            post(&mut tx, &c, key, entry, now).await?;
        }
        orders::insert_audit(&mut tx, &[audit(&c, to.as_str(), from, why, &actor, now)]).await?;
        commit(tx).await?;
        Ok(c)
    }

    /// Filed with the carrier under its reference.
    pub async fn file_claim(&self, id: &ClaimId, carrier_ref: &str, actor: Actor) -> Result<Claim> {
        let r = text("carrier_ref", carrier_ref, 100)?;
        self.change(id, ClaimStatus::Filed, actor, |c, now| {
            if now > c.deadline {
                return Err(Error::Conflict {
                    kind: ConflictKind::ClaimNotAllowed,
                    message: format!("the carrier's window for claims closed on {}", c.deadline.date()),
                });
            }
            c.carrier_ref = Some(r.clone());
            c.filed_at = Some(now);
            Ok((format!("filed as {r}"), None))
        })
        .await
    }

    pub async fn review_claim(&self, id: &ClaimId, actor: Actor) -> Result<Claim> {
        self.change(id, ClaimStatus::InReview, actor, |_, _| Ok(("the carrier is reviewing it".into(), None))).await
    }

    /// The carrier's decision: approved in full, in part, or rejected (zero). What it agreed to pay is owed.
    pub async fn decide_claim(&self, id: &ClaimId, approved: Money, note: Option<&str>, actor: Actor) -> Result<Claim> {
        let note = note.filter(|n| !n.trim().is_empty()).map(|n| text("note", n, 500)).transpose()?;
        let current = self.claim(id).await?;
        let to = claims::decided(current.claimed, approved).map_err(Error::from)?;
        self.change(id, to, actor, |c, now| {
            c.approved = Some(approved);
            c.decided_at = Some(now);
            if note.is_some() {
                c.note = note;
            }
            let entry = (approved.minor > 0).then(|| Entry::claim_approved(approved)).transpose()?;
            Ok((format!("{to}: {approved} of {}", c.claimed), entry.map(|e| ("approved", e))))
        })
        .await
    }

    /// The carrier's payment arrived (on a remittance, an invoice credit or a transfer, under `reference`).
    pub async fn claim_paid(&self, id: &ClaimId, amount: Money, reference: &str, actor: Actor) -> Result<Claim> {
        let reference = text("reference", reference, 100)?;
        self.change(id, ClaimStatus::Paid, actor, |c, now| {
            let approved = c.approved.unwrap_or(Money::zero(c.claimed.currency));
            if amount.currency != approved.currency {
                return Err(Error::invalid("amount", format!("paid in the claim's currency, {}", approved.currency)));
            }
            if amount.minor <= 0 || amount.minor > approved.minor {
                return Err(Error::invalid("amount", format!("more than zero and at most the {approved} approved")));
            }
            c.paid = Some(amount);
            c.payment_ref = Some(reference.clone());
            c.paid_at = Some(now);
            Ok((format!("{amount} paid as {reference}"), Some(("paid", Entry::claim_paid(amount)?))))
        })
        .await
    }

    pub async fn claim_window(&self, account: &CarrierAccountCode) -> Result<ClaimWindow> {
        let mut conn = self.store.read().await?;
        cstore::window(&mut conn, account).await?.ok_or(Error::NotFound("carrier account"))
    }

    pub async fn set_claim_window(&self, account: &CarrierAccountCode, w: ClaimWindow, actor: Actor) -> Result<()> {
        let now = self.clock().now();
        let mut tx = self.store.begin().await?;
        if !cstore::set_window(&mut tx, account, w, now).await? {
            return Err(Error::NotFound("carrier account"));
        }
        let mut a = AuditRecord::change("carrier_account", account.to_string(), "claim_window", None, None, actor, now);
        a.reason = Some(format!("{} days from {}", w.days, w.from));
        orders::insert_audit(&mut tx, &[a]).await?;
        commit(tx).await?;
        Ok(())
    }

    /// The evidence pack as the carrier's claims desk reads it.
    pub async fn claim_evidence(&self, id: &ClaimId) -> Result<(Claim, ClaimPacket)> {
        let mut conn = self.store.read().await?;
        let c = cstore::get(&mut conn, id).await?.ok_or(not_found())?;
        let order = orders::get(&mut conn, &c.order_id).await?.ok_or(Error::NotFound("order"))?;
        let minute = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]");
        let mut parcel = vec![("Declared value".to_owned(), order.total.to_string())];
        for l in &order.lines {
            parcel.push((format!("{} x {}", l.quantity, l.sku), format!("{} each", l.unit_price)));
        }
        if order.cod_amount.minor > 0 {
            parcel.push(("Cash on delivery".into(), order.cod_amount.to_string()));
        }
        if let Some(p) = codflow_store::floor::pack_of_order(&mut conn, &c.order_id).await?
            && let Some(m) = p.measure
        {
            parcel.push(("Weighed at the pack station".into(), format!("{} g at {}", m.weight_g, p.station)));
        }
        let t = trstore::by_shipment(&mut conn, &c.shipment_id).await?;
        if let Some(last) = t.as_ref().and_then(|t| t.progress.last_scan_at) {
            parcel.push(("Last scan".into(), last.format(minute).unwrap_or_default()));
        }
        if let Some(d) = t.as_ref().and_then(|t| t.progress.delivered_at) {
            parcel.push(("Delivered (carrier's proof)".into(), d.format(minute).unwrap_or_default()));
        }
        let mut findings = Vec::new();
        if let Some(r) = rtstore::of_shipment(&mut conn, &c.shipment_id).await? {
            let at = r.received_at.and_then(|t| t.format(minute).ok()).unwrap_or_else(|| "not received".into());
            findings.push(format!("Return {} ({}), received {at}", r.tracking_number, r.status));
            for l in &r.lines {
                findings.push(format!("{} x {}: {}", l.quantity, l.sku, l.grade));
            }
            if r.photos > 0 {
                findings.push(format!("{} photo(s) attached", r.photos));
            }
        }
        if let Some(n) = &c.note {
            findings.push(n.clone());
        }
        let timeline = trstore::events_of(&mut conn, &c.shipment_id)
            .await?
            .into_iter()
            .map(|e| TimelineEntry {
                at: e.at.format(minute).unwrap_or_default(),
                status: e.status.to_string().replace('_', " "),
                description: e.description,
                location: e.location.unwrap_or_default(),
            })
            .collect();
        let statement = cstore::statement(&mut conn, id).await?.map(|s| {
            let at = s.submitted_at.format(minute).unwrap_or_default();
            let photos = if s.photos > 0 { format!(", {} photo(s) attached", s.photos) } else { String::new() };
            (format!("Signed \"{}\" on {at} UTC through the buyer's link{photos}", s.signed_name), s.description)
        });
        let packet = ClaimPacket {
            reference: c.id.to_string(),
            date: self.clock().now().date().to_string(),
            carrier: c.carrier.clone(),
            reason: c.reason.as_str().replace('_', " "),
            claimed: c.claimed.to_string(),
            deadline: c.deadline.date().to_string(),
            tracking_number: c.tracking_number.clone(),
            order_ref: order.external_id.clone(),
            shipment: c.shipment_id.to_string(),
            parcel,
            findings,
            statement,
            timeline,
        };
        Ok((c, packet))
    }

    pub async fn claim_pdf(&self, id: &ClaimId) -> Result<Vec<u8>> {
        Ok(claim_pdf(&self.claim_evidence(id).await?.1))
    }

    /// The evidence pack for a carrier's portal: the PDF, the timeline as CSV, the return's photos, and the buyer's
    /// statement in their own words with their photos.
    pub async fn claim_zip(&self, id: &ClaimId) -> Result<Vec<u8>> {
        use base64::Engine as _;
        let (c, packet) = self.claim_evidence(id).await?;
        let mut files = vec![(format!("claim-{}.pdf", c.id), claim_pdf(&packet))];
        let mut csv = String::from("time_utc,status,event,location\r\n");
        for e in &packet.timeline {
            let cells = [&e.at, &e.status, &e.description, &e.location];
            let quoted: Vec<String> = cells
                .iter()
                .map(|v| format!("\"{}\"", codflow_sheets::csv::neutralised(v).replace('"', "\"\"")))
                .collect();
            csv.push_str(&quoted.join(","));
            csv.push_str("\r\n");
        }
        files.push(("timeline.csv".into(), csv.into_bytes()));
        let mut conn = self.store.read().await?;
        if let Some(r) = rtstore::of_shipment(&mut conn, &c.shipment_id).await? {
            for n in 1..=r.photos {
                if let Some((ty, data)) = rtstore::photo(&mut conn, &r.id, n).await? {
                    let ext = ty.rsplit('/').next().unwrap_or("img").replace("jpeg", "jpg");
                    let bytes = base64::engine::general_purpose::STANDARD
                        .decode(data)
                        .map_err(|e| codflow_store::Error::Corrupt(format!("return photo: {e}")))?;
                    files.push((format!("photo-{n}.{ext}"), bytes));
                }
            }
        }
        if let Some((signed, words)) = &packet.statement {
            files.push(("statement.txt".into(), format!("{signed}\r\n\r\n{words}\r\n").into_bytes()));
            let n = cstore::statement(&mut conn, &c.id).await?.map_or(0, |s| s.photos);
            for k in 1..=n {
                if let Some((ty, data)) = cstore::photo(&mut conn, &c.id, k).await? {
                    let ext = ty.rsplit('/').next().unwrap_or("img").replace("jpeg", "jpg");
                    let bytes = base64::engine::general_purpose::STANDARD
                        .decode(data)
                        .map_err(|e| codflow_store::Error::Corrupt(format!("claim photo: {e}")))?;
                    files.push((format!("buyer-photo-{k}.{ext}"), bytes));
                }
            }
        }
        codflow_sheets::write_zip(&files).map_err(|e| Error::Failed(e.to_string()))
    }
}
