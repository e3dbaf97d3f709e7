use proptest::prelude::*;
use time::macros::date;

use super::*;
use crate::rating::{Channel, ChannelSpec, Contents, Destination, DutyTable, Incoterm, Parcel, QuoteRequest};
use crate::{Country, Currency, FxRate};

fn sar(minor: i64) -> Money {
    Money::new(minor, Currency::parse("SAR").unwrap())
}

/// A SAR card by weight bands, its volumetric divisor and an oversize fee on the longest side given.
fn channel(divisor: i64, oversize_cm: i64) -> Channel {
    serde_json::from_value::<ChannelSpec>(serde_json::json!({
        "code": "SBX-SA", "name": "Sandbox Saudi", "carrier": "sandbox", "service": "standard",
        "coverage": {"countries": ["SA"]}, "capabilities": {"cod": true, "ddp": true},
        "rate_card": {
            "currency": "SAR", "weight_rounding_g": 500, "volumetric_divisor": divisor,
            "oversize": {"longest_side_cm": oversize_cm, "fee": "25.00"},
            "zones": [{"name": "sa", "countries": ["SA"], "transit_days": 3,
                       "bands": [{"from_g": 0, "to_g": 1000, "price": "15.00"}, {"from_g": 1000, "to_g": 2000, "price": "20.00"},
                                 {"from_g": 2000, "to_g": 5000, "price": "30.00"}, {"from_g": 5000, "to_g": 20000, "price": "60.00"}]}]
        }
    }))
    .unwrap()
    .parse()
    .unwrap()
}

/// The channel's charge for a box of `outer_mm` weighing `weight_g`: what the recommendation compares.
fn freight(c: &Channel) -> impl Fn([i64; 3], i64) -> Option<Money> + '_ {
    move |outer_mm, weight_g| {
        let cm = |mm: i64| (mm + 9) / 10;
        let req = QuoteRequest {
            destination: Destination {
                country: Country::parse("SA").unwrap(),
                region: None,
                city: Some("Riyadh".into()),
                postal_code: None,
            },
            parcels: vec![Parcel {
                weight_g,
                length_cm: cm(outer_mm[0]),
                width_cm: cm(outer_mm[1]),
                height_cm: cm(outer_mm[2]),
            }],
            goods_value: sar(10_000),
            items: Vec::new(),
            cod: None,
            incoterm: Incoterm::Dap,
            contents: Contents::default(),
            date: date!(2026 - 12 - 01),
        };
        let rates: Vec<FxRate> = Vec::new();
        c.quote(&req, &DutyTable(Vec::new()), rates.as_slice(), Currency::parse("SAR").unwrap())
            .ok()
            .map(|q| Money::new(q.breakdown.total(), q.currency))
    }
}

fn carton(code: &str, inner_mm: [i64; 3], cost_minor: i64) -> BoxType {
    BoxType {
        code: code.into(),
        kind: BoxKind::Carton,
        inner_mm,
        empty_weight_g: 150,
        cost: sar(cost_minor),
        max_load_g: 20_000,
    }
}

fn line(sku: &str, quantity: i64, dims_mm: [i64; 3], weight_g: i64) -> PackLine {
    PackLine {
        sku: sku.into(),
        quantity,
        unit_weight_g: weight_g,
        unit_value_minor: 5_000,
        attrs: Some(PackingAttrs { dims_mm, fragile: false, keep_upright: false, can_bag: false }),
        category: None,
    }
}

fn no_damage() -> DamageRates {
    DamageRates::default()
}

fn pricing<'a>(f: &'a dyn Fn([i64; 3], i64) -> Option<Money>, damage: &'a DamageRates) -> Pricing<'a> {
    static CONVERT: fn(Money) -> Option<Money> = |m| Some(m);
    Pricing { currency: Currency::parse("SAR").unwrap(), freight: f, convert: &CONVERT, damage }
}

