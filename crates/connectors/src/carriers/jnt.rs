//! J&T Express open platform, the per-country tenants (Malaysia's "J&T Express Malaysia Open API" reference,
//! `ylopenapi.jtexpress.my/webopenplatformapi`; the Philippine, Indonesian, Thai, Vietnamese and Singaporean
//! tenants share the shape): every call a form-encoded POST whose one field `bizContent` carries the business
//! JSON, with headers `apiAccount`, `timestamp` (ms) and `digest` = base64(MD5(bizContent + privateKey)).
//! `customerCode` and the plain-text business `password` travel inside `bizContent`. Orders at
//! `/api/order/addOrder` (`txlogisticId` is our shipment id; COD as `codInfo.codValue` in the tenant's currency),
//! `/api/order/getOrders`, `/api/order/cancelOrder`, `/api/order/printOrder` (base64 PDF or a URL) and
//! `/api/logistics/trace`; replies `{"code", "msg", "data"}` with code 1 on success. Pushes (tracking callbacks)
//! are form-encoded `bizContent` arrays signed the same way.
//!
//! J&T takes no idempotency key, so the connector first asks for our shipment id (`getOrders`): a retry after a
//! timeout finds the waybill the first attempt made instead of booking another.

pub mod transformers;

use std::time::Duration;

use super::{
    Booking, BookingRequest, CarrierError, CarrierEvent, ShipmentBooker, TrackingSource, WebhookParser, transport,
};
use serde_json::{Value, json};

pub const CODE: &str = "jnt";
pub const COMPANY: &str = "J&T Express";

/// An account on one J&T tenant.
#[derive(Clone, Debug)]
pub struct JntAccount {
    pub api_account: String,
    pub private_key: String,
    /// The customer code and business password the distribution partner issues.
    pub customer_code: String,
    pub password: String,
    /// The tenant: my, ph, id, th, vn or sg. It sets the currency cash is collected in and the zone of scan times.
    pub country: String,
    /// The pickup point's phone, street address and postcode, for shippers that come without them.
    pub sender: Sender,
}

#[derive(Clone, Debug, Default)]
pub struct Sender {
    pub phone: Option<String>,
    pub address: Option<String>,
    pub postcode: Option<String>,
}

#[derive(Clone)]
pub struct Jnt {
    client: reqwest::Client,
    base: String,
    account: JntAccount,
    tenant: transformers::Tenant,
    timeout_s: u64,
}

impl Jnt {
    /// `base` is the tenant's platform root, e.g. `https://ylopenapi.jtexpress.my/webopenplatformapi`.
    pub fn new(base: &str, account: JntAccount, timeout: Duration) -> Result<Jnt, CarrierError> {
        reqwest::Url::parse(base).map_err(|e| CarrierError::Config(format!("J&T url {base:?}: {e}")))?;
        for (v, what) in [
            (&account.api_account, "an API account"),
            (&account.private_key, "a private key"),
            (&account.customer_code, "a customer code"),
            (&account.password, "a business password"),
        ] {
            if v.trim().is_empty() {
                return Err(CarrierError::Config(format!("J&T Express needs {what}")));
            }
        }
        let tenant = transformers::Tenant::parse(&account.country).ok_or_else(|| {
            CarrierError::Config(format!("J&T country {:?}: one of my, ph, id, th, vn, sg", account.country))
        })?;
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| CarrierError::Config(format!("HTTP client: {e}")))?;
        Ok(Jnt {
            client,
            base: base.trim_end_matches('/').to_owned(),
            account,
            tenant,
            timeout_s: timeout.as_secs().max(1),
        })
    }

    fn credentials(&self, mut biz: Value) -> Value {
        biz["customerCode"] = json!(self.account.customer_code);
        biz["password"] = json!(self.account.password);
        biz
    }

    async fn call(&self, path: &str, biz: Value) -> Result<Value, CarrierError> {
        let biz = self.credentials(biz).to_string();
        let digest = transformers::digest(&biz, &self.account.private_key);
        let timestamp = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).to_string();
        let r = self
            .client
            .post(format!("{}{path}", self.base))
            .header("apiAccount", &self.account.api_account)
            .header("digest", digest)
            .header("timestamp", timestamp)
            .form(&[("bizContent", biz)])
            .send()
            .await
            .map_err(|e| transport(e, self.timeout_s))?;
        let status = r.status().as_u16();
        let retry = r.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
        let bytes = r.bytes().await.map_err(|e| transport(e, self.timeout_s))?;
        transformers::read(status, retry, &bytes)
    }

    /// The label: the base64 PDF J&T answers, or the file behind the URL it gives instead.
    async fn label(&self, txlogistic_id: &str, bill_code: &str) -> Result<Vec<u8>, CarrierError> {
        let data =
            self.call("/api/order/printOrder", json!({"txlogisticId": txlogistic_id, "billCode": bill_code})).await?;
        match transformers::label(&data)? {
            transformers::Label::Pdf(pdf) => Ok(pdf),
            transformers::Label::Url(url) => {
                let r = self.client.get(&url).send().await.map_err(|e| transport(e, self.timeout_s))?;
                if !r.status().is_success() {
                    return Err(CarrierError::Unavailable(format!("J&T's label URL answered {}", r.status())));
                }
                Ok(r.bytes().await.map_err(|e| transport(e, self.timeout_s))?.to_vec())
            }
        }
    }
}

