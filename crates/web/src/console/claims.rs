//! Claims in the console: the list with what each carrier recovered against what was claimed, opening a
//! claim by tracking number, and one claim with the actions its state allows and its evidence pack.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use codflow_app::claims::{ClaimFilter, StoredClaim};
use codflow_domain::claims::{ClaimReason, ClaimStatus};
use codflow_domain::{Actor, ClaimId, Currency, Money, Role, ShipmentId};
use minijinja::Value;

use super::orders::kept;
use super::pages::{query_string, table_download};
use super::render::Amount;
use super::{Signed, redirect};
use crate::state::AppState;

const PAGE: i64 = 100;
/// Who works claims: ops file them, finance settles them (the API's task workers).
const CLAIMERS: &[Role] = &[Role::Ops, Role::Finance, Role::Warehouse];
const COLUMNS: [&str; 11] = [
    "claim_id",
    "tracking_number",
    "carrier",
    "reason",
    "status",
    "claimed",
    "approved",
    "paid",
    "currency",
    "deadline",
    "carrier_ref",
];

fn explained(e: codflow_app::Error) -> String {
    crate::ApiError::from(e).explained()
}

fn row(c: &StoredClaim, now: time::OffsetDateTime) -> Value {
    minijinja::context! {
        id => c.id.to_string(), tracking => c.tracking_number, carrier => c.carrier, reason => c.reason.as_str(),
        status => c.status.as_str(), claimed => Amount::from(c.claimed),
        approved => c.approved.map(Amount::from), paid => c.paid.map(Amount::from),
        deadline => c.deadline.unix_timestamp(), late => c.status == ClaimStatus::Draft && c.deadline < now,
        carrier_ref => c.carrier_ref, payment_ref => c.payment_ref, note => c.note,
        shipment => c.shipment_id.to_string(), order => c.order_id.to_string(),
    }
}

pub async fn list(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    list_page(&s, &signed, &q, None).await
}

async fn list_page(s: &AppState, signed: &Signed, q: &HashMap<String, String>, error: Option<String>) -> Response {
    let nonempty = |k: &str| q.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    let status = match nonempty("status").map(ClaimStatus::parse).transpose() {
        Ok(s) => s,
        Err(e) => return signed.error(StatusCode::UNPROCESSABLE_ENTITY, &e.to_string()),
    };
    let filter = ClaimFilter { status, carrier: nonempty("carrier").map(str::to_owned) };
    let finance = s.app.finance();
    if let Some(format) = q.get("format").filter(|f| *f == "csv" || *f == "xlsx") {
        let mut rows = Vec::new();
        let mut after: Option<ClaimId> = None;
        loop {
            let page = match finance.claims(&filter, after.as_ref(), 500).await {
                Ok(p) => p,
                Err(e) => return signed.fail(e),
            };
            for c in &page {
                let amount = |m: Option<Money>| m.map(|m| m.amount_string()).unwrap_or_default();
                rows.push(vec![
                    c.id.to_string(),
                    c.tracking_number.clone(),
                    c.carrier.clone(),
                    c.reason.as_str().to_owned(),
                    c.status.as_str().to_owned(),
                    c.claimed.amount_string(),
                    amount(c.approved),
                    amount(c.paid),
                    c.claimed.currency.to_string(),
                    c.deadline.date().to_string(),
                    c.carrier_ref.clone().unwrap_or_default(),
                ]);
            }
            match page.last() {
                Some(l) if page.len() == 500 => after = Some(l.id.clone()),
                _ => break,
            }
        }
        return table_download("claims", format == "xlsx", &COLUMNS, &rows);
    }
    let after = q.get("after").and_then(|a| ClaimId::parse(a).ok());
    let (list, by) = match (finance.claims(&filter, after.as_ref(), PAGE + 1).await, finance.claims_by_carrier().await)
    {
        (Ok(l), Ok(b)) => (l, b),
        (Err(e), _) | (_, Err(e)) => return signed.fail(e),
    };
    let now = s.app.clock().now();
    let next = (list.len() as i64 > PAGE).then(|| list.get(PAGE as usize - 1).map(|c| c.id.to_string())).flatten();
    let rows: Vec<Value> = list.iter().take(PAGE as usize).map(|c| row(c, now)).collect();
    let carriers = carrier_rows(&by);
    let keys = ["status", "carrier"];
    let keep: Vec<(&str, &str)> = keys.iter().filter_map(|k| q.get(*k).map(|v| (*k, v.as_str()))).collect();
    let field = |k: &str| q.get(k).cloned().unwrap_or_default();
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let ctx = minijinja::context! {
        q => kept(q, &keys), rows, next, carriers, error,
        f => minijinja::context! { status => field("status"), carrier => field("carrier") },
        statuses => ClaimStatus::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        reasons => ClaimReason::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        filter_query => query_string(&keep),
        can_act => signed.refused(CLAIMERS).is_none(),
    };
    signed.page(status, "claims.html", &signed.t("nav-claims"), ctx)
}

