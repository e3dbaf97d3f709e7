use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::dto::*;
use crate::routes::{catalogue, imports, orders, system};

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The OpenAPI document of API v1, generated from the handlers and wire types themselves.
#[derive(OpenApi)]
#[openapi(
    info(title = "codflow API", version = "1", description = "Order-to-cash for cross-border DDP + COD sellers. See API.md for the contract."),
    paths(
        orders::create, orders::get, orders::list, orders::history, orders::approve, orders::hold, orders::cancel,
        catalogue::create_warehouse, catalogue::list_warehouses, catalogue::create_product, catalogue::put_product,
        catalogue::get_product, catalogue::list_products, catalogue::put_stock, catalogue::get_stock, catalogue::stock_history,
        imports::orders, system::healthz, system::metrics,
    ),
    components(schemas(MoneyDto, CreateOrder, OrderDto, ActionBody, AuditDto, CreateWarehouse, WarehouseDto, ProductBody,
        ProductDto, SetStock, StockDto, ImportReportDto, RowErrorDto, Health)),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
)]
pub struct ApiDoc;
