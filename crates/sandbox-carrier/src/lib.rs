//! The sandbox carrier: a carrier with a documented JSON API (docs/SANDBOX_CARRIER.md) that runs as its own
//! process (`codflow sandbox-carrier --listen ADDR`). It books parcels with S10-style tracking numbers,
//! plays out each parcel's journey from a seeded outcome model on a clock that can run faster than real
//! time, pushes HMAC-signed events to registered webhooks, takes NDR instructions, and writes the COD
//! remittance and freight invoice files a real carrier sends. Faults (timeouts, 500s, malformed replies)
//! can be switched on for the next requests, so clients are tested against misbehaviour too.
//!
//! Over 600 lines on purpose: the whole carrier reads top to bottom beside docs/SANDBOX_CARRIER.md.

pub mod aftership;
pub mod aramex;
pub mod flash;
pub mod fourpx;
pub mod jnt;
pub mod lianlian;
pub mod model;
pub mod naqel;
pub mod ninjavan;
pub mod smsa;
pub mod track17;
pub mod yanwen;
pub mod yunexpress;

pub mod process;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::Sha256;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use model::{Attempt, Event, Model, Rng};

/// How the carrier is started.
#[derive(Clone, Debug)]
pub struct Config {
    pub seed: u64,
    pub model: Model,
    /// Simulated seconds per real second.
    pub time_scale: f64,
    /// When set, every request must carry `X-Api-Key` with this value.
    pub api_key: Option<String>,
    /// The carrier's clock at start; now when absent. A simulation starts it in the past and runs it fast.
    pub start: Option<OffsetDateTime>,
    /// The app key and secret its 4PX gateway accepts.
    pub fourpx: (String, String),
    /// The client id and secret its Ninja Van API accepts (the secret also signs its Ninja Van pushes).
    pub ninjavan: (String, String),
    /// The `apikey` its SMSA API accepts.
    pub smsa: String,
    /// The `17token` its 17TRACK API accepts.
    pub track17: String,
    /// The merchant id and secret its Flash Express API accepts.
    pub flash: (String, String),
    /// The customer code and API secret its YunExpress API accepts.
    pub yunexpress: (String, String),
    /// The `as-api-key` its AfterShip API accepts.
    pub aftership: String,
    /// The API account, private key, customer code and business password its J&T platform accepts.
    pub jnt: (String, String, String, String),
    /// LianLian Global: the seller's API token, the seller's public key (requests are checked against it) and
    /// LianLian's private key (replies are signed with it), PEM.
    pub lianlian: (String, String, String),
    /// The client id and password its Naqel service accepts.
    pub naqel: (String, String),
    /// The user id and API token its Yanwen platform accepts.
    pub yanwen: (String, String),
    /// The user name, password, account number and PIN its Aramex services accept.
    pub aramex: (String, String, String, String),
}

