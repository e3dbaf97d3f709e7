//! The commercial invoice and packing list that travel with a cross-border parcel. Customs reads the
//! invoice for the value, HS codes and origin of each line and for who the importer of record is: with DDP
//! the seller is, so the seller's import VAT or IOSS number is printed where the destination needs one.

use crate::pdf::{A4, Font, Page, render};
use crate::table::{MARGIN, block, col, facts, num_col, paged};

/// A name and address, with the tax numbers that identify it at the border ("VAT", "IOSS", "EORI", …).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Party {
    pub name: String,
    pub address: Vec<String>,
    pub phone: Option<String>,
    pub tax_ids: Vec<(String, String)>,
}

impl Party {
    fn lines(&self) -> Vec<String> {
        let mut v = vec![self.name.clone()];
        v.extend(self.address.iter().cloned());
        if let Some(p) = &self.phone {
            v.push(format!("Tel {p}"));
        }
        v.extend(self.tax_ids.iter().map(|(k, n)| format!("{k}: {n}")));
        v
    }
}

/// One line of goods. Money arrives formatted ("129.50") in the document's currency.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CustomsLine {
    pub sku: String,
    pub description: String,
    pub hs_code: Option<String>,
    pub origin: Option<String>,
    pub quantity: i64,
    pub unit_value: String,
    pub total_value: String,
    pub unit_weight_g: i64,
}

/// What both documents are drawn from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CustomsDocument {
    pub number: String,
    pub date: String,
    pub order_ref: String,
    pub tracking_number: String,
    pub carrier: String,
    pub incoterm: String,
    pub currency: String,
    pub exporter: Party,
    pub consignee: Party,
    pub importer: Party,
    pub lines: Vec<CustomsLine>,
    pub goods_total: String,
    pub shipping: String,
    pub invoice_total: String,
    pub pieces: u32,
    pub gross_weight_g: i64,
    /// "COD SAR 129.50" when cash is collected; customs does not care, the courier's agent does.
    pub cod: Option<String>,
}

fn kg(g: i64) -> String {
    format!("{}.{:03} kg", g / 1000, g % 1000)
}

fn incoterm_words(code: &str) -> String {
    match code {
        "DDP" => "DDP - Delivered Duty Paid (duties and taxes paid by the shipper)".into(),
        "DAP" => "DAP - Delivered At Place (duties and taxes paid by the receiver)".into(),
        other => other.to_owned(),
    }
}

/// The heading and the three parties; returns where the table starts.
fn heading(page: &mut Page, first: bool, title: &str, d: &CustomsDocument) -> f32 {
    page.text(MARGIN, MARGIN, 18.0, Font::Bold, title);
    let facts_bottom = facts(
        page,
        MARGIN,
        &[
            ("Invoice no.", d.number.clone()),
            ("Date", d.date.clone()),
            ("Order", d.order_ref.clone()),
            ("Tracking", d.tracking_number.clone()),
            ("Carrier", d.carrier.clone()),
            ("Currency", d.currency.clone()),
        ],
    );
    if !first {
        return facts_bottom + 10.0;
    }
    let y = facts_bottom + 8.0;
    let w = (A4.0 - 2.0 * MARGIN - 16.0) / 3.0;
    let b1 = block(page, MARGIN, y, w, "EXPORTER / SHIPPER", &d.exporter.lines());
    let b2 = block(page, MARGIN + w + 8.0, y, w, "CONSIGNEE", &d.consignee.lines());
    let b3 = block(page, MARGIN + 2.0 * (w + 8.0), y, w, "IMPORTER OF RECORD", &d.importer.lines());
    let y = b1.max(b2).max(b3) + 10.0;
    page.text(MARGIN, y, 8.5, Font::Bold, &format!("Terms of delivery: {}", incoterm_words(&d.incoterm)));
    page.text(MARGIN, y + 12.0, 8.5, Font::Regular, "Reason for export: sale of goods");
    y + 30.0
}

/// The commercial invoice, one or more A4 pages.
pub fn commercial_invoice(d: &CustomsDocument) -> Vec<u8> {
    commercial_invoices(std::slice::from_ref(d))
}

/// Several invoices in one file, each on its own pages.
pub fn commercial_invoices(docs: &[CustomsDocument]) -> Vec<u8> {
    one_file(docs, "Commercial invoice", invoice_pages)
}

/// Each document's pages one after another, titled by the document when there is one.
fn one_file(docs: &[CustomsDocument], kind: &str, pages: fn(&CustomsDocument) -> Vec<Page>) -> Vec<u8> {
    let title = match docs {
        [one] => format!("{kind} {}", one.number),
        _ => format!("{kind}s"),
    };
    render(&docs.iter().flat_map(pages).collect::<Vec<_>>(), &title)
}

