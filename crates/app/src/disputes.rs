//! Dispute packets: a statement line that finance contests, with the evidence a carrier needs to settle it
//! (the line as read, the expected amount and why, the contract's terms, the booked quote's evidence, the
//! parcel's tracking timeline), as PDF to send and CSV to attach.

use codflow_documents::{DisputePacket, TimelineEntry, dispute_csv, disputes_pdf};
use codflow_domain::finance::invoice::Evidence;
use codflow_domain::finance::reconcile::LineClass;
use codflow_domain::finance::statement::StatementKind;
use codflow_domain::money::Money;
use codflow_domain::{ChannelCode, StatementId};
use codflow_store::Conn;
use codflow_store::finance::{self as fstore, StatementRow, StoredLine};
use codflow_store::logistics as lstore;
use codflow_store::tracking as trstore;

use crate::documents::Document;
use crate::error::ConflictKind;
use crate::{Error, Finance, Result};

/// The most lines one statement's packet file carries; the rest are fetched line by line.
const PACKET_LIMIT: i64 = 500;

impl Finance {
    /// The dispute packet of one statement line, as `pdf` or `csv`.
    pub async fn dispute_packet(&self, id: &StatementId, line: i64, csv: bool) -> Result<Document> {
        let mut conn = self.store.read().await?;
        let row = fstore::statement(&mut conn, id).await?.ok_or(Error::NotFound("statement"))?;
        let l = fstore::lines(&mut conn, id, None, line - 1, 1)
            .await?
            .into_iter()
            .find(|l| l.line == line)
            .ok_or(Error::NotFound("statement line"))?;
        let p = packet(&mut conn, &row, &l).await?;
        let name = format!("dispute-{id}-{line}");
        Ok(if csv {
            Document { content_type: "text/csv", filename: format!("{name}.csv"), bytes: dispute_csv(&p).into_bytes() }
        } else {
            Document { content_type: "application/pdf", filename: format!("{name}.pdf"), bytes: disputes_pdf(&[p]) }
        })
    }

    /// One PDF with a packet for every line of a statement that needs a decision (up to 500).
    pub async fn dispute_packets(&self, id: &StatementId) -> Result<Document> {
        let mut conn = self.store.read().await?;
        let row = fstore::statement(&mut conn, id).await?.ok_or(Error::NotFound("statement"))?;
        let mut packets = Vec::new();
        for class in LineClass::ALL.into_iter().filter(|c| c.needs_decision()) {
            let left = PACKET_LIMIT - packets.len() as i64;
            for l in fstore::lines(&mut conn, id, Some(class), 0, left).await? {
                packets.push((l.line, packet(&mut conn, &row, &l).await?));
            }
        }
        if packets.is_empty() {
            return Err(Error::Conflict {
                kind: ConflictKind::NothingToDispute,
                message: format!("statement {id} has no line that needs a decision"),
            });
        }
        packets.sort_by_key(|(line, _)| *line);
        let packets: Vec<DisputePacket> = packets.into_iter().map(|(_, p)| p).collect();
        Ok(Document {
            content_type: "application/pdf",
            filename: format!("disputes-{id}.pdf"),
            bytes: disputes_pdf(&packets),
        })
    }
}

fn kind_words(k: StatementKind) -> &'static str {
    match k {
        StatementKind::CodRemittance => "COD remittance",
        StatementKind::Payout => "Payout",
        StatementKind::FreightInvoice => "Freight invoice",
    }
}

