//! YunExpress (云途物流) OMS API (oms.api.yunexpress.com; its API documents and the SDKs built on them): Basic
//! authorisation with the customer code and API secret; `POST /api/WayBill/CreateOrder`, `GET
//! /api/WayBill/GetOrder`, `POST /api/WayBill/Delete`, `POST /api/Label/Print`, `GET /api/Tracking/GetTrackInfo`,
//! `GET /api/Freight/GetPriceTrial`; replies carry `Code` "0000" on success and each order's `Success` and `Remark`.
//!
//! Our shipment id is the `CustomerOrderNumber`; the connector asks `GetOrder` for it first, so a retry after a
//! timeout finds the order the first attempt made. YunExpress lanes take no cash on delivery: a COD shipment is
//! refused before any call.

pub mod transformers;

use std::time::Duration;

use super::{
    Booking, BookingRequest, CarrierError, CarrierEvent, CarrierRate, RateQuoter, RateRequest, ShipmentBooker,
    TrackingSource, transport,
};
use base64::Engine as _;
use serde_json::{Value, json};

pub const CODE: &str = "yunexpress";
pub const COMPANY: &str = "YunExpress";

#[derive(Clone)]
pub struct YunExpress {
    client: reqwest::Client,
    base: String,
    auth: String,
    timeout_s: u64,
}

impl YunExpress {
    /// `base` is the API host, e.g. `http://oms.api.yunexpress.com`.
    pub fn new(base: &str, customer: &str, secret: &str, timeout: Duration) -> Result<YunExpress, CarrierError> {
        reqwest::Url::parse(base).map_err(|e| CarrierError::Config(format!("YunExpress url {base:?}: {e}")))?;
        if customer.trim().is_empty() || secret.trim().is_empty() {
            return Err(CarrierError::Config("YunExpress needs a customer code and an API secret".into()));
        }
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| CarrierError::Config(format!("HTTP client: {e}")))?;
        let auth =
            format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{customer}&{secret}")));
        Ok(YunExpress {
            client,
            base: base.trim_end_matches('/').to_owned(),
            auth,
            timeout_s: timeout.as_secs().max(1),
        })
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Value, CarrierError> {
        let mut r = self
            .client
            .request(method, format!("{}{path}", self.base))
            .header("authorization", &self.auth)
            .query(query);
        if let Some(b) = body {
            r = r.json(b);
        }
        let r = r.send().await.map_err(|e| transport(e, self.timeout_s))?;
        let status = r.status().as_u16();
        let retry = r.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
        let bytes = r.bytes().await.map_err(|e| transport(e, self.timeout_s))?;
        transformers::read(status, retry, &bytes)
    }

    async fn label(&self, waybill: &str) -> Result<Value, CarrierError> {
        let item = self.call(reqwest::Method::POST, "/api/Label/Print", &[], Some(&json!([waybill]))).await?;
        Ok(json!({"label_url": item[0]["Url"]}))
    }
}

impl ShipmentBooker for YunExpress {
    async fn book(&self, req: &BookingRequest) -> Result<Booking, CarrierError> {
        let body = transformers::order_body(req)?;
        let found = self
            .call(reqwest::Method::GET, "/api/WayBill/GetOrder", &[("OrderNumber", &req.idempotency_key)], None)
            .await?;
        let item = if found["WayBillNumber"].as_str().is_some_and(|w| !w.is_empty()) {
            found
        } else {
            let items = self.call(reqwest::Method::POST, "/api/WayBill/CreateOrder", &[], Some(&json!([body]))).await?;
            transformers::created(&items, &req.idempotency_key)?
        };
        let waybill = item["WayBillNumber"].as_str().filter(|w| !w.is_empty());
        let waybill = waybill
            .ok_or_else(|| CarrierError::Malformed("YunExpress's order has no WayBillNumber".into()))?
            .to_owned();
        let label = match self.label(&waybill).await {
            Ok(l) => l,
            Err(e) => json!({"label_error": e.to_string()}),
        };
        let mut label_data = label;
        label_data["tracking_number"] = item["TrackingNumber"].clone();
        Ok(Booking { tracking_number: waybill.clone(), carrier_ref: waybill, sort_code: None, label_data })
    }

    async fn cancel(&self, booking: &Booking) -> Result<(), CarrierError> {
        let body = json!({"OrderType": 1, "OrderNumber": booking.tracking_number});
        self.call(reqwest::Method::POST, "/api/WayBill/Delete", &[], Some(&body)).await.map(|_| ())
    }
}

impl TrackingSource for YunExpress {
    async fn track(&self, number: &str) -> Result<Vec<CarrierEvent>, CarrierError> {
        let item =
            self.call(reqwest::Method::GET, "/api/Tracking/GetTrackInfo", &[("OrderNumber", number)], None).await?;
        transformers::events(number, &item)
    }
}

impl RateQuoter for YunExpress {
    async fn rate(&self, req: &RateRequest) -> Result<CarrierRate, CarrierError> {
        let q = transformers::price_query(req)?;
        let pairs: Vec<(&str, &str)> = q.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let items = self.call(reqwest::Method::GET, "/api/Freight/GetPriceTrial", &pairs, None).await?;
        transformers::rate(&items, &req.service)
    }
}