impl ShipmentBooker for Jnt {
    async fn book(&self, req: &BookingRequest) -> Result<Booking, CarrierError> {
        let found = match self.call("/api/order/getOrders", json!({"txlogisticId": req.idempotency_key})).await {
            Ok(d) => transformers::bill_code(&d),
            // J&T refuses a query for an order it does not hold; anything else (credentials, outage) stops here.
            Err(CarrierError::Rejected { .. }) => None,
            Err(e) => return Err(e),
        };
        let (bill, sorting) = match found {
            Some(bill) => (bill, None),
            None => {
                let mut req = req.clone();
                let shipper = &mut req.shipper;
                let fill = |have: &mut Option<String>, account: &Option<String>| {
                    if have.as_deref().is_none_or(|v| v.trim().is_empty()) {
                        have.clone_from(account);
                    }
                };
                fill(&mut shipper.phone, &self.account.sender.phone);
                fill(&mut shipper.postal_code, &self.account.sender.postcode);
                if let Some(a) = self.account.sender.address.as_ref().filter(|a| !a.trim().is_empty()) {
                    shipper.line1.clone_from(a);
                }
                let body = transformers::order_body(&req, self.tenant, time::OffsetDateTime::now_utc())?;
                let data = self.call("/api/order/addOrder", body).await?;
                let bill = transformers::bill_code(&data)
                    .ok_or_else(|| CarrierError::Malformed("J&T's order reply has no billCode".into()))?;
                (bill, data["sortingCode"].as_str().map(str::to_owned))
            }
        };
        let mut label = json!({"sorting_code": sorting});
        match self.label(&req.idempotency_key, &bill).await {
            Ok(pdf) => {
                use base64::Engine as _;
                label["waybill_pdf_base64"] = json!(base64::engine::general_purpose::STANDARD.encode(pdf));
            }
            Err(e) => label["waybill_error"] = json!(e.to_string()),
        }
        Ok(Booking {
            tracking_number: bill,
            carrier_ref: req.idempotency_key.clone(),
            sort_code: sorting,
            label_data: label,
        })
    }

    async fn cancel(&self, booking: &Booking) -> Result<(), CarrierError> {
        let biz = json!({"txlogisticId": booking.carrier_ref, "billCode": booking.tracking_number,
                         "reason": "Cancelled by the seller before pickup"});
        self.call("/api/order/cancelOrder", biz).await.map(|_| ())
    }
}

impl TrackingSource for Jnt {
    async fn track(&self, bill_code: &str) -> Result<Vec<CarrierEvent>, CarrierError> {
        let data = self.call("/api/logistics/trace", json!({"billCode": bill_code})).await?;
        let mut events = transformers::trace(&data, self.tenant)?;
        events.retain(|e| e.tracking_number == bill_code);
        Ok(events)
    }
}

impl WebhookParser for Jnt {
    fn signature_header(&self) -> &'static str {
        "digest"
    }
    fn verify(&self, secret: &str, body: &[u8], signature: &str) -> bool {
        transformers::verify_push(secret, body, signature)
    }
    fn parse_webhook(&self, body: &[u8]) -> Result<Vec<CarrierEvent>, CarrierError> {
        transformers::push_events(body, self.tenant)
    }
}
