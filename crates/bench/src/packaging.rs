//! Box selection: a 10-item order over a 30-box catalogue, each box priced through a real channel's quote (a
//! band card with a volumetric divisor), as `GET /api/v1/orders/{id}/packaging` does; latency per order.

use anyhow::Result;
use codflow_domain::packaging::{BoxKind, BoxType, DamageRates, PackLine, PackingAttrs, Pricing, recommend};
use codflow_domain::rating::{Channel, ChannelSpec, Contents, Destination, DutyTable, Incoterm, Parcel, QuoteRequest};
use codflow_domain::{Country, Currency, FxRate, Money};

/// A small deterministic generator, so every run plans the same orders.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, lo: i64, hi: i64) -> i64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        lo + ((self.0 >> 33) % (hi - lo + 1) as u64) as i64
    }
}

pub fn packaging(orders: usize) -> Result<()> {
    let sar = Currency::parse("SAR")?;
    let channel: Channel = serde_json::from_value::<ChannelSpec>(serde_json::json!({
        "code": "BENCH-SA", "name": "bench", "carrier": "sandbox", "service": "standard",
        "coverage": {"countries": ["SA"]}, "capabilities": {"cod": true, "ddp": true},
        "rate_card": {"currency": "SAR", "weight_rounding_g": 500, "volumetric_divisor": 5000,
            "oversize": {"longest_side_cm": 60, "fee": "25.00"},
            "zones": [{"name": "sa", "countries": ["SA"], "transit_days": 3,
                "bands": [{"from_g": 0, "to_g": 1000, "price": "15.00"}, {"from_g": 1000, "to_g": 2000, "price": "20.00"},
                          {"from_g": 2000, "to_g": 5000, "price": "30.00"}, {"from_g": 5000, "to_g": 30000, "price": "60.00"}]}]}
    }))?
    .parse()
    .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let mut g = Lcg(7);
    // Thirty boxes: cartons from 15 to 60 cm, bags and padded envelopes.
    let boxes: Vec<BoxType> = (0..30)
        .map(|i| {
            let kind = match i % 5 {
                3 => BoxKind::Bag,
                4 => BoxKind::PaddedEnvelope,
                _ => BoxKind::Carton,
            };
            let base = 150 + i * 15;
            BoxType {
                code: format!("B{i:02}"),
                kind,
                inner_mm: [base, base * 3 / 4, if kind == BoxKind::Carton { base / 2 } else { 80 }],
                empty_weight_g: 40 + i * 8,
                cost: Money::new(50 + i * 12, sar),
                max_load_g: 25_000,
            }
        })
        .collect();
    let rates: Vec<FxRate> = Vec::new();
    let duties = DutyTable(Vec::new());
    let freight = |outer: [i64; 3], weight_g: i64| {
        let cm = |mm: i64| (mm + 9) / 10;
        let req = QuoteRequest {
            destination: Destination {
                country: Country::parse("SA").ok()?,
                region: None,
                city: Some("Riyadh".into()),
                postal_code: None,
            },
            parcels: vec![Parcel {
                weight_g,
                length_cm: cm(outer[0]),
                width_cm: cm(outer[1]),
                height_cm: cm(outer[2]),
            }],
            goods_value: Money::new(50_000, sar),
            items: Vec::new(),
            cod: None,
            incoterm: Incoterm::Dap,
            contents: Contents::default(),
            date: time::OffsetDateTime::now_utc().date(),
        };
        channel.quote(&req, &duties, rates.as_slice(), sar).ok().map(|q| Money::new(q.breakdown.total(), q.currency))
    };
    let convert = |m: Money| Some(m);
    let damage = DamageRates::defaults();
    let pricing = Pricing { currency: sar, freight: &freight, convert: &convert, damage: &damage };
    let mut lat = Vec::with_capacity(orders);
    let (mut single, mut split, mut none) = (0, 0, 0);
    let started = std::time::Instant::now();
    for _ in 0..orders {
        let lines: Vec<PackLine> = (0..10)
            .map(|i| PackLine {
                sku: format!("SKU-{i}"),
                quantity: 1,
                unit_weight_g: g.next(50, 900),
                unit_value_minor: g.next(500, 20_000),
                attrs: Some(PackingAttrs {
                    dims_mm: [g.next(30, 200), g.next(30, 150), g.next(10, 120)],
                    fragile: g.next(0, 9) == 0,
                    keep_upright: g.next(0, 19) == 0,
                    can_bag: g.next(0, 2) > 0,
                }),
                category: None,
            })
            .map(|mut l| {
                if let Some(a) = l.attrs.as_mut().filter(|a| a.keep_upright) {
                    a.can_bag = false;
                }
                l
            })
            .collect();
        let t = std::time::Instant::now();
        let r = recommend(&lines, &boxes, &pricing);
        lat.push(t.elapsed().as_nanos() as u64);
        match r {
            Ok(r) if r.boxes.len() == 1 => single += 1,
            Ok(_) => split += 1,
            Err(_) => none += 1,
        }
    }
    let secs = started.elapsed().as_secs_f64();
    lat.sort_unstable();
    println!(
        "box selection, 10 items over 30 boxes: {orders} orders in {secs:.2} s = {:.0} orders/s ({single} in one box, {split} split, {none} unplanned)",
        orders as f64 / secs
    );
    println!(
        "latency µs: p50 {:.1}  p90 {:.1}  p99 {:.1}  max {:.1}",
        crate::percentile(&lat, 0.5),
        crate::percentile(&lat, 0.9),
        crate::percentile(&lat, 0.99),
        crate::percentile(&lat, 1.0)
    );
    Ok(())
}
