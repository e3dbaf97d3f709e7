//! Every console page is a template under `crates/web/templates`, rendered with HTML autoescape on for every
//! value: a buyer name from a shop is text wherever it lands. Templates are compiled once at start; the
//! tests render each with sample data (printing an unknown variable is an error) and check every message key they use.
//!
//! Filters and functions the templates share:
//! - `t("key", name=value…)`: the message in the page's language;
//! - `money` on an [`Amount`], `num` on a whole number: grouped digits, negative amounts with a minus;
//! - `time` / `date` on unix seconds: in the viewer's time zone (the layout names it).

use std::sync::OnceLock;

use codflow_domain::Money;
use codflow_domain::zone::Zone;
use minijinja::value::{Kwargs, Object, Value};
use minijinja::{AutoEscape, Environment, Error, ErrorKind, State, UndefinedBehavior};
use serde::Serialize;
use time::OffsetDateTime;

use super::i18n::Lang;

/// The templates, by name.
const TEMPLATES: &[(&str, &str)] = &[
    ("layout.html", include_str!("../../templates/layout.html")),
    ("macros.html", include_str!("../../templates/macros.html")),
    ("login.html", include_str!("../../templates/login.html")),
    ("error.html", include_str!("../../templates/error.html")),
    ("prefs.html", include_str!("../../templates/prefs.html")),
    ("pack.html", include_str!("../../templates/pack.html")),
    ("waves.html", include_str!("../../templates/waves.html")),
    ("bags.html", include_str!("../../templates/bags.html")),
    ("inbound.html", include_str!("../../templates/inbound.html")),
    ("inbound_po.html", include_str!("../../templates/inbound_po.html")),
    ("receive.html", include_str!("../../templates/receive.html")),
    ("floor_dashboard.html", include_str!("../../templates/floor_dashboard.html")),
    ("handover.html", include_str!("../../templates/handover.html")),
    ("orders.html", include_str!("../../templates/orders.html")),
    ("order.html", include_str!("../../templates/order.html")),
    ("review.html", include_str!("../../templates/review.html")),
    ("tasks.html", include_str!("../../templates/tasks.html")),
    ("task.html", include_str!("../../templates/task.html")),
    ("shipments.html", include_str!("../../templates/shipments.html")),
    ("stock.html", include_str!("../../templates/stock.html")),
    ("finance.html", include_str!("../../templates/finance.html")),
    ("rules.html", include_str!("../../templates/rules.html")),
    ("settings.html", include_str!("../../templates/settings.html")),
    ("settlements.html", include_str!("../../templates/settlements.html")),
    ("settlement.html", include_str!("../../templates/settlement.html")),
    ("settlement_preview.html", include_str!("../../templates/settlement_preview.html")),
    ("settlement_summary.html", include_str!("../../templates/settlement_summary.html")),
    ("rejections.html", include_str!("../../templates/rejections.html")),
    ("customs.html", include_str!("../../templates/customs.html")),
    ("carriers.html", include_str!("../../templates/carriers.html")),
    ("profit.html", include_str!("../../templates/profit.html")),
    ("cash.html", include_str!("../../templates/cash.html")),
    ("recommendations.html", include_str!("../../templates/recommendations.html")),
    ("recommendation.html", include_str!("../../templates/recommendation.html")),
    ("channels.html", include_str!("../../templates/channels.html")),
    ("channel.html", include_str!("../../templates/channel.html")),
    ("shops.html", include_str!("../../templates/shops.html")),
    ("carrier_accounts.html", include_str!("../../templates/carrier_accounts.html")),
    ("carrier_account.html", include_str!("../../templates/carrier_account.html")),
    ("shop.html", include_str!("../../templates/shop.html")),
    ("messages.html", include_str!("../../templates/messages.html")),
    ("tracking_settings.html", include_str!("../../templates/tracking_settings.html")),
    ("returns.html", include_str!("../../templates/returns.html")),
    ("return.html", include_str!("../../templates/return.html")),
    ("return_scan.html", include_str!("../../templates/return_scan.html")),
    ("claims.html", include_str!("../../templates/claims.html")),
    ("claim.html", include_str!("../../templates/claim.html")),
];

