//! Parcels booked outside codflow (through a forwarder's portal, say) attached to their orders by tracking number
//! and carrier, one by one or from the forwarder's CSV export, and followed from then on like any other: by the
//! carrier's connector when codflow has one, else through a tracking aggregator (17TRACK).

use codflow_connectors::carriers::{Carrier, track17};
use codflow_domain::carrier_account::{CARRIERS, TRACKING_SOURCES};
use codflow_domain::work::BookingStatus;
use codflow_domain::{Actor, AuditRecord, CarrierCode, ChannelCode, FieldErrors, Money, Order, OrderId, OrderStatus};
use codflow_store::logistics::{self as lstore, Booked};
use codflow_store::{Conn, commit, orders};

use crate::booking::Shipment;
use crate::error::ConflictKind;
use crate::{Error, Fulfilment, Result};

/// The lane given to an attached parcel whose order has no channel.
pub const EXTERNAL_CHANNEL: &str = "external";

/// A parcel to attach, as written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AttachInput {
    /// An order id, or an order's number in its shop (`store` narrows it when two shops share one).
    pub order: String,
    pub store: Option<String>,
    pub carrier: String,
    pub tracking_number: String,
    /// `carrier` (its connector polls it) or `17track`; default: the carrier when codflow speaks it, else 17TRACK.
    pub source: Option<String>,
    pub channel: Option<String>,
    pub weight_g: Option<i64>,
    /// What the forwarder charged, as a decimal string in `fee_currency`.
    pub fee: Option<String>,
    pub fee_currency: Option<String>,
}

/// What attaching did.
#[derive(Debug)]
pub struct Attached {
    pub shipment: Shipment,
    /// False when the same parcel was attached before (a replay).
    pub created: bool,
    /// Who follows it: the carrier's code or the aggregator's.
    pub source: String,
}

fn tracking_number(s: &str, e: &mut FieldErrors) -> Option<String> {
    let t = s.trim();
    let ok = (4..=40).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if ok {
        Some(t.to_ascii_uppercase())
    } else {
        e.push("tracking_number", "4 to 40 letters, digits or -");
        None
    }
}

