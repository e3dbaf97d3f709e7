//! The in-memory matching core: a remittance of 200,000 lines (1% short, 1% paid twice, 0.5% not ours)
//! classified against 200,000 expected COD shipments, and the same lines read through a profile from cells.

use codflow_domain::finance::reconcile::{CodTerms, Expected, Tolerances, remittance};
use codflow_domain::finance::statement::{Field, NumberFormat, Profile, StatementKind, StatementLine, read};
use codflow_domain::{Currency, Money, ShipmentId};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use time::macros::date;

const N: usize = 200_000;

fn data() -> (Vec<StatementLine>, Vec<Expected>) {
    let sar = Currency::parse("SAR").unwrap();
    let terms = CodTerms { fee_bp: 200, fee_min_minor: 0, fee_max_minor: None, cycle_days: 7 };
    let expected: Vec<Expected> = (0..N)
        .map(|i| Expected {
            shipment: ShipmentId::generate(),
            tracking_number: format!("SBX{i}"),
            order_ref: format!("{i}"),
            cod: Money::new(6_900 + (i % 50) as i64 * 100, sar),
            delivered_on: Some(date!(2026 - 11 - 01)),
            terms,
            remitted: false,
            received_minor: 0,
        })
        .collect();
    let mut lines = Vec::with_capacity(N + N / 100);
    for (i, e) in expected.iter().enumerate() {
        let amount = if i % 100 == 0 { e.cod.minor - 500 } else { e.cod.minor };
        let tn = if i % 200 == 7 { format!("XX{i}") } else { e.tracking_number.clone() };
        let fee = (amount * 200 + 5_000) / 10_000;
        let times = if i % 100 == 3 { 2 } else { 1 };
        for _ in 0..times {
            lines.push(StatementLine {
                line: lines.len() as u32 + 2,
                tracking_number: Some(tn.clone()),
                order_ref: None,
                reference: Some("SBR-W48".into()),
                date: None,
                amount: Money::new(amount, sar),
                fee: Money::new(fee, sar),
                freight: Money::zero(sar),
                other: Money::zero(sar),
                net: Money::new(amount - fee, sar),
                fx_rate: None,
                settled: None,
                billed_weight_g: None,
                zone: None,
            });
        }
    }
    (lines, expected)
}

fn bench(c: &mut Criterion) {
    let (lines, expected) = data();
    let mut g = c.benchmark_group("reconcile");
    g.sample_size(10);
    g.throughput(Throughput::Elements(lines.len() as u64));
    g.bench_function("match 200k remittance lines", |b| {
        b.iter(|| remittance(&lines, &expected, Tolerances::default(), date!(2026 - 11 - 22)))
    });
    let profile = Profile {
        name: "bench".into(),
        kind: StatementKind::CodRemittance,
        columns: [
            (Field::Reference, "remittance_ref"),
            (Field::TrackingNumber, "tracking_number"),
            (Field::Date, "collected_at"),
            (Field::Amount, "cod_amount"),
            (Field::Currency, "currency"),
            (Field::Fee, "cod_fee"),
            (Field::Net, "net_amount"),
        ]
        .into_iter()
        .map(|(f, h)| (f, h.to_owned()))
        .collect(),
        date_formats: vec!["YYYY-MM-DD".into()],
        number: NumberFormat::default(),
        currency: None,
        deductions_negative: false,
        delimiter: None,
        skip_rows: 0,
        weight_in_kg: false,
        only_rows: Vec::new(),
    };
    let header: Vec<String> =
        ["remittance_ref", "tracking_number", "collected_at", "cod_amount", "currency", "cod_fee", "net_amount"]
            .map(String::from)
            .to_vec();
    let cells: Vec<(u32, Vec<String>)> = std::iter::once((1, header))
        .chain(lines.iter().map(|l| {
            (
                l.line,
                vec![
                    "SBR-W48".into(),
                    l.tracking_number.clone().unwrap_or_default(),
                    "2026-11-20T10:00:00Z".into(),
                    l.amount.amount_string(),
                    "SAR".into(),
                    l.fee.amount_string(),
                    l.net.amount_string(),
                ],
            )
        }))
        .collect();
    g.bench_function("read 200k lines through a profile", |b| {
        b.iter_batched(|| cells.clone(), |c| read(&profile, c).unwrap(), BatchSize::LargeInput)
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
