//! The working pages: stock, shipments and label batches, settlements and their discrepancies, rules with
//! validation and back-testing, channels with a quote tester. Every table exports as CSV or XLSX with the
//! page's own filters (`format=csv|xlsx`).
//!
//! Over 600 lines for now: hand-built HTML that the console's templates (issue 25) replace page by page.

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use codflow_domain::{Role, StatementId};

use super::pages::{esc, layout, query_string, table_download};
use super::{Signed, html};
use crate::state::AppState;

pub(super) fn fail(e: impl Into<crate::ApiError>) -> Response {
    e.into().into_response()
}

/// A table shown on a page and exported with the same rows.
pub(super) struct Table {
    pub name: &'static str,
    pub header: Vec<&'static str>,
    pub rows: Vec<Vec<String>>,
    /// Per row, a link for its first cell.
    pub links: Vec<Option<String>>,
}

impl Table {
    pub fn html(&self) -> String {
        if self.rows.is_empty() {
            return "<p class=\"muted\">Nothing here yet.</p>".into();
        }
        let mut out = format!("<table id=\"{}\"><thead><tr>", self.name);
        for h in &self.header {
            let _ = write!(out, "<th>{}</th>", esc(h));
        }
        out.push_str("</tr></thead><tbody>");
        for (row, link) in self.rows.iter().zip(&self.links) {
            out.push_str("<tr>");
            for (i, cell) in row.iter().enumerate() {
                match (i, link) {
                    (0, Some(href)) => {
                        let _ = write!(out, "<td><a href=\"{}\">{}</a></td>", esc(href), esc(cell));
                    }
                    _ => {
                        let _ = write!(out, "<td>{}</td>", esc(cell));
                    }
                }
            }
            out.push_str("</tr>");
        }
        out.push_str("</tbody></table>");
        out
    }

    /// The page's export links, keeping its query.
    pub fn exports(&self, path: &str, q: &HashMap<String, String>) -> String {
        let mut keep: Vec<(&str, &str)> =
            q.iter().filter(|(k, _)| *k != "format").map(|(k, v)| (k.as_str(), v.as_str())).collect();
        keep.sort();
        let link = |f: &'static str| {
            let mut p = keep.clone();
            p.push(("format", f));
            format!("{path}?{}", query_string(&p))
        };
        format!(
            "<p class=\"exports\"><a href=\"{}\">Export CSV</a> · <a href=\"{}\">Export XLSX</a></p>",
            esc(&link("csv")),
            esc(&link("xlsx"))
        )
    }

    /// The download the request asks for, if it asks for one.
    pub fn download(&self, q: &HashMap<String, String>) -> Option<Response> {
        match q.get("format").map(String::as_str) {
            Some("csv") => Some(table_download(self.name, false, &self.header, &self.rows)),
            Some("xlsx") => Some(table_download(self.name, true, &self.header, &self.rows)),
            _ => None,
        }
    }
}

const SETTLEMENT_READERS: &[Role] = &[Role::Finance];

pub async fn dispute(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Path((id, line)): Path<(String, i64)>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = signed.refused(SETTLEMENT_READERS) {
        return r;
    }
    let Ok(sid) = StatementId::parse(&id) else { return StatusCode::NOT_FOUND.into_response() };
    match s.app.finance().dispute_packet(&sid, line, q.get("format").is_some_and(|f| f == "csv")).await {
        Ok(d) => crate::routes::logistics::download(d.content_type, &d.filename, d.bytes).into_response(),
        Err(e) => fail(e),
    }
}

pub async fn disputes(State(s): State<Arc<AppState>>, signed: Signed, Path(id): Path<String>) -> Response {
    if let Some(r) = signed.refused(SETTLEMENT_READERS) {
        return r;
    }
    let Ok(sid) = StatementId::parse(&id) else { return StatusCode::NOT_FOUND.into_response() };
    match s.app.finance().dispute_packets(&sid).await {
        Ok(d) => crate::routes::logistics::download(d.content_type, &d.filename, d.bytes).into_response(),
        Err(e) => fail(e),
    }
}

