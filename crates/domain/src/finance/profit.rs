//! Profit per order in the base currency: what the order was expected to earn when it was allocated, and
//! what it earned once its outcome and money are known. Amounts are the base currency's minor units; the
//! application converts each fact at its own date before it comes here.

use std::collections::BTreeMap;

use serde::Serialize;

/// Where the parcel stands, as far as its money is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Not shipped yet, or on its way.
    Open,
    /// Delivered; the carrier has not remitted the COD yet.
    Delivered,
    /// Delivered and its cash remitted (or prepaid and delivered).
    Settled,
    /// Refused or returned to the seller: the goods came back, freight and duties did not.
    Returned,
    /// Lost by the carrier: neither goods nor cash came back.
    Lost,
}

impl Stage {
    pub fn as_str(&self) -> &'static str {
        match self {
            Stage::Open => "open",
            Stage::Delivered => "delivered",
            Stage::Settled => "settled",
            Stage::Returned => "returned",
            Stage::Lost => "lost",
        }
    }
}

/// What the allocation's quote said a parcel would cost.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Quoted {
    /// Freight and surcharges without the COD fee.
    pub freight: i64,
    pub cod_fee: i64,
    /// Duties and taxes paid on the buyer's behalf (DDP); zero otherwise.
    pub duties_taxes: i64,
    /// What bringing a refused parcel back costs.
    pub return_freight: i64,
    pub p_delivered_ppm: u64,
}

/// One order's facts, each in the base currency.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Facts {
    pub stage: Option<Stage>,
    /// The order's total as placed.
    pub revenue: i64,
    pub goods_cost: i64,
    pub first_leg: i64,
    /// None for orders allocated before quotes were kept, or never allocated.
    pub quoted: Option<Quoted>,
    /// The cash the carrier says it collected (remittance lines' gross amounts).
    pub collected: Option<i64>,
    /// The carrier's COD fee and other deductions (return fees) on the remittance.
    pub cod_fee_charged: Option<i64>,
    pub other_charged: i64,
    /// Freight the carrier deducted from the cash.
    pub freight_deducted: i64,
    /// Freight billed on invoices for this parcel (its return leg included).
    pub freight_invoiced: Option<i64>,
    /// This order's share of the FX gain (positive) or loss on its payouts.
    pub fx: i64,
    /// Goods its return lost or wrote off, at cost (the rest came back to stock).
    pub goods_written_off: i64,
    /// What carriers agreed to pay on its claims: counted as the order's revenue.
    pub recovered: i64,
}

/// A profit and the parts it is made of.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Components {
    pub revenue: i64,
    pub product_cost: i64,
    pub first_leg: i64,
    pub last_mile: i64,
    pub duties_taxes: i64,
    pub cod_fee: i64,
    pub return_cost: i64,
    pub fx: i64,
    pub profit: i64,
}

impl Components {
    fn new(revenue: i64, costs: [i64; 6], fx: i64) -> Components {
        let [product_cost, first_leg, last_mile, duties_taxes, cod_fee, return_cost] = costs;
        Components {
            revenue,
            product_cost,
            first_leg,
            last_mile,
            duties_taxes,
            cod_fee,
            return_cost,
            fx,
            profit: revenue - costs.iter().sum::<i64>() + fx,
        }
    }

    fn parts(&self) -> [i64; 8] {
        [
            self.revenue,
            self.product_cost,
            self.first_leg,
            self.last_mile,
            self.duties_taxes,
            self.cod_fee,
            self.return_cost,
            self.fx,
        ]
    }

    fn from_parts(p: [i64; 8]) -> Components {
        Components::new(p[0], [p[1], p[2], p[3], p[4], p[5], p[6]], p[7])
    }

    fn add(&mut self, o: &Components) {
        let (a, b) = (self.parts(), o.parts());
        *self = Components::from_parts(std::array::from_fn(|i| a[i] + b[i]));
    }

    /// Splits into shares proportional to `weights`, each part rounded so the shares add up exactly.
    pub fn split(&self, weights: &[i64]) -> Vec<Components> {
        let parts = self.parts();
        let columns: Vec<Vec<i64>> = parts.iter().map(|&v| allocate(v, weights)).collect();
        (0..weights.len()).map(|i| Components::from_parts(std::array::from_fn(|k| columns[k][i]))).collect()
    }
}

