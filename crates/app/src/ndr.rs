//! Failed-delivery self-service: the buyer opens the signed link from the delivery-failed message, sees
//! the order (their own address and the cash to prepare) and answers: deliver again (optionally another
//! day, another phone, cash ready), deliver to another address, or send it back. The answer becomes an
//! NDR instruction to the carrier, is recorded once per failed attempt, and shows on the order.

use codflow_connectors::carriers::{DeliveryInstructions, NdrAction, Party};
use codflow_domain::{Actor, AuditRecord, Money, ShipmentStatus};
use codflow_store::tracking::{self as store, NdrRequest};
use codflow_store::{commit, orders};
use serde_json::json;

use crate::error::ConflictKind;
use crate::tracking_messages::{LinkError, link_secret, verify_link};
use crate::{Error, Result, Tracking};

pub use crate::tracking_messages::{LINK_DAYS, sign_link};

/// What the self-service page shows.
#[derive(Clone, Debug)]
pub struct NdrPage {
    pub language: &'static str,
    pub order_ref: String,
    pub tracking_number: String,
    pub attempt: i64,
    pub address_lines: Vec<String>,
    pub cod: Option<Money>,
    /// Set once the attempt has been answered.
    pub answered: Option<NdrRequest>,
}

/// The buyer's answer as the form sends it.
#[derive(Clone, Debug, Default)]
pub struct NdrAnswer {
    /// `reattempt`, `change_address` or `return`.
    pub action: String,
    pub phone: Option<String>,
    /// YYYY-MM-DD.
    pub day: Option<String>,
    pub cash_ready: bool,
    pub line1: Option<String>,
    pub line2: Option<String>,
    pub city: Option<String>,
}

fn link_error(e: LinkError) -> Error {
    match e {
        LinkError::Invalid => Error::Unauthorized,
        LinkError::Expired => {
            Error::Conflict { kind: ConflictKind::LinkExpired, message: "this link has expired".into() }
        }
    }
}

impl Tracking {
    pub async fn ndr_page(&self, token: &str) -> Result<NdrPage> {
        let mut conn = self.store.read().await?;
        // No secret yet means no link was ever signed.
        let secret = codflow_store::review::setting(&mut conn, "link_secret").await?.ok_or(Error::Unauthorized)?;
        let (id, attempt) = verify_link(&secret, token, self.clock().now()).map_err(link_error)?;
        let t = store::by_shipment(&mut conn, &id).await?.ok_or(Error::NotFound("shipment"))?;
        let order = orders::get(&mut conn, &t.order_id).await?.ok_or(Error::NotFound("order"))?;
        let a = &order.shipping_address;
        let answered = store::ndr_of(&mut conn, &id).await?.into_iter().find(|n| n.attempt == attempt);
        Ok(NdrPage {
            language: crate::notify::language_for(a.country),
            order_ref: order.external_id.clone(),
            tracking_number: t.tracking_number,
            attempt,
            address_lines: [Some(a.line1.clone()), a.line2.clone(), Some(a.city.clone())]
                .into_iter()
                .flatten()
                .collect(),
            cod: (t.cod.minor > 0).then_some(t.cod),
            answered,
        })
    }

