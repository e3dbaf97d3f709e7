//! Labels and customs documents per second: what a print station's batch costs in CPU.

use std::hint::black_box;

use codflow_documents::{
    Address, CustomsDocument, CustomsLine, LabelData, Party, commercial_invoice, label_pdf, labels_pdf, zpl,
};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn label(n: usize) -> LabelData {
    LabelData {
        tracking_number: format!("SB{:08}5CN", n),
        tracking_url: format!("https://track.example.com/track/SB{:08}5CN", n),
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
        order_ref: "WEB-1001 / ord_01jd0000000000000000000000".into(),
        date: "2026-11-21".into(),
    }
}

fn invoice() -> CustomsDocument {
    CustomsDocument {
        number: "CI-WEB-1001".into(),
        currency: "SAR".into(),
        incoterm: "DDP".into(),
        exporter: Party { name: "Acme".into(), ..Party::default() },
        consignee: Party { name: "Noura".into(), ..Party::default() },
        importer: Party {
            name: "Acme".into(),
            tax_ids: vec![("VAT".into(), "300000000000003".into())],
            ..Party::default()
        },
        lines: (0..5)
            .map(|i| CustomsLine {
                sku: format!("SKU-{i}"),
                description: "Cotton T-shirt".into(),
                hs_code: Some("610910".into()),
                origin: Some("CN".into()),
                quantity: 2,
                unit_value: "25.00".into(),
                total_value: "50.00".into(),
                unit_weight_g: 180,
            })
            .collect(),
        ..CustomsDocument::default()
    }
}

fn bench(c: &mut Criterion) {
    let one = label(17);
    let mut g = c.benchmark_group("documents");
    g.throughput(Throughput::Elements(1));
    g.bench_function("label_zpl", |b| b.iter(|| zpl(black_box(&one))));
    g.bench_function("label_pdf", |b| b.iter(|| label_pdf(black_box(&one))));
    g.bench_function("commercial_invoice_pdf_5_lines", |b| b.iter(|| commercial_invoice(black_box(&invoice()))));
    let batch: Vec<LabelData> = (0..100).map(label).collect();
    g.throughput(Throughput::Elements(100));
    g.bench_function("labels_pdf_batch_of_100", |b| b.iter(|| labels_pdf(black_box(&batch))));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
