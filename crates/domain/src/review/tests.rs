use std::collections::{BTreeMap, HashMap, HashSet};

use proptest::prelude::*;
use time::macros::datetime;

use super::templates::{self, ParamValue};
use super::*;
use crate::order::{LineInput, MoneyInput, OrderInput};
use crate::{Currency, Decision};

#[derive(Default)]
struct TestLists(HashMap<String, HashSet<String>>);

impl Lists for TestLists {
    fn exists(&self, name: &str) -> bool {
        self.0.contains_key(name) || crate::review::BUILTIN_LISTS.iter().any(|l| l.0 == name)
    }
    fn contains(&self, name: &str, value: &str) -> bool {
        self.0.get(name).is_some_and(|s| s.contains(&value.to_lowercase()))
    }
}

fn lists(entries: &[(&str, &str)]) -> TestLists {
    let mut l = TestLists::default();
    for (n, v) in entries {
        l.0.entry((*n).into()).or_default().insert(v.to_lowercase());
    }
    l
}

/// The fixture order, to a Riyadh address with region and postcode, changed by `f`.
fn order_with(f: impl FnOnce(&mut OrderInput)) -> Order {
    let mut i = crate::order::fixtures::input();
    i.shipping_address.region = Some("Riyadh Province".into());
    i.shipping_address.postal_code = Some("12211".into());
    f(&mut i);
    i.validate(datetime!(2026-11-20 10:00 UTC)).unwrap().into_order(datetime!(2026-11-20 10:00 UTC)).unwrap()
}

fn usd() -> Currency {
    Currency::parse("USD").unwrap()
}

/// SAR → USD at 0.2666, as a base total.
fn base_of(o: &Order) -> Result<Money, String> {
    Ok(Money::new(o.total.minor * 2666 / 10_000, usd()))
}

fn facts_of(o: &Order, h: &History) -> Facts {
    super::facts(o, base_of(o), "USD", h).0
}

fn rule(cond: &str, action: Decision) -> Rule {
    Rule {
        id: RuleId::generate(),
        name: cond.chars().take(40).collect(),
        priority: 100,
        enabled: true,
        condition: cond.into(),
        action,
        reason: format!("because {cond}"),
        notify: None,
    }
}

fn template_rule(key: &str, params: &[(&str, ParamValue)]) -> Rule {
    let t = templates::find(key).unwrap();
    let given: BTreeMap<String, ParamValue> = params.iter().map(|(k, v)| ((*k).into(), v.clone())).collect();
    let d = t.draft(&given, usd()).unwrap();
    Rule {
        id: RuleId::generate(),
        name: t.title.into(),
        priority: 100,
        enabled: true,
        condition: d.condition,
        action: d.action,
        reason: d.reason,
        notify: d.notify,
    }
}

fn decide(rules: Vec<Rule>, o: &Order, h: &History, l: &TestLists) -> Verdict {
    Ruleset::new(1, rules, l).decide(&facts_of(o, h), l)
}

fn history(entries: &[(String, Counts)]) -> History {
    History { counts: entries.iter().cloned().collect(), ..History::default() }
}