    /// Records the buyer's answer and sends the instruction to the carrier. Answering an attempt twice
    /// is refused (409); the first answer stands.
    pub async fn ndr_answer(&self, token: &str, answer: NdrAnswer) -> Result<NdrRequest> {
        let now = self.clock().now();
        let mut e = codflow_domain::FieldErrors::default();
        let day = match answer.day.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
            None => None,
            Some(d) => match time::Date::parse(d, time::macros::format_description!("[year]-[month]-[day]")) {
                Ok(day) if day >= now.date() && day <= now.date() + time::Duration::days(14) => Some(day),
                _ => {
                    e.push("day", "must be a day within the next two weeks (YYYY-MM-DD)");
                    None
                }
            },
        };
        let phone = answer.phone.as_deref().map(str::trim).filter(|p| !p.is_empty()).map(str::to_owned);
        if phone.as_ref().is_some_and(|p| p.len() > 20 || !p.bytes().all(|b| b.is_ascii_digit() || b"+ -".contains(&b)))
        {
            e.push("phone", "must be a phone number");
        }
        let mut conn = self.store.begin().await?;
        let secret = link_secret(&mut conn).await?;
        let (id, attempt) = verify_link(&secret, token, now).map_err(link_error)?;
        let t = store::by_shipment(&mut conn, &id).await?.ok_or(Error::NotFound("shipment"))?;
        let order = orders::get(&mut conn, &t.order_id).await?.ok_or(Error::NotFound("order"))?;
        let a = &order.shipping_address;
        let action = match answer.action.as_str() {
            "reattempt" => NdrAction::Reattempt {
                phone: phone.clone(),
                day,
                note: answer.cash_ready.then(|| "buyer says the cash is ready".to_owned()),
            },
            "return" => NdrAction::Return,
            "change_address" => {
                let line1 = answer.line1.as_deref().map(str::trim).unwrap_or_default();
                let city = answer.city.as_deref().map(str::trim).unwrap_or_default();
                if line1.is_empty() || line1.chars().count() > 200 {
                    e.push("line1", "give the street and number");
                }
                if city.is_empty() || city.chars().count() > 100 {
                    e.push("city", "give the city");
                }
                NdrAction::ChangeAddress(Party {
                    name: a.name.clone(),
                    phone: phone.clone().or_else(|| Some(order.buyer.phone.as_str().to_owned())),
                    email: None,
                    line1: line1.to_owned(),
                    line2: answer.line2.as_deref().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned),
                    city: city.to_owned(),
                    region: a.region.clone(),
                    postal_code: None,
                    country: a.country.to_string(),
                })
            }
            other => {
                e.push("action", format!("{other:?} is not an answer (reattempt, change_address, return)"));
                NdrAction::Return
            }
        };
        if !e.is_empty() {
            return Err(Error::Invalid(e));
        }
        if !matches!(t.progress.status, ShipmentStatus::DeliveryFailed(_)) || t.progress.failed_attempts != attempt {
            return Err(Error::Conflict {
                kind: ConflictKind::NotAwaitingAnswer,
                message: "the courier has moved on since this message; nothing more is needed".into(),
            });
        }
        let details = json!({
            "phone": phone, "day": day.map(|d| d.to_string()), "cash_ready": answer.cash_ready,
            "address": if let NdrAction::ChangeAddress(p) = &action { json!({"line1": p.line1, "line2": p.line2, "city": p.city}) } else { json!(null) },
        });
        let mut req = NdrRequest {
            shipment_id: id.clone(),
            attempt,
            action: answer.action.clone(),
            details: details.to_string(),
            status: "sending".into(),
            error: None,
            created_at: now,
        };
        if !store::insert_ndr(&mut conn, &req).await? {
            return Err(Error::Conflict {
                kind: ConflictKind::AlreadyAnswered,
                message: "this delivery was already answered".into(),
            });
        }
        let mut audit =
            AuditRecord::change("order", order.id.to_string(), "ndr", None, None, Actor::Worker("buyer".into()), now);
        audit.reason = Some(format!("buyer answered failed delivery {attempt}: {} {details}", answer.action));
        orders::insert_audit(&mut conn, &[audit]).await?;
        commit(conn).await?;

        // The carrier call is made outside the transaction; its result is recorded after.
        let carriers = self.carriers.clone();
        let result = match carriers.of(&t.carrier) {
            Some(c) => c.instruct(&t.tracking_number, &action).await.map_err(|e| e.to_string()),
            None => Err(format!("no {} carrier is configured in this process", t.carrier)),
        };
        let mut tx = self.store.begin().await?;
        let (status, error) = match &result {
            Ok(()) => ("sent", None),
            Err(e) => ("failed", Some(e.as_str())),
        };
        store::set_ndr_result(&mut tx, &id, attempt, status, error).await?;
        commit(tx).await?;
        req.status = status.into();
        req.error = error.map(str::to_owned);
        Ok(req)
    }

    /// A signed self-service link for the shipment's latest failed attempt (what the message carries).
    pub async fn ndr_link(&self, shipment: &codflow_domain::ShipmentId) -> Result<String> {
        let id = shipment.clone();
        let mut tx = self.store.begin().await?;
        let t = store::by_shipment(&mut tx, &id).await?.ok_or(Error::NotFound("shipment"))?;
        let secret = link_secret(&mut tx).await?;
        commit(tx).await?;
        let expires = self.clock().now() + time::Duration::days(LINK_DAYS);
        Ok(sign_link(&secret, &id, t.progress.failed_attempts, expires))
    }
}
