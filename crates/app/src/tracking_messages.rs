//! Buyer messages about a shipment (shipped, out for delivery, delivery failed, delivered), queued in the
//! outbox in the transaction that applies the event, once per (order, template, channel, event), held back
//! over the destination's quiet hours and never sent to a buyer who opted out. The failed-delivery message
//! carries a signed, expiring self-service link.

use std::collections::BTreeMap;

use codflow_domain::tracking::FailReason;
use codflow_domain::{ClaimId, Country, NotificationId, Order, ShipmentId, ShipmentStatus};
use codflow_store::outbox::Channel;
use codflow_store::tracking::Tracked;
use codflow_store::{Conn, review as rstore};
use hmac::{Hmac, Mac};
use minijinja::context;
use sha2::Sha256;
use time::{Duration, OffsetDateTime, UtcOffset};

use codflow_connectors::decode_hex;

use crate::Result;

use crate::notify::{Notification, Status, StoredTemplate, environment, language_for, render as render_str};

pub(crate) struct MessageCtx<'a> {
    pub order: &'a Order,
    pub tracked: &'a Tracked,
    pub eta: OffsetDateTime,
    pub public_url: &'a str,
}

/// How long a self-service link works.
pub const LINK_DAYS: i64 = 7;
const QUIET_FROM_HOUR: u8 = 21;
const QUIET_UNTIL_HOUR: u8 = 9;

/// The local UTC offset at `at` in the destination's (main) time zone. Summer time follows the rules the
/// markets keep today: the EU's (last Sunday of March to last Sunday of October, 01:00 UTC), Egypt's (last
/// Friday of April to last Thursday of October), continental Chile's (first Sunday of September to first
/// Sunday of April); elsewhere the offset is fixed. Countries spanning zones get their most populous one.
pub fn utc_offset(c: Country, at: OffsetDateTime) -> UtcOffset {
    use time::Weekday::{Friday, Sunday, Thursday};
    use time::{Date, Month};
    let y = at.year();
    let utc = |d: Option<Date>, hour: u8| d.and_then(|d| d.with_hms(hour, 0, 0).ok()).map(|t| t.assume_utc());
    let between = |from: Option<OffsetDateTime>, to: Option<OffsetDateTime>| {
        from.zip(to).is_some_and(|(from, to)| at >= from && at < to)
    };
    let last = |m: Month, w: time::Weekday| {
        let next = if m == Month::December { None } else { Date::from_calendar_date(y, m.next(), 1).ok() };
        next.map(|d| d.prev_occurrence(w))
    };
    let first = |m: Month, w: time::Weekday| Date::from_calendar_date(y, m, 1).ok().map(|d| d.next_occurrence(w));
    let eu = || between(utc(last(Month::March, Sunday), 1), utc(last(Month::October, Sunday), 1));
    let (h, m): (i8, i8) = match c.code() {
        "SA" | "KW" | "QA" | "BH" | "IQ" | "JO" | "YE" | "TR" => (3, 0),
        "AE" | "OM" => (4, 0),
        "LY" | "ZA" => (2, 0),
        // Midnight local is 22:00 UTC the day before in winter, 21:00 in summer.
        "EG" => {
            let from = utc(last(Month::April, Friday).and_then(|d| d.previous_day()), 22);
            let to = utc(last(Month::October, Thursday), 21);
            (if between(from, to) { 3 } else { 2 }, 0)
        }
        // Morocco keeps UTC+1 all year (save a month around Ramadan, not modelled).
        "MA" => (1, 0),
        "GB" | "PT" | "IE" => (i8::from(eu()), 0),
        "PL" | "DE" | "FR" | "ES" | "IT" | "NL" | "BE" | "AT" | "CZ" | "SE" => (1 + i8::from(eu()), 0),
        "DZ" | "TN" => (1, 0),
        "TH" | "VN" | "ID" => (7, 0),
        "MY" | "PH" | "CN" | "HK" | "TW" | "SG" => (8, 0),
        "PK" => (5, 0),
        "IN" => (5, 30),
        "MX" => (-6, 0),
        "CO" | "PE" | "EC" => (-5, 0),
        // Summer runs over New Year: on from September's first Sunday, off until April's.
        "CL" => {
            let off = utc(first(Month::April, Sunday), 3);
            let on = utc(first(Month::September, Sunday), 4);
            let summer = off.is_some_and(|t| at < t) || on.is_some_and(|t| at >= t);
            (if summer { -3 } else { -4 }, 0)
        }
        "BO" | "VE" => (-4, 0),
        "AR" | "BR" | "UY" => (-3, 0),
        _ => (0, 0),
    };
    UtcOffset::from_hms(h, m, 0).unwrap_or(UtcOffset::UTC)
}