/// A long narrow carton fits a 45 cm rod but its 52 cm outside trips the card's 50 cm oversize fee; a squarer,
/// larger carton (48 cm long outside) costs more to make and bills more volumetric weight under the 4,000 divisor,
/// yet costs less in all: 2.00 + 20.00 + 25.00 oversize = 47.00 against 3.50 + 30.00 = 33.50.
#[test]
fn a_box_that_fits_but_costs_more_in_freight_loses_to_a_larger_one_under_a_small_divisor() {
    let c = channel(4000, 50);
    let f = freight(&c);
    let d = no_damage();
    let boxes = [carton("LONG", [510, 80, 80], 200), carton("CUBE", [470, 200, 150], 350)];
    let r = recommend(&[line("ROD-1", 1, [450, 60, 60], 400)], &boxes, &pricing(&f, &d)).unwrap();
    assert_eq!(r.boxes.len(), 1);
    assert_eq!(r.boxes[0].code, "CUBE");
    // CUBE outside: 478 × 208 × 158 mm → 48 × 21 × 16 cm = 16,128 cm³ / 4,000 = 4.04 kg volumetric → 4.5 kg band.
    assert_eq!(r.boxes[0].freight, sar(3_000));
    assert_eq!(r.boxes[0].total, sar(3_350));
    let long = r.considered.iter().find(|x| x.code == "LONG").unwrap();
    // LONG outside: 518 × 88 × 88 mm → 52 × 9 × 9 cm = 4,212 cm³: 1.05 kg volumetric, the 2 kg band 20.00, and
    // 25.00 oversize.
    assert_eq!(long.total, Some(sar(200 + 2_000 + 2_500)));
    assert_eq!(long.why_not.as_deref(), Some("costs more in all"));
    assert_eq!(r.expected_weight_g, 400 + 150);
}

/// A 200 × 150 × 100 mm vase fits the small carton bare, but not with 20 mm of padding all round: the medium one.
#[test]
fn a_fragile_item_needs_the_padded_size() {
    let c = channel(5000, 200);
    let f = freight(&c);
    let d = no_damage();
    let boxes = [carton("S", [220, 170, 120], 100), carton("M", [300, 250, 200], 180)];
    let mut vase = line("VASE-1", 1, [200, 150, 100], 600);
    let r = recommend(std::slice::from_ref(&vase), &boxes, &pricing(&f, &d)).unwrap();
    assert_eq!(r.boxes[0].code, "S", "not fragile: the small one");
    vase.attrs.as_mut().unwrap().fragile = true;
    let r = recommend(std::slice::from_ref(&vase), &boxes, &pricing(&f, &d)).unwrap();
    assert_eq!(r.boxes[0].code, "M");
    let s = r.considered.iter().find(|x| x.code == "S").unwrap();
    assert_eq!(s.why_not.as_deref(), Some("VASE-1 is larger than the box with its fragile padding"));
    assert_eq!(r.next_up, None, "nothing larger than M");
}

#[test]
fn items_to_keep_upright_only_turn_about_the_vertical_and_never_go_in_a_bag() {
    let c = channel(5000, 200);
    let f = freight(&c);
    let d = no_damage();
    // A bottle 80 × 80 × 300 mm: lying down it fits the flat carton; standing it needs the tall one.
    let flat = carton("FLAT", [320, 100, 100], 100);
    let tall = carton("TALL", [100, 100, 320], 150);
    // Lying down, the bottle bills 1 kg in the bag (33 × 13 × 10 cm outside) and 1.5 kg in FLAT (33 × 11 × 11 cm
    // and its 150 g).
    let bag = BoxType {
        code: "BAG".into(),
        kind: BoxKind::Bag,
        inner_mm: [320, 120, 90],
        empty_weight_g: 20,
        cost: sar(20),
        max_load_g: 5_000,
    };
    let mut bottle = line("OIL-1", 1, [80, 80, 300], 900);
    bottle.attrs.as_mut().unwrap().can_bag = true;
    let r =
        recommend(std::slice::from_ref(&bottle), &[flat.clone(), tall.clone(), bag.clone()], &pricing(&f, &d)).unwrap();
    assert_eq!(r.boxes[0].code, "BAG", "lying down and baggable: the cheap bag");
    let a = bottle.attrs.as_mut().unwrap();
    a.keep_upright = true;
    a.can_bag = false;
    let r = recommend(std::slice::from_ref(&bottle), &[flat, tall, bag], &pricing(&f, &d)).unwrap();
    assert_eq!(r.boxes[0].code, "TALL");
    let why: Vec<_> = r.considered.iter().filter_map(|x| x.why_not.clone()).collect();
    assert!(why.contains(&"OIL-1 must stay upright: a carton only".to_owned()), "{why:?}");
    assert!(why.contains(&"OIL-1 is larger than the box standing upright".to_owned()), "{why:?}");
}

