//! Review at intake: the current ruleset and lists, kept in memory and reloaded when another writer changes
//! them; the buyer and region history of a batch in a few queries; one decision per order.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use codflow_domain::review::expr::{Fnv, StrSet};
use codflow_domain::review::{self, Counts, History, Lists, RecentOrder, Ruleset, Verdict, keys};
use codflow_domain::{Country, Currency, Decision, FxRate, Money, Order, Review, Sku};
use codflow_store::{Conn, review as rstore};
use std::hash::BuildHasherDefault;
use time::Duration;

use crate::Result;

/// The named lists as review reads them: normalised, lower-case entries.
#[derive(Default)]
pub struct ListSet {
    names: HashSet<String>,
    entries: HashMap<String, StrSet, BuildHasherDefault<Fnv>>,
}

impl ListSet {
    pub async fn load(conn: &mut Conn) -> Result<ListSet> {
        let mut set = ListSet::default();
        for l in rstore::lists(conn).await? {
            set.names.insert(l.name);
        }
        for (list, value) in rstore::all_entries(conn).await? {
            set.entries.entry(list).or_default().insert(value);
        }
        Ok(set)
    }
}

impl Lists for ListSet {
    fn exists(&self, name: &str) -> bool {
        self.names.contains(name)
    }
    fn contains(&self, name: &str, value: &str) -> bool {
        let Some(entries) = self.entries.get(name) else { return false };
        if value.bytes().any(|b| b.is_ascii_uppercase()) {
            entries.contains(&value.to_lowercase())
        } else {
            entries.contains(value)
        }
    }
}

/// What review needs in memory, and the store state it was loaded at.
/// Rules, lists and rates as loaded, with the ruleset version, review generation and base currency they
/// were loaded at.
struct Loaded {
    ruleset: Ruleset,
    lists: ListSet,
    rates: Vec<FxRate>,
    base: Currency,
    version: i64,
    generation: String,
    logistics: crate::logistics::Logistics,
    /// Each destination's lane outcome counts as quotes last read them, and when: they change only as
    /// orders finish, so a quote trusts them for [`RECHECK`] instead of asking the store every time.
    lane_counts: Mutex<HashMap<Country, (LaneCounts, std::time::Instant)>>,
}

/// Outcome counts by lane key.
pub type LaneCounts = Arc<HashMap<String, Counts>>;

pub struct Snapshot {
    shared: Arc<Loaded>,
}

impl Snapshot {
    pub fn ruleset(&self) -> &Ruleset {
        &self.shared.ruleset
    }
    pub fn lists(&self) -> &ListSet {
        &self.shared.lists
    }
    pub fn base(&self) -> Currency {
        self.shared.base
    }
    /// Rates into the base currency.
    pub fn rates(&self) -> &[FxRate] {
        &self.shared.rates
    }
    /// Channels, duty rules, every rate and the allocation settings.
    pub fn logistics(&self) -> &crate::logistics::Logistics {
        &self.shared.logistics
    }

    /// The lane counts to `country` read within [`RECHECK`] under this configuration, if any.
    pub fn lane_counts(&self, country: Country) -> Option<LaneCounts> {
        let held = self.shared.lane_counts.lock().ok()?;
        held.get(&country).filter(|(_, at)| at.elapsed() < RECHECK).map(|(c, _)| c.clone())
    }

    /// Keeps counts just read for the next quotes to `country`.
    pub fn keep_lane_counts(&self, country: Country, counts: HashMap<String, Counts>) -> LaneCounts {
        let counts = Arc::new(counts);
        if let Ok(mut held) = self.shared.lane_counts.lock() {
            held.insert(country, (counts.clone(), std::time::Instant::now()));
        }
        counts
    }
}

/// How long a worker trusts its copy of the rules without asking the store. Changes made through this process
/// invalidate the copy at once; changes made by another process (another node, `codflow rules import`) apply
/// within this long.
const RECHECK: std::time::Duration = std::time::Duration::from_millis(500);

#[derive(Default)]
pub struct ReviewCache {
    current: Mutex<Option<(Arc<Loaded>, std::time::Instant)>>,
}

impl ReviewCache {
    /// Forgets the copy, so the next decision reads the rules, lists and rates again.
    pub fn invalidate(&self) {
        if let Ok(mut c) = self.current.lock() {
            *c = None;
        }
    }

    /// The state in memory if it was checked within [`RECHECK`]: what a read that needs no other query
    /// uses, without taking a connection.
    pub fn fresh(&self) -> Option<Snapshot> {
        let held = self.current.lock().ok()?;
        held.as_ref().filter(|(_, at)| at.elapsed() < RECHECK).map(|(c, _)| Snapshot { shared: c.clone() })
    }

