//! Channels and their rate cards: the list, one channel's card (its charges, zones and prices) edited by form
//! or as CSV rows, every card downloaded and uploaded as one CSV, and a quote tester that shows each
//! eligible channel's charges one by one, as `codflow quote` does.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Form;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use codflow_app::logistics::{DestinationInput, ParcelInput, QuoteInput, QuoteResult};
use codflow_domain::rating::{ChannelSpec, CodFeeSpec, MoneySpec};
use codflow_domain::{Actor, ChannelCode, Money, Role};
use minijinja::Value;

use super::render::Amount;
use super::{Signed, redirect};
use crate::state::AppState;

/// Who may change a channel (the API's operators).
const EDITORS: &[Role] = &[Role::Ops];

fn text(q: &HashMap<String, String>, k: &str) -> Option<String> {
    q.get(k).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

pub async fn list(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let channels = match s.app.fulfilment().channels().await {
        Ok(l) => l,
        Err(e) => return signed.fail(e),
    };
    let header = ["code", "name", "carrier", "enabled", "priority", "settlement_cycle_days", "card_currency", "zones"];
    let table: Vec<Vec<String>> = channels
        .iter()
        .map(|c| {
            vec![
                c.code.to_string(),
                c.name.clone(),
                c.carrier.clone(),
                c.enabled.to_string(),
                c.priority.to_string(),
                c.settlement_cycle_days.to_string(),
                c.card.currency.to_string(),
                c.card.zones.len().to_string(),
            ]
        })
        .collect();
    if let Some(r) = super::dash::export(&q, "channels", &header, table) {
        return r;
    }
    let rows: Vec<Value> = channels
        .iter()
        .map(|c| {
            minijinja::context! {
                code => c.code.as_str(), name => c.name.clone(), carrier => c.carrier.clone(), enabled => c.enabled,
                priority => c.priority, cycle => c.settlement_cycle_days, currency => c.card.currency.code(),
                zones => c.card.zones.len(),
            }
        })
        .collect();
    let quote = if q.contains_key("quote") { Some(quote(&s, &signed, &q).await) } else { None };
    let form = minijinja::context! {
        country => text(&q, "country").unwrap_or_default(),
        region => text(&q, "region").unwrap_or_default(),
        postal_code => text(&q, "postal_code").unwrap_or_default(),
        weight_g => text(&q, "weight_g").unwrap_or_else(|| "500".into()),
        goods => text(&q, "goods").unwrap_or_else(|| "100.00".into()),
        cod => text(&q, "cod").unwrap_or_default(),
        currency => text(&q, "currency").unwrap_or_else(|| "USD".into()),
    };
    let flash = q.get("imported").map(|n| signed.t_with("rates-imported", &[("zones", n)]));
    let ctx = minijinja::context! {
        rows,
        form,
        quote,
        flash,
        may_edit => matches!(signed.0.role, Role::Admin | Role::Ops),
    };
    signed.page(StatusCode::OK, "channels.html", &signed.t("nav-channels"), ctx)
}

/// The quote tester's answer: each eligible channel's charges, the channels that cannot ship it and why.
async fn quote(s: &AppState, signed: &Signed, q: &HashMap<String, String>) -> Value {
    let currency = text(q, "currency").unwrap_or_else(|| "USD".into()).to_uppercase();
    let input = QuoteInput {
        destination: DestinationInput {
            country: text(q, "country").unwrap_or_default().to_uppercase(),
            region: text(q, "region"),
            city: None,
            postal_code: text(q, "postal_code"),
        },
        parcels: vec![ParcelInput {
            weight_g: text(q, "weight_g").and_then(|w| w.parse().ok()).unwrap_or(0),
            length_cm: None,
            width_cm: None,
            height_cm: None,
        }],
        goods_value: MoneySpec { amount: text(q, "goods").unwrap_or_else(|| "0".into()), currency: currency.clone() },
        cod_amount: text(q, "cod").map(|a| MoneySpec { amount: a, currency: currency.clone() }),
        incoterm: None,
        items: vec![],
        contents: None,
        date: None,
        strategy: None,
    };
    match s.app.fulfilment().quote(&input).await {
        Ok(r) => quoted(&r),
        Err(codflow_app::Error::Invalid(list)) => {
            minijinja::context! { errors => list.0.iter().map(|e| e.to_string()).collect::<Vec<_>>() }
        }
        Err(e) => {
            tracing::error!(error = %e, "the console's quote tester");
            minijinja::context! { errors => vec![signed.t("error-internal")] }
        }
    }
}

fn quoted(r: &QuoteResult) -> Value {
    let ranked: Vec<Value> = r
        .ranking
        .ranked
        .iter()
        .map(|x| {
            let q = &x.quote;
            let b = q.breakdown;
            let m = |v: i64| Amount::from(Money::new(v, q.currency));
            minijinja::context! {
                channel => q.channel.as_str(), zone => q.zone.clone(),
                actual_g => q.actual_weight_g, volumetric_g => q.volumetric_weight_g, billable_g => q.billable_weight_g,
                base => m(b.base), fuel => m(b.fuel), remote => m(b.remote_area), oversize => m(b.oversize),
                cod_fee => m(b.cod_fee), duties => m(b.duties), taxes => m(b.taxes), ddp_fee => m(b.ddp_fee),
                total => m(b.total()), total_base => Amount::from(q.total_base), days => q.transit_days,
                tags => r.tags(q), notes => q.duty_notes.clone(),
                p_delivered => format!("{}.{}%", x.p_delivered_ppm / 10_000, (x.p_delivered_ppm / 1_000) % 10),
                expected_profit => x.expected_profit.map(Amount::from),
            }
        })
        .collect();
    let ineligible: Vec<Value> = r
        .ineligible
        .iter()
        .map(|(code, _, why)| minijinja::context! { channel => code.as_str(), why => why.message.clone() })
        .collect();
    minijinja::context! { ranked, ineligible, why => r.ranking.why.clone(), base => r.base.code(), errors => Vec::<String>::new() }
}

pub async fn page(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Path(code): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Ok(code) = ChannelCode::parse(&code) else { return signed.fail(codflow_app::Error::NotFound("channel")) };
    let ch = match s.app.fulfilment().channel(&code).await {
        Ok(c) => c,
        Err(e) => return signed.fail(e),
    };
    let rows = match codflow_app::logistics::rate_csv(std::slice::from_ref(&ch)) {
        Ok(r) => r,
        Err(e) => return signed.fail(e),
    };
    let spec = ch.to_spec();
    let accounts = match s.app.fulfilment().carrier_accounts(Some(&spec.carrier)).await {
        Ok(a) => a.into_iter().map(|a| a.account.code.to_string()).collect::<Vec<_>>(),
        Err(e) => return signed.fail(e),
    };
    let card = &spec.rate_card;
    let zones: Vec<Value> = card
        .zones
        .iter()
        .enumerate()
        .map(|(i, z)| {
            minijinja::context! {
                i, name => z.name.clone(), days => z.transit_days,
                covers => [&z.countries, &z.regions, &z.cities, &z.postcodes]
                    .iter()
                    .filter(|l| !l.is_empty())
                    .map(|l| l.join(", "))
                    .collect::<Vec<_>>(),
                bands => z.bands.iter().map(|b| minijinja::context! { from_g => b.from_g, to_g => b.to_g, price => b.price.clone() }).collect::<Vec<_>>(),
                steps => z.steps.as_ref().map(|st| minijinja::context! {
                    first_g => st.first_g, first_price => st.first_price.clone(), additional_g => st.additional_g,
                    additional_price => st.additional_price.clone(), max_g => st.max_g,
                }),
            }
        })
        .collect();
    let cod = card.cod_fee.as_ref();
    let ctx = minijinja::context! {
        code => code.as_str(),
        name => spec.name.clone(),
        carrier => spec.carrier.clone(),
        account => spec.carrier_account.clone(),
        accounts,
        service => spec.service.clone(),
        enabled => spec.enabled,
        priority => spec.priority,
        cycle => spec.settlement_cycle_days,
        currency => card.currency.clone(),
        rounding_g => card.weight_rounding_g,
        divisor => card.volumetric_divisor,
        min_charge => card.min_charge.clone().unwrap_or_default(),
        fuel_pct => card.fuel_surcharge_pct.clone().unwrap_or_default(),
        ddp_fee => card.ddp_fee.clone().unwrap_or_default(),
        return_pct => card.return_pct.clone().unwrap_or_default(),
        cod_pct => cod.map(|c| c.pct.clone()).unwrap_or_default(),
        cod_min => cod.and_then(|c| c.min.clone()).unwrap_or_default(),
        cod_max => cod.and_then(|c| c.max.clone()).unwrap_or_default(),
        remote => card.remote_area.is_some(),
        zones,
        row_count => (rows.lines().count() + 1).min(30),
        rows,
        may_edit => matches!(signed.0.role, Role::Admin | Role::Ops),
        flash => q.get("saved").map(|_| signed.t("channel-saved")),
    };
    signed.page(StatusCode::OK, "channel.html", &signed.t_with("channel-title", &[("code", code.as_str())]), ctx)
}

/// An empty field clears an optional charge; anything else is kept as typed for the channel's own checks.
fn optional(f: &HashMap<String, String>, k: &str) -> Option<String> {
    f.get(k).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// The form's changes over the stored spec: the channel's terms, its charges and every band's and step's price.
/// Numbers that do not read are kept as -1 so the channel's checks refuse them by name.
fn edited(mut spec: ChannelSpec, f: &HashMap<String, String>) -> ChannelSpec {
    let int = |k: &str, was: i64| f.get(k).map(|v| v.trim().parse::<i64>().unwrap_or(-1)).unwrap_or(was);
    if let Some(n) = optional(f, "name") {
        spec.name = n;
    }
    spec.enabled = f.get("enabled").is_some_and(|v| v == "1");
    if f.contains_key("carrier_account") {
        spec.carrier_account = optional(f, "carrier_account");
    }
    spec.priority = int("priority", spec.priority);
    spec.settlement_cycle_days = int("cycle", spec.settlement_cycle_days);
    let card = &mut spec.rate_card;
    card.min_charge = optional(f, "min_charge");
    card.fuel_surcharge_pct = optional(f, "fuel_pct");
    card.ddp_fee = optional(f, "ddp_fee");
    card.return_pct = optional(f, "return_pct");
    card.cod_fee =
        optional(f, "cod_pct").map(|pct| CodFeeSpec { pct, min: optional(f, "cod_min"), max: optional(f, "cod_max") });
    for (zi, z) in card.zones.iter_mut().enumerate() {
        z.transit_days = int(&format!("z{zi}_days"), z.transit_days);
        for (bi, b) in z.bands.iter_mut().enumerate() {
            if let Some(p) = f.get(&format!("z{zi}_b{bi}")) {
                b.price = p.trim().to_owned();
            }
        }
        if let Some(st) = z.steps.as_mut() {
            if let Some(p) = f.get(&format!("z{zi}_first")) {
                st.first_price = p.trim().to_owned();
            }
            if let Some(p) = f.get(&format!("z{zi}_additional")) {
                st.additional_price = p.trim().to_owned();
            }
        }
    }
    spec
}

/// Saves the channel's terms and prices from its form; the channel's own checks name what they refuse.
pub async fn save(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Path(code): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    if let Some(r) = signed.may_post(EDITORS, f.get("csrf").map(String::as_str).unwrap_or("")) {
        return r;
    }
    let Ok(code) = ChannelCode::parse(&code) else { return signed.fail(codflow_app::Error::NotFound("channel")) };
    let spec = match s.app.fulfilment().channel(&code).await {
        Ok(c) => edited(c.to_spec(), &f),
        Err(e) => return signed.fail(e),
    };
    match s.app.fulfilment().put_channels(&[spec], Actor::User(signed.0.id.clone())).await {
        Ok(_) => redirect(&format!("/channels/{}?saved=1", code.as_str())),
        Err(e) => signed.fail(e),
    }
}

/// Replaces this channel's zones from the rate-card rows edited in its text box; rows naming another channel
/// are refused, so the box cannot change a card it does not show.
pub async fn save_rows(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Path(code): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    if let Some(r) = signed.may_post(EDITORS, f.get("csrf").map(String::as_str).unwrap_or("")) {
        return r;
    }
    let Ok(code) = ChannelCode::parse(&code) else { return signed.fail(codflow_app::Error::NotFound("channel")) };
    let rows = f.get("rows").map(String::as_str).unwrap_or("");
    let prefix = format!("{},", code.as_str());
    if let Some((n, _)) =
        rows.lines().enumerate().skip(1).find(|(_, l)| !l.trim().is_empty() && !l.starts_with(&prefix))
    {
        let message = signed.t_with("rows-other-channel", &[("line", &(n + 1).to_string()), ("code", code.as_str())]);
        return signed.error(StatusCode::UNPROCESSABLE_ENTITY, &message);
    }
    match s.app.fulfilment().import_rate_csv(rows.as_bytes(), Actor::User(signed.0.id.clone())).await {
        Ok(_) => redirect(&format!("/channels/{}?saved=1", code.as_str())),
        Err(e) => signed.fail(e),
    }
}

/// Every channel's rate card as one CSV, the file the upload takes back.
pub async fn rates_csv(State(s): State<Arc<AppState>>, signed: Signed) -> Response {
    match s.app.fulfilment().export_rate_csv().await {
        Ok(csv) => crate::routes::logistics::download("text/csv; charset=utf-8", "rate-cards.csv", csv.into_bytes())
            .into_response(),
        Err(e) => signed.fail(e),
    }
}

/// Replaces the zones of every channel the uploaded rate-card CSV names, all or nothing.
pub async fn upload_rates(State(s): State<Arc<AppState>>, signed: Signed, form: Multipart) -> Response {
    if let Some(r) = signed.refused(EDITORS) {
        return r;
    }
    let up = match super::read_upload(&signed, form).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let Some(file) = up.file.filter(|f| !f.is_empty()) else {
        return signed.error(StatusCode::UNPROCESSABLE_ENTITY, &signed.t("choose-file"));
    };
    match s.app.fulfilment().import_rate_csv(&file, Actor::User(signed.0.id.clone())).await {
        Ok(r) => redirect(&format!("/channels?imported={}", r.zones)),
        Err(e) => signed.fail(e),
    }
}