/// Each template: one order it must catch and one it must let through.
#[test]
fn every_template_catches_its_case_and_passes_the_ordinary_order() {
    let plain = order_with(|_| {});
    let jizan = order_with(|i| {
        i.shipping_address.region = Some("Jizan".into());
        i.shipping_address.postal_code = Some("45142".into());
    });
    let l = lists(&[
        ("cod_unsupported_regions", "sa:jizan"),
        ("blacklisted_regions", "sa:jizan"),
        ("blacklisted_postcodes", "sa:99999"),
        ("blacklisted_phones", "+966509999999"),
    ]);
    let none = History::default();
    let cases: Vec<(Rule, Order, History, Decision)> = vec![
        (template_rule("cod_unsupported_region", &[]), jizan.clone(), History::default(), Decision::Cancel),
        (template_rule("blacklisted_destination", &[]), jizan.clone(), History::default(), Decision::Cancel),
        (
            template_rule("blacklisted_destination", &[]),
            order_with(|i| i.shipping_address.postal_code = Some("99 999".into())),
            History::default(),
            Decision::Cancel,
        ),
        (
            template_rule(
                "region_refusal_rate",
                &[("max_rate", ParamValue::Number(0.3)), ("min_samples", ParamValue::Int(20))],
            ),
            plain.clone(),
            history(&[(keys::region("sa:riyadh province"), Counts { delivered: 12, refused: 10 })]),
            Decision::Hold,
        ),
        (
            template_rule("high_value", &[("limit", ParamValue::Text("30.00".into()))]),
            plain.clone(),
            History::default(),
            Decision::Hold,
        ),
        (
            template_rule("large_quantity", &[("max_items", ParamValue::Int(10)), ("max_per_sku", ParamValue::Int(1))]),
            plain.clone(),
            History::default(),
            Decision::Hold,
        ),
        (
            template_rule("refusing_phone", &[("min_refusals", ParamValue::Int(2))]),
            plain.clone(),
            history(&[(keys::phone("+966501234567"), Counts { delivered: 0, refused: 2 })]),
            Decision::Cancel,
        ),
        (
            template_rule("blacklisted_phone", &[]),
            order_with(|i| i.buyer.phone = Some("0509999999".into())),
            History::default(),
            Decision::Cancel,
        ),
        (
            template_rule("duplicate_24h", &[]),
            plain.clone(),
            History {
                recent: vec![RecentOrder {
                    placed_at: datetime!(2026-11-20 01:00 UTC),
                    skus: vec![Sku::parse("LAMP-01").unwrap()],
                }],
                ..History::default()
            },
            Decision::Hold,
        ),
        (
            template_rule(
                "sku_region_block",
                &[
                    ("skus", ParamValue::List(vec!["LAMP-01".into()])),
                    ("regions", ParamValue::List(vec!["SA:Riyadh Province".into()])),
                    ("cod_only", ParamValue::Bool(true)),
                ],
            ),
            plain.clone(),
            History::default(),
            Decision::Cancel,
        ),
        (
            template_rule("invalid_mobile", &[]),
            order_with(|i| i.buyer.phone = Some("+966112345678".into())),
            History::default(),
            Decision::Hold,
        ),
    ];
    for (rule, caught, h, expected) in cases {
        let name = rule.name.clone();
        let v = decide(vec![rule.clone()], &caught, &h, &l);
        assert_eq!(v.decision, expected, "{name} on its case: {v:?}");
        assert_eq!(v.matches.len(), 1, "{name}");
        assert!(v.matches[0].error.is_none(), "{name}: {:?}", v.matches[0].error);
        let ordinary = decide(vec![rule], &plain_for(&name, &plain), &none, &l);
        assert_eq!(ordinary.decision, Decision::Approve, "{name} on an ordinary order: {ordinary:?}");
    }
}

/// The ordinary order each template must pass: for the value and quantity templates a small order.
fn plain_for(name: &str, plain: &Order) -> Order {
    if name.contains("value") || name.contains("items") || name.contains("SKU prohibited") {
        order_with(|i| {
            i.lines[0].quantity = Some(1);
            i.lines[0].unit_price = Some(MoneyInput { amount: "5.00".into(), currency: Some("SAR".into()) });
            i.lines[0].sku = Some("MUG-02".into());
        })
    } else {
        plain.clone()
    }
}

#[test]
fn a_duplicate_outside_the_day_or_with_other_skus_is_not_a_duplicate() {
    let o = order_with(|_| {});
    let h = History {
        recent: vec![
            RecentOrder { placed_at: datetime!(2026-11-19 09:00 UTC), skus: vec![Sku::parse("LAMP-01").unwrap()] },
            RecentOrder { placed_at: datetime!(2026-11-20 09:00 UTC), skus: vec![Sku::parse("MUG-02").unwrap()] },
        ],
        ..History::default()
    };
    let f = facts_of(&o, &h);
    assert_eq!(f.buyer_duplicates_24h, 0);
    assert_eq!(f.buyer_orders_24h, 1);
}

#[test]
fn the_strongest_action_wins_and_every_match_is_kept() {
    let o = order_with(|_| {});
    let l = TestLists::default();
    let rules = vec![
        rule("order.cod", Decision::Flag),
        rule("order.total_minor > 100", Decision::Hold),
        rule("dest.country == 'SA'", Decision::BlockCod),
        rule("order.item_count == 2", Decision::Cancel),
        rule("order.currency == 'USD'", Decision::Cancel),
    ];
    let v = decide(rules, &o, &History::default(), &l);
    assert_eq!(v.decision, Decision::Cancel);
    assert_eq!(v.matches.len(), 4);
    for (a, b) in [
        (Decision::Cancel, Decision::Hold),
        (Decision::Hold, Decision::BlockCod),
        (Decision::BlockCod, Decision::Flag),
        (Decision::Flag, Decision::Approve),
    ] {
        assert!(a > b, "{a:?} must beat {b:?}");
    }
}

#[test]
fn a_rule_that_fails_at_evaluation_holds_the_order_with_the_reason() {
    let o = order_with(|_| {});
    let l = TestLists::default();
    let v = decide(
        vec![rule("order.total_minor / (order.item_count - 2) > 1", Decision::Approve)],
        &o,
        &History::default(),
        &l,
    );
    assert_eq!(v.decision, Decision::Hold);
    assert!(v.matches[0].error.as_deref().unwrap().contains("division by zero"));
    // No exchange rate: the rule that needs the base total cannot pass the order silently.
    let rs = Ruleset::new(1, vec![rule("order.total_base_minor < 100000", Decision::Approve)], &l);
    let (f, _) = super::facts(&o, Err("no rate from SAR to USD".into()), "USD", &History::default());
    let v = rs.decide(&f, &l);
    assert_eq!(v.decision, Decision::Hold);
    assert!(v.matches[0].reason.contains("no rate from SAR to USD"), "{v:?}");
}