impl Default for Config {
    fn default() -> Self {
        Config {
            seed: 1,
            model: Model::default(),
            time_scale: 1.0,
            api_key: None,
            start: None,
            fourpx: (fourpx::TEST_APP_KEY.into(), fourpx::TEST_APP_SECRET.into()),
            ninjavan: (ninjavan::TEST_CLIENT_ID.into(), ninjavan::TEST_CLIENT_SECRET.into()),
            smsa: smsa::TEST_API_KEY.into(),
            track17: track17::TEST_TOKEN.into(),
            flash: (flash::TEST_MCH_ID.into(), flash::TEST_SECRET.into()),
            yunexpress: (yunexpress::TEST_CUSTOMER.into(), yunexpress::TEST_SECRET.into()),
            aftership: aftership::TEST_API_KEY.into(),
            jnt: (
                jnt::TEST_API_ACCOUNT.into(),
                jnt::TEST_PRIVATE_KEY.into(),
                jnt::TEST_CUSTOMER_CODE.into(),
                jnt::TEST_PASSWORD.into(),
            ),
            naqel: (naqel::TEST_CLIENT_ID.into(), naqel::TEST_PASSWORD.into()),
            yanwen: (yanwen::TEST_USER_ID.into(), yanwen::TEST_TOKEN.into()),
            aramex: (
                aramex::TEST_USER.into(),
                aramex::TEST_PASSWORD.into(),
                aramex::TEST_ACCOUNT.into(),
                aramex::TEST_PIN.into(),
            ),
            lianlian: (
                lianlian::TEST_TOKEN.into(),
                lianlian::TEST_SELLER_PUBLIC_KEY.into(),
                lianlian::TEST_LIANLIAN_PRIVATE_KEY.into(),
            ),
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Amount {
    pub amount: String,
    pub currency: String,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Party {
    pub name: String,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub line1: Option<String>,
    #[serde(default)]
    pub line2: Option<String>,
    pub city: String,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub postal_code: Option<String>,
    pub country: String,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Piece {
    pub weight_g: i64,
    #[serde(default)]
    pub length_cm: Option<i64>,
    #[serde(default)]
    pub width_cm: Option<i64>,
    #[serde(default)]
    pub height_cm: Option<i64>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CreateShipment {
    pub reference: String,
    pub service: String,
    pub shipper: Party,
    pub consignee: Party,
    pub pieces: Vec<Piece>,
    #[serde(default)]
    pub cod: Option<Amount>,
    pub declared_value: Amount,
    #[serde(default)]
    pub incoterm: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
struct Label {
    sort_code: String,
    route: String,
    service: String,
    barcode: String,
}

struct Shipment {
    tracking_number: String,
    key: String,
    request: CreateShipment,
    created_at: OffsetDateTime,
    cancelled: bool,
    events: Vec<Event>,
    label: Label,
    /// The instructions received after failed deliveries, as received.
    ndr: Vec<serde_json::Value>,
    /// How often the shipper asked for the events: a shipper polling twice for one change is visible.
    tracking_requests: u32,
    /// The protocol it was booked or registered through (`4px`, `nv`…); None for the sandbox's own API.
    protocol: Option<String>,
}

impl Shipment {
    fn visible(&self, now: OffsetDateTime) -> impl Iterator<Item = &Event> {
        self.events.iter().filter(move |e| e.at <= now)
    }
    fn view(&self, now: OffsetDateTime) -> serde_json::Value {
        let last = self.visible(now).last();
        json!({
            "tracking_number": self.tracking_number,
            "reference": self.request.reference,
            "idempotency_key": self.key,
            "status": if self.cancelled { "cancelled" } else { last.map_or("created", |e| e.code) },
            "label": self.label,
            "created_at": fmt(self.created_at),
            "ndr": self.ndr,
            "tracking_requests": self.tracking_requests,
        })
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultSpec {
    /// `timeout` (book, then answer only after `delay_ms`), `error` (500, nothing booked) or
    /// `malformed` (book, then answer with broken JSON).
    kind: String,
    /// `shipments` (the default: create calls) or `manifests` (bag and manifest calls; only `error` applies).
    #[serde(default)]
    endpoint: Option<String>,
    #[serde(default = "one")]
    count: u32,
    #[serde(default = "five_seconds")]
    delay_ms: u64,
}

fn one() -> u32 {
    1
}
fn five_seconds() -> u64 {
    5000
}

struct Hook {
    url: String,
    secret: String,
    /// Whose protocol the pushes follow: `sandbox` (the default), `ninjavan` or `17track`.
    format: String,
    /// Events already delivered, per tracking number.
    sent: HashMap<String, usize>,
}

#[derive(Default)]
struct Book {
    by_key: HashMap<String, String>,
    shipments: HashMap<String, Shipment>,
    order: Vec<String>,
    serial: u64,
    hooks: Vec<Hook>,
    faults: VecDeque<FaultSpec>,
    create_calls: u64,
    /// Bags by the shipper's reference, their numbers, and the bag each parcel is in.
    bags: HashMap<String, BagRec>,
    bag_refs: HashMap<String, String>,
    bagged: HashMap<String, String>,
    manifests: HashMap<String, ManifestRec>,
    manifest_refs: HashMap<String, String>,
    manifest_faults: VecDeque<FaultSpec>,
    /// Faults for the protocols other than the sandbox's own, by protocol (`4px`).
    protocol_faults: HashMap<String, VecDeque<FaultSpec>>,
    /// Ninja Van's access tokens and when each expires.
    nv_tokens: HashMap<String, OffsetDateTime>,
    /// Other protocols' tracking numbers for the sandbox parcel behind each.
    aliases: HashMap<String, String>,
    /// Numbers registered with the 17TRACK front-end.
    track17: std::collections::HashSet<String>,
    /// Numbers AfterShip follows.
    aftership: std::collections::HashSet<String>,
    /// What reached the seller's LianLian account: one receiving per remittance and currency reported.
    receivings: Vec<lianlian::Receiving>,
    /// Pickups booked through the Aramex front-end, by GUID.
    aramex_pickups: HashMap<String, aramex::Pickup>,
    /// Bags grouped for 4PX's collection, by `bag_collect_no`.
    fourpx_bags: HashMap<String, fourpx::CollectBag>,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
struct BagRequest {
    reference: String,
    destination_country: String,
    tracking_numbers: Vec<String>,
    weight_g: i64,
}

#[derive(Clone, Debug, Serialize)]
struct BagRec {
    bag_number: String,
    #[serde(flatten)]
    request: BagRequest,
    created_at: String,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
struct ManifestRequest {
    reference: String,
    bag_numbers: Vec<String>,
    #[serde(default)]
    pickup_at: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
struct ManifestRec {
    manifest_number: String,
    #[serde(flatten)]
    request: ManifestRequest,
    parcels: usize,
    weight_g: i64,
    created_at: String,
}

struct Carrier {
    config: Config,
    clock: Mutex<Clock>,
    book: Mutex<Book>,
    http: reqwest::Client,
}

/// The carrier's time: `epoch` when `started`, running `scale` times faster than real time since.
#[derive(Clone, Copy, Debug)]
struct Clock {
    started: Instant,
    epoch: OffsetDateTime,
    scale: f64,
}

impl Carrier {
    fn now(&self) -> OffsetDateTime {
        let c = *self.clock.lock().unwrap_or_else(|p| p.into_inner());
        c.epoch + Duration::seconds_f64(c.started.elapsed().as_secs_f64() * c.scale)
    }
    fn lock(&self) -> std::sync::MutexGuard<'_, Book> {
        self.book.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn fmt(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

fn problem(status: StatusCode, code: &str, message: impl Into<String>, field: Option<&str>) -> Response {
    (status, Json(json!({"error": {"code": code, "message": message.into(), "field": field}}))).into_response()
}

/// UPU S10: two letters, eight digits, a check digit, the origin country.
fn s10(serial: u64, country: &str) -> String {
    let digits = format!("{:08}", serial % 100_000_000);
    let weights = [8, 6, 4, 2, 3, 5, 9, 7];
    let sum: u32 = digits.bytes().zip(weights).map(|(d, w)| (d - b'0') as u32 * w).sum();
    let check = match 11 - sum % 11 {
        10 => 0,
        11 => 5,
        c => c,
    };
    format!("SB{digits}{check}{country}")
}

fn minor_digits(currency: &str) -> u32 {
    match currency {
        "KWD" | "BHD" | "OMR" | "JOD" | "TND" | "LYD" | "IQD" => 3,
        "JPY" | "KRW" | "VND" | "CLP" | "ISK" | "UGX" | "XAF" | "XOF" => 0,
        _ => 2,
    }
}

fn parse_amount(a: &Amount) -> Option<i64> {
    let d = minor_digits(&a.currency);
    let (w, f) = a.amount.split_once('.').unwrap_or((&a.amount, ""));
    if w.is_empty()
        || f.len() > d as usize
        || !w.bytes().all(|b| b.is_ascii_digit())
        || !f.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let frac = if d == 0 { 0 } else { format!("{f:0<width$}", width = d as usize).parse::<i64>().ok()? };
    w.parse::<i64>().ok()?.checked_mul(10i64.pow(d))?.checked_add(frac)
}

fn amount_str(minor: i64, currency: &str) -> String {
    let d = minor_digits(currency);
    if d == 0 {
        return minor.to_string();
    }
    let p = 10i64.pow(d);
    format!("{}.{:0width$}", minor / p, minor % p, width = d as usize)
}

fn validate(r: &CreateShipment) -> Result<(), (String, &'static str)> {
    let need = |s: &str, field: &'static str| {
        if s.trim().is_empty() { Err((format!("{field} is required"), field)) } else { Ok(()) }
    };
    need(&r.reference, "reference")?;
    need(&r.consignee.name, "consignee.name")?;
    need(&r.consignee.city, "consignee.city")?;
    if r.consignee.country.len() != 2 {
        return Err(("a two-letter country code".into(), "consignee.country"));
    }
    if r.consignee.phone.as_deref().is_none_or(|p| p.trim().is_empty()) {
        return Err(("a phone number is required for delivery".into(), "consignee.phone"));
    }
    if r.pieces.is_empty() || r.pieces.iter().any(|p| !(1..=70_000).contains(&p.weight_g)) {
        return Err(("one or more pieces of 1 g to 70 kg".into(), "pieces"));
    }
    if let Some(c) = &r.cod
        && parse_amount(c).is_none()
    {
        return Err((format!("{:?} is not an amount in {}", c.amount, c.currency), "cod.amount"));
    }
    Ok(())
}

/// Started kilograms billed for the pieces: each piece's actual weight or its volume at 5,000 cm³ per kg,
/// whichever is more. The freight invoice bills the same weight a rate quote prices.
fn billable_kg(pieces: &[Piece]) -> i64 {
    let grams: i64 = pieces
        .iter()
        .map(|p| {
            let volume = match (p.length_cm, p.width_cm, p.height_cm) {
                (Some(l), Some(w), Some(h)) => l.saturating_mul(w).saturating_mul(h) / 5,
                _ => 0,
            };
            p.weight_g.max(volume)
        })
        .sum();
    (grams + 999) / 1000
}

/// City, postcode and service are accepted as a real carrier's rate request has them; the sandbox prices
/// by destination country only.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct RateDestination {
    country: String,
    #[serde(default)]
    city: Option<String>,
    #[serde(default)]
    postal_code: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct RateQuery {
    service: String,
    destination: RateDestination,
    pieces: Vec<Piece>,
    #[serde(default)]
    cod: Option<Amount>,
}

/// The price the freight invoice will charge: base plus a rate per started kilogram, in the COD
/// currency (USD for prepaid parcels), plus the COD fee.
async fn rates(State(c): State<Arc<Carrier>>, body: axum::body::Bytes) -> Response {
    let q: RateQuery = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_json", e.to_string(), None),
    };
    if q.destination.country.len() != 2 {
        return problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            "a two-letter country code",
            Some("destination.country"),
        );
    }
    if q.pieces.is_empty() || q.pieces.iter().any(|p| !(1..=70_000).contains(&p.weight_g)) {
        return problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            "one or more pieces of 1 g to 70 kg",
            Some("pieces"),
        );
    }
    let cod = match &q.cod {
        Some(a) => match parse_amount(a) {
            Some(m) => Some((m, a.currency.as_str())),
            None => {
                let m = format!("{:?} is not an amount in {}", a.amount, a.currency);
                return problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid", m, Some("cod.amount"));
            }
        },
        None => None,
    };
    let lane = c.config.model.lane(&q.destination.country);
    let kg = billable_kg(&q.pieces);
    let cur = cod.map_or("USD", |(_, c)| c);
    let freight = lane.freight_minor(kg);
    let fee = cod.map_or(0, |(m, _)| lane.cod_fee_minor(m));
    let mut charges = vec![serde_json::json!({"name": "freight", "amount": amount_str(freight, cur)})];
    if cod.is_some() {
        charges.push(serde_json::json!({"name": "cod_fee", "amount": amount_str(fee, cur)}));
    }
    Json(serde_json::json!({
        "currency": cur,
        "billable_kg": kg,
        "charges": charges,
        "total": amount_str(freight + fee, cur),
        "transit_days": lane.transit_days,
    }))
    .into_response()
}

async fn create(State(c): State<Arc<Carrier>>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let Some(key) = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::to_owned) else {
        return problem(StatusCode::BAD_REQUEST, "idempotency_key_required", "send an Idempotency-Key header", None);
    };
    let req: CreateShipment = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_json", e.to_string(), None),
    };
    if let Err((m, field)) = validate(&req) {
        return problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid", m, Some(field));
    }
    let now = c.now();
    let (fault, view, created) = {
        let mut b = c.lock();
        b.create_calls += 1;
        let fault = b.faults.pop_front();
        if let Some(f) = fault.as_ref().filter(|f| f.count > 1) {
            b.faults.push_front(FaultSpec { count: f.count - 1, ..f.clone() });
        }
        if fault.as_ref().is_some_and(|f| f.kind == "error") {
            return problem(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the carrier had an internal error", None);
        }
        if fault.as_ref().is_some_and(|f| f.kind == "rate_limit") {
            let mut r = problem(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "slow down", None);
            r.headers_mut().insert("retry-after", axum::http::HeaderValue::from_static("2"));
            return r;
        }
        let (tracking, created) = book_parcel(&c, &mut b, &key, req, now);
        let view = b.shipments[&tracking].view(now);
        (fault, view, created)
    };
    match fault.map(|f| (f.kind, f.delay_ms)) {
        Some((k, delay)) if k == "timeout" => tokio::time::sleep(std::time::Duration::from_millis(delay)).await,
        Some((k, _)) if k == "malformed" => {
            return (StatusCode::CREATED, [("content-type", "application/json")], "{\"tracking_number\": ")
                .into_response();
        }
        _ => {}
    }
    (if created { StatusCode::CREATED } else { StatusCode::OK }, Json(view)).into_response()
}

/// The key prefixes of the other protocols' front-ends (their parcels are booked under `prefix:number`).
const PROTOCOLS: [&str; 11] =
    ["4px", "nv", "smsa", "flash", "yun", "17track", "aftership", "jnt", "naqel", "yw", "aramex"];

/// Books a parcel under `key`; the same key answers the parcel already booked. (tracking number, made now).
/// Every protocol the carrier speaks books through here, so each plays out the same journeys.
fn book_parcel(c: &Carrier, b: &mut Book, key: &str, req: CreateShipment, now: OffsetDateTime) -> (String, bool) {
    if let Some(t) = b.by_key.get(key) {
        return (t.clone(), false);
    }
    b.serial += 1;
    let tracking = s10(b.serial, &req.shipper.country);
    let lane = c.config.model.lane_for(&req.consignee.country, req.consignee.region.as_deref(), &req.service);
    let mut rng = Rng::new(c.config.seed, &tracking);
    let international = req.shipper.country != req.consignee.country;
    let events =
        model::plan(&mut rng, &lane, now, &req.shipper.city, &req.consignee.city, international, req.cod.is_some());
    let city: String = req.consignee.city.chars().filter(|c| c.is_ascii_alphabetic()).take(3).collect();
    let pc: String = req.consignee.postal_code.clone().unwrap_or_default().chars().take(2).collect();
    let label = Label {
        sort_code: format!("{}-{}", city.to_ascii_uppercase(), if pc.is_empty() { "00".into() } else { pc }),
        route: format!("{}-{}", req.shipper.country, req.consignee.country),
        service: req.service.clone(),
        barcode: tracking.clone(),
    };
    let s = Shipment {
        tracking_number: tracking.clone(),
        key: key.to_owned(),
        request: req,
        created_at: now,
        cancelled: false,
        events,
        label,
        ndr: Vec::new(),
        tracking_requests: 0,
        protocol: key.split_once(':').map(|(p, _)| p).filter(|p| PROTOCOLS.contains(p)).map(str::to_owned),
    };
    b.by_key.insert(key.to_owned(), tracking.clone());
    b.order.push(tracking.clone());
    b.shipments.insert(tracking.clone(), s);
    (tracking, true)
}

/// Why a cancel was refused.
enum CancelRefused {
    NotFound,
    PickedUp,
}

/// Voids a parcel not yet picked up; cancelling twice is not an error.
fn cancel_parcel(b: &mut Book, t: &str, now: OffsetDateTime) -> Result<(), CancelRefused> {
    let s = b.shipments.get_mut(t).ok_or(CancelRefused::NotFound)?;
    if s.visible(now).any(|e| e.code == "PKP") {
        return Err(CancelRefused::PickedUp);
    }
    if !s.cancelled {
        s.cancelled = true;
        s.events.retain(|e| e.at <= now);
        s.events.push(Event {
            code: "CAN",
            description: "Shipment cancelled",
            location: s.request.shipper.city.clone(),
            at: now,
        });
    }
    Ok(())
}

/// A query parameter that did not parse: (message, parameter).
type BadParam = (String, &'static str);

fn bad_param((m, field): BadParam) -> Response {
    problem(StatusCode::BAD_REQUEST, "invalid", m, Some(field))
}

fn as_of(c: &Carrier, q: &HashMap<String, String>) -> Result<OffsetDateTime, BadParam> {
    match q.get("as_of") {
        None => Ok(c.now()),
        Some(s) => OffsetDateTime::parse(s, &Rfc3339).map_err(|_| ("as_of is an RFC 3339 time".into(), "as_of")),
    }
}

async fn show(State(c): State<Arc<Carrier>>, Path(t): Path<String>) -> Response {
    let b = c.lock();
    match b.shipments.get(&t) {
        Some(s) => Json(s.view(c.now())).into_response(),
        None => problem(StatusCode::NOT_FOUND, "not_found", format!("no shipment {t}"), None),
    }
}

async fn events(
    State(c): State<Arc<Carrier>>,
    Path(t): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let now = match as_of(&c, &q) {
        Ok(n) => n,
        Err(e) => return bad_param(e),
    };
    let mut b = c.lock();
    match b.shipments.get_mut(&t) {
        Some(s) => {
            s.tracking_requests += 1;
            Json(json!({"tracking_number": t, "events": s.visible(now).collect::<Vec<_>>()})).into_response()
        }
        None => problem(StatusCode::NOT_FOUND, "not_found", format!("no shipment {t}"), None),
    }
}

async fn cancel(State(c): State<Arc<Carrier>>, Path(t): Path<String>) -> Response {
    let now = c.now();
    let mut b = c.lock();
    match cancel_parcel(&mut b, &t, now) {
        Ok(()) => Json(b.shipments[&t].view(now)).into_response(),
        Err(CancelRefused::NotFound) => problem(StatusCode::NOT_FOUND, "not_found", format!("no shipment {t}"), None),
        Err(CancelRefused::PickedUp) => problem(
            StatusCode::CONFLICT,
            "already_picked_up",
            "the parcel was picked up; ask for a return instead",
            None,
        ),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NdrAction {
    action: String,
    #[serde(default)]
    address: Option<Party>,
    /// Another number to call on the next attempt.
    #[serde(default)]
    phone: Option<String>,
    /// The day the buyer will be in (YYYY-MM-DD); the next attempt is made that day when it is later.
    #[serde(default)]
    preferred_date: Option<String>,
    #[serde(default)]
    note: Option<String>,
}

async fn ndr(State(c): State<Arc<Carrier>>, Path(t): Path<String>, Json(a): Json<NdrAction>) -> Response {
    let now = c.now();
    let mut b = c.lock();
    let seed = c.config.seed;
    let Some(s) = b.shipments.get_mut(&t) else {
        return problem(StatusCode::NOT_FOUND, "not_found", format!("no shipment {t}"), None);
    };
    let failed = s.visible(now).last().is_some_and(|e| e.code.starts_with("NDR"));
    if !failed {
        return problem(StatusCode::CONFLICT, "no_failed_delivery", "NDR actions apply after a failed delivery", None);
    }
    let preferred = match a
        .preferred_date
        .as_deref()
        .map(|d| time::Date::parse(d, time::macros::format_description!("[year]-[month]-[day]")))
    {
        None => None,
        Some(Ok(d)) => Some(d.with_hms(10, 0, 0).map(|t| t.assume_utc()).unwrap_or(now)),
        Some(Err(_)) => {
            return problem(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                "preferred_date is YYYY-MM-DD",
                Some("preferred_date"),
            );
        }
    };
    let next_attempt = preferred.map_or(now + Duration::days(1), |p| p.max(now + Duration::hours(2)));
    let origin = s.request.shipper.city.clone();
    s.events.retain(|e| e.at <= now);
    let mut city = s.request.consignee.city.clone();
    match a.action.as_str() {
        "return" => s.events.extend(model::return_events(&city, &origin, now + Duration::hours(2))),
        "reattempt" | "change_address" => {
            if a.action == "change_address" {
                match a.address {
                    Some(addr) => {
                        city = addr.city.clone();
                        s.request.consignee = addr;
                    }
                    None => {
                        return problem(
                            StatusCode::UNPROCESSABLE_ENTITY,
                            "invalid",
                            "give the new address",
                            Some("address"),
                        );
                    }
                }
            }
            let mut rng = Rng::new(seed, &format!("{t}/ndr{}", s.ndr.len()));
            let lane = c.config.model.lane(&s.request.consignee.country).clone();
            let attempt = model::draw_attempt(&mut rng, &lane);
            let mut evs = model::attempt_events(attempt, &city, &origin, next_attempt, s.request.cod.is_some());
            if attempt == Attempt::NotHome {
                evs.extend(model::return_events(&city, &origin, next_attempt + Duration::days(1)));
            }
            s.events.extend(evs);
        }
        other => {
            return problem(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                format!("unknown action {other:?} (reattempt, change_address, return)"),
                Some("action"),
            );
        }
    }
    s.ndr.push(json!({
        "action": a.action, "phone": a.phone, "preferred_date": a.preferred_date, "note": a.note, "at": fmt(now)
    }));
    Json(s.view(now)).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HookSpec {
    url: String,
    secret: String,
    #[serde(default)]
    format: Option<String>,
}

async fn register_hook(State(c): State<Arc<Carrier>>, Json(h): Json<HookSpec>) -> Response {
    if reqwest::Url::parse(&h.url).is_err() || h.secret.len() < 8 {
        return problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            "a URL and a secret of at least 8 characters",
            None,
        );
    }
    let format = h.format.unwrap_or_else(|| "sandbox".into());
    let jnt_tenant = format.strip_prefix("jnt-").is_some_and(|cc| ["my", "ph", "sg", "id", "th", "vn"].contains(&cc));
    if !["sandbox", "ninjavan", "17track", "aftership", "jnt"].contains(&format.as_str()) && !jnt_tenant {
        return problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            "format is sandbox, ninjavan, 17track, aftership or jnt (jnt-th etc. for another tenant)",
            Some("format"),
        );
    }
    let mut b = c.lock();
    b.hooks.push(Hook { url: h.url.clone(), secret: h.secret, format, sent: HashMap::new() });
    (StatusCode::CREATED, Json(json!({"id": b.hooks.len(), "url": h.url}))).into_response()
}

async fn faults(State(c): State<Arc<Carrier>>, Json(f): Json<FaultSpec>) -> Response {
    if !["timeout", "error", "malformed", "rate_limit"].contains(&f.kind.as_str()) {
        return problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            "kind is timeout, error, malformed or rate_limit",
            Some("kind"),
        );
    }
    let mut b = c.lock();
    match f.endpoint.as_deref() {
        Some("manifests") => b.manifest_faults.push_back(f),
        Some(
            p @ ("4px" | "ninjavan" | "smsa" | "17track" | "flash" | "yunexpress" | "aftership" | "jnt" | "lianlian"
            | "naqel" | "yanwen" | "aramex"),
        ) => b.protocol_faults.entry(p.to_owned()).or_default().push_back(f),
        None | Some("shipments") => b.faults.push_back(f),
        Some(_) => {
            return problem(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                "endpoint is shipments, manifests, 4px, ninjavan, smsa, 17track, flash, yunexpress, aftership, jnt, naqel, yanwen, aramex or lianlian",
                Some("endpoint"),
            );
        }
    }
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockSpec {
    #[serde(with = "time::serde::rfc3339")]
    at: OffsetDateTime,
    scale: f64,
}

/// Sets the carrier's clock to `at` from now on, running `scale` times faster than real time: a demo that
/// replayed its past at a day per second goes on at the pace of the real world. Parcels keep their plans.
async fn set_clock(
    State(c): State<Arc<Carrier>>,
    spec: Result<Json<ClockSpec>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let spec = match spec {
        Ok(Json(s)) => s,
        Err(e) => return problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid", e.body_text(), None),
    };
    if !(spec.scale.is_finite() && spec.scale > 0.0 && spec.scale <= 1e7) {
        return problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            "scale is a number above 0 and at most 1e7",
            Some("scale"),
        );
    }
    *c.clock.lock().unwrap_or_else(|p| p.into_inner()) =
        Clock { started: Instant::now(), epoch: spec.at, scale: spec.scale };
    Json(json!({"now": fmt(c.now()), "scale": spec.scale})).into_response()
}

/// What tests and operators check: shipments made, create calls received, shipments per reference.
async fn stats(State(c): State<Arc<Carrier>>) -> Response {
    let b = c.lock();
    let mut per_ref: HashMap<&str, usize> = HashMap::new();
    for s in b.shipments.values() {
        *per_ref.entry(s.request.reference.as_str()).or_default() += 1;
    }
    let pickups: Vec<serde_json::Value> = b
        .aramex_pickups
        .values()
        .map(|p| json!({"id": p.id, "reference": p.reference, "waybills": p.waybills, "cancelled": p.cancelled}))
        .collect();
    let fourpx_bags: Vec<serde_json::Value> = b
        .fourpx_bags
        .iter()
        .map(|(no, x)| {
            json!({"bag_collect_no": no, "bag_no": x.bag_no, "parcels": x.parcels.len(), "cancelled": x.cancelled,
                   "collect_no": x.collect_no})
        })
        .collect();
    Json(json!({"shipments": b.shipments.len(), "create_calls": b.create_calls, "per_reference": per_ref,
                "aramex_pickups": pickups, "fourpx_bags": fourpx_bags, "now": fmt(c.now())}))
    .into_response()
}

fn period(q: &HashMap<String, String>) -> Result<(OffsetDateTime, OffsetDateTime), BadParam> {
    let p = |k: &'static str| {
        q.get(k)
            .and_then(|s| OffsetDateTime::parse(s, &Rfc3339).ok())
            .ok_or_else(|| (format!("{k} is an RFC 3339 time"), k))
    };
    Ok((p("from")?, p("to")?))
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_owned() }
}

/// COD collected in [from, to): one line per parcel with the fee the carrier keeps and what it remits.
async fn cod_report(State(c): State<Arc<Carrier>>, Query(q): Query<HashMap<String, String>>) -> Response {
    let (from, to) = match period(&q) {
        Ok(p) => p,
        Err(e) => return bad_param(e),
    };
    let mut b = c.lock();
    let mut out =
        String::from("remittance_ref,tracking_number,reference,collected_at,cod_amount,currency,cod_fee,net_amount\n");
    let mut remitted: std::collections::BTreeMap<String, i64> = Default::default();
    for t in &b.order {
        let s = &b.shipments[t];
        // Other protocols' parcels are their carriers' to remit and invoice.
        if s.protocol.is_some() {
            continue;
        }
        let (Some(cod), Some(e)) =
            (&s.request.cod, s.events.iter().find(|e| e.code == "COD" && e.at >= from && e.at < to))
        else {
            continue;
        };
        let Some(minor) = parse_amount(cod) else { continue };
        let fee = c.config.model.lane(&s.request.consignee.country).cod_fee_minor(minor);
        let cur = cod.currency.as_str();
        *remitted.entry(cur.to_owned()).or_default() += minor - fee;
        out.push_str(&format!(
            "SBR-{}-{},{},{},{},{},{},{},{}\n",
            from.date(),
            to.date(),
            s.tracking_number,
            csv_field(&s.request.reference),
            fmt(e.at),
            amount_str(minor, cur),
            cur,
            amount_str(fee, cur),
            amount_str(minor - fee, cur)
        ));
    }
    // The remittance is paid into the seller's LianLian account, where its reference arrives with it.
    let reference = format!("SBR-{}-{}", from.date(), to.date());
    let now = c.now();
    for (currency, net) in remitted {
        lianlian::receive(&mut b, &reference, &currency, net, now);
    }
    ([("content-type", "text/csv")], out).into_response()
}

/// Freight for parcels booked in [from, to) and not cancelled.
async fn freight_report(State(c): State<Arc<Carrier>>, Query(q): Query<HashMap<String, String>>) -> Response {
    let (from, to) = match period(&q) {
        Ok(p) => p,
        Err(e) => return bad_param(e),
    };
    let b = c.lock();
    let mut out =
        String::from("invoice_ref,tracking_number,reference,booked_at,weight_g,billable_kg,freight,currency\n");
    for t in &b.order {
        let s = &b.shipments[t];
        // Other protocols' parcels are their carriers' to remit and invoice.
        if s.protocol.is_some() {
            continue;
        }
        if s.cancelled || s.created_at < from || s.created_at >= to {
            continue;
        }
        let weight: i64 = s.request.pieces.iter().map(|p| p.weight_g).sum();
        let kg = billable_kg(&s.request.pieces);
        let lane = c.config.model.lane(&s.request.consignee.country);
        let cur = s.request.cod.as_ref().map_or("USD", |c| c.currency.as_str());
        out.push_str(&format!(
            "SBI-{}-{},{},{},{},{},{},{},{}\n",
            from.date(),
            to.date(),
            s.tracking_number,
            csv_field(&s.request.reference),
            fmt(s.created_at),
            weight,
            kg,
            amount_str(lane.freight_minor(kg), cur),
            cur
        ));
    }
    ([("content-type", "text/csv")], out).into_response()
}

type HmacSha256 = Hmac<Sha256>;

/// `sha256=<hex>` of the body under the webhook's secret, as sent in `X-Sandbox-Signature`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(body);
    let bytes = mac.finalize().into_bytes();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

const JSON: &str = "application/json";

/// One push to send: hook, tracking number, events covered once sent, URL, signature header and value, body.
struct Push {
    hook: usize,
    tracking: String,
    upto: usize,
    url: String,
    header: &'static str,
    signature: String,
    body: String,
    content_type: &'static str,
}

/// Delivers due events to every hook, oldest first, in the hook's protocol; a failed delivery is tried again on
/// the next round.
async fn push_round(c: &Carrier) {
    let now = c.now();
    let mut due = Vec::new();
    {
        let b = c.lock();
        // Each protocol's own numbers for the sandbox's parcels.
        let mut names: HashMap<&str, Vec<&str>> = HashMap::new();
        for (alias, t) in &b.aliases {
            names.entry(t.as_str()).or_default().push(alias.as_str());
        }
        for (h, hook) in b.hooks.iter().enumerate() {
            for t in &b.order {
                let s = &b.shipments[t];
                let number = match hook.format.as_str() {
                    "ninjavan" => names.get(t.as_str()).and_then(|n| n.iter().find(|a| a.starts_with("NV")).copied()),
                    "17track" => names
                        .get(t.as_str())
                        .and_then(|n| n.iter().find(|a| b.track17.contains(**a)).copied())
                        .or_else(|| b.track17.contains(t).then_some(t.as_str())),
                    f if f.starts_with("jnt") => {
                        names.get(t.as_str()).and_then(|n| n.iter().find(|a| a.starts_with("63")).copied())
                    }
                    "aftership" => names
                        .get(t.as_str())
                        .and_then(|n| n.iter().find(|a| b.aftership.contains(**a)).copied())
                        .or_else(|| b.aftership.contains(t).then_some(t.as_str())),
                    // The sandbox's own pushes cover the parcels booked through its own API; the others are
                    // known to their shippers by the numbers their protocols gave.
                    _ => s.protocol.is_none().then_some(t.as_str()),
                };
                let Some(number) = number else { continue };
                let sent = hook.sent.get(t).copied().unwrap_or(0);
                let visible: Vec<&Event> = s.visible(now).collect();
                if visible.len() > sent {
                    due.push((h, t.clone(), number.to_owned(), sent, visible.len(), s.request.reference.clone()));
                }
            }
        }
    }
    let mut pushes = Vec::new();
    for (h, t, number, sent, upto, reference) in due {
        let (url, secret, format) = {
            let b = c.lock();
            let hook = &b.hooks[h];
            (hook.url.clone(), hook.secret.clone(), hook.format.clone())
        };
        match format.as_str() {
            "ninjavan" => {
                // One push per event, as Ninja Van sends them.
                let events: Vec<Event> = c.lock().shipments[&t].visible(now).skip(sent).cloned().collect();
                let mut previous = None;
                for (i, e) in events.iter().enumerate() {
                    let body = ninjavan::event_body(&number, &reference, e, previous).to_string();
                    previous = Some(ninjavan::status(e.code));
                    let signature = ninjavan::signature(&secret, body.as_bytes());
                    let (url, tracking) = (url.clone(), t.clone());
                    pushes.push(Push {
                        hook: h,
                        tracking,
                        upto: sent + i + 1,
                        url,
                        header: "X-Ninjavan-Hmac-Sha256",
                        signature,
                        body,
                        content_type: JSON,
                    });
                }
            }
            f if f.starts_with("jnt") => {
                let cc = f.strip_prefix("jnt-").unwrap_or("my");
                let Some(trace) = jnt::trace_of(c, cc, &number, sent) else { continue };
                let biz = json!([trace]).to_string();
                let signature = jnt::digest(&biz, &secret);
                let body = form_urlencoded::Serializer::new(String::new()).append_pair("bizContent", &biz).finish();
                pushes.push(Push {
                    hook: h,
                    tracking: t,
                    upto,
                    url,
                    header: "digest",
                    signature,
                    body,
                    content_type: "application/x-www-form-urlencoded",
                });
            }
            "aftership" => {
                let Some(t17) = aftership::tracking(c, &number) else { continue };
                let body = json!({"event": "tracking_update", "event_id": format!("{number}:{upto}"), "msg": t17,
                                  "ts": c.now().unix_timestamp()})
                .to_string();
                let signature = aftership::signature(&secret, body.as_bytes());
                pushes.push(Push {
                    hook: h,
                    tracking: t,
                    upto,
                    url,
                    header: "aftership-hmac-sha256",
                    signature,
                    body,
                    content_type: JSON,
                });
            }
            "17track" => {
                let Some(info) = track17::track_info(c, &number) else { continue };
                let body = json!({"event": "TRACKING_UPDATED",
                                  "data": {"number": number, "carrier": 3011, "tag": "", "track_info": info}})
                .to_string();
                let signature = track17::sign(body.as_bytes(), &secret);
                pushes.push(Push {
                    hook: h,
                    tracking: t,
                    upto,
                    url,
                    header: "sign",
                    signature,
                    body,
                    content_type: JSON,
                });
            }
            _ => {
                let events: Vec<Event> = c.lock().shipments[&t].visible(now).skip(sent).cloned().collect();
                let body = json!({"tracking_number": t, "reference": reference, "events": events}).to_string();
                let signature = signature(&secret, body.as_bytes());
                pushes.push(Push {
                    hook: h,
                    tracking: t,
                    upto,
                    url,
                    header: "X-Sandbox-Signature",
                    signature,
                    body,
                    content_type: JSON,
                });
            }
        }
    }
    let mut failed = std::collections::HashSet::new();
    for p in pushes {
        // Later pushes of a parcel wait until an earlier one that failed goes through.
        if failed.contains(&(p.hook, p.tracking.clone())) {
            continue;
        }
        let delivery = format!("{}:{}", p.tracking, p.upto);
        let r = c
            .http
            .post(&p.url)
            .header("content-type", p.content_type)
            .header(p.header, p.signature)
            .header("X-Sandbox-Delivery", delivery)
            .body(p.body)
            .send()
            .await;
        if r.is_ok_and(|r| r.status().is_success()) {
            let mut b = c.lock();
            let sent = b.hooks[p.hook].sent.entry(p.tracking).or_default();
            *sent = (*sent).max(p.upto);
        } else {
            failed.insert((p.hook, p.tracking));
        }
    }
}

async fn require_key(
    State(c): State<Arc<Carrier>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if let Some(k) = &c.config.api_key
        && req.headers().get("x-api-key").and_then(|v| v.to_str().ok()) != Some(k.as_str())
    {
        return problem(StatusCode::UNAUTHORIZED, "unauthorized", "send the account's X-Api-Key", None);
    }
    next.run(req).await
}

pub fn router(config: Config) -> Router {
    let http = reqwest::Client::builder().timeout(std::time::Duration::from_secs(5)).build().unwrap_or_default();
    let epoch = config.start.unwrap_or_else(OffsetDateTime::now_utc);
    let clock = Mutex::new(Clock { started: Instant::now(), epoch, scale: config.time_scale });
    let carrier = Arc::new(Carrier { config, clock, book: Mutex::new(Book::default()), http });
    let pusher = Arc::downgrade(&carrier);
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            match pusher.upgrade() {
                Some(c) => push_round(&c).await,
                None => break,
            }
        }
    });
    Router::new()
        .route("/v1/rates", post(rates))
        .route("/v1/shipments", post(create))
        .route("/v1/shipments/{tracking}", get(show))
        .route("/v1/shipments/{tracking}/events", get(events))
        .route("/v1/shipments/{tracking}/cancel", post(cancel))
        .route("/v1/shipments/{tracking}/ndr", post(ndr))
        .route("/v1/bags", post(create_bag))
        .route("/v1/manifests", post(create_manifest))
        .route("/v1/manifests/{number}", get(show_manifest))
        .route("/v1/webhooks", post(register_hook))
        .route("/v1/reports/cod-remittance", get(cod_report))
        .route("/v1/reports/freight-invoice", get(freight_report))
        .route("/v1/_faults", post(faults))
        .route("/v1/_stats", get(stats))
        .route("/v1/_clock", post(set_clock))
        .layer(axum::middleware::from_fn_with_state(carrier.clone(), require_key))
        // Other carriers' protocols authenticate as those carriers do, not by the sandbox's key.
        .route("/4px/router/api/service", post(fourpx::service))
        .route("/4px/labels/{file}", get(fourpx::label))
        .route("/yunexpress/api/WayBill/CreateOrder", post(yunexpress::create))
        .route("/yunexpress/api/WayBill/GetOrder", get(yunexpress::get_order))
        .route("/yunexpress/api/WayBill/Delete", post(yunexpress::delete))
        .route("/yunexpress/api/Label/Print", post(yunexpress::label))
        .route("/yunexpress/labels/{file}", get(yunexpress::label_file))
        .route("/yunexpress/api/Tracking/GetTrackInfo", get(yunexpress::track))
        .route("/yunexpress/api/Freight/GetPriceTrial", get(yunexpress::price))
        .route("/naqel/XMLShippingService.asmx", post(naqel::service))
        .route("/aramex/ShippingAPI.V2/Shipping/Service_1_0.svc/json/CreateShipments", post(aramex::create))
        .route("/aramex/ShippingAPI.V2/Shipping/Service_1_0.svc/json/CreatePickup", post(aramex::create_pickup))
        .route("/aramex/ShippingAPI.V2/Shipping/Service_1_0.svc/json/CancelPickup", post(aramex::cancel_pickup))
        .route("/aramex/ShippingAPI.V2/Tracking/Service_1_0.svc/json/TrackShipments", post(aramex::track))
        .route("/aramex/ShippingAPI.V2/RateCalculator/Service_1_0.svc/json/CalculateRate", post(aramex::rate))
        .route("/aramex/labels/{file}", get(aramex::label))
        .route("/yanwen/api/order", post(yanwen::order_api))
        .route("/yanwen/api/tracking", get(yanwen::tracking))
        .route("/lianlian/gateway/v1/ew-transactions", get(lianlian::transactions))
        .route("/lianlian/gateway/v1/ew-receivings/{id}", get(lianlian::receiving))
        .route("/jnt/{cc}/api/order/addOrder", post(jnt::add_order))
        .route("/jnt/{cc}/api/order/getOrders", post(jnt::get_orders))
        .route("/jnt/{cc}/api/order/cancelOrder", post(jnt::cancel_order))
        .route("/jnt/{cc}/api/order/printOrder", post(jnt::print_order))
        .route("/jnt/{cc}/api/logistics/trace", post(jnt::trace))
        .route("/flash/open/v3/orders", post(flash::create))
        .route("/flash/open/v1/orders/estimate_rate", post(flash::estimate_rate))
        .route("/flash/open/v1/orders/{pno}/cancel", post(flash::cancel))
        .route("/flash/open/v1/orders/{pno}/routes", post(flash::routes))
        .route("/flash/open/v1/orders/{pno}/small/pre_print", post(flash::label))
        .route("/aftership/tracking/2024-10/trackings", post(aftership::create).get(aftership::list))
        .route("/17track/track/v2.2/register", post(track17::register))
        .route("/17track/track/v2.2/gettrackinfo", post(track17::gettrackinfo))
        .route("/smsa/api/shipment/b2c/new", post(smsa::create))
        .route("/smsa/api/shipment/b2c/query/{awb}", get(smsa::query))
        .route("/smsa/api/track/single/{awb}", get(smsa::track))
        .route("/smsa/api/track/reference/{reference}", get(smsa::by_reference))
        .route("/smsa/api/track/statuslookup", get(smsa::status_lookup))
        .route("/ninjavan/{cc}/2.0/oauth/access_token", post(ninjavan::token))
        .route("/ninjavan/{cc}/4.2/orders", post(ninjavan::create))
        .route("/ninjavan/{cc}/2.2/orders/{tracking}", axum::routing::delete(ninjavan::cancel))
        .route("/ninjavan/{cc}/2.0/reports/waybill", get(ninjavan::waybill))
        .route("/ninjavan/{cc}/1.0/orders/tracking-events/{tracking}", get(ninjavan::events))
        .with_state(carrier)
}

/// Takes the next manifest fault: true when this call must fail with a 500.
fn manifest_fault(b: &mut Book) -> bool {
    match b.manifest_faults.pop_front() {
        Some(f) => {
            if f.count > 1 {
                b.manifest_faults.push_front(FaultSpec { count: f.count - 1, ..f.clone() });
            }
            f.kind == "error"
        }
        None => false,
    }
}

/// A request sent again under a reference already used: the record made the first time when it is the same
/// request, else 409.
fn replayed(existing: &impl Serialize, same: bool, what: &str, reference: &str) -> Response {
    if same {
        (StatusCode::OK, Json(existing)).into_response()
    } else {
        problem(
            StatusCode::CONFLICT,
            "reference_taken",
            format!("{what} {reference} has other content"),
            Some("reference"),
        )
    }
}

/// A bag of booked parcels, registered before the pickup. The same reference with the same content answers the
/// bag already made; with other content it is refused.
async fn create_bag(State(c): State<Arc<Carrier>>, body: axum::body::Bytes) -> Response {
    let req: BagRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_json", e.to_string(), None),
    };
    if req.reference.trim().is_empty() || req.reference.len() > 40 {
        return problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            "reference: 1 to 40 characters",
            Some("reference"),
        );
    }
    if req.tracking_numbers.is_empty() || req.tracking_numbers.len() > 5_000 {
        return problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            "1 to 5000 tracking numbers",
            Some("tracking_numbers"),
        );
    }
    if !(1..=100_000_000).contains(&req.weight_g) {
        return problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid", "weight_g: 1 to 100000000", Some("weight_g"));
    }
    let now = fmt(c.now());
    let mut b = c.lock();
    if manifest_fault(&mut b) {
        return problem(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the carrier had an internal error", None);
    }
    if let Some(existing) = b.bags.get(&req.reference) {
        return replayed(existing, existing.request == req, "bag", &req.reference);
    }
    for t in &req.tracking_numbers {
        match b.shipments.get(t) {
            None => {
                return problem(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "unknown_shipment",
                    format!("no shipment {t}"),
                    Some("tracking_numbers"),
                );
            }
            Some(s) if s.cancelled => {
                return problem(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "cancelled_shipment",
                    format!("shipment {t} was cancelled"),
                    Some("tracking_numbers"),
                );
            }
            Some(s) if s.request.consignee.country != req.destination_country => {
                return problem(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "wrong_destination",
                    format!("shipment {t} goes to {}, not {}", s.request.consignee.country, req.destination_country),
                    Some("tracking_numbers"),
                );
            }
            Some(_) => {}
        }
        if let Some(other) = b.bagged.get(t) {
            return problem(
                StatusCode::CONFLICT,
                "already_bagged",
                format!("shipment {t} is in bag {other}"),
                Some("tracking_numbers"),
            );
        }
    }
    let number = format!("SBXBAG{:06}", b.bags.len() + 1);
    for t in &req.tracking_numbers {
        b.bagged.insert(t.clone(), number.clone());
    }
    let rec = BagRec { bag_number: number.clone(), request: req.clone(), created_at: now };
    b.bag_refs.insert(number, req.reference.clone());
    b.bags.insert(req.reference, rec.clone());
    (StatusCode::CREATED, Json(rec)).into_response()
}

/// The manifest of a pickup: its bags by number. Idempotent on the reference like bags.
async fn create_manifest(State(c): State<Arc<Carrier>>, body: axum::body::Bytes) -> Response {
    let req: ManifestRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_json", e.to_string(), None),
    };
    if req.reference.trim().is_empty() || req.reference.len() > 40 {
        return problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            "reference: 1 to 40 characters",
            Some("reference"),
        );
    }
    if req.bag_numbers.is_empty() || req.bag_numbers.len() > 1_000 {
        return problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid", "1 to 1000 bag numbers", Some("bag_numbers"));
    }
    let now = fmt(c.now());
    let mut b = c.lock();
    if manifest_fault(&mut b) {
        return problem(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the carrier had an internal error", None);
    }
    if let Some(existing) = b.manifests.get(&req.reference) {
        return replayed(existing, existing.request == req, "manifest", &req.reference);
    }
    let (mut parcels, mut weight_g) = (0, 0);
    for n in &req.bag_numbers {
        let Some(bag) = b.bag_refs.get(n).and_then(|r| b.bags.get(r)) else {
            return problem(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unknown_bag",
                format!("no bag {n}"),
                Some("bag_numbers"),
            );
        };
        parcels += bag.request.tracking_numbers.len();
        weight_g += bag.request.weight_g;
    }
    let number = format!("SBXMAN{:06}", b.manifests.len() + 1);
    let rec = ManifestRec { manifest_number: number.clone(), request: req.clone(), parcels, weight_g, created_at: now };
    b.manifest_refs.insert(number, req.reference.clone());
    b.manifests.insert(req.reference, rec.clone());
    (StatusCode::CREATED, Json(rec)).into_response()
}

async fn show_manifest(State(c): State<Arc<Carrier>>, Path(number): Path<String>) -> Response {
    let b = c.lock();
    match b.manifest_refs.get(&number).and_then(|r| b.manifests.get(r)) {
        Some(m) => {
            let bags: Vec<&BagRec> =
                m.request.bag_numbers.iter().filter_map(|n| b.bag_refs.get(n).and_then(|r| b.bags.get(r))).collect();
            Json(json!({"manifest": m, "bags": bags})).into_response()
        }
        None => problem(StatusCode::NOT_FOUND, "not_found", format!("no manifest {number}"), None),
    }
}

/// The reply an injected fault makes a protocol front-end give instead of acting: a gateway's HTML error page
/// (nothing done), its rate limit (429, nothing done), a truncated body, or a slow answer (then `None`: the call
/// goes on after the delay).
async fn protocol_fault(c: &Carrier, protocol: &str) -> Option<Response> {
    let f = {
        let mut b = c.lock();
        let q = b.protocol_faults.get_mut(protocol)?;
        let f = q.pop_front()?;
        if f.count > 1 {
            q.push_front(FaultSpec { count: f.count - 1, ..f.clone() });
        }
        f
    };
    match f.kind.as_str() {
        "error" => Some(
            (
                StatusCode::BAD_GATEWAY,
                [("content-type", "text/html")],
                "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>",
            )
                .into_response(),
        ),
        "rate_limit" => Some(
            (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "2"), ("content-type", "text/plain")], "too many requests")
                .into_response(),
        ),
        "malformed" => Some(([("content-type", "application/json")], "{\"result\":\"1\",\"data\":{").into_response()),
        _ => {
            tokio::time::sleep(std::time::Duration::from_millis(f.delay_ms)).await;
            None
        }
    }
}

