//! What operations tunes without a developer: the messages buyers receive (each template edited with a preview
//! written with sample values before it is saved) and the tracking thresholds that open tasks (the defaults, each
//! lane that differs, each kind's time to act, and how often parcels are polled).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use codflow_app::notify::{LANGUAGES, StoredTemplate, TEMPLATE_VALUES, preview_template};
use codflow_app::tracking::PollSettings;
use codflow_domain::anomaly::{AnomalyKind, AnomalySettings, Thresholds};
use codflow_domain::{Actor, Role};
use minijinja::Value;

use super::{Signed, redirect};
use crate::state::AppState;

/// Who tunes messages and thresholds (the API's operators).
const TUNERS: &[Role] = &[Role::Ops];

pub async fn messages(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = signed.refused(TUNERS) {
        return r;
    }
    let all = match s.app.tracking().notification_templates().await {
        Ok(t) => t,
        Err(e) => return signed.fail(e),
    };
    let chosen = q.get("name").and_then(|n| {
        let lang = q.get("language").map(String::as_str).unwrap_or("en");
        all.iter().find(|t| t.name == *n && t.language == lang).cloned().or_else(|| {
            // A language the template has no text in yet starts from its English text.
            let en = all.iter().find(|t| t.name == *n && t.language == "en")?;
            LANGUAGES.contains(&lang).then(|| StoredTemplate { language: lang.to_owned(), ..en.clone() })
        })
    });
    if q.contains_key("name") && chosen.is_none() {
        return signed.fail(codflow_app::Error::NotFound("template"));
    }
    let flash = q.get("saved").map(|_| signed.t("template-saved"));
    page(&signed, &all, chosen, None, flash)
}

fn page(
    signed: &Signed,
    all: &[StoredTemplate],
    editing: Option<StoredTemplate>,
    preview: Option<Value>,
    flash: Option<String>,
) -> Response {
    let rows: Vec<Value> = all
        .iter()
        .map(|t| minijinja::context! { name => t.name.clone(), language => t.language.clone(), subject => t.subject.clone() })
        .collect();
    let editing = editing.map(|t| {
        minijinja::context! { name => t.name, language => t.language, subject => t.subject, body => t.body, sms => t.sms }
    });
    let ctx = minijinja::context! {
        rows, editing, preview, flash, languages => LANGUAGES,
        values => TEMPLATE_VALUES.map(|v| format!("{{{{ {v} }}}}")),
    };
    signed.page(StatusCode::OK, "messages.html", &signed.t("nav-messages"), ctx)
}

/// Previews a template (nothing saved, the form kept) or saves it; a template that does not render is refused
/// naming its part and line, with the form as it was typed.
pub async fn save_message(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let field = |k: &str| f.get(k).cloned().unwrap_or_default();
    if let Some(r) = signed.may_post(TUNERS, &field("csrf")) {
        return r;
    }
    let t = StoredTemplate {
        name: field("name"),
        language: field("language"),
        subject: field("subject"),
        body: field("body"),
        sms: field("sms"),
    };
    let all = match s.app.tracking().notification_templates().await {
        Ok(t) => t,
        Err(e) => return signed.fail(e),
    };
    if field("action") == "save" {
        return match s.app.tracking().put_notification_template(t.clone()).await {
            Ok(saved) => redirect(&format!(
                "/settings/messages?{}",
                super::pages::query_string(&[("name", &saved.name), ("language", &saved.language), ("saved", "1")])
            )),
            Err(codflow_app::Error::Invalid(errors)) => {
                let preview =
                    minijinja::context! { errors => errors.0.iter().map(|e| e.to_string()).collect::<Vec<_>>() };
                with_status(page(&signed, &all, Some(t), Some(preview), None), StatusCode::UNPROCESSABLE_ENTITY)
            }
            Err(e) => signed.fail(e),
        };
    }
    let preview = match preview_template(&t) {
        Ok((subject, body, sms)) => minijinja::context! { subject, body, sms, sms_chars => sms.chars().count() },
        Err(codflow_app::Error::Invalid(errors)) => {
            minijinja::context! { errors => errors.0.iter().map(|e| e.to_string()).collect::<Vec<_>>() }
        }
        Err(e) => return signed.fail(e),
    };
    page(&signed, &all, Some(t), Some(preview), None)
}

fn with_status(mut r: Response, status: StatusCode) -> Response {
    *r.status_mut() = status;
    r
}

