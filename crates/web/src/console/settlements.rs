//! Settlements in the console: statements listed with an upload (read through a profile, previewed before
//! anything is recorded, then recorded without sending the file again), and each statement as a summary by
//! class with totals and its lines filtered by class, each difference linked to its dispute packet.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Form;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use codflow_app::finance::{ImportRequest, StatementReport};
use codflow_domain::finance::reconcile::LineClass;
use codflow_domain::{Actor, Money, Role, StatementId, UserId};
use serde::{Deserialize, Serialize};

use super::orders::kept;
use super::pages::table_download;
use super::render::{Amount, secs};
use super::{Signed, redirect};
use crate::state::AppState;

const READERS: &[Role] = &[Role::Finance];
const LINES_PAGE: i64 = 100;
/// How long a previewed file waits to be recorded, and how many bytes of previews are kept at most.
const PENDING_TTL: Duration = Duration::from_secs(30 * 60);
const PENDING_BYTES: usize = 300 * 1024 * 1024;

/// Files previewed and not yet recorded, by a random token, for the user who sent them.
#[derive(Default)]
pub struct Pending(Mutex<Vec<Waiting>>);

struct Waiting {
    token: String,
    user: UserId,
    at: Instant,
    file: Vec<u8>,
    req: ImportRequest,
}

impl Pending {
    fn put(&self, user: &UserId, file: Vec<u8>, req: ImportRequest) -> codflow_app::Result<String> {
        let token = codflow_app::users::random_hex(16)?;
        let mut all = self.0.lock().unwrap_or_else(|p| p.into_inner());
        all.retain(|w| w.at.elapsed() < PENDING_TTL);
        while !all.is_empty() && all.iter().map(|w| w.file.len()).sum::<usize>() + file.len() > PENDING_BYTES {
            all.remove(0);
        }
        all.push(Waiting { token: token.clone(), user: user.clone(), at: Instant::now(), file, req });
        Ok(token)
    }

    fn take(&self, user: &UserId, token: &str) -> Option<(Vec<u8>, ImportRequest)> {
        let mut all = self.0.lock().unwrap_or_else(|p| p.into_inner());
        all.retain(|w| w.at.elapsed() < PENDING_TTL);
        let at = all.iter().position(|w| &w.user == user && super::same(&w.token, token))?;
        let w = all.remove(at);
        Some((w.file, w.req))
    }
}

pub async fn list(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = signed.refused(READERS) {
        return r;
    }
    let (list, profiles) =
        match (s.app.finance().statements(None, 500).await, s.app.finance().settlement_profiles().await) {
            (Ok(l), Ok(p)) => (l, p),
            (Err(e), _) | (_, Err(e)) => return signed.fail(e),
        };
    let header = ["statement", "kind", "carrier", "file", "as_of", "lines", "errors", "imported_at", "imported_by"];
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|r| {
            let at = signed.0.zone.local(r.imported_at);
            vec![
                r.id.to_string(),
                r.kind.as_str().to_owned(),
                r.carrier.clone().unwrap_or_default(),
                r.file_name.clone(),
                r.as_of.to_string(),
                r.lines.to_string(),
                r.errors.to_string(),
                format!("{} {:02}:{:02}", at.date(), at.hour(), at.minute()),
                r.imported_by.clone(),
            ]
        })
        .collect();
    match q.get("format").map(String::as_str) {
        Some("csv") => return table_download("statements", false, &header, &rows),
        Some("xlsx") => return table_download("statements", true, &header, &rows),
        _ => {}
    }
    let statements: Vec<_> = list
        .iter()
        .map(|r| {
            minijinja::context! {
                id => r.id.to_string(), kind => r.kind.as_str(), carrier => r.carrier.clone(),
                file => r.file_name.clone(), as_of => r.as_of.to_string(), lines => r.lines, errors => r.errors,
                imported => secs(r.imported_at),
            }
        })
        .collect();
    let profiles: Vec<_> = profiles
        .iter()
        .map(|(p, builtin)| minijinja::context! { name => p.name.clone(), builtin => *builtin })
        .collect();
    let ctx = minijinja::context! { statements, profiles };
    signed.page(StatusCode::OK, "settlements.html", &signed.t("nav-settlements"), ctx)
}

#[derive(Serialize)]
struct ClassRow {
    class: &'static str,
    currency: String,
    lines: i64,
    amount: Amount,
    decide: bool,
}

