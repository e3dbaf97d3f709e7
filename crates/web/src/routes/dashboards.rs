//! The dashboards' figures as JSON: sums by any dimension, clearance medians, the carrier scorecard and the
//! recommendations, plus their settings and a refresh that brings the sums up to date at once.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::dto::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use codflow_app::kpi::{Filter, Recommendation};
use codflow_domain::kpi::{Dim, METRICS, Metrics, Ratio, RecommendationThresholds, ScoreWeights};
use codflow_domain::{FieldErrors, Role};
use serde::Serialize;
use time::Date;
use utoipa::ToSchema;

use crate::extract::{ApiJson, ApiQuery, Auth};
use crate::state::AppState;
use crate::{ApiError, ApiResult};

/// The JSON routes of this resource, under `/api/v1`.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/dashboards/sums", get(sums))
        .route("/dashboards/clearance", get(clearance))
        .route("/dashboards/scorecard", get(scorecard))
        .route("/dashboards/refresh", post(refresh))
        .route("/recommendations", get(recommendations))
        .route("/recommendations/act", post(act))
        .route("/settings/scorecard", get(weights).put(put_weights))
        .route("/settings/recommendations", get(thresholds).put(put_thresholds))
}

const READERS: &[Role] = &[Role::Ops, Role::Finance, Role::Viewer];

/// A share with the count it is out of.
#[derive(Serialize, ToSchema)]
pub struct RatioDto {
    /// Parts per million.
    pub ppm: i64,
    pub n: i64,
}

fn ratio(r: Option<Ratio>) -> Option<RatioDto> {
    r.map(|r| RatioDto { ppm: r.ppm, n: r.n })
}

#[derive(Serialize, ToSchema)]
pub struct SumDto {
    /// The group's value of each dimension asked for (`day` as YYYY-MM-DD).
    #[schema(value_type = Object)]
    pub key: BTreeMap<String, String>,
    /// Every counter: orders, cod_orders, shipped, delivered, refused, returned, lost, customs_held,
    /// customs_delayed, cleared, clearance_h, transit_n, transit_h, cost_minor and profit_minor (base
    /// currency minor units), tasks_closed, task_h, loss_orders.
    #[schema(value_type = Object)]
    pub metrics: BTreeMap<&'static str, i64>,
    pub refusal_rate: Option<RatioDto>,
    pub return_rate: Option<RatioDto>,
    pub sign_in_rate: Option<RatioDto>,
    pub customs_abnormal_rate: Option<RatioDto>,
}

#[derive(Serialize, ToSchema)]
pub struct SumsDto {
    pub items: Vec<SumDto>,
    /// Orders changed but not yet counted (the refresher catches up within a second or so).
    pub backlog: i64,
}

fn day_text(day: &str) -> String {
    day.parse::<i64>()
        .ok()
        .and_then(|d| Date::from_julian_day((d + 2_440_588) as i32).ok())
        .map(|d| d.to_string())
        .unwrap_or_else(|| day.to_owned())
}

fn sum_dto(group: &[Dim], key: &[String], m: &Metrics) -> SumDto {
    SumDto {
        key: group
            .iter()
            .zip(key)
            .map(|(g, v)| (g.as_str().to_owned(), if *g == Dim::Day { day_text(v) } else { v.clone() }))
            .collect(),
        metrics: METRICS.iter().copied().zip(m.0).collect(),
        refusal_rate: ratio(m.refusal_rate()),
        return_rate: ratio(m.return_rate()),
        sign_in_rate: ratio(m.sign_in_rate()),
        customs_abnormal_rate: ratio(m.customs_abnormal_rate()),
    }
}

/// The query parameters of the dashboards: the filter, and for the sums and clearance times the grouping.
#[derive(serde::Deserialize, Default)]
pub struct DashQuery {
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
    #[serde(default)]
    pub store: Option<String>,
    #[serde(default)]
    pub country: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub channel: Option<String>,
    #[serde(default)]
    pub carrier: Option<String>,
    #[serde(default)]
    pub sku: Option<String>,
    #[serde(default)]
    pub group: Option<String>,
}

