//! The buyer's statement on a claim: finance makes a signed, expiring link for the buyer (sent by whatever
//! channel reaches them); the buyer's page says what the claim is about and takes their account of it, their
//! typed name as signature and up to four photos. Once per claim; it joins the evidence pack.

use codflow_domain::claims::{self, BuyerStatement, MAX_STATEMENT_PHOTOS};
use codflow_domain::{Actor, ClaimId};
use codflow_store::claims as cstore;
use codflow_store::{commit, orders};
use time::{Duration, OffsetDateTime};

use crate::claims::{audit, not_found};
use crate::error::ConflictKind;
use crate::floor::MAX_PHOTO_BYTES;
use crate::floor::returns::image_type;
use crate::tracking_messages::{LinkError, link_secret, sign_claim_link, verify_claim_link};
use crate::{Error, Finance, Result};

/// How long a statement link stays open.
pub const STATEMENT_LINK_DAYS: i64 = 14;

/// What the buyer's page shows.
#[derive(Clone, Debug)]
pub struct StatementPage {
    pub claim: ClaimId,
    pub language: &'static str,
    pub order_ref: String,
    pub tracking_number: String,
    pub reason: claims::ClaimReason,
    /// Set once the buyer has answered.
    pub answered: Option<BuyerStatement>,
}

/// What the buyer sent: their words, name, the box ticked, and each photo's bytes.
#[derive(Clone, Debug, Default)]
pub struct StatementInput {
    pub description: String,
    pub signed_name: String,
    pub confirmed: bool,
    pub photos: Vec<Vec<u8>>,
}

fn link_error(e: LinkError) -> Error {
    match e {
        LinkError::Invalid => Error::Unauthorized,
        LinkError::Expired => {
            Error::Conflict { kind: ConflictKind::LinkExpired, message: "this link has expired".into() }
        }
    }
}

fn closed(c: &cstore::Claim) -> Error {
    Error::Conflict {
        kind: ConflictKind::ClaimNotAllowed,
        message: format!("claim {} is {}: it takes no more statements", c.id, c.status),
    }
}

impl Finance {
    /// A signed address (`{public_base_url}/claim-statement/{token}`) for the buyer to give their account, valid
    /// [`STATEMENT_LINK_DAYS`]; only while the claim is open and has no statement yet.
    pub async fn claim_statement_link(&self, id: &ClaimId, actor: Actor) -> Result<(String, OffsetDateTime)> {
        let now = self.clock().now();
        let mut tx = self.store.begin().await?;
        let c = cstore::get(&mut tx, id).await?.ok_or(not_found())?;
        if !c.status.is_open() {
            return Err(closed(&c));
        }
        if cstore::statement(&mut tx, id).await?.is_some() {
            return Err(Error::Conflict {
                kind: ConflictKind::AlreadyAnswered,
                message: format!("the buyer already gave their statement on claim {id}"),
            });
        }
        let secret = link_secret(&mut tx).await?;
        let base = crate::settings::public_url(&mut tx).await?;
        let expires = now + Duration::days(STATEMENT_LINK_DAYS);
        let why = format!("statement link for the buyer, until {}", expires.date());
        orders::insert_audit(&mut tx, &[audit(&c, "statement_link", c.status, why, &actor, now)]).await?;
        commit(tx).await?;
        Ok((format!("{base}/claim-statement/{}", sign_claim_link(&secret, id, expires)), expires))
    }

    pub async fn claim_statement_page(&self, token: &str) -> Result<StatementPage> {
        let mut conn = self.store.read().await?;
        let secret = codflow_store::review::setting(&mut conn, "link_secret").await?.ok_or(Error::Unauthorized)?;
        let id = verify_claim_link(&secret, token, self.clock().now()).map_err(link_error)?;
        let c = cstore::get(&mut conn, &id).await?.ok_or(not_found())?;
        let order = orders::get(&mut conn, &c.order_id).await?.ok_or(Error::NotFound("order"))?;
        Ok(StatementPage {
            claim: id.clone(),
            language: crate::notify::language_for(order.shipping_address.country),
            order_ref: order.external_id,
            tracking_number: c.tracking_number,
            reason: c.reason,
            answered: cstore::statement(&mut conn, &id).await?,
        })
    }

