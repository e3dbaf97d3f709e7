use std::sync::Arc;

use crate::dto::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use codflow_app::catalogue::{ProductInput, Stock, StockChange, WarehouseInput};
use codflow_domain::{Product, Sku, Warehouse, WarehouseCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ApiResult;
use crate::dto::{MoneyDto, Page};
use crate::extract::{ApiJson, ApiQuery, Auth, FromPath, OPERATORS, READERS, STOCK_KEEPERS};
use crate::routes::orders::dto::AuditDto;
use crate::state::AppState;

/// The JSON routes of this resource, under `/api/v1`.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/warehouses", post(create_warehouse).get(list_warehouses))
        .route("/products", post(create_product).get(list_products))
        .route("/products/{sku}", get(get_product).put(put_product))
        .route("/stock/{warehouse_code}/{sku}", get(get_stock).put(put_stock))
        .route("/stock/{warehouse_code}/{sku}/history", get(stock_history))
}

#[utoipa::path(post, path = "/api/v1/warehouses", tag = "catalogue", request_body = CreateWarehouse,
    responses((status = 201, body = WarehouseDto), (status = 409, description = "code already used"), (status = 422)))]
pub async fn create_warehouse(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiJson(body): ApiJson<CreateWarehouse>,
) -> ApiResult<(StatusCode, Json<WarehouseDto>)> {
    auth.require(OPERATORS)?;
    Ok((StatusCode::CREATED, Json(s.app.catalogue().create_warehouse(body.into(), auth.actor()).await?.into())))
}

/// The query parameters of [`list_warehouses`].
#[derive(serde::Deserialize, Default)]
pub struct ListWarehousesQuery {
    #[serde(flatten)]
    page: crate::routes::PageQuery,
}

#[utoipa::path(get, path = "/api/v1/warehouses", tag = "catalogue",
    params(("limit" = Option<i64>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = Page<WarehouseDto>)))]
pub async fn list_warehouses(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiQuery(q): ApiQuery<ListWarehousesQuery>,
) -> ApiResult<Json<Page<WarehouseDto>>> {
    auth.require(READERS)?;
    let (items, next_cursor) = s.app.catalogue().warehouses(q.page.limit()?, q.page.cursor()).await?;
    Ok(Json(Page { items: items.into_iter().map(Into::into).collect(), next_cursor }))
}

#[utoipa::path(post, path = "/api/v1/products", tag = "catalogue", request_body = ProductBody,
    responses((status = 201, body = ProductDto), (status = 409, description = "SKU already exists"), (status = 422)))]
pub async fn create_product(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiJson(body): ApiJson<ProductBody>,
) -> ApiResult<(StatusCode, Json<ProductDto>)> {
    auth.require(OPERATORS)?;
    Ok((StatusCode::CREATED, Json(s.app.catalogue().create_product(body.into(), auth.actor()).await?.into())))
}

#[utoipa::path(put, path = "/api/v1/products/{sku}", tag = "catalogue", params(("sku" = String, Path)), request_body = ProductBody,
    responses((status = 200, body = ProductDto, description = "updated"), (status = 201, body = ProductDto, description = "created")))]
pub async fn put_product(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(sku): Path<String>,
    ApiJson(body): ApiJson<ProductBody>,
) -> ApiResult<(StatusCode, Json<ProductDto>)> {
    auth.require(OPERATORS)?;
    let (p, created) = s.app.catalogue().put_product(&sku, body.into(), auth.actor()).await?;
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, Json(p.into())))
}

#[utoipa::path(get, path = "/api/v1/products/{sku}", tag = "catalogue", params(("sku" = String, Path)),
    responses((status = 200, body = ProductDto), (status = 404)))]
pub async fn get_product(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(sku): Path<String>,
) -> ApiResult<Json<ProductDto>> {
    auth.require(READERS)?;
    Ok(Json(s.app.catalogue().product(&Sku::from_path(&sku)?).await?.into()))
}

/// The query parameters of [`list_products`].
#[derive(serde::Deserialize, Default)]
pub struct ListProductsQuery {
    #[serde(flatten)]
    page: crate::routes::PageQuery,
}

#[utoipa::path(get, path = "/api/v1/products", tag = "catalogue",
    params(("limit" = Option<i64>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = Page<ProductDto>)))]
pub async fn list_products(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiQuery(q): ApiQuery<ListProductsQuery>,
) -> ApiResult<Json<Page<ProductDto>>> {
    auth.require(READERS)?;
    let (items, next_cursor) = s.app.catalogue().products(q.page.limit()?, q.page.cursor()).await?;
    Ok(Json(Page { items: items.into_iter().map(Into::into).collect(), next_cursor }))
}

