//! `codflow bench quotes`: `POST /api/v1/rates` from N concurrent clients for a fixed time against channels
//! of six zones × ten weight bands, each parcel a different weight and destination, so the figure is the
//! server's rating path (auth, JSON, eligibility, every channel's card, ranking) with the driver sharing the
//! machine.

use anyhow::{Result, ensure};
use codflow_app::peak_rss_kib;
use codflow_store::Engine;
use codflow_store::testing::TestDb;
use serde_json::{Value, json};

use crate::{Server, latency_line, machine, wire};

/// Six zones of GCC countries (and regions of Saudi Arabia), ten bands each up to 30 kg.
pub fn channel(code: &str, price_step: i64, transit_base: i64) -> Value {
    let zones: Vec<Value> = [
        ("riyadh", json!({"countries": ["SA"], "regions": ["Riyadh"]})),
        ("sa", json!({"countries": ["SA"]})),
        ("ae", json!({"countries": ["AE"]})),
        ("kw", json!({"countries": ["KW"]})),
        ("qa-bh", json!({"countries": ["QA", "BH"]})),
        ("om", json!({"countries": ["OM"]})),
    ]
    .iter()
    .enumerate()
    .map(|(z, (name, place))| {
        let bands: Vec<Value> = (0..10)
            .map(|b| {
                let (from, to) = (b * 3000, (b + 1) * 3000);
                let minor = 1500 + (z as i64) * 300 + b * price_step;
                json!({"from_g": from, "to_g": to, "price": format!("{}.{:02}", minor / 100, minor % 100)})
            })
            .collect();
        let mut zone = json!({"name": name, "transit_days": transit_base + z as i64, "bands": bands});
        for (k, v) in place.as_object().into_iter().flatten() {
            zone[k] = v.clone();
        }
        zone
    })
    .collect();
    json!({
        "code": code, "name": code, "carrier": "sandbox", "service": "standard",
        "coverage": {"countries": ["SA", "AE", "KW", "QA", "BH", "OM"]},
        "capabilities": {"cod": true, "ddp": true},
        "rate_card": {"currency": "SAR", "cod_fee": {"pct": "2"}, "fuel_surcharge_pct": "10", "zones": zones}
    })
}

/// A quote request of its own for client `w`'s `i`th call.
fn request(w: usize, i: usize) -> Value {
    const PLACES: [(&str, &str); 7] = [
        ("SA", "Riyadh"),
        ("SA", "Makkah"),
        ("AE", "Dubai"),
        ("KW", "Al Asimah"),
        ("QA", "Doha"),
        ("BH", "Capital"),
        ("OM", "Muscat"),
    ];
    let (country, region) = PLACES[(w + i) % PLACES.len()];
    let weight = 100 + ((w * 7919 + i * 104_729) % 29_000);
    let goods = 50 + (i % 900);
    json!({
        "destination": {"country": country, "region": region},
        "parcels": [{"weight_g": weight, "length_cm": 30, "width_cm": 20, "height_cm": 10}],
        "goods_value": {"amount": format!("{goods}.00"), "currency": "SAR"},
        "cod_amount": {"amount": format!("{goods}.00"), "currency": "SAR"},
        "incoterm": "DDP"
    })
}

pub async fn quotes(concurrency: usize, seconds: u64, channels: usize, engine: Engine) -> Result<()> {
    let db = TestDb::new(engine).await;
    let server = Server::start(&db.url).await?;
    let (base, pid) = (server.base.clone(), server.pid);
    let client = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build()?;
    let auth = format!("Bearer {}", server.token);
    // Prices in the card's currency, duties and VAT of each destination: what a DDP quote needs.
    client
        .put(format!("{base}/api/v1/settings"))
        .header("authorization", &auth)
        .json(&json!({"base_currency": "SAR"}))
        .send()
        .await?
        .error_for_status()?;
    for (country, vat) in [("SA", "15"), ("AE", "5"), ("KW", "0"), ("QA", "0"), ("BH", "10"), ("OM", "5")] {
        let rule = json!({"country": country, "effective_from": "2025-01-01", "duty_pct": "5", "vat_pct": vat,
            "duty_de_minimis": {"amount": {"amount": "1000", "currency": "SAR"}, "basis": "goods"}, "source": "bench"});
        client
            .put(format!("{base}/api/v1/duty-rules"))
            .header("authorization", &auth)
            .json(&rule)
            .send()
            .await?
            .error_for_status()?;
    }
    for c in 0..channels {
        let spec = channel(&format!("CH{c}"), 250 + 25 * c as i64, 2 + (c % 4) as i64);
        client
            .post(format!("{base}/api/v1/channels"))
            .header("authorization", &auth)
            .json(&spec)
            .send()
            .await?
            .error_for_status()?;
    }
    // Every answer checked once before the load: each channel quoted.
    let probe: Value = client
        .post(format!("{base}/api/v1/rates"))
        .header("authorization", &auth)
        .json(&request(0, 0))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let quoted = probe["quotes"].as_array().map_or(0, Vec::len);
    ensure!(quoted == channels, "{quoted} of {channels} channels quoted: {probe}");
    let addr = base.trim_start_matches("http://").to_owned();
    let path = "/api/v1/rates";
    let requests: Vec<std::sync::Arc<[u8]>> = (0..64)
        .map(|i| Ok(wire::post_json(&addr, path, &server.token, &serde_json::to_vec(&request(0, i))?).into()))
        .collect::<Result<_>>()?;
    let run =
        wire::drive(&addr, pid, concurrency, seconds, 200, move |w, i| requests[(w * 7 + i) % requests.len()].clone())?;
    let rss = peak_rss_kib(pid).unwrap_or(0);
    server.stop().await;
    let name = crate::engine_name(engine);
    println!("## HTTP quotes, {name}, {concurrency} clients, {seconds} s, {channels} channels of 6 zones × 10 bands");
    println!("machine:        {}", machine());
    println!("quotes:         {} ({} failed)", run.latencies.len(), run.failures);
    println!("throughput:     {:.0} quotes/s", run.latencies.len() as f64 / run.seconds);
    println!("latency ms:     {}", latency_line(&run.latencies));
    println!("CPU µs/quote:   server {}, driver {}", run.cpu_per_call.0, run.cpu_per_call.1);
    println!("server peak RSS: {:.1} MiB", rss as f64 / 1024.0);
    ensure!(run.failures == 0, "{} quotes failed", run.failures);
    Ok(())
}