/// An amount for a template: minor units and currency, formatted by the `money` filter.
#[derive(Clone, Debug, Serialize)]
pub struct Amount {
    pub minor: i64,
    pub currency: String,
    pub digits: u32,
}

impl From<Money> for Amount {
    fn from(m: Money) -> Amount {
        Amount { minor: m.minor, currency: m.currency.code().to_owned(), digits: m.currency.minor_digits() }
    }
}

/// A time for a template: unix seconds.
pub fn secs(t: OffsetDateTime) -> i64 {
    t.unix_timestamp()
}

#[derive(Debug)]
struct ZoneValue(Zone);

impl Object for ZoneValue {}

/// The values every page's template reads besides its own: the language, the zone and the signed-in user.
pub struct Frame<'a> {
    pub lang: Lang,
    pub zone: &'a Zone,
}

impl Frame<'_> {
    pub fn values(&self) -> Vec<(&'static str, Value)> {
        vec![
            ("lang", Value::from(self.lang.tag())),
            ("html_lang", Value::from(self.lang.html_tag())),
            ("zone", Value::from_object(ZoneValue(self.zone.clone()))),
            ("zone_name", Value::from(self.zone.name().to_owned())),
        ]
    }
}

fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| build().unwrap_or_else(|e| panic!("console templates: {e:#}")))
}

fn build() -> Result<Environment<'static>, Error> {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    // The HTML characters only: minijinja's own escaper also writes `/` as `&#x2f;`, which is safe but
    // makes every link in the page source unreadable.
    env.set_formatter(|out, state, value| {
        if let (AutoEscape::Html, false, Some(s)) = (state.auto_escape(), value.is_safe(), value.as_str()) {
            return out.write_str(&super::pages::esc(s)).map_err(Error::from);
        }
        minijinja::escape_formatter(out, state, value)
    });
    env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    for (name, src) in TEMPLATES {
        env.add_template(name, src)?;
    }
    env.add_function("t", translate);
    env.add_filter("money", money);
    env.add_filter("num", num);
    env.add_filter("time", time_in_zone);
    env.add_filter("date", date_in_zone);
    env.add_filter("qs", query_with);
    env.add_filter("urlencode", |v: String| super::pages::url_encode(&v));
    Ok(env)
}

/// Renders `name` with the page's own values `ctx` and the frame's.
pub fn render(name: &str, frame: &Frame<'_>, ctx: Value) -> Result<String, Error> {
    let all = minijinja::context! { ..Value::from_iter(frame.values()), ..ctx };
    env().get_template(name)?.render(all)
}

fn lang_of(state: &State) -> Lang {
    state.lookup("lang").and_then(|v| v.as_str().and_then(Lang::parse)).unwrap_or(Lang::En)
}

fn translate(state: &State, key: &str, kwargs: Kwargs) -> Result<String, Error> {
    let names: Vec<&str> = kwargs.args().collect();
    let mut args: Vec<(String, String)> = Vec::with_capacity(names.len());
    for n in names {
        let v: Value = kwargs.get(n)?;
        let shown = match v.as_i64() {
            Some(i) if v.kind() != minijinja::value::ValueKind::String => group(i.unsigned_abs(), i < 0),
            _ => v.to_string(),
        };
        args.push((n.to_owned(), shown));
    }
    let refs: Vec<(&str, &str)> = args.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    Ok(lang_of(state).text(key, &refs))
}

