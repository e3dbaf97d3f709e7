use proptest::prelude::*;
use proptest::strategy::Strategy as Gen;
use rust_decimal::Decimal;
use time::macros::date;

use super::Strategy;
use super::*;
use crate::FieldErrors;

fn cur(c: &str) -> Currency {
    Currency::parse(c).unwrap()
}

fn sar(minor: i64) -> Money {
    Money::new(minor, cur("SAR"))
}

fn rates() -> Vec<FxRate> {
    vec![
        FxRate::new(cur("SAR"), cur("USD"), Decimal::new(2666, 4), date!(2019 - 01 - 01), "test").unwrap(),
        FxRate::new(cur("AED"), cur("USD"), Decimal::new(2723, 4), date!(2019 - 01 - 01), "test").unwrap(),
        FxRate::new(cur("USD"), cur("SAR"), Decimal::new(375, 2), date!(2019 - 01 - 01), "test").unwrap(),
    ]
}

/// A SAR band card: Riyadh postcodes, the Riyadh region, the rest of the country.
fn band_channel() -> Channel {
    serde_json::from_value::<ChannelSpec>(serde_json::json!({
        "code": "SBX-SA-STD", "name": "Sandbox Saudi standard", "carrier": "sandbox", "service": "standard",
        "coverage": {"countries": ["SA"], "excluded_postcodes": ["99999"]},
        "limits": {"max_weight_g": 5000, "max_length_cm": 60, "max_girth_cm": 200,
                   "cod_max": [{"amount": "5000", "currency": "SAR"}]},
        "capabilities": {"cod": true, "ddp": true},
        "rate_card": {
            "currency": "SAR", "weight_rounding_g": 100, "volumetric_divisor": 5000, "min_charge": "16.00",
            "fuel_surcharge_pct": "10", "remote_area": {"postcodes": ["13999"], "fee": "5.00"},
            "oversize": {"longest_side_cm": 50, "fee": "7.50"},
            "cod_fee": {"pct": "2", "min": "3.00", "max": "10.00"}, "ddp_fee": "4.00",
            "zones": [
                {"name": "riyadh-city", "postcodes": ["11*", "12*"], "transit_days": 1,
                 "bands": [{"from_g": 0, "to_g": 500, "price": "12.00"}, {"from_g": 500, "to_g": 1000, "price": "20.00"},
                           {"from_g": 1000, "to_g": 2000, "price": "28.00"}, {"from_g": 2000, "to_g": 5000, "price": "40.00"}]},
                {"name": "central", "regions": ["Riyadh Province"], "transit_days": 2,
                 "bands": [{"from_g": 0, "to_g": 5000, "price": "30.00"}]},
                {"name": "rest", "countries": ["SA"], "transit_days": 4,
                 "bands": [{"from_g": 0, "to_g": 5000, "price": "35.00"}]}
            ]
        }
    }))
    .unwrap()
    .parse()
    .unwrap()
}

/// An AED card priced by first weight and each additional step.
fn step_channel() -> Channel {
    serde_json::from_value::<ChannelSpec>(serde_json::json!({
        "code": "ARX-AE-EXP", "name": "Aramex UAE express", "carrier": "aramex", "service": "PDX",
        "coverage": {"countries": ["AE", "SA"]},
        "capabilities": {"cod": false, "ddp": true},
        "rate_card": {
            "currency": "AED", "weight_rounding_g": 1,
            "zones": [{"name": "gcc", "countries": ["AE", "SA"], "transit_days": 3,
                       "steps": {"first_g": 500, "first_price": "12.00", "additional_g": 500, "additional_price": "3.00", "max_g": 30000}}]
        }
    }))
    .unwrap()
    .parse()
    .unwrap()
}