/// Splits `total` in proportion to `weights` by largest remainder: the shares always add up to `total`.
/// With no positive weight everything goes to the first share (or nowhere when there is none).
pub fn allocate(total: i64, weights: &[i64]) -> Vec<i64> {
    let mut out = vec![0i64; weights.len()];
    let sum: i128 = weights.iter().map(|&w| w.max(0) as i128).sum();
    if out.is_empty() {
        return out;
    }
    if sum == 0 {
        out[0] = total;
        return out;
    }
    let mut rest = total as i128;
    let mut remainders: Vec<(i128, usize)> = Vec::with_capacity(weights.len());
    for (i, &w) in weights.iter().enumerate() {
        let exact = total as i128 * w.max(0) as i128;
        let share = exact.div_euclid(sum);
        out[i] = share as i64;
        rest -= share;
        remainders.push((exact.rem_euclid(sum), i));
    }
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for &(_, i) in remainders.iter().take(rest as usize) {
        out[i] += 1;
    }
    out
}

fn weighted(v: i64, ppm: u64) -> i64 {
    (v as i128 * ppm as i128 / 1_000_000) as i64
}

/// What the order was worth on allocation: the sale and its COD fee only if delivered (with the lane's
/// P(delivered)), the return freight if not; freight, duties and the first leg are paid either way.
pub fn expected(f: &Facts) -> Option<Components> {
    let q = f.quoted?;
    let p = q.p_delivered_ppm.min(1_000_000);
    let refused = 1_000_000 - p;
    Some(Components::new(
        weighted(f.revenue, p),
        [
            weighted(f.goods_cost, p),
            f.first_leg,
            q.freight,
            q.duties_taxes,
            weighted(q.cod_fee, p),
            weighted(q.return_freight, refused),
        ],
        0,
    ))
}

/// What the order earned, once its outcome is final and its cash (if any) arrived; None before. Charges
/// billed replace the quote's where known: the invoice for freight, the remittance for the COD fee.
pub fn actual(f: &Facts) -> Option<Components> {
    let q = f.quoted.unwrap_or_default();
    let freight = f.freight_invoiced.unwrap_or(if f.freight_deducted != 0 { f.freight_deducted } else { q.freight });
    match f.stage? {
        Stage::Open | Stage::Delivered => None,
        Stage::Settled => Some(Components::new(
            f.collected.unwrap_or(f.revenue) + f.recovered,
            [f.goods_cost, f.first_leg, freight, q.duties_taxes, f.cod_fee_charged.unwrap_or(0), f.other_charged],
            f.fx,
        )),
        // The invoice bills both legs when it is known; without it the return is the quote's.
        Stage::Returned => {
            let return_cost =
                if f.freight_invoiced.is_some() { f.other_charged } else { q.return_freight + f.other_charged };
            Some(Components::new(
                f.recovered,
                [f.goods_written_off, f.first_leg, freight, q.duties_taxes, 0, return_cost],
                f.fx,
            ))
        }
        Stage::Lost => Some(Components::new(
            f.recovered,
            [f.goods_cost, f.first_leg, freight, q.duties_taxes, 0, f.other_charged],
            f.fx,
        )),
    }
}

/// How orders are grouped in a profit report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    Sku,
    Country,
    Region,
    Channel,
    Month,
}

impl Dimension {
    pub const ALL: [Dimension; 5] =
        [Dimension::Sku, Dimension::Country, Dimension::Region, Dimension::Channel, Dimension::Month];

    pub fn as_str(&self) -> &'static str {
        match self {
            Dimension::Sku => "sku",
            Dimension::Country => "country",
            Dimension::Region => "region",
            Dimension::Channel => "channel",
            Dimension::Month => "month",
        }
    }

    pub fn parse(s: &str) -> Result<Dimension, crate::Error> {
        Dimension::ALL.into_iter().find(|d| d.as_str() == s).ok_or_else(|| {
            crate::Error::invalid("group_by", format!("{s:?} is not one of sku, country, region, channel, month"))
        })
    }
}

