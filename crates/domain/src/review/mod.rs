//! Review: rules as data, evaluated over an order's facts; the strongest matching action decides.

pub mod backtest;
pub mod builder;
pub mod expr;
pub mod facts;
pub mod risk;
pub mod templates;

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

pub use expr::{CompileError, Condition, EvalError, Lists};
pub use facts::{Counts, FIELDS, Facts, Field, Unavailable};

use crate::order::{Decision, Review, RuleMatch};
use crate::{FieldErrors, Money, Order, PaymentMethod, RuleId, Sku};

/// The lists every installation has, with the kind of value they hold; sellers add their own.
pub const BUILTIN_LISTS: &[(&str, ListKind)] = &[
    ("blacklisted_phones", ListKind::Phone),
    ("blacklisted_regions", ListKind::Region),
    ("blacklisted_postcodes", ListKind::Postcode),
    ("cod_unsupported_regions", ListKind::Region),
];

/// What a named list holds, which decides how its entries are normalised so that lookups match the facts
/// (`buyer.phone`, `dest.region_key`, `dest.postcode_key`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListKind {
    Phone,
    Region,
    Postcode,
    Text,
}

impl ListKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            ListKind::Phone => "phone",
            ListKind::Region => "region",
            ListKind::Postcode => "postcode",
            ListKind::Text => "text",
        }
    }

    pub fn parse(s: &str) -> Result<ListKind, crate::Error> {
        [ListKind::Phone, ListKind::Region, ListKind::Postcode, ListKind::Text]
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                crate::Error::invalid("kind", format!("{s:?} is not a list kind (phone, region, postcode, text)"))
            })
    }

    /// The stored form of an entry: E.164 phones, `country:region` and `country:postcode` keys in lower case.
    pub fn normalise(&self, raw: &str) -> Result<String, crate::Error> {
        let raw = raw.trim();
        if raw.is_empty() || raw.chars().count() > 200 {
            return Err(crate::Error::invalid("value", "an entry must be 1 to 200 characters"));
        }
        let keyed = |what: &str| -> Result<String, crate::Error> {
            let (country, rest) = raw.split_once(':').unwrap_or((raw, ""));
            // `sa:jizan` (the form the field guide shows and lists store) and `SA:Jizan` are one key.
            let country = crate::Country::parse(&country.trim().to_ascii_uppercase()).map_err(|_| {
                crate::Error::invalid("value", format!("{raw:?}: write {what} as COUNTRY:{what}, e.g. SA:Jizan"))
            })?;
            let rest = if what == "postcode" {
                rest.chars().filter(|c| !c.is_whitespace()).collect::<String>()
            } else {
                rest.trim().to_owned()
            };
            if rest.is_empty() && what == "postcode" {
                return Err(crate::Error::invalid("value", format!("{raw:?}: the postcode is missing after ':'")));
            }
            Ok(if rest.is_empty() { country.to_string() } else { format!("{country}:{rest}") }.to_lowercase())
        };
        match self {
            ListKind::Phone => Ok(crate::Phone::parse(raw, None)?.as_str().to_owned()),
            ListKind::Region => keyed("region"),
            ListKind::Postcode => keyed("postcode"),
            ListKind::Text => Ok(raw.to_lowercase()),
        }
    }
}

/// A review rule as the seller writes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Rule {
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "rul_01J..."))]
    pub id: RuleId,
    pub name: String,
    /// Lower runs first; among matches of equal strength the first gives the buyer message.
    pub priority: i32,
    pub enabled: bool,
    pub condition: String,
    pub action: Decision,
    pub reason: String,
    /// Name of the buyer-notification template sent when this rule decides the order.
    #[serde(default)]
    pub notify: Option<String>,
}

