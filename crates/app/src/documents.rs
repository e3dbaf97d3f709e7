//! Labels for booked shipments, from the shipment, its order, warehouse and channel.

use codflow_documents::{Address, LabelData, zpl_batch};
use codflow_store::logistics::{self as lstore, BookingStatus, Shipment};
use codflow_store::{catalogue, orders, review as rstore};

use crate::{App, Error, Result};

/// Where the public tracking page lives until a deployment sets `public_base_url`.
const DEFAULT_PUBLIC_URL: &str = "http://localhost:8080";

impl App {
    /// What a booked shipment's label shows.
    pub async fn label_data(&self, s: &Shipment) -> Result<LabelData> {
        let tracking = match (s.status, &s.tracking_number) {
            (BookingStatus::Booked, Some(t)) => t.clone(),
            _ => {
                return Err(Error::Conflict {
                    code: "not_booked",
                    message: format!("shipment {} is {}; only booked shipments have labels", s.id, s.status.as_str()),
                });
            }
        };
        let mut conn = self.store.read().await?;
        let order = orders::get(&mut conn, &s.order_id).await?.ok_or(Error::NotFound("order"))?;
        let channel = lstore::channel(&mut conn, &s.channel).await?;
        let wh = match order.allocation.as_ref() {
            Some(a) => catalogue::warehouse_by_code(&mut conn, &a.warehouse).await?,
            None => None,
        };
        let base = rstore::setting(&mut conn, "public_base_url").await?.unwrap_or_else(|| DEFAULT_PUBLIC_URL.into());
        let a = &order.shipping_address;
        Ok(LabelData {
            tracking_url: format!("{}/t/{tracking}", base.trim_end_matches('/')),
            tracking_number: tracking,
            sender: Address {
                name: wh.as_ref().map_or_else(|| "Warehouse".into(), |w| w.name.clone()),
                line1: wh.as_ref().map_or_else(String::new, |w| w.code.to_string()),
                city: wh.as_ref().map_or_else(String::new, |w| w.name.clone()),
                country: wh.as_ref().map_or_else(String::new, |w| w.country.to_string()),
                ..Address::default()
            },
            recipient: Address {
                name: a.name.clone(),
                phone: Some(a.phone.as_ref().unwrap_or(&order.buyer.phone).as_str().to_owned()),
                line1: a.line1.clone(),
                line2: a.line2.clone(),
                city: a.city.clone(),
                region: a.region.clone(),
                postal_code: a.postal_code.clone(),
                country: a.country.to_string(),
            },
            carrier: s.carrier.clone(),
            channel: s.channel.to_string(),
            service: channel.map_or_else(String::new, |c| c.service),
            weight_g: s.weight_g,
            piece: (1, s.pieces.max(1) as u32),
            cod: (s.cod.minor > 0).then(|| format!("{} {}", s.cod.currency, s.cod.amount_string())),
            ddp: true,
            sort_code: s.sort_code.clone(),
            order_ref: format!("{} / {}", order.external_id, order.id),
            date: s.booked_at.unwrap_or(s.created_at).date().to_string(),
        })
    }

    /// One ZPL stream for the shipments, in the order given.
    pub async fn labels_zpl(&self, ids: &[String]) -> Result<String> {
        let mut labels = Vec::with_capacity(ids.len());
        for s in self.shipments_by_id(ids).await? {
            labels.push(self.label_data(&s).await?);
        }
        Ok(zpl_batch(&labels))
    }
}
