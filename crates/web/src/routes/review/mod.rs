//! Review: rules and their versions, back-tests, named lists, the review queue and recorded outcomes.

pub mod dto;

use std::sync::Arc;

use crate::dto::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use codflow_app::rules::RulesFile;
use codflow_domain::review::backtest::{Economics, Report};
use codflow_domain::review::expr::Ty;
use codflow_domain::review::{FIELDS, templates};
use codflow_domain::{Currency, FieldErrors, Money, OrderId, RuleId};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime};

use crate::dto::{MoneyDto, Page};
use crate::extract::{ApiJson, ApiQuery, Auth, FromPath, OPERATORS, READERS};
use crate::routes::orders::dto::OrderDto;
use crate::state::AppState;
use crate::{ApiError, ApiResult};
use dto::*;

#[utoipa::path(get, path = "/api/v1/rules", tag = "review", responses((status = 200, body = RulesDto)))]
pub async fn list_rules(State(s): State<Arc<AppState>>, auth: Auth) -> ApiResult<Json<RulesDto>> {
    auth.require(READERS)?;
    let (rules, version) = s.app.review().rules().await?;
    Ok(Json(RulesDto { items: rules.into_iter().map(|r| RuleDto::of(r, None)).collect(), ruleset_version: version }))
}

#[utoipa::path(post, path = "/api/v1/rules", tag = "review", request_body = RuleBody,
    responses((status = 201, body = RuleDto), (status = 422, description = "bad condition (with its line and column), unknown list, field or template")))]
pub async fn create_rule(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiJson(body): ApiJson<RuleBody>,
) -> ApiResult<(StatusCode, Json<RuleDto>)> {
    auth.require(OPERATORS)?;
    let (rule, v) = s.app.review().create_rule(body.into(), auth.actor()).await?;
    Ok((StatusCode::CREATED, Json(RuleDto::of(rule, Some(v)))))
}

#[utoipa::path(get, path = "/api/v1/rules/{id}", tag = "review", params(("id" = String, Path)), responses((status = 200, body = RuleDto)))]
pub async fn get_rule(State(s): State<Arc<AppState>>, auth: Auth, Path(id): Path<String>) -> ApiResult<Json<RuleDto>> {
    auth.require(READERS)?;
    Ok(Json(RuleDto::of(s.app.review().rule(&RuleId::from_path(&id)?).await?, None)))
}

#[utoipa::path(put, path = "/api/v1/rules/{id}", tag = "review", params(("id" = String, Path)), request_body = RuleBody,
    responses((status = 200, body = RuleDto, description = "fields left out keep their value")))]
pub async fn update_rule(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RuleBody>,
) -> ApiResult<Json<RuleDto>> {
    auth.require(OPERATORS)?;
    let (rule, v) = s.app.review().update_rule(&RuleId::from_path(&id)?, body.into(), auth.actor()).await?;
    Ok(Json(RuleDto::of(rule, Some(v))))
}

#[utoipa::path(delete, path = "/api/v1/rules/{id}", tag = "review", params(("id" = String, Path)), responses((status = 204)))]
pub async fn delete_rule(State(s): State<Arc<AppState>>, auth: Auth, Path(id): Path<String>) -> ApiResult<StatusCode> {
    auth.require(OPERATORS)?;
    s.app.review().delete_rule(&RuleId::from_path(&id)?, auth.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/rules/validate", tag = "review", request_body = RuleBody,
    responses((status = 200, body = ValidationDto), (status = 422)))]
pub async fn validate_rule(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiJson(body): ApiJson<RuleBody>,
) -> ApiResult<Json<ValidationDto>> {
    auth.require(READERS)?;
    let cost = s.app.review().validate_rule(body.into()).await?;
    Ok(Json(ValidationDto { valid: true, cost }))
}

