//! The simulation's two online shops, a Shopify and a WooCommerce store, whose orders reach codflow the way a
//! real shop's do: as signed webhook deliveries to this process's own endpoints.

use anyhow::{Result, anyhow};
use codflow_app::App;
use codflow_connectors::sales::inbound::sign;
use codflow_domain::order::MoneyInput;
use codflow_domain::shop::ShopInput;
use codflow_domain::{Actor, Currency, Money, OrderInput};
use serde_json::{Value, json};

pub const SHOPIFY: &str = "shopify-main";
pub const WOO: &str = "woo-gulf";

/// Creates the two shops (webhooks only: no credentials, nothing pushed back) unless they exist; returns the
/// webhook secret.
pub async fn setup(app: &App) -> Result<String> {
    let secret = format!("sim-shop-{}", codflow_domain::TaskId::generate());
    for (code, platform, name) in
        [(SHOPIFY, "shopify", "Main Shopify shop"), (WOO, "woocommerce", "Gulf WooCommerce shop")]
    {
        let input = ShopInput {
            platform: Some(platform.into()),
            name: Some(name.into()),
            base_url: Some(format!("https://{code}.example.com")),
            webhook_secret: Some(secret.clone()),
            push_fulfilment: Some(false),
            ..Default::default()
        };
        app.channels()
            .put_shop(Some(code), input, Actor::Worker("simulation".into()))
            .await
            .map_err(|e| anyhow!("store {code}: {e:?}"))?;
    }
    Ok(secret)
}

fn money(m: &Option<MoneyInput>, currency: Currency) -> Money {
    m.as_ref().and_then(|m| Money::parse(&m.amount, currency).ok()).unwrap_or_else(|| Money::zero(currency))
}

/// The order as Shopify's orders/create webhook would carry it.
fn shopify(id: u64, o: &OrderInput, currency: Currency) -> Value {
    let cod = o.payment_method.as_deref() == Some("cod");
    let mut total = money(&o.shipping_fee, currency).minor;
    let lines: Vec<Value> = o
        .lines
        .iter()
        .map(|l| {
            let price = money(&l.unit_price, currency);
            total += price.minor * l.quantity.unwrap_or(1);
            json!({"sku": l.sku, "quantity": l.quantity, "price": price.amount_string(), "grams": 0, "requires_shipping": true,
                   "discount_allocations": [], "duties": []})
        })
        .collect();
    let a = &o.shipping_address;
    json!({
        "id": id, "name": format!("#{id}"), "created_at": o.placed_at, "processed_at": o.placed_at, "updated_at": o.placed_at,
        "cancelled_at": null, "currency": currency.code(), "presentment_currency": currency.code(),
        "financial_status": if cod { "pending" } else { "paid" },
        "payment_gateway_names": [if cod { "Cash on Delivery (COD)" } else { "shopify_payments" }],
        "email": o.buyer.email, "phone": o.buyer.phone,
        "customer": {"first_name": o.buyer.name, "last_name": null, "email": o.buyer.email, "phone": o.buyer.phone},
        "shipping_address": {"name": a.name, "address1": a.line1, "address2": a.line2, "city": a.city, "province": a.region,
            "zip": a.postal_code, "country_code": a.country, "phone": o.buyer.phone},
        "line_items": lines,
        "shipping_lines": [{"title": "Standard", "price": money(&o.shipping_fee, currency).amount_string()}],
        "total_price": Money::new(total, currency).amount_string(),
    })
}

/// The order as WooCommerce's order.created webhook would carry it.
fn woocommerce(id: u64, o: &OrderInput, currency: Currency) -> Value {
    let cod = o.payment_method.as_deref() == Some("cod");
    let mut total = money(&o.shipping_fee, currency).minor;
    let lines: Vec<Value> = o
        .lines
        .iter()
        .map(|l| {
            let line = money(&l.unit_price, currency).minor * l.quantity.unwrap_or(1);
            total += line;
            json!({"sku": l.sku, "quantity": l.quantity, "total": Money::new(line, currency).amount_string(), "total_tax": "0.00"})
        })
        .collect();
    let a = &o.shipping_address;
    let gmt = o.placed_at.as_deref().map(|t| t.trim_end_matches('Z').to_owned());
    json!({
        "id": id, "number": id.to_string(), "status": "processing", "currency": currency.code(),
        "date_created_gmt": gmt, "date_modified_gmt": gmt,
        "payment_method": if cod { "cod" } else { "stripe" },
        "payment_method_title": if cod { "Cash on delivery" } else { "Credit card" },
        "total": Money::new(total, currency).amount_string(),
        "billing": {"first_name": o.buyer.name, "email": o.buyer.email, "phone": o.buyer.phone, "country": a.country},
        "shipping": {"first_name": a.name, "address_1": a.line1, "address_2": a.line2, "city": a.city, "state": a.region,
            "postcode": a.postal_code, "country": a.country, "phone": o.buyer.phone},
        "line_items": lines,
    })
}

/// Sends the shops' orders among `inputs` as signed webhooks to `base` and gives back the rest, for intake.
/// Each shop order gets a numeric id from `first_id` on, as the platforms number them.
pub async fn deliver(
    client: &reqwest::Client,
    base: &str,
    secret: &str,
    inputs: Vec<OrderInput>,
    first_id: u64,
) -> Result<(Vec<OrderInput>, usize)> {
    let mut rest = Vec::new();
    let mut hooks: Vec<(&'static str, &'static str, Value)> = Vec::new();
    for (k, o) in inputs.into_iter().enumerate() {
        let Some(currency) = o.currency.as_deref().and_then(|c| Currency::parse(c).ok()) else {
            rest.push(o);
            continue;
        };
        let id = first_id + k as u64;
        match o.store.as_deref() {
            Some(SHOPIFY) => hooks.push(("shopify", SHOPIFY, shopify(id, &o, currency))),
            Some(WOO) => hooks.push(("woocommerce", WOO, woocommerce(id, &o, currency))),
            _ => rest.push(o),
        }
    }
    let sent = hooks.len();
    // Sixteen at a time, as a shop's webhook queue sends them.
    let mut tasks = tokio::task::JoinSet::new();
    let mut results = Vec::with_capacity(sent);
    for (platform, code, body) in hooks {
        if tasks.len() >= 16
            && let Some(r) = tasks.join_next().await
        {
            results.push(r?);
        }
        tasks.spawn(post(client.clone(), base.to_owned(), secret.to_owned(), platform, code, body));
    }
    while let Some(r) = tasks.join_next().await {
        results.push(r?);
    }
    results.into_iter().collect::<Result<Vec<()>>>()?;
    Ok((rest, sent))
}

async fn post(
    client: reqwest::Client,
    base: String,
    secret: String,
    platform: &'static str,
    code: &'static str,
    body: Value,
) -> Result<()> {
    let raw = serde_json::to_vec(&body)?;
    let (topic, id, sig) = match platform {
        "shopify" => ("x-shopify-topic", "x-shopify-webhook-id", "x-shopify-hmac-sha256"),
        _ => ("x-wc-webhook-topic", "x-wc-webhook-delivery-id", "x-wc-webhook-signature"),
    };
    let r = client
        .post(format!("{base}/api/v1/webhooks/{platform}/{code}"))
        .header(topic, if platform == "shopify" { "orders/create" } else { "order.created" })
        .header(id, format!("sim-{}", body["id"]))
        .header(sig, sign(secret.as_bytes(), &raw))
        .header("content-type", "application/json")
        .body(raw)
        .send()
        .await?;
    anyhow::ensure!(r.status().is_success(), "webhook to {code}: HTTP {}", r.status());
    Ok(())
}