impl Rule {
    /// Checks everything about a rule that does not depend on the store: names, lengths and the condition.
    /// `notify` is checked by the caller, which knows the templates.
    pub fn check(&self, lists: &dyn Lists) -> Result<Condition, FieldErrors> {
        let mut e = FieldErrors::default();
        if self.name.trim().is_empty() || self.name.chars().count() > 200 {
            e.push("name", "must be 1 to 200 characters");
        }
        if self.reason.trim().is_empty() || self.reason.chars().count() > 500 {
            e.push("reason", "must be 1 to 500 characters (the buyer and ops read it)");
        }
        let cond = match Condition::compile(&self.condition, lists) {
            Ok(c) => Some(c),
            Err(err) => {
                e.push("condition", err.to_string());
                None
            }
        };
        match cond {
            Some(c) if e.is_empty() => Ok(c),
            _ => Err(e),
        }
    }
}

struct Compiled {
    rule: Rule,
    cond: Result<Condition, String>,
}

/// One version of the rules, compiled and ordered, ready to decide orders.
pub struct Ruleset {
    pub version: i64,
    rules: Vec<Compiled>,
}

/// The decision over one order: the strongest action and every rule that matched or failed.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    pub decision: Decision,
    pub matches: Vec<RuleMatch>,
}

impl Ruleset {
    /// Compiles the enabled rules. A stored rule that no longer compiles (a list it names was removed) is
    /// kept as a failing rule: it holds every order until fixed, rather than silently letting orders pass.
    pub fn new(version: i64, rules: Vec<Rule>, lists: &dyn Lists) -> Ruleset {
        let mut rules: Vec<Compiled> = rules
            .into_iter()
            .filter(|r| r.enabled)
            .map(|rule| {
                let cond = Condition::compile(&rule.condition, lists).map_err(|e| e.to_string());
                Compiled { rule, cond }
            })
            .collect();
        rules.sort_by(|a, b| (a.rule.priority, &a.rule.id).cmp(&(b.rule.priority, &b.rule.id)));
        Ruleset { version, rules }
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    pub fn decide(&self, facts: &Facts, lists: &dyn Lists) -> Verdict {
        let mut decision = Decision::Approve;
        let mut matches = Vec::new();
        for c in &self.rules {
            let outcome = match &c.cond {
                Ok(cond) => cond.eval(facts, lists).map_err(|e| e.to_string()),
                Err(e) => Err(format!("condition does not compile: {e}")),
            };
            let (action, error) = match outcome {
                Ok(true) => (c.rule.action, None),
                Ok(false) => continue,
                Err(e) => (Decision::Hold, Some(e)),
            };
            decision = decision.max(action);
            let reason = match &error {
                None => c.rule.reason.clone(),
                Some(e) => format!("rule {:?} could not be evaluated ({e}); held for a person to decide", c.rule.name),
            };
            matches.push(RuleMatch {
                rule_id: c.rule.id.to_string(),
                name: c.rule.name.clone(),
                action,
                reason,
                error,
                notify: if action == c.rule.action { c.rule.notify.clone() } else { None },
            });
        }
        Verdict { decision, matches }
    }
}

impl Verdict {
    /// The review record of an order; a `block_cod` on a prepaid order changes nothing and approves.
    pub fn into_review(self, version: i64, risk: risk::RiskScore, payment: PaymentMethod) -> Review {
        let decision = match (self.decision, payment) {
            (Decision::BlockCod, PaymentMethod::Prepaid) => Decision::Approve,
            (d, _) => d,
        };
        let decisive: Vec<&RuleMatch> = self.matches.iter().filter(|m| m.action == self.decision).collect();
        let reasons = if self.matches.is_empty() {
            vec!["no rule matched".to_owned()]
        } else {
            decisive
                .iter()
                .map(|m| m.reason.clone())
                .chain(
                    self.matches
                        .iter()
                        .filter(|m| m.action != self.decision)
                        .map(|m| format!("{}: {}", m.action.as_str(), m.reason)),
                )
                .collect()
        };
        Review {
            decision,
            rules: self.matches.iter().map(|m| m.rule_id.clone()).collect(),
            reasons,
            ruleset_version: Some(version),
            prepayment_required: decision == Decision::BlockCod,
            matches: self.matches,
            risk: Some(risk),
        }
    }

