//! Packaging over HTTP: each warehouse's boxes, how products pack, and the box recommended for an order.

use std::sync::Arc;

use crate::dto::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use codflow_domain::packaging::{BoxKind, BoxType, PackingAttrs, Recommendation};
use codflow_domain::{Currency, FieldErrors, Money, OrderId, Sku, WarehouseCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::dto::MoneyDto;
use crate::extract::{ApiJson, Auth, FromPath, READERS, STOCK_KEEPERS};
use crate::state::AppState;
use crate::{ApiError, ApiResult};

/// The JSON routes of this resource, under `/api/v1`.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/warehouses/{code}/boxes", get(list_boxes))
        .route("/warehouses/{code}/boxes/{box_code}", axum::routing::put(put_box).delete(delete_box))
        .route("/products/{sku}/packing", get(get_packing).put(put_packing))
        .route("/orders/{id}/packaging", get(order_packaging))
        .route("/packaging/damage-rates", get(damage_rates))
        .route("/packaging/damage-rates/export", get(damage_export))
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BoxBody {
    /// `carton`, `bag` or `padded_envelope`.
    #[schema(example = "carton")]
    pub kind: String,
    /// Inside length, width and height in millimetres; a carton's height is its vertical.
    #[schema(example = json!([300, 200, 150]))]
    pub inner_mm: [i64; 3],
    #[schema(example = 180)]
    pub empty_weight_g: i64,
    pub cost: MoneyDto,
    #[schema(example = 15000)]
    pub max_load_g: i64,
}

#[derive(Serialize, ToSchema)]
pub struct BoxDto {
    pub code: String,
    pub kind: String,
    pub inner_mm: [i64; 3],
    /// The inner size and the walls: what the carrier measures.
    pub outer_mm: [i64; 3],
    pub empty_weight_g: i64,
    pub cost: MoneyDto,
    pub max_load_g: i64,
}

impl From<BoxType> for BoxDto {
    fn from(b: BoxType) -> Self {
        BoxDto {
            outer_mm: b.outer_mm(),
            code: b.code,
            kind: b.kind.as_str().into(),
            inner_mm: b.inner_mm,
            empty_weight_g: b.empty_weight_g,
            cost: b.cost.into(),
            max_load_g: b.max_load_g,
        }
    }
}

fn box_of(code: String, b: BoxBody) -> Result<BoxType, ApiError> {
    let mut e = FieldErrors::default();
    let kind = BoxKind::parse(&b.kind).map_err(|x| e.push("kind", x.to_string())).ok();
    let cost = Currency::parse(&b.cost.currency)
        .map_err(|x| e.push("cost.currency", x.to_string()))
        .ok()
        .and_then(|c| Money::parse(&b.cost.amount, c).map_err(|x| e.push("cost.amount", x.to_string())).ok());
    match (kind, cost) {
        (Some(kind), Some(cost)) if e.is_empty() => Ok(BoxType {
            code,
            kind,
            inner_mm: b.inner_mm,
            empty_weight_g: b.empty_weight_g,
            cost,
            max_load_g: b.max_load_g,
        }),
        _ => Err(ApiError::Invalid(e)),
    }
}

#[utoipa::path(get, path = "/api/v1/warehouses/{code}/boxes", tag = "floor", params(("code" = String, Path)),
    responses((status = 200, body = Vec<BoxDto>), (status = 404)))]
pub async fn list_boxes(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(code): Path<String>,
) -> ApiResult<Json<Vec<BoxDto>>> {
    let code = WarehouseCode::from_path(&code)?;
    auth.require(READERS)?;
    Ok(Json(s.app.fulfilment().boxes(&code).await?.into_iter().map(Into::into).collect()))
}

#[utoipa::path(put, path = "/api/v1/warehouses/{code}/boxes/{box_code}", tag = "floor",
    params(("code" = String, Path), ("box_code" = String, Path)), request_body = BoxBody,
    responses((status = 201, body = BoxDto, description = "added"), (status = 200, body = BoxDto, description = "changed"),
        (status = 404), (status = 422)))]