impl DashQuery {
    /// The console's form fields, read the same way.
    pub(crate) fn of_form(q: &HashMap<String, String>) -> DashQuery {
        let get = |k: &str| q.get(k).cloned();
        DashQuery {
            from: get("from"),
            to: get("to"),
            store: get("store"),
            country: get("country"),
            region: get("region"),
            channel: get("channel"),
            carrier: get("carrier"),
            sku: get("sku"),
            group: get("group"),
        }
    }

    fn field(&self, k: &str) -> Option<&String> {
        match k {
            "from" => self.from.as_ref(),
            "to" => self.to.as_ref(),
            "store" => self.store.as_ref(),
            "country" => self.country.as_ref(),
            "region" => self.region.as_ref(),
            "channel" => self.channel.as_ref(),
            "carrier" => self.carrier.as_ref(),
            "sku" => self.sku.as_ref(),
            _ => None,
        }
    }
}

/// The filter a request names, and what was wrong with it (bad dates are left out of the filter).
pub(crate) fn parse_filter(q: &DashQuery) -> (Filter, FieldErrors) {
    let mut errors = FieldErrors::default();
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    let get = |k: &str| q.field(k).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let mut day = |k: &str| {
        let v = get(k)?;
        match Date::parse(&v, fmt) {
            Ok(d) => Some(d.to_julian_day() as i64 - 2_440_588),
            Err(_) => {
                errors.push(k, "must be a date, YYYY-MM-DD");
                None
            }
        }
    };
    let (from_day, to_day) = (day("from"), day("to"));
    let filter = Filter {
        from_day,
        to_day,
        store: get("store"),
        country: get("country").map(|c| c.to_uppercase()),
        region: get("region"),
        channel: get("channel"),
        carrier: get("carrier"),
        sku: get("sku"),
    };
    (filter, errors)
}

/// The filter of an API request, strictly: a bad date is an error, not ignored.
fn filter_of(q: &DashQuery) -> Result<Filter, ApiError> {
    let (filter, errors) = parse_filter(q);
    if errors.is_empty() { Ok(filter) } else { Err(ApiError::Invalid(errors)) }
}

fn group_of(q: &DashQuery, allowed: &[Dim]) -> Result<Vec<Dim>, ApiError> {
    let asked = q.group.as_ref().map(|g| g.split(',').map(str::trim).filter(|g| !g.is_empty()).collect::<Vec<_>>());
    let mut group = Vec::new();
    for name in asked.unwrap_or_default() {
        match Dim::parse(name).filter(|d| allowed.contains(d)) {
            Some(d) => group.push(d),
            None => {
                let names: Vec<&str> = allowed.iter().map(|d| d.as_str()).collect();
                return Err(ApiError::field("group", format!("{name:?} is not one of {}", names.join(", "))));
            }
        }
    }
    Ok(group)
}

/// Sums of every counter, grouped by any of day, store, country, region, channel, carrier and sku.
#[utoipa::path(get, path = "/api/v1/dashboards/sums", tag = "dashboards",
    params(("group" = Option<String>, Query, description = "comma-separated: day, store, country, region, channel, carrier, sku"),
        ("from" = Option<String>, Query, description = "placed on or after, YYYY-MM-DD"),
        ("to" = Option<String>, Query, description = "placed on or before, YYYY-MM-DD"),
        ("store" = Option<String>, Query), ("country" = Option<String>, Query), ("region" = Option<String>, Query),
        ("channel" = Option<String>, Query), ("carrier" = Option<String>, Query), ("sku" = Option<String>, Query)),
    responses((status = 200, body = SumsDto), (status = 422)))]
pub async fn sums(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiQuery(q): ApiQuery<DashQuery>,
) -> ApiResult<Json<SumsDto>> {
    auth.require(READERS)?;
    let f = filter_of(&q)?;
    let group = group_of(&q, &Dim::ALL)?;
    let by_sku = group.contains(&Dim::Sku);
    let rows = s.app.insights().kpi_sums(&f, &group, by_sku).await?;
    let items = rows.iter().map(|(k, m)| sum_dto(&group, k, m)).collect();
    Ok(Json(SumsDto { items, backlog: s.app.insights().kpi_backlog().await? }))
}

