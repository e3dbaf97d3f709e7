//! Pulling orders from the shops that can be pulled (changed since the last pull, with an overlap, page by
//! page within the platform's rate limits) and pushing stock levels to them.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration as StdDuration;

use codflow_connectors::sales::{OrderPull, SalesError, StockPush};
use codflow_domain::ShopCode;
use codflow_domain::shop::Platform;
use codflow_store::{channel_sync as cs, commit, shops as sstore};
use sha2::{Digest, Sha256};
use time::Duration;

use super::Delivery;
use crate::error::ConflictKind;
use crate::shops::{channel_of, hex, puller_of};
use crate::{Channels, Error, Result};

/// A pull starts this long before the newest change it saw, so changes made while it ran are not missed.
const PULL_OVERLAP: Duration = Duration::minutes(10);
/// The first pull of a shop reaches this far back.
const FIRST_PULL: Duration = Duration::days(7);
/// Tries of one page while the shop rate-limits.
const RATE_LIMIT_TRIES: u32 = 6;
const MAX_PAGES: usize = 10_000;

impl Channels {
    /// Pulls every enabled shop that has credentials and a platform that can be pulled.
    pub async fn pull_all(&self) -> Result<BTreeMap<String, PullReport>> {
        let rows = sstore::list(&mut *self.store.read().await?).await?;
        let mut out = BTreeMap::new();
        for r in rows
            .into_iter()
            .filter(|r| r.config.enabled && r.credentials.is_some() && r.config.platform != Platform::Manual)
        {
            out.insert(r.config.code.to_string(), self.pull_shop(&r.config.code).await?);
        }
        Ok(out)
    }

    /// Pulls the orders a shop changed since its last pull into the inbox, then processes them.
    pub async fn pull_shop(&self, code: &ShopCode) -> Result<PullReport> {
        // One pull at a time in this process: two would fetch the same pages and race on the shop's position.
        let _round = self.ctx.pull_round.lock().await;
        let code = code.clone();
        let row = sstore::get(&mut *self.store.read().await?, &code).await?.ok_or(Error::NotFound("store"))?;
        let puller = puller_of(&row, self.sealer().as_deref())
            .map_err(|e| Error::Conflict { kind: ConflictKind::ShopNotPullable, message: e.to_string() })?;
        let mut state = cs::sync_state(&mut *self.store.read().await?, &code).await?;
        let now = self.ctx.clock.now();
        let since = state.pulled_until.map(|t| t - PULL_OVERLAP).unwrap_or(now - FIRST_PULL);
        let mut report = PullReport::default();
        let mut newest = state.pulled_until;
        let mut cursor: Option<String> = None;
        let mut tries = 0u32;
        let outcome: std::result::Result<(), SalesError> = loop {
            if report.pages >= MAX_PAGES {
                break Err(SalesError::Rejected { status: 0, message: format!("stopped after {MAX_PAGES} pages") });
            }
            match puller.orders_page(since, cursor.as_deref()).await {
                Ok(page) => {
                    tries = 0;
                    report.pages += 1;
                    report.orders += page.orders.len();
                    let deliveries: Vec<Delivery> = page
                        .orders
                        .into_iter()
                        .map(|p| {
                            newest = newest.max(p.updated_at);
                            let version = match p.updated_at {
                                Some(t) => (t.unix_timestamp_nanos() / 1000).to_string(),
                                None => hex(&Sha256::digest(&p.body)),
                            };
                            let body = String::from_utf8_lossy(&p.body).into_owned();
                            Delivery::new(
                                code.clone(),
                                "pull",
                                "pull",
                                &format!("pull:{}:{version}", p.external_id),
                                body,
                                now,
                            )
                        })
                        .collect();
                    let mut tx = self.store.begin().await?;
                    report.new += cs::receive(&mut tx, &deliveries).await?.len();
                    commit(tx).await?;
                    match page.next {
                        Some(n) => cursor = Some(n),
                        None => break Ok(()),
                    }
                }
                Err(SalesError::RateLimited { retry_after }) if tries < RATE_LIMIT_TRIES => {
                    tries += 1;
                    report.rate_limited += 1;
                    // The shop said when; otherwise back off 1, 2, 4… seconds.
                    let wait =
                        retry_after.unwrap_or(StdDuration::from_secs(1 << (tries - 1))).min(StdDuration::from_secs(60));
                    tokio::time::sleep(wait).await;
                }
                Err(e) => break Err(e),
            }
        };
        state.last_pull_at = Some(now);
        state.pulled_total += report.new as i64;
        match outcome {
            Ok(()) => {
                state.pulled_until = newest;
                state.last_success_at = Some(now);
            }
            Err(e) => {
                // What was stored stands; the next pull starts from the same place.
                state.last_error = Some(e.to_string());
                state.last_error_at = Some(now);
                report.error = Some(e.to_string());
            }
        }
        let mut tx = self.store.begin().await?;
        cs::save_sync(&mut tx, &code, &state).await?;
        commit(tx).await?;
        if report.new > 0 {
            self.process_inbox().await?;
        }
        Ok(report)
    }