fn duties() -> DutyTable {
    let rule = |from: &str, duty: &str| {
        serde_json::from_value::<DutyRuleSpec>(serde_json::json!({
            "country": "SA", "effective_from": from, "duty_pct": duty, "hs_overrides": {"94": "12", "9405": "8"},
            "vat_pct": "15", "duty_de_minimis": {"amount": {"amount": "1000", "currency": "SAR"}, "basis": "goods"},
            "source": "test"
        }))
        .unwrap()
        .parse()
        .unwrap()
    };
    DutyTable(vec![rule("2020-01-01", "6.5"), rule("2026-01-01", "5")])
}

fn to(country: &str, region: &str, city: &str, postcode: &str) -> Destination {
    Destination {
        country: Country::parse(country).unwrap(),
        region: Some(region.into()),
        city: Some(city.into()),
        postal_code: Some(postcode.into()),
    }
}

fn req(weight_g: i64, cod: Option<i64>, incoterm: Incoterm) -> QuoteRequest {
    QuoteRequest {
        destination: to("SA", "Riyadh Province", "Riyadh", "12211"),
        parcels: vec![Parcel { weight_g, length_cm: 0, width_cm: 0, height_cm: 0 }],
        goods_value: sar(20_000),
        items: vec![],
        cod: cod.map(sar),
        incoterm,
        contents: Contents::default(),
        date: date!(2026 - 11 - 20),
    }
}

fn quote(ch: &Channel, r: &QuoteRequest) -> Result<Quote, Ineligible> {
    ch.quote(r, &duties(), rates().as_slice(), cur("USD"))
}

#[test]
fn a_light_parcel_is_raised_to_the_minimum_charge_and_pays_fuel_and_the_percentage_cod_fee() {
    let q = quote(&band_channel(), &req(450, Some(20_000), Incoterm::Dap)).unwrap();
    assert_eq!(q.zone, "riyadh-city");
    assert_eq!(q.billable_weight_g, 500);
    let b = q.breakdown;
    assert_eq!((b.base, b.fuel, b.cod_fee, b.duties, b.taxes, b.ddp_fee), (1600, 160, 400, 0, 0, 0));
    assert_eq!(q.total(), sar(2160));
    // 21.60 SAR × 0.2666 = 5.75856 → 5.76 USD.
    assert_eq!(q.total_base, Money::new(576, cur("USD")));
    assert_eq!(q.transit_days, 1);
}

#[test]
fn weight_is_rounded_up_to_the_card_step_and_a_small_cod_pays_the_minimum_fee() {
    let q = quote(&band_channel(), &req(501, Some(5_000), Incoterm::Dap)).unwrap();
    assert_eq!(q.billable_weight_g, 600);
    assert_eq!((q.breakdown.base, q.breakdown.fuel, q.breakdown.cod_fee), (2000, 200, 300));
    assert_eq!(q.total(), sar(2500));
}

#[test]
fn a_bulky_parcel_bills_its_volumetric_weight_and_a_large_cod_is_capped() {
    let mut r = req(800, Some(100_000), Incoterm::Dap);
    r.parcels[0] = Parcel { weight_g: 800, length_cm: 30, width_cm: 20, height_cm: 20 };
    let q = quote(&band_channel(), &r).unwrap();
    // 30 × 20 × 20 cm = 12 000 cm³ ÷ 5000 = 2.4 kg.
    assert_eq!((q.actual_weight_g, q.volumetric_weight_g, q.billable_weight_g), (800, 2400, 2400));
    assert_eq!((q.breakdown.base, q.breakdown.fuel, q.breakdown.cod_fee, q.breakdown.oversize), (4000, 400, 1000, 0));
    r.parcels[0].length_cm = 55;
    let q = quote(&band_channel(), &r).unwrap();
    assert_eq!(q.breakdown.oversize, 750);
}

#[test]
fn the_most_specific_zone_wins_and_a_remote_postcode_pays_its_surcharge() {
    let ch = band_channel();
    let mut r = req(1000, None, Incoterm::Dap);
    r.destination = to("SA", "Riyadh Province", "Al Kharj", "16278");
    let q = quote(&ch, &r).unwrap();
    assert_eq!((q.zone.as_str(), q.breakdown.base, q.breakdown.remote_area), ("central", 3000, 0));
    r.destination = to("SA", "Eastern Province", "Khafji", "13999");
    let q = quote(&ch, &r).unwrap();
    assert_eq!(
        (q.zone.as_str(), q.breakdown.base, q.breakdown.fuel, q.breakdown.remote_area),
        ("rest", 3500, 350, 500)
    );
    assert_eq!(q.transit_days, 4);
}