/// Opens a claim for the parcel named by its tracking number (or shipment id).
pub async fn open(State(s): State<Arc<AppState>>, signed: Signed, Form(f): Form<HashMap<String, String>>) -> Response {
    let field = |k: &str| f.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
    if let Some(r) = signed.may_post(CLAIMERS, &field("csrf")) {
        return r;
    }
    let code = field("parcel");
    let opened = async {
        let shipment = match ShipmentId::parse(&code) {
            Ok(id) => id,
            Err(_) => s.app.tracking().tracking_by_number(&code).await.map_err(explained)?.tracked.shipment_id,
        };
        let reason = ClaimReason::parse(&field("reason")).map_err(|e| e.to_string())?;
        let note = Some(field("note")).filter(|n| !n.is_empty());
        let actor = Actor::User(signed.0.id.clone());
        s.app.finance().open_claim(&shipment, reason, None, note.as_deref(), actor).await.map_err(explained)
    };
    match opened.await {
        Ok(c) => redirect(&format!("/claims/{}?saved=1", c.id)),
        Err(e) => list_page(&s, &signed, &HashMap::new(), Some(e)).await,
    }
}

pub async fn one(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Ok(id) = ClaimId::parse(&id) else { return signed.fail(codflow_app::Error::NotFound("claim")) };
    let flash = q.contains_key("saved").then(|| signed.t("saved"));
    one_page(&s, &signed, &id, flash, None, None).await
}

async fn one_page(
    s: &AppState,
    signed: &Signed,
    id: &ClaimId,
    flash: Option<String>,
    error: Option<String>,
    link: Option<(String, time::OffsetDateTime)>,
) -> Response {
    let (c, statement) = match (s.app.finance().claim(id).await, s.app.finance().claim_statement(id).await) {
        (Ok(c), Ok(st)) => (c, st),
        (Err(e), _) | (_, Err(e)) => return signed.fail(e),
    };
    let statement = statement.map(|st| {
        minijinja::context! {
            description => st.description, signed_name => st.signed_name, language => st.language,
            submitted_at => st.submitted_at.unix_timestamp(), photos => (1..=st.photos).collect::<Vec<_>>(),
        }
    });
    let link = link.map(|(url, until)| minijinja::context! { url, until => until.unix_timestamp() });
    let now = s.app.clock().now();
    let next: Vec<&str> = ClaimStatus::ALL.iter().filter(|t| c.status.can_move_to(**t)).map(|t| t.as_str()).collect();
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let ctx = minijinja::context! {
        c => row(&c, now), flash, error, next,
        currency => c.claimed.currency.to_string(), claimed_amount => c.claimed.amount_string(),
        approved_amount => c.approved.map(|m| m.amount_string()),
        can_act => signed.refused(CLAIMERS).is_none(),
        open => c.status.is_open(), statement, link,
    };
    let title = signed.t_with("claims-one", &[("tracking", &c.tracking_number)]);
    signed.page(status, "claim.html", &title, ctx)
}