fn invoice_pages(d: &CustomsDocument) -> Vec<Page> {
    let columns = [
        num_col("#", 22.0),
        col("SKU", 70.0),
        col("Description", 150.0),
        col("HS code", 60.0),
        col("Origin", 40.0),
        num_col("Qty", 35.0),
        num_col("Unit value", 68.0),
        num_col("Total value", 70.0),
    ];
    let rows: Vec<Vec<String>> = d
        .lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            vec![
                (i + 1).to_string(),
                l.sku.clone(),
                l.description.clone(),
                l.hs_code.clone().unwrap_or_else(|| "-".into()),
                l.origin.clone().unwrap_or_else(|| "-".into()),
                l.quantity.to_string(),
                l.unit_value.clone(),
                l.total_value.clone(),
            ]
        })
        .collect();
    let right = MARGIN + columns.iter().map(|c| c.width).sum::<f32>();
    paged(
        "Commercial invoice",
        &columns,
        &rows,
        |p, first| heading(p, first, "COMMERCIAL INVOICE", d),
        |p, y| {
            let mut at = y;
            for (k, v) in [("Goods", &d.goods_total), ("Shipping", &d.shipping), ("Invoice total", &d.invoice_total)] {
                let font = if k == "Invoice total" { Font::Bold } else { Font::Regular };
                p.text_right(right - 80.0, at, 9.0, font, k);
                p.text_right(right - 3.0, at, 9.0, font, &format!("{} {v}", d.currency));
                at += 13.0;
            }
            p.text(MARGIN, y, 8.5, Font::Regular, &format!("Pieces: {}", d.pieces));
            p.text(MARGIN, y + 12.0, 8.5, Font::Regular, &format!("Gross weight: {}", kg(d.gross_weight_g)));
            if let Some(c) = &d.cod {
                p.text(MARGIN, y + 24.0, 8.5, Font::Regular, &format!("Payment: cash on delivery ({c})"));
            }
            at += 20.0;
            p.text(
                MARGIN,
                at,
                8.5,
                Font::Regular,
                "I declare that the information on this invoice is true and correct and that the goods are of the origin shown.",
            );
            p.fill(MARGIN, at + 40.0, 180.0, 0.6);
            p.text(MARGIN, at + 44.0, 7.5, Font::Regular, &format!("Signature, for {}", d.exporter.name));
            p.fill(MARGIN + 240.0, at + 40.0, 120.0, 0.6);
            p.text(MARGIN + 240.0, at + 44.0, 7.5, Font::Regular, "Date");
        },
        110.0,
    )
}

/// The packing list: what is in the parcel, without values.
pub fn packing_list(d: &CustomsDocument) -> Vec<u8> {
    packing_lists(std::slice::from_ref(d))
}

pub fn packing_lists(docs: &[CustomsDocument]) -> Vec<u8> {
    one_file(docs, "Packing list", packing_pages)
}

fn packing_pages(d: &CustomsDocument) -> Vec<Page> {
    let columns = [
        num_col("#", 22.0),
        col("SKU", 90.0),
        col("Description", 200.0),
        col("HS code", 60.0),
        num_col("Qty", 40.0),
        num_col("Unit weight", 50.0),
        num_col("Weight", 53.0),
    ];
    let rows: Vec<Vec<String>> = d
        .lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            vec![
                (i + 1).to_string(),
                l.sku.clone(),
                l.description.clone(),
                l.hs_code.clone().unwrap_or_else(|| "-".into()),
                l.quantity.to_string(),
                kg(l.unit_weight_g),
                kg(l.unit_weight_g * l.quantity),
            ]
        })
        .collect();
    let units: i64 = d.lines.iter().map(|l| l.quantity).sum();
    let net: i64 = d.lines.iter().map(|l| l.unit_weight_g * l.quantity).sum();
    paged(
        "Packing list",
        &columns,
        &rows,
        |p, first| heading(p, first, "PACKING LIST", d),
        |p, y| {
            p.text(MARGIN, y, 9.0, Font::Bold, &format!("Units: {units}"));
            p.text(MARGIN, y + 13.0, 9.0, Font::Regular, &format!("Pieces: {}", d.pieces));
            p.text(MARGIN, y + 26.0, 9.0, Font::Regular, &format!("Net weight: {}", kg(net)));
            p.text(MARGIN, y + 39.0, 9.0, Font::Regular, &format!("Gross weight: {}", kg(d.gross_weight_g)));
        },
        60.0,
    )
}
