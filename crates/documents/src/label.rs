//! The 4×6 inch shipping label. ZPL II for thermal printers at 203 dpi (8 dots/mm: 812 × 1218 dots),
//! following Zebra's ZPL II programming guide: `^BC` draws the Code 128 barcode of the tracking number and
//! `^BQ` the QR code of the public tracking URL, so the printer renders both exactly. The PDF draws the same
//! layout with our own Code 128 bars and the `qrcode` crate's modules, for office printers.

use qrcode::{Color, EcLevel, QrCode};

use crate::code128;
use crate::pdf::{Font, LABEL_4X6, Page, render};

/// One side of the parcel.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Address {
    pub name: String,
    pub phone: Option<String>,
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    pub country: String,
}

/// Everything printed on a label.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LabelData {
    pub tracking_number: String,
    pub tracking_url: String,
    pub sender: Address,
    pub recipient: Address,
    pub carrier: String,
    pub channel: String,
    pub service: String,
    pub weight_g: i64,
    /// (this piece, of how many).
    pub piece: (u32, u32),
    /// "SAR 129.50" when cash is collected at the door.
    pub cod: Option<String>,
    pub ddp: bool,
    pub sort_code: Option<String>,
    pub order_ref: String,
    /// YYYY-MM-DD.
    pub date: String,
}

/// ZPL field data cannot carry `^` or `~` (they start commands) and the fonts used print ASCII; anything
/// else is replaced so a buyer's name never breaks the label.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '^' | '~' => ' ',
            c if c.is_ascii() && !c.is_ascii_control() => c,
            _ => '?',
        })
        .collect()
}

fn kg(g: i64) -> String {
    format!("{}.{:03} kg", g / 1000, g % 1000)
}

fn address_lines(a: &Address) -> Vec<String> {
    let mut v = vec![a.name.clone(), a.line1.clone()];
    if let Some(l) = &a.line2 {
        v.push(l.clone());
    }
    let mut city = a.city.clone();
    if let Some(r) = &a.region {
        city = format!("{city}, {r}");
    }
    if let Some(p) = &a.postal_code {
        city = format!("{city} {p}");
    }
    v.push(format!("{city} {}", a.country));
    if let Some(p) = &a.phone {
        v.push(format!("Tel {p}"));
    }
    v
}

/// What a label is made of, in printer dots from the top-left; both the ZPL and the PDF are drawn from it,
/// so the two never disagree.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Mark {
    Text {
        x: u32,
        y: u32,
        h: u32,
        s: String,
    },
    /// White text on a filled box.
    Reversed {
        x: u32,
        y: u32,
        h: u32,
        s: String,
    },
    Fill {
        x: u32,
        y: u32,
        w: u32,
        h: u32,
    },
    /// Code 128 with `module` dots per module, the text printed below.
    Barcode {
        x: u32,
        y: u32,
        module: u32,
        h: u32,
        data: String,
    },
    /// QR code at error-correction level M with `module` dots per module.
    Qr {
        x: u32,
        y: u32,
        module: u32,
        data: String,
    },
}

const DOTS: (u32, u32) = (812, 1218);

fn layout(l: &LabelData) -> Vec<Mark> {
    let mut m = Vec::with_capacity(32);
    let mut text = |x: u32, y: u32, h: u32, s: &str| m.push(Mark::Text { x, y, h, s: clean(s) });
    text(30, 30, 34, &format!("{} {}", l.carrier.to_uppercase(), l.service));
    text(30, 70, 24, &format!("Channel {}", l.channel));
    text(560, 30, 24, &l.date);
    text(560, 60, 24, &format!("{} of {}", l.piece.0, l.piece.1));
    text(560, 90, 24, &kg(l.weight_g));
    let mut y = 140;
    text(30, y, 22, "FROM");
    for line in address_lines(&l.sender) {
        y += 26;
        text(30, y, 22, &line);
    }
    y += 40;
    text(30, y, 26, "TO");
    for line in address_lines(&l.recipient) {
        y += 36;
        text(30, y, 34, &line);
    }
    if let Some(s) = &l.sort_code {
        text(560, 140, 60, s);
    }
    m.push(Mark::Fill { x: 20, y: 560, w: 772, h: 3 });
    match &l.cod {
        Some(c) => {
            // As large as fits left of the DDP box (or the label's edge): the amount is never cut.
            let s = format!("COD {}", clean(c));
            let room = if l.ddp { 620 - 30 - 10 } else { DOTS.0 - 30 - 20 };
            let h = fitting_height(&s, room, 70).max(16);
            m.push(Mark::Text { x: 30, y: 580 + (70 - h.min(70)) / 2, h, s })
        }
        None => m.push(Mark::Text { x: 30, y: 590, h: 50, s: "PREPAID".into() }),
    }
    if l.ddp {
        m.push(Mark::Fill { x: 620, y: 575, w: 160, h: 80 });
        m.push(Mark::Reversed { x: 645, y: 590, h: 56, s: "DDP".into() });
    }
    m.push(Mark::Fill { x: 20, y: 670, w: 772, h: 3 });
    m.push(Mark::Barcode { x: 60, y: 700, module: 3, h: 200, data: clean(&l.tracking_number) });
    m.push(Mark::Qr { x: 30, y: 990, module: 5, data: clean(&l.tracking_url) });
    // Beside the QR code to the label's right edge: shrunk to fit, then cut (the QR code holds the full
    // address; the order reference is on the packing list too).
    let room = DOTS.0 - 300 - 20;
    for (y, max, s) in [(1010, 28, format!("Order {}", clean(&l.order_ref))), (1050, 22, clean(&l.tracking_url))] {
        let h = fitting_height(&s, room, max).max(18);
        let s = crate::pdf::fit(&s, room as f32, h as f32 * TEXT_SCALE, crate::pdf::Font::Regular);
        m.push(Mark::Text { x: 300, y, h, s });
    }
    m
}