#[derive(Serialize, ToSchema)]
pub struct ClearanceDto {
    #[schema(value_type = Object)]
    pub key: BTreeMap<String, String>,
    pub median_hours: i64,
    pub cleared: i64,
}

/// Median hours from the first customs scan to release, grouped by any of day, store, country, channel.
#[utoipa::path(get, path = "/api/v1/dashboards/clearance", tag = "dashboards",
    params(("group" = Option<String>, Query, description = "comma-separated: day, store, country, channel"),
        ("from" = Option<String>, Query), ("to" = Option<String>, Query), ("country" = Option<String>, Query),
        ("channel" = Option<String>, Query), ("store" = Option<String>, Query)),
    responses((status = 200, body = Vec<ClearanceDto>), (status = 422)))]
pub async fn clearance(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiQuery(q): ApiQuery<DashQuery>,
) -> ApiResult<Json<Vec<ClearanceDto>>> {
    auth.require(READERS)?;
    let f = filter_of(&q)?;
    let group = group_of(&q, &codflow_app::kpi::CLEARANCE_DIMS)?;
    let mut out: Vec<ClearanceDto> = s
        .app
        .insights()
        .kpi_clearance(&f, &group)
        .await?
        .into_iter()
        .map(|(k, (median, cleared))| ClearanceDto {
            key: group.iter().zip(&k).map(|(g, v)| (g.as_str().to_owned(), v.clone())).collect(),
            median_hours: median,
            cleared,
        })
        .collect();
    out.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(Json(out))
}

#[derive(Serialize, ToSchema)]
pub struct ScoreRowDto {
    pub key: String,
    pub score: i64,
    pub shipped: i64,
    pub sign_in_rate: Option<RatioDto>,
    pub refusal_rate: Option<RatioDto>,
    pub customs_abnormal_rate: Option<RatioDto>,
    /// Mean days from pickup to delivery, tenths.
    pub transit_days_x10: Option<i64>,
    pub exception_hours: Option<i64>,
    pub settlement_days: Option<i64>,
    /// Base currency minor units.
    pub cost_per_parcel_minor: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct LaneDto {
    pub country: String,
    pub main: String,
    pub backup: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ScorecardDto {
    #[schema(value_type = Object)]
    pub weights: ScoreWeights,
    pub carriers: Vec<ScoreRowDto>,
    pub channels: Vec<ScoreRowDto>,
    pub lanes: Vec<LaneDto>,
}

fn score_row(r: codflow_app::kpi::ScoreRow) -> ScoreRowDto {
    let m = r.metrics;
    ScoreRowDto {
        key: r.key,
        score: r.score,
        shipped: m.shipped(),
        sign_in_rate: ratio(m.sign_in_rate()),
        refusal_rate: ratio(m.refusal_rate()),
        customs_abnormal_rate: ratio(m.customs_abnormal_rate()),
        transit_days_x10: m.mean_transit_days_x10(),
        exception_hours: m.mean_task_hours(),
        settlement_days: r.settlement_days,
        cost_per_parcel_minor: m.cost_per_parcel_minor(),
    }
}

/// Carriers and channels scored 0–100 on weighted measures, with the main and backup channel per lane.
#[utoipa::path(get, path = "/api/v1/dashboards/scorecard", tag = "dashboards",
    params(("from" = Option<String>, Query), ("to" = Option<String>, Query), ("country" = Option<String>, Query)),
    responses((status = 200, body = ScorecardDto), (status = 422)))]
pub async fn scorecard(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiQuery(q): ApiQuery<DashQuery>,
) -> ApiResult<Json<ScorecardDto>> {
    auth.require(READERS)?;
    let c = s.app.insights().scorecard(&filter_of(&q)?).await?;
    Ok(Json(ScorecardDto {
        weights: c.weights,
        carriers: c.carriers.into_iter().map(score_row).collect(),
        channels: c.channels.into_iter().map(score_row).collect(),
        lanes: c.lanes.into_iter().map(|l| LaneDto { country: l.country, main: l.main, backup: l.backup }).collect(),
    }))
}