pub async fn put_box(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path((code, box_code)): Path<(String, String)>,
    ApiJson(body): ApiJson<BoxBody>,
) -> ApiResult<(StatusCode, Json<BoxDto>)> {
    let code = WarehouseCode::from_path(&code)?;
    auth.require(STOCK_KEEPERS)?;
    let b = box_of(box_code, body)?;
    let created = s.app.fulfilment().put_box(&code, b.clone(), auth.actor()).await?;
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, Json(b.into())))
}

#[utoipa::path(delete, path = "/api/v1/warehouses/{code}/boxes/{box_code}", tag = "floor",
    params(("code" = String, Path), ("box_code" = String, Path)), responses((status = 204), (status = 404)))]
pub async fn delete_box(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path((code, box_code)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let code = WarehouseCode::from_path(&code)?;
    auth.require(STOCK_KEEPERS)?;
    s.app.fulfilment().delete_box(&code, &box_code, auth.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// How a product packs.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PackingBody {
    /// Length, width and height in millimetres; the height is its vertical when it must stay upright.
    #[schema(example = json!([200, 150, 100]))]
    pub dims_mm: [i64; 3],
    #[serde(default)]
    pub fragile: bool,
    #[serde(default)]
    pub keep_upright: bool,
    /// It may go in a bag or padded envelope (never with `keep_upright`).
    #[serde(default)]
    pub can_bag: bool,
}

#[utoipa::path(get, path = "/api/v1/products/{sku}/packing", tag = "floor", params(("sku" = String, Path)),
    responses((status = 200, body = PackingBody), (status = 404, description = "no such product, or no packing set")))]
pub async fn get_packing(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(sku): Path<String>,
) -> ApiResult<Json<PackingBody>> {
    let sku = Sku::from_path(&sku)?;
    auth.require(READERS)?;
    let a = s.app.fulfilment().product_packing(&sku).await?.ok_or(ApiError::NotFound("packing"))?;
    Ok(Json(PackingBody { dims_mm: a.dims_mm, fragile: a.fragile, keep_upright: a.keep_upright, can_bag: a.can_bag }))
}

#[utoipa::path(put, path = "/api/v1/products/{sku}/packing", tag = "floor", params(("sku" = String, Path)),
    request_body = PackingBody, responses((status = 200, body = PackingBody), (status = 404), (status = 422)))]
pub async fn put_packing(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(sku): Path<String>,
    ApiJson(body): ApiJson<PackingBody>,
) -> ApiResult<Json<PackingBody>> {
    let sku = Sku::from_path(&sku)?;
    auth.require(STOCK_KEEPERS)?;
    let a = PackingAttrs {
        dims_mm: body.dims_mm,
        fragile: body.fragile,
        keep_upright: body.keep_upright,
        can_bag: body.can_bag,
    };
    s.app.fulfilment().put_product_packing(&sku, a, auth.actor()).await?;
    Ok(Json(body))
}

#[derive(Serialize, ToSchema)]
pub struct PackedDto {
    pub code: String,
    pub kind: String,
    pub outer_mm: [i64; 3],
    /// The items and the box.
    pub weight_g: i64,
    /// One entry per unit.
    pub skus: Vec<String>,
    pub box_cost: MoneyDto,
    /// What the channel charges for this box (its outer size and weight), duties on the freight included.
    pub freight: MoneyDto,
    pub expected_damage: MoneyDto,
    pub total: MoneyDto,
}