async fn packet(conn: &mut Conn, row: &StatementRow, l: &StoredLine) -> Result<DisputePacket> {
    let words = l.class.as_str().replace('_', " ");
    let mut p = DisputePacket {
        reference: format!("{} line {}", row.id, l.line),
        date: row.as_of.to_string(),
        carrier: row.carrier.clone().unwrap_or_else(|| "payment platform".into()),
        statement_kind: kind_words(row.kind).into(),
        file_name: row.file_name.clone(),
        class: words.clone(),
        tracking_number: l.tracking_number.clone().unwrap_or_default(),
        order_ref: l.order_ref.clone().unwrap_or_default(),
        ..DisputePacket::default()
    };
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    p.line = vec![
        ("line".into(), l.line.to_string()),
        ("reference".into(), opt(&l.reference)),
        ("tracking number".into(), opt(&l.tracking_number)),
        ("order reference".into(), opt(&l.order_ref)),
        ("date".into(), opt(&l.date)),
        ("amount".into(), l.amount.to_string()),
    ];
    for (name, m) in [("fee", l.fee), ("freight", l.freight), ("other deductions", l.other)] {
        if m.minor != 0 {
            p.line.push((name.into(), m.to_string()));
        }
    }
    if row.kind != StatementKind::FreightInvoice {
        p.line.push(("net".into(), l.net.to_string()));
    }
    let received = if row.kind == StatementKind::FreightInvoice { "billed" } else { "received" };
    p.claim.push((received.into(), l.amount.to_string()));
    if let Some(e) = l.expected {
        p.claim.push(("expected".into(), e.to_string()));
    }
    if let Some(d) = l.difference {
        p.claim.push(("difference".into(), d.to_string()));
    }
    if let Some(f) = l.contract_fee {
        p.claim.push(("fee charged".into(), l.fee.to_string()));
        p.claim.push(("fee per contract".into(), f.to_string()));
        p.findings.push(format!("COD fee {} is above the {} the contract allows", l.fee, f));
    }
    match l.class {
        LineClass::ShortPaid | LineClass::OverPaid => {
            if let (Some(e), Some(d)) = (l.expected, l.difference) {
                p.findings.push(format!("{words}: {} against {} expected ({d})", l.amount, e));
            }
        }
        LineClass::Duplicate => p.findings.push(format!("already settled or billed earlier: {} again", l.amount)),
        LineClass::CurrencyMismatch => {
            if let Some(e) = l.expected {
                p.findings.push(format!("in {} for an amount due in {}", l.amount.currency, e.currency));
            }
        }
        LineClass::UnknownReference => p.findings.push("the line names no shipment of ours".into()),
        _ => {}
    }
    let Some(shipment) = l.shipment_id.clone() else { return Ok(p) };
    p.shipment = shipment.to_string();
    let tracked = trstore::by_shipment(conn, &shipment).await?;
    let booked = lstore::shipment(conn, &shipment).await?;
    if let Some(t) = &tracked {
        p.tracking_number = t.tracking_number.clone();
        p.claim.push(("COD on the booking".into(), t.cod.to_string()));
        if let Some(d) = t.progress.delivered_at {
            p.claim.push(("delivered".into(), d.date().to_string()));
        }
        p.claim.push(("cash status".into(), t.cod_status.as_str().replace('_', " ")));
    }
    let channel =
        tracked.as_ref().map(|t| t.channel.clone()).or_else(|| booked.as_ref().map(|s| s.channel.to_string()));
    if let Some(code) = channel.and_then(|c| ChannelCode::parse(&c).ok())
        && let Some(ch) = lstore::channel(conn, &code).await?
    {
        p.terms.push(format!("channel {} ({}), {} service", ch.code, ch.name, ch.service));
        if let Some(f) = ch.card.cod_fee {
            let money = |m: i64| Money::new(m, ch.card.currency);
            let min = if f.min_minor > 0 { format!(", at least {}", money(f.min_minor)) } else { String::new() };
            let max = f.max_minor.map(|m| format!(", at most {}", money(m))).unwrap_or_default();
            p.terms.push(format!("COD fee {}.{:02}% of the cash collected{min}{max}", f.bp / 100, f.bp % 100));
        }
        p.terms.push(format!("cash remitted within {} days of delivery", ch.settlement_cycle_days));
        if ch.card.fuel_bp > 0 {
            p.terms.push(format!("fuel surcharge {}.{:02}%", ch.card.fuel_bp / 100, ch.card.fuel_bp % 100));
        }
    }
    if row.kind == StatementKind::FreightInvoice
        && let Some(c) = fstore::check_of(conn, &row.id, l.line).await?
    {
        let e = Evidence {
            declared_weight_g: c.declared_weight_g,
            measured_weight_g: c.measured_weight_g,
            quoted_weight_g: c.quoted_weight_g,
            billed_weight_g: c.billed_weight_g,
            quoted_zone: c.quoted_zone,
            billed_zone: c.billed_zone,
            expected: l.expected,
            billed: l.amount,
        };
        p.claim.push(("declared weight".into(), format!("{} g", e.declared_weight_g)));
        if let Some(w) = e.measured_weight_g {
            p.claim.push(("weighed at packing (our scale)".into(), format!("{w} g")));
        }
        if let Some(w) = e.quoted_weight_g {
            p.claim.push(("booked billable weight".into(), format!("{w} g")));
        }
        if let Some(w) = e.billed_weight_g {
            p.claim.push(("billed weight".into(), format!("{w} g")));
        }
        if let Some(z) = &e.quoted_zone {
            p.terms.push(format!("booked in zone {z}"));
        }
        p.findings.extend(e.findings());
    }
    p.timeline = trstore::events_of(conn, &shipment)
        .await?
        .into_iter()
        .map(|e| TimelineEntry {
            at: e
                .at
                .format(time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]"))
                .unwrap_or_default(),
            status: e.status.to_string().replace('_', " "),
            description: e.description,
            location: e.location.unwrap_or_default(),
        })
        .collect();
    Ok(p)
}
