use proptest::prelude::*;
use time::macros::datetime;

use super::*;

fn usd(minor: i64) -> Money {
    Money::new(minor, Currency::parse("USD").unwrap())
}

fn shipped() -> Vec<ShippedLine> {
    vec![
        ShippedLine {
            product: ProductId::generate(),
            sku: Sku::parse("LAMP-01").unwrap(),
            quantity: 3,
            unit_cost: usd(1_250),
        },
        ShippedLine {
            product: ProductId::generate(),
            sku: Sku::parse("CUP-02").unwrap(),
            quantity: 1,
            unit_cost: usd(400),
        },
    ]
}

fn line(sku: &str, grade: &str, quantity: i64, disposition: Option<&str>) -> GradeInput {
    GradeInput { sku: sku.into(), grade: grade.into(), quantity, disposition: disposition.map(Into::into), bin: None }
}

fn catalogue() -> HashMap<Sku, (ProductId, Money)> {
    HashMap::from([(Sku::parse("MUG-9").unwrap(), (ProductId::generate(), usd(300)))])
}

fn messages(e: FieldErrors) -> Vec<(String, String)> {
    e.0.into_iter().map(|e| (e.path, e.message)).collect()
}

#[test]
fn a_parcel_graded_in_full_gets_default_dispositions_and_loses_the_cost_of_what_is_missing_or_written_off() {
    let lines = grade(
        &shipped(),
        &catalogue(),
        &[
            line("LAMP-01", "sellable", 1, None),
            line("LAMP-01", "damaged", 1, Some("write_off")),
            line("LAMP-01", "missing", 1, None),
            line("CUP-02", "damaged", 1, None),
            line("MUG-9", "wrong", 2, None),
        ],
    )
    .unwrap();
    let d: Vec<Option<Disposition>> = lines.iter().map(|l| l.disposition).collect();
    assert_eq!(
        d,
        [
            Some(Disposition::Restock),
            Some(Disposition::WriteOff),
            None,
            Some(Disposition::Quarantine),
            Some(Disposition::Quarantine)
        ]
    );
    // One lamp written off and one missing, at 12.50 each; the quarantined cup and mugs are not lost yet.
    assert_eq!(loss(&lines).unwrap(), vec![usd(2_500)]);
    let by = units_by_disposition(&lines);
    assert_eq!(by[&Some(Disposition::Restock)], 1);
    assert_eq!(by[&Some(Disposition::Quarantine)], 3);
    assert_eq!(by[&None], 1);
}

#[test]
fn grading_more_units_than_were_shipped_is_refused_naming_the_sku() {
    let e =
        grade(&shipped(), &catalogue(), &[line("LAMP-01", "sellable", 4, None), line("CUP-02", "sellable", 1, None)])
            .unwrap_err();
    assert_eq!(messages(e), vec![("lines".into(), "4 units of LAMP-01 graded but 3 were shipped".into())]);
}

#[test]
fn units_left_ungraded_are_refused_so_every_shipped_unit_is_accounted_for() {
    let e = grade(&shipped(), &catalogue(), &[line("LAMP-01", "sellable", 3, None)]).unwrap_err();
    assert_eq!(
        messages(e),
        vec![("lines".into(), "1 of CUP-02 shipped but 0 graded: count the rest as missing".into())]
    );
}

#[test]
fn each_bad_field_is_named_by_its_line() {
    let mut bad_bin = line("LAMP-01", "damaged", 1, Some("quarantine"));
    bad_bin.bin = Some("A-01".into());
    let e = grade(
        &shipped(),
        &catalogue(),
        &[
            line("LAMP-01", "shiny", 1, None),
            line("LAMP 01", "sellable", 1, None),
            line("CUP-02", "sellable", 0, None),
            line("LAMP-01", "damaged", 1, Some("restock")),
            line("LAMP-01", "missing", 1, Some("write_off")),
            line("LAMP-01", "wrong", 1, None),
            line("NOPE-1", "wrong", 1, None),
            line("MUG-9", "sellable", 1, None),
            line("CUP-02", "sellable", 1, Some("burn")),
            bad_bin,
        ],
    )
    .unwrap_err();
    let paths: Vec<String> = messages(e).into_iter().map(|(p, _)| p).collect();
    assert_eq!(
        paths,
        [
            "lines[0].grade",
            "lines[1].sku",
            "lines[2].quantity",
            "lines[3].disposition",
            "lines[4].disposition",
            "lines[5].grade",
            "lines[6].sku",
            "lines[7].sku",
            "lines[8].disposition",
            "lines[9].bin",
        ]
    );
}

#[test]
fn no_lines_and_too_many_lines_are_refused() {
    assert!(grade(&shipped(), &catalogue(), &[]).is_err());
    let many = vec![line("LAMP-01", "sellable", 1, None); MAX_LINES + 1];
    let e = grade(&shipped(), &catalogue(), &many).unwrap_err();
    assert_eq!(e.0.len(), 1);
}

