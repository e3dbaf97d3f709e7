//! The cash-flow dashboard: the COD the carriers owe by age, and the weeks ahead (COD expected in, freight
//! falling due), each currency beside its value in the base currency and one chart and grand total in it.
//! Its filters are the ones its figures can answer: currency, carrier (for what is owed), the horizon and
//! the payment terms of freight invoices.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use codflow_domain::finance::aging::{AgingRow, BUCKETS};
use codflow_domain::rating::Fx;
use codflow_domain::{Currency, FxRate, Money};
use minijinja::Value;
use time::Date;

use super::Signed;
use super::chart::{self, Mark};
use super::dash::{MONEY_READERS, export, owed_href, today};
use super::render::{Amount, format_money};
use crate::state::AppState;

/// The request's filters, each falling back to its default when missing or out of range.
struct CashFilter {
    currency: Option<Currency>,
    carrier: Option<String>,
    weeks: u32,
    terms: i64,
}

impl CashFilter {
    fn of(q: &HashMap<String, String>) -> CashFilter {
        let text = |k: &str| q.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
        CashFilter {
            currency: text("currency").and_then(|c| Currency::parse(c).ok()),
            carrier: text("carrier").map(str::to_owned),
            weeks: text("weeks").and_then(|w| w.parse().ok()).filter(|w| (1..=52).contains(w)).unwrap_or(12),
            terms: text("terms").and_then(|t| t.parse().ok()).filter(|t| (0..=365).contains(t)).unwrap_or(30),
        }
    }

    fn keeps(&self, r: &AgingRow) -> bool {
        self.currency.is_none_or(|c| r.currency == c) && self.carrier.as_ref().is_none_or(|c| *c == r.carrier)
    }

    fn values(&self) -> Value {
        minijinja::context! {
            currency => self.currency.map(|c| c.code().to_owned()).unwrap_or_default(),
            carrier => self.carrier.clone().unwrap_or_default(),
            weeks => self.weeks,
            terms => self.terms,
        }
    }
}

/// Converts to the base currency at the latest rate on or before `day` (either direction quoted).
struct ToBase<'a> {
    base: Currency,
    rates: &'a [FxRate],
    day: Date,
}

impl ToBase<'_> {
    fn convert(&self, m: Money) -> Option<Money> {
        if m.currency == self.base {
            return Some(m);
        }
        self.rates.rate_either(m.currency, self.base, self.day)?.convert(m).ok().map(|c| c.value)
    }
}