#[derive(Serialize, ToSchema)]
pub struct ConsideredDto {
    pub code: String,
    /// The order's total in this box alone, when everything fits it.
    pub total: Option<MoneyDto>,
    pub why_not: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct NextUpDto {
    pub code: String,
    /// How much more the order costs in it.
    pub costs_more: MoneyDto,
}

#[derive(Serialize, ToSchema)]
pub struct PackagingDto {
    pub boxes: Vec<PackedDto>,
    pub total: MoneyDto,
    pub next_up: Option<NextUpDto>,
    pub considered: Vec<ConsideredDto>,
    /// What the weight check expects: the items and the boxes.
    pub expected_weight_g: i64,
}

impl From<Recommendation> for PackagingDto {
    fn from(r: Recommendation) -> Self {
        PackagingDto {
            boxes: r
                .boxes
                .into_iter()
                .map(|b| PackedDto {
                    code: b.code,
                    kind: b.kind.as_str().into(),
                    outer_mm: b.outer_mm,
                    weight_g: b.weight_g,
                    skus: b.skus,
                    box_cost: b.box_cost.into(),
                    freight: b.freight.into(),
                    expected_damage: b.expected_damage.into(),
                    total: b.total.into(),
                })
                .collect(),
            total: r.total.into(),
            next_up: r.next_up.map(|(code, m)| NextUpDto { code, costs_more: m.into() }),
            considered: r
                .considered
                .into_iter()
                .map(|c| ConsideredDto { code: c.code, total: c.total.map(Into::into), why_not: c.why_not })
                .collect(),
            expected_weight_g: r.expected_weight_g,
        }
    }
}

#[utoipa::path(get, path = "/api/v1/orders/{id}/packaging", tag = "floor", params(("id" = String, Path)),
    responses((status = 200, body = PackagingDto), (status = 404),
        (status = 409, description = "`not_allocated`, or `no_packing_plan`: a product without a packing size, an item that fits no box, no boxes")))]
pub async fn order_packaging(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<PackagingDto>> {
    let id = OrderId::from_path(&id)?;
    auth.require(READERS)?;
    Ok(Json(s.app.fulfilment().packaging(&id).await?.into()))
}

/// What was measured for a kind of box (and a product category, or all of them when `category` is null).
#[derive(Serialize, ToSchema)]
pub struct DamageRateDto {
    /// `carton`, `bag` or `padded_envelope`.
    pub kind: String,
    pub category: Option<String>,
    /// Parcels packed in this kind of box over the last 365 days (recommended at weighing).
    pub parcels: i64,
    /// Of them, those with a return graded damaged (for this category's products) or a damage claim.
    pub damaged: i64,
    /// The kind's rate before anything is measured, in basis points of the goods' value.
    pub default_bp: i64,
    /// The rate recommendations price with: the measured share pulled toward the kind's (or the default) as if
    /// 200 more parcels had behaved that way.
    pub rate_bp: i64,
}

#[utoipa::path(get, path = "/api/v1/packaging/damage-rates", tag = "floor",
    responses((status = 200, body = Vec<DamageRateDto>, description = "every kind of box, then each kind × category seen; counted now, and priced with from now on")))]
pub async fn damage_rates(State(s): State<Arc<AppState>>, auth: Auth) -> ApiResult<Json<Vec<DamageRateDto>>> {
    auth.require(READERS)?;
    let rows = s.app.fulfilment().damage_table().await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| DamageRateDto {
                kind: r.kind.as_str().into(),
                category: r.category,
                parcels: r.parcels,
                damaged: r.damaged,
                default_bp: r.default_bp,
                rate_bp: r.rate_bp,
            })
            .collect(),
    ))
}

#[utoipa::path(get, path = "/api/v1/packaging/damage-rates/export", tag = "floor",
    responses((status = 200, content_type = "text/csv", description = "kind, category, parcels, damaged, default_bp, rate_bp")))]
pub async fn damage_export(
    State(s): State<Arc<AppState>>,
    auth: Auth,
) -> ApiResult<crate::routes::logistics::Download> {
    auth.require(READERS)?;
    let csv = s.app.fulfilment().damage_csv().await?;
    Ok(crate::routes::logistics::download("text/csv; charset=utf-8", "damage-rates.csv", csv))
}
