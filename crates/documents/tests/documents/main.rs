//! Reads the PDFs back the way a scanner and a reader would: bars from the rectangles in the `/Barcode`
//! block, QR modules from the `/QR` block, text from the show-text operators.

use codflow_documents::inspect::{self, rects, texts};
use codflow_documents::{
    Address, CustomsDocument, CustomsLine, LabelData, Party, PickLine, PickingList, commercial_invoice, label_pdf,
    labels_pdf, packing_list, picking_list, zpl,
};

fn pages(pdf: &[u8]) -> Vec<String> {
    inspect::pages(pdf).expect("one of our PDFs")
}

fn scan_qr(page: &str) -> String {
    let cells = rects(page, "QR");
    let module = cells.iter().map(|c| c.3).fold(f32::MAX, f32::min);
    let left = cells.iter().map(|c| c.0).fold(f32::MAX, f32::min);
    let top = cells.iter().map(|c| c.1 + c.3).fold(f32::MIN, f32::max);
    let n = ((cells.iter().map(|c| c.0 + c.2).fold(f32::MIN, f32::max) - left) / module).round() as usize;
    let scale = 4;
    let size = (n + 8) * scale;
    let mut dark = vec![false; n * n];
    for (x, y, w, h) in cells {
        let row = ((top - (y + h)) / module).round() as usize;
        let col = ((x - left) / module).round() as usize;
        for c in col..col + (w / module).round() as usize {
            dark[row * n + c] = true;
        }
    }
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(size, size, |x, y| {
        let (mx, my) = ((x / scale).wrapping_sub(4), (y / scale).wrapping_sub(4));
        if mx < n && my < n && dark[my * n + mx] { 0 } else { 255 }
    });
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code on the label");
    grids[0].decode().expect("the QR code decodes").1
}

fn label(tracking: &str) -> LabelData {
    LabelData {
        tracking_number: tracking.into(),
        tracking_url: format!("https://track.example.com/track/{tracking}"),
        sender: Address {
            name: "Dubai DC".into(),
            line1: "JAFZA".into(),
            city: "Dubai".into(),
            country: "AE".into(),
            ..Address::default()
        },
        recipient: Address {
            name: "Zoë (Noura) Al-Harbi".into(),
            phone: Some("+966501234567".into()),
            line1: "King Fahd Rd 12".into(),
            city: "Riyadh".into(),
            postal_code: Some("12211".into()),
            country: "SA".into(),
            ..Address::default()
        },
        carrier: "sandbox".into(),
        channel: "SBX-SA-STD".into(),
        service: "standard".into(),
        weight_g: 1250,
        piece: (1, 1),
        cod: Some("SAR 129.50".into()),
        ddp: true,
        sort_code: Some("RIY-12".into()),
        order_ref: "WEB-1001".into(),
        date: "2026-11-21".into(),
    }
}

#[test]
fn the_label_pdf_barcode_decodes_to_the_tracking_number() {
    let pdf = label_pdf(&label("SB000000017CN"));
    let pages = pages(&pdf);
    assert_eq!(pages.len(), 1);
    assert_eq!(inspect::barcode(&pages[0]).as_deref(), Some("SB000000017CN"));
}

#[test]
fn the_label_pdf_qr_code_decodes_to_the_tracking_url() {
    let pdf = label_pdf(&label("SB000000017CN"));
    assert_eq!(scan_qr(&pages(&pdf)[0]), "https://track.example.com/track/SB000000017CN");
}

#[test]
fn the_label_pdf_prints_what_the_zpl_prints() {
    let l = label("SB000000017CN");
    let shown = texts(&pages(&label_pdf(&l))[0]);
    for field in zpl(&l).split("^FD").skip(1).map(|f| f.split("^FS").next().unwrap()) {
        if field.starts_with("MA,") || field == "SB000000017CN" {
            continue; // the QR code's and barcode's data, drawn as modules (the barcode also as text)
        }
        // ZPL prints ASCII only; the PDF keeps Latin-1 such as ë.
        assert!(shown.iter().any(|t| t == field || t.replace("\\353", "?") == field), "{field:?} not in {shown:?}");
    }
    assert!(shown.contains(&"COD SAR 129.50".to_owned()) && shown.contains(&"DDP".to_owned()));
    assert!(shown.contains(&"SB000000017CN".to_owned()), "the number is printed under the bars");
}

#[test]
fn the_cod_amount_is_the_largest_type_on_the_label() {
    let page = &pages(&label_pdf(&label("SB1")))[0];
    let size_of = |needle: &str| -> f32 {
        let line = page.lines().find(|l| l.contains(needle)).unwrap();
        line.split(' ').nth(2).unwrap().parse().unwrap()
    };
    let cod = size_of("(COD SAR");
    for l in page.lines().filter(|l| l.starts_with("BT ")) {
        let size: f32 = l.split(' ').nth(2).unwrap().parse().unwrap();
        assert!(size <= cod, "{l}");
    }
}

