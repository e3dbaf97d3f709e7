//! Parcels booked outside codflow, attached by tracking number and followed from then on: one by one, or from a
//! forwarder's shipment export.

use std::sync::Arc;

use crate::dto::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use codflow_app::attach::{AttachInput, AttachReport};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ApiResult;
use crate::extract::{ApiJson, Auth, OPERATORS};
use crate::routes::logistics::dto::ShipmentDto;
use crate::state::AppState;

/// The JSON routes of this resource, under `/api/v1`.
pub fn router() -> Router<Arc<AppState>> {
    Router::new().route("/shipments/attach", post(attach)).route("/shipments/import", post(import))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachBody {
    /// The order's id, or its number in its shop.
    pub order: String,
    /// The shop, when two shops have an order with that number.
    #[serde(default)]
    pub store: Option<String>,
    /// The carrier's code (`yunexpress`, `smsa`…), any carrier.
    pub carrier: String,
    pub tracking_number: String,
    /// `carrier` (its connector polls it) or `17track`; default: the carrier when codflow speaks it, else 17TRACK.
    #[serde(default)]
    pub source: Option<String>,
    /// The channel the parcel belongs to; default: the order's, else `external`.
    #[serde(default)]
    pub channel: Option<String>,
    #[serde(default)]
    pub weight_g: Option<i64>,
    /// What the forwarder charged, e.g. `{"amount": "18.40", "currency": "USD"}`.
    #[serde(default)]
    pub fee: Option<crate::dto::MoneyDto>,
}

#[derive(Serialize, ToSchema)]
pub struct AttachedDto {
    pub shipment: ShipmentDto,
    /// Who follows the parcel: the carrier's code, or `17track`.
    pub source: String,
}

#[utoipa::path(post, path = "/api/v1/shipments/attach", tag = "shipments", request_body = AttachBody,
    responses((status = 201, body = AttachedDto), (status = 200, body = AttachedDto, description = "the same parcel attached before"),
        (status = 409, description = "the order has another parcel, cannot ship, or the carrier needs a tracking account"), (status = 422)))]
pub async fn attach(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiJson(b): ApiJson<AttachBody>,
) -> ApiResult<(StatusCode, Json<AttachedDto>)> {
    auth.require(OPERATORS)?;
    let input = AttachInput {
        order: b.order,
        store: b.store,
        carrier: b.carrier,
        tracking_number: b.tracking_number,
        source: b.source,
        channel: b.channel,
        weight_g: b.weight_g,
        fee: b.fee.as_ref().map(|f| f.amount.clone()),
        fee_currency: b.fee.map(|f| f.currency),
    };
    let a = s.app.fulfilment().attach_parcel(input, auth.actor()).await?;
    let status = if a.created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(AttachedDto { shipment: a.shipment.into(), source: a.source })))
}

#[derive(Serialize, ToSchema)]
pub struct AttachLineErrorDto {
    pub line: u64,
    pub field: String,
    pub message: String,
}

#[derive(Serialize, ToSchema)]
pub struct AttachImportDto {
    /// Order and shipment of each parcel attached.
    pub attached: Vec<[String; 2]>,
    /// Lines already attached as they are.
    pub unchanged: usize,
    pub errors: Vec<AttachLineErrorDto>,
}

impl From<AttachReport> for AttachImportDto {
    fn from(r: AttachReport) -> Self {
        AttachImportDto {
            attached: r.attached.into_iter().map(|(o, s)| [o, s]).collect(),
            unchanged: r.unchanged,
            errors: r
                .errors
                .into_iter()
                .map(|e| AttachLineErrorDto { line: e.line, field: e.field, message: e.message })
                .collect(),
        }
    }
}

#[utoipa::path(post, path = "/api/v1/shipments/import", tag = "shipments",
    request_body(content = String, content_type = "text/csv", description = "a forwarder's shipment export: header `tracking_number,order,carrier` and optionally `store,source,channel,weight_g,weight_kg,fee,currency`"),
    responses((status = 200, body = AttachImportDto, description = "each line attached, unchanged or refused by line and field"), (status = 422)))]
pub async fn import(State(s): State<Arc<AppState>>, auth: Auth, body: Bytes) -> ApiResult<Json<AttachImportDto>> {
    auth.require(OPERATORS)?;
    Ok(Json(s.app.fulfilment().attach_csv(&body, auth.actor()).await?.into()))
}