#[test]
fn first_weight_and_additional_steps_price_each_started_step() {
    let ch = step_channel();
    let mut r = req(1200, None, Incoterm::Dap);
    r.goods_value = Money::new(10_000, cur("AED"));
    r.destination = to("AE", "Dubai", "Dubai", "00000");
    // 500 g first, then 700 g = two started 500 g steps.
    assert_eq!(quote(&ch, &r).unwrap().breakdown.base, 1200 + 2 * 300);
    r.parcels[0].weight_g = 500;
    assert_eq!(quote(&ch, &r).unwrap().breakdown.base, 1200);
    r.parcels[0].weight_g = 30_001;
    assert_eq!(quote(&ch, &r).unwrap_err().reason, Reason::Overweight);
}

#[test]
fn duties_are_waived_at_the_de_minimis_and_charged_just_above_it() {
    let ch = band_channel();
    let mut r = req(450, None, Incoterm::Ddp);
    r.goods_value = sar(100_000);
    let at = quote(&ch, &r).unwrap();
    // Transport = 16.00 base + 1.60 fuel = 17.60 (the 4.00 DDP fee is a service, not transport);
    // VAT 15 % of (1000 + 17.60) = 152.64.
    assert_eq!((at.breakdown.duties, at.breakdown.ddp_fee, at.breakdown.taxes), (0, 400, 15264));
    assert!(at.duty_notes.iter().any(|n| n.contains("at or below")), "{:?}", at.duty_notes);
    r.goods_value = sar(100_001);
    let above = quote(&ch, &r).unwrap();
    // 5 % of 1000.01 = 50.0005 → 50.00; VAT 15 % of (1000.01 + 17.60 + 50.00) = 160.1415 → 160.14.
    assert_eq!((above.breakdown.duties, above.breakdown.taxes), (5000, 16014));
    assert!(above.duty_notes.iter().any(|n| n.contains("above, duty due")));
}

#[test]
fn vat_is_charged_on_the_customs_value_and_duty_and_on_service_fees_only_where_the_rule_says() {
    let ch = band_channel();
    // 450 g to Riyadh, 1,000.01 SAR of goods, 500.00 SAR collected on delivery, DDP.
    let mut r = req(450, Some(50_000), Incoterm::Ddp);
    r.goods_value = sar(100_001);
    let q = quote(&ch, &r).unwrap();
    // Base 16.00 (minimum), fuel 10 % = 1.60, COD fee 2 % of 500.00 = 10.00 (the maximum), DDP fee 4.00,
    // duty 5 % of 1000.01 = 50.00; VAT 15 % of (1000.01 + 17.60 + 50.00) = 160.1415 → 160.14. The COD and
    // DDP fees are not in it.
    let b = q.breakdown;
    assert_eq!((b.base, b.fuel, b.cod_fee, b.ddp_fee, b.duties, b.taxes), (1600, 160, 1000, 400, 5000, 16014));
    // A country whose rule taxes the service fees: VAT 15 % of (1067.61 + 10.00 + 4.00) = 162.2415 → 162.24.
    let mut table = duties();
    for rule in &mut table.0 {
        rule.vat_base = duties::VatBase::CustomsValueDutyAndFees;
    }
    let q = ch.quote(&r, &table, rates().as_slice(), cur("USD")).unwrap();
    assert_eq!(q.breakdown.taxes, 16224);
    assert!(q.duty_notes.iter().any(|n| n.contains("service fees")), "{:?}", q.duty_notes);
    let spec = table.0[1].to_spec();
    assert_eq!(spec.vat_base.as_deref(), Some("customs_value_duty_and_fees"));
    assert_eq!(spec.parse().unwrap(), table.0[1], "the base round-trips");
    let mut bad = spec;
    bad.vat_base = Some("everything".into());
    assert_eq!(bad.parse().unwrap_err().0[0].path, "vat_base");
}

