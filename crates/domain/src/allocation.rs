//! Choosing the warehouse that ships an order. Until logistics channels exist, an order ships whole from
//! one warehouse that holds every line; splitting comes with multi-parcel shipments.

use std::collections::HashMap;
use std::hash::Hash;

use crate::Country;

/// One warehouse's available quantity of one product.
#[derive(Clone, Debug)]
pub struct Stocked<W, P> {
    pub warehouse: W,
    pub country: Country,
    pub product: P,
    pub available: i64,
}

/// The warehouses that can fill the whole demand, best first: a warehouse in the destination country
/// (no customs, faster), then the one left with the most slack, then by key for determinism.
pub fn candidate_warehouses<W, P>(demand: &[(P, i64)], stock: &[Stocked<W, P>], destination: Country) -> Vec<W>
where
    W: Clone + Ord + Hash,
    P: Eq + Hash,
{
    let mut per_warehouse: HashMap<&W, (Country, HashMap<&P, i64>)> = HashMap::new();
    for s in stock {
        per_warehouse
            .entry(&s.warehouse)
            .or_insert_with(|| (s.country, HashMap::new()))
            .1
            .insert(&s.product, s.available);
    }
    let mut fits: Vec<(bool, i64, &W)> = per_warehouse
        .into_iter()
        .filter_map(|(w, (country, avail))| {
            let mut slack = 0;
            for (p, q) in demand {
                let a = *avail.get(p)?;
                if a < *q {
                    return None;
                }
                slack += a - q;
            }
            Some((country != destination, -slack, w))
        })
        .collect();
    fits.sort();
    fits.into_iter().map(|(_, _, w)| w.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn c(s: &str) -> Country {
        Country::parse(s).unwrap()
    }

    fn st(w: &'static str, country: &str, p: &'static str, a: i64) -> Stocked<&'static str, &'static str> {
        Stocked { warehouse: w, country: c(country), product: p, available: a }
    }

    #[test]
    fn only_warehouses_holding_every_line_qualify() {
        let stock =
            [st("SZ1", "CN", "A", 10), st("SZ1", "CN", "B", 0), st("DXB", "AE", "A", 5), st("DXB", "AE", "B", 5)];
        assert_eq!(candidate_warehouses(&[("A", 2), ("B", 1)], &stock, c("SA")), vec!["DXB"]);
        assert!(candidate_warehouses(&[("A", 6), ("B", 1)], &stock, c("SA")).is_empty());
    }

    #[test]
    fn a_warehouse_in_the_destination_country_comes_first() {
        let stock = [st("SZ1", "CN", "A", 1000), st("DXB", "AE", "A", 3)];
        assert_eq!(candidate_warehouses(&[("A", 1)], &stock, c("AE")), vec!["DXB", "SZ1"]);
        assert_eq!(candidate_warehouses(&[("A", 1)], &stock, c("SA")), vec!["SZ1", "DXB"]);
    }

    proptest! {
        #[test]
        fn every_candidate_can_fill_the_demand(avail in prop::collection::vec((0usize..3, 0usize..3, 0i64..10), 0..12), want in prop::collection::vec((0usize..3, 1i64..5), 1..3)) {
            let ws = ["W0", "W1", "W2"];
            let ps = ["P0", "P1", "P2"];
            let stock: Vec<_> = avail.iter().map(|(w, p, a)| Stocked { warehouse: ws[*w], country: c("CN"), product: ps[*p], available: *a }).collect();
            let demand: Vec<_> = want.iter().map(|(p, q)| (ps[*p], *q)).collect();
            for w in candidate_warehouses(&demand, &stock, c("SA")) {
                for (p, q) in &demand {
                    // The last row for a (warehouse, product) wins, as in the map built above.
                    let a = stock.iter().rev().find(|s| s.warehouse == w && s.product == *p).map(|s| s.available).unwrap_or(-1);
                    prop_assert!(a >= *q);
                }
            }
        }
    }
}