pub async fn channels(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let list = match s.app.fulfilment().channels().await {
        Ok(l) => l,
        Err(e) => return fail(e),
    };
    let t = Table {
        name: "channels",
        header: vec!["code", "name", "carrier", "enabled", "priority", "settlement_cycle_days", "card_currency"],
        links: list.iter().map(|_| None).collect(),
        rows: list
            .iter()
            .map(|c| {
                vec![
                    c.code.to_string(),
                    c.name.clone(),
                    c.carrier.clone(),
                    c.enabled.to_string(),
                    c.priority.to_string(),
                    c.settlement_cycle_days.to_string(),
                    c.card.currency.to_string(),
                ]
            })
            .collect(),
    };
    if let Some(d) = t.download(&q) {
        return d;
    }
    let get = |k: &str| q.get(k).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let mut body = t.exports("/channels", &q);
    body.push_str(&t.html());
    let v = |k: &str, d: &str| esc(&get(k).unwrap_or_else(|| d.to_owned()));
    let _ = write!(
        body,
        "<h2>Quote tester</h2><form class=\"filters\" method=\"get\" action=\"/channels\">\
         <input name=\"country\" placeholder=\"country\" value=\"{}\" size=\"5\">\
         <input name=\"region\" placeholder=\"region\" value=\"{}\" size=\"12\">\
         <input name=\"postal_code\" placeholder=\"postcode\" value=\"{}\" size=\"8\">\
         <label>Weight g <input name=\"weight_g\" type=\"number\" value=\"{}\" size=\"6\"></label>\
         <label>Goods <input name=\"goods\" value=\"{}\" size=\"8\"></label>\
         <label>COD <input name=\"cod\" value=\"{}\" size=\"8\"></label>\
         <input name=\"currency\" placeholder=\"currency\" value=\"{}\" size=\"5\">\
         <button type=\"submit\" name=\"quote\" value=\"1\">Quote</button></form>",
        v("country", ""),
        v("region", ""),
        v("postal_code", ""),
        v("weight_g", "500"),
        v("goods", "100.00"),
        v("cod", ""),
        v("currency", "USD"),
    );
    if q.contains_key("quote") {
        let currency = get("currency").unwrap_or_else(|| "USD".into()).to_uppercase();
        let input = codflow_app::logistics::QuoteInput {
            destination: codflow_app::logistics::DestinationInput {
                country: get("country").unwrap_or_default().to_uppercase(),
                region: get("region"),
                city: None,
                postal_code: get("postal_code"),
            },
            parcels: vec![codflow_app::logistics::ParcelInput {
                weight_g: get("weight_g").and_then(|w| w.parse().ok()).unwrap_or(0),
                length_cm: None,
                width_cm: None,
                height_cm: None,
            }],
            goods_value: codflow_domain::rating::MoneySpec {
                amount: get("goods").unwrap_or_else(|| "0".into()),
                currency: currency.clone(),
            },
            cod_amount: get("cod").map(|a| codflow_domain::rating::MoneySpec { amount: a, currency: currency.clone() }),
            incoterm: None,
            items: vec![],
            contents: None,
            date: None,
            strategy: None,
        };
        match s.app.fulfilment().quote(&input).await {
            Ok(r) => {
                let _ = write!(
                    body,
                    "<p id=\"quote-why\">{}</p><table id=\"quotes\"><thead><tr><th>Channel</th><th>Zone</th><th class=\"num\">Billable g</th><th class=\"num\">Card total</th><th class=\"num\">Base total</th><th class=\"num\">Transit days</th><th>Tags</th></tr></thead><tbody>",
                    esc(&r.ranking.why)
                );
                for x in &r.ranking.ranked {
                    let qt = &x.quote;
                    let _ = write!(
                        body,
                        "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
                        esc(qt.channel.as_str()),
                        esc(&qt.zone),
                        qt.billable_weight_g,
                        esc(&qt.total().to_string()),
                        esc(&qt.total_base.to_string()),
                        qt.transit_days,
                        r.tags(qt).join(", ")
                    );
                }
                body.push_str("</tbody></table>");
                for (code, _, why) in &r.ineligible {
                    let _ = write!(
                        body,
                        "<p class=\"muted\">{} cannot ship it: {}</p>",
                        esc(code.as_str()),
                        esc(&why.to_string())
                    );
                }
            }
            Err(codflow_app::Error::Invalid(list)) => {
                let items: String = list.0.iter().map(|e| format!("<li>{}</li>", esc(&e.to_string()))).collect();
                let _ = write!(body, "<ul class=\"err\">{items}</ul>");
            }
            Err(e) => return fail(e),
        }
    }
    html(StatusCode::OK, layout(&signed, "nav-channels", &body))
}