    /// The template to send the buyer, from the first decisive rule that names one.
    pub fn notification(&self) -> Option<(&str, &RuleMatch)> {
        self.matches.iter().filter(|m| m.action == self.decision).find_map(|m| m.notify.as_deref().map(|t| (t, m)))
    }
}

/// The keys outcomes are counted under, so history can be looked up by phone, region, SKU in region, value
/// band and payment method.
pub mod keys {
    use super::*;

    pub const ALL: &str = "all";

    pub fn phone(p: &str) -> String {
        format!("phone:{p}")
    }
    pub fn region(region_key: &str) -> String {
        format!("region:{region_key}")
    }
    pub fn sku_region(sku: &str, region_key: &str) -> String {
        format!("sku_region:{sku}@{region_key}")
    }
    /// A channel's outcomes on one destination country: its measured sign-in rate for allocation.
    pub fn lane(channel: &str, country: crate::Country) -> String {
        format!("lane:{channel}@{country}")
    }
    pub fn payment(m: PaymentMethod) -> String {
        format!("payment:{}", m.as_str())
    }
    /// Bands of the order value in the base currency; orders without a base value share one band.
    pub fn value_band(base: Option<Money>) -> String {
        let Some(m) = base else { return "value:unknown".into() };
        let unit = 10i64.pow(m.currency.minor_digits());
        let major = m.minor / unit.max(1);
        let band = match major {
            i64::MIN..25 => "0-25",
            25..50 => "25-50",
            50..100 => "50-100",
            100..200 => "100-200",
            200..500 => "200-500",
            _ => "500+",
        };
        format!("value:{band} {}", m.currency)
    }

    /// The `country:region` key lists and history use, lower-case; the country alone when no region.
    pub fn region_key(order: &Order) -> String {
        let a = &order.shipping_address;
        match &a.region {
            Some(r) => format!("{}:{}", a.country, r.trim()).to_lowercase(),
            None => a.country.to_string().to_lowercase(),
        }
    }

    pub fn postcode_key(order: &Order) -> String {
        let a = &order.shipping_address;
        let pc: String = a.postal_code.as_deref().unwrap_or("").chars().filter(|c| !c.is_whitespace()).collect();
        format!("{}:{}", a.country, pc).to_lowercase()
    }

    /// Every key an outcome of this order is counted under.
    pub fn of_outcome(order: &Order, value_band: &str) -> Vec<String> {
        let rk = region_key(order);
        let mut k = vec![ALL.to_owned(), phone(order.buyer.phone.as_str()), region(&rk), payment(order.payment_method)];
        k.push(value_band.to_owned());
        for sku in order.demand().keys() {
            k.push(sku_region(sku.as_str(), &rk));
        }
        if let Some(ch) = order.allocation.as_ref().and_then(|a| a.channel.as_ref()) {
            k.push(lane(ch.as_str(), order.shipping_address.country));
        }
        k
    }
}

/// An earlier order of the same phone, as far as duplicate and velocity checks need it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecentOrder {
    pub placed_at: OffsetDateTime,
    /// Sorted and distinct.
    pub skus: Vec<Sku>,
}

/// What is known about an order's buyer, region and SKUs before it is reviewed.
#[derive(Clone, Debug, Default)]
pub struct History {
    pub buyer_orders: i64,
    /// Earlier orders of the phone from the last day or so; those older than 24 h before this order are ignored.
    pub recent: Vec<RecentOrder>,
    /// Outcome counts by key (see [`keys`]); absent keys have no history.
    pub counts: std::collections::HashMap<String, Counts>,
}

impl History {
    fn count(&self, key: &str) -> Counts {
        self.counts.get(key).copied().unwrap_or_default()
    }
}