#[utoipa::path(put, path = "/api/v1/stock/{warehouse_code}/{sku}", tag = "catalogue",
    params(("warehouse_code" = String, Path), ("sku" = String, Path)), request_body = SetStock,
    responses((status = 200, body = StockDto), (status = 404), (status = 409, description = "below what is reserved")))]
pub async fn put_stock(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path((w, sku)): Path<(String, String)>,
    ApiJson(body): ApiJson<SetStock>,
) -> ApiResult<Json<StockDto>> {
    auth.require(STOCK_KEEPERS)?;
    Ok(Json(
        s.app
            .catalogue()
            .set_stock(
                &WarehouseCode::from_path(&w)?,
                &Sku::from_path(&sku)?,
                StockChange { on_hand: body.on_hand, location: body.location },
                auth.actor(),
            )
            .await?
            .into(),
    ))
}

#[utoipa::path(get, path = "/api/v1/stock/{warehouse_code}/{sku}", tag = "catalogue",
    params(("warehouse_code" = String, Path), ("sku" = String, Path)), responses((status = 200, body = StockDto), (status = 404)))]
pub async fn get_stock(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path((w, sku)): Path<(String, String)>,
) -> ApiResult<Json<StockDto>> {
    auth.require(READERS)?;
    Ok(Json(s.app.catalogue().stock(&WarehouseCode::from_path(&w)?, &Sku::from_path(&sku)?).await?.into()))
}

#[utoipa::path(get, path = "/api/v1/stock/{warehouse_code}/{sku}/history", tag = "catalogue",
    params(("warehouse_code" = String, Path), ("sku" = String, Path)),
    responses((status = 200, body = Vec<AuditDto>, description = "every count: who, from, to, when"), (status = 404)))]
pub async fn stock_history(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path((w, sku)): Path<(String, String)>,
) -> ApiResult<Json<Vec<AuditDto>>> {
    auth.require(READERS)?;
    Ok(Json(
        s.app
            .catalogue()
            .stock_history(&WarehouseCode::from_path(&w)?, &Sku::from_path(&sku)?)
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWarehouse {
    #[schema(example = "SZ1")]
    pub code: Option<String>,
    pub name: Option<String>,
    #[schema(example = "CN")]
    pub country: Option<String>,
}

impl From<CreateWarehouse> for WarehouseInput {
    fn from(w: CreateWarehouse) -> Self {
        WarehouseInput { code: w.code, name: w.name, country: w.country }
    }
}

#[derive(Serialize, ToSchema)]
pub struct WarehouseDto {
    pub id: String,
    pub code: String,
    pub name: String,
    pub country: String,
}

impl From<Warehouse> for WarehouseDto {
    fn from(w: Warehouse) -> Self {
        WarehouseDto { id: w.id.to_string(), code: w.code.to_string(), name: w.name, country: w.country.to_string() }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductBody {
    #[schema(example = "LAMP-01")]
    pub sku: Option<String>,
    pub title: Option<String>,
    pub unit_weight_g: Option<i64>,
    pub unit_cost: Option<MoneyDto>,
    #[schema(example = "940540")]
    pub hs_code: Option<String>,
    pub origin_country: Option<String>,
    pub category: Option<String>,
}

impl From<ProductBody> for ProductInput {
    fn from(p: ProductBody) -> Self {
        ProductInput {
            sku: p.sku,
            title: p.title,
            unit_weight_g: p.unit_weight_g,
            unit_cost: p.unit_cost.map(Into::into),
            hs_code: p.hs_code,
            origin_country: p.origin_country,
            category: p.category,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ProductDto {
    pub id: String,
    pub sku: String,
    pub title: String,
    pub unit_weight_g: i64,
    pub unit_cost: MoneyDto,
    pub hs_code: Option<String>,
    pub origin_country: Option<String>,
    pub category: Option<String>,
}

impl From<Product> for ProductDto {
    fn from(p: Product) -> Self {
        ProductDto {
            id: p.id.to_string(),
            sku: p.sku.to_string(),
            title: p.title,
            unit_weight_g: p.unit_weight_g,
            unit_cost: p.unit_cost.into(),
            hs_code: p.hs_code.map(|h| h.as_str().to_owned()),
            origin_country: p.origin_country.map(|c| c.to_string()),
            category: p.category,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetStock {
    pub on_hand: Option<i64>,
    /// Bin location ("A-01-03"); an empty string clears it.
    pub location: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct StockDto {
    pub on_hand: i64,
    pub reserved: i64,
    pub available: i64,
    /// Present once the SKU has a bin in this warehouse.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

impl From<Stock> for StockDto {
    fn from(s: Stock) -> Self {
        StockDto {
            on_hand: s.level.on_hand,
            reserved: s.level.reserved,
            available: s.level.available(),
            location: s.location.map(|l| l.as_str().to_owned()),
        }
    }
}
