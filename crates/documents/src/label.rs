//! The 4×6 inch shipping label. ZPL II for thermal printers at 203 dpi (8 dots/mm: 812 × 1218 dots),
//! following Zebra's ZPL II programming guide: `^BC` draws the Code 128 barcode of the tracking number and
//! `^BQ` the QR code of the public tracking URL, so the printer renders both exactly.

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

/// One label as a ZPL II program (`^XA … ^XZ`).
pub fn zpl(l: &LabelData) -> String {
    let mut z = String::with_capacity(1600);
    let mut text = |x: u32, y: u32, h: u32, s: &str| z.push_str(&format!("^FO{x},{y}^A0N,{h},{h}^FD{}^FS\n", clean(s)));
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
    z.insert_str(0, "^XA\n^CI28\n^PW812\n^LL1218\n^LH0,0\n");
    z.push_str("^FO20,560^GB772,3,3^FS\n");
    match &l.cod {
        Some(c) => z.push_str(&format!("^FO30,580^A0N,70,70^FDCOD {}^FS\n", clean(c))),
        None => z.push_str("^FO30,590^A0N,50,50^FDPREPAID^FS\n"),
    }
    if l.ddp {
        z.push_str("^FO620,575^GB160,80,80^FS\n^FO645,590^A0N,56,56^FR^FDDDP^FS\n");
    }
    z.push_str("^FO20,670^GB772,3,3^FS\n");
    z.push_str(&format!("^FO60,700^BY3,3,200^BCN,200,Y,N,N^FD{}^FS\n", clean(&l.tracking_number)));
    z.push_str(&format!("^FO30,990^BQN,2,5^FDMA,{}^FS\n", clean(&l.tracking_url)));
    z.push_str(&format!("^FO300,1010^A0N,28,28^FDOrder {}^FS\n", clean(&l.order_ref)));
    z.push_str(&format!("^FO300,1050^A0N,22,22^FD{}^FS\n", clean(&l.tracking_url)));
    z.push_str("^XZ\n");
    z
}

/// Several labels as one stream, in the order given.
pub fn zpl_batch(labels: &[LabelData]) -> String {
    labels.iter().map(zpl).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> LabelData {
        LabelData {
            tracking_number: "SB000000017CN".into(),
            tracking_url: "https://track.example.com/t/SB000000017CN".into(),
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
