//! The route of a refused parcel abroad: re-import it, hold it in a return warehouse in the destination
//! country (where allocation ships that country's orders from it first), or liquidate it — weighed from the
//! goods' cost, the freight back, the duties a new parcel would pay again and the country's demand, in the
//! base currency, and the decision recorded on the return.

use codflow_domain::returns::{self, Route, RouteAdvice, RouteFacts, RouteSettings};
use codflow_domain::{Actor, AuditRecord, Currency, Money, ReturnId, Sku};
use codflow_store::{catalogue, commit, logistics as lstore, orders, returns as rtstore, review as rstore};
use time::Duration;

use crate::error::ConflictKind;
use crate::{Error, Finance, Result};

/// A route's advice with what it was weighed from.
#[derive(Clone, Debug)]
pub struct RouteView {
    pub base: Currency,
    pub facts: RouteFacts,
    pub advice: RouteAdvice,
    pub decided: Option<Route>,
}

const ROUTE_SETTINGS: &str = "return_route";

impl Finance {
    /// The liquidator's price and the holding cost abroad that routes are weighed with.
    pub async fn route_settings(&self) -> Result<RouteSettings> {
        crate::settings::json_setting(&self.store, ROUTE_SETTINGS).await
    }

    pub async fn set_route_settings(&self, s: RouteSettings, actor: Actor) -> Result<RouteSettings> {
        s.check().map_err(Error::Invalid)?;
        crate::settings::put_json_setting(&self.store, ROUTE_SETTINGS, &s, &actor, self.clock().now()).await?;
        Ok(s)
    }

    pub async fn return_route(&self, id: &ReturnId) -> Result<RouteView> {
        let base = self.review.base_currency().await?;
        let settings = self.route_settings().await?;
        let now = self.clock().now();
        let mut conn = self.store.read().await?;
        let ret = rtstore::get(&mut conn, id).await?.ok_or(Error::NotFound("return"))?;
        let order = orders::get(&mut conn, &ret.order_id).await?.ok_or(Error::NotFound("order"))?;
        let rates = rstore::rates(&mut conn).await?;
        let day = now.date();
        let to_base = |m: Money| {
            crate::finance::convert_either(&rates, m, base, day).map(|c| c.minor).ok_or_else(|| Error::Conflict {
                kind: ConflictKind::NoExchangeRate,
                message: format!(
                    "no exchange rate between {} and {base} on {day}: enter one to weigh the routes",
                    m.currency
                ),
            })
        };
        let skus: Vec<&Sku> = order.lines.iter().map(|l| &l.sku).collect();
        let products = catalogue::products_by_sku(&mut conn, &skus).await?;
        let mut goods_cost = 0;
        let mut units = 0;
        for l in &order.lines {
            let Some(p) = products.iter().find(|p| p.sku == l.sku) else { continue };
            goods_cost += to_base(p.unit_cost.checked_mul(l.quantity).map_err(Error::from)?)?;
            units += l.quantity;
        }
        let channels = lstore::channels(&mut conn).await?;
        let quote = crate::profit::order_quote(&order, |code| {
            channels.iter().find(|c| c.code.as_str() == code).map(|c| c.card.return_bp)
        })
        .unwrap_or_default();
        let since = now - Duration::days(30);
        let local_demand = rtstore::units_ordered(&mut conn, &ret.country, &skus, since).await?;
        let holding_cost = match settings.holding_currency {
            Some(c) if settings.holding_cost_minor > 0 => to_base(Money::new(settings.holding_cost_minor, c))?,
            _ => 0,
        };
        let facts = RouteFacts {
            goods_cost,
            return_freight: quote.return_freight,
            duties_again: quote.duties_taxes,
            units,
            // This parcel's own order is not demand for its goods.
            local_demand: (local_demand - units).max(0),
            liquidation_bp: settings.liquidation_bp,
            holding_cost,
        };
        Ok(RouteView { base, advice: returns::advise(&facts), facts, decided: ret.route })
    }

    /// Records the route chosen for a return (it may differ from the advice); a closed one keeps its route.
    pub async fn decide_return_route(&self, id: &ReturnId, route: Route, actor: Actor) -> Result<RouteView> {
        let view = self.return_route(id).await?;
        let now = self.clock().now();
        let mut tx = self.store.begin().await?;
        let ret = rtstore::get(&mut tx, id).await?.ok_or(Error::NotFound("return"))?;
        if matches!(ret.status, returns::ReturnStatus::Closed) {
            return Err(Error::Conflict {
                kind: ConflictKind::IllegalTransition,
                message: format!("return {} is closed: its goods were graded already", ret.tracking_number),
            });
        }
        rtstore::set_route(&mut tx, id, route, now).await?;
        let mut a =
            AuditRecord::change("return", id.to_string(), "route", None, Some(route.as_str().into()), actor, now);
        let values: Vec<String> =
            view.advice.values.iter().map(|(r, v)| format!("{r} {}", Money::new(*v, view.base))).collect();
        a.reason = Some(format!("advised {} ({})", view.advice.route, values.join(", ")));
        orders::insert_audit(&mut tx, &[a]).await?;
        commit(tx).await?;
        Ok(RouteView { decided: Some(route), ..view })
    }
}