#[test]
fn duties_use_the_longest_hs_prefix_and_the_rule_in_force_on_the_day() {
    let ch = band_channel();
    let mut r = req(450, None, Incoterm::Ddp);
    r.goods_value = sar(300_000);
    r.items = vec![
        Item { hs_code: Some(crate::HsCode::parse("940540").unwrap()), value: sar(100_000) },
        Item { hs_code: Some(crate::HsCode::parse("940360").unwrap()), value: sar(100_000) },
        Item { hs_code: None, value: sar(100_000) },
    ];
    let q = quote(&ch, &r).unwrap();
    assert_eq!(q.breakdown.duties, 8_000 + 12_000 + 5_000);
    r.date = date!(2025 - 06 - 01);
    r.items.clear();
    assert_eq!(quote(&ch, &r).unwrap().breakdown.duties, 19_500, "6.5 % before 2026");
    r.date = date!(2019 - 06 - 01);
    assert_eq!(quote(&ch, &r).unwrap_err().reason, Reason::NoDutyRules);
}

#[test]
fn ineligible_channels_say_why() {
    let ch = band_channel();
    let reason = |r: &QuoteRequest| quote(&ch, r).unwrap_err().reason;
    assert_eq!(reason(&req(5001, None, Incoterm::Dap)), Reason::Overweight);
    assert_eq!(reason(&req(500, Some(500_001), Incoterm::Dap)), Reason::CodOverLimit);
    let mut r = req(500, None, Incoterm::Dap);
    r.contents.batteries = true;
    assert_eq!(reason(&r), Reason::NoBatteries);
    r.contents.batteries = false;
    r.destination = to("AE", "Dubai", "Dubai", "00000");
    assert_eq!(reason(&r), Reason::CountryNotCovered);
    r.destination = to("SA", "Riyadh Province", "Riyadh", "99999");
    assert_eq!(reason(&r), Reason::PostcodeNotCovered);
    r.destination = to("SA", "Riyadh Province", "Riyadh", "12211");
    r.parcels[0] = Parcel { weight_g: 500, length_cm: 61, width_cm: 10, height_cm: 10 };
    assert_eq!(reason(&r), Reason::OverDimension);
    r.parcels[0] = Parcel { weight_g: 500, length_cm: 60, width_cm: 40, height_cm: 40 };
    let e = quote(&ch, &r).unwrap_err();
    assert_eq!((e.reason, e.message.contains("girth 220 cm")), (Reason::OverGirth, true), "{e}");
    let step = step_channel();
    let mut r = req(500, Some(100), Incoterm::Dap);
    assert_eq!(step.quote(&r, &duties(), rates().as_slice(), cur("USD")).unwrap_err().reason, Reason::NoCod);
    r.cod = None;
    r.goods_value = Money::new(100, cur("EUR"));
    r.incoterm = Incoterm::Ddp;
    let e = step.quote(&r, &duties(), rates().as_slice(), cur("USD")).unwrap_err();
    assert_eq!(e.reason, Reason::NoFxRate, "{e}");
}

fn spec_json() -> serde_json::Value {
    serde_json::to_value(band_channel().to_spec()).unwrap()
}

fn errors_of(v: serde_json::Value) -> FieldErrors {
    serde_json::from_value::<ChannelSpec>(v).unwrap().parse().unwrap_err()
}

#[test]
fn a_channel_written_out_parses_back_to_itself() {
    for ch in [band_channel(), step_channel()] {
        assert_eq!(ch.to_spec().parse().unwrap(), ch);
    }
    let d = &duties().0[1];
    assert_eq!(&d.to_spec().parse().unwrap(), d);
}