/// The summary by class, with a total per currency.
fn summary(r: &StatementReport) -> (Vec<ClassRow>, Vec<(String, i64, Amount)>) {
    let rows: Vec<ClassRow> = r
        .classes
        .iter()
        .map(|c| ClassRow {
            class: c.class.as_str(),
            currency: c.currency.code().to_owned(),
            lines: c.lines,
            amount: Money::new(c.amount_minor, c.currency).into(),
            decide: c.class.needs_decision(),
        })
        .collect();
    let mut totals: Vec<(String, i64, Amount)> = Vec::new();
    for c in &r.classes {
        match totals.iter_mut().find(|(cur, _, _)| cur == c.currency.code()) {
            Some((_, n, a)) => {
                *n += c.lines;
                a.minor += c.amount_minor;
            }
            None => totals.push((c.currency.code().to_owned(), c.lines, Money::new(c.amount_minor, c.currency).into())),
        }
    }
    (rows, totals)
}

/// Reads an uploaded statement: previewed (nothing recorded, the file kept for recording) or recorded at once.
pub async fn upload(State(s): State<Arc<AppState>>, signed: Signed, mut form: Multipart) -> Response {
    if let Some(r) = signed.refused(READERS) {
        return r;
    }
    let mut other = Vec::new();
    let (file, req) = match crate::routes::statements::read_upload(&mut form, &mut other).await {
        Ok(r) => r,
        Err(e) => return signed.fail(e),
    };
    let csrf = other.iter().find(|(k, _)| k == "csrf").map(|(_, v)| v.as_str()).unwrap_or("");
    if let Some(r) = signed.forged(csrf) {
        return r;
    }
    let actor = Actor::User(signed.0.id.clone());
    if !req.preview {
        return record(&s, &signed, file, req, actor).await;
    }
    let kept_file = file.clone();
    let report = match s.app.finance().import_statement_owned(file, req.clone(), actor).await {
        Ok(r) => r,
        Err(e) => return signed.fail(e),
    };
    let token = match s.pending.put(&signed.0.id, kept_file, ImportRequest { preview: false, ..req.clone() }) {
        Ok(t) => t,
        Err(e) => return signed.fail(e),
    };
    let (classes, totals) = summary(&report);
    let errors: Vec<_> = report
        .errors
        .iter()
        .take(50)
        .map(|e| minijinja::context! { line => e.line, field => e.field.clone(), message => e.message.clone() })
        .collect();
    let ctx = minijinja::context! {
        file => req.file_name.clone(),
        profile => report.profile.clone(),
        kind => report.kind.as_str(),
        lines => report.lines,
        error_count => report.error_count,
        errors,
        missing_count => report.missing_count,
        already => report.already_imported,
        classes => minijinja::Value::from_serialize(&classes),
        totals => totals.iter().map(|(c, n, a)| minijinja::context! { currency => c, lines => n, amount => a }).collect::<Vec<_>>(),
        token,
    };
    signed.page(StatusCode::OK, "settlement_preview.html", &signed.t("statement-preview"), ctx)
}

async fn record(s: &AppState, signed: &Signed, file: Vec<u8>, req: ImportRequest, actor: Actor) -> Response {
    match s.app.finance().import_statement_owned(file, req, actor).await {
        Ok(r) => match r.statement {
            Some(st) => redirect(&format!("/settlements/{}", st.id)),
            None => redirect("/settlements"),
        },
        Err(e) => signed.fail(e),
    }
}

#[derive(Deserialize)]
pub struct RecordForm {
    csrf: String,
    token: String,
}

/// Records a file previewed a moment ago, without sending it again.
pub async fn record_previewed(State(s): State<Arc<AppState>>, signed: Signed, Form(f): Form<RecordForm>) -> Response {
    if let Some(r) = signed.may_post(READERS, &f.csrf) {
        return r;
    }
    let Some((file, req)) = s.pending.take(&signed.0.id, &f.token) else {
        return signed.error(StatusCode::GONE, &signed.t("preview-expired"));
    };
    record(&s, &signed, file, req, Actor::User(signed.0.id.clone())).await
}

