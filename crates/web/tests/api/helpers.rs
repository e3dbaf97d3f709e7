use std::net::SocketAddr;

use codflow_app::App;
use codflow_domain::Role;
use codflow_store::testing::TestDb;
use codflow_store::{Engine, Store};
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};

/// A running server on port 0 with a fresh database, and tokens for every role.
pub struct TestApp {
    pub addr: SocketAddr,
    pub client: Client,
    pub admin: String,
    pub tokens: Vec<(Role, String)>,
    /// The app's store, for driving workers (the notification dispatcher) from a test.
    pub store: Store,
    /// The sandbox carrier's address, when the app books with one.
    pub carrier: Option<String>,
    _db: TestDb,
}

pub async fn spawn_app(engine: Engine) -> TestApp {
    spawn_app_with(engine, codflow_app::booking::Carriers::default()).await
}

/// A server booking with the sandbox carrier, served in this process on a port of its own over its own
/// HTTP protocol.
pub async fn spawn_app_with_sandbox(engine: Engine) -> TestApp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind carrier");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let config = codflow_sandbox_carrier::Config { seed: 7, ..Default::default() };
    tokio::spawn(async move { axum::serve(listener, codflow_sandbox_carrier::router(config)).await });
    let sandbox = codflow_connectors::carriers::Sandbox::new(&url, None, std::time::Duration::from_secs(10))
        .expect("sandbox client");
    let carriers = codflow_app::booking::Carriers {
        sandbox: Some(codflow_connectors::carriers::Carrier::Sandbox(sandbox)),
        ..Default::default()
    };
    let mut app = spawn_app_with(engine, carriers).await;
    app.carrier = Some(url);
    app
}

pub async fn spawn_app_with(engine: Engine, carriers: codflow_app::booking::Carriers) -> TestApp {
    let db = TestDb::new(engine).await;
    let store = Store::connect(&db.url).await.expect("connect");
    store.migrate().await.expect("migrate");
    let key = codflow_app::shops::Sealer::from_hex(&codflow_app::shops::Sealer::generate_hex()).unwrap();
    let app = App::builder(store.clone()).carriers(carriers).secret_key(Some(key)).build();
    let mut tokens = Vec::new();
    for role in Role::ALL {
        let (_, secret) = app.admin().create_token(role, &format!("test {role}")).await.expect("token");
        tokens.push((role, secret));
    }
    // Shop orders are processed as in production; pulls only when a test asks.
    let day = std::time::Duration::from_secs(24 * 3600);
    app.channels().start_channel_sync(codflow_app::channel_sync::SyncSchedule {
        first_pull_after: day,
        pull_every: day,
        stock_every: day,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, codflow_web::router(app)).await });
    let admin = tokens[0].1.clone();
    TestApp { addr, client: Client::new(), admin, tokens, store, carrier: None, _db: db }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn token(&self, role: Role) -> &str {
        &self.tokens.iter().find(|(r, _)| *r == role).expect("token for role").1
    }

    pub async fn post(&self, path: &str, body: &Value) -> Response {
        self.post_as(&self.admin, path, body).await
    }

    pub async fn post_as(&self, token: &str, path: &str, body: &Value) -> Response {
        self.client.post(self.url(path)).bearer_auth(token).json(body).send().await.expect("request")
    }

    pub async fn post_raw(&self, path: &str, body: impl Into<reqwest::Body>) -> Response {
        self.client
            .post(self.url(path))
            .bearer_auth(&self.admin)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn put(&self, path: &str, body: &Value) -> Response {
        self.client.put(self.url(path)).bearer_auth(&self.admin).json(body).send().await.expect("request")
    }

    pub async fn delete(&self, path: &str) -> Response {
        self.client.delete(self.url(path)).bearer_auth(&self.admin).send().await.expect("request")
    }

    /// Creates a rule and returns it.
    pub async fn rule(&self, condition: &str, action: &str, reason: &str) -> Value {
        let body = json!({"name": reason, "condition": condition, "action": action, "reason": reason});
        json_of(self.post("/api/v1/rules", &body).await, StatusCode::CREATED).await
    }

    pub async fn get(&self, path: &str) -> Response {
        self.get_as(&self.admin, path).await
    }

    pub async fn get_as(&self, token: &str, path: &str) -> Response {
        self.client.get(self.url(path)).bearer_auth(token).send().await.expect("request")
    }

    /// A warehouse SZ1 in China and the given SKUs with the given stock there.
    pub async fn seed(&self, stock: &[(&str, i64)]) {
        let r = self.post("/api/v1/warehouses", &json!({"code": "SZ1", "name": "Shenzhen", "country": "CN"})).await;
        assert_eq!(r.status(), StatusCode::CREATED);
        for (sku, on_hand) in stock {
            let r = self
                .post(
                    "/api/v1/products",
                    &json!({"sku": sku, "title": "Lamp", "unit_weight_g": 420, "unit_cost": {"amount": "12.00", "currency": "CNY"},
                            "hs_code": "940540", "origin_country": "CN", "category": "home"}),
                )
                .await;
            assert_eq!(r.status(), StatusCode::CREATED);
            let r = self.put(&format!("/api/v1/stock/SZ1/{sku}"), &json!({"on_hand": on_hand})).await;
            assert_eq!(r.status(), StatusCode::OK);
        }
    }

    pub async fn stock(&self, sku: &str) -> Value {
        json_of(self.get(&format!("/api/v1/stock/SZ1/{sku}")).await, StatusCode::OK).await
    }

    /// Every order, following cursors.
    pub async fn all_orders(&self) -> Vec<Value> {
        let mut out = Vec::new();
        let mut cursor = String::new();
        loop {
            let page =
                json_of(self.get(&format!("/api/v1/orders?limit=500&cursor={cursor}")).await, StatusCode::OK).await;
            out.extend(page["items"].as_array().expect("items").iter().cloned());
            match page["next_cursor"].as_str() {
                Some(c) => cursor = c.to_owned(),
                None => return out,
            }
        }
    }
}

/// Asserts the status and returns the JSON body.
pub async fn json_of(r: Response, status: StatusCode) -> Value {
    let got = r.status();
    let ct = r.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let text = r.text().await.expect("body");
    assert_eq!(got, status, "body: {text}");
    if !got.is_success() {
        assert_eq!(ct, "application/problem+json", "errors are problem+json");
    }
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

pub fn order(external_id: &str, sku: &str, quantity: i64) -> Value {
    json!({
        "store": "manual", "external_id": external_id, "placed_at": "2026-11-20T10:00:00Z", "currency": "SAR",
        "payment_method": "cod",
        "buyer": {"name": "Noura Al-Qahtani", "phone": "+966501234567", "email": "noura@example.com"},
        "shipping_address": {"name": "Noura Al-Qahtani", "phone": "0501234567", "line1": "King Fahd Rd 12", "line2": null,
                             "city": "Riyadh", "region": "Riyadh Province", "postal_code": "12211", "country": "SA"},
        "lines": [{"sku": sku, "quantity": quantity, "unit_price": {"amount": "59.00", "currency": "SAR"}}],
        "shipping_fee": {"amount": "10.00", "currency": "SAR"}
    })
}

/// The paths named in a problem's `errors`.
pub fn error_paths(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|a| a.iter().filter_map(|e| e["path"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}