/// `now`, or the end of the destination's quiet hours when `now` falls inside them.
pub fn send_at(country: Country, now: OffsetDateTime) -> OffsetDateTime {
    let local = now.to_offset(utc_offset(country, now));
    let hour = local.hour();
    if (QUIET_UNTIL_HOUR..QUIET_FROM_HOUR).contains(&hour) {
        return now;
    }
    let day = if hour >= QUIET_FROM_HOUR { local.date().next_day().unwrap_or(local.date()) } else { local.date() };
    let Ok(wake) = day.with_hms(QUIET_UNTIL_HOUR, 0, 0) else { return now };
    // The clocks may change overnight: take the offset in force at the wake-up itself.
    let guess = wake.assume_offset(local.offset());
    wake.assume_offset(utc_offset(country, guess)).to_offset(UtcOffset::UTC)
}

fn reason_text(status: ShipmentStatus, language: &str) -> &'static str {
    let ShipmentStatus::DeliveryFailed(r) = status else { return "" };
    let i = match r {
        FailReason::NotHome => 0,
        FailReason::AddressIssue => 1,
        FailReason::CodNotReady => 2,
        FailReason::Refused | FailReason::Other => 3,
    };
    let table: [&str; 4] = match language {
        "ar" => ["لم نجد أحداً في العنوان", "مشكلة في العنوان", "المبلغ النقدي لم يكن جاهزاً", "سبب آخر"],
        "es" => ["no había nadie en casa", "problema con la dirección", "el efectivo no estaba listo", "otro motivo"],
        "zh" => ["无人在家", "地址有误", "现金未准备好", "其他原因"],
        _ => ["nobody was home", "a problem with the address", "the cash was not ready", "another reason"],
    };
    table[i]
}

// ------------------------------------------------------------------------------------------- signed links

type HmacSha256 = Hmac<Sha256>;

/// The secret self-service links are signed with, made on first use and kept in settings.
pub(crate) async fn link_secret(conn: &mut Conn) -> Result<String> {
    if let Some(s) = rstore::setting(conn, "link_secret").await? {
        return Ok(s);
    }
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| codflow_store::Error::Corrupt(format!("no randomness: {e}")))?;
    let secret: String = codflow_domain::text::hex(&bytes);
    // Two nodes making one at once keep the first.
    rstore::insert_setting_if_absent(conn, "link_secret", &secret, crate::now()).await?;
    Ok(rstore::setting(conn, "link_secret").await?.unwrap_or(secret))
}

fn mac(secret: &str, payload: &str) -> HmacSha256 {
    let mut m = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    m.update(payload.as_bytes());
    m
}

fn signed(secret: &str, payload: String) -> String {
    let sig = mac(secret, &payload).finalize().into_bytes();
    let hex: String = codflow_domain::text::hex(&sig[..16]);
    format!("{payload}.{hex}")
}

/// The payload's dot-separated fields if the signature holds (compared in constant time) and the last field, a
/// Unix time, has not passed at `now`; the expiry itself is left off.
fn opened(secret: &str, token: &str, now: OffsetDateTime) -> Result<Vec<String>, LinkError> {
    let mut parts = token.rsplitn(2, '.');
    let (Some(sig), Some(payload)) = (parts.next(), parts.next()) else { return Err(LinkError::Invalid) };
    let sig = decode_hex(sig).filter(|s| s.len() == 16).ok_or(LinkError::Invalid)?;
    mac(secret, payload).verify_truncated_left(&sig).map_err(|_| LinkError::Invalid)?;
    let mut fields: Vec<String> = payload.split('.').map(str::to_owned).collect();
    let expires: i64 = fields.pop().and_then(|e| e.parse().ok()).ok_or(LinkError::Invalid)?;
    if now.unix_timestamp() > expires {
        return Err(LinkError::Expired);
    }
    Ok(fields)
}

/// `shipment.attempt.expires.signature`: which failed attempt the buyer answers, until when.
pub fn sign_link(secret: &str, shipment: &ShipmentId, attempt: i64, expires: OffsetDateTime) -> String {
    signed(secret, format!("{shipment}.{attempt}.{}", expires.unix_timestamp()))
}