#[test]
fn expected_damage_can_make_the_sturdier_box_the_cheaper_choice() {
    let c = channel(5000, 200);
    let f = freight(&c);
    // Both bill the 1 kg band (15.00): the bag 26 × 21 × 7 cm outside, the carton 23 × 18 × 8 cm.
    let bag = BoxType {
        code: "BAG".into(),
        kind: BoxKind::Bag,
        inner_mm: [250, 200, 60],
        empty_weight_g: 20,
        cost: sar(30),
        max_load_g: 5_000,
    };
    let box_ = carton("C", [220, 170, 70], 200);
    let mut shirt = line("SHIRT", 1, [200, 150, 50], 300);
    shirt.attrs.as_mut().unwrap().can_bag = true;
    shirt.unit_value_minor = 10_000;
    let d = DamageRates::defaults();
    let r = recommend(std::slice::from_ref(&shirt), &[bag.clone(), box_.clone()], &pricing(&f, &d)).unwrap();
    // 0.30 + 15.00 + 1.50 (1.5 % of 100.00) against 2.00 + 15.00 + 0.50.
    assert_eq!(r.boxes[0].code, "BAG", "1.00 more damage does not outweigh 1.70 of box");
    assert_eq!((r.boxes[0].expected_damage, r.total), (sar(150), sar(1_680)));
    shirt.category = Some("glassware".into());
    let d =
        DamageRates { by_kind_and_category: vec![(BoxKind::Bag, "glassware".into(), 900)], ..DamageRates::defaults() };
    let r = recommend(std::slice::from_ref(&shirt), &[bag, box_], &pricing(&f, &d)).unwrap();
    assert_eq!(r.boxes[0].code, "C", "9 % damage in a bag for this category");
    // The bag is the larger: in it the order would cost 0.30 + 15.00 + 9.00 = 24.30, 6.80 more than 17.50.
    assert_eq!(r.next_up.map(|(code, more)| (code, more.minor)), Some(("BAG".into(), 680)));
}

#[test]
fn an_order_too_big_for_any_one_box_is_split_and_each_share_shrunk_to_its_cheapest_box() {
    let c = channel(5000, 200);
    let f = freight(&c);
    let d = no_damage();
    let boxes = [carton("S", [210, 210, 110], 100), carton("L", [410, 210, 210], 250)];
    // Nine 200 × 200 × 100 mm tins: four to an L carton (2 × 1 × 2), so three cartons, the last with one tin.
    let r = recommend(&[line("TIN", 9, [200, 200, 100], 500)], &boxes, &pricing(&f, &d)).unwrap();
    let codes: Vec<&str> = r.boxes.iter().map(|b| b.code.as_str()).collect();
    assert_eq!(codes, ["L", "L", "S"]);
    assert_eq!(r.boxes.iter().map(|b| b.skus.len()).sum::<usize>(), 9);
    assert_eq!(r.total.minor, r.boxes.iter().map(|b| b.total.minor).sum::<i64>());
    assert_eq!(r.expected_weight_g, 9 * 500 + 3 * 150);
}

