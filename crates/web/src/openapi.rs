use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::dto::*;
use crate::routes::access::{TokenDto, UserDto};
use crate::routes::attach::{AttachBody, AttachImportDto, AttachLineErrorDto, AttachedDto};
use crate::routes::carrier_accounts::{CarrierAccountBody, CarrierAccountDto, ConnectionTestDto, CredentialFieldDto};
use crate::routes::catalogue::{CreateWarehouse, ProductBody, ProductDto, SetStock, StockDto, WarehouseDto};
use crate::routes::channel_sync::{DeliveryDto, ProcessedDto, PullDto, ReceivedDto, StockPushDto, SyncDto};
use crate::routes::claims::{
    BuyerStatementDto, CarrierClaimsDto, ClaimDto, ClaimPaidBody, ClaimWindowBody, DecideBody, FileBody, OpenClaimBody,
    ReviewSpeedDto, StatementLinkDto,
};
use crate::routes::dashboards::{
    ActedDto, ClearanceDto, LaneDto, RatioDto, RecommendationDto, RefreshDto, ScoreRowDto, ScorecardDto, SumDto,
    SumsDto,
};
use crate::routes::documents::{DocumentSettingsDto, LabelBatch, OrderSelection, ShipmentSelection};
use crate::routes::finance::{AgingDto, BalanceDto, BucketDto, PostingDto, ProfileDto, TolerancesDto};
use crate::routes::floor::{
    BagDto, BarcodesDto, CodeBody, DeviceTokenDto, FloorStatsDto, HandoverBody, HandoverDto, PackDto, PackItemDto,
    ReadingBody, ReadingDto, ScanBody, ScanDto, SortDto, StationBody, StationDto, StationHourDto, WaveBody, WaveDto,
    WaveOrderDto, WeighBody,
};
use crate::routes::fx_rates::{FxImportDto, FxRateDto};
use crate::routes::imports::{ImportReportDto, RowErrorDto};
use crate::routes::inbound::{
    AsnBody, AsnDto, AsnLineDto, CloseReceiptBody, InboundImportDto, InboundLineErrorDto, LineBody, PoBody, PoDto,
    PoLineDto, PutAwayBody, ReasonBody, ReceiptDiscrepancyDto, ReceiptDto, ReceiveDto, ReceiveScanBody,
};
use crate::routes::logistics::dto::*;
use crate::routes::notifications::{NotificationDto, TemplateDto};
use crate::routes::orders::dto::*;
use crate::routes::packaging::{
    BoxBody, BoxDto, ConsideredDto, DamageRateDto, NextUpDto, PackagingDto, PackedDto, PackingBody,
};
use crate::routes::profit::{
    ComponentsDto, FirstLegDto, FlowsDto, ForecastDto, GroupDto, MissingRateDto, OrderProfitDto, ProfitReportDto,
    SkippedDto, WeekDto,
};
use crate::routes::returns::{
    GiveUpBody, GradeBody, GradeLineBody, GradedDto, PhotoDto, ReceiveBody, ReceivedReturnDto, ReleaseBody, ReturnDto,
    ReturnMonthDto, ReturnRateDto, RouteBody, RouteDto, RouteSettingsBody, RouteValueDto, ShippedDto,
};
use crate::routes::review::dto::*;
use crate::routes::settings::SettingsDto;
use crate::routes::shops::{PushDto, StoreBody, StoreDto};
use crate::routes::statements::{
    ClassTotalDto, DiscrepancyDto, LineDto, LineErrorDto, MissingDto, PaidBody, ReportDto, StatementDto,
};
use crate::routes::system::Health;
use crate::routes::tasks::{HistoryDto, NoteBody, NoteDto, TaskDetailDto, TaskDto, TaskPatch};
use crate::routes::tracking::{
    EventBatch, EventDto, EventIn, IngestDto, MappedDto, MappingBody, MappingDto, NdrDto, OrderNdrDto, PollDto,
    RejectedDto, SweepDto, TrackingDto, UnmappedDto,
};
use crate::routes::{
    access, attach, carrier_accounts, catalogue, channel_sync, dashboards, documents, finance, floor, fx_rates,
    imports, inbound, logistics, notifications, orders, profit, review, settings, shops, statements, system, tasks,
    tracking,
};

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