/// Why a link is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkError {
    Invalid,
    Expired,
}

/// The shipment and attempt a link is for, if its signature holds and it has not expired at `now`.
pub fn verify_link(secret: &str, token: &str, now: OffsetDateTime) -> Result<(ShipmentId, i64), LinkError> {
    let fields = opened(secret, token, now)?;
    let [id, attempt] = fields.as_slice() else { return Err(LinkError::Invalid) };
    let id = ShipmentId::parse(id).map_err(|_| LinkError::Invalid)?;
    let attempt: i64 = attempt.parse().map_err(|_| LinkError::Invalid)?;
    Ok((id, attempt))
}

/// `claim.{claim}.expires.signature`: the claim a buyer's statement is for, until when. The leading word keeps
/// a failed-delivery link from ever reading as one.
pub fn sign_claim_link(secret: &str, claim: &ClaimId, expires: OffsetDateTime) -> String {
    signed(secret, format!("claim.{claim}.{}", expires.unix_timestamp()))
}

pub fn verify_claim_link(secret: &str, token: &str, now: OffsetDateTime) -> Result<ClaimId, LinkError> {
    match opened(secret, token, now)?.as_slice() {
        [word, id] if word == "claim" => ClaimId::parse(id).map_err(|_| LinkError::Invalid),
        _ => Err(LinkError::Invalid),
    }
}

// ------------------------------------------------------------------------------------------- rendering

/// The shipment message templates of one batch, each compiled once (a batch renders hundreds of messages
/// from a handful of templates).
pub(crate) struct Compiled {
    templates: BTreeMap<(String, String), StoredTemplate>,
    env: minijinja::Environment<'static>,
}

impl Compiled {
    pub(crate) fn new(templates: BTreeMap<(String, String), StoredTemplate>) -> Compiled {
        let mut env = environment();
        for ((name, lang), t) in templates.iter().filter(|((n, _), _)| n.starts_with("shipment_")) {
            for (part, src) in [("subject", &t.subject), ("body", &t.body), ("sms", &t.sms)] {
                // A template that does not compile is rendered from its source below, error and all.
                let _ = env.add_template_owned(format!("{name}/{lang}/{part}"), src.clone());
            }
        }
        Compiled { templates, env }
    }

    fn render(&self, name: &str, lang: &str, part: &str, src: &str, vars: &minijinja::Value) -> String {
        let compiled = self.env.get_template(&format!("{name}/{lang}/{part}"));
        let out = match compiled {
            Ok(t) => t.render(vars),
            Err(_) => render_str(&self.env, src, vars),
        };
        out.unwrap_or_else(|e| format!("{src} [{e}]"))
    }
}