#[test]
fn what_cannot_be_planned_is_said_plainly() {
    let c = channel(5000, 200);
    let f = freight(&c);
    let d = no_damage();
    let boxes = [carton("S", [210, 210, 110], 100)];
    let p = pricing(&f, &d);
    let mut unknown = line("X", 1, [1, 1, 1], 1);
    unknown.attrs = None;
    assert_eq!(recommend(&[unknown], &boxes, &p), Err(NoFit::UnknownSize("X".into())));
    assert_eq!(recommend(&[line("BIG", 1, [600, 100, 100], 100)], &boxes, &p), Err(NoFit::FitsNoBox("BIG".into())));
    assert_eq!(recommend(&[line("A", 1, [10, 10, 10], 1)], &[], &p), Err(NoFit::NoBoxes));
    assert_eq!(recommend(&[line("A", 201, [10, 10, 10], 1)], &boxes, &p), Err(NoFit::TooManyUnits(201)));
    // Over the card's heaviest band: the channel cannot take it.
    let heavy = [carton("S", [210, 210, 110], 100)];
    assert!(matches!(recommend(&[line("LEAD", 1, [100, 100, 100], 19_900)], &heavy, &p), Err(NoFit::Unpriced(_))));
}

#[test]
fn a_box_or_an_item_that_could_hold_nothing_is_refused_by_field() {
    let mut b = carton("s m", [0, 10, 10], -1);
    b.max_load_g = 0;
    let e = b.validate().unwrap_err();
    let paths: Vec<&str> = e.0.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["code", "inner_mm[0]", "max_load_g", "cost"]);
    let a = PackingAttrs { dims_mm: [10, 0, 10], fragile: false, keep_upright: true, can_bag: true };
    let paths: Vec<String> = a.validate().unwrap_err().0.into_iter().map(|f| f.path).collect();
    assert_eq!(paths, ["dims_mm[1]", "can_bag"]);
    assert_eq!(BoxKind::parse("padded_envelope").unwrap(), BoxKind::PaddedEnvelope);
    assert!(BoxKind::parse("crate").is_err());
}

proptest! {
    /// Whatever it is given, a recommendation never panics, and a box it chooses holds every unit it was given
    /// with the geometry checked again from scratch.
    #[test]
    fn a_chosen_box_holds_every_unit(
        items in proptest::collection::vec(((10i64..400, 10i64..400, 10i64..400), 1i64..4, any::<bool>(), any::<bool>()), 1..6),
        sizes in proptest::collection::vec((50i64..700, 50i64..700, 50i64..700), 1..6),
    ) {
        let c = channel(5000, 200);
        let f = freight(&c);
        let d = no_damage();
        let boxes: Vec<BoxType> = sizes.iter().enumerate().map(|(i, (l, w, h))| carton(&format!("B{i}"), [*l, *w, *h], 100 + i as i64)).collect();
        let lines: Vec<PackLine> = items.iter().enumerate().map(|(i, ((l, w, h), q, fragile, upright))| {
            let mut x = line(&format!("S{i}"), *q, [*l, *w, *h], 100);
            let a = x.attrs.as_mut().unwrap();
            a.fragile = *fragile;
            a.keep_upright = *upright;
            x
        }).collect();
        if let Ok(r) = recommend(&lines, &boxes, &pricing(&f, &d)) {
            let units = units_of(&lines).unwrap();
            let placed: usize = r.boxes.iter().map(|b| b.skus.len()).sum();
            prop_assert_eq!(placed, units.len());
            for p in &r.boxes {
                let b = boxes.iter().find(|b| b.code == p.code).unwrap();
                let mut mine: Vec<&Unit> = Vec::new();
                let mut pool: Vec<&Unit> = units.iter().collect();
                for sku in &p.skus {
                    let i = pool.iter().position(|u| &u.sku == sku).unwrap();
                    mine.push(pool.swap_remove(i));
                }
                prop_assert!(fits(b, &mine).is_ok());
            }
        }
    }
}