pub async fn cash(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = signed.refused(MONEY_READERS) {
        return r;
    }
    let cf = CashFilter::of(&q);
    let (aging, forecast) = match s.app.finance().cash_position(cf.weeks, cf.terms).await {
        Ok(p) => p,
        Err(e) => return signed.fail(e),
    };
    let base = match s.app.review().base_currency().await {
        Ok(b) => b,
        Err(e) => return signed.fail(e),
    };
    let rates = match s.app.review().fx_rates().await {
        Ok(r) => r,
        Err(e) => return signed.fail(e),
    };
    let to_base = ToBase { base, rates: &rates, day: today(&s) };
    let mut currencies: BTreeSet<String> = aging
        .iter()
        .map(|r| r.currency.code().to_owned())
        .chain(forecast.weeks.iter().map(|w| w.currency.code().to_owned()))
        .collect();
    currencies.extend(cf.currency.map(|c| c.code().to_owned()));
    let mut carriers: BTreeSet<String> = aging.iter().map(|r| r.carrier.clone()).collect();
    carriers.extend(cf.carrier.clone());
    let mut missing: BTreeSet<&str> = BTreeSet::new();
    let aging: Vec<&AgingRow> = aging.iter().filter(|r| cf.keeps(r)).collect();
    let weeks: Vec<_> = forecast.weeks.iter().filter(|w| cf.currency.is_none_or(|c| w.currency == c)).collect();

    if q.get("table").map(String::as_str) == Some("aging") {
        let mut header = vec!["carrier", "currency"];
        header.extend(BUCKETS.iter().map(|b| b.0));
        header.extend(["past_cycle", "total", "total_base"]);
        let rows = aging
            .iter()
            .map(|r| {
                let mut row = vec![r.carrier.clone(), r.currency.code().to_owned()];
                row.extend(r.buckets.iter().map(|b| Money::new(b.amount_minor, r.currency).amount_string()));
                row.push(Money::new(r.overdue.amount_minor, r.currency).amount_string());
                row.push(Money::new(r.total.amount_minor, r.currency).amount_string());
                row.push(
                    to_base
                        .convert(Money::new(r.total.amount_minor, r.currency))
                        .map(|m| m.amount_string())
                        .unwrap_or_default(),
                );
                row
            })
            .collect();
        if let Some(r) = export(&q, "receivables", &header, rows) {
            return r;
        }
    }
    let header = ["week_of", "currency", "cod_delivered_in", "cod_in_transit_in", "freight_out", "net", "net_base"];
    let table = weeks
        .iter()
        .map(|w| {
            let m = |v: i64| Money::new(v, w.currency).amount_string();
            let net_base = to_base.convert(Money::new(w.flows.net(), w.currency)).map(|m| m.amount_string());
            vec![
                w.starts.to_string(),
                w.currency.code().to_owned(),
                m(w.flows.delivered_in),
                m(w.flows.in_transit_in),
                m(w.flows.freight_out),
                m(w.flows.net()),
                net_base.unwrap_or_default(),
            ]
        })
        .collect();
    if let Some(r) = export(&q, "cash_forecast", &header, table) {
        return r;
    }

    let mut aging_total = 0i64;
    let aging_rows: Vec<Value> = aging
        .iter()
        .map(|r| {
            let m = |v: i64| Amount::from(Money::new(v, r.currency));
            let in_base = to_base.convert(Money::new(r.total.amount_minor, r.currency));
            match in_base {
                Some(b) => aging_total += b.minor,
                None => {
                    missing.insert(r.currency.code());
                }
            }
            minijinja::context! {
                carrier => r.carrier.clone(),
                currency => r.currency.code(),
                buckets => r.buckets.iter().map(|b| m(b.amount_minor)).collect::<Vec<_>>(),
                overdue => m(r.overdue.amount_minor),
                total => m(r.total.amount_minor),
                base => in_base.map(Amount::from),
                overdue_href => owed_href(&r.carrier, r.currency, true),
                total_href => owed_href(&r.carrier, r.currency, false),
            }
        })
        .collect();
    let overdue: Vec<Value> = aging
        .iter()
        .filter(|r| r.overdue.parcels > 0)
        .map(|r| {
            minijinja::context! {
                carrier => r.carrier.clone(),
                amount => Amount::from(Money::new(r.overdue.amount_minor, r.currency)),
                parcels => r.overdue.parcels,
                href => owed_href(&r.carrier, r.currency, true),
            }
        })
        .collect();

    // The chart reads one currency: the one chosen, else the base with every currency converted into it.
    let shown_in = cf.currency.unwrap_or(base);
    let mut by_week: BTreeMap<Date, (i64, i64)> = BTreeMap::new();
    let mut forecast_total = 0i64;
    let week_rows: Vec<Value> = weeks
        .iter()
        .map(|w| {
            let m = |v: i64| Money::new(v, w.currency);
            let net_base = to_base.convert(m(w.flows.net()));
            match net_base {
                Some(b) => forecast_total += b.minor,
                None => {
                    missing.insert(w.currency.code());
                }
            }
            let shown = |v: i64| if shown_in == base { to_base.convert(m(v)) } else { Some(m(v)) };
            if let (Some(inflow), Some(out)) =
                (shown(w.flows.delivered_in + w.flows.in_transit_in), shown(w.flows.freight_out))
            {
                let slot = by_week.entry(w.starts).or_default();
                slot.0 += inflow.minor;
                slot.1 += out.minor;
            }
            minijinja::context! {
                starts => w.starts.to_string(),
                currency => w.currency.code(),
                delivered => Amount::from(m(w.flows.delivered_in)),
                transit => Amount::from(m(w.flows.in_transit_in)),
                out => Amount::from(m(w.flows.freight_out)),
                net => Amount::from(m(w.flows.net())),
                base => net_base.map(Amount::from),
            }
        })
        .collect();
    let shown_money = |v: i64| format_money(v, shown_in.code(), shown_in.minor_digits());
    let pairs: Vec<(Mark, Mark)> = by_week
        .iter()
        .map(|(starts, (inflow, out))| {
            let label = starts.to_string();
            (
                Mark {
                    label: label.clone(),
                    value: *inflow,
                    text: signed.t_with("cash-in", &[("amount", &shown_money(*inflow))]),
                    href: None,
                },
                Mark {
                    label,
                    value: *out,
                    text: signed.t_with("cash-out", &[("amount", &shown_money(*out))]),
                    href: None,
                },
            )
        })
        .collect();
    let legend = (signed.t("legend-cod-in"), signed.t("legend-freight-out"));
    let chart = chart::columns(&signed.t("nav-cash"), (&legend.0, &legend.1), &pairs);
    let ctx = minijinja::context! {
        q => cf.values(),
        currencies,
        carriers,
        base => base.code(),
        shown_in => shown_in.code(),
        missing => missing.iter().copied().collect::<Vec<_>>().join(", "),
        overdue,
        buckets => BUCKETS.iter().map(|b| b.0).collect::<Vec<_>>(),
        aging => aging_rows,
        aging_total => Amount::from(Money::new(aging_total, base)),
        weeks => week_rows,
        forecast_total => Amount::from(Money::new(forecast_total, base)),
        chart => Value::from_safe_string(chart),
    };
    signed.page(StatusCode::OK, "cash.html", &signed.t("nav-cash"), ctx)
}
