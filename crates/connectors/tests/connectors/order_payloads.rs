//! Every platform's order parser, fed anything: it answers with an order or with errors naming fields, and
//! never panics. Inputs are random bytes, random JSON, and real-shaped orders with fields swapped for
//! random values.

use codflow_connectors::sales::parse_order;
use codflow_domain::shop::Platform;
use proptest::prelude::*;
use serde_json::{Value, json};

const PLATFORMS: [Platform; 5] =
    [Platform::Shopify, Platform::WooCommerce, Platform::Magento, Platform::Amazon, Platform::Ebay];

fn cod() -> Vec<String> {
    vec!["Cash on Delivery (COD)".into(), "cod".into(), "cashondelivery".into(), "COD".into()]
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| json!(f)),
        ".{0,12}".prop_map(Value::String),
        Just(json!("59.99")),
        Just(json!("-1")),
        Just(json!("99999999999999999999999999")),
        Just(json!("2026-11-20T10:00:00Z")),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("id".to_owned()),
                    Just("line_items".to_owned()),
                    Just("quantity".to_owned()),
                    Just("sku".to_owned()),
                    Just("total".to_owned()),
                    Just("currency".to_owned()),
                    "[a-z_]{1,8}"
                ],
                inner,
                0..5
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// One valid order per platform, as their documentation shows them.
fn samples() -> Vec<(Platform, Value)> {
    vec![
        (
            Platform::Shopify,
            json!({"id": 1, "currency": "SAR", "updated_at": "2026-11-20T10:00:00Z", "payment_gateway_names": ["Cash on Delivery (COD)"],
                "shipping_address": {"address1": "a", "city": "Riyadh", "country_code": "SA", "phone": "0501234567"},
                "line_items": [{"sku": "A", "quantity": 2, "price": "10.00", "discount_allocations": [{"amount": "1.00"}]}],
                "total_price": "25.00"}),
        ),
        (
            Platform::WooCommerce,
            json!({"id": 2, "status": "processing", "currency": "AED", "payment_method": "cod", "total": "20.00",
                "date_modified_gmt": "2026-11-20T10:00:00", "line_items": [{"sku": "A", "quantity": 1, "total": "15.00", "total_tax": "0"}]}),
        ),
        (
            Platform::Magento,
            json!({"entity_id": 3, "state": "new", "order_currency_code": "SAR", "grand_total": 20.5, "updated_at": "2026-11-20 10:00:00",
                "payment": {"method": "cashondelivery"}, "items": [{"sku": "A", "qty_ordered": 1, "row_total": 15}]}),
        ),
        (
            Platform::Amazon,
            json!({"order": {"AmazonOrderId": "1", "OrderStatus": "Unshipped", "PaymentMethod": "COD",
                "OrderTotal": {"CurrencyCode": "SAR", "Amount": "20.00"}}, "items": [{"SellerSKU": "A", "QuantityOrdered": 1,
                "ItemPrice": {"Amount": "15.00"}}], "address": null}),
        ),
        (
            Platform::Ebay,
            json!({"orderId": "1", "orderPaymentStatus": "PENDING", "pricingSummary": {"total": {"value": "20.00", "currency": "SAR"}},
                "paymentSummary": {"payments": []},
                "fulfillmentStartInstructions": [{"shippingStep": {"shipTo": {"fullName": "A"}}}],
                "lineItems": [{"sku": "A", "quantity": 1, "lineItemCost": {"value": "15.00", "currency": "SAR"}}]}),
        ),
    ]
}

/// Replaces the value at one path of `v` (chosen by `pick`) with `with`.
fn mutate(v: &mut Value, pick: usize, with: Value) {
    let mut paths = Vec::new();
    fn walk(v: &Value, at: Vec<Value>, out: &mut Vec<Vec<Value>>) {
        out.push(at.clone());
        match v {
            Value::Object(m) => m.iter().for_each(|(k, c)| {
                let mut p = at.clone();
                p.push(json!(k));
                walk(c, p, out)
            }),
            Value::Array(a) => a.iter().enumerate().for_each(|(i, c)| {
                let mut p = at.clone();
                p.push(json!(i));
                walk(c, p, out)
            }),
            _ => {}
        }
    }
    walk(v, Vec::new(), &mut paths);
    let path = &paths[pick % paths.len()];
    let mut cur = v;
    for step in path {
        cur = match step {
            Value::String(k) => cur.get_mut(k.as_str()).unwrap(),
            Value::Number(i) => cur.get_mut(i.as_u64().unwrap() as usize).unwrap(),
            _ => unreachable!(),
        };
    }
    *cur = with;
}

#[test]
fn every_sample_order_maps_with_its_total_kept() {
    for (p, v) in samples() {
        let o = parse_order(p, v.to_string().as_bytes(), &cod()).unwrap_or_else(|e| panic!("{p:?}: {e:?}"));
        assert_eq!(o.input.payment_method.as_deref(), Some("cod"), "{p:?}");
        assert!(o.input.shipping_fee.is_some() && !o.input.lines.is_empty(), "{p:?}");
    }
}

#[test]
fn a_wrong_type_is_reported_at_its_json_path() {
    let body = json!({"id": 1, "currency": "SAR", "line_items": [{"sku": "A", "quantity": "two", "price": "1.00"}]});
    let e = parse_order(Platform::Shopify, body.to_string().as_bytes(), &cod()).unwrap_err();
    assert_eq!(e.0[0].path, "line_items[0].quantity", "{e:?}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300), p in 0usize..5) {
        let _ = parse_order(PLATFORMS[p], &bytes, &cod());
    }

    #[test]
    fn random_json_never_panics(v in any_json(), p in 0usize..5) {
        let _ = parse_order(PLATFORMS[p], v.to_string().as_bytes(), &cod());
    }

    #[test]
    fn a_real_order_with_any_field_changed_never_panics_and_a_mapped_total_is_exact(
        which in 0usize..5, pick in any::<usize>(), with in any_json()
    ) {
        let (p, mut v) = samples().swap_remove(which);
        mutate(&mut v, pick, with);
        if let Ok(o) = parse_order(p, v.to_string().as_bytes(), &cod()) {
            // Whatever was accepted keeps lines plus fee non-negative.
            let fee = o.input.shipping_fee.as_ref().map(|m| m.amount.clone()).unwrap_or_default();
            prop_assert!(!fee.starts_with('-'), "{fee}");
            for l in &o.input.lines {
                prop_assert!(l.quantity.unwrap_or(0) > 0);
                prop_assert!(!l.unit_price.as_ref().unwrap().amount.starts_with('-'));
            }
        }
    }
}
