//! Requests generated from the server's own OpenAPI document, schemathesis-style: every documented
//! operation is called with values built from its parameters' and body's schemas, then with those values
//! mutated into wrong types, hostile strings and garbage bodies. Whatever comes in, the answer is never a
//! 5xx, and every error is problem+json. Bounded: a fixed number of requests per operation, a fixed seed.

use std::collections::BTreeMap;

use codflow_store::Engine;
use reqwest::Method;
use serde_json::{Map, Value, json};

use crate::helpers::spawn_app;

codflow_store::on_both_engines!(no_generated_request_gets_a_5xx_from_any_documented_operation);

/// Cases per operation: one built from the schemas, the rest mutated.
const CASES: u64 = 12;

/// A small deterministic generator (SplitMix64): the same run every time, so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[(self.next() % xs.len() as u64) as usize]
    }
}

const STRINGS: &[&str] = &[
    "",
    "x",
    "SA",
    "SAR",
    "2026-11-20",
    "2026-11-20T10:00:00Z",
    "0000-01-01T00:00:00Z",
    "12.50",
    "-1",
    "ord_00000000000000000000000000",
    "shp_nope",
    "LAMP-01",
    "sandbox",
    "مرحبا",
    "\u{202e}evil",
    "'; DROP TABLE orders; --",
    "{{ 7*7 }}",
    "../../etc/passwd",
    "\u{0}",
    "\u{1b}[31m",
    "9999999999999999999999999",
    "NaN",
];

fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let name = r.rsplit('/').next().unwrap_or("");
            resolve(doc, &doc["components"]["schemas"][name])
        }
        None => schema,
    }
}

/// A value of the schema's shape (`depth` keeps recursive schemas finite).
fn sample(doc: &Value, schema: &Value, rng: &mut Rng, depth: u32) -> Value {
    let s = resolve(doc, schema);
    if depth > 6 {
        return Value::Null;
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(options) = s.get(key).and_then(Value::as_array).filter(|o| !o.is_empty()) {
            return sample(doc, rng.pick(options), rng, depth + 1);
        }
    }
    if let Some(e) = s.get("enum").and_then(Value::as_array).filter(|e| !e.is_empty()) {
        return rng.pick(e).clone();
    }
    let ty = match s.get("type") {
        Some(Value::Array(types)) => types.iter().find(|t| *t != "null").and_then(Value::as_str).unwrap_or("string"),
        Some(Value::String(t)) => t.as_str(),
        _ if s.get("properties").is_some() => "object",
        _ => "string",
    };
    match ty {
        "object" => {
            let mut m = Map::new();
            if let Some(props) = s.get("properties").and_then(Value::as_object) {
                for (k, v) in props {
                    m.insert(k.clone(), sample(doc, v, rng, depth + 1));
                }
            }
            Value::Object(m)
        }
        "array" => {
            let n = rng.next() % 3;
            Value::Array((0..n).map(|_| sample(doc, &s["items"], rng, depth + 1)).collect())
        }
        "integer" => json!(*rng.pick(&[0i64, 1, 2, 50, 500, -1, i64::MAX, i64::MIN])),
        "number" => json!(*rng.pick(&[0.0f64, 1.5, -2.25, 1e300])),
        "boolean" => json!(rng.next().is_multiple_of(2)),
        _ => json!(rng.pick(STRINGS)),
    }
}

/// The same value with one part made wrong: a type swapped, a field dropped or added, a string made hostile.
fn mutate(v: &Value, rng: &mut Rng) -> Value {
    match (v, rng.next() % 6) {
        (Value::Object(m), 0) if !m.is_empty() => {
            let mut m = m.clone();
            let k = m.keys().nth((rng.next() % m.len() as u64) as usize).cloned().unwrap_or_default();
            m.remove(&k);
            Value::Object(m)
        }
        (Value::Object(m), 1) => {
            let mut m = m.clone();
            m.insert("unexpected_field".into(), json!(1));
            Value::Object(m)
        }
        (Value::Object(m), _) if !m.is_empty() => {
            let mut m = m.clone();
            let k = m.keys().nth((rng.next() % m.len() as u64) as usize).cloned().unwrap_or_default();
            let inner = m[&k].clone();
            m.insert(k, mutate(&inner, rng));
            Value::Object(m)
        }
        (Value::Array(items), _) if !items.is_empty() && rng.next().is_multiple_of(2) => {
            Value::Array(items.iter().map(|i| mutate(i, rng)).collect())
        }
        (_, 2) => json!("x".repeat(70_000)),
        (_, 3) => json!([]),
        (_, 4) => json!({"nested": {"deeper": [1, "two", null]}}),
        _ => json!(rng.pick(STRINGS)),
    }
}

