//! 4PX (递四方) open platform, FOP: the direct-shipping (`ds.xms.*`) and tracking (`tr.order.tracking.get`) methods
//! as documented at open.4px.com ("API接入说明" and each method's page) and called by 4PX's official SDKs. One
//! gateway, `POST {base}/router/api/service`; the common parameters in the query, signed with MD5 over
//! `app_key…format…method…timestamp…v…` + the body + the app secret; the business parameters as a JSON body;
//! replies carry `result` "1"/"0" and `errors` on HTTP 200.
//!
//! Bookings are idempotent on our side: the shipment id goes as `ref_no`, which 4PX keeps unique, and a booking
//! refused because its `ref_no` exists is answered by looking that order up (`ds.xms.order.get`). 4PX books no
//! cash on delivery in these methods: a COD shipment is refused before any call.
//!
//! Bags and pickups use the seller-side collection methods (listed on open.4px.com and called by 4PX's SDKs):
//! a bag is registered with `ds.xms.api.collect.create.big` (the account's pickup point, our bag code as
//! `bag_no`, its parcels' numbers) and 4PX answers its `bag_collect_no`; the pickup is booked for the day with
//! `ds.xms.api.collect.create.order`, whose `collect_no` is the manifest number.

pub mod transformers;

use std::time::Duration;

use super::{
    BagRequest, Booking, BookingRequest, CarrierError, CarrierEvent, CarrierManifest, CarrierRate, ManifestRequest,
    Manifests, RateQuoter, RateRequest, ShipmentBooker, TrackingSource, transport,
};
use serde_json::Value;
use transformers::Reply;

/// The name channels, mappings and accounts use for this carrier.
pub const CODE: &str = "4px";
pub const COMPANY: &str = "4PX";
/// The API version each method is called at.
const V: &str = "1.1.0";

#[derive(Clone, Debug)]
pub struct FourPxAccount {
    pub app_key: String,
    pub app_secret: String,
    /// Only for customers who reach 4PX through a platform (type A); direct customers have none.
    pub access_token: Option<String>,
    /// Where 4PX collects the account's bags.
    pub pickup: PickupPoint,
}

/// The pickup point 4PX's collection methods take (`pickup_info`); a warehouse in codflow has no street address,
/// so the account carries it. Bags and pickups are refused before any call without a name, phone, city and
/// address.
#[derive(Clone, Debug, Default)]
pub struct PickupPoint {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub province: Option<String>,
    pub city: Option<String>,
    pub district: Option<String>,
    pub address: Option<String>,
    pub zip: Option<String>,
}

#[derive(Clone)]
pub struct FourPx {
    client: reqwest::Client,
    base: String,
    account: FourPxAccount,
    timeout_s: u64,
}

impl FourPx {
    /// `base` is the gateway's origin, e.g. `https://open.4px.com` (test: `https://open-test.4px.com`).
    pub fn new(base: &str, account: FourPxAccount, timeout: Duration) -> Result<FourPx, CarrierError> {
        reqwest::Url::parse(base).map_err(|e| CarrierError::Config(format!("4PX url {base:?}: {e}")))?;
        if account.app_key.trim().is_empty() || account.app_secret.trim().is_empty() {
            return Err(CarrierError::Config("4PX needs an app key and an app secret".into()));
        }
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| CarrierError::Config(format!("HTTP client: {e}")))?;
        Ok(FourPx { client, base: base.trim_end_matches('/').to_owned(), account, timeout_s: timeout.as_secs().max(1) })
    }

    async fn call(&self, method: &str, body: &Value) -> Result<Value, CarrierError> {
        let body = body.to_string();
        let timestamp = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).to_string();
        let sign =
            transformers::sign(&self.account.app_key, method, &timestamp, V, body.as_bytes(), &self.account.app_secret);
        let mut query = vec![
            ("app_key", self.account.app_key.as_str()),
            ("format", "json"),
            ("method", method),
            ("timestamp", timestamp.as_str()),
            ("v", V),
            ("sign", sign.as_str()),
            ("language", "en"),
        ];
        if let Some(t) = &self.account.access_token {
            query.push(("access_token", t));
        }
        let r = self
            .client
            .post(format!("{}/router/api/service", self.base))
            .query(&query)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| transport(e, self.timeout_s))?;
        let status = r.status();
        let retry_after = r.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
        let bytes = r.bytes().await.map_err(|e| transport(e, self.timeout_s))?;
        transformers::read(status.as_u16(), retry_after, &bytes)
    }

    /// The order 4PX holds under our `ref_no`, when a booking was made before.
    async fn existing(&self, ref_no: &str) -> Result<Option<Value>, CarrierError> {
        let data = self.call("ds.xms.order.get", &serde_json::json!({"request_no": ref_no})).await?;
        Ok(data.as_array().and_then(|a| a.first()).cloned())
    }
}