/// The claim's next step: file, review, decide or paid.
pub async fn act(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Path(id): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let field = |k: &str| f.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
    if let Some(r) = signed.may_post(CLAIMERS, &field("csrf")) {
        return r;
    }
    let Ok(id) = ClaimId::parse(&id) else { return signed.fail(codflow_app::Error::NotFound("claim")) };
    let actor = Actor::User(signed.0.id.clone());
    let finance = s.app.finance();
    let money = |k: &str| -> Result<Money, String> {
        let c = Currency::parse(&field("currency")).map_err(|e| e.to_string())?;
        Money::parse(&field(k), c).map_err(|e| format!("{k}: {e}"))
    };
    if field("action") == "statement_link" {
        return match finance.claim_statement_link(&id, actor).await {
            Ok(link) => one_page(&s, &signed, &id, None, None, Some(link)).await,
            Err(e) => one_page(&s, &signed, &id, None, Some(explained(e)), None).await,
        };
    }
    let result = match field("action").as_str() {
        "file" => finance.file_claim(&id, &field("carrier_ref"), actor).await.map_err(explained),
        "review" => finance.review_claim(&id, actor).await.map_err(explained),
        "decide" => match money("approved") {
            Ok(m) => {
                let note = Some(field("note")).filter(|n| !n.is_empty());
                finance.decide_claim(&id, m, note.as_deref(), actor).await.map_err(explained)
            }
            Err(e) => Err(e),
        },
        "paid" => match money("amount") {
            Ok(m) => finance.claim_paid(&id, m, &field("reference"), actor).await.map_err(explained),
            Err(e) => Err(e),
        },
        _ => return signed.error(StatusCode::UNPROCESSABLE_ENTITY, &signed.t("bulk-unknown-action")),
    };
    match result {
        Ok(_) => redirect(&format!("/claims/{id}?saved=1")),
        Err(e) => one_page(&s, &signed, &id, None, Some(e), None).await,
    }
}

/// The evidence pack, as a PDF or as the ZIP for a carrier's portal (`kind`: `pdf` or `zip`).
pub async fn evidence(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Path((id, kind)): Path<(String, String)>,
) -> Response {
    use axum::response::IntoResponse;
    let Ok(id) = ClaimId::parse(&id) else { return signed.fail(codflow_app::Error::NotFound("claim")) };
    let finance = s.app.finance();
    let (ty, body) = match kind.as_str() {
        "evidence.pdf" => ("application/pdf", finance.claim_pdf(&id).await),
        "evidence.zip" => ("application/zip", finance.claim_zip(&id).await),
        _ => return signed.fail(codflow_app::Error::NotFound("document")),
    };
    match body {
        Ok(b) => crate::routes::logistics::download(ty, &format!("claim-{id}.{}", &kind[9..]), b).into_response(),
        Err(e) => signed.fail(e),
    }
}

/// A photo the buyer sent with their statement.
pub async fn statement_photo(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Path((id, n)): Path<(String, String)>,
) -> Response {
    use axum::response::IntoResponse;
    let (Ok(id), Ok(n)) = (ClaimId::parse(&id), n.parse::<i64>()) else {
        return signed.fail(codflow_app::Error::NotFound("photo"));
    };
    match s.app.finance().claim_statement_photo(&id, n).await {
        Ok((content_type, bytes)) => ([(axum::http::header::CONTENT_TYPE, content_type)], bytes).into_response(),
        Err(e) => signed.fail(e),
    }
}

/// Recovered against claimed per carrier and currency, with the carrier's review speed: the rows of the claims
/// page's and the carrier scorecard's table.
pub(super) fn carrier_rows(by: &[codflow_app::claims::CarrierClaims]) -> Vec<Value> {
    by.iter()
        .filter_map(|b| {
            let c = Currency::parse(&b.currency).ok()?;
            Some(minijinja::context! {
                carrier => b.carrier, claims => b.claims, open => b.open, rejected => b.rejected,
                claimed => Amount::from(Money::new(b.claimed_minor, c)),
                approved => Amount::from(Money::new(b.approved_minor, c)),
                paid => Amount::from(Money::new(b.paid_minor, c)),
                lost => Amount::from(Money::new(b.claimed_minor - b.paid_minor, c)),
                decided => b.decided, decided_in_24h => b.decided_in_24h, review_overdue => b.review_overdue,
                paid_count => b.paid, paid_in_3d => b.paid_in_3d,
                mean_hours => b.mean_review_hours(),
            })
        })
        .collect()
}