#[utoipa::path(get, path = "/api/v1/rules/fields", tag = "review", responses((status = 200, body = Vec<FieldDto>)))]
pub async fn fields(auth: Auth) -> ApiResult<Json<Vec<FieldDto>>> {
    auth.require(READERS)?;
    let ty = |t: Ty| t.to_string();
    Ok(Json(
        FIELDS
            .iter()
            .map(|(_, p, t, d)| FieldDto { path: (*p).into(), ty: ty(*t), description: (*d).into() })
            .collect(),
    ))
}

#[utoipa::path(get, path = "/api/v1/rules/templates", tag = "review", responses((status = 200, description = "the ready-made rules and their parameters")))]
pub async fn rule_templates(auth: Auth) -> ApiResult<Json<&'static [templates::Template]>> {
    auth.require(READERS)?;
    Ok(Json(templates::TEMPLATES))
}

#[utoipa::path(post, path = "/api/v1/rules/templates/{key}", tag = "review", params(("key" = String, Path)), request_body = FromTemplate,
    responses((status = 201, body = RuleDto), (status = 422, description = "bad parameters, by name")))]
pub async fn from_template(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(key): Path<String>,
    ApiJson(body): ApiJson<FromTemplate>,
) -> ApiResult<(StatusCode, Json<RuleDto>)> {
    auth.require(OPERATORS)?;
    let (rule, v) =
        s.app.review().rule_from_template(&key, body.params, body.name, body.priority, auth.actor()).await?;
    Ok((StatusCode::CREATED, Json(RuleDto::of(rule, Some(v)))))
}

#[utoipa::path(get, path = "/api/v1/rules/export", tag = "review", responses((status = 200, description = "the rules file")))]
pub async fn export_rules(State(s): State<Arc<AppState>>, auth: Auth) -> ApiResult<Json<RulesFile>> {
    auth.require(READERS)?;
    Ok(Json(s.app.review().export_rules().await?))
}

#[utoipa::path(post, path = "/api/v1/rules/import", tag = "review", request_body = RulesFile,
    responses((status = 200, description = "every rule replaced; the new ruleset version"), (status = 422)))]
pub async fn import_rules(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiJson(file): ApiJson<RulesFile>,
) -> ApiResult<Json<serde_json::Value>> {
    auth.require(OPERATORS)?;
    let v = s.app.review().import_rules(file, auth.actor()).await?;
    Ok(Json(serde_json::json!({ "ruleset_version": v })))
}

/// The query parameters of [`versions`].
#[derive(serde::Deserialize, Default)]
pub struct VersionsQuery {
    #[serde(flatten)]
    page: crate::routes::PageQuery,
}

#[utoipa::path(get, path = "/api/v1/rules/versions", tag = "review",
    params(("limit" = Option<i64>, Query), ("cursor" = Option<String>, Query)), responses((status = 200, body = Page<VersionDto>)))]
pub async fn versions(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiQuery(q): ApiQuery<VersionsQuery>,
) -> ApiResult<Json<Page<VersionDto>>> {
    auth.require(READERS)?;
    let (items, next_cursor) = s.app.review().ruleset_versions(q.page.limit()?, q.page.cursor()).await?;
    Ok(Json(Page { items: items.into_iter().map(Into::into).collect(), next_cursor }))
}

#[utoipa::path(get, path = "/api/v1/rules/versions/{version}", tag = "review", params(("version" = i64, Path)),
    responses((status = 200, body = VersionRulesDto)))]
pub async fn version(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(version): Path<String>,
) -> ApiResult<Json<VersionRulesDto>> {
    auth.require(READERS)?;
    let v: i64 = version.parse().map_err(|_| ApiError::NotFound("ruleset version"))?;
    let rules = s.app.review().ruleset_version(v).await?;
    Ok(Json(VersionRulesDto { version: v, rules: rules.into_iter().map(|r| RuleDto::of(r, None)).collect() }))
}

#[utoipa::path(post, path = "/api/v1/rules/backtest", tag = "review", request_body = BacktestBody,
    responses((status = 200, description = "per action: orders affected, refusals avoided, delivered revenue forgone, net effect")))]
