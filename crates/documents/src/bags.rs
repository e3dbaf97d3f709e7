//! A bag's papers and a carrier pickup's manifest. The bag label (4×6 ZPL) carries the bag's code as Code 128
//! for the carrier's scan at handover; the bagging list (A4 PDF) and the manifest list every parcel with its
//! tracking number, order and weight, with the bag code drawn as a barcode on the list.

use crate::code128;
use crate::pdf::{Font, Page, render};
use crate::table::{MARGIN, col, facts, num_col, paged};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BagParcel {
    pub tracking_number: String,
    pub order_ref: String,
    pub weight_g: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BagDoc {
    pub code: String,
    pub warehouse: String,
    pub carrier: String,
    pub channel: String,
    pub country: String,
    pub date: String,
    pub parcels: Vec<BagParcel>,
}

impl BagDoc {
    fn weight_g(&self) -> i64 {
        self.parcels.iter().map(|p| p.weight_g).sum()
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ManifestDoc {
    pub reference: String,
    pub carrier: String,
    pub date: String,
    pub bags: Vec<BagDoc>,
}

fn kg(g: i64) -> String {
    format!("{}.{:03}", g / 1000, g % 1000)
}

/// ZPL field data must not carry `^` or `~`; the bag's fields are codes, cleaned all the same.
fn clean(s: &str) -> String {
    s.chars().map(|c| if c == '^' || c == '~' || !c.is_ascii() || c.is_ascii_control() { ' ' } else { c }).collect()
}

/// The 4×6 bag label at 203 dpi.
pub fn bag_label_zpl(b: &BagDoc) -> String {
    format!(
        "^XA^CI28^PW812^LL1218\
         ^FO40,40^A0N,70,70^FDBAG {code}^FS\
         ^FO40,140^A0N,45,45^FD{carrier} / {channel}^FS\
         ^FO40,200^A0N,90,90^FD{country}^FS\
         ^FO40,320^BY4^BCN,220,Y,N,N^FD{code}^FS\
         ^FO40,640^A0N,45,45^FD{n} parcels, {kg} kg^FS\
         ^FO40,700^A0N,35,35^FDfrom {warehouse} on {date}^FS\
         ^XZ",
        code = clean(&b.code),
        carrier = clean(&b.carrier),
        channel = clean(&b.channel),
        country = clean(&b.country),
        n = b.parcels.len(),
        kg = kg(b.weight_g()),
        warehouse = clean(&b.warehouse),
        date = clean(&b.date),
    )
}

/// The bag's code as Code 128 bars at the top right of a page.
fn bars(p: &mut Page, data: &str, x: f32, y: f32) {
    let Ok(widths) = code128::widths(data) else { return };
    p.marked("Barcode", |p| {
        let mut at = x;
        for (i, w) in widths.iter().enumerate() {
            let w = *w as f32 * 1.2;
            if i % 2 == 0 {
                p.fill(at, y, w, 40.0);
            }
            at += w;
        }
    });
}

fn parcel_rows(bags: &[&BagDoc]) -> Vec<Vec<String>> {
    bags.iter()
        .flat_map(|b| {
            b.parcels.iter().map(|p| {
                vec![b.code.clone(), p.tracking_number.clone(), p.order_ref.clone(), kg(p.weight_g), "[  ]".into()]
            })
        })
        .collect()
}

const COLUMNS: [crate::table::Column; 5] =
    [col("Bag", 70.0), col("Tracking number", 150.0), col("Order", 120.0), num_col("kg", 60.0), col("Scanned", 60.0)];

/// The bagging list: every parcel in the bag, to check before it is sealed.
pub fn bag_list_pdf(b: &BagDoc) -> Vec<u8> {
    let rows = parcel_rows(&[b]);
    let pages = paged(
        "Bagging list",
        &COLUMNS,
        &rows,
        |p, _| {
            p.text(MARGIN, MARGIN, 18.0, Font::Bold, &format!("BAG {}", b.code));
            bars(p, &b.code, 380.0, MARGIN - 6.0);
            facts(
                p,
                MARGIN + 10.0,
                &[
                    ("Carrier", format!("{} / {}", b.carrier, b.channel)),
                    ("Destination", b.country.clone()),
                    ("Warehouse", b.warehouse.clone()),
                    ("Date", b.date.clone()),
                    ("Parcels", b.parcels.len().to_string()),
                    ("Weight", format!("{} kg", kg(b.weight_g()))),
                ],
            ) + 14.0
        },
        |p, y| {
            p.text(MARGIN, y, 8.5, Font::Regular, "Sealed by");
            p.fill(MARGIN + 45.0, y + 9.0, 150.0, 0.6);
        },
        30.0,
    );
    render(&pages, "Bagging list")
}

/// A carrier pickup's manifest: its bags and every parcel in them, signed by both sides at handover.
pub fn manifest_pdf(m: &ManifestDoc) -> Vec<u8> {
    let bags: Vec<&BagDoc> = m.bags.iter().collect();
    let rows = parcel_rows(&bags);
    let parcels: usize = m.bags.iter().map(|b| b.parcels.len()).sum();
    let weight: i64 = m.bags.iter().map(BagDoc::weight_g).sum();
    let pages = paged(
        "Manifest",
        &COLUMNS,
        &rows,
        |p, _| {
            p.text(MARGIN, MARGIN, 18.0, Font::Bold, &format!("MANIFEST {}", m.carrier.to_uppercase()));
            facts(
                p,
                MARGIN + 10.0,
                &[
                    ("Reference", m.reference.clone()),
                    ("Date", m.date.clone()),
                    ("Bags", m.bags.len().to_string()),
                    ("Parcels", parcels.to_string()),
                    ("Weight", format!("{} kg", kg(weight))),
                ],
            ) + 14.0
        },
        |p, y| {
            p.text(MARGIN, y, 8.5, Font::Regular, "Handed over by");
            p.fill(MARGIN + 65.0, y + 9.0, 140.0, 0.6);
            p.text(MARGIN + 230.0, y, 8.5, Font::Regular, "Received by (carrier)");
            p.fill(MARGIN + 320.0, y + 9.0, 140.0, 0.6);
        },
        30.0,
    );
    render(&pages, "Manifest")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inspect;

    fn bag() -> BagDoc {
        BagDoc {
            code: "B000007".into(),
            warehouse: "SZ1".into(),
            carrier: "sandbox".into(),
            channel: "SBX-SA".into(),
            country: "SA".into(),
            date: "2026-12-06".into(),
            parcels: vec![
                BagParcel { tracking_number: "SB1".into(), order_ref: "R-1".into(), weight_g: 450 },
                BagParcel { tracking_number: "SB2".into(), order_ref: "R-2^XZ".into(), weight_g: 1_205 },
            ],
        }
    }

    #[test]
    fn the_bag_label_is_one_zpl_label_with_the_code_as_code_128_and_its_totals() {
        let z = bag_label_zpl(&bag());
        assert!(z.starts_with("^XA") && z.ends_with("^XZ"));
        assert_eq!(z.matches("^XA").count(), 1);
        assert!(z.contains("^BCN,220,Y,N,N^FDB000007^FS"), "{z}");
        assert!(z.contains("2 parcels, 1.655 kg"), "{z}");
    }

    #[test]
    fn the_bagging_list_scans_as_its_bag_and_lists_every_parcel() {
        let pdf = bag_list_pdf(&bag());
        let pages = inspect::pages(&pdf).unwrap();
        assert_eq!(inspect::barcode(&pages[0]).as_deref(), Some("B000007"));
        let texts = inspect::texts(&pages[0]);
        for t in ["SB1", "SB2", "R-2^XZ", "1.205"] {
            assert!(texts.iter().any(|x| x == t), "{t} in {texts:?}");
        }
        let m = ManifestDoc {
            reference: "hnd_x".into(),
            carrier: "sandbox".into(),
            date: "2026-12-06".into(),
            bags: vec![bag(), bag()],
        };
        let texts: Vec<String> =
            inspect::pages(&manifest_pdf(&m)).unwrap().iter().flat_map(|p| inspect::texts(p)).collect();
        assert_eq!(texts.iter().filter(|t| *t == "SB1").count(), 2);
        assert!(texts.iter().any(|t| t == "3.310 kg"), "{texts:?}");
    }
}
