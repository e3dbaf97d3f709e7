//! Rating throughput: one parcel quoted against 20 channels with realistic cards (six zones each with
//! postcode, region and country levels, ten weight bands or first+additional steps, volumetric weight,
//! fuel, remote area, COD fee, DDP duties with HS overrides), then ranked by expected profit.

use codflow_domain::rating::{
    Candidate, Channel, ChannelSpec, Contents, Destination, DutyRuleSpec, DutyTable, Fx, Incoterm, Item, LaneStats,
    Parcel, QuoteRequest, Strategy, apply_bp, rank,
};
use codflow_domain::{Country, Currency, FxRate, HsCode, Money};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rust_decimal::Decimal;
use time::macros::date;

fn channel(i: usize) -> Channel {
    let countries = ["SA", "AE", "KW", "QA", "OM", "BH"];
    let bands: Vec<serde_json::Value> = (0..10)
        .map(|b| serde_json::json!({"from_g": b * 500, "to_g": (b + 1) * 500, "price": format!("{}.00", 10 + i + b * 3)}))
        .collect();
    let zone = |z: usize| {
        let mut v = serde_json::json!({"name": format!("z{z}"), "transit_days": 1 + (i + z) % 6});
        match z {
            0 => v["postcodes"] = serde_json::json!(["11*", "12*", "21000-21999"]),
            1 => v["regions"] = serde_json::json!(["Riyadh Province", "Makkah Province", "Dubai"]),
            2 => v["cities"] = serde_json::json!(["Jeddah", "Dammam", "Abu Dhabi"]),
            _ => v["countries"] = serde_json::json!([countries[z % countries.len()], countries[(z + 3) % 6]]),
        }
        if i.is_multiple_of(3) {
            v["steps"] = serde_json::json!({"first_g": 500, "first_price": "14.00", "additional_g": 500, "additional_price": "2.50"});
        } else {
            v["bands"] = serde_json::Value::Array(bands.clone());
        }
        v
    };
    serde_json::from_value::<ChannelSpec>(serde_json::json!({
        "code": format!("CH-{i:02}"), "name": format!("Channel {i}"), "carrier": "sandbox", "service": "std",
        "priority": i as i64 % 4,
        "coverage": {"countries": countries, "excluded_postcodes": ["99999", "98*"]},
        "limits": {"max_weight_g": 30000, "max_length_cm": 120, "max_girth_cm": 300,
                   "cod_max": [{"amount": "5000", "currency": "SAR"}]},
        "capabilities": {"cod": true, "ddp": i % 5 != 4},
        "rate_card": {
            "currency": if i.is_multiple_of(2) { "SAR" } else { "USD" }, "weight_rounding_g": 100, "volumetric_divisor": 5000,
            "min_charge": "8.00", "fuel_surcharge_pct": "12.5",
            "remote_area": {"postcodes": ["13999", "14*", "3000-3999"], "fee": "5.00"},
            "oversize": {"longest_side_cm": 100, "fee": "20.00"},
            "cod_fee": {"pct": "2.5", "min": "3.00", "max": "25.00"}, "ddp_fee": "2.00",
            "zones": (0..6).map(zone).collect::<Vec<_>>()
        }
    }))
    .unwrap()
    .parse()
    .unwrap()
}

fn cur(c: &str) -> Currency {
    Currency::parse(c).unwrap()
}

fn bench(c: &mut Criterion) {
    let channels: Vec<Channel> = (0..20).map(channel).collect();
    let duties = DutyTable(
        ["SA", "AE", "KW", "QA", "OM", "BH"]
            .iter()
            .map(|country| {
                serde_json::from_value::<DutyRuleSpec>(serde_json::json!({
                    "country": country, "effective_from": "2025-01-01", "duty_pct": "5",
                    "hs_overrides": {"61": "12", "9405": "8", "85": "5"}, "vat_pct": "15",
                    "duty_de_minimis": {"amount": {"amount": "1000", "currency": "SAR"}, "basis": "goods"}
                }))
                .unwrap()
                .parse()
                .unwrap()
            })
            .collect(),
    );
    let fx = vec![
        FxRate::new(cur("SAR"), cur("USD"), Decimal::new(2666, 4), date!(2025 - 01 - 01), "bench").unwrap(),
        FxRate::new(cur("USD"), cur("SAR"), Decimal::new(375, 2), date!(2025 - 01 - 01), "bench").unwrap(),
    ];
    let usd = cur("USD");
    let cities = [
        ("Riyadh Province", "Riyadh", "12211"),
        ("Makkah Province", "Jeddah", "21577"),
        ("Eastern", "Khobar", "14999"),
    ];
    let requests: Vec<QuoteRequest> = (0..64)
        .map(|n| {
            let (region, city, pc) = cities[n % 3];
            QuoteRequest {
                destination: Destination {
                    country: Country::parse("SA").unwrap(),
                    region: Some(region.into()),
                    city: Some(city.into()),
                    postal_code: Some(pc.into()),
                },
                parcels: vec![Parcel {
                    weight_g: 200 + (n as i64 * 137) % 4000,
                    length_cm: 30,
                    width_cm: 20,
                    height_cm: 10,
                }],
                goods_value: Money::new(15_000 + n as i64 * 1000, cur("SAR")),
                items: vec![
                    Item { hs_code: Some(HsCode::parse("940540").unwrap()), value: Money::new(10_000, cur("SAR")) },
                    Item {
                        hs_code: Some(HsCode::parse("610910").unwrap()),
                        value: Money::new(5_000 + n as i64 * 1000, cur("SAR")),
                    },
                ],
                cod: Some(Money::new(15_000 + n as i64 * 1000, cur("SAR"))),
                incoterm: Incoterm::Ddp,
                contents: Contents::default(),
                date: date!(2026 - 11 - 20),
            }
        })
        .collect();
    let mut g = c.benchmark_group("rating");
    g.throughput(Throughput::Elements(channels.len() as u64));
    let mut n = 0;
    g.bench_function("quote one parcel against 20 channels", |b| {
        b.iter(|| {
            n += 1;
            let r = &requests[n % requests.len()];
            channels.iter().filter(|ch| ch.quote(r, &duties, fx.as_slice(), usd).is_ok()).count()
        })
    });
    g.bench_function("quote and rank by expected profit across 20 channels", |b| {
        b.iter(|| {
            n += 1;
            let r = &requests[n % requests.len()];
            let cands: Vec<Candidate> = channels
                .iter()
                .filter_map(|ch| {
                    let q = ch.quote(r, &duties, fx.as_slice(), usd).ok()?;
                    let conv = |m: i64| fx.as_slice().convert(Money::new(m, q.currency), usd, r.date).ok();
                    Some(Candidate {
                        return_cost: conv(apply_bp(q.breakdown.base, ch.card.return_bp))?,
                        cod_fee_base: conv(q.breakdown.cod_fee)?,
                        priority: ch.priority,
                        stats: LaneStats { delivered: 80 + n as u64 % 7, failed: 20 },
                        quote: q,
                    })
                })
                .collect();
            rank(cands, Strategy::ExpectedProfit, Some(Money::new(6_000, usd)), Money::new(1_500, usd), 850_000)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
