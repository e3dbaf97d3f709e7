//! `codflow simulate --carrier-lanes`: one lane through each carrier codflow books with, each carrier's protocol
//! served by the simulation's sandbox carrier process (the same parcels, journeys and clock): an account per
//! carrier, a channel for one market priced below the sandbox's own so allocation sends that market there, and
//! pushes in the carrier's own format where it pushes. What each lane booked, tracked and finished is printed.

use anyhow::{Result, anyhow};
use codflow_app::App;
use codflow_domain::carrier_account::CarrierAccountInput;
use codflow_domain::{Actor, ChannelCode};
use serde_json::{Value, json};

use crate::seed::logistics::{bands, channel};

fn by() -> Actor {
    Actor::Worker("simulation".into())
}

/// A carrier's lane: its account, channel and market.
pub struct Lane {
    pub carrier: &'static str,
    pub channel: &'static str,
    pub country: &'static str,
    /// The path under the sandbox carrier where its protocol is served.
    path: &'static str,
    credentials: Value,
    /// Whether the lane takes cash on delivery (the China-side forwarders take prepaid parcels only).
    cod: bool,
    /// The push format the sandbox carrier sends this carrier's events in, when the carrier pushes.
    push: Option<&'static str>,
}

const WEBHOOK_SECRET: &str = "simulation-lane-secret";

pub fn lanes() -> Vec<Lane> {
    use codflow_sandbox_carrier as sb;
    vec![
        Lane {
            carrier: "smsa",
            channel: "SMSA-OM",
            country: "OM",
            path: "/smsa",
            credentials: json!({"api_key": sb::smsa::TEST_API_KEY}),
            cod: true,
            push: None,
        },
        Lane {
            carrier: "naqel",
            channel: "NAQEL-SA",
            country: "SA",
            path: "/naqel/XMLShippingService.asmx",
            credentials: json!({"client_id": sb::naqel::TEST_CLIENT_ID, "password": sb::naqel::TEST_PASSWORD,
                                "origin_city_code": "RUH", "city_codes": "Jizan=GIZ"}),
            cod: true,
            push: None,
        },
        Lane {
            carrier: "ninjavan",
            channel: "NV-PH",
            country: "PH",
            path: "/ninjavan",
            credentials: json!({"client_id": sb::ninjavan::TEST_CLIENT_ID,
                                "client_secret": sb::ninjavan::TEST_CLIENT_SECRET, "country": "ph"}),
            cod: true,
            push: Some("ninjavan"),
        },
        Lane {
            carrier: "jnt",
            channel: "JNT-MY",
            country: "MY",
            path: "/jnt/my",
            credentials: json!({"api_account": sb::jnt::TEST_API_ACCOUNT, "private_key": sb::jnt::TEST_PRIVATE_KEY,
                                "customer_code": sb::jnt::TEST_CUSTOMER_CODE, "password": sb::jnt::TEST_PASSWORD,
                                "country": "my", "sender_phone": "+8675512345678",
                                "sender_address": "Bao'an District, Shenzhen", "sender_postcode": "518000"}),
            cod: true,
            push: Some("jnt"),
        },
        Lane {
            carrier: "flash",
            channel: "FLASH-TH",
            country: "TH",
            path: "/flash",
            credentials: json!({"mch_id": sb::flash::TEST_MCH_ID, "secret": sb::flash::TEST_SECRET}),
            cod: true,
            push: None,
        },
        Lane {
            carrier: "4px",
            channel: "4PX-PL",
            country: "PL",
            path: "/4px",
            credentials: json!({"app_key": sb::fourpx::TEST_APP_KEY, "app_secret": sb::fourpx::TEST_APP_SECRET}),
            cod: false,
            push: None,
        },
        Lane {
            carrier: "aramex",
            channel: "ARAMEX-AE",
            country: "AE",
            path: "/aramex/ShippingAPI.V2",
            credentials: json!({"user_name": sb::aramex::TEST_USER, "password": sb::aramex::TEST_PASSWORD,
                                "account_number": sb::aramex::TEST_ACCOUNT, "account_pin": sb::aramex::TEST_PIN,
                                "account_entity": "DXB", "account_country_code": "AE"}),
            cod: true,
            push: None,
        },
        Lane {
            carrier: "yanwen",
            channel: "YW-MX",
            country: "MX",
            path: "/yanwen",
            // Yanwen declares customs values in US dollars: the lane's pesos are converted at the shop's rate.
            credentials: json!({"user_id": sb::yanwen::TEST_USER_ID, "api_token": sb::yanwen::TEST_TOKEN,
                                "channel_id": "481"}),
            cod: false,
            push: None,
        },
        Lane {
            carrier: "yunexpress",
            channel: "YUN-RO",
            country: "RO",
            path: "/yunexpress",
            credentials: json!({"customer_code": sb::yunexpress::TEST_CUSTOMER, "api_secret": sb::yunexpress::TEST_SECRET}),
            cod: false,
            push: None,
        },
    ]
}