/// The facts of an order for review. `base` is the total in the seller's base currency, or why there is none.
pub fn facts(
    order: &Order,
    base: Result<Money, String>,
    base_currency: &str,
    history: &History,
) -> (Facts, risk::RiskScore) {
    let rk = keys::region_key(order);
    let value_band = keys::value_band(base.as_ref().ok().copied());
    let demand = order.demand();
    let skus: Vec<String> = demand.keys().map(|s| s.as_str().to_owned()).collect();
    let phone = order.buyer.phone.as_str();
    let phone_key = keys::phone(phone);
    let region_key = keys::region(&rk);
    let sku_keys: Vec<String> = skus.iter().map(|s| keys::sku_region(s, &rk)).collect();
    let worst_sku = sku_keys
        .iter()
        .map(|k| (k, history.count(k)))
        .max_by(|a, b| a.1.rate().total_cmp(&b.1.rate()).then(a.1.samples().cmp(&b.1.samples())))
        .map(|(k, c)| (k.clone(), c))
        .unwrap_or_default();
    let buyer = history.count(&phone_key);
    let region = history.count(&region_key);
    let payment_key = keys::payment(order.payment_method);
    let evidence = [
        risk::Evidence { name: "buyer_phone", weight: risk::weight_of("buyer_phone"), key: &phone_key, counts: buyer },
        risk::Evidence { name: "region", weight: risk::weight_of("region"), key: &region_key, counts: region },
        risk::Evidence {
            name: "sku_region",
            weight: risk::weight_of("sku_region"),
            key: &worst_sku.0,
            counts: worst_sku.1,
        },
        risk::Evidence {
            name: "value_band",
            weight: risk::weight_of("value_band"),
            key: &value_band,
            counts: history.count(&value_band),
        },
        risk::Evidence {
            name: "payment_method",
            weight: risk::weight_of("payment_method"),
            key: &payment_key,
            counts: history.count(&payment_key),
        },
    ];
    let risk = risk::score(history.count(keys::ALL), &evidence);
    let day_before = order.placed_at - Duration::hours(24);
    let in_day: Vec<&RecentOrder> =
        history.recent.iter().filter(|r| r.placed_at >= day_before && r.placed_at <= order.placed_at).collect();
    let own: Vec<Sku> = demand.keys().cloned().collect();
    let a = &order.shipping_address;
    let facts = Facts {
        total_minor: order.total.minor,
        currency: order.currency.to_string(),
        total_base_minor: base.map(|m| m.minor).map_err(Unavailable),
        base_currency: base_currency.to_owned(),
        cod: order.payment_method == PaymentMethod::Cod,
        payment_method: order.payment_method.as_str().to_owned(),
        item_count: order.lines.iter().map(|l| l.quantity).sum(),
        line_count: order.lines.len() as i64,
        max_sku_quantity: demand.values().copied().max().unwrap_or(0),
        skus,
        store: order.store.to_string(),
        shipping_fee_minor: order.shipping_fee.minor,
        country: a.country.to_string(),
        region: a.region.clone().unwrap_or_default(),
        city: a.city.clone(),
        postal_code: a.postal_code.clone().unwrap_or_default(),
        region_key: rk,
        postcode_key: keys::postcode_key(order),
        phone: phone.to_owned(),
        phone_is_mobile: order.buyer.phone.is_mobile_of(a.country),
        email: order.buyer.email.clone().unwrap_or_default(),
        buyer_orders: history.buyer_orders,
        buyer_delivered: buyer.delivered,
        buyer_refusals: buyer.refused,
        buyer_orders_24h: in_day.len() as i64,
        buyer_duplicates_24h: in_day.iter().filter(|r| r.skus == own).count() as i64,
        region_refusal_rate: region.rate(),
        region_samples: region.samples(),
        sku_region_refusal_rate: worst_sku.1.rate(),
        sku_region_samples: worst_sku.1.samples(),
        risk_score: risk.score,
    };
    (facts, risk)
}

/// The value band key an order's outcome is counted under (kept with the review so the outcome, recorded
/// weeks later at another exchange rate, lands in the band the order was judged in).
pub fn value_band_of(review: Option<&Review>) -> String {
    review
        .and_then(|r| r.risk.as_ref())
        .and_then(|r| r.components.iter().find(|c| c.name == "value_band"))
        .map(|c| c.key.clone())
        .unwrap_or_else(|| keys::value_band(None))
}

#[cfg(test)]
mod tests;