/// A one-page PDF (A6) with one line of text: the label a carrier links to.
fn label_pdf(line: &str) -> Vec<u8> {
    let safe: String = line.chars().filter(|c| c.is_ascii_alphanumeric() || " -".contains(*c)).collect();
    let stream = format!("BT /F1 18 Tf 20 200 Td ({safe}) Tj ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 298 420] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>"
            .to_owned(),
        format!("<< /Length {} >>\nstream\n{stream}\nendstream", stream.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
    ];
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for o in offsets {
        out.extend(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend(
        format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1).as_bytes(),
    );
    out
}

/// Serves on a free loopback port inside this process until the runtime ends; returns its base URL. Tests run
/// each carrier protocol against it.
pub async fn start(config: Config) -> std::io::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let app = router(config);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(url)
}

/// Serves until the process ends; prints the bound address first so a parent process can read it.
pub async fn serve(listen: SocketAddr, config: Config) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    println!("sandbox carrier listening on {}", listener.local_addr()?);
    axum::serve(listener, router(config)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracking_numbers_carry_a_valid_s10_check_digit() {
        // 4·8 + 7·6 + 3·4 + 1·2 + 2·3 + 4·5 + 8·9 + 2·7 = 200; 11 − 200 mod 11 = 9.
        assert_eq!(s10(47312482, "CN"), "SB473124829CN");
        assert_eq!(s10(1, "CN").len(), 13);
    }

    #[test]
    fn amounts_parse_to_minor_units_of_their_currency() {
        let a = |s: &str, c: &str| parse_amount(&Amount { amount: s.into(), currency: c.into() });
        assert_eq!(a("129.50", "SAR"), Some(12950));
        assert_eq!(a("1.125", "KWD"), Some(1125));
        assert_eq!(a("1.5", "JPY"), None);
        assert_eq!(amount_str(12950, "SAR"), "129.50");
    }
}
