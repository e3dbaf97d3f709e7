use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use codflow_app::catalogue::StockChange;
use codflow_domain::{Sku, WarehouseCode};

use crate::ApiResult;
use crate::dto::{AuditDto, CreateWarehouse, Page, ProductBody, ProductDto, SetStock, StockDto, WarehouseDto};
use crate::extract::{ApiJson, ApiQuery, Auth, FromPath, OPERATORS, READERS, STOCK_KEEPERS};
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