fn query_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

async fn no_generated_request_gets_a_5xx_from_any_documented_operation(engine: Engine) {
    let app = spawn_app(engine).await;
    app.seed(&[("LAMP-01", 10)]).await;
    let doc: Value = app.client.get(app.url("/api/openapi.json")).send().await.unwrap().json().await.unwrap();
    let mut rng = Rng(23);
    // A connection of its own per request: a refusal sent before a body is read closes the connection, and a
    // pooled one could be reused in that instant.
    let client = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
    let mut failures = Vec::new();
    let mut sent = 0;
    let paths: BTreeMap<String, Value> =
        doc["paths"].as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    for (path, ops) in &paths {
        for (method, op) in ops.as_object().unwrap() {
            let Ok(m) = method.to_uppercase().parse::<Method>() else { continue };
            let params: Vec<Value> = op.get("parameters").and_then(Value::as_array).cloned().unwrap_or_default();
            let body_schema = op["requestBody"]["content"]["application/json"]["schema"].clone();
            let writes = matches!(m, Method::POST | Method::PUT | Method::PATCH);
            // An operation that takes a body its document does not describe still gets bodies, of every shape.
            let body_base = match (body_schema.is_null(), writes) {
                (false, _) => Some(sample(&doc, &body_schema, &mut rng, 0)),
                (true, true) => Some(json!({"code": "X-1", "name": "x", "items": [1], "at": "2026-11-20"})),
                (true, false) => None,
            };
            for case in 0..CASES {
                let mut url = path.clone();
                let mut query = Vec::new();
                for p in &params {
                    let name = p["name"].as_str().unwrap_or("");
                    let mut v = sample(&doc, &p["schema"], &mut rng, 0);
                    if case > 0 {
                        v = mutate(&v, &mut rng);
                    }
                    // Long enough to pass every field limit, short enough for a URL.
                    let text: String = query_value(&v).chars().take(2_000).collect();
                    match p["in"].as_str() {
                        Some("path") => {
                            let t = if text.is_empty() { "x".to_owned() } else { text };
                            let enc: String = t.bytes().map(|b| format!("%{b:02X}")).collect();
                            url = url.replace(&format!("{{{name}}}"), &enc);
                        }
                        Some("query") if case == 0 || rng.next().is_multiple_of(2) => {
                            query.push((name.to_owned(), text))
                        }
                        _ => {}
                    }
                }
                let mut req = client.request(m.clone(), app.url(&url)).bearer_auth(&app.admin).query(&query);
                req = match (&body_base, case) {
                    (Some(b), 0) => req.json(b),
                    (Some(b), c) if c % 4 == 3 => {
                        req.header("content-type", "application/json").body("{\"truncated\": [1, 2")
                    }
                    (Some(b), _) => req.json(&mutate(b, &mut rng)),
                    (None, c) if c % 5 == 4 => req.header("content-type", "application/json").body("{}"),
                    (None, _) => req,
                };
                let r = match req.send().await {
                    Ok(r) => r,
                    Err(e) => {
                        failures.push(format!("{method} {url}: connection failed: {e}"));
                        continue;
                    }
                };
                sent += 1;
                let status = r.status();
                let ct = r.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
                if status.is_server_error() {
                    let body = r.text().await.unwrap_or_default();
                    failures.push(format!("{method} {url} ?{query:?} (case {case}): {status} {body}"));
                } else if status.is_client_error() && !ct.starts_with("application/problem+json") {
                    failures.push(format!("{method} {url} (case {case}): {status} as {ct:?}, not problem+json"));
                }
            }
        }
    }
    assert!(sent > 500, "only {sent} requests were sent");
    assert!(failures.is_empty(), "{} of {sent} requests failed:\n{}", failures.len(), failures.join("\n"));
}