#[derive(Serialize, ToSchema)]
pub struct RecommendationDto {
    pub title: String,
    /// The change, as `POST /api/v1/recommendations/act` takes it.
    #[schema(value_type = Object)]
    pub change: Recommendation,
}

#[utoipa::path(get, path = "/api/v1/recommendations", tag = "dashboards",
    params(("from" = Option<String>, Query), ("to" = Option<String>, Query)),
    responses((status = 200, body = Vec<RecommendationDto>)))]
pub async fn recommendations(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiQuery(q): ApiQuery<DashQuery>,
) -> ApiResult<Json<Vec<RecommendationDto>>> {
    auth.require(READERS)?;
    let recs = s.app.insights().recommendations(&filter_of(&q)?).await?;
    Ok(Json(recs.into_iter().map(|r| RecommendationDto { title: r.title(), change: r }).collect()))
}

#[derive(Serialize, ToSchema)]
pub struct ActedDto {
    /// What was made: a rule id, a channel code or a task id.
    pub made: String,
}

/// Makes the change a recommendation names (a block-COD rule, a channel's lower priority, a dispute task).
#[utoipa::path(post, path = "/api/v1/recommendations/act", tag = "dashboards", request_body = Recommendation,
    responses((status = 200, body = ActedDto), (status = 403), (status = 422)))]
pub async fn act(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiJson(r): ApiJson<Recommendation>,
) -> ApiResult<Json<ActedDto>> {
    match r {
        Recommendation::Dispute { .. } => auth.require(&[Role::Finance])?,
        _ => auth.require(&[Role::Ops])?,
    }
    let made = s.app.insights().act_on(&r, auth.actor()).await?;
    Ok(Json(ActedDto { made }))
}

#[derive(Serialize, ToSchema)]
pub struct RefreshDto {
    pub refreshed: usize,
    pub backlog: i64,
}

/// Counts every changed order now instead of waiting for the refresher.
#[utoipa::path(post, path = "/api/v1/dashboards/refresh", tag = "dashboards", responses((status = 200, body = RefreshDto)))]
pub async fn refresh(State(s): State<Arc<AppState>>, auth: Auth) -> ApiResult<Json<RefreshDto>> {
    auth.require(&[Role::Ops, Role::Finance])?;
    let refreshed = s.app.insights().refresh_kpis().await?;
    Ok(Json(RefreshDto { refreshed, backlog: s.app.insights().kpi_backlog().await? }))
}

#[utoipa::path(get, path = "/api/v1/settings/scorecard", tag = "dashboards", responses((status = 200, body = Object)))]
pub async fn weights(State(s): State<Arc<AppState>>, auth: Auth) -> ApiResult<Json<ScoreWeights>> {
    auth.require(READERS)?;
    Ok(Json(s.app.insights().score_weights().await?))
}

#[utoipa::path(put, path = "/api/v1/settings/scorecard", tag = "dashboards", request_body = ScoreWeights,
    responses((status = 200, body = Object), (status = 422)))]
pub async fn put_weights(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiJson(w): ApiJson<ScoreWeights>,
) -> ApiResult<Json<ScoreWeights>> {
    auth.require(&[Role::Ops])?;
    Ok(Json(s.app.insights().set_score_weights(w, &auth.actor()).await?))
}

#[utoipa::path(get, path = "/api/v1/settings/recommendations", tag = "dashboards", responses((status = 200, body = Object)))]
pub async fn thresholds(State(s): State<Arc<AppState>>, auth: Auth) -> ApiResult<Json<RecommendationThresholds>> {
    auth.require(READERS)?;
    Ok(Json(s.app.insights().recommendation_thresholds().await?))
}

#[utoipa::path(put, path = "/api/v1/settings/recommendations", tag = "dashboards", request_body = RecommendationThresholds,
    responses((status = 200, body = Object), (status = 422)))]
pub async fn put_thresholds(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiJson(t): ApiJson<RecommendationThresholds>,
) -> ApiResult<Json<RecommendationThresholds>> {
    auth.require(&[Role::Ops])?;
    Ok(Json(s.app.insights().set_recommendation_thresholds(t, &auth.actor()).await?))
}