/// Text is drawn at its ZPL height times this (see `draw`); widths are measured at it, and font 0 of a ZPL
/// printer is no wider than Helvetica at that size.
const TEXT_SCALE: f32 = 1.05;

/// The largest height up to `max` dots at which `s` fits in `room` dots.
fn fitting_height(s: &str, room: u32, max: u32) -> u32 {
    let per_dot = crate::pdf::text_width(s, TEXT_SCALE, crate::pdf::Font::Regular);
    if per_dot <= 0.0 {
        return max;
    }
    ((room as f32 / per_dot).floor() as u32).min(max)
}

/// One label as a ZPL II program (`^XA … ^XZ`).
pub fn zpl(l: &LabelData) -> String {
    let mut z = String::with_capacity(1600);
    z.push_str(&format!("^XA\n^CI28\n^PW{}\n^LL{}\n^LH0,0\n", DOTS.0, DOTS.1));
    for mark in layout(l) {
        z.push_str(&match mark {
            Mark::Text { x, y, h, s } => format!("^FO{x},{y}^A0N,{h},{h}^FD{s}^FS\n"),
            Mark::Reversed { x, y, h, s } => format!("^FO{x},{y}^A0N,{h},{h}^FR^FD{s}^FS\n"),
            Mark::Fill { x, y, w, h } => format!("^FO{x},{y}^GB{w},{h},{}^FS\n", w.min(h)),
            Mark::Barcode { x, y, module, h, data } => {
                format!("^FO{x},{y}^BY{module},3,{h}^BCN,{h},Y,N,N^FD{data}^FS\n")
            }
            Mark::Qr { x, y, module, data } => format!("^FO{x},{y}^BQN,2,{module}^FDMA,{data}^FS\n"),
        });
    }
    z.push_str("^XZ\n");
    z
}

/// Several labels as one stream, in the order given.
pub fn zpl_batch(labels: &[LabelData]) -> String {
    labels.iter().map(zpl).collect()
}

/// Draws one label on a 4×6 page. The barcode's bars sit in a `/Barcode` marked-content block and the QR
/// code's modules in a `/QR` block.
fn draw(l: &LabelData, page: &mut Page) {
    let k = LABEL_4X6.0 / DOTS.0 as f32;
    let pt = |d: u32| d as f32 * k;
    for mark in layout(l) {
        match mark {
            // ZPL's font height is the cell; Helvetica's capitals fill about 70% of its size.
            Mark::Text { x, y, h, s } => page.text(pt(x), pt(y), pt(h) * TEXT_SCALE, Font::Regular, &s),
            Mark::Reversed { x, y, h, s } => page.text_reversed(pt(x), pt(y), pt(h) * 1.05, Font::Bold, &s),
            Mark::Fill { x, y, w, h } => page.fill(pt(x), pt(y), pt(w), pt(h)),
            Mark::Barcode { x, y, module, h, data } => {
                let Ok(widths) = code128::widths(&data) else {
                    page.text(pt(x), pt(y), 14.0, Font::Bold, &format!("NO BARCODE: {data}"));
                    continue;
                };
                page.marked("Barcode", |p| {
                    let mut at = x;
                    for (i, w) in widths.iter().enumerate() {
                        let w = *w as u32 * module;
                        if i % 2 == 0 {
                            p.fill(pt(at), pt(y), pt(w), pt(h));
                        }
                        at += w;
                    }
                });
                let centre = pt(x) + pt(widths.iter().map(|w| *w as u32).sum::<u32>() * module) / 2.0;
                page.text_centered(centre, pt(y + h + 8), 10.0, Font::Regular, &data);
            }
            Mark::Qr { x, y, module, data } => {
                let Ok(code) = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M) else {
                    continue;
                };
                let n = code.width();
                let colors = code.to_colors();
                page.marked("QR", |p| {
                    for row in 0..n {
                        // One rectangle per run of dark modules keeps the page small.
                        let mut col = 0;
                        while col < n {
                            if colors[row * n + col] == Color::Dark {
                                let start = col;
                                while col < n && colors[row * n + col] == Color::Dark {
                                    col += 1;
                                }
                                let m = module as usize;
                                p.fill(
                                    pt(x + (start * m) as u32),
                                    pt(y + (row * m) as u32),
                                    pt(((col - start) * m) as u32),
                                    pt(module),
                                );
                            } else {
                                col += 1;
                            }
                        }
                    }
                });
            }
        }
    }
}

