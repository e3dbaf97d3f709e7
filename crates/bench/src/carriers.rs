//! `codflow-bench carriers`: each carrier connector booking against its protocol on the sandbox carrier process
//! (latency per booking, at a concurrency), then signed tracking pushes per aggregator and carrier taken by an
//! application on SQLite (pushes and events per second, latency per push; in process, without HTTP).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};
use codflow_app::App;
use codflow_app::attach::AttachInput;
use codflow_connectors::carriers::fourpx::FourPxAccount;
use codflow_connectors::carriers::jnt::{JntAccount, Sender};
use codflow_connectors::carriers::ninjavan::NinjaVanAccount;
use codflow_connectors::carriers::{
    Amount, BookingRequest, Carrier, CustomsItem, Flash, FourPx, Jnt, Naqel, NinjaVan, Party, Sandbox, ShipmentBooker,
    Smsa, Yanwen, YunExpress,
};
use codflow_domain::CarrierCode;
use codflow_domain::carrier_account::CarrierAccountInput;
use codflow_store::Engine;
use codflow_store::testing::TestDb;
use serde_json::json;

use crate::booking::{by, order, setup};
use crate::{machine, percentile, spawn_sandbox};

fn request(n: usize, country: &str, currency: &str) -> BookingRequest {
    BookingRequest {
        idempotency_key: format!("bench-{n}"),
        reference: format!("ord-{n}"),
        service: "standard".into(),
        shipper: Party {
            name: "Shenzhen DC".into(),
            line1: "Bao'an 1".into(),
            city: "Shenzhen".into(),
            country: "CN".into(),
            ..Party::default()
        },
        consignee: Party {
            name: "Noura Saleh".into(),
            phone: Some("+966501234567".into()),
            line1: "King Fahd Rd 12".into(),
            city: "Riyadh".into(),
            postal_code: Some("12211".into()),
            country: country.into(),
            ..Party::default()
        },
        pieces: vec![850],
        cod: None,
        declared_value: Amount { amount: "129.50".into(), currency: currency.into() },
        incoterm: "DDP".into(),
        items: vec![CustomsItem {
            description: "Desk lamp".into(),
            sku: "LAMP-01".into(),
            hs_code: Some("940540".into()),
            origin_country: Some("CN".into()),
            quantity: 1,
            unit_value: "129.50".into(),
            weight_g: 850,
        }],
    }
}

fn print_latencies(what: &str, mut lat: Vec<u64>, elapsed: Duration) {
    lat.sort_unstable();
    println!(
        "  {what:<26} {:>6} in {:>6.2} s: {:>8.0}/s  p50 {:>7.2} ms  p99 {:>7.2} ms",
        lat.len(),
        elapsed.as_secs_f64(),
        lat.len() as f64 / elapsed.as_secs_f64(),
        percentile(&lat, 0.50),
        percentile(&lat, 0.99)
    );
}