/// The number fields of one set of thresholds, in the order the form shows them.
fn fields(t: &Thresholds) -> [(&'static str, i64); 7] {
    [
        ("customs_held_hours", t.customs_held_hours),
        ("no_scan_before_pickup_hours", t.no_scan_before_pickup_hours),
        ("no_scan_in_transit_hours", t.no_scan_in_transit_hours),
        ("transit_days", t.transit_days),
        ("late_grace_hours", t.late_grace_hours),
        ("failures_before_return", t.failures_before_return),
        ("remit_grace_days", t.remit_grace_days),
    ]
}

fn thresholds_values(key: &str, t: &Thresholds) -> Value {
    minijinja::context! {
        key,
        fields => fields(t).iter().map(|(name, value)| minijinja::context! { name, value }).collect::<Vec<_>>(),
    }
}

pub async fn tracking(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = signed.refused(TUNERS) {
        return r;
    }
    let (anomaly, poll) = match (s.app.tracking().anomaly_settings().await, s.app.tracking().tracking_settings().await)
    {
        (Ok(a), Ok(p)) => (a, p),
        (Err(e), _) | (_, Err(e)) => return signed.fail(e),
    };
    let sla: Vec<Value> = AnomalyKind::ALL
        .iter()
        .map(|k| minijinja::context! { kind => k.as_str(), hours => anomaly.default.sla(*k).whole_hours() })
        .collect();
    let ctx = minijinja::context! {
        default => thresholds_values("default", &anomaly.default),
        lanes => anomaly.lanes.iter().map(|(k, t)| thresholds_values(k, t)).collect::<Vec<_>>(),
        blank => thresholds_values("", &anomaly.default),
        names => fields(&anomaly.default).map(|(n, _)| n),
        sla,
        poll_seconds => poll.poll_seconds,
        poll_carriers => poll.poll_carriers.join(", "),
        max_age_days => poll.max_age_days,
        flash => q.get("saved").map(|_| signed.t("thresholds-saved")),
    };
    signed.page(StatusCode::OK, "tracking_settings.html", &signed.t("nav-thresholds"), ctx)
}

/// The thresholds of one row of the form (`{prefix}.{field}`), each field falling back to `base`; a number that
/// does not read becomes -1 so the checks refuse it by name.
fn read_thresholds(f: &[(String, String)], prefix: &str, base: &Thresholds) -> Thresholds {
    let get = |name: &str, was: i64| {
        f.iter()
            .find(|(k, _)| *k == format!("{prefix}.{name}"))
            .map(|(_, v)| v.trim().parse::<i64>().unwrap_or(-1))
            .unwrap_or(was)
    };
    Thresholds {
        customs_held_hours: get("customs_held_hours", base.customs_held_hours),
        no_scan_before_pickup_hours: get("no_scan_before_pickup_hours", base.no_scan_before_pickup_hours),
        no_scan_in_transit_hours: get("no_scan_in_transit_hours", base.no_scan_in_transit_hours),
        transit_days: get("transit_days", base.transit_days),
        late_grace_hours: get("late_grace_hours", base.late_grace_hours),
        failures_before_return: get("failures_before_return", base.failures_before_return),
        remit_grace_days: get("remit_grace_days", base.remit_grace_days),
        sla_hours: base.sla_hours.clone(),
    }
}

/// Saves the thresholds (every lane row kept unless its key is cleared; a new row added when it names a lane)
/// and the polling; each refusal names its field.
pub async fn save_tracking(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Form(f): Form<Vec<(String, String)>>,
) -> Response {
    let field = |k: &str| f.iter().find(|(n, _)| n == k).map(|(_, v)| v.trim().to_owned()).unwrap_or_default();
    if let Some(r) = signed.may_post(TUNERS, &field("csrf")) {
        return r;
    }
    let mut default = read_thresholds(&f, "default", &Thresholds::default());
    let mut sla = BTreeMap::new();
    for k in AnomalyKind::ALL {
        let v = field(&format!("sla.{}", k.as_str()));
        if !v.is_empty() {
            sla.insert(k, v.parse::<i64>().unwrap_or(-1));
        }
    }
    default.sla_hours = sla;
    let mut lanes = BTreeMap::new();
    // Lane rows are numbered; each carries its key (cleared to remove the lane).
    for i in 0..200 {
        let Some((_, key)) = f.iter().find(|(k, _)| *k == format!("lane{i}.key")) else { break };
        let key = key.trim().to_uppercase();
        if key.is_empty() {
            continue;
        }
        let mut t = read_thresholds(&f, &format!("lane{i}"), &default);
        t.sla_hours = default.sla_hours.clone();
        lanes.insert(key, t);
    }
    let anomaly = AnomalySettings { default, lanes };
    // Both halves are checked before either is saved, so a refusal changes nothing.
    if let Err(errors) = anomaly.validate() {
        return signed.fail(codflow_app::Error::Invalid(errors));
    }
    let poll = PollSettings {
        poll_seconds: field("poll_seconds").parse().unwrap_or(-1),
        poll_carriers: field("poll_carriers")
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect(),
        max_age_days: field("max_age_days").parse().unwrap_or(-1),
    };
    if let Err(e) = s.app.tracking().set_tracking_settings(poll, Actor::User(signed.0.id.clone())).await {
        return signed.fail(e);
    }
    match s.app.tracking().set_anomaly_settings(anomaly).await {
        Ok(_) => redirect("/settings/tracking?saved=1"),
        Err(e) => signed.fail(e),
    }
}
