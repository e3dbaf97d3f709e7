//! The seller's shops and what codflow tells them: a parcel shipped (tracking number and link) and delivered.
//! Updates wait in an outbox written in the same transaction as the booking or the delivery, and a pusher
//! sends them with retries, honouring the shop's rate limits.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration as StdDuration;

use codflow_connectors::sales::amazon::{Amazon, AmazonCredentials};
use codflow_connectors::sales::ebay::Ebay;
use codflow_connectors::sales::magento::Magento;
use codflow_connectors::sales::{Fulfilment, FulfilmentPush, Puller, SalesChannel, SalesError, Shopify, WooCommerce};
use codflow_domain::shop::{Platform, ShopConfig, ShopInput};
pub use codflow_domain::work::{Push, PushEvent, SendStatus as PushStatus};
use codflow_domain::{Actor, AuditRecord, PushId, ShopCode};
use codflow_store::logistics as lstore;
pub use codflow_store::shops::PushFilter;
use codflow_store::shops::{self as sstore, ShopRow};
use codflow_store::{Conn, Store, commit, orders};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use time::{Duration, OffsetDateTime};

use crate::error::ConflictKind;
use crate::{Channels, Error, Result};

/// Seals secrets at rest with AES-256-GCM under a key the database never holds. The associated data binds
/// a sealed value to its store and field, so a value copied onto another row does not open.
pub struct Sealer(LessSafeKey);

const SEALED_PREFIX: &str = "v1:";

impl Sealer {
    pub fn new(key: &[u8; 32]) -> Sealer {
        // A 32-byte key is always accepted by AES-256.
        Sealer(LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).expect("AES-256 takes a 32-byte key")))
    }

    /// A key from 64 hex characters (surrounding whitespace ignored).
    pub fn from_hex(text: &str) -> Option<Sealer> {
        let bytes = codflow_connectors::decode_hex(text.trim())?;
        let key: [u8; 32] = bytes.try_into().ok()?;
        Some(Sealer::new(&key))
    }

    /// A fresh random key as 64 hex characters, for a key file.
    pub fn generate_hex() -> String {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).expect("the OS random source");
        hex(&key)
    }

    pub fn seal(&self, plain: &str, context: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).expect("the OS random source");
        let mut buf = plain.as_bytes().to_vec();
        self.0
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(context.as_bytes()), &mut buf)
            .expect("AES-GCM seals any message shorter than 64 GiB");
        let mut out = nonce.to_vec();
        out.extend(buf);
        format!("{SEALED_PREFIX}{}", hex(&out))
    }

    /// None when the value was sealed under another key, for another context, or was altered.
    pub fn open(&self, sealed: &str, context: &str) -> Option<String> {
        let bytes = codflow_connectors::decode_hex(sealed.strip_prefix(SEALED_PREFIX)?)?;
        if bytes.len() < NONCE_LEN {
            return None;
        }
        let (nonce, body) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut buf = body.to_vec();
        let plain = self.0.open_in_place(nonce, Aad::from(context.as_bytes()), &mut buf).ok()?;
        String::from_utf8(plain.to_vec()).ok()
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    codflow_domain::text::hex(bytes)
}

pub(crate) fn context(code: &ShopCode, field: &str) -> String {
    format!("store:{code}:{field}")
}