/// The buyer's messages for `wanted` (template, event key); `link_secret` signs the self-service link of a
/// failed delivery. The caller has checked the buyer has not opted out.
pub(crate) fn render(
    ctx: &MessageCtx<'_>,
    compiled: &Compiled,
    wanted: &[(&str, String)],
    link_secret: Option<&str>,
    now: OffsetDateTime,
) -> Vec<Notification> {
    let order = ctx.order;
    let language = language_for(order.shipping_address.country);
    let t = ctx.tracked;
    let due = send_at(order.shipping_address.country, now);
    let mut out = Vec::new();
    for (template, event_key) in wanted {
        let Some(tpl) = compiled
            .templates
            .get(&((*template).to_owned(), language.to_owned()))
            .or_else(|| compiled.templates.get(&((*template).to_owned(), "en".to_owned())))
        else {
            continue;
        };
        let link = if let Some(secret) = link_secret.filter(|_| *template == "shipment_delivery_failed") {
            let token = sign_link(secret, &t.shipment_id, t.progress.failed_attempts, now + Duration::days(LINK_DAYS));
            format!("{}/ndr/{token}", ctx.public_url)
        } else {
            format!("{}/track/{}", ctx.public_url, t.tracking_number)
        };
        let vars = context! {
            buyer => order.buyer.name,
            order => order.external_id,
            store => order.store.as_str(),
            total => order.total.to_string(),
            reason => reason_text(t.progress.status, language),
            tracking => t.tracking_number,
            eta => ctx.eta.date().to_string(),
            link => link,
            cod => if t.cod.minor > 0 { t.cod.to_string() } else { String::new() },
        };
        let rendered = |part: &str, src: &str| compiled.render(template, &tpl.language, part, src, &vars);
        let key = format!("{}:{event_key}", t.shipment_id);
        let mut push = |channel, recipient: String, subject: Option<String>, body: String| {
            out.push(Notification {
                id: NotificationId::generate(),
                order_id: order.id.clone(),
                template: (*template).to_owned(),
                channel,
                event_key: key.clone(),
                recipient,
                language: tpl.language.clone(),
                subject,
                body,
                status: Status::Pending,
                attempts: 0,
                next_attempt_at: due,
                last_error: None,
                created_at: now,
                sent_at: None,
            })
        };
        if let Some(email) = &order.buyer.email {
            push(Channel::Email, email.clone(), Some(rendered("subject", &tpl.subject)), rendered("body", &tpl.body));
        }
        push(Channel::Sms, order.buyer.phone.as_str().to_owned(), None, rendered("sms", &tpl.sms));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_message_in_the_riyadh_night_waits_for_nine_in_the_morning() {
        let sa = Country::parse("SA").unwrap();
        // 19:30 UTC is 22:30 in Riyadh.
        assert_eq!(send_at(sa, datetime!(2026-11-20 19:30 UTC)), datetime!(2026-11-21 06:00 UTC));
        // 02:00 UTC is 05:00 in Riyadh, the same morning.
        assert_eq!(send_at(sa, datetime!(2026-11-21 02:00 UTC)), datetime!(2026-11-21 06:00 UTC));
        let noon = datetime!(2026-11-21 09:00 UTC);
        assert_eq!(send_at(sa, noon), noon);
    }

    #[test]
    fn quiet_hours_follow_summer_time_where_the_destination_keeps_it() {
        let c = |code: &str| Country::parse(code).unwrap();
        // 19:30 UTC: 21:30 in Madrid in summer (quiet), 20:30 in winter (not).
        assert_eq!(send_at(c("ES"), datetime!(2026-07-15 19:30 UTC)), datetime!(2026-07-16 07:00 UTC));
        let winter = datetime!(2026-01-15 19:30 UTC);
        assert_eq!(send_at(c("ES"), winter), winter);
        // The night the clocks go forward (29 March 2026): 22:30 CET waits for 09:00 CEST, 07:00 UTC.
        assert_eq!(send_at(c("ES"), datetime!(2026-03-28 21:30 UTC)), datetime!(2026-03-29 07:00 UTC));
        // Cairo at 18:30 UTC: 21:30 in summer, 20:30 in winter.
        assert_eq!(send_at(c("EG"), datetime!(2026-07-01 18:30 UTC)), datetime!(2026-07-02 06:00 UTC));
        let cairo_winter = datetime!(2026-01-15 18:30 UTC);
        assert_eq!(send_at(c("EG"), cairo_winter), cairo_winter);
        // Santiago at 00:30 UTC: 21:30 in the southern summer, 20:30 in winter.
        assert_eq!(send_at(c("CL"), datetime!(2026-01-10 00:30 UTC)), datetime!(2026-01-10 12:00 UTC));
        let santiago_winter = datetime!(2026-07-10 00:30 UTC);
        assert_eq!(send_at(c("CL"), santiago_winter), santiago_winter);
        // Morocco keeps UTC+1: 20:30 UTC is 21:30 there.
        assert_eq!(send_at(c("MA"), datetime!(2026-11-20 20:30 UTC)), datetime!(2026-11-21 08:00 UTC));
    }

    #[test]
    fn a_link_verifies_until_it_expires_and_not_once_tampered_with() {
        let id = ShipmentId::generate();
        let now = datetime!(2026-11-21 10:00 UTC);
        let token = sign_link("s3cret-s3cret", &id, 2, now + Duration::days(7));
        assert_eq!(verify_link("s3cret-s3cret", &token, now), Ok((id.clone(), 2)));
        assert_eq!(verify_link("s3cret-s3cret", &token, now + Duration::days(8)), Err(LinkError::Expired));
        assert_eq!(verify_link("other-secret", &token, now), Err(LinkError::Invalid));
        let tampered = token.replacen(".2.", ".3.", 1);
        assert_eq!(verify_link("s3cret-s3cret", &tampered, now), Err(LinkError::Invalid));
        assert_eq!(verify_link("s3cret-s3cret", "garbage", now), Err(LinkError::Invalid));
    }
}