#[test]
fn a_prepaid_order_is_not_held_by_block_cod() {
    let o = order_with(|i| i.payment_method = Some("prepaid".into()));
    let l = TestLists::default();
    let v = decide(vec![rule("true", Decision::BlockCod)], &o, &History::default(), &l);
    let review = v.into_review(1, risk::score(Counts::default(), &[]), o.payment_method);
    assert_eq!(review.decision, Decision::Approve);
    assert!(!review.prepayment_required);
}

#[test]
fn bad_conditions_are_refused_with_their_position() {
    let l = lists(&[("blacklisted_phones", "+1")]);
    let err = |src: &str| Condition::compile(src, &l).unwrap_err();
    let e = err("order.total_minor >");
    assert_eq!((e.line, e.column), (1, 20), "{e}");
    let e = err("order.totl_minor > 5");
    assert!(e.message.contains("unknown field 'order.totl_minor'"), "{e}");
    assert_eq!(e.column, 1);
    let e = err("in_list(\"no_such_list\", buyer.phone)");
    assert!(e.message.contains("unknown list"), "{e}");
    assert_eq!(e.column, 9);
    let e = err("order.total_minor == 'x'");
    assert!(e.message.contains("cannot apply to int and string"), "{e}");
    let e = err("order.total_minor");
    assert!(e.message.contains("must be bool"), "{e}");
    let e = err("order.cod &&\n  frobnicate(1)");
    assert_eq!((e.line, e.column), (2, 3), "{e}");
    assert!(err("'unterminated").message.contains("not closed"));
    assert!(err("order.cod )").message.contains("unexpected"));
}

#[test]
fn the_language_covers_what_sellers_write() {
    let o = order_with(|i| {
        i.lines.push(LineInput {
            sku: Some("MUG-02".into()),
            quantity: Some(3),
            unit_price: Some(MoneyInput { amount: "1.00".into(), currency: Some("SAR".into()) }),
        })
    });
    let l = lists(&[("blacklisted_phones", "+966501234567")]);
    let f = facts_of(&o, &History::default());
    let yes = [
        "order.skus.exists(s, s.startsWith('MUG'))",
        "order.skus.all(s, s in ['LAMP-01', 'MUG-02'])",
        "size(order.skus) == 2 && order.skus[1] == 'MUG-02'",
        "order.item_count in [5, 6]",
        "dest.region_key == 'sa:riyadh province'",
        "in_list('blacklisted_phones', buyer.phone)",
        "order.total_minor % 2 == 0 ? true : false",
        "double(order.total_minor) / 100.0 > 1.5",
        "risk.score >= 0.0 && risk.score <= 1.0",
        "dest.city.lowerAscii().contains('riy')",
        "!(order.cod == false)",
        "buyer.phone.startsWith('+966') || 1 / 0 == 1",
        "order.total_base_minor > 0 && order.base_currency == 'USD'",
        "string(order.item_count) + 'x' == '5x'",
        "-order.total_minor < 0 && int(2.9) == 2",
    ];
    for src in yes {
        let c = Condition::compile(src, &l).unwrap_or_else(|e| panic!("{src}: {e}"));
        assert_eq!(c.eval(&f, &l), Ok(true), "{src}");
    }
    for src in ["order.skus.exists(s, s == 'NOPE')", "'MUG-02' in order.skus && order.item_count > 5"] {
        assert_eq!(Condition::compile(src, &l).unwrap().eval(&f, &l), Ok(false), "{src}");
    }
}

#[test]
fn evaluation_stops_at_its_step_budget() {
    // Five hundred lines and a nested macro: the budget stops it and the rule holds the order.
    let o = order_with(|i| {
        i.lines = (0..500)
            .map(|n| LineInput {
                sku: Some(format!("SKU-{n}")),
                quantity: Some(1),
                unit_price: Some(MoneyInput { amount: "1.00".into(), currency: Some("SAR".into()) }),
            })
            .collect();
    });
    let l = TestLists::default();
    let c = Condition::compile("order.skus.all(a, order.skus.all(b, b + a != 'x'))", &l);
    let err = match c {
        Ok(c) => c.eval(&facts_of(&o, &History::default()), &l).unwrap_err().0,
        Err(e) => e.message,
    };
    assert!(err.contains("budget") || err.contains("too expensive"), "{err}");
}

