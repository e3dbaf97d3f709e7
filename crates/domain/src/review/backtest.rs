//! Back-testing: replays past orders, oldest first, through a ruleset and reports what it would have changed.
//! History is rebuilt as the replay goes, so each order is judged only on what was known when it was placed
//! (an order's own refusal never counts against it).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use serde::Serialize;
use time::{Duration, OffsetDateTime};

use super::{History, Lists, RecentOrder, Ruleset, facts, keys};
use crate::order::Decision;
use crate::{Money, Order, Sku};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Delivered,
    /// Refused at the door or returned: the parcel came back.
    Refused,
}

pub struct PastOrder {
    pub order: Order,
    /// The total in the base currency, or why there is none.
    pub base_total: Result<Money, String>,
    pub outcome: Option<(Outcome, OffsetDateTime)>,
}

/// What a refusal costs and what a delivery earns, in minor units of the base currency.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Economics {
    /// Freight both ways, duties paid under DDP and handling of one refused parcel.
    pub refusal_cost_minor: i64,
    /// Profit on delivered revenue, in basis points (4000 = 40%).
    pub margin_bp: i64,
}

impl Economics {
    /// What a back-test assumes when not told: a refused parcel costs 15.00 of the base currency, and
    /// delivered revenue carries a 40% margin.
    pub fn usual(base: crate::Currency) -> Economics {
        Economics { refusal_cost_minor: 15 * 10i64.pow(base.minor_digits()), margin_bp: 4000 }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ActionReport {
    pub action: String,
    pub orders: i64,
    pub refused: i64,
    pub delivered: i64,
    /// Refused parcels this action would not have shipped.
    pub refusals_avoided: i64,
    /// Revenue of delivered orders this action would not have shipped, base currency minor units.
    pub delivered_revenue_forgone_minor: i64,
    pub net_effect_minor: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    pub ruleset_version: i64,
    pub base_currency: String,
    pub orders_replayed: i64,
    pub refused: i64,
    pub delivered: i64,
    pub without_base_value: i64,
    pub actions: Vec<ActionReport>,
    /// Refusal costs avoided minus profit forgone, over every action that stops a parcel.
    pub net_effect_minor: i64,
}

fn stops_parcel(d: Decision) -> bool {
    matches!(d, Decision::Cancel | Decision::Hold | Decision::BlockCod)
}

/// A replay in progress: feed past orders oldest first, page by page, then `finish`. Only orders with an
/// outcome are reported; every order counts toward its buyer's history.
pub struct Replay<'a> {
    ruleset: &'a Ruleset,
    lists: &'a dyn Lists,
    base_currency: String,
    economics: Economics,
    counts: HashMap<String, super::Counts>,
    /// Outcomes not yet known at the current order's time: when each becomes known, and what it counts.
    known: BinaryHeap<Reverse<(OffsetDateTime, usize)>>,
    pending: Vec<Option<(Vec<String>, Outcome)>>,
    phones: HashMap<String, (i64, Vec<RecentOrder>)>,
    by_action: HashMap<Decision, ActionReport>,
    report: Report,
}

impl<'a> Replay<'a> {
    pub fn new(ruleset: &'a Ruleset, lists: &'a dyn Lists, base_currency: &str, economics: Economics) -> Replay<'a> {
        Replay {
            ruleset,
            lists,
            base_currency: base_currency.into(),
            economics,
            counts: HashMap::new(),
            known: BinaryHeap::new(),
            pending: Vec::new(),
            phones: HashMap::new(),
            by_action: HashMap::new(),
            report: Report {
                ruleset_version: ruleset.version,
                base_currency: base_currency.into(),
                ..Report::default()
            },
        }
    }

    pub fn feed(&mut self, p: PastOrder) {
        // Outcomes known by the time this order was placed join the history.
        while let Some(Reverse((at, i))) = self.known.peek().copied() {
            if at > p.order.placed_at {
                break;
            }
            self.known.pop();
            if let Some((ks, outcome)) = self.pending[i].take() {
                for k in ks {
                    let c = self.counts.entry(k).or_default();
                    match outcome {
                        Outcome::Delivered => c.delivered += 1,
                        Outcome::Refused => c.refused += 1,
                    }
                }
            }
        }
        let phone = p.order.buyer.phone.as_str().to_owned();
        let (orders_before, recent) = self.phones.get(&phone).cloned().unwrap_or_default();
        let mut history = History { buyer_orders: orders_before, recent, counts: HashMap::new() };
        let value_band = keys::value_band(p.base_total.as_ref().ok().copied());
        for k in keys::of_outcome(&p.order, &value_band) {
            if let Some(c) = self.counts.get(&k) {
                history.counts.insert(k, *c);
            }
        }
        let (f, _) = facts(&p.order, p.base_total.clone(), &self.base_currency, &history);
        let verdict = self.ruleset.decide(&f, self.lists);

        let entry = self.phones.entry(phone).or_default();
        entry.0 += 1;
        let day_ago = p.order.placed_at - Duration::hours(24);
        entry.1.retain(|r| r.placed_at >= day_ago);
        entry.1.push(RecentOrder {
            placed_at: p.order.placed_at,
            skus: p.order.demand().into_keys().collect::<Vec<Sku>>(),
        });

        let Some((outcome, at)) = p.outcome else { return };
        self.pending.push(Some((keys::of_outcome(&p.order, &value_band), outcome)));
        self.known.push(Reverse((at, self.pending.len() - 1)));
        let report = &mut self.report;
        report.orders_replayed += 1;
        match outcome {
            Outcome::Delivered => report.delivered += 1,
            Outcome::Refused => report.refused += 1,
        }
        let decision = match (verdict.decision, p.order.payment_method) {
            (Decision::BlockCod, crate::PaymentMethod::Prepaid) => Decision::Approve,
            (d, _) => d,
        };
        let a = self
            .by_action
            .entry(decision)
            .or_insert_with(|| ActionReport { action: decision.as_str().into(), ..Default::default() });
        a.orders += 1;
        match outcome {
            Outcome::Delivered => a.delivered += 1,
            Outcome::Refused => a.refused += 1,
        }
        if stops_parcel(decision) {
            match (outcome, &p.base_total) {
                (Outcome::Refused, _) => a.refusals_avoided += 1,
                (Outcome::Delivered, Ok(m)) => a.delivered_revenue_forgone_minor += m.minor,
                (Outcome::Delivered, Err(_)) => report.without_base_value += 1,
            }
        }
    }

    pub fn finish(self) -> Report {
        let mut report = self.report;
        let mut actions: Vec<ActionReport> = self.by_action.into_values().collect();
        for a in &mut actions {
            let saved = i128::from(a.refusals_avoided) * i128::from(self.economics.refusal_cost_minor);
            let lost =
                (i128::from(a.delivered_revenue_forgone_minor) * i128::from(self.economics.margin_bp) + 5_000) / 10_000;
            a.net_effect_minor = i64::try_from(saved - lost).unwrap_or(i64::MAX);
            report.net_effect_minor = report.net_effect_minor.saturating_add(a.net_effect_minor);
        }
        actions.sort_by_key(|a| Reverse(Decision::parse(&a.action).unwrap_or(Decision::Approve)));
        report.actions = actions;
        report
    }
}
