//! A claim's evidence pack: what the carrier's claims desk asks for about one lost or damaged parcel, from
//! codflow's own records: the parcel and its declared value, the pack station's weighing, what came back
//! and how it was graded, the buyer's words, and the tracking timeline to the last scan.

use crate::dispute::TimelineEntry;
use crate::pdf::{Font, Page, render};
use crate::table::{MARGIN, block, col, facts, paged};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClaimPacket {
    /// The claim's id.
    pub reference: String,
    pub date: String,
    pub carrier: String,
    /// "lost", "damaged", "damaged on return".
    pub reason: String,
    pub claimed: String,
    pub deadline: String,
    pub tracking_number: String,
    pub order_ref: String,
    pub shipment: String,
    /// Declared value, contents, weights (field, value).
    pub parcel: Vec<(String, String)>,
    /// What came back, graded (one line each), or the buyer's account.
    pub findings: Vec<String>,
    /// The buyer's signed statement, when they gave one: who signed and when, then their words.
    pub statement: Option<(String, String)>,
    pub timeline: Vec<TimelineEntry>,
}

/// The most lines of the buyer's words the PDF prints; the ZIP keeps them whole.
const STATEMENT_LINES: usize = 24;

pub fn claim_pdf(p: &ClaimPacket) -> Vec<u8> {
    render(&pages(p), "Claim")
}

fn pages(p: &ClaimPacket) -> Vec<Page> {
    let columns = [col("Time (UTC)", 105.0), col("Status", 85.0), col("Event", 200.0), col("Location", 125.0)];
    let rows: Vec<Vec<String>> = p
        .timeline
        .iter()
        .map(|e| vec![e.at.clone(), e.status.clone(), e.description.clone(), e.location.clone()])
        .collect();
    let parcel: Vec<String> =
        std::iter::once("As shipped".to_owned()).chain(p.parcel.iter().map(|(k, v)| format!("{k}: {v}"))).collect();
    let findings: Vec<String> = std::iter::once("Findings".to_owned())
        .chain(if p.findings.is_empty() { vec!["(none recorded)".to_owned()] } else { p.findings.clone() })
        .collect();
    paged(
        &format!("Claim {}", p.reference),
        &columns,
        &rows,
        |page, first| {
            page.text(MARGIN, MARGIN, 18.0, Font::Bold, "CARRIER CLAIM");
            page.text(MARGIN, MARGIN + 24.0, 9.0, Font::Regular, &format!("To {} - claims", p.carrier));
            let top = facts(
                page,
                MARGIN,
                &[
                    ("Reference", p.reference.clone()),
                    ("Date", p.date.clone()),
                    ("Reason", p.reason.clone()),
                    ("Claimed", p.claimed.clone()),
                    ("File by", p.deadline.clone()),
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
            let left = block(page, MARGIN, y, width, "PARCEL", &parcel);
            let right = block(page, MARGIN + width + 10.0, y, width, "FINDINGS", &findings);
            let mut y = left.max(right) + 16.0;
            if let Some((signed, words)) = &p.statement {
                let full = crate::pdf::A4.0 - 2.0 * MARGIN;
                let mut lines = vec![signed.clone()];
                let wrapped = crate::pdf::wrap(words, full - 8.0, 8.5, Font::Regular);
                let cut = wrapped.len() > STATEMENT_LINES;
                lines.extend(wrapped.into_iter().take(STATEMENT_LINES));
                if cut {
                    lines.push("... (continued in statement.txt)".into());
                }
                y = block(page, MARGIN, y, full, "BUYER'S STATEMENT", &lines) + 16.0;
            }
            page.text(MARGIN, y, 10.0, Font::Bold, "Tracking timeline (the last scan last)");
            y + 14.0
        },
        |_, _| {},
        0.0,
    )
}