/// A shop as the API shows it: whether it has secrets, never what they are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShopView {
    pub config: ShopConfig,
    pub has_credentials: bool,
    pub has_webhook_secret: bool,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl From<ShopRow> for ShopView {
    fn from(r: ShopRow) -> Self {
        ShopView {
            has_credentials: r.credentials.is_some(),
            has_webhook_secret: r.webhook_secret.is_some(),
            config: r.config,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

pub struct OrderFollowUp {
    pub ndr: Vec<codflow_store::tracking::NdrRequest>,
    /// Oldest first.
    pub pushes: Vec<Push>,
}

/// After this many attempts a failing update waits for a person (`POST .../retry`).
pub const MAX_PUSH_ATTEMPTS: i64 = 10;
const PUSH_LEASE: Duration = Duration::seconds(120);
const PUSH_BATCH: i64 = 20;

/// The wait after the `attempts`-th failed attempt (counted from 1): 30 s, then doubling, at most 6 h.
fn push_backoff(attempts: i64) -> Duration {
    Duration::seconds((30 * (1i64 << (attempts - 1).clamp(0, 10))).min(6 * 3600))
}

/// A shop's credentials, opened.
pub(crate) fn open_credentials(
    row: &ShopRow,
    sealer: Option<&Sealer>,
) -> std::result::Result<BTreeMap<String, String>, SalesError> {
    let c = &row.config;
    if !c.enabled {
        return Err(SalesError::Config(format!("store {} is disabled", c.code)));
    }
    let sealed =
        row.credentials.as_deref().ok_or_else(|| SalesError::Config(format!("store {} has no credentials", c.code)))?;
    let sealer = sealer.ok_or_else(|| {
        SalesError::Config("this process has no secret key (CODFLOW_SECRET_KEY or --secret-key-file)".into())
    })?;
    let plain = sealer.open(sealed, &context(&c.code, "credentials")).ok_or_else(|| {
        SalesError::Config(format!("store {}'s credentials do not open with this process's secret key", c.code))
    })?;
    serde_json::from_str(&plain).map_err(|e| SalesError::Config(format!("store {} credentials: {e}", c.code)))
}

const SHOP_TIMEOUT: StdDuration = StdDuration::from_secs(20);

/// Builds the platform client of a shop, opening its credentials.
pub(crate) fn channel_of(row: &ShopRow, sealer: Option<&Sealer>) -> std::result::Result<SalesChannel, SalesError> {
    let c = &row.config;
    let creds = open_credentials(row, sealer)?;
    let get = |k: &str| creds.get(k).map(String::as_str).unwrap_or("");
    let base = c.base_url.as_deref().unwrap_or("");
    match c.platform {
        Platform::Shopify => {
            let location = creds.get("location_id").and_then(|l| l.trim().parse().ok());
            Ok(SalesChannel::Shopify(Shopify::new(base, get("access_token"), SHOP_TIMEOUT)?.at_location(location)))
        }
        Platform::WooCommerce => Ok(SalesChannel::WooCommerce(WooCommerce::new(
            base,
            get("consumer_key"),
            get("consumer_secret"),
            SHOP_TIMEOUT,
        )?)),
        p => {
            Err(SalesError::Config(format!("store {} is a {} store: codflow does not write to it", c.code, p.as_str())))
        }
    }
}

/// Builds the client that pulls a shop's orders.
pub(crate) fn puller_of(row: &ShopRow, sealer: Option<&Sealer>) -> std::result::Result<Puller, SalesError> {
    let c = &row.config;
    let creds = open_credentials(row, sealer)?;
    let get = |k: &str| creds.get(k).map(String::as_str).unwrap_or("");
    let opt = |k: &str| creds.get(k).map(String::as_str).filter(|v| !v.trim().is_empty());
    let base = c.base_url.as_deref().unwrap_or("");
    Ok(match c.platform {
        Platform::Shopify | Platform::WooCommerce => match channel_of(row, sealer)? {
            SalesChannel::Shopify(s) => Puller::Shopify(s),
            SalesChannel::WooCommerce(w) => Puller::WooCommerce(w),
        },
        Platform::Magento => Puller::Magento(Magento::new(base, get("access_token"), SHOP_TIMEOUT)?),
        Platform::Amazon => Puller::Amazon(Amazon::new(
            base,
            AmazonCredentials {
                refresh_token: get("refresh_token"),
                client_id: get("client_id"),
                client_secret: get("client_secret"),
                marketplace_id: get("marketplace_id"),
                token_url: opt("token_url"),
            },
            SHOP_TIMEOUT,
        )?),
        Platform::Ebay => Puller::Ebay(Ebay::new(
            base,
            get("refresh_token"),
            get("client_id"),
            get("client_secret"),
            opt("token_url"),
            SHOP_TIMEOUT,
        )?),
        Platform::Manual => return Err(SalesError::Config(format!("store {} is a manual store", c.code))),
    })
}

/// What one update's attempt came to.
enum Outcome {
    Sent(Option<String>, bool),
    Failed(SalesError),
}

/// Claims due updates and sends them; returns how many it took.
pub(crate) async fn push_due(store: &Store, sealer: Option<&Sealer>, now: OffsetDateTime) -> Result<usize> {
    let claimed = {
        let mut tx = store.begin().await?;
        let c = sstore::claim_due(&mut tx, now, now + PUSH_LEASE, PUSH_BATCH).await?;
        commit(tx).await?;
        c
    };
    if claimed.is_empty() {
        return Ok(0);
    }
    let mut conn = store.read().await?;
    let public_url = crate::settings::public_url(&mut conn).await?;
    let shops: HashMap<String, ShopRow> =
        sstore::list(&mut conn).await?.into_iter().map(|r| (r.config.code.to_string(), r)).collect();
    let mut clients: HashMap<String, std::result::Result<SalesChannel, SalesError>> = HashMap::new();
    let mut work = Vec::with_capacity(claimed.len());
    for p in claimed {
        let client = clients
            .entry(p.store.to_string())
            .or_insert_with(|| match shops.get(p.store.as_str()) {
                Some(row) => channel_of(row, sealer),
                None => Err(SalesError::Config(format!("store {} no longer exists", p.store))),
            })
            .clone();
        let f = fulfilment(&mut conn, &p, &public_url).await?;
        work.push((p, client, f));
    }
    drop(conn);
    let n = work.len();
    let attempts = work.into_iter().map(|(p, client, f)| async move {
        let out = match (client, f) {
            (Err(e), _) => Outcome::Failed(e),
            (_, Err(e)) => Outcome::Failed(e),
            (Ok(c), Ok(f)) => {
                let r = match p.event {
                    PushEvent::Shipped => c.shipped(&f).await,
                    PushEvent::Delivered => c.delivered(&f).await,
                };
                match r {
                    Ok(receipt) => Outcome::Sent(receipt.remote_ref, receipt.already_there),
                    Err(e) => Outcome::Failed(e),
                }
            }
        };
        (p, out)
    });
    let results = futures::future::join_all(attempts).await;
    let mut tx = store.begin().await?;
    let at = now;
    let mut audits = Vec::with_capacity(results.len());
    for (p, out) in results {
        let worker = Actor::Worker("channel-push".into());
        let mut a = AuditRecord::change("order", p.order_id.to_string(), "", None, None, worker, at);
        match out {
            Outcome::Sent(remote, already) => {
                sstore::mark_sent(&mut tx, &p.id, remote.as_deref(), at).await?;
                a.action = "channel_pushed".into();
                a.reason = Some(format!(
                    "told store {} that shipment {} was {}{}",
                    p.store,
                    p.shipment_id,
                    p.event.as_str(),
                    if already { " (the store had it already)" } else { "" }
                ));
            }
            Outcome::Failed(e) => {
                let retry = e.retryable() && p.attempts < MAX_PUSH_ATTEMPTS;
                let wait = push_backoff(p.attempts)
                    .max(e.retry_after().map(|d| Duration::seconds_f64(d.as_secs_f64())).unwrap_or(Duration::ZERO));
                let retry_at = retry.then(|| now + wait);
                let msg = if retry {
                    format!("{e}; attempt {} of {MAX_PUSH_ATTEMPTS}, next in {} s", p.attempts, wait.whole_seconds())
                } else {
                    format!("{e}; gave up after {} attempt(s), retry it once fixed", p.attempts)
                };
                sstore::mark_failed(&mut tx, &p.id, &msg, retry_at, now).await?;
                if retry {
                    continue;
                }
                a.action = "channel_push_failed".into();
                a.reason = Some(format!(
                    "store {} {} update for shipment {}: {msg}",
                    p.store,
                    p.event.as_str(),
                    p.shipment_id
                ));
            }
        }
        audits.push(a);
    }
    orders::insert_audit(&mut tx, &audits).await?;
    commit(tx).await?;
    Ok(n)
}

/// What the shop is told about one update's parcel.
async fn fulfilment(
    conn: &mut Conn,
    p: &Push,
    public_url: &str,
) -> Result<std::result::Result<Fulfilment, SalesError>> {
    let order = orders::get(conn, &p.order_id).await?.ok_or(Error::NotFound("order"))?;
    let s = lstore::shipment(conn, &p.shipment_id).await?.ok_or(Error::NotFound("shipment"))?;
    let Some(tn) = s.tracking_number else {
        return Ok(Err(SalesError::Config(format!("shipment {} has no tracking number", s.id))));
    };
    Ok(Ok(Fulfilment {
        order_ref: order.external_id.clone(),
        tracking_url: format!("{}/track/{tn}", public_url.trim_end_matches('/')),
        tracking_number: tn,
        company: codflow_connectors::carriers::company(&s.carrier).to_owned(),
        at: p.event_at,
    }))
}

pub(crate) async fn run_pusher(
    store: Store,
    sealer: Option<Arc<Sealer>>,
    ctx: Arc<crate::runtime::Ctx>,
    mut stop: crate::workers::Stop,
) {
    while !stop.requested() {
        match push_due(&store, sealer.as_deref(), ctx.clock.now()).await {
            Ok(n) if n > 0 => continue,
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "sales channel pusher"),
        }
        if stop.pause(StdDuration::from_secs(2), Some(&ctx.push)).await {
            break;
        }
    }
}

impl Channels {
    pub(crate) fn sealer(&self) -> Option<Arc<Sealer>> {
        self.sealer.clone()
    }

    /// Starts the worker that sends queued sales-channel updates; must be called inside a tokio runtime.
    pub fn start_channel_pusher(&self) {
        let (store, sealer, ctx) = (self.store.clone(), self.sealer(), self.ctx.clone());
        self.ctx.workers.spawn("shop updates", move |stop| run_pusher(store, sealer, ctx, stop));
    }

    /// Sends what is due now, once (tests and the CLI drive the pusher with it).
    pub async fn push_channel_updates(&self) -> Result<usize> {
        push_due(&self.store, self.sealer().as_deref(), self.ctx.clock.now()).await
    }

    /// Creates a shop (`path_code` None: 409 when the code exists) or creates/updates the one in the path.
    /// Returns the shop and whether it was created.
    pub async fn put_shop(&self, path_code: Option<&str>, input: ShopInput, actor: Actor) -> Result<(ShopView, bool)> {
        let mut tx = self.store.begin().await?;
        let wanted = path_code.map(str::to_owned).or_else(|| input.code.clone()).unwrap_or_default();
        let existing = match ShopCode::parse(wanted.trim()) {
            Ok(c) => sstore::get(&mut tx, &c).await?,
            Err(_) => None,
        };
        if path_code.is_none()
            && let Some(x) = &existing
        {
            return Err(Error::Conflict {
                kind: ConflictKind::ShopExists,
                message: format!("store {} exists; PUT /api/v1/stores/{} to change it", x.config.code, x.config.code),
            });
        }
        let change = input
            .validate(
                path_code,
                existing.as_ref().map(|x| &x.config),
                existing.as_ref().is_some_and(|x| x.credentials.is_some()),
            )
            .map_err(Error::Invalid)?;
        let needs_key = change.credentials.is_some() || change.webhook_secret.is_some();
        let sealer = self.sealer();
        let sealer = match (needs_key, sealer.as_deref()) {
            (true, None) => {
                return Err(Error::Conflict {
                    kind: ConflictKind::NoSecretKey,
                    message: "this server has no secret key to seal credentials with; set CODFLOW_SECRET_KEY or \
                              --secret-key-file"
                        .into(),
                });
            }
            (_, s) => s,
        };
        let code = change.config.code.clone();
        let credentials = match (&change.credentials, sealer) {
            (Some(c), Some(k)) => {
                Some(k.seal(&serde_json::to_string(c).unwrap_or_default(), &context(&code, "credentials")))
            }
            _ => None,
        };
        let webhook_secret = match (&change.webhook_secret, sealer) {
            (Some(s), Some(k)) => Some(k.seal(s, &context(&code, "webhook_secret"))),
            _ => None,
        };
        let now = self.clock().now();
        let row = ShopRow {
            config: change.config,
            credentials,
            webhook_secret,
            created_at: existing.as_ref().map_or(now, |x| x.created_at),
            updated_at: now,
        };
        sstore::put(&mut tx, &row).await?;
        let created = existing.is_none();
        let mut changed: Vec<&str> = Vec::new();
        if change.credentials.is_some() {
            changed.push("credentials");
        }
        if change.webhook_secret.is_some() {
            changed.push("webhook secret");
        }
        let mut a = AuditRecord::change(
            "store",
            code.to_string(),
            if created { "create" } else { "update" },
            None,
            None,
            actor,
            now,
        );
        // The audit names which secrets changed, never their values.
        a.reason = (!changed.is_empty()).then(|| format!("set {}", changed.join(" and ")));
        orders::insert_audit(&mut tx, &[a]).await?;
        let stored = sstore::get(&mut tx, &code).await?.ok_or(Error::NotFound("store"))?;
        commit(tx).await?;
        Ok((stored.into(), created))
    }

    pub async fn shops(&self) -> Result<Vec<ShopView>> {
        Ok(sstore::list(&mut *self.store.read().await?).await?.into_iter().map(ShopView::from).collect())
    }

    pub async fn shop_view(&self, code: &ShopCode) -> Result<ShopView> {
        let code = code.clone();
        let row = sstore::get(&mut *self.store.read().await?, &code).await?.ok_or(Error::NotFound("store"))?;
        Ok(row.into())
    }

    /// The shop's webhook secret, opened (for the webhook receivers).
    pub async fn shop_webhook_secret(&self, code: &ShopCode) -> Result<Option<String>> {
        let code = code.clone();
        let row = sstore::get(&mut *self.store.read().await?, &code).await?.ok_or(Error::NotFound("store"))?;
        let (Some(sealed), Some(k)) = (row.webhook_secret, self.sealer()) else { return Ok(None) };
        Ok(k.open(&sealed, &context(&code, "webhook_secret")))
    }

    pub async fn channel_pushes(&self, filter: PushFilter, limit: i64) -> Result<(Vec<Push>, Option<String>)> {
        let rows = sstore::list_pushes(&mut *self.store.read().await?, &filter, limit).await?;
        Ok(crate::split_page(rows, limit, |p| p.id.to_string()))
    }

    /// What happened to an order after it shipped, beside its timeline: the buyer's answers to failed
    /// deliveries (and what the carrier said to them) and the updates owed or made to its shop.
    pub async fn order_follow_up(&self, id: &codflow_domain::OrderId) -> Result<OrderFollowUp> {
        let id = id.clone();
        let mut conn = self.store.read().await?;
        let ndr = codflow_store::tracking::ndr_of_order(&mut conn, &id).await?;
        let f = PushFilter { order: Some(id), ..Default::default() };
        let mut pushes = sstore::list_pushes(&mut conn, &f, 100).await?;
        pushes.reverse();
        Ok(OrderFollowUp { ndr, pushes })
    }

    pub async fn retry_channel_push(&self, id: &PushId) -> Result<()> {
        let id = id.clone();
        let mut tx = self.store.begin().await?;
        let ok = sstore::retry(&mut tx, &id, self.ctx.clock.now()).await?;
        commit(tx).await?;
        if !ok {
            return Err(Error::Conflict {
                kind: ConflictKind::NotDead,
                message: "only an update that gave up can be retried".into(),
            });
        }
        self.ctx.push.notify_one();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_update_is_retried_after_30_s_doubling_up_to_6_hours() {
        let waits: Vec<i64> = (1..=5).map(|a| push_backoff(a).whole_seconds()).collect();
        assert_eq!(waits, [30, 60, 120, 240, 480]);
        assert_eq!(push_backoff(9).whole_seconds(), 7_680);
        assert_eq!(push_backoff(12).whole_seconds(), 6 * 3600);
        assert_eq!(push_backoff(0).whole_seconds(), 30);
    }

    #[test]
    fn a_sealed_secret_opens_only_with_its_key_and_its_context() {
        let k = Sealer::new(&[7; 32]);
        let sealed = k.seal("shpat_secret", "store:a:credentials");
        assert!(!sealed.contains("shpat"));
        assert_eq!(k.open(&sealed, "store:a:credentials").as_deref(), Some("shpat_secret"));
        assert_eq!(k.open(&sealed, "store:b:credentials"), None);
        assert_eq!(Sealer::new(&[8; 32]).open(&sealed, "store:a:credentials"), None);
        let mut tampered = sealed.clone();
        let last = tampered.pop().unwrap();
        tampered.push(if last == '0' { '1' } else { '0' });
        assert_eq!(k.open(&tampered, "store:a:credentials"), None);
        // Two seals of one value differ (fresh nonce), so equal secrets are not visible as equal.
        assert_ne!(sealed, k.seal("shpat_secret", "store:a:credentials"));
    }

    #[test]
    fn a_key_is_read_from_hex_and_a_generated_key_reads_back() {
        assert!(Sealer::from_hex(&Sealer::generate_hex()).is_some());
        assert!(Sealer::from_hex("abc").is_none());
        assert!(Sealer::from_hex(&"0".repeat(62)).is_none());
    }
}