impl Fulfilment {
    async fn order_for(&self, conn: &mut Conn, input: &AttachInput) -> Result<Order> {
        let o = input.order.trim();
        if let Ok(id) = OrderId::parse(o)
            && let Some(order) = orders::get(conn, &id).await?
        {
            return Ok(order);
        }
        let found = match input.store.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(s) => {
                let store = codflow_domain::ShopCode::parse(s).map_err(|e| Error::invalid("store", e.to_string()))?;
                orders::get_by_external(conn, &store, o).await?.into_iter().collect()
            }
            None => orders::by_external_any(conn, o).await?,
        };
        match found.len() {
            1 => Ok(found.into_iter().next().expect("one")),
            0 => Err(Error::invalid("order", format!("no order {o:?}: give its id or its number in its shop"))),
            _ => Err(Error::invalid("order", format!("two shops have an order {o:?}: name the store"))),
        }
    }

    /// Attaches a parcel booked elsewhere to its order and starts following it. The same parcel again is a
    /// replay (unchanged); another parcel for an order that has one is refused.
    pub async fn attach_parcel(&self, input: AttachInput, actor: Actor) -> Result<Attached> {
        let mut e = FieldErrors::default();
        let number = tracking_number(&input.tracking_number, &mut e);
        let carrier = e.take("carrier", CarrierCode::parse(input.carrier.trim()));
        let channel = match input.channel.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
            Some(c) => e.take("channel", ChannelCode::parse(c)),
            None => None,
        };
        if let Some(w) = input.weight_g
            && !(1..=1_000_000).contains(&w)
        {
            e.push("weight_g", "grams, 1 to 1000000");
        }
        let fee = match (input.fee.as_deref().map(str::trim).filter(|f| !f.is_empty()), input.fee_currency.as_deref()) {
            (None, _) => None,
            (Some(f), Some(c)) => {
                let cur = e.take("fee_currency", codflow_domain::Currency::parse(c.trim()));
                cur.and_then(|cur| e.take("fee", Money::parse(f, cur)))
            }
            (Some(_), None) => {
                e.push("fee_currency", "required with a fee");
                None
            }
        };
        let (Some(number), Some(carrier)) = (number, carrier) else { return Err(Error::Invalid(e)) };
        if !e.is_empty() {
            return Err(Error::Invalid(e));
        }
        let mut tx = self.store.begin().await?;
        // Who follows it: the carrier's own connector when this server has one set up for it, else 17TRACK.
        let has_connector = CARRIERS.contains(&carrier.as_str())
            && (self.carriers.of(carrier.as_str()).is_some()
                || !codflow_store::carrier_accounts::list(&mut tx, Some(carrier.as_str())).await?.is_empty());
        let mut aggregators = Vec::new();
        for t in TRACKING_SOURCES {
            if !codflow_store::carrier_accounts::list(&mut tx, Some(t)).await?.is_empty() {
                aggregators.push(t);
            }
        }
        let source = match input.source.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some("carrier") => carrier.to_string(),
            Some(s) if TRACKING_SOURCES.contains(&s) => s.to_owned(),
            Some(s) => {
                let known = TRACKING_SOURCES.join(", ");
                return Err(Error::invalid("source", format!("{s:?} is not a tracking source (carrier, {known})")));
            }
            None if has_connector => carrier.to_string(),
            None => aggregators.first().map_or(track17::CODE, |a| *a).to_owned(),
        };
        if TRACKING_SOURCES.contains(&source.as_str()) && !aggregators.contains(&source.as_str()) {
            return Err(Error::conflict(
                ConflictKind::CarrierNotConfigured,
                format!("codflow has no {carrier} account to follow it; add one, or a 17TRACK or AfterShip account"),
            ));
        }
        let order = self.order_for(&mut tx, &input).await?;
        if let Some(s) = lstore::live_shipment(&mut tx, &order.id).await? {
            if s.tracking_number.as_deref() == Some(number.as_str()) && s.carrier == carrier.as_str() {
                codflow_store::rollback(tx).await?;
                return Ok(Attached { shipment: s, created: false, source });
            }
            return Err(Error::conflict(
                ConflictKind::ShipmentBooked,
                format!("order {} already has shipment {} ({})", order.id, s.id, s.tracking_number.unwrap_or_default()),
            ));
        }
        if matches!(
            order.status,
            OrderStatus::Cancelled | OrderStatus::Closed | OrderStatus::PendingReview | OrderStatus::OnHold
        ) {
            return Err(Error::conflict(
                ConflictKind::IllegalTransition,
                format!("order {} is {}; only approved or allocated orders ship", order.id, order.status.as_str()),
            ));
        }
        let channel = channel
            .or_else(|| order.allocation.as_ref().and_then(|a| a.channel.clone()))
            .unwrap_or_else(|| ChannelCode::parse(EXTERNAL_CHANNEL).expect("a valid code"));
        let cycle = match lstore::channel(&mut tx, &channel).await? {
            Some(c) => c.settlement_cycle_days,
            None => 7,
        };
        let weight = match input.weight_g {
            Some(w) => w,
            None => crate::booking::order_weight(&mut tx, &order).await?,
        };
        let now = self.clock().now();
        let s = Shipment {
            id: codflow_domain::ShipmentId::generate(),
            order_id: order.id.clone(),
            channel: channel.clone(),
            carrier: carrier.to_string(),
            status: BookingStatus::Pending,
            attempts: 0,
            tracking_number: None,
            carrier_ref: None,
            label: None,
            last_error: None,
            weight_g: weight,
            pieces: 1,
            cod: order.cod_amount,
            sort_code: None,
            created_at: now,
            updated_at: now,
            booked_at: None,
        };
        if !lstore::insert_shipment(&mut tx, &s).await? {
            // Another request gave the order a shipment meanwhile: answer as the replay or the conflict it is.
            codflow_store::rollback(tx).await?;
            return Box::pin(self.attach_parcel(input, actor)).await;
        }
        let label = serde_json::json!({"attached": true, "source": source,
                                       "forwarder_fee": fee.map(|m| m.to_string())})
        .to_string();
        let booked = Booked { tracking_number: &number, carrier_ref: &number, label: &label, sort_code: None };
        lstore::mark_booked(&mut tx, &s.id, &booked, now).await?;
        // The tracking row is followed (and its codes mapped) by whoever gives the events.
        let followed = Shipment { carrier: source.clone(), ..s.clone() };
        crate::tracking::start(&mut tx, &followed, &order, &number, cycle, now).await?;
        crate::shop_push::queue_shipped(&mut tx, &order, &s.id, now).await?;
        let mut a = AuditRecord::change("order", order.id.to_string(), "attach_parcel", None, None, actor, now);
        a.reason = Some(format!("attached {carrier} parcel {number} as {} (followed by {source})", s.id));
        orders::insert_audit(&mut tx, &[a]).await?;
        let stored = lstore::shipment(&mut tx, &s.id).await?.ok_or(Error::NotFound("shipment"))?;
        commit(tx).await?;
        if TRACKING_SOURCES.contains(&source.as_str()) {
            self.register_with_aggregator(&source, &number).await;
        }
        Ok(Attached { shipment: stored, created: true, source })
    }

    /// Tells the aggregator to follow a number; a failure is logged, and the first poll registers it again.
    async fn register_with_aggregator(&self, source: &str, number: &str) {
        let carrier = match self.store.read().await {
            Ok(mut conn) => self.carriers.resolve(&mut conn, source, None).await,
            Err(e) => return tracing::warn!(error = %e, "tracking registration"),
        };
        let registered = match carrier {
            Ok(Ok(Carrier::Track17(t))) => t.register(number).await,
            Ok(Ok(Carrier::AfterShip(a))) => a.register(number).await,
            Ok(_) | Err(_) => return,
        };
        if let Err(e) = registered {
            tracing::warn!(number, source, error = %e, "registration failed; the first poll registers it");
        }
    }
}