    /// Records the buyer's statement and photos in one transaction; bad fields are named (`description`,
    /// `signed_name`, `confirm`, `photos[i]`) and nothing is kept. A second answer is refused (409); the
    /// first stands.
    pub async fn submit_claim_statement(&self, token: &str, input: StatementInput, language: &str) -> Result<()> {
        let now = self.clock().now();
        let mut errors = match claims::statement_text(&input.description, &input.signed_name, input.confirmed) {
            Ok(_) => codflow_domain::FieldErrors::default(),
            Err(e) => e,
        };
        let photos: Vec<&Vec<u8>> = input.photos.iter().filter(|p| !p.is_empty()).collect();
        if photos.len() > MAX_STATEMENT_PHOTOS {
            errors.push("photos", format!("at most {MAX_STATEMENT_PHOTOS} photos"));
        }
        let mut typed = Vec::new();
        for (i, p) in photos.iter().enumerate() {
            match image_type(p) {
                Some(_) if p.len() > MAX_PHOTO_BYTES => {
                    errors.push(format!("photos[{i}]"), format!("a photo is at most {} MiB", MAX_PHOTO_BYTES >> 20))
                }
                Some(t) => typed.push((t, *p)),
                None => errors.push(format!("photos[{i}]"), "a photo is a JPEG, PNG or WebP image"),
            }
        }
        if !errors.is_empty() {
            return Err(Error::Invalid(errors));
        }
        let (description, signed_name) =
            claims::statement_text(&input.description, &input.signed_name, true).map_err(Error::Invalid)?;
        let mut tx = self.store.begin().await?;
        let secret = link_secret(&mut tx).await?;
        let id = verify_claim_link(&secret, token, now).map_err(link_error)?;
        let c = cstore::get(&mut tx, &id).await?.ok_or(not_found())?;
        if !c.status.is_open() {
            return Err(closed(&c));
        }
        let language = if ["en", "ar", "es", "zh"].contains(&language) { language } else { "en" };
        let s = BuyerStatement {
            description,
            signed_name,
            language: language.to_owned(),
            submitted_at: now,
            photos: typed.len() as i64,
        };
        if !cstore::insert_statement(&mut tx, &id, &s).await? {
            return Err(Error::Conflict {
                kind: ConflictKind::AlreadyAnswered,
                message: "this claim already has the buyer's statement".into(),
            });
        }
        for (n, (content_type, bytes)) in typed.iter().enumerate() {
            use base64::Engine as _;
            let data = base64::engine::general_purpose::STANDARD.encode(bytes);
            cstore::add_photo(&mut tx, &id, n as i64 + 1, content_type, &data).await?;
        }
        let why = format!("buyer's statement signed {:?}, {} photo(s)", s.signed_name, s.photos);
        let buyer = Actor::Worker("buyer".into());
        orders::insert_audit(&mut tx, &[audit(&c, "statement", c.status, why, &buyer, now)]).await?;
        commit(tx).await?;
        Ok(())
    }

    pub async fn claim_statement(&self, id: &ClaimId) -> Result<Option<BuyerStatement>> {
        let mut conn = self.store.read().await?;
        cstore::get(&mut conn, id).await?.ok_or(not_found())?;
        Ok(cstore::statement(&mut conn, id).await?)
    }

    /// The buyer's photo `n` (from 1): its content type and bytes.
    pub async fn claim_statement_photo(&self, id: &ClaimId, n: i64) -> Result<(String, Vec<u8>)> {
        use base64::Engine as _;
        let mut conn = self.store.read().await?;
        let (content_type, data) = cstore::photo(&mut conn, id, n).await?.ok_or(Error::NotFound("photo"))?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(data)
            .map_err(|e| codflow_store::Error::Corrupt(format!("claim photo: {e}")))?;
        Ok((content_type, bytes))
    }
}