async fn book_many(
    name: &str,
    c: Carrier,
    country: &'static str,
    currency: &'static str,
    concurrency: usize,
    per_client: usize,
) -> Result<()> {
    for n in 0..5 {
        c.book(&request(9_000_000 + n, country, currency)).await.map_err(|e| anyhow!("{name} warm-up: {e}"))?;
    }
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..concurrency {
        let c = c.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(per_client);
            for i in 0..per_client {
                let t = Instant::now();
                c.book(&request(w * 100_000 + i, country, currency)).await.map_err(|e| anyhow!("{e}"))?;
                lat.push(t.elapsed().as_micros() as u64);
            }
            Ok::<_, anyhow::Error>(lat)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    print_latencies(&format!("book {name}"), all, started.elapsed());
    Ok(())
}

pub async fn carriers(concurrency: usize, per_client: usize, pushes: usize) -> Result<()> {
    let sb = spawn_sandbox(1.0).await?;
    println!("machine: {}; carriers' protocols on the sandbox carrier process {}", machine(), sb.url);
    println!(
        "booking, {concurrency} clients × {per_client} parcels each (label fetched where the carrier gives it apart):"
    );
    let t = Duration::from_secs(10);
    book_many("sandbox", Carrier::Sandbox(Sandbox::new(&sb.url, None, t)?), "SA", "SAR", concurrency, per_client)
        .await?;
    let fourpx = FourPxAccount {
        app_key: codflow_sandbox_carrier::fourpx::TEST_APP_KEY.into(),
        app_secret: codflow_sandbox_carrier::fourpx::TEST_APP_SECRET.into(),
        access_token: None,
        pickup: Default::default(),
    };
    book_many(
        "4px",
        Carrier::FourPx(FourPx::new(&format!("{}/4px", sb.url), fourpx, t)?),
        "SA",
        "SAR",
        concurrency,
        per_client,
    )
    .await?;
    let nv = NinjaVanAccount {
        client_id: codflow_sandbox_carrier::ninjavan::TEST_CLIENT_ID.into(),
        client_secret: codflow_sandbox_carrier::ninjavan::TEST_CLIENT_SECRET.into(),
        country: "my".into(),
    };
    book_many(
        "ninjavan",
        Carrier::NinjaVan(NinjaVan::new(&format!("{}/ninjavan", sb.url), nv, t)?),
        "MY",
        "MYR",
        concurrency,
        per_client,
    )
    .await?;
    let smsa = Smsa::new(&format!("{}/smsa", sb.url), codflow_sandbox_carrier::smsa::TEST_API_KEY, t)?;
    book_many("smsa", Carrier::Smsa(smsa), "SA", "SAR", concurrency, per_client).await?;
    let flash = Flash::new(
        &format!("{}/flash", sb.url),
        codflow_sandbox_carrier::flash::TEST_MCH_ID,
        codflow_sandbox_carrier::flash::TEST_SECRET,
        t,
    )?;
    book_many("flash", Carrier::Flash(flash), "TH", "THB", concurrency, per_client).await?;
    let yun = YunExpress::new(
        &format!("{}/yunexpress", sb.url),
        codflow_sandbox_carrier::yunexpress::TEST_CUSTOMER,
        codflow_sandbox_carrier::yunexpress::TEST_SECRET,
        t,
    )?;
    book_many("yunexpress", Carrier::YunExpress(yun), "SA", "SAR", concurrency, per_client).await?;
    use codflow_sandbox_carrier::jnt::{TEST_API_ACCOUNT, TEST_CUSTOMER_CODE, TEST_PASSWORD, TEST_PRIVATE_KEY};
    let jnt = JntAccount {
        api_account: TEST_API_ACCOUNT.into(),
        private_key: TEST_PRIVATE_KEY.into(),
        customer_code: TEST_CUSTOMER_CODE.into(),
        password: TEST_PASSWORD.into(),
        country: "my".into(),
        sender: Sender { phone: Some("+8675512345678".into()), address: None, postcode: Some("518000".into()) },
    };
    book_many(
        "jnt",
        Carrier::Jnt(Jnt::new(&format!("{}/jnt/my", sb.url), jnt, t)?),
        "MY",
        "MYR",
        concurrency,
        per_client,
    )
    .await?;
    let naqel = codflow_connectors::carriers::naqel::NaqelAccount {
        client_id: codflow_sandbox_carrier::naqel::TEST_CLIENT_ID.into(),
        password: codflow_sandbox_carrier::naqel::TEST_PASSWORD.into(),
        origin_city_code: "RUH".into(),
        ..Default::default()
    };
    let naqel = Naqel::new(&format!("{}/naqel/XMLShippingService.asmx", sb.url), naqel, t)?;
    book_many("naqel", Carrier::Naqel(naqel), "SA", "SAR", concurrency, per_client).await?;
    let yanwen = Yanwen::new(
        &format!("{}/yanwen", sb.url),
        None,
        codflow_sandbox_carrier::yanwen::TEST_USER_ID,
        codflow_sandbox_carrier::yanwen::TEST_TOKEN,
        "481",
        t,
    )?;
    book_many("yanwen", Carrier::Yanwen(yanwen), "AU", "AUD", concurrency, per_client).await?;
    let aramex = codflow_connectors::carriers::aramex::AramexAccount {
        user_name: codflow_sandbox_carrier::aramex::TEST_USER.into(),
        password: codflow_sandbox_carrier::aramex::TEST_PASSWORD.into(),
        account_number: codflow_sandbox_carrier::aramex::TEST_ACCOUNT.into(),
        account_pin: codflow_sandbox_carrier::aramex::TEST_PIN.into(),
        account_entity: "DXB".into(),
        account_country_code: "AE".into(),
        pickup: Default::default(),
    };
    let aramex = codflow_connectors::carriers::Aramex::new(&format!("{}/aramex/ShippingAPI.V2", sb.url), aramex, t)?;
    book_many("aramex", Carrier::Aramex(aramex), "SA", "SAR", concurrency, per_client).await?;
    if pushes > 0 {
        ingest(&sb.url, pushes, concurrency).await?;
    }
    Ok(())
}

async fn account(
    app: &App,
    code: &str,
    carrier: &str,
    base: String,
    creds: serde_json::Value,
    secret: &str,
) -> Result<()> {
    let input = CarrierAccountInput {
        code: Some(code.into()),
        carrier: Some(carrier.into()),
        name: Some(code.into()),
        environment: None,
        base_url: Some(base),
        credentials: Some(serde_json::from_value(creds)?),
        webhook_secret: Some(secret.into()),
    };
    app.fulfilment().put_carrier_account(None, input, by()).await.map_err(|e| anyhow!("{e}"))?;
    Ok(())
}

/// J&T's `digest` of a form-encoded push: base64 MD5 of its `bizContent` and the key.
fn jnt_digest(body: &[u8]) -> String {
    let biz = form_urlencoded::parse(body).find(|(k, _)| k == "bizContent").map(|(_, v)| v.into_owned());
    codflow_sandbox_carrier::jnt::digest(&biz.unwrap_or_default(), "bench-jnt-key")
}

/// Signed pushes of 17TRACK, Ninja Van and J&T for `n` attached parcels each, taken by an application on SQLite.
async fn ingest(sandbox: &str, n: usize, concurrency: usize) -> Result<()> {
    let db = TestDb::new(Engine::Sqlite).await;
    let store = codflow_store::Store::connect(&db.url).await?;
    drop(store);
    let key = codflow_app::shops::Sealer::from_hex(&codflow_app::shops::Sealer::generate_hex())
        .ok_or_else(|| anyhow!("key"))?;
    let base = setup(&db, sandbox).await?;
    drop(base);
    let store = codflow_store::Store::connect(&db.url).await?;
    let app = Arc::new(App::builder(store).secret_key(Some(key)).build());
    account(
        &app,
        "17track",
        "17track",
        format!("{sandbox}/17track"),
        json!({"api_token": codflow_sandbox_carrier::track17::TEST_TOKEN}),
        "bench-17track-key",
    )
    .await?;
    account(
        &app,
        "nv",
        "ninjavan",
        format!("{sandbox}/ninjavan"),
        json!({"client_id": "x", "client_secret": "y", "country": "sg"}),
        "bench-nv-secret",
    )
    .await?;
    account(
        &app,
        "jnt",
        "jnt",
        format!("{sandbox}/jnt/my"),
        json!({"api_account": "1", "private_key": "bench-jnt-key", "customer_code": "c", "password": "p", "country": "my"}),
        "bench-jnt-key",
    )
    .await?;
    let mut numbers = Vec::new();
    for i in 0..(3 * n) {
        let o = match app.intake().create_order(order(2_000_000 + i), by()).await.map_err(|e| anyhow!("{e}"))? {
            codflow_app::orders::IntakeOutcome::Created(o) | codflow_app::orders::IntakeOutcome::Existing(o) => o,
        };
        let (carrier, number) = match i / n {
            0 => ("yunexpress", format!("YT26{i:011}")),
            1 => ("ninjavan", format!("NVSG{i:09}")),
            _ => ("jnt", format!("63{i:010}")),
        };
        let input = AttachInput {
            order: o.id.to_string(),
            carrier: carrier.into(),
            tracking_number: number.clone(),
            ..Default::default()
        };
        app.fulfilment().attach_parcel(input, by()).await.map_err(|e| anyhow!("{e}"))?;
        numbers.push(number);
    }
    let at = |day: i64| {
        (time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_500 + day))
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    };
    let bodies17: Vec<Vec<u8>> = numbers[..n]
        .iter()
        .map(|num| {
            let events: Vec<_> = [("InTransit_Arrival", 4i64), ("InTransit_CustomsProcessing", 3), ("InTransit_CustomsReleased", 2), ("OutForDelivery_Other", 1), ("Delivered_Other", 0)]
                .iter()
                .map(|(s, d)| json!({"time_iso": at(-d), "time_utc": at(-d), "description": s, "location": "Riyadh", "stage": s.split('_').next(), "sub_status": s}))
                .collect();
            json!({"event": "TRACKING_UPDATED", "data": {"number": num, "carrier": 3011, "track_info": {"tracking": {"providers": [{"events": events}]}}}})
                .to_string()
                .into_bytes()
        })
        .collect();
    let bodies_jnt: Vec<Vec<u8>> = numbers[2 * n..]
        .iter()
        .map(|num| {
            let local = |d: i64| {
                let t = time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_500 - d);
                format!("{} 10:00:00", t.date())
            };
            let details: Vec<_> = [("10", 2i64), ("94", 1), ("100", 0)]
                .iter()
                .map(|(code, d)| json!({"scanTime": local(*d), "desc": "scan", "scanTypeCode": code, "scanNetworkCity": "Kuala Lumpur"}))
                .collect();
            let biz = json!([{"billCode": num, "details": details}]).to_string();
            form_urlencoded::Serializer::new(String::new()).append_pair("bizContent", &biz).finish().into_bytes()
        })
        .collect();
    let bodies_nv: Vec<Vec<u8>> = numbers[n..2 * n]
        .iter()
        .map(|num| json!({"tracking_id": num, "shipper_order_ref_no": "x", "timestamp": at(0), "status": "Delivered, Received by Customer", "is_parcel_on_rts_leg": false}).to_string().into_bytes())
        .collect();
    println!("tracking pushes taken by the application (SQLite, in process), {concurrency} senders:");
    push_many(
        &app,
        "17track",
        bodies17,
        5,
        concurrency,
        |b| codflow_sandbox_carrier::track17::sign(b, "bench-17track-key"),
        "sign",
    )
    .await?;
    push_many(
        &app,
        "ninjavan",
        bodies_nv,
        1,
        concurrency,
        |b| codflow_sandbox_carrier::ninjavan::signature("bench-nv-secret", b),
        "x-ninjavan-hmac-sha256",
    )
    .await?;
    push_many(&app, "jnt", bodies_jnt, 3, concurrency, jnt_digest, "digest").await?;
    Ok(())
}

async fn push_many(
    app: &Arc<App>,
    carrier: &str,
    bodies: Vec<Vec<u8>>,
    events_per_push: usize,
    concurrency: usize,
    sign: fn(&[u8]) -> String,
    header: &'static str,
) -> Result<()> {
    let bodies = Arc::new(bodies);
    let code = CarrierCode::parse(carrier)?;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..concurrency {
        let (app, bodies, code) = (app.clone(), bodies.clone(), code.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            for body in bodies.iter().skip(w).step_by(concurrency) {
                let sig = sign(body);
                let h = move |name: &str| (name == header).then(|| sig.clone());
                let t = Instant::now();
                app.tracking().carrier_webhook(&code, &h, body).await.map_err(|e| anyhow!("{e}"))?;
                lat.push(t.elapsed().as_micros() as u64);
            }
            Ok::<_, anyhow::Error>(lat)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    let elapsed = started.elapsed();
    let pushes = all.len();
    print_latencies(&format!("{carrier} pushes"), all, elapsed);
    println!(
        "  {:<26} {:>8.0} events/s",
        format!("{carrier} events"),
        (pushes * events_per_push) as f64 / elapsed.as_secs_f64()
    );
    Ok(())
}