#[test]
fn unknown_template_parameters_and_bad_values_are_reported_by_name() {
    let t = templates::find("region_refusal_rate").unwrap();
    let given: BTreeMap<String, ParamValue> =
        [("max_rate".to_string(), ParamValue::Number(1.5)), ("color".to_string(), ParamValue::Int(1))].into();
    let e = t.draft(&given, usd()).unwrap_err();
    let paths: Vec<&str> = e.0.iter().map(|e| e.path.as_str()).collect();
    assert!(paths.contains(&"params.max_rate") && paths.contains(&"params.color"), "{paths:?}");
    let e = templates::find("sku_region_block").unwrap().draft(&BTreeMap::new(), usd()).unwrap_err();
    assert!(e.0.iter().any(|e| e.path == "params.skus"));
}

#[test]
fn every_template_writes_a_condition_that_compiles() {
    let l = TestLists::default();
    for t in templates::TEMPLATES {
        let mut given = BTreeMap::new();
        for p in t.params.iter().filter(|p| p.default.is_none()) {
            given.insert(p.name.to_string(), ParamValue::List(vec!["x".into()]));
        }
        let d = t.draft(&given, usd()).unwrap_or_else(|e| panic!("{}: {e:?}", t.key));
        Condition::compile(&d.condition, &l).unwrap_or_else(|e| panic!("{}: {e}", t.key));
    }
}

fn any_decision() -> impl Strategy<Value = Decision> {
    prop::sample::select(Decision::ALL.to_vec())
}

fn any_condition() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "true",
        "false",
        "order.cod",
        "order.total_minor > 10000",
        "order.item_count >= 2",
        "dest.country == 'SA'",
        "buyer.refusals > 0",
        "risk.score > 0.2",
        "order.total_minor / 0 > 1",
        "order.skus.exists(s, s == 'LAMP-01')",
        "in_list('blacklisted_phones', buyer.phone)",
    ])
    .prop_map(str::to_owned)
}

proptest! {
    #[test]
    fn adding_a_rule_never_weakens_a_decision(
        rules in prop::collection::vec((any_condition(), any_decision()), 0..8),
        extra in (any_condition(), any_decision()),
        qty in 1i64..6,
        cod in any::<bool>(),
    ) {
        let o = order_with(|i| {
            i.lines[0].quantity = Some(qty);
            i.payment_method = Some(if cod { "cod" } else { "prepaid" }.into());
        });
        let l = lists(&[("blacklisted_phones", "+966501234567")]);
        let h = History::default();
        let base: Vec<Rule> = rules.iter().map(|(c, a)| rule(c, *a)).collect();
        let before = decide(base.clone(), &o, &h, &l).decision;
        let mut more = base;
        more.push(rule(&extra.0, extra.1));
        let after = decide(more, &o, &h, &l).decision;
        prop_assert!(after >= before, "{before:?} became {after:?}");
    }

    #[test]
    fn compiling_arbitrary_text_never_panics(src in ".{0,80}") {
        let _ = Condition::compile(&src, &TestLists::default());
    }

    #[test]
    fn compiling_token_soup_never_panics(parts in prop::collection::vec(prop::sample::select(vec![
        "order.cod", "&&", "||", "(", ")", "[", "]", "!", "-", "1", "2.5", "'x'", "in", "?", ":", ",", ".",
        "size", "exists", "order.skus", "s", "==", "<", "+", "/", "%", "in_list", "true",
    ]), 0..20)) {
        let src = parts.join(" ");
        if let Ok(c) = Condition::compile(&src, &TestLists::default()) {
            let _ = c.eval(&facts_of(&order_with(|_| {}), &History::default()), &TestLists::default());
        }
    }
}

#[test]
fn region_and_postcode_entries_take_either_case_and_store_one_form() {
    for raw in ["sa:jizan", "SA:Jizan", " Sa : Jizan "] {
        assert_eq!(ListKind::Region.normalise(raw).unwrap(), "sa:jizan", "{raw:?}");
    }
    assert_eq!(ListKind::Region.normalise("ae").unwrap(), "ae");
    assert_eq!(ListKind::Postcode.normalise("sa:12 211").unwrap(), "sa:12211");
    assert!(ListKind::Region.normalise("xx:somewhere").is_err());
}

#[test]
fn the_conditions_the_rule_builder_writes_compile() {
    use super::builder::Conditions;
    let c = Conditions::parse("SA AE", "150", "SAR", "LAMP-1", "0.7", "2").unwrap();
    let cel = c.to_cel(Currency::parse("SAR").unwrap()).unwrap();
    Condition::compile(&cel, &lists(&[])).unwrap_or_else(|e| panic!("{cel}: {e:?}"));
    let other =
        Conditions::parse("", "20", "KWD", "", "", "").unwrap().to_cel(Currency::parse("SAR").unwrap()).unwrap();
    Condition::compile(&other, &lists(&[])).unwrap_or_else(|e| panic!("{other}: {e:?}"));
}