/// One label as a one-page PDF.
pub fn pdf(l: &LabelData) -> Vec<u8> {
    pdf_batch(std::slice::from_ref(l))
}

/// Several labels as one PDF, a page each, in the order given.
pub fn pdf_batch(labels: &[LabelData]) -> Vec<u8> {
    let pages: Vec<Page> = labels
        .iter()
        .map(|l| {
            let mut p = Page::new(LABEL_4X6);
            draw(l, &mut p);
            p
        })
        .collect();
    render(&pages, "Shipping labels")
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> LabelData {
        LabelData {
            tracking_number: "SB000000017CN".into(),
            tracking_url: "https://track.example.com/track/SB000000017CN".into(),
            sender: Address {
                name: "Shenzhen DC".into(),
                line1: "Bao'an".into(),
                city: "Shenzhen".into(),
                country: "CN".into(),
                ..Address::default()
            },
            recipient: Address {
                name: "Noura Al-Harbi".into(),
                phone: Some("+966501234567".into()),
                line1: "King Fahd Rd 12".into(),
                line2: None,
                city: "Riyadh".into(),
                region: Some("Riyadh Province".into()),
                postal_code: Some("12211".into()),
                country: "SA".into(),
            },
            carrier: "sandbox".into(),
            channel: "SBX-SA-STD".into(),
            service: "standard".into(),
            weight_g: 1250,
            piece: (1, 1),
            cod: Some("SAR 129.50".into()),
            ddp: true,
            sort_code: Some("RIY-12".into()),
            order_ref: "ord_01JD0000000000000000000000".into(),
            date: "2026-11-21".into(),
        }
    }

    #[test]
    fn the_zpl_label_matches_its_snapshot() {
        let expected = include_str!("../tests/snapshots/label.zpl");
        assert_eq!(zpl(&sample()), expected);
    }

    /// The right edge of each text mark, measured as it is drawn.
    fn right_edges(l: &LabelData) -> Vec<(String, f32)> {
        layout(l)
            .into_iter()
            .filter_map(|m| match m {
                Mark::Text { x, h, s, .. } => {
                    let w = crate::pdf::text_width(&s, h as f32 * TEXT_SCALE, crate::pdf::Font::Regular);
                    Some((s, x as f32 + w))
                }
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_three_decimal_cod_stays_left_of_the_ddp_badge_and_long_references_stay_on_the_label() {
        let mut l = sample();
        l.cod = Some("KWD 12,345.678".into());
        l.order_ref = "shopify-main-#1000234567-RETRY-2026-11-21T10:00:00Z-abcdefghijklmnop".into();
        l.tracking_url = format!("https://tracking.a-very-long-seller-domain.example.com/track/{}", "X".repeat(40));
        let edges = right_edges(&l);
        let cod = edges.iter().find(|(s, _)| s.starts_with("COD ")).unwrap();
        assert!(cod.1 <= 620.0, "{cod:?} runs into the DDP badge at 620");
        assert_eq!(cod.0, "COD KWD 12,345.678", "the amount is never cut");
        for (s, right) in &edges {
            assert!(*right <= 792.0, "{s:?} runs off the label at {right}");
        }
        let order = edges.iter().find(|(s, _)| s.starts_with("Order ")).unwrap();
        assert!(order.0.ends_with("..."), "{order:?}");
        // A usual amount still prints large.
        let usual = layout(&sample());
        assert!(usual.iter().any(|m| matches!(m, Mark::Text { h, s, .. } if *h >= 60 && s == "COD SAR 129.50")));
    }

    #[test]
    fn field_data_cannot_inject_commands() {
        let mut l = sample();
        l.recipient.name = "Evil^XZ~JR Name".into();
        let z = zpl(&l);
        assert_eq!(z.matches("^XZ").count(), 1, "{z}");
        assert!(!z.contains("~JR"));
    }

    #[test]
    fn a_batch_is_the_labels_one_after_another() {
        let mut b = sample();
        b.tracking_number = "SB000000025CN".into();
        let z = zpl_batch(&[sample(), b]);
        assert_eq!(z.matches("^XA").count(), 2);
        assert!(z.find("SB000000017CN") < z.find("SB000000025CN"));
    }
}