/// Digits in groups of three (the grouping English and Chinese both use).
pub fn group(n: u64, negative: bool) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if negative {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `SAR 1,234.50`; negative amounts as `SAR -1,234.50`.
pub fn format_money(minor: i64, currency: &str, digits: u32) -> String {
    let abs = minor.unsigned_abs();
    let scale = 10u64.pow(digits.min(4));
    let whole = group(abs / scale, minor < 0);
    if digits == 0 {
        format!("{currency} {whole}")
    } else {
        format!("{currency} {whole}.{:0w$}", abs % scale, w = digits as usize)
    }
}

fn money(v: Value) -> Result<String, Error> {
    if v.is_none() || v.is_undefined() {
        return Ok(String::new());
    }
    let field = |k: &str| v.get_attr(k).ok().filter(|x| !x.is_undefined());
    let (Some(minor), Some(currency)) = (field("minor").and_then(|m| m.as_i64()), field("currency")) else {
        return Err(Error::new(ErrorKind::InvalidOperation, "money needs an Amount"));
    };
    let digits = field("digits").and_then(|d| d.as_i64()).unwrap_or(2) as u32;
    Ok(format_money(minor, currency.as_str().unwrap_or(""), digits))
}

fn num(v: Value) -> Result<String, Error> {
    match v.as_i64() {
        Some(i) => Ok(group(i.unsigned_abs(), i < 0)),
        None => Ok(v.to_string()),
    }
}

fn zone_of(state: &State) -> Zone {
    state
        .lookup("zone")
        .and_then(|z| z.downcast_object_ref::<ZoneValue>().map(|z| z.0.clone()))
        .unwrap_or_else(Zone::utc)
}

fn at(v: &Value) -> Option<OffsetDateTime> {
    v.as_i64().and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
}

/// `2026-12-06 10:30` in the viewer's zone; the zone itself is named once in the page's header.
fn time_in_zone(state: &State, v: Value) -> Result<String, Error> {
    let Some(t) = at(&v) else { return Ok(String::new()) };
    let l = zone_of(state).local(t);
    Ok(format!("{} {:02}:{:02}", l.date(), l.hour(), l.minute()))
}

fn date_in_zone(state: &State, v: Value) -> Result<String, Error> {
    let Some(t) = at(&v) else { return Ok(String::new()) };
    Ok(zone_of(state).local(t).date().to_string())
}

/// The page's query (a map) with `key` set to `value` (or removed when empty), as `?a=1&b=2`: links that
/// change one thing (the page, the sort) and keep every filter.
fn query_with(q: Value, key: &str, value: Value) -> Result<String, Error> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    if let Ok(keys) = q.try_iter() {
        for k in keys {
            let Some(name) = k.as_str() else { continue };
            if name == key || name == "cursor" || name == "at" || name == "done" || name == "failed" {
                continue;
            }
            let v = q.get_item(&k)?;
            let v = v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string());
            if !v.is_empty() {
                pairs.push((name.to_owned(), v));
            }
        }
    }
    let value = if value.is_none() || value.is_undefined() { String::new() } else { value.to_string() };
    if !value.is_empty() {
        pairs.push((key.to_owned(), value));
    }
    let refs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let s = super::pages::query_string(&refs);
    Ok(if s.is_empty() { String::new() } else { format!("?{s}") })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_and_counts_are_grouped_and_losses_keep_their_minus() {
        assert_eq!(format_money(123_456_789, "SAR", 2), "SAR 1,234,567.89");
        assert_eq!(format_money(-1_500, "AED", 2), "AED -15.00");
        assert_eq!(format_money(1_500, "KWD", 3), "KWD 1.500");
        assert_eq!(format_money(7, "JPY", 0), "JPY 7");
        assert_eq!(group(1_000, false), "1,000");
        assert_eq!(group(999, true), "-999");
    }

    #[test]
    fn every_template_compiles_and_every_message_it_asks_for_exists() {
        build().expect("templates compile");
        let en = Lang::En;
        let mut missing = Vec::new();
        let sources = TEMPLATES.iter().map(|(n, s)| (n.to_string(), s.to_string()));
        for (name, src) in sources {
            let mut rest = src.as_str();
            while let Some(at) = rest.find("t(\"") {
                let after = &rest[at + 3..];
                let end = after.find('"').unwrap_or(0);
                let key = &after[..end];
                // `t("family-" ~ value)`: the families are checked value by value in their own test.
                if !key.ends_with('-') && en.lookup(key).is_none() {
                    missing.push(format!("{name}: {key}"));
                }
                rest = &after[end..];
            }
        }
        assert!(missing.is_empty(), "messages without a catalogue entry: {missing:?}");
    }

    #[test]
    fn every_status_kind_and_role_has_its_word_in_the_catalogue() {
        use codflow_domain::anomaly::AnomalyKind;
        use codflow_domain::{Decision, OrderStatus, Role};
        let mut keys: Vec<String> = Vec::new();
        keys.extend(OrderStatus::ALL.iter().map(|s| format!("order-status-{}", s.as_str())));
        keys.extend(AnomalyKind::ALL.iter().map(|k| format!("task-kind-{}", k.as_str())));
        keys.extend(Role::ALL.iter().map(|r| format!("role-{}", r.as_str())));
        keys.extend(Decision::ALL.iter().map(|d| format!("decision-{}", d.as_str())));
        keys.extend(codflow_app::calls::CallOutcome::ALL.iter().map(|c| format!("call-{}", c.as_str())));
        keys.extend(["open", "in_progress", "done", "active", "any"].iter().map(|s| format!("task-status-{s}")));
        keys.extend(["pending", "booked", "failed", "cancelled"].iter().map(|s| format!("booking-status-{s}")));
        keys.extend(["cod", "prepaid"].iter().map(|s| format!("payment-{s}")));
        keys.extend(codflow_domain::CodStatus::ALL.iter().map(|c| format!("cod-status-{}", c.as_str())));
        keys.extend(super::super::shipments::STATUSES.iter().map(|s| format!("ship-status-{s}")));
        keys.extend(
            codflow_domain::finance::reconcile::LineClass::ALL.iter().map(|c| format!("line-class-{}", c.as_str())),
        );
        keys.extend(["cod_remittance", "payout", "freight_invoice"].iter().map(|k| format!("statement-kind-{k}")));
        let parts = ["order", "review", "allocation", "warehouse", "booking", "tracking", "task", "money", "note"];
        keys.extend(parts.iter().map(|p| format!("part-{p}")));
        let groupings = ["country", "region", "sku", "channel", "store", "month"];
        keys.extend(groupings.iter().map(|g| format!("by-{g}")));
        let weights = ["sign_in", "transit", "refusal", "customs", "exceptions", "settlement", "cost"];
        keys.extend(weights.iter().map(|w| format!("weight-{w}")));
        keys.extend(["carriers", "channels"].iter().map(|w| format!("score-{w}")));
        let fields = ["customs_held_hours", "no_scan_before_pickup_hours", "no_scan_in_transit_hours", "transit_days"];
        keys.extend(
            fields
                .iter()
                .chain(&["late_grace_hours", "failures_before_return", "remit_grace_days"])
                .map(|f| format!("th-{f}")),
        );
        keys.extend(["pending", "failed", "done"].iter().map(|w| format!("inbox-{w}")));
        keys.extend(["cheapest", "fastest", "best_expected_profit"].iter().map(|w| format!("tag-{w}")));
        let missing: Vec<&String> = keys.iter().filter(|k| Lang::En.lookup(k).is_none()).collect();
        assert!(missing.is_empty(), "no word for {missing:?}");
    }

    #[test]
    fn values_in_links_are_percent_encoded() {
        let out = env().render_str("{{ x|urlencode }}", minijinja::context! { x => "a b&c/é" }).unwrap();
        assert_eq!(out, "a%20b%26c%2F%C3%A9");
    }

    #[test]
    fn values_are_escaped_in_every_template() {
        let out = env().render_str("{{ x }}", minijinja::context! { x => "<script>alert(1)</script>" }).unwrap();
        assert_eq!(out, "&lt;script&gt;alert(1)&lt;/script&gt;");
    }

    #[test]
    fn times_are_shown_in_the_viewers_zone() {
        let zone = Zone::parse("Asia/Shanghai").unwrap();
        let frame = Frame { lang: Lang::Zh, zone: &zone };
        let t = time::macros::datetime!(2026-03-01 20:30 UTC).unix_timestamp();
        let ctx = minijinja::context! { ..Value::from_iter(frame.values()), ..minijinja::context! { t => t } };
        let out = env().render_str("{{ t|time }} {{ t|date }}", ctx).unwrap();
        assert_eq!(out, "2026-03-02 04:30 2026-03-02");
    }
}