/// One order as a report sees it: its keys, its SKU lines' weights (their revenue) and its profit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reported {
    pub country: String,
    pub region: String,
    pub channel: String,
    /// `YYYY-MM` of the order's placing.
    pub month: String,
    pub skus: Vec<(String, i64)>,
    pub expected: Option<Components>,
    pub actual: Option<Components>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Group {
    pub key: String,
    pub orders: i64,
    /// Orders whose actual profit is known, and the ones of those that lost money.
    pub settled: i64,
    pub loss_making: i64,
    pub expected: Components,
    pub actual: Components,
}

/// Totals per group. An order counts once in each SKU it holds, with its profit split over its lines by
/// revenue, so the SKU groups still add up to the orders' total.
pub fn aggregate(orders: &[Reported], by: Dimension) -> Vec<Group> {
    let mut groups: BTreeMap<String, Group> = BTreeMap::new();
    let mut add = |key: &str, expected: Option<Components>, actual: Option<Components>| {
        let g = groups.entry(key.to_owned()).or_insert_with(|| Group { key: key.to_owned(), ..Group::default() });
        g.orders += 1;
        if let Some(e) = expected {
            g.expected.add(&e);
        }
        if let Some(a) = actual {
            g.settled += 1;
            g.loss_making += i64::from(a.profit < 0);
            g.actual.add(&a);
        }
    };
    for o in orders {
        match by {
            Dimension::Sku => {
                let weights: Vec<i64> = o.skus.iter().map(|(_, w)| *w).collect();
                let e = o.expected.map(|c| c.split(&weights));
                let a = o.actual.map(|c| c.split(&weights));
                for (i, (sku, _)) in o.skus.iter().enumerate() {
                    add(sku, e.as_ref().map(|v| v[i]), a.as_ref().map(|v| v[i]));
                }
            }
            Dimension::Country => add(&o.country, o.expected, o.actual),
            Dimension::Region => add(&format!("{}/{}", o.country, o.region), o.expected, o.actual),
            Dimension::Channel => add(&o.channel, o.expected, o.actual),
            Dimension::Month => add(&o.month, o.expected, o.actual),
        }
    }
    groups.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn quoted() -> Quoted {
        Quoted { freight: 1_200, cod_fee: 300, duties_taxes: 900, return_freight: 1_000, p_delivered_ppm: 800_000 }
    }

    fn facts(stage: Stage) -> Facts {
        Facts {
            stage: Some(stage),
            revenue: 10_000,
            goods_cost: 3_000,
            first_leg: 200,
            quoted: Some(quoted()),
            ..Facts::default()
        }
    }

    #[test]
    fn expected_profit_weighs_the_sale_by_the_chance_of_delivery_and_the_return_by_the_chance_of_refusal() {
        let e = expected(&facts(Stage::Open)).unwrap();
        assert_eq!(e.revenue, 8_000);
        assert_eq!(e.product_cost, 2_400);
        assert_eq!(e.cod_fee, 240);
        assert_eq!(e.return_cost, 200);
        // Freight, duties and the first leg are paid whatever happens.
        assert_eq!((e.first_leg, e.last_mile, e.duties_taxes), (200, 1_200, 900));
        assert_eq!(e.profit, 8_000 - 2_400 - 200 - 1_200 - 900 - 240 - 200);
    }

    #[test]
    fn actual_profit_uses_what_was_collected_charged_and_invoiced_over_the_quote() {
        let mut f = facts(Stage::Settled);
        f.collected = Some(9_500);
        f.cod_fee_charged = Some(350);
        f.freight_invoiced = Some(1_400);
        f.fx = -120;
        let a = actual(&f).unwrap();
        assert_eq!((a.revenue, a.last_mile, a.cod_fee, a.fx), (9_500, 1_400, 350, -120));
        assert_eq!(a.profit, 9_500 - 3_000 - 200 - 1_400 - 900 - 350 - 120);
        // Without an invoice, freight the carrier took off the cash is the freight paid.
        f.freight_invoiced = None;
        f.freight_deducted = 1_250;
        assert_eq!(actual(&f).unwrap().last_mile, 1_250);
    }

    #[test]
    fn a_refused_ddp_parcel_loses_its_freight_both_ways_and_its_duties_but_not_its_goods() {
        let a = actual(&facts(Stage::Returned)).unwrap();
        assert_eq!((a.revenue, a.product_cost), (0, 0));
        assert_eq!(a.profit, -(200 + 1_200 + 900 + 1_000));
        let lost = actual(&facts(Stage::Lost)).unwrap();
        assert_eq!(lost.product_cost, 3_000);
    }

    #[test]
    fn a_return_loses_the_cost_of_what_was_written_off_and_a_claim_recovers_against_a_loss() {
        let mut f = facts(Stage::Returned);
        f.goods_written_off = 1_000;
        let a = actual(&f).unwrap();
        assert_eq!(a.product_cost, 1_000);
        assert_eq!(a.profit, -(1_000 + 200 + 1_200 + 900 + 1_000));
        let mut lost = facts(Stage::Lost);
        lost.recovered = 2_500;
        let l = actual(&lost).unwrap();
        assert_eq!((l.revenue, l.product_cost), (2_500, 3_000));
        assert_eq!(l.profit, 2_500 - (3_000 + 200 + 1_200 + 900));
    }

    #[test]
    fn an_order_whose_money_is_not_in_has_no_actual_profit_yet() {
        assert_eq!(actual(&facts(Stage::Delivered)), None);
        assert_eq!(actual(&facts(Stage::Open)), None);
        assert_eq!(expected(&Facts { quoted: None, ..facts(Stage::Open) }), None);
    }

    #[test]
    fn sku_groups_split_an_order_by_line_revenue_and_still_add_up_to_it() {
        let mut f = facts(Stage::Settled);
        f.collected = Some(10_001);
        let a = actual(&f).unwrap();
        let o = Reported {
            country: "SA".into(),
            region: "Riyadh".into(),
            channel: "FAST".into(),
            month: "2026-11".into(),
            skus: vec![("A".into(), 1), ("B".into(), 2)],
            expected: expected(&f),
            actual: Some(a),
        };
        let groups = aggregate(std::slice::from_ref(&o), Dimension::Sku);
        assert_eq!(groups.iter().map(|g| g.key.as_str()).collect::<Vec<_>>(), vec!["A", "B"]);
        assert_eq!(groups.iter().map(|g| g.actual.profit).sum::<i64>(), a.profit);
        assert_eq!(groups.iter().map(|g| g.actual.revenue).sum::<i64>(), 10_001);
        assert!(groups[1].actual.revenue > groups[0].actual.revenue);
        let regions = aggregate(&[o.clone(), o], Dimension::Region);
        assert_eq!(regions.len(), 1);
        assert_eq!(
            (regions[0].key.as_str(), regions[0].orders, regions[0].actual.profit),
            ("SA/Riyadh", 2, 2 * a.profit)
        );
    }

    proptest! {
        #[test]
        fn allocated_shares_always_add_up_to_the_total(total in -1_000_000_000i64..1_000_000_000, weights in proptest::collection::vec(-5i64..1_000_000, 0..12)) {
            let shares = allocate(total, &weights);
            prop_assert_eq!(shares.len(), weights.len());
            if !weights.is_empty() {
                prop_assert_eq!(shares.iter().sum::<i64>(), total);
            }
            for (s, w) in shares.iter().zip(&weights) {
                if *w <= 0 && weights.iter().any(|w| *w > 0) {
                    prop_assert_eq!(*s, 0);
                }
            }
        }

        #[test]
        fn profit_is_always_revenue_less_costs_plus_fx(revenue in 0i64..10_000_000, goods in 0i64..1_000_000, fx in -10_000i64..10_000, collected in proptest::option::of(0i64..10_000_000)) {
            for stage in [Stage::Settled, Stage::Returned, Stage::Lost] {
                let f = Facts { revenue, goods_cost: goods, fx, collected, ..facts(stage) };
                let a = actual(&f).unwrap();
                let costs = a.product_cost + a.first_leg + a.last_mile + a.duties_taxes + a.cod_fee + a.return_cost;
                prop_assert_eq!(a.profit, a.revenue - costs + a.fx);
            }
        }
    }
}