/// Every operation behind a token answers 401 without a valid one and 403 when the token's role may not use
/// it; the public ones (marked with an empty security requirement) answer neither.
struct AccessResponses;

impl Modify for AccessResponses {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::SecurityRequirement;
        use utoipa::openapi::{RefOr, Response};
        for item in doc.paths.paths.values_mut() {
            let ops = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
            for op in ops.into_iter().flatten() {
                let public =
                    op.security.as_ref().is_some_and(|s| s.iter().all(|r| *r == SecurityRequirement::default()));
                if public {
                    continue;
                }
                let responses = &mut op.responses.responses;
                responses.entry("401".into()).or_insert_with(|| {
                    RefOr::T(Response::new("no bearer token or session, or one that is unknown, expired or revoked"))
                });
                responses.entry("403".into()).or_insert_with(|| {
                    RefOr::T(Response::new("the token's role may not use this operation (API.md, roles)"))
                });
            }
        }
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
        review::list_rules, review::create_rule, review::get_rule, review::update_rule, review::delete_rule,
        review::validate_rule, review::fields, review::rule_templates, review::from_template, review::export_rules,
        review::import_rules, review::versions, review::version, review::backtest, review::lists, review::create_list,
        review::delete_list, review::entries, review::add_entries, review::import_entries, review::export_entries, review::remove_entry,
        review::queue, review::approve_many, review::cancel_many, review::outcome, settings::settings,
        settings::put_settings, fx_rates::fx_rates, fx_rates::put_fx_rate, notifications::notifications, notifications::retry_notification,
        notifications::notification_templates, notifications::put_notification_template,
        logistics::list_channels, logistics::create_channel, logistics::get_channel, logistics::put_channel,
        logistics::delete_channel, logistics::export_channels, logistics::import_channels, logistics::duty_rules,
        logistics::put_duty_rule, logistics::delete_duty_rule, logistics::rates, logistics::carrier_rate, logistics::logistics_settings,
        logistics::put_logistics_settings, logistics::book_order, logistics::order_shipments, logistics::book_many,
        logistics::list_shipments, logistics::get_shipment, logistics::cancel_shipment, logistics::retry_shipment,
        documents::label, documents::labels, documents::commercial_invoice, documents::packing_list,
        documents::commercial_invoices, documents::packing_lists, documents::picking_list, documents::settings,
        documents::put_settings,
        tracking::post_events, tracking::carrier_webhook, tracking::shipment_tracking, tracking::mappings,
        tracking::put_mapping, tracking::delete_mapping, tracking::unmapped, tracking::thresholds,
        tracking::put_thresholds, tracking::tracked_shipments, tracking::tracking_settings, tracking::put_tracking_settings, tracking::sweep, tracking::poll, tasks::list_tasks, tasks::get_task,
        tasks::patch_task, tasks::add_note,
        shops::list, shops::create, shops::get, shops::put, shops::pushes, shops::retry,
        carrier_accounts::list, carrier_accounts::create, carrier_accounts::get, carrier_accounts::put,
        carrier_accounts::delete, carrier_accounts::test, attach::attach, attach::import,
        channel_sync::shopify, channel_sync::woocommerce, channel_sync::status, channel_sync::pull, channel_sync::inbox,
        channel_sync::get_delivery, channel_sync::retry, channel_sync::push_stock, channel_sync::process,
        finance::profiles, finance::profile, finance::put_profile, finance::delete_profile, statements::import,
        fx_rates::import_fx_rates, finance::tolerances, finance::put_tolerances, statements::dispute, statements::disputes, statements::list, statements::get, statements::lines, statements::import_platform, finance::balances, finance::shipment_ledger, finance::aging,
        dashboards::sums, dashboards::clearance, dashboards::scorecard, dashboards::refresh,
        dashboards::recommendations, dashboards::act, dashboards::weights, dashboards::put_weights,
        dashboards::thresholds, dashboards::put_thresholds,
        access::tokens, access::revoke, access::users, access::disable, access::enable,
        profit::order_profit, profit::report, profit::orders_csv, profit::first_leg, profit::put_first_leg, profit::forecast, statements::put_paid,
        floor::list_stations, floor::get_station, floor::put_station, floor::issue_token, floor::get_barcodes,
        floor::put_barcodes, floor::get_rules, floor::put_rules, floor::post_reading, floor::list_packs, floor::scan,
        floor::get_pack, floor::weigh, floor::override_verification, floor::release, floor::reprint,
        floor::create_wave, floor::list_waves, floor::get_wave, floor::wave_pick_list, floor::sort, floor::list_bags,
        floor::get_bag, floor::close_bag, floor::bag_label, floor::create_handover, floor::get_handover,
        floor::handover_scan, floor::send_manifest, floor::manifest, floor::floor_stats,
        crate::routes::packaging::list_boxes, crate::routes::packaging::put_box, crate::routes::packaging::delete_box,
        crate::routes::packaging::get_packing, crate::routes::packaging::put_packing,
        crate::routes::packaging::order_packaging, crate::routes::packaging::damage_rates,
        crate::routes::packaging::damage_export, inbound::create_po, inbound::list_pos,
        inbound::export_pos, inbound::get_po, inbound::cancel_po, inbound::close_po, inbound::import_pos,
        inbound::import_asns, inbound::create_asn, inbound::list_asns, inbound::get_asn, inbound::cancel_asn,
        inbound::receive_scan, inbound::put_away, inbound::close_receipt,
        crate::routes::returns::list, crate::routes::returns::export, crate::routes::returns::months,
        crate::routes::returns::get_one, crate::routes::returns::receive, crate::routes::returns::grade,
        crate::routes::returns::give_up, crate::routes::returns::add_photo, crate::routes::returns::photo,
        crate::routes::returns::get_route, crate::routes::returns::decide_route, crate::routes::returns::route_settings,
        crate::routes::returns::put_route_settings, crate::routes::returns::rates,
        crate::routes::returns::release,
        crate::routes::claims::list, crate::routes::claims::open, crate::routes::claims::by_carrier,
        crate::routes::claims::get_one, crate::routes::claims::file, crate::routes::claims::review,
        crate::routes::claims::decide, crate::routes::claims::paid, crate::routes::claims::evidence_pdf,
        crate::routes::claims::evidence_zip, crate::routes::claims::statement_link,
        crate::routes::claims::statement, crate::routes::claims::statement_photo, crate::routes::claims::get_window, crate::routes::claims::put_window,
    ),
    components(schemas(ReleaseBody, ReturnRateDto, RouteBody, RouteDto, RouteSettingsBody, RouteValueDto, CarrierClaimsDto, ReviewSpeedDto, StatementLinkDto, BuyerStatementDto, ClaimDto, ClaimWindowBody, DecideBody, FileBody, OpenClaimBody, ClaimPaidBody, GiveUpBody, GradeBody, GradeLineBody, GradedDto, PhotoDto, ReceiveBody, ReceivedReturnDto, ReturnDto, ReturnMonthDto, ShippedDto, BoxBody, BoxDto, ConsideredDto, DamageRateDto, NextUpDto, PackagingDto, PackedDto, PackingBody, TokenDto, UserDto, ActedDto, ClearanceDto, LaneDto, RatioDto, RecommendationDto, RefreshDto, ScoreRowDto, ScorecardDto, SumDto, SumsDto, FlowsDto, WeekDto, ForecastDto, PaidBody, ComponentsDto, OrderProfitDto, GroupDto, SkippedDto, ProfitReportDto, FirstLegDto, AgingDto, BucketDto, ProfileDto, StatementDto, LineErrorDto, ClassTotalDto, DiscrepancyDto, MissingDto, ReportDto, FxImportDto, TolerancesDto,
        LineDto, BalanceDto, PostingDto, CarrierAccountBody, CarrierAccountDto, ConnectionTestDto, CredentialFieldDto, AttachBody, AttachImportDto, AttachLineErrorDto, AttachedDto, StoreBody, StoreDto, PushDto, DeliveryDto, ProcessedDto, PullDto, ReceivedDto, StockPushDto, SyncDto, EventBatch, EventDto, EventIn, HistoryDto, IngestDto, MappedDto, MappingBody, MappingDto, NdrDto,
        NoteBody, NoteDto, OrderNdrDto, PollDto, RejectedDto, SweepDto, TaskDetailDto, TaskDto, TaskPatch, TrackingDto, UnmappedDto, MoneyDto, CreateOrder, OrderDto, ActionBody, AuditDto, CreateWarehouse, WarehouseDto, ProductBody,
        ProductDto, SetStock, StockDto, ImportReportDto, RowErrorDto, Health, ReviewDto, MatchDto, RiskDto, RiskComponentDto, RuleBody, RuleDto, RulesDto,
        ValidationDto, FieldDto, FromTemplate, VersionDto, VersionRulesDto, BacktestBody, ListDto, CreateList, EntryDto,
        AddEntries, AddedDto, QueueDecision, QueueResult, OutcomeBody, OutcomeDto, SettingsDto, FxRateDto, NotificationDto,
        TemplateBody, TemplateDto, AllocationDto, RankedDto, IneligibleDto, BreakdownDto, QuoteLineDto, QuoteDto,
        LogisticsSettingsDto, CarrierQuoteDto, ChargeDto, ShipmentDto, MeasuredDto, BookMany, BookResultDto, BookErrorDto, LabelBatch, ShipmentSelection,
        OrderSelection, DocumentSettingsDto, MissingRateDto, codflow_app::logistics::QuoteInput,
        codflow_app::logistics::DestinationInput, codflow_app::logistics::ParcelInput, codflow_app::logistics::ItemInput,
        codflow_app::logistics::ContentsInput, codflow_app::rules::RulesFile, codflow_domain::review::Rule,
        codflow_domain::Decision, codflow_app::kpi::Recommendation, codflow_domain::kpi::ScoreWeights,
        codflow_domain::kpi::RecommendationThresholds, codflow_domain::kpi::Ratio, crate::routes::finance::ProfileBody,
        crate::routes::finance::NumberFormatBody, crate::routes::statements::StatementUpload, crate::routes::statements::PlatformImport, crate::routes::fx_rates::RatesUpload,
        crate::routes::imports::OrdersUpload, StationDto, StationBody, DeviceTokenDto, BarcodesDto, ReadingBody, ReadingDto,
        PackItemDto, PackDto, ScanDto, ScanBody, WeighBody, WaveDto, WaveOrderDto, WaveBody, BagDto, SortDto, CodeBody, HandoverDto, HandoverBody, FloorStatsDto, StationHourDto, codflow_domain::floor::FloorRules,
        codflow_domain::floor::Tolerance, PoLineDto, AsnLineDto, AsnDto, PoDto, LineBody, PoBody, ReasonBody,
        InboundLineErrorDto, InboundImportDto, AsnBody, ReceiveScanBody, ReceiveDto, PutAwayBody, CloseReceiptBody,
        ReceiptDto, ReceiptDiscrepancyDto)),
    modifiers(&BearerAuth, &AccessResponses),
    security(("bearer" = [])),
)]
pub struct ApiDoc;