#[test]
fn a_return_is_expected_after_the_lanes_median_once_it_has_history_and_after_the_default_before() {
    let t = datetime!(2026-12-01 00:00 UTC);
    assert_eq!(expected_back(t, &mut [9, 10, 11]), t + Duration::days(DEFAULT_RETURN_DAYS));
    assert_eq!(expected_back(t, &mut [30, 9, 12, 10, 14]), t + Duration::days(12));
    assert_eq!(expected_back(t, &mut [0, 0, 1, 1, 1]), t + Duration::days(3));
    assert_eq!(expected_back(t, &mut [900; 6]), t + Duration::days(120));
}

#[test]
fn the_status_machine_moves_only_forward_except_a_lost_return_that_arrives_after_all() {
    use ReturnStatus::*;
    assert!(Expected.can_move_to(Received));
    assert!(Expected.can_move_to(Lost));
    assert!(Lost.can_move_to(Received));
    assert!(Received.can_move_to(Closed));
    assert!(!Closed.can_move_to(Received));
    assert!(!Received.can_move_to(Expected));
    assert!(!Expected.can_move_to(Closed));
    for s in ReturnStatus::ALL {
        assert_eq!(ReturnStatus::parse(s.as_str()).unwrap(), *s);
    }
}

#[test]
fn a_refused_parcel_is_held_abroad_when_the_country_buys_it_reimported_when_freight_is_cheap_else_liquidated() {
    let base = RouteFacts {
        goods_cost: 10_000,
        return_freight: 3_000,
        duties_again: 1_500,
        units: 2,
        local_demand: 5,
        liquidation_bp: DEFAULT_LIQUIDATION_BP,
        holding_cost: 0,
    };
    let a = advise(&base);
    assert_eq!(a.route, Route::HoldAbroad);
    assert_eq!(a.values, vec![(Route::HoldAbroad, 11_500), (Route::Reimport, 7_000), (Route::Liquidate, 3_000)]);
    // No one buys it there: holding is worth only the liquidator's price, and re-importing is better.
    let quiet = advise(&RouteFacts { local_demand: 0, ..base });
    assert_eq!(quiet.route, Route::Reimport);
    assert_eq!(quiet.values[0], (Route::HoldAbroad, 3_000));
    // One of two units sells: 5,750 kept on it, the other liquidated at 1,500.
    assert_eq!(advise(&RouteFacts { local_demand: 1, ..base }).values[0], (Route::HoldAbroad, 7_250));
    // Freight back dearer than the goods, no demand: liquidate.
    let far = advise(&RouteFacts { local_demand: 0, return_freight: 9_000, ..base });
    assert_eq!(far.route, Route::Liquidate);
    // Storage abroad at 2,500 a unit-month: both units held (11,500 − 5,000 = 6,500) is now below re-importing.
    let dear = advise(&RouteFacts { holding_cost: 2_500, ..base });
    assert_eq!((dear.route, dear.values[0]), (Route::Reimport, (Route::HoldAbroad, 6_500)));
    // A liquidator paying half: liquidating two units of 10,000 cost brings 5,000.
    assert_eq!(advise(&RouteFacts { liquidation_bp: 5_000, ..base }).values[2], (Route::Liquidate, 5_000));
}

#[test]
fn route_settings_refuse_a_share_above_the_whole_and_a_negative_holding_cost() {
    assert!(RouteSettings::default().check().is_ok());
    let bad = RouteSettings { liquidation_bp: 10_001, holding_cost_minor: -1, holding_currency: None };
    let paths: Vec<String> = bad.check().unwrap_err().0.into_iter().map(|e| e.path).collect();
    assert_eq!(paths, ["liquidation_bp", "holding_cost"]);
}

proptest! {
    /// Whatever is written, an accepted grading accounts for exactly the units shipped of every SKU.
    #[test]
    fn an_accepted_grading_accounts_for_every_shipped_unit_exactly(
        raw in proptest::collection::vec((0usize..3, 0usize..5, -1i64..5, 0usize..5), 0..8)
    ) {
        let skus = ["LAMP-01", "CUP-02", "MUG-9"];
        let grades = ["sellable", "damaged", "missing", "wrong", "bad"];
        let disp = [None, Some("restock"), Some("quarantine"), Some("refurbish"), Some("write_off")];
        let input: Vec<GradeInput> =
            raw.iter().map(|&(s, g, q, d)| line(skus[s], grades[g], q, disp[d])).collect();
        let ship = shipped();
        if let Ok(lines) = grade(&ship, &catalogue(), &input) {
            for s in &ship {
                let n: i64 = lines.iter().filter(|l| l.sku == s.sku && l.grade != Grade::Wrong).map(|l| l.quantity).sum();
                prop_assert_eq!(n, s.quantity);
            }
            prop_assert!(lines.iter().all(|l| !(l.grade == Grade::Damaged && l.disposition == Some(Disposition::Restock))));
        }
    }
}