fn count(kind: BoxKind, category: Option<&str>, parcels: i64, damaged: i64) -> DamageCount {
    DamageCount { kind, category: category.map(str::to_owned), parcels, damaged }
}

#[test]
fn damage_rates_with_nothing_measured_are_the_defaults() {
    let (learned, defaults) = (DamageRates::learned(&[]), DamageRates::defaults());
    for k in BoxKind::ALL {
        assert_eq!(learned.bp(k, Some("toys")), defaults.bp(k, None), "{k:?}");
    }
}

#[test]
fn a_measured_damage_rate_is_pulled_toward_its_default_by_two_hundred_parcels() {
    // Bags: 1.5 % by default; 800 parcels of which 80 came back damaged (10 %):
    // (80 × 10,000 + 200 × 150) / 1,000 = 830 bp.
    let r = DamageRates::learned(&[count(BoxKind::Bag, None, 800, 80)]);
    assert_eq!(r.bp(BoxKind::Bag, None), 830);
    // The other kinds keep their defaults.
    assert_eq!(r.bp(BoxKind::Carton, None), 50);
    // Two damaged among ten barely moves it: (20,000 + 30,000) / 210 = 238.
    assert_eq!(DamageRates::learned(&[count(BoxKind::Bag, None, 10, 2)]).bp(BoxKind::Bag, None), 238);
}

#[test]
fn a_category_rate_starts_from_its_kinds_measured_rate() {
    // Cartons measured at (0 + 200 × 50) / 1,200 = 8 bp; ceramics in cartons: 30 of 100 damaged,
    // (300,000 + 200 × 8) / 300 = 1,005 bp; a category with no count falls back to the kind.
    let r = DamageRates::learned(&[
        count(BoxKind::Carton, None, 1_000, 0),
        count(BoxKind::Carton, Some("ceramics"), 100, 30),
    ]);
    assert_eq!(r.bp(BoxKind::Carton, None), 8);
    assert_eq!(r.bp(BoxKind::Carton, Some("ceramics")), 1_005);
    assert_eq!(r.bp(BoxKind::Carton, Some("apparel")), 8);
}

#[test]
fn learned_damage_turns_the_recommendation_from_the_bag_to_the_carton() {
    let c = channel(5000, 200);
    let f = freight(&c);
    let mut mug = line("MUG", 1, [100, 100, 100], 300);
    mug.unit_value_minor = 20_000;
    mug.category = Some("ceramics".into());
    mug.attrs = Some(PackingAttrs { dims_mm: [100, 100, 100], fragile: false, keep_upright: false, can_bag: true });
    let mut bag = carton("BAG", [130, 130, 110], 50);
    bag.kind = BoxKind::Bag;
    // Both bill 500 g (15.00): the bag costs 0.50 and the carton 3.00.
    let boxes = [bag, carton("C", [110, 110, 110], 300)];
    let pick = |d: &DamageRates| {
        let r = recommend(std::slice::from_ref(&mug), &boxes, &pricing(&f, d)).unwrap();
        (r.boxes[0].code.clone(), r.boxes[0].expected_damage)
    };
    // By default the bag's 1.5 % of 200.00 (3.00) + 0.50 beats the carton's 0.5 % (1.00) + 3.00.
    assert_eq!(pick(&DamageRates::defaults()), ("BAG".to_owned(), sar(300)));
    // Ceramics measured 200 damaged in 1,000 bags: (2,000,000 + 200 × 150) / 1,200 = 1,692 bp, 33.84 to expect.
    let learned = DamageRates::learned(&[count(BoxKind::Bag, Some("ceramics"), 1_000, 200)]);
    assert_eq!(learned.bp(BoxKind::Bag, Some("ceramics")), 1_692);
    assert_eq!(pick(&learned), ("C".to_owned(), sar(100)));
}