/// Creates each lane's account (pointing at the sandbox carrier at `sandbox`) and channel.
pub async fn set_up(app: &App, sandbox: &str) -> Result<Vec<Lane>> {
    let lanes = lanes();
    let mut specs = Vec::new();
    for l in &lanes {
        let credentials = l
            .credentials
            .as_object()
            .map(|o| o.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned())).collect());
        let input = CarrierAccountInput {
            code: Some(format!("sim-{}", l.carrier)),
            carrier: Some(l.carrier.into()),
            name: Some(format!("{} (simulation)", codflow_connectors::carriers::company(l.carrier))),
            environment: Some("test".into()),
            base_url: Some(format!("{sandbox}{}", l.path)),
            credentials,
            webhook_secret: l.push.map(|_| match l.carrier {
                // J&T signs its pushes with the account's private key.
                "jnt" => codflow_sandbox_carrier::jnt::TEST_PRIVATE_KEY.to_owned(),
                _ => WEBHOOK_SECRET.to_owned(),
            }),
        };
        app.fulfilment()
            .put_carrier_account(Some(&format!("sim-{}", l.carrier)), input, by())
            .await
            .map_err(|e| anyhow!("the {} lane's account: {e}", l.carrier))?;
        // Below the sandbox's own cards for the market, so allocation sends it this way.
        let zones = json!([{"name": l.country.to_ascii_lowercase(), "countries": [l.country], "transit_days": 5,
            "bands": bands(&[(0, 500, "3.10"), (500, 1000, "4.40"), (1000, 2000, "6.90"), (2000, 30000, "15.00")])}]);
        let extra = json!({"carrier_account": format!("sim-{}", l.carrier), "capabilities": {"cod": l.cod}});
        let name = format!("{} {}", codflow_connectors::carriers::company(l.carrier), l.country);
        specs.push(channel(l.channel, &name, l.carrier, "standard", &[l.country], zones, extra));
    }
    app.fulfilment().put_channels(&specs, by()).await.map_err(|e| anyhow!("the lanes' channels: {e}"))?;
    Ok(lanes)
}

/// Asks the sandbox carrier at `sandbox` to push each pushing lane's events to this app at `api` in the
/// carrier's own format.
pub async fn register_pushes(lanes: &[Lane], sandbox: &str, api: &str) -> Result<()> {
    let client = reqwest::Client::new();
    for l in lanes {
        let Some(format) = l.push else { continue };
        let secret = if l.carrier == "jnt" { codflow_sandbox_carrier::jnt::TEST_PRIVATE_KEY } else { WEBHOOK_SECRET };
        let hook = json!({"url": format!("{api}/api/v1/webhooks/carriers/{}", l.carrier), "secret": secret,
                          "format": format});
        let r = client.post(format!("{sandbox}/v1/webhooks")).json(&hook).send().await?;
        if !r.status().is_success() {
            return Err(anyhow!("the sandbox carrier refused the {} push hook: {}", l.carrier, r.text().await?));
        }
    }
    Ok(())
}

/// Per lane: parcels booked, those with scans, those whose journey ended, and those moved by a push.
pub async fn report(app: &App, lanes: &[Lane]) -> Result<String> {
    let mut out = Vec::new();
    for l in lanes {
        let filter = codflow_store::logistics::ShipmentFilter {
            channel: Some(ChannelCode::parse(l.channel)?),
            ..Default::default()
        };
        let (shipments, _) = app.fulfilment().shipments(filter, 10_000, None).await.map_err(|e| anyhow!("{e}"))?;
        let (mut booked, mut tracked, mut finished, mut pushed) = (0, 0, 0, 0);
        for s in shipments.iter().filter(|s| s.tracking_number.is_some()) {
            booked += 1;
            let Ok(t) = app.tracking().tracking(&s.id).await else { continue };
            tracked += usize::from(!t.events.is_empty());
            finished += usize::from(t.tracked.progress.status.is_final());
            pushed += usize::from(t.events.iter().any(|e| e.source == "webhook"));
        }
        out.push(format!("{} {booked} booked/{tracked} tracked/{finished} finished/{pushed} pushed", l.carrier));
    }
    Ok(format!("lanes:        {}", out.join(", ")))
}