pub async fn backtest(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiJson(body): ApiJson<BacktestBody>,
) -> ApiResult<Json<Report>> {
    auth.require(READERS)?;
    let base = s.app.review().base_currency().await?;
    let (since, economics) =
        backtest_terms(body.since.as_deref(), body.refusal_cost, body.margin_percent.as_deref(), base)?;
    Ok(Json(s.app.review().backtest(body.rules, since, economics, |_, _| {}).await?))
}

/// The day to start from and the economics of a back-test, with defaults: every order, a refusal costing
/// 15.00 of the base currency, a 40% margin.
pub fn backtest_terms(
    since: Option<&str>,
    refusal_cost: Option<MoneyDto>,
    margin_percent: Option<&str>,
    base: Currency,
) -> ApiResult<(OffsetDateTime, Economics)> {
    let mut e = FieldErrors::default();
    let since = match since {
        None => OffsetDateTime::UNIX_EPOCH,
        Some(d) => e
            .take(
                "since",
                Date::parse(d, format_description!("[year]-[month]-[day]"))
                    .map_err(|_| codflow_domain::Error::invalid("since", format!("{d:?} is not a date (YYYY-MM-DD)"))),
            )
            .map(|d| d.midnight().assume_utc())
            .unwrap_or(OffsetDateTime::UNIX_EPOCH),
    };
    let cost = match refusal_cost {
        None => Money::new(Economics::usual(base).refusal_cost_minor, base),
        Some(m) if m.currency != base.code() => {
            e.push("refusal_cost.currency", format!("must be the base currency {base}"));
            Money::zero(base)
        }
        Some(m) => e.take("refusal_cost.amount", Money::parse(&m.amount, base)).unwrap_or(Money::zero(base)),
    };
    let margin_bp = match margin_percent {
        None => Economics::usual(base).margin_bp,
        Some(p) => match rust_decimal_percent(p) {
            Some(bp) => bp,
            None => {
                e.push("margin_percent", "must be a percentage from 0 to 100, such as \"40\" or \"37.5\"");
                0
            }
        },
    };
    if !e.is_empty() {
        return Err(ApiError::Invalid(e));
    }
    Ok((since, Economics { refusal_cost_minor: cost.minor, margin_bp }))
}

/// "37.5" → 3750 basis points, exactly (no floats for money-like figures).
fn rust_decimal_percent(p: &str) -> Option<i64> {
    let (whole, frac) = p.trim().split_once('.').unwrap_or((p.trim(), ""));
    if whole.is_empty() || frac.len() > 2 || !whole.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let bp = whole.parse::<i64>().ok()? * 100 + format!("{frac:0<2}").parse::<i64>().ok()?;
    (0..=10_000).contains(&bp).then_some(bp)
}

/// The JSON routes of this resource, under `/api/v1`.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/orders/{id}/outcome", post(outcome))
        .route("/rules", get(list_rules).post(create_rule))
        .route("/rules/validate", post(validate_rule))
        .route("/rules/fields", get(fields))
        .route("/rules/templates", get(rule_templates))
        .route("/rules/templates/{key}", post(from_template))
        .route("/rules/export", get(export_rules))
        .route("/rules/import", post(import_rules))
        .route("/rules/versions", get(versions))
        .route("/rules/versions/{version}", get(version))
        .route("/rules/backtest", post(backtest))
        .route("/rules/{id}", get(get_rule).put(update_rule).delete(delete_rule))
        .route("/lists", get(lists).post(create_list))
        .route("/lists/{name}", delete(delete_list))
        .route("/lists/{name}/entries", get(entries).post(add_entries))
        .route("/lists/{name}/entries/{value}", delete(remove_entry))
        .route("/lists/{name}/export", get(export_entries))
        .route("/review-queue", get(queue))
        .route("/review-queue/approve", post(approve_many))
        .route("/review-queue/cancel", post(cancel_many))
}

/// The upload routes of this resource, under `/api/v1` with the larger body limit.
pub fn uploads() -> Router<Arc<AppState>> {
    Router::new().route("/lists/{name}/import", post(import_entries))
}

// ---------------------------------------------------------------------------------------------- lists