    /// Tells each shop that keeps stock in step (Shopify, WooCommerce with updates on) every SKU whose
    /// free quantity changed since it was last told.
    pub async fn push_stock_levels(&self) -> Result<BTreeMap<String, StockReport>> {
        let rows = sstore::list(&mut *self.store.read().await?).await?;
        let mut out = BTreeMap::new();
        let now = self.ctx.clock.now();
        for r in rows.into_iter().filter(|r| r.config.enabled && r.config.push_fulfilment && r.credentials.is_some()) {
            let Ok(channel) = channel_of(&r, self.sealer().as_deref()) else { continue };
            let code = r.config.code.clone();
            let warehouse = r.config.default_warehouse.as_ref().map(|w| w.to_string());
            let (levels, told) = {
                let mut conn = self.store.read().await?;
                (
                    cs::available_by_sku(&mut conn, warehouse.as_deref()).await?,
                    cs::pushed_stock(&mut conn, &code).await?,
                )
            };
            let told: HashMap<String, (Option<i64>, String)> =
                told.into_iter().map(|(s, p, st)| (s, (p, st))).collect();
            let mut rep = StockReport::default();
            for (sku, available) in levels {
                let known = told.get(&sku);
                if known.is_some_and(|(p, st)| *p == Some(available) && st != "failed") {
                    continue;
                }
                let result = channel.set_stock(&sku, available).await;
                let mut tx = self.store.begin().await?;
                let stop = match &result {
                    Ok(true) => {
                        rep.pushed += 1;
                        cs::save_stock(&mut tx, &code, &sku, Some(available), "ok", None, now).await?;
                        false
                    }
                    Ok(false) => {
                        rep.unknown += 1;
                        cs::save_stock(&mut tx, &code, &sku, Some(available), "unknown_sku", None, now).await?;
                        false
                    }
                    Err(e) => {
                        rep.failed += 1;
                        let prev = known.and_then(|(p, _)| *p);
                        cs::save_stock(&mut tx, &code, &sku, prev, "failed", Some(&e.to_string()), now).await?;
                        // A shop that rate-limits or is down gets the rest next round.
                        matches!(
                            e,
                            SalesError::RateLimited { .. } | SalesError::Unavailable(_) | SalesError::Timeout(_)
                        )
                    }
                };
                commit(tx).await?;
                if stop {
                    break;
                }
            }
            out.insert(code.to_string(), rep);
        }
        Ok(out)
    }
}

/// One shop's pull: how many orders it saw, how many were new, and the error it stopped on, if any.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PullReport {
    pub pages: usize,
    pub orders: usize,
    pub new: usize,
    pub rate_limited: u32,
    pub error: Option<String>,
}

/// What a stock push did for one shop.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StockReport {
    pub pushed: usize,
    pub unknown: usize,
    pub failed: usize,
}