/// One statement: its summary by class and its lines, filtered by class, a page at a time.
pub async fn statement(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = signed.refused(READERS) {
        return r;
    }
    let Ok(sid) = StatementId::parse(&id) else { return signed.fail(codflow_app::Error::NotFound("statement")) };
    let class = match q.get("class").map(|c| c.trim()).filter(|c| !c.is_empty()) {
        None => None,
        Some(c) => match LineClass::parse(c) {
            Some(c) => Some(c),
            None => return signed.fail(codflow_app::Error::invalid("class", "is not a line class")),
        },
    };
    let after = q.get("after").and_then(|a| a.parse::<i64>().ok()).unwrap_or(0).max(0);
    let report = match s.app.finance().statement(&sid).await {
        Ok(r) => r,
        Err(e) => return signed.fail(e),
    };
    let format = q.get("format").map(String::as_str).filter(|f| *f == "csv" || *f == "xlsx");
    let limit = if format.is_some() { 1_000_000 } else { LINES_PAGE + 1 };
    let lines = match s.app.finance().statement_lines(&sid, class, after, limit).await {
        Ok(l) => l,
        Err(e) => return signed.fail(e),
    };
    if let Some(f) = format {
        let header = [
            "line",
            "tracking_number",
            "order_ref",
            "class",
            "amount",
            "fee",
            "net",
            "expected",
            "difference",
            "currency",
        ];
        let rows: Vec<Vec<String>> = lines
            .iter()
            .map(|l| {
                vec![
                    l.line.to_string(),
                    l.tracking_number.clone().unwrap_or_default(),
                    l.order_ref.clone().unwrap_or_default(),
                    l.class.as_str().to_owned(),
                    l.amount.amount_string(),
                    l.fee.amount_string(),
                    l.net.amount_string(),
                    l.expected.map(|m| m.amount_string()).unwrap_or_default(),
                    l.difference.map(|m| m.amount_string()).unwrap_or_default(),
                    l.amount.currency.code().to_owned(),
                ]
            })
            .collect();
        return table_download(&format!("statement-{id}"), f == "xlsx", &header, &rows);
    }
    let next = (lines.len() as i64 > LINES_PAGE).then(|| lines[LINES_PAGE as usize - 1].line);
    let shown: Vec<_> = lines
        .iter()
        .take(LINES_PAGE as usize)
        .map(|l| {
            minijinja::context! {
                line => l.line, tracking => l.tracking_number.clone(), order_ref => l.order_ref.clone(),
                class => l.class.as_str(), decide => l.class.needs_decision(),
                amount => Amount::from(l.amount), fee => Amount::from(l.fee), net => Amount::from(l.net),
                expected => l.expected.map(Amount::from), difference => l.difference.map(Amount::from),
            }
        })
        .collect();
    let (classes, totals) = summary(&report);
    let ctx = minijinja::context! {
        id => id.clone(),
        q => kept(&q, &["class"]),
        class => class.map(|c| c.as_str()),
        all_classes => LineClass::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
        classes => minijinja::Value::from_serialize(&classes),
        totals => totals.iter().map(|(c, n, a)| minijinja::context! { currency => c, lines => n, amount => a }).collect::<Vec<_>>(),
        lines => shown,
        next,
        missing_count => report.missing_count,
        file => report.statement.as_ref().map(|st| st.file_name.clone()),
    };
    let title =
        signed.t_with("statement-title", &[("file", report.statement.as_ref().map_or("", |st| st.file_name.as_str()))]);
    signed.page(StatusCode::OK, "settlement.html", &title, ctx)
}

/// One line's dispute packet (PDF, or CSV with `format=csv`).
pub async fn dispute(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Path((id, line)): Path<(String, i64)>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = signed.refused(READERS) {
        return r;
    }
    let Ok(sid) = StatementId::parse(&id) else { return signed.fail(codflow_app::Error::NotFound("statement")) };
    match s.app.finance().dispute_packet(&sid, line, q.get("format").is_some_and(|f| f == "csv")).await {
        Ok(d) => crate::routes::logistics::download(d.content_type, &d.filename, d.bytes).into_response(),
        Err(e) => signed.fail(e),
    }
}

pub async fn disputes(State(s): State<Arc<AppState>>, signed: Signed, Path(id): Path<String>) -> Response {
    if let Some(r) = signed.refused(READERS) {
        return r;
    }
    let Ok(sid) = StatementId::parse(&id) else { return signed.fail(codflow_app::Error::NotFound("statement")) };
    match s.app.finance().dispute_packets(&sid).await {
        Ok(d) => crate::routes::logistics::download(d.content_type, &d.filename, d.bytes).into_response(),
        Err(e) => signed.fail(e),
    }
}
