//! A carrier's live rate beside the channel's rate card.

use codflow_connectors::carriers::Party;
use codflow_domain::Money;
use codflow_store::catalogue;
use codflow_store::logistics as lstore;

use super::CarrierRate;
use super::worker::amount;
use crate::error::ConflictKind;
use crate::{Error, Fulfilment, Result};

/// A carrier's live price for a parcel beside what the channel's rate card says, so finance can catch a
/// card that drifted from the carrier's tariff before the freight invoice does.
#[derive(Clone, Debug)]
pub struct CarrierQuote {
    pub channel: codflow_domain::ChannelCode,
    pub carrier: String,
    pub rate: CarrierRate,
    /// The card's shipping charges (everything but duties and taxes) when the channel can take the parcel.
    pub card_shipping: Option<Money>,
}

impl Fulfilment {
    /// Asks the channel's carrier to price the quote request, shipping from `warehouse` (or the first
    /// warehouse by code).
    pub async fn carrier_quote(
        &self,
        channel: &str,
        warehouse: Option<&str>,
        input: &crate::logistics::QuoteInput,
    ) -> Result<CarrierQuote> {
        use codflow_connectors::carriers::{Piece, RateQuoter, RateRequest};
        let code = codflow_domain::ChannelCode::parse(channel).map_err(|e| Error::invalid("channel", e.to_string()))?;
        let ours = self.quote(input).await?;
        let mut conn = self.store.read().await?;
        let ch = lstore::channel(&mut conn, &code).await?.ok_or(Error::NotFound("channel"))?;
        let (req, _) = input
            .parse(crate::logistics::settings(&mut conn).await?.incoterm, self.clock().now().date())
            .map_err(Error::Invalid)?;
        let wh = match warehouse {
            Some(w) => {
                let w =
                    codflow_domain::WarehouseCode::parse(w).map_err(|e| Error::invalid("warehouse", e.to_string()))?;
                catalogue::warehouse_by_code(&mut conn, &w).await?.ok_or(Error::NotFound("warehouse"))?
            }
            None => {
                catalogue::warehouses(&mut conn, None, 1).await?.into_iter().next().ok_or_else(|| Error::Conflict {
                    kind: ConflictKind::NoWarehouse,
                    message: "create a warehouse to ship from first".into(),
                })?
            }
        };
        let carrier = match self.carriers.resolve(&mut conn, &ch.carrier, ch.carrier_account.as_ref()).await? {
            Ok(c) => c,
            Err(e) => {
                return Err(Error::Conflict {
                    kind: ConflictKind::CarrierNotConfigured,
                    message: format!("carrier {} of channel {code}: {e}", ch.carrier),
                });
            }
        };
        drop(conn);
        let d = &req.destination;
        let rate_req = RateRequest {
            service: ch.service.clone(),
            origin: Party {
                name: wh.name.clone(),
                city: wh.name.clone(),
                country: wh.country.to_string(),
                ..Party::default()
            },
            destination: Party {
                city: d.city.clone().unwrap_or_default(),
                region: d.region.clone(),
                postal_code: d.postal_code.clone(),
                country: d.country.to_string(),
                ..Party::default()
            },
            pieces: req
                .parcels
                .iter()
                .map(|p| Piece {
                    weight_g: p.weight_g,
                    dims_mm: (p.length_cm > 0 && p.width_cm > 0 && p.height_cm > 0)
                        .then(|| [p.length_cm * 10, p.width_cm * 10, p.height_cm * 10]),
                })
                .collect(),
            cod: req.cod.map(amount),
            currency: ch.card.currency.to_string(),
        };
        let rate = carrier.rate(&rate_req).await.map_err(|e| Error::Conflict {
            kind: if e.retryable() { ConflictKind::CarrierUnavailable } else { ConflictKind::CarrierRefused },
            message: e.to_string(),
        })?;
        let card_shipping = ours.ranking.ranked.iter().find(|r| r.quote.channel == code).map(|r| {
            let b = &r.quote.breakdown;
            Money::new(b.total() - b.duties - b.taxes, r.quote.currency)
        });
        Ok(CarrierQuote { channel: code, carrier: ch.carrier.clone(), rate, card_shipping })
    }
}
