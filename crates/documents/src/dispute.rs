//! A dispute packet: everything a carrier's finance desk needs to settle one statement line, in a PDF to
//! send and a CSV to attach: the line as the carrier wrote it, what was expected and why (the contract's
//! terms, the booked quote), the findings, and the parcel's tracking timeline.

use crate::pdf::{Font, Page, render};
use crate::table::{MARGIN, block, col, facts, paged};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TimelineEntry {
    pub at: String,
    pub status: String,
    pub description: String,
    pub location: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DisputePacket {
    /// "stl_… line 7".
    pub reference: String,
    pub date: String,
    pub carrier: String,
    /// "COD remittance", "Freight invoice", "Payout".
    pub statement_kind: String,
    pub file_name: String,
    /// The line's class in words ("short paid").
    pub class: String,
    pub shipment: String,
    pub tracking_number: String,
    pub order_ref: String,
    /// The line's fields as read (field, value).
    pub line: Vec<(String, String)>,
    /// Expected, received or billed, difference... (field, value).
    pub claim: Vec<(String, String)>,
    pub terms: Vec<String>,
    pub findings: Vec<String>,
    pub timeline: Vec<TimelineEntry>,
}

pub fn dispute_pdf(p: &DisputePacket) -> Vec<u8> {
    disputes_pdf(std::slice::from_ref(p))
}

/// Several packets (a statement's differences) in one file, each starting on its own page.
pub fn disputes_pdf(packets: &[DisputePacket]) -> Vec<u8> {
    render(&packets.iter().flat_map(pages).collect::<Vec<_>>(), "Dispute")
}

fn pages(p: &DisputePacket) -> Vec<Page> {
    let columns = [col("Time (UTC)", 105.0), col("Status", 85.0), col("Event", 200.0), col("Location", 125.0)];
    let rows: Vec<Vec<String>> = p
        .timeline
        .iter()
        .map(|e| vec![e.at.clone(), e.status.clone(), e.description.clone(), e.location.clone()])
        .collect();
    let pair = |(k, v): &(String, String)| format!("{k}: {v}");
    let line: Vec<String> =
        std::iter::once("As the statement reads".to_owned()).chain(p.line.iter().map(pair)).collect();
    let claim: Vec<String> = std::iter::once(format!("Claim: {}", p.class)).chain(p.claim.iter().map(pair)).collect();
    let terms: Vec<String> = std::iter::once("Contract terms".to_owned()).chain(p.terms.iter().cloned()).collect();
    let findings: Vec<String> = std::iter::once("Findings".to_owned())
        .chain(if p.findings.is_empty() { vec!["(none beyond the claim)".to_owned()] } else { p.findings.clone() })
        .collect();
    paged(
        &format!("Dispute {}", p.reference),
        &columns,
        &rows,
        |page, first| {
            page.text(MARGIN, MARGIN, 18.0, Font::Bold, "SETTLEMENT DISPUTE");
            page.text(MARGIN, MARGIN + 24.0, 9.0, Font::Regular, &format!("To {} - {}", p.carrier, p.statement_kind));
            let top = facts(
                page,
                MARGIN,
                &[
                    ("Reference", p.reference.clone()),
                    ("Date", p.date.clone()),
                    ("File", p.file_name.clone()),
                    ("Tracking", p.tracking_number.clone()),
                    ("Order", p.order_ref.clone()),
                    ("Shipment", p.shipment.clone()),
                ],
            );
            if !first {
                return top + 14.0;
            }
            let width = (crate::pdf::A4.0 - 2.0 * MARGIN - 10.0) / 2.0;
            let y = top + 10.0;
            let left = block(page, MARGIN, y, width, "STATEMENT LINE", &line);
            let right = block(page, MARGIN + width + 10.0, y, width, "CLAIM", &claim);
            let y = left.max(right) + 10.0;
            let left = block(page, MARGIN, y, width, "TERMS", &terms);
            let right = block(page, MARGIN + width + 10.0, y, width, "FINDINGS", &findings);
            let y = left.max(right) + 16.0;
            page.text(MARGIN, y, 10.0, Font::Bold, "Tracking timeline");
            y + 14.0
        },
        |_, _| {},
        0.0,
    )
}

/// The packet as rows of `section,field,value` (RFC 4180 quoting), one file per line disputed.
pub fn dispute_csv(p: &DisputePacket) -> String {
    let mut out = String::from("section,field,value\r\n");
    let mut row = |section: &str, field: &str, value: &str| {
        for (i, cell) in [section, field, value].iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            if cell.contains([',', '"', '\n', '\r']) {
                out.push('"');
                out.push_str(&cell.replace('"', "\"\""));
                out.push('"');
            } else {
                out.push_str(cell);
            }
        }
        out.push_str("\r\n");
    };
    for (k, v) in [
        ("reference", &p.reference),
        ("date", &p.date),
        ("carrier", &p.carrier),
        ("statement", &p.statement_kind),
        ("file", &p.file_name),
        ("class", &p.class),
        ("shipment", &p.shipment),
        ("tracking_number", &p.tracking_number),
        ("order_ref", &p.order_ref),
    ] {
        row("dispute", k, v);
    }
    for (k, v) in &p.line {
        row("line", k, v);
    }
    for (k, v) in &p.claim {
        row("claim", k, v);
    }
    for t in &p.terms {
        row("terms", "", t);
    }
    for f in &p.findings {
        row("finding", "", f);
    }
    for e in &p.timeline {
        row("timeline", &e.at, &format!("{} | {} | {}", e.status, e.description, e.location));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inspect;

    fn packet(events: usize) -> DisputePacket {
        DisputePacket {
            reference: "stl_1 line 7".into(),
            date: "2026-12-01".into(),
            carrier: "sandbox".into(),
            statement_kind: "COD remittance".into(),
            file_name: "remit, december.csv".into(),
            class: "short paid".into(),
            shipment: "shp_1".into(),
            tracking_number: "SBX123".into(),
            order_ref: "F-2".into(),
            line: vec![("amount".into(), "190.00 SAR".into())],
            claim: vec![("expected".into(), "200.00 SAR".into()), ("difference".into(), "-10.00 SAR".into())],
            terms: vec!["COD fee 2.00% of the cash collected".into()],
            findings: vec!["collected \"190.00\" for 200.00".into()],
            timeline: (0..events)
                .map(|i| TimelineEntry {
                    at: format!("2026-11-{:02} 10:00", i % 28 + 1),
                    status: "in_transit".into(),
                    description: format!("scan {i}"),
                    location: "Riyadh".into(),
                })
                .collect(),
        }
    }

    #[test]
    fn the_pdf_states_the_claim_the_terms_and_the_whole_timeline() {
        let pdf = dispute_pdf(&packet(80));
        let pages = inspect::pages(&pdf).unwrap();
        assert!(pages.len() >= 2, "eighty events run over a page");
        let first = inspect::texts(&pages[0]).join("\n");
        for want in ["SETTLEMENT DISPUTE", "expected: 200.00 SAR", "COD fee 2.00%", "SBX123", "scan 0"] {
            assert!(first.contains(want), "{want} missing from {first}");
        }
        let all: String = pages.iter().map(|p| inspect::texts(p).join("\n")).collect();
        assert!(all.contains("scan 79"), "the last event is printed");
        assert!(all.contains(&format!("page {} of {}", pages.len(), pages.len())));
    }

    #[test]
    fn the_csv_quotes_what_needs_quoting_and_keeps_every_section() {
        let csv = dispute_csv(&packet(2));
        assert!(csv.contains("dispute,file,\"remit, december.csv\"\r\n"), "{csv}");
        assert!(csv.contains("finding,,\"collected \"\"190.00\"\" for 200.00\"\r\n"), "{csv}");
        assert!(csv.contains("claim,difference,-10.00 SAR\r\n"), "{csv}");
        assert_eq!(csv.lines().filter(|l| l.starts_with("timeline,")).count(), 2);
    }
}