#[utoipa::path(get, path = "/api/v1/lists", tag = "review", responses((status = 200, body = Vec<ListDto>)))]
pub async fn lists(State(s): State<Arc<AppState>>, auth: Auth) -> ApiResult<Json<Vec<ListDto>>> {
    auth.require(READERS)?;
    Ok(Json(s.app.review().lists().await?.into_iter().map(Into::into).collect()))
}

#[utoipa::path(post, path = "/api/v1/lists", tag = "review", request_body = CreateList, responses((status = 201, body = ListDto)))]
pub async fn create_list(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiJson(b): ApiJson<CreateList>,
) -> ApiResult<(StatusCode, Json<ListDto>)> {
    auth.require(OPERATORS)?;
    Ok((StatusCode::CREATED, Json(s.app.review().create_list(&b.name, &b.kind, &b.description).await?.into())))
}

#[utoipa::path(delete, path = "/api/v1/lists/{name}", tag = "review", params(("name" = String, Path)),
    responses((status = 204), (status = 409, description = "built in, or a rule uses it")))]
pub async fn delete_list(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    auth.require(OPERATORS)?;
    s.app.review().delete_list(&name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The query parameters of [`entries`].
#[derive(serde::Deserialize, Default)]
pub struct EntriesQuery {
    #[serde(flatten)]
    page: crate::routes::PageQuery,
}

#[utoipa::path(get, path = "/api/v1/lists/{name}/entries", tag = "review", params(("name" = String, Path),
    ("limit" = Option<i64>, Query), ("cursor" = Option<String>, Query)), responses((status = 200, body = Page<EntryDto>)))]
pub async fn entries(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(name): Path<String>,
    ApiQuery(q): ApiQuery<EntriesQuery>,
) -> ApiResult<Json<Page<EntryDto>>> {
    auth.require(READERS)?;
    let (items, next_cursor) = s.app.review().list_entries(&name, q.page.limit()?, q.page.cursor()).await?;
    Ok(Json(Page { items: items.into_iter().map(Into::into).collect(), next_cursor }))
}

#[utoipa::path(post, path = "/api/v1/lists/{name}/entries", tag = "review", params(("name" = String, Path)), request_body = AddEntries,
    responses((status = 200, body = AddedDto), (status = 422, description = "a value that does not fit the list's kind, by index")))]
pub async fn add_entries(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(name): Path<String>,
    ApiJson(b): ApiJson<AddEntries>,
) -> ApiResult<Json<AddedDto>> {
    auth.require(OPERATORS)?;
    let values = b.values.into_iter().map(|v| (v, b.note.clone())).collect();
    let (added, already_present) =
        s.app.review().add_list_entries(&name, values, |i| format!("values[{i}]"), auth.actor()).await?;
    Ok(Json(AddedDto { added, already_present }))
}

#[utoipa::path(post, path = "/api/v1/lists/{name}/import", tag = "review", params(("name" = String, Path)),
    request_body(content = String, content_type = "text/csv", description = "header `value[,note]`"),
    responses((status = 200, body = AddedDto), (status = 422, description = "bad values by line")))]
pub async fn import_entries(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(name): Path<String>,
    body: Bytes,
) -> ApiResult<Json<AddedDto>> {
    auth.require(OPERATORS)?;
    let (added, already_present) = s.app.review().import_list_csv(&name, &body, auth.actor()).await?;
    Ok(Json(AddedDto { added, already_present }))
}

#[utoipa::path(get, path = "/api/v1/lists/{name}/export", tag = "review", params(("name" = String, Path)),
    responses((status = 200, content_type = "text/csv", description = "value,note,added_by,created_at")))]
pub async fn export_entries(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(name): Path<String>,
) -> ApiResult<([(axum::http::HeaderName, String); 2], Vec<u8>)> {
    auth.require(READERS)?;
    let csv = s.app.review().export_list_csv(&name).await?;
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (axum::http::header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}.csv\"")),
        ],
        csv,
    ))
}