    /// The state valid for the caller's transaction, reused while nothing it depends on changed: one query
    /// per batch in the common case.
    pub async fn snapshot(&self, conn: &mut Conn) -> Result<Snapshot> {
        let cached = self.current.lock().ok().and_then(|c| c.clone());
        if let Some((c, at)) = &cached
            && at.elapsed() < RECHECK
        {
            return Ok(Snapshot { shared: c.clone() });
        }
        let (version, generation, base) = rstore::review_state(conn).await?;
        let base = Currency::parse(&base).map_err(codflow_store::Error::from)?;
        let loaded = match cached.map(|c| c.0) {
            Some(c) if c.version == version && c.generation == generation && c.base == base => c,
            _ => {
                let lists = ListSet::load(conn).await?;
                let ruleset = Ruleset::new(version, rules_of(conn, version).await?, &lists);
                let all = rstore::rates(conn).await?;
                let rates: Vec<FxRate> = all.iter().filter(|r| r.to == base).cloned().collect();
                let logistics = crate::logistics::Logistics::load(conn, all).await?;
                let lane_counts = Mutex::default();
                Arc::new(Loaded { ruleset, lists, rates, base, version, generation, logistics, lane_counts })
            }
        };
        if let Ok(mut c) = self.current.lock() {
            *c = Some((loaded.clone(), std::time::Instant::now()));
        }
        Ok(Snapshot { shared: loaded })
    }
}

async fn rules_of(conn: &mut Conn, version: i64) -> Result<Vec<review::Rule>> {
    Ok(rstore::version_rules(conn, version).await?.unwrap_or_default())
}

/// The order's total in the base currency, at the latest rate dated on or before the day it was placed.
pub fn to_base(order: &Order, base: Currency, rates: &[FxRate]) -> std::result::Result<Money, String> {
    if order.currency == base {
        return Ok(order.total);
    }
    let day = order.placed_at.date();
    rates
        .iter()
        .filter(|r| r.from == order.currency && r.to == base && r.as_of <= day)
        .max_by_key(|r| r.as_of)
        .ok_or_else(|| format!("no exchange rate from {} to {base} dated on or before {day}", order.currency))
        .and_then(|r| r.convert(order.total).map(|c| c.value).map_err(|e| e.to_string()))
}

/// The history of each order of a batch, as if they had arrived one after another: an order sees the
/// orders before it in the batch as earlier orders of its phone.
pub async fn histories(
    conn: &mut Conn,
    orders: &[Order],
    snapshot: &Snapshot,
) -> Result<Vec<(History, Result<Money, String>)>> {
    let mut phones: Vec<&str> = orders.iter().map(|o| o.buyer.phone.as_str()).collect();
    phones.sort_unstable();
    phones.dedup();
    let since = orders.iter().map(|o| o.placed_at).min().map(|t| t - Duration::hours(24)).unwrap_or_else(crate::now);
    let bases: Vec<Result<Money, String>> =
        orders.iter().map(|o| to_base(o, snapshot.base(), snapshot.rates())).collect();
    let order_keys: Vec<Vec<String>> = orders
        .iter()
        .zip(&bases)
        .map(|(o, b)| {
            let mut k = keys::of_outcome(o, &keys::value_band(b.as_ref().ok().copied()));
            k.extend(snapshot.logistics().lane_keys(o.shipping_address.country));
            k
        })
        .collect();
    let mut wanted: Vec<&str> = order_keys.iter().flatten().map(String::as_str).collect();
    wanted.sort_unstable();
    wanted.dedup();
    let (mut buyers, counts) = rstore::batch_history(conn, &phones, since, &wanted).await?;
    let mut out = Vec::with_capacity(orders.len());
    for ((o, ks), base) in orders.iter().zip(order_keys).zip(bases) {
        let (n, recent) = buyers.get(o.buyer.phone.as_str()).cloned().unwrap_or_default();
        let history = History {
            buyer_orders: n,
            recent,
            counts: ks.into_iter().filter_map(|k| counts.get(&k).map(|c| (k, *c))).collect(),
        };
        let mine = buyers.entry(o.buyer.phone.as_str().to_owned()).or_default();
        mine.0 += 1;
        mine.1.push(RecentOrder { placed_at: o.placed_at, skus: o.demand().into_keys().collect::<Vec<Sku>>() });
        out.push((history, base));
    }
    Ok(out)
}

/// Reviews one order: its review record and the verdict (for the buyer message).
pub fn decide(order: &Order, history: &History, base: Result<Money, String>, snapshot: &Snapshot) -> (Review, Verdict) {
    let (facts, risk) = review::facts(order, base, snapshot.base().code(), history);
    let verdict = snapshot.ruleset().decide(&facts, snapshot.lists());
    let review = verdict.clone().into_review(snapshot.ruleset().version, risk, order.payment_method);
    (review, verdict)
}

/// The status an order takes after review.
pub fn status_after(review: &Review) -> codflow_domain::OrderStatus {
    use codflow_domain::OrderStatus::*;
    match review.decision {
        Decision::Approve | Decision::Flag => Approved,
        Decision::BlockCod | Decision::Hold => OnHold,
        Decision::Cancel => Cancelled,
    }
}