impl ShipmentBooker for FourPx {
    async fn book(&self, req: &BookingRequest) -> Result<Booking, CarrierError> {
        let body = transformers::create_body(req)?;
        let created = match self.call("ds.xms.order.create", &body).await {
            Ok(d) => d,
            Err(CarrierError::Rejected { code, .. }) if code == transformers::REF_NO_EXISTS => {
                self.existing(&req.idempotency_key).await?.ok_or_else(|| {
                    CarrierError::Malformed("4PX says the ref_no exists but does not return its order".into())
                })?
            }
            Err(e) => return Err(e),
        };
        let numbers = transformers::Numbers::read(&created)?;
        // The label is asked for once the order exists; without it the parcel is still booked, and the label
        // can be printed from 4PX's portal.
        let label = self
            .call(
                "ds.xms.label.get",
                &serde_json::json!({"request_no": numbers.tracking, "label_size": "label_100x150"}),
            )
            .await;
        Ok(numbers.into_booking(label))
    }

    async fn cancel(&self, booking: &Booking) -> Result<(), CarrierError> {
        let body =
            serde_json::json!({"request_no": booking.tracking_number, "cancel_reason": "cancelled by the seller"});
        self.call("ds.xms.order.cancel", &body).await.map(|_| ())
    }
}

impl TrackingSource for FourPx {
    async fn track(&self, tracking_number: &str) -> Result<Vec<CarrierEvent>, CarrierError> {
        let data = self.call("tr.order.tracking.get", &serde_json::json!({"deliveryOrderNo": tracking_number})).await?;
        transformers::events(tracking_number, &data)
    }
}

impl RateQuoter for FourPx {
    async fn rate(&self, req: &RateRequest) -> Result<CarrierRate, CarrierError> {
        let data = self.call("ds.xms.estimated_cost.get", &transformers::rate_body(req)?).await?;
        Reply::rate(&data)
    }
}

impl Manifests for FourPx {
    async fn register_bag(&self, req: &BagRequest) -> Result<String, CarrierError> {
        let body = transformers::collect_bag_body(&self.account.pickup, req)?;
        let data = self.call("ds.xms.api.collect.create.big", &body).await?;
        transformers::bag_collect_no(&data, &req.reference)
    }

    async fn submit_manifest(&self, req: &ManifestRequest) -> Result<CarrierManifest, CarrierError> {
        let body = transformers::collect_order_body(&self.account.pickup, time::OffsetDateTime::now_utc())?;
        let data = self.call("ds.xms.api.collect.create.order", &body).await?;
        let number = data["collect_no"]
            .as_str()
            .filter(|n| !n.trim().is_empty())
            .ok_or_else(|| CarrierError::Malformed(format!("4PX booked a pickup without a collect_no: {data}")))?;
        Ok(CarrierManifest {
            number: number.to_owned(),
            parcels: req.tracking_numbers.len() as i64,
            weight_g: req.weight_g,
        })
    }
}