#[test]
fn overlapping_gapped_and_negative_bands_are_refused_with_their_paths() {
    let mut v = spec_json();
    v["rate_card"]["zones"][0]["bands"][1]["from_g"] = 400.into();
    v["rate_card"]["zones"][0]["bands"][2]["from_g"] = 1100.into();
    v["rate_card"]["zones"][1]["bands"][0]["price"] = "-1.00".into();
    v["rate_card"]["zones"][2]["bands"][0]["to_g"] = 0.into();
    let e = errors_of(v);
    let paths: Vec<&str> = e.0.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "rate_card.zones[0].bands[1].from_g",
            "rate_card.zones[0].bands[2].from_g",
            "rate_card.zones[1].bands[0].price",
            "rate_card.zones[2].bands[0].to_g"
        ],
        "{e:?}"
    );
    assert!(e.0[0].message.contains("overlaps") && e.0[1].message.contains("gap"), "{e:?}");
}

#[test]
fn unknown_currencies_countries_and_bad_percentages_are_refused() {
    let mut v = spec_json();
    v["rate_card"]["currency"] = "XXY".into();
    v["coverage"]["countries"][0] = "ZZ".into();
    v["rate_card"]["fuel_surcharge_pct"] = "12.345".into();
    let e = errors_of(v);
    let paths: Vec<&str> = e.0.iter().map(|e| e.path.as_str()).collect();
    for p in ["rate_card.currency", "coverage.countries[0]", "rate_card.fuel_surcharge_pct"] {
        assert!(paths.contains(&p), "{p} missing from {e:?}");
    }
}

#[test]
fn percentages_parse_to_basis_points_and_back() {
    assert_eq!(spec::parse_pct("12.5"), Ok(1250));
    assert_eq!(spec::parse_pct("0.05"), Ok(5));
    assert_eq!(spec::parse_pct("100"), Ok(10_000));
    for bad in ["", "1.", ".5", "100.01", "-1", "1e2", "12.345", " 1"] {
        assert!(spec::parse_pct(bad).is_err(), "{bad:?} accepted");
    }
    for bp in [0, 5, 50, 1250, 1205, 10_000] {
        assert_eq!(spec::parse_pct(&spec::pct_string(bp)), Ok(bp));
    }
}

fn stats(d: u64, f: u64) -> LaneStats {
    LaneStats { delivered: d, failed: f }
}

fn candidate(ch: &Channel, r: &QuoteRequest, s: LaneStats, priority: i64) -> Candidate {
    let q = quote(ch, r).unwrap();
    let fx = rates();
    let usd = |minor: i64| fx.as_slice().convert(Money::new(minor, q.currency), cur("USD"), r.date).unwrap();
    Candidate {
        return_cost: usd(apply_bp(q.breakdown.base, ch.card.return_bp)),
        cod_fee_base: usd(q.breakdown.cod_fee),
        priority,
        stats: s,
        quote: q,
    }
}

#[test]
fn a_cheaper_channel_that_gets_refused_more_loses_on_expected_profit() {
    let cheap = band_channel();
    let mut dear_spec = band_channel().to_spec();
    dear_spec.code = "SBX-SA-PREM".into();
    dear_spec.rate_card.zones[0].bands.iter_mut().for_each(|b| b.price = "18.00".into());
    dear_spec.rate_card.zones[0].bands.truncate(1);
    dear_spec.rate_card.zones[0].bands[0].to_g = 5000;
    let dear = dear_spec.parse().unwrap();
    let r = req(450, Some(30_000), Incoterm::Dap);
    let revenue = Some(Money::new(8_000, cur("USD")));
    let zero = Money::new(0, cur("USD"));
    let cands = || vec![candidate(&cheap, &r, stats(50, 50), 0), candidate(&dear, &r, stats(190, 10), 0)];
    let by_profit = rank(cands(), Strategy::ExpectedProfit, revenue, zero, DEFAULT_PRIOR_PPM);
    assert_eq!(by_profit.ranked[0].quote.channel.as_str(), "SBX-SA-PREM");
    assert!(
        by_profit.why.contains("highest expected profit") && by_profit.why.contains("next best SBX-SA-STD"),
        "{}",
        by_profit.why
    );
    // (50 + 0.85 × 20) / (100 + 20) = 55.8 %.
    assert_eq!(by_profit.ranked[1].p_delivered_ppm, 558_333);
    let by_price = rank(cands(), Strategy::Cheapest, revenue, zero, DEFAULT_PRIOR_PPM);
    assert_eq!(by_price.ranked[0].quote.channel.as_str(), "SBX-SA-STD");
    let by_priority = rank(
        vec![candidate(&cheap, &r, stats(0, 0), 1), candidate(&dear, &r, stats(0, 0), 5)],
        Strategy::Priority,
        revenue,
        zero,
        DEFAULT_PRIOR_PPM,
    );
    assert_eq!(by_priority.ranked[0].quote.channel.as_str(), "SBX-SA-PREM");
    assert!(by_priority.why.contains("highest priority, 5"), "{}", by_priority.why);
}

