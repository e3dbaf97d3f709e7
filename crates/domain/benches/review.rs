//! Review throughput: facts and the decision for one order against 50 enabled rules of the kinds sellers
//! write (templates, list look-ups, macros over SKUs, arithmetic on amounts).

use std::collections::HashMap;

use codflow_domain::order::{AddressInput, BuyerInput, LineInput, MoneyInput};
use codflow_domain::review::expr::StrSet;
use codflow_domain::review::templates::{ParamValue, TEMPLATES};
use codflow_domain::review::{Counts, History, Lists, Rule, Ruleset, facts, keys};
use codflow_domain::{Currency, Decision, Money, Order, OrderInput, RuleId};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use time::macros::datetime;

struct BenchLists(HashMap<String, StrSet>);

impl Lists for BenchLists {
    fn exists(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }
    fn contains(&self, name: &str, value: &str) -> bool {
        self.0.get(name).is_some_and(|s| s.contains(value))
    }
}

fn lists() -> BenchLists {
    let mut m: HashMap<String, StrSet> = HashMap::new();
    for name in ["blacklisted_phones", "blacklisted_regions", "blacklisted_postcodes", "cod_unsupported_regions"] {
        m.insert(name.into(), (0..10_000).map(|i| format!("+96650{i:07}")).collect());
    }
    BenchLists(m)
}

fn order(n: usize) -> Order {
    let lines = (0..1 + n % 3)
        .map(|k| LineInput {
            sku: Some(format!("SKU-{:02}", (n + k * 7) % 30)),
            quantity: Some(1 + (k as i64 % 2)),
            unit_price: Some(MoneyInput { amount: "59.00".into(), currency: Some("SAR".into()) }),
        })
        .collect();
    OrderInput {
        store: Some("manual".into()),
        external_id: Some(n.to_string()),
        placed_at: Some("2026-11-20T10:00:00Z".into()),
        currency: Some("SAR".into()),
        payment_method: Some("cod".into()),
        buyer: BuyerInput {
            name: Some("Noura".into()),
            phone: Some(format!("+9665{:08}", n * 7919 % 100_000_000)),
            email: None,
        },
        shipping_address: AddressInput {
            name: Some("Noura".into()),
            line1: Some("King Fahd Rd 12".into()),
            city: Some("Riyadh".into()),
            region: Some(["Riyadh Province", "Makkah Province", "Eastern Province"][n % 3].into()),
            postal_code: Some("12211".into()),
            country: Some("SA".into()),
            ..Default::default()
        },
        lines,
        shipping_fee: Some(MoneyInput { amount: "10.00".into(), currency: Some("SAR".into()) }),
    }
    .validate(datetime!(2026-11-20 10:00 UTC))
    .unwrap()
    .into_order(datetime!(2026-11-20 10:00 UTC))
    .unwrap()
}

/// Every template (10) plus 40 hand-written rules.
fn rules(l: &BenchLists) -> Ruleset {
    let usd = Currency::parse("USD").unwrap();
    let mut rules = Vec::new();
    for t in TEMPLATES {
        let mut given = std::collections::BTreeMap::new();
        for p in t.params.iter().filter(|p| p.default.is_none()) {
            given.insert(p.name.to_string(), ParamValue::List(vec!["SKU-01".into(), "sa:jizan province".into()]));
        }
        let d = t.draft(&given, usd).unwrap();
        rules.push((d.condition, d.action));
    }
    let hand = [
        ("order.cod && risk.score > 0.6", Decision::BlockCod),
        ("order.total_base_minor > 50000 && buyer.orders == 0", Decision::Hold),
        ("order.skus.exists(s, s.startsWith('SKU-2') && dest.country == 'AE')", Decision::Hold),
        ("dest.city.lowerAscii() == 'jizan' && order.cod", Decision::Cancel),
        ("buyer.orders_24h > 3", Decision::Hold),
        ("order.item_count * 100 > order.total_minor", Decision::Flag),
        ("hist.sku_region_refusal_rate > 0.5 && hist.sku_region_samples >= 20", Decision::Hold),
        ("in_list('blacklisted_phones', buyer.phone) && order.cod", Decision::Cancel),
    ];
    for i in 0..40 {
        let (c, a) = hand[i % hand.len()];
        rules.push((format!("{c} && order.line_count < {}", 100 + i), a));
    }
    let rules: Vec<Rule> = rules
        .into_iter()
        .enumerate()
        .map(|(i, (condition, action))| Rule {
            id: RuleId::generate(),
            name: format!("rule {i}"),
            priority: i as i32,
            enabled: true,
            condition,
            action,
            reason: "bench".into(),
            notify: None,
        })
        .collect();
    let set = Ruleset::new(1, rules, l);
    assert_eq!(set.len(), 50);
    set
}

fn history(o: &Order) -> History {
    let rk = keys::region_key(o);
    let counts = [
        (keys::ALL.to_owned(), Counts { delivered: 9_000, refused: 1_500 }),
        (keys::region(&rk), Counts { delivered: 300, refused: 90 }),
        (keys::phone(o.buyer.phone.as_str()), Counts { delivered: 2, refused: 1 }),
    ];
    History { buyer_orders: 3, recent: vec![], counts: counts.into_iter().collect() }
}

fn bench(c: &mut Criterion) {
    let l = lists();
    let set = rules(&l);
    let orders: Vec<Order> = (0..256).map(order).collect();
    let prepared: Vec<(Order, History, Money)> = orders
        .into_iter()
        .map(|o| {
            let h = history(&o);
            let base = Money::new(o.total.minor * 2666 / 10_000, Currency::parse("USD").unwrap());
            (o, h, base)
        })
        .collect();
    let facts_of: Vec<_> = prepared.iter().map(|(o, h, b)| facts(o, Ok(*b), "USD", h).0).collect();

    let mut g = c.benchmark_group("review");
    g.throughput(Throughput::Elements(prepared.len() as u64));
    g.bench_function("decide 50 rules (facts ready)", |b| {
        b.iter(|| facts_of.iter().map(|f| set.decide(f, &l).decision as u8 as u64).sum::<u64>())
    });
    g.bench_function("facts + risk + decide 50 rules", |b| {
        b.iter(|| {
            prepared
                .iter()
                .map(|(o, h, base)| set.decide(&facts(o, Ok(*base), "USD", h).0, &l).decision as u8 as u64)
                .sum::<u64>()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