/// The columns of a forwarder's shipment export codflow reads; the first three are required.
pub const CSV_COLUMNS: [&str; 10] =
    ["tracking_number", "order", "carrier", "store", "source", "channel", "weight_g", "weight_kg", "fee", "currency"];
const MAX_ROWS: usize = 10_000;

/// A line of a file that was not attached, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineError {
    pub line: u64,
    pub field: String,
    pub message: String,
}

/// What a shipment import did.
#[derive(Debug, Default)]
pub struct AttachReport {
    pub attached: Vec<(String, String)>,
    pub unchanged: usize,
    pub errors: Vec<LineError>,
}

/// Kilograms with up to three decimals as grams, without floats.
fn kg_to_g(s: &str) -> Option<i64> {
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if whole.is_empty() || frac.len() > 3 || !whole.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let w: i64 = whole.parse().ok()?;
    let f: i64 = format!("{frac:0<3}").parse().ok()?;
    w.checked_mul(1000)?.checked_add(f)
}

impl Fulfilment {
    /// Attaches every line of a forwarder's shipment export: each line on its own (a bad line is reported by line
    /// and field while the others land); a line already attached is counted unchanged.
    pub async fn attach_csv(&self, bytes: &[u8], actor: Actor) -> Result<AttachReport> {
        use codflow_sheets::csv::{Reader, unneutralised};
        let mut r = Reader::new(bytes, b',').trim(true);
        let header = match r.next_record() {
            Some(Ok(h)) => h.fields,
            Some(Err(e)) => return Err(Error::invalid("file", format!("line {}: {}", e.line, e.message))),
            None => return Err(Error::invalid("file", "line 1: the file is empty")),
        };
        for h in &header {
            if !CSV_COLUMNS.iter().any(|c| h.trim().eq_ignore_ascii_case(c)) {
                return Err(Error::invalid(
                    "file",
                    format!("line 1: unknown column {:?} (the columns are {})", h.trim(), CSV_COLUMNS.join(", ")),
                ));
            }
        }
        let at: Vec<Option<usize>> =
            CSV_COLUMNS.iter().map(|c| header.iter().position(|h| h.trim().eq_ignore_ascii_case(c))).collect();
        if at[..3].iter().any(Option::is_none) {
            return Err(Error::invalid("file", "line 1: the header needs tracking_number, order and carrier"));
        }
        let mut report = AttachReport::default();
        let mut rows = 0usize;
        for rec in r {
            let rec = match rec {
                Ok(rec) => rec,
                Err(e) => {
                    report.errors.push(LineError { line: e.line, field: "file".into(), message: e.message });
                    break;
                }
            };
            rows += 1;
            if rows > MAX_ROWS {
                let message = format!("at most {MAX_ROWS} rows per file");
                report.errors.push(LineError { line: rec.line, field: "file".into(), message });
                break;
            }
            if rec.fields.iter().all(|f| f.trim().is_empty()) {
                continue;
            }
            let cell = |i: usize| {
                at[i]
                    .and_then(|i| rec.fields.get(i))
                    .map(|v| unneutralised(v).trim().to_owned())
                    .filter(|v| !v.is_empty())
            };
            let weight_g = match (cell(6), cell(7)) {
                (Some(g), _) => match g.parse::<i64>() {
                    Ok(g) => Some(g),
                    Err(_) => {
                        report.errors.push(LineError {
                            line: rec.line,
                            field: "weight_g".into(),
                            message: format!("{g:?} is not whole grams"),
                        });
                        continue;
                    }
                },
                (None, Some(kg)) => match kg_to_g(&kg) {
                    Some(g) => Some(g),
                    None => {
                        report.errors.push(LineError {
                            line: rec.line,
                            field: "weight_kg".into(),
                            message: format!("{kg:?} is not kilograms (up to 3 decimals)"),
                        });
                        continue;
                    }
                },
                (None, None) => None,
            };
            let input = AttachInput {
                tracking_number: cell(0).unwrap_or_default(),
                order: cell(1).unwrap_or_default(),
                carrier: cell(2).unwrap_or_default(),
                store: cell(3),
                source: cell(4),
                channel: cell(5),
                weight_g,
                fee: cell(8),
                fee_currency: cell(9),
            };
            match self.attach_parcel(input, actor.clone()).await {
                Ok(a) if a.created => {
                    report.attached.push((a.shipment.order_id.to_string(), a.shipment.id.to_string()))
                }
                Ok(_) => report.unchanged += 1,
                Err(Error::Invalid(fe)) => report.errors.extend(fe.0.into_iter().map(|f| LineError {
                    line: rec.line,
                    field: f.path,
                    message: f.message,
                })),
                Err(Error::Conflict { message, .. }) => {
                    report.errors.push(LineError { line: rec.line, field: "order".into(), message })
                }
                Err(e) => return Err(e),
            }
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::kg_to_g;

    #[test]
    fn kilograms_read_to_grams_exactly() {
        assert_eq!(kg_to_g("1.25"), Some(1250));
        assert_eq!(kg_to_g("0.005"), Some(5));
        assert_eq!(kg_to_g("3"), Some(3000));
        assert_eq!(kg_to_g("1.2345"), None);
        assert_eq!(kg_to_g("-1"), None);
        assert_eq!(kg_to_g("1e3"), None);
        assert_eq!(kg_to_g("99999999999999999999"), None);
    }
}
