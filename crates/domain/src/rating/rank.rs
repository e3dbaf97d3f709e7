//! Choosing among the channels that can take a shipment. The default strategy is expected profit
//! (DESIGN.md §4): P(delivered) × (revenue − COD fee − goods cost) − freight − duties and taxes
//! − P(refused) × return freight, with P(delivered) the channel's measured sign-in rate on the lane,
//! smoothed toward a prior so that a channel with three parcels of history is not trusted blindly.

use std::cmp::Reverse;

use super::Quote;
use crate::Money;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Strategy {
    #[default]
    ExpectedProfit,
    Cheapest,
    Fastest,
    Priority,
}

impl Strategy {
    pub const ALL: [Strategy; 4] =
        [Strategy::ExpectedProfit, Strategy::Cheapest, Strategy::Fastest, Strategy::Priority];

    pub fn as_str(&self) -> &'static str {
        match self {
            Strategy::ExpectedProfit => "expected_profit",
            Strategy::Cheapest => "cheapest",
            Strategy::Fastest => "fastest",
            Strategy::Priority => "priority",
        }
    }

    pub fn parse(s: &str) -> Result<Self, crate::Error> {
        Strategy::ALL.into_iter().find(|x| x.as_str() == s).ok_or_else(|| {
            crate::Error::invalid(
                "strategy",
                format!("unknown strategy {s:?} (expected_profit, cheapest, fastest or priority)"),
            )
        })
    }
}

/// Final outcomes of one channel's parcels on one lane (destination country).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct LaneStats {
    pub delivered: u64,
    pub failed: u64,
}

/// How strongly the prior counts, in parcels.
const PRIOR_WEIGHT: u64 = 20;
/// The sign-in rate assumed for a channel with no history on a lane, in parts per million.
pub const DEFAULT_PRIOR_PPM: u64 = 850_000;

impl LaneStats {
    /// P(delivered) in parts per million, smoothed toward `prior_ppm`.
    pub fn p_delivered_ppm(&self, prior_ppm: u64) -> u64 {
        let n = self.delivered + self.failed;
        (self.delivered * 1_000_000 + prior_ppm * PRIOR_WEIGHT) / (n + PRIOR_WEIGHT)
    }
}

/// One eligible channel with what ranking needs besides its quote.
#[derive(Clone, Debug)]
pub struct Candidate {
    pub quote: Quote,
    pub priority: i64,
    pub stats: LaneStats,
    /// The freight a refused parcel costs to bring back, in the base currency.
    pub return_cost: Money,
    /// The COD fee and the carrier's charges in the base currency.
    pub cod_fee_base: Money,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ranked {
    pub quote: Quote,
    pub p_delivered_ppm: u64,
    pub samples: u64,
    /// In the base currency; None when no revenue was given.
    pub expected_profit: Option<Money>,
    pub priority: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ranking {
    pub strategy: Strategy,
    /// Best first.
    pub ranked: Vec<Ranked>,
    /// Why the first one won, in words.
    pub why: String,
}

fn ppm_pct(ppm: u64) -> String {
    format!("{}.{}%", ppm / 10_000, ppm % 10_000 / 1_000)
}

/// Expected profit in the base currency's minor units.
fn expected_profit(c: &Candidate, p_ppm: u64, revenue: Money, goods_cost: Money) -> i64 {
    let p = p_ppm as i128;
    let q = 1_000_000 - p;
    let upside = (revenue.minor - c.cod_fee_base.minor - goods_cost.minor) as i128;
    let cost_excl_cod_fee = (c.quote.total_base.minor - c.cod_fee_base.minor) as i128;
    let v = (p * upside - q * c.return_cost.minor as i128) / 1_000_000 - cost_excl_cod_fee;
    v as i64
}

/// Orders eligible channels by `strategy`, ties broken by cost, then speed, then priority, then code, so
/// the same inputs always give the same winner. `revenue` and `goods_cost` are in the base currency.
pub fn rank(
    candidates: Vec<Candidate>,
    strategy: Strategy,
    revenue: Option<Money>,
    goods_cost: Money,
    prior_ppm: u64,
) -> Ranking {
    let mut ranked: Vec<Ranked> = candidates
        .into_iter()
        .map(|c| {
            let p = c.stats.p_delivered_ppm(prior_ppm);
            let profit = revenue.map(|r| Money::new(expected_profit(&c, p, r, goods_cost), r.currency));
            Ranked {
                p_delivered_ppm: p,
                samples: c.stats.delivered + c.stats.failed,
                expected_profit: profit,
                priority: c.priority,
                quote: c.quote,
            }
        })
        .collect();
    let key =
        |r: &Ranked| (r.quote.total_base.minor, r.quote.transit_days, Reverse(r.priority), r.quote.channel.clone());
    match strategy {
        Strategy::ExpectedProfit => ranked.sort_by_key(|r| (Reverse(r.expected_profit.map(|m| m.minor)), key(r))),
        Strategy::Cheapest => ranked.sort_by_key(key),
        Strategy::Fastest => ranked.sort_by_key(|r| (r.quote.transit_days, key(r))),
        Strategy::Priority => ranked.sort_by_key(|r| (Reverse(r.priority), key(r))),
    }
    let why = explain(strategy, &ranked);
    Ranking { strategy, ranked, why }
}

fn explain(strategy: Strategy, ranked: &[Ranked]) -> String {
    use std::fmt::Write;
    let Some(w) = ranked.first() else { return "no channel can take this shipment".into() };
    let code = &w.quote.channel;
    // Written into one string: every quote explains itself, and a `format!` per clause cost three
    // allocations and copies.
    let mut why = String::with_capacity(160);
    let _ = match (strategy, w.expected_profit) {
        (Strategy::ExpectedProfit, Some(p)) => write!(
            why,
            "{code} has the highest expected profit, {p}, with P(delivered) {} from {} outcomes on this lane",
            ppm_pct(w.p_delivered_ppm),
            w.samples
        ),
        (Strategy::ExpectedProfit, None) => {
            write!(why, "{code} is the cheapest at {} (no revenue given to weigh profit)", w.quote.total_base)
        }
        (Strategy::Cheapest, _) => write!(why, "{code} is the cheapest at {}", w.quote.total_base),
        (Strategy::Fastest, _) => write!(why, "{code} is the fastest at {} transit days", w.quote.transit_days),
        (Strategy::Priority, _) => write!(why, "{code} has the highest priority, {}", w.priority),
    };
    let _ = match ranked.get(1) {
        None => write!(why, "; it is the only eligible channel"),
        Some(r) => {
            let _ = write!(why, "; next best {} at ", r.quote.channel);
            match (strategy, r.expected_profit) {
                (Strategy::ExpectedProfit, Some(p)) => write!(why, "expected profit {p}"),
                (Strategy::Fastest, _) => write!(why, "{} transit days", r.quote.transit_days),
                (Strategy::Priority, _) => write!(why, "priority {}", r.priority),
                _ => write!(why, "{}", r.quote.total_base),
            }
        }
    };
    why
}