#[test]
fn the_fastest_strategy_prefers_fewer_transit_days_and_explains_a_lone_channel() {
    let mut r = req(450, None, Incoterm::Dap);
    let a = band_channel();
    let mut b = step_channel().to_spec();
    b.coverage.countries = vec!["SA".into()];
    let b = b.parse().unwrap();
    r.goods_value = sar(1000);
    let zero = Money::new(0, cur("USD"));
    let ranking = rank(
        vec![candidate(&b, &r, stats(0, 0), 0), candidate(&a, &r, stats(0, 0), 0)],
        Strategy::Fastest,
        None,
        zero,
        1,
    );
    assert_eq!(ranking.ranked[0].quote.channel.as_str(), "SBX-SA-STD");
    let lone = rank(vec![candidate(&b, &r, stats(0, 0), 0)], Strategy::ExpectedProfit, None, zero, 1);
    assert!(lone.why.contains("only eligible channel"), "{}", lone.why);
}

/// Random contiguous band cards with non-decreasing prices.
fn any_card() -> impl Gen<Value = (Vec<(i64, i64)>, i64, i64, i64)> {
    (
        prop::collection::vec((1i64..2_000, 0i64..500), 1..8),
        prop::sample::select(vec![1i64, 10, 100, 250, 500]),
        0i64..3000,
        0i64..5000,
    )
}

fn card_from(widths: &[(i64, i64)], rounding: i64, fuel_bp: i64, min_charge: i64) -> Channel {
    let mut ch = band_channel();
    let mut from = 0;
    let mut price = 0;
    let bands: Vec<Band> = widths
        .iter()
        .map(|(w, step)| {
            price += step;
            let b = Band { from_g: from, to_g: from + w, price_minor: price };
            from += w;
            b
        })
        .collect();
    ch.card.zones[0].pricing = Pricing::Bands(bands);
    ch.card.rounding_g = rounding;
    ch.card.fuel_bp = fuel_bp;
    ch.card.min_charge_minor = min_charge;
    ch.limits.max_weight_g = None;
    ch
}