#[utoipa::path(delete, path = "/api/v1/lists/{name}/entries/{value}", tag = "review",
    params(("name" = String, Path), ("value" = String, Path)), responses((status = 204)))]
pub async fn remove_entry(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path((name, value)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    auth.require(OPERATORS)?;
    s.app.review().remove_list_entry(&name, &value).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------------------------------------- queue

/// The query parameters of [`queue`].
#[derive(serde::Deserialize, Default)]
pub struct QueueQuery {
    #[serde(flatten)]
    page: crate::routes::PageQuery,
}

#[utoipa::path(get, path = "/api/v1/review-queue", tag = "review",
    params(("limit" = Option<i64>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = Page<OrderDto>, description = "held orders with their reasons, oldest first")))]
pub async fn queue(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiQuery(q): ApiQuery<QueueQuery>,
) -> ApiResult<Json<Page<OrderDto>>> {
    auth.require(READERS)?;
    let (items, next_cursor) = s.app.review().review_queue(q.page.limit()?, q.page.cursor()).await?;
    Ok(Json(Page { items: items.into_iter().map(Into::into).collect(), next_cursor }))
}

async fn decide(s: Arc<AppState>, auth: Auth, b: QueueDecision, approve: bool) -> ApiResult<Json<Vec<QueueResult>>> {
    auth.require(OPERATORS)?;
    if b.order_ids.is_empty() || b.order_ids.len() > 500 {
        return Err(ApiError::field("order_ids", "give 1 to 500 order ids"));
    }
    let reason = b.reason.map(|r| r.trim().to_owned()).filter(|r| !r.is_empty());
    let results = s.app.review().decide_many(&b.order_ids, approve, reason, auth.actor()).await;
    Ok(Json(
        results
            .into_iter()
            .map(|(id, r)| match r {
                Ok(o) => QueueResult { order_id: id, ok: true, status: Some(o.status.to_string()), error: None },
                Err(e) => {
                    let code = match ApiError::from(e) {
                        ApiError::Conflict { kind, .. } => kind.code(),
                        ApiError::NotFound(_) => "not_found",
                        _ => "internal",
                    };
                    QueueResult { order_id: id, ok: false, status: None, error: Some(code.into()) }
                }
            })
            .collect(),
    ))
}

#[utoipa::path(post, path = "/api/v1/review-queue/approve", tag = "review", request_body = QueueDecision,
    responses((status = 200, body = Vec<QueueResult>, description = "one result per order; approved orders go on to allocation")))]
pub async fn approve_many(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiJson(b): ApiJson<QueueDecision>,
) -> ApiResult<Json<Vec<QueueResult>>> {
    decide(s, auth, b, true).await
}

#[utoipa::path(post, path = "/api/v1/review-queue/cancel", tag = "review", request_body = QueueDecision,
    responses((status = 200, body = Vec<QueueResult>)))]
pub async fn cancel_many(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiJson(b): ApiJson<QueueDecision>,
) -> ApiResult<Json<Vec<QueueResult>>> {
    decide(s, auth, b, false).await
}

#[utoipa::path(post, path = "/api/v1/orders/{id}/outcome", tag = "review", params(("id" = String, Path)), request_body = OutcomeBody,
    responses((status = 200, body = OutcomeDto, description = "recorded is false when the order already had an outcome")))]
pub async fn outcome(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<OutcomeBody>,
) -> ApiResult<Json<OutcomeDto>> {
    auth.require(OPERATORS)?;
    let at = match b.at.as_deref() {
        None => None,
        Some(t) => Some(OffsetDateTime::parse(t, &Rfc3339).map_err(|_| {
            let mut e = FieldErrors::default();
            e.push("at", "must be an RFC 3339 time such as 2026-11-20T10:00:00Z");
            ApiError::Invalid(e)
        })?),
    };
    Ok(Json(OutcomeDto {
        recorded: s.app.review().record_outcome(&OrderId::from_path(&id)?, &b.outcome, at, auth.actor()).await?,
    }))
}

// ---------------------------------------------------------------------------------------------- settings

// ---------------------------------------------------------------------------------------------- notifications