#[test]
fn a_batch_pdf_has_a_page_per_label_in_order() {
    let numbers = ["SB000000017CN", "SB000000025CN", "AX4432100019"];
    let pdf = labels_pdf(&numbers.iter().map(|n| label(n)).collect::<Vec<_>>());
    let read: Vec<Option<String>> = pages(&pdf).iter().map(|p| inspect::barcode(p)).collect();
    assert_eq!(read, numbers.iter().map(|n| Some(n.to_string())).collect::<Vec<_>>());
}

fn invoice(lines: usize) -> CustomsDocument {
    CustomsDocument {
        number: "CI-SB000000017CN".into(),
        date: "2026-11-21".into(),
        order_ref: "WEB-1001".into(),
        tracking_number: "SB000000017CN".into(),
        carrier: "sandbox SBX-DE-STD".into(),
        incoterm: "DDP".into(),
        currency: "EUR".into(),
        exporter: Party {
            name: "Acme Trading".into(),
            address: vec!["Shenzhen CN".into()],
            tax_ids: vec![("EORI".into(), "CN123".into())],
            ..Party::default()
        },
        consignee: Party {
            name: "Jan Müller".into(),
            address: vec!["Hauptstr. 1".into(), "10115 Berlin DE".into()],
            ..Party::default()
        },
        importer: Party {
            name: "Acme Trading".into(),
            tax_ids: vec![("IOSS".into(), "IM2760000001".into())],
            ..Party::default()
        },
        lines: (0..lines)
            .map(|i| CustomsLine {
                sku: format!("SKU-{i:03}"),
                description: format!("Cotton T-shirt number {i}"),
                hs_code: Some("610910".into()),
                origin: Some("CN".into()),
                quantity: 2,
                unit_value: "9.50".into(),
                total_value: "19.00".into(),
                unit_weight_g: 180,
            })
            .collect(),
        goods_total: format!("{}.00", 19 * lines),
        shipping: "4.00".into(),
        invoice_total: format!("{}.00", 19 * lines + 4),
        pieces: 1,
        gross_weight_g: 400,
        cod: Some("EUR 42.00".into()),
    }
}

#[test]
fn the_commercial_invoice_carries_what_customs_reads() {
    let shown = texts(&pages(&commercial_invoice(&invoice(2)))[0]);
    for needle in ["610910", "CN", "9.50", "19.00", "IOSS: IM2760000001", "EORI: CN123", "EUR 42.00", "EUR 4.00"] {
        assert!(shown.iter().any(|t| t.contains(needle)), "{needle} not in {shown:?}");
    }
    assert!(shown.iter().any(|t| t.starts_with("Terms of delivery: DDP")));
}

#[test]
fn a_long_invoice_runs_over_pages_and_lists_every_line_once() {
    let doc = invoice(120);
    let pages = pages(&commercial_invoice(&doc));
    assert!(pages.len() >= 3, "{} pages", pages.len());
    let all: Vec<String> = pages.iter().flat_map(|p| texts(p)).collect();
    for l in &doc.lines {
        assert_eq!(all.iter().filter(|t| **t == l.sku).count(), 1, "{}", l.sku);
    }
    let n = pages.len();
    assert!(all.contains(&format!("Commercial invoice - page {n} of {n}")));
    assert!(all.iter().any(|t| t.contains(&doc.invoice_total)), "the total is on the last page");
}

#[test]
fn the_packing_list_has_weights_and_no_values() {
    let shown: Vec<String> = pages(&packing_list(&invoice(3))).iter().flat_map(|p| texts(p)).collect();
    assert!(shown.contains(&"0.360 kg".to_owned()), "line weight 2 x 180 g");
    assert!(shown.contains(&"Net weight: 1.080 kg".to_owned()));
    assert!(!shown.iter().any(|t| t.contains("9.50")));
}

#[test]
fn the_picking_list_walks_locations_then_skus_and_merges_lines() {
    let line = |loc: Option<&str>, sku: &str, qty, order: &str| PickLine {
        location: loc.map(Into::into),
        sku: sku.into(),
        title: format!("Product {sku}"),
        quantity: qty,
        orders: vec![order.into()],
    };
    let list = PickingList {
        reference: "batch-1".into(),
        date: "2026-11-21".into(),
        warehouse: "DXB1".into(),
        orders: 3,
        lines: vec![
            line(Some("B-02"), "TEE", 1, "W1"),
            line(None, "MUG", 1, "W1"),
            line(Some("A-01"), "CAP", 2, "W2"),
            line(Some("B-02"), "TEE", 3, "W3"),
        ],
    };
    let shown: Vec<String> = pages(&picking_list(&list)).iter().flat_map(|p| texts(p)).collect();
    let pos = |s: &str| shown.iter().position(|t| t == s).unwrap_or_else(|| panic!("{s} not in {shown:?}"));
    assert!(pos("A-01") < pos("B-02") && pos("B-02") < pos("(no bin)"));
    assert_eq!(shown.iter().filter(|t| *t == "TEE").count(), 1);
    assert!(shown.contains(&"W1, W3".to_owned()) && shown.contains(&"4".to_owned()));
}