proptest! {
    #[test]
    fn the_total_never_falls_as_the_weight_grows(
        (widths, rounding, fuel, min) in any_card(), a in 0i64..20_000, b in 0i64..20_000, cod in 0i64..1_000_000,
        ddp in any::<bool>()
    ) {
        let ch = card_from(&widths, rounding, fuel, min);
        let (lo, hi) = (a.min(b), a.max(b));
        let inc = if ddp { Incoterm::Ddp } else { Incoterm::Dap };
        let (ql, qh) = (quote(&ch, &req(lo, Some(cod), inc)), quote(&ch, &req(hi, Some(cod), inc)));
        if let (Ok(ql), Ok(qh)) = (&ql, &qh) {
            prop_assert!(ql.total().minor <= qh.total().minor, "{ql:?} vs {qh:?}");
        }
        // A heavier parcel is never eligible when a lighter one is not.
        prop_assert!(!(ql.is_err() && qh.is_ok()));
    }

    #[test]
    fn billable_weight_covers_the_actual_weight_and_the_breakdown_sums_to_the_total(
        (widths, rounding, fuel, min) in any_card(), w in 0i64..15_000, l in 0i64..80, wd in 0i64..80, h in 0i64..80,
        cod in 0i64..1_000_000, goods in 0i64..400_000
    ) {
        let ch = card_from(&widths, rounding, fuel, min);
        let mut r = req(w, Some(cod), Incoterm::Ddp);
        r.parcels[0] = Parcel { weight_g: w, length_cm: l, width_cm: wd, height_cm: h };
        r.goods_value = sar(goods);
        let (_, bill) = ch.card.billable(&r.parcels[0]);
        prop_assert!(bill >= w);
        prop_assert_eq!(bill % rounding, 0);
        prop_assert!(bill - w.max(ch.card.billable(&r.parcels[0]).0) < rounding);
        if let Ok(q) = quote(&ch, &r) {
            let b = q.breakdown;
            prop_assert_eq!(b.base + b.fuel + b.remote_area + b.oversize + b.cod_fee + b.ddp_fee + b.duties + b.taxes, q.total().minor);
            prop_assert!(b.base >= min);
        }
    }

    #[test]
    fn a_parcel_just_over_a_band_edge_is_priced_in_the_next_band((widths, _, _, _) in any_card(), i in 0usize..8) {
        let ch = card_from(&widths, 1, 0, 0);
        let Pricing::Bands(bands) = &ch.card.zones[0].pricing else { unreachable!() };
        let i = i % bands.len();
        let edge = bands[i].to_g;
        prop_assert_eq!(quote(&ch, &req(edge, None, Incoterm::Dap)).unwrap().breakdown.base, bands[i].price_minor);
        match bands.get(i + 1) {
            Some(next) => prop_assert_eq!(quote(&ch, &req(edge + 1, None, Incoterm::Dap)).unwrap().breakdown.base, next.price_minor),
            None => prop_assert_eq!(quote(&ch, &req(edge + 1, None, Incoterm::Dap)).unwrap_err().reason, Reason::Overweight),
        }
    }

    #[test]
    fn channel_spec_parsing_never_panics(v in "\\PC{0,40}", n in any::<i64>()) {
        let mut j = spec_json();
        j["rate_card"]["zones"][0]["bands"][0]["price"] = v.clone().into();
        j["rate_card"]["zones"][0]["bands"][1]["to_g"] = n.into();
        j["coverage"]["postcodes"] = serde_json::json!([v]);
        j["rate_card"]["cod_fee"]["pct"] = v.into();
        let _ = serde_json::from_value::<ChannelSpec>(j).map(|s| s.parse());
    }
}

#[test]
fn a_rate_quoted_only_the_other_way_round_is_used_inverted() {
    let rates = [FxRate::new(cur("SAR"), cur("USD"), Decimal::new(25, 2), date!(2026 - 01 - 01), "bank").unwrap()];
    let direct = rates.rate_either(cur("SAR"), cur("USD"), date!(2026 - 02 - 01)).unwrap();
    assert_eq!(direct.rate, Decimal::new(25, 2));
    let back = rates.rate_either(cur("USD"), cur("SAR"), date!(2026 - 02 - 01)).unwrap();
    assert_eq!((back.from, back.to, back.rate), (cur("USD"), cur("SAR"), Decimal::from(4)));
    assert_eq!(back.convert(Money::new(1_000, cur("USD"))).unwrap().value, Money::new(4_000, cur("SAR")));
    assert!(rates.rate_either(cur("USD"), cur("SAR"), date!(2025 - 12 - 31)).is_none(), "not yet quoted");
}

#[test]
fn a_duty_rule_dated_outside_the_business_years_is_refused() {
    let mut spec = duties().0[1].to_spec();
    spec.effective_from = "0000-01-01".into();
    let e = spec.parse().unwrap_err();
    assert_eq!(e.0[0].path, "effective_from");
    assert!(e.0[0].message.contains("between 2000 and 2100"), "{e:?}");
}
