//! Dashboards: the refresher that keeps their sums up to date with every order change, the figures they
//! show, the carrier scorecard and the recommendations that turn figures into changes (with a preview of
//! each change before it is made).

use std::collections::{BTreeMap, HashMap};
use std::time::Duration as StdDuration;

use codflow_domain::anomaly::AnomalyKind;
use codflow_domain::kpi::{self, Dim, Metrics, Ratio, RecommendationThresholds, ScoreInput, ScoreWeights};
use codflow_domain::review::backtest::{Economics, Report};
use codflow_domain::{Actor, AuditRecord, Order, OrderId, OrderStatus, PaymentMethod, Role, TaskId};
use codflow_store::kpi::{self as kstore};
pub use codflow_store::kpi::{CLEARANCE_DIMS, Filter};
use codflow_store::{Store, commit};
use serde::{Deserialize, Serialize};

use crate::{Error, Insights, Result};

/// Orders refreshed per transaction: small enough that intake waits at most a few milliseconds for the
/// writer, large enough that the per-statement cost is spread.
const BATCH: i64 = 500;

/// The refresher's rest when nothing changed, and while orders keep changing: how long dashboards may lag.
const IDLE: StdDuration = StdDuration::from_millis(500);
const GATHER: StdDuration = StdDuration::from_millis(25);

/// Folds the open-COD deltas the tracking triggers appended into their sums (see store `fold_cod_open`).
async fn fold_cod(store: &Store) -> Result<u64> {
    if !codflow_store::finance::cod_deltas_waiting(&mut *store.read().await?).await? {
        return Ok(0);
    }
    let mut tx = store.begin().await?;
    let n = codflow_store::finance::fold_cod_open(&mut tx).await?;
    commit(tx).await?;
    Ok(n)
}

async fn refresh_batch(store: &Store, now: time::OffsetDateTime, batch: i64) -> Result<usize> {
    let mut tx = store.begin().await?;
    let ids = kstore::take_dirty(&mut tx, batch).await?;
    if ids.is_empty() {
        codflow_store::rollback(tx).await?;
        return Ok(0);
    }
    let settings = crate::tracking::settings(&mut tx).await?;
    let orders = codflow_store::orders::get_many(&mut tx, &ids).await?;
    let mut extras = kstore::extras(&mut tx, &ids).await?;
    let old = kstore::facts(&mut tx, &ids).await?;
    let mut delta = kpi::Delta::default();
    let mut new = Vec::with_capacity(orders.len());
    for o in &orders {
        let extra = extras.remove(o.id.as_str()).unwrap_or_default();
        let snap = snapshot(o, extra);
        let limit = settings.anomaly.for_lane(&snap.country, snap.channel.as_deref().unwrap_or("")).customs_held_hours;
        let f = kpi::fact(&snap, limit, now);
        delta.apply(old.get(o.id.as_str()), &f);
        new.push((o.id.clone(), f));
    }
    delta.prune();
    kstore::apply(&mut tx, &delta, &new).await?;
    // An id queued for an order that no longer exists has nothing to count.
    let found: std::collections::HashSet<&OrderId> = orders.iter().map(|o| &o.id).collect();
    let gone: Vec<OrderId> = ids.iter().filter(|id| !found.contains(id)).cloned().collect();
    kstore::clear_dirty(&mut tx, &gone).await?;
    commit(tx).await?;
    Ok(ids.len())
}

fn snapshot(o: &Order, extra: kstore::Extra) -> kpi::Snapshot {
    let channel = o.allocation.as_ref().and_then(|a| a.channel.as_ref()).map(|c| c.to_string());
    let chosen = o
        .allocation
        .as_ref()
        .and_then(|a| a.choice.as_ref())
        .and_then(|c| c.ranking.iter().find(|r| Some(&r.channel) == channel.as_ref()));
    kpi::Snapshot {
        placed_at: o.placed_at,
        store: o.store.to_string(),
        country: o.shipping_address.country.code().to_owned(),
        region: o.shipping_address.region.clone().unwrap_or_default(),
        carrier: extra.parcel.as_ref().map(|p| p.carrier.clone()),
        channel,
        cod: o.payment_method == PaymentMethod::Cod,
        cancelled: o.status == OrderStatus::Cancelled,
        skus: o.lines.iter().map(|l| (l.sku.to_string(), l.unit_price.minor.saturating_mul(l.quantity))).collect(),
        parcel: extra.parcel.map(|p| kpi::Parcel {
            status: p.status,
            booked_at: p.booked_at,
            picked_up_at: p.picked_up_at,
            delivered_at: p.delivered_at,
            customs: p.customs,
        }),
        delivered: extra.outcome,
        cost_minor: chosen.map(|c| c.total_base_minor).unwrap_or(0),
        profit_minor: chosen.and_then(|c| c.expected_profit_minor).unwrap_or(0),
        tasks: extra.tasks,
    }
}

/// One recommendation: what the figures say, and the change that acts on it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Recommendation {
    /// Refusals of a SKU in a region above the threshold: stop offering COD for it there.
    BlockCod { sku: String, country: String, region: String, refusal: Ratio },
    /// A channel's customs trouble on a lane is a multiple of its peers': demote it.
    LowerPriority { channel: String, country: String, abnormal: Ratio, peers: Ratio },
    /// Delivered COD past the carrier's settlement cycle: dispute it.
    Dispute { carrier: String, currency: String, parcels: i64, amount_minor: i64 },
}

/// How long a recommendation acted on stays off the list: its effect needs that long to show in the figures.
const ACTED_QUIET_DAYS: i64 = 30;

impl Recommendation {
    /// What the recommendation is about, whatever its figures: acting on it twice is acting once.
    pub fn key(&self) -> String {
        match self {
            Recommendation::BlockCod { sku, country, region, .. } => format!("block_cod:{sku}:{country}:{region}"),
            Recommendation::LowerPriority { channel, country, .. } => format!("lower_priority:{country}:{channel}"),
            Recommendation::Dispute { carrier, currency, .. } => format!("dispute:{carrier}:{currency}"),
        }
    }

    pub fn title(&self) -> String {
        match self {
            Recommendation::BlockCod { sku, country, region, refusal } => format!(
                "{sku} is refused {} in {region} ({country}) over {} parcels: stop COD for it there",
                refusal.percent(),
                refusal.n
            ),
            Recommendation::LowerPriority { channel, country, abnormal, peers } => format!(
                "{channel} has customs trouble on {} of its parcels to {country}, against {} for the other channels: lower its priority",
                abnormal.percent(),
                peers.percent()
            ),
            Recommendation::Dispute { carrier, currency, parcels, amount_minor } => {
                let amount = codflow_domain::Currency::parse(currency)
                    .map(|c| codflow_domain::Money::new(*amount_minor, c).to_string())
                    .unwrap_or_else(|_| format!("{amount_minor} {currency}"));
                format!(
                    "{carrier} owes {amount} for {parcels} delivered parcels past its settlement cycle: open a dispute"
                )
            }
        }
    }

    fn rule_input(&self) -> Option<crate::rules::RuleInput> {
        let Recommendation::BlockCod { sku, country, region, .. } = self else { return None };
        let key = format!("{}:{}", country, region.trim()).to_lowercase();
        let q = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
        Some(crate::rules::RuleInput {
            name: Some(format!("Block COD: {sku} in {region} ({country})")),
            priority: Some(50),
            enabled: Some(true),
            condition: Some(format!(
                "order.cod && order.skus.exists(s, s == {}) && dest.region_key == {}",
                q(sku),
                q(&key)
            )),
            action: Some("block_cod".into()),
            reason: Some(format!("{sku} is refused too often in {region} to offer cash on delivery")),
            notify: None,
        })
    }
}

/// What acting on a recommendation would do, shown before it is done.
#[derive(Clone, Debug)]
pub enum Preview {
    /// The rules with the new one, replayed over past orders, against the rules as they are.
    Rule { before: Report, after: Report },
    /// The channel's priority now and after.
    Priority { channel: String, from: i64, to: i64 },
    /// The finance task that would be opened.
    Task { title: String },
}

/// A carrier's (or channel's) line on the scorecard.
#[derive(Clone, Debug)]
pub struct ScoreRow {
    pub key: String,
    pub metrics: Metrics,
    pub settlement_days: Option<i64>,
    pub score: i64,
}

/// The main and backup channel of each lane, by score.
#[derive(Clone, Debug)]
pub struct LaneChoice {
    pub country: String,
    pub main: String,
    pub backup: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Scorecard {
    pub weights: ScoreWeights,
    pub carriers: Vec<ScoreRow>,
    pub channels: Vec<ScoreRow>,
    pub lanes: Vec<LaneChoice>,
}

impl Insights {
    /// Refreshes the sums of every order changed since the last refresh; returns how many were refreshed.
    pub async fn refresh_kpis(&self) -> Result<usize> {
        let mut total = 0;
        loop {
            let n = refresh_batch(&self.store, self.clock().now(), BATCH).await?;
            total += n;
            if n == 0 {
                fold_cod(&self.store).await?;
                return Ok(total);
            }
        }
    }

    /// Starts the refresher; call inside a tokio runtime.
    pub fn start_kpi_refresher(&self) {
        let store = self.store.clone();
        let ctx = self.ctx.clone();
        self.ctx.workers.spawn("dashboards", move |mut stop| async move {
            while !stop.requested() {
                let counted = refresh_batch(&store, ctx.clock.now(), BATCH).await;
                if let Err(e) = fold_cod(&store).await {
                    tracing::error!(error = %e, "open COD sums");
                }
                // A full batch means a backlog: keep at it. Going round again at once after a part batch
                // would, under steady intake, take the single writer a dozen statements at a time for the
                // few orders recorded meanwhile; resting a little lets them gather into one batch that is
                // still short enough not to keep intake waiting.
                let rest = match counted {
                    Ok(n) if n as i64 == BATCH => continue,
                    Ok(0) => IDLE,
                    Ok(_) => GATHER,
                    Err(e) => {
                        tracing::error!(error = %e, "dashboard refresher");
                        IDLE
                    }
                };
                if stop.pause(rest, None).await {
                    break;
                }
            }
        });
    }

    /// Orders changed but not yet counted in the dashboards.
    pub async fn kpi_backlog(&self) -> Result<i64> {
        Ok(kstore::dirty_count(&mut *self.store.read().await?).await?)
    }

    pub async fn kpi_sums(&self, f: &Filter, group: &[Dim], by_sku: bool) -> Result<Vec<(Vec<String>, Metrics)>> {
        Ok(kstore::sums(&mut *self.store.read().await?, f, group, by_sku).await?)
    }

    /// Median clearance hours and parcels cleared per group.
    pub async fn kpi_clearance(&self, f: &Filter, group: &[Dim]) -> Result<HashMap<Vec<String>, (i64, i64)>> {
        let hist = kstore::clearance(&mut *self.store.read().await?, f, group).await?;
        Ok(hist.into_iter().filter_map(|(k, h)| Some((k, (kpi::median(&h)?, h.values().sum())))).collect())
    }

    /// The orders behind a figure, newest first, a page at a time.
    pub async fn orders_behind(
        &self,
        f: &Filter,
        flag: Option<&str>,
        cursor: Option<&str>,
        limit: i64,
    ) -> Result<(Vec<Order>, Option<String>)> {
        if let Some(flag) = flag.filter(|f| !kstore::FLAGS.contains(f)) {
            return Err(Error::invalid("figure", format!("{flag:?} is not a figure orders can be listed by")));
        }
        let mut conn = self.store.read().await?;
        let ids = kstore::orders_behind(&mut conn, f, flag, cursor, limit + 1).await?;
        let mut orders = codflow_store::orders::get_many(&mut conn, &ids).await?;
        orders.sort_by(|a, b| b.id.cmp(&a.id));
        Ok(crate::split_page(orders, limit, |o| o.id.to_string()))
    }

    pub async fn score_weights(&self) -> Result<ScoreWeights> {
        self.json_setting("scorecard_weights").await
    }

    pub async fn set_score_weights(&self, w: ScoreWeights, actor: &Actor) -> Result<ScoreWeights> {
        let errors = w.check();
        if !errors.is_empty() {
            return Err(Error::Invalid(errors));
        }
        self.put_json_setting("scorecard_weights", &w, actor).await?;
        Ok(w)
    }

    pub async fn recommendation_thresholds(&self) -> Result<RecommendationThresholds> {
        self.json_setting("recommendation_thresholds").await
    }

    pub async fn set_recommendation_thresholds(
        &self,
        t: RecommendationThresholds,
        actor: &Actor,
    ) -> Result<RecommendationThresholds> {
        let mut errors = codflow_domain::FieldErrors::default();
        for (name, v, lo, hi) in [
            ("refusal_pct", t.refusal_pct, 1, 100),
            ("min_parcels", t.min_parcels, 1, 1_000_000),
            ("customs_factor", t.customs_factor, 1, 100),
            ("min_shipped", t.min_shipped, 1, 1_000_000),
        ] {
            if !(lo..=hi).contains(&v) {
                errors.push(name, format!("must be between {lo} and {hi}"));
            }
        }
        if !errors.is_empty() {
            return Err(Error::Invalid(errors));
        }
        self.put_json_setting("recommendation_thresholds", &t, actor).await?;
        Ok(t)
    }

    async fn json_setting<T: Default + for<'de> Deserialize<'de>>(&self, key: &str) -> Result<T> {
        crate::settings::json_setting(&self.store, key).await
    }

    async fn put_json_setting<T: Serialize>(&self, key: &str, v: &T, actor: &Actor) -> Result<()> {
        crate::settings::put_json_setting(&self.store, key, v, actor, self.clock().now()).await
    }

    pub async fn scorecard(&self, f: &Filter) -> Result<Scorecard> {
        let weights = self.score_weights().await?;
        let cycles: HashMap<String, i64> = self
            .fulfilment
            .channels()
            .await?
            .into_iter()
            .map(|c| (c.code.to_string(), c.settlement_cycle_days))
            .collect();
        let by_channel = self.kpi_sums(f, &[Dim::Carrier, Dim::Channel, Dim::Country], false).await?;
        let mut carriers: BTreeMap<String, (Metrics, Vec<i64>)> = BTreeMap::new();
        let mut channels: BTreeMap<String, Metrics> = BTreeMap::new();
        let mut lanes: BTreeMap<String, BTreeMap<String, Metrics>> = BTreeMap::new();
        for (k, m) in &by_channel {
            let (carrier, channel, country) = (&k[0], &k[1], &k[2]);
            if channel.is_empty() || m.shipped() == 0 {
                continue;
            }
            let c = carriers.entry(carrier.clone()).or_default();
            c.0.add(m);
            if let Some(d) = cycles.get(channel) {
                c.1.push(*d);
            }
            channels.entry(channel.clone()).or_default().add(m);
            lanes.entry(country.clone()).or_default().entry(channel.clone()).or_default().add(m);
        }
        let score_rows = |rows: Vec<(String, Metrics, Option<i64>)>| {
            let inputs: Vec<ScoreInput> =
                rows.iter().map(|(_, m, d)| ScoreInput { metrics: *m, settlement_days: *d }).collect();
            let scores = kpi::scores(&inputs, &weights);
            let mut out: Vec<ScoreRow> = rows
                .into_iter()
                .zip(scores)
                .map(|((key, metrics, settlement_days), score)| ScoreRow { key, metrics, settlement_days, score })
                .collect();
            out.sort_by(|a, b| b.score.cmp(&a.score).then_with(|| a.key.cmp(&b.key)));
            out
        };
        let carriers = score_rows(
            carriers
                .into_iter()
                .map(|(k, (m, d))| {
                    let days = (!d.is_empty()).then(|| d.iter().sum::<i64>() / d.len() as i64);
                    (k, m, days)
                })
                .collect(),
        );
        let channels = score_rows(channels.into_iter().map(|(k, m)| (k.clone(), m, cycles.get(&k).copied())).collect());
        let lanes = lanes
            .into_iter()
            .filter_map(|(country, chans)| {
                let ranked =
                    score_rows(chans.into_iter().map(|(k, m)| (k.clone(), m, cycles.get(&k).copied())).collect());
                let main = ranked.first()?.key.clone();
                Some(LaneChoice { country, main, backup: ranked.get(1).map(|r| r.key.clone()) })
            })
            .collect();
        Ok(Scorecard { weights, carriers, channels, lanes })
    }

    pub async fn recommendations(&self, f: &Filter) -> Result<Vec<Recommendation>> {
        let out = self.recommendations_unfiltered(f).await?;
        let since = self.clock().now() - time::Duration::days(ACTED_QUIET_DAYS);
        let acted =
            codflow_store::orders::audited_since(&mut *self.store.read().await?, "recommendation", "act", since)
                .await?;
        Ok(out.into_iter().filter(|r| !acted.contains(&r.key())).collect())
    }

    async fn recommendations_unfiltered(&self, f: &Filter) -> Result<Vec<Recommendation>> {
        let t = self.recommendation_thresholds().await?;
        let mut out = Vec::new();
        let skus = self.kpi_sums(f, &[Dim::Sku, Dim::Country, Dim::Region], true).await?;
        let rows: Vec<_> = skus.into_iter().map(|(k, m)| ((k[0].clone(), k[1].clone(), k[2].clone()), m)).collect();
        let existing: Vec<String> = self.review.rules().await?.0.into_iter().map(|r| r.name).collect();
        for ((sku, country, region), refusal) in kpi::refusal_hotspots(&rows, &t) {
            let r = Recommendation::BlockCod { sku, country, region, refusal };
            // A recommendation already acted on is not made again.
            if r.rule_input().and_then(|i| i.name).is_some_and(|n| existing.contains(&n)) {
                continue;
            }
            out.push(r);
        }
        let lanes = self.kpi_sums(f, &[Dim::Country, Dim::Channel], false).await?;
        let rows: Vec<_> = lanes
            .into_iter()
            .filter(|(k, _)| !k[1].is_empty())
            .map(|(k, m)| ((k[0].clone(), k[1].clone()), m))
            .collect();
        for (country, channel, abnormal, peers) in kpi::customs_laggards(&rows, &t) {
            out.push(Recommendation::LowerPriority { channel, country, abnormal, peers });
        }
        let open_disputes = self.open_dispute_titles().await?;
        for row in self.finance.overdue_receivables().await? {
            let r = Recommendation::Dispute {
                carrier: row.carrier.clone(),
                currency: row.currency.code().to_owned(),
                parcels: row.overdue.parcels,
                amount_minor: row.overdue.amount_minor,
            };
            if open_disputes.iter().any(|t| t.starts_with(&dispute_prefix(&row.carrier, row.currency.code()))) {
                continue;
            }
            out.push(r);
        }
        Ok(out)
    }

    async fn open_dispute_titles(&self) -> Result<Vec<String>> {
        let q = crate::tasks::TaskQuery { role: Some(Role::Finance.as_str().to_owned()), ..Default::default() };
        let (tasks, _) = self.tracking.tasks(&q, 500, None).await?;
        Ok(tasks
            .into_iter()
            .filter(|t| {
                t.kind == AnomalyKind::SettlementDifference && t.status != codflow_store::tasks::TaskStatus::Done
            })
            .map(|t| t.title)
            .collect())
    }

    /// What acting on `r` would change, without changing it.
    pub async fn preview(&self, r: &Recommendation) -> Result<Preview> {
        match r {
            Recommendation::BlockCod { .. } => {
                let input = r.rule_input().ok_or(Error::NotFound("rule"))?;
                let rule = input.into_new_rule()?;
                let current = self.review.rules().await?.0;
                let mut with = current.clone();
                with.push(rule);
                let since = self.clock().now() - time::Duration::days(365);
                let economics = Economics::usual(self.review.base_currency().await?);
                let before = self.review.backtest(Some(current), since, economics, |_, _| {}).await?;
                let after = self.review.backtest(Some(with), since, economics, |_, _| {}).await?;
                Ok(Preview::Rule { before, after })
            }
            Recommendation::LowerPriority { channel, .. } => {
                let c = self.fulfilment.channel(&channel_code(channel)?).await?;
                Ok(Preview::Priority { channel: channel.clone(), from: c.priority, to: c.priority - 10 })
            }
            Recommendation::Dispute { .. } => Ok(Preview::Task { title: dispute_title(r) }),
        }
    }

    /// Makes the change `r` recommends; returns what was made (a rule id, a channel code or a task id).
    /// Acting again on what was acted on (a second click, a retried request) changes nothing and answers
    /// what the first act made.
    pub async fn act_on(&self, r: &Recommendation, actor: Actor) -> Result<String> {
        let key = r.key();
        let before = codflow_store::orders::audit_of(&mut *self.store.read().await?, "recommendation", &key).await?;
        let since = self.clock().now() - time::Duration::days(ACTED_QUIET_DAYS);
        if let Some(done) = before.iter().rev().find(|a| a.action == "act" && a.at >= since) {
            return Ok(done.reason.clone().unwrap_or_default());
        }
        let made = self.act_once(r, actor.clone()).await?;
        let now = self.clock().now();
        let mut a = AuditRecord::change("recommendation", key, "act", None, None, actor, now);
        a.reason = Some(made.clone());
        let mut tx = self.store.begin().await?;
        codflow_store::orders::insert_audit(&mut tx, &[a]).await?;
        commit(tx).await?;
        Ok(made)
    }

    async fn act_once(&self, r: &Recommendation, actor: Actor) -> Result<String> {
        match r {
            Recommendation::BlockCod { .. } => {
                let input = r.rule_input().ok_or(Error::NotFound("rule"))?;
                let (rule, _) = self.review.create_rule(input, actor).await?;
                Ok(rule.id.to_string())
            }
            Recommendation::LowerPriority { channel, .. } => {
                let mut spec = self.fulfilment.channel(&channel_code(channel)?).await?.to_spec();
                spec.priority -= 10;
                self.fulfilment.put_channels(&[spec], actor).await?;
                Ok(channel.clone())
            }
            Recommendation::Dispute { .. } => {
                let now = self.clock().now();
                let task = codflow_store::tasks::Task {
                    id: TaskId::generate(),
                    kind: AnomalyKind::SettlementDifference,
                    shipment_id: None,
                    order_id: None,
                    role: Role::Finance,
                    status: codflow_store::tasks::TaskStatus::Open,
                    title: dispute_title(r),
                    due_at: now + time::Duration::hours(72),
                    assignee: None,
                    opened_by: actor.to_stored(),
                    resolution: None,
                    created_at: now,
                    updated_at: now,
                    closed_at: None,
                };
                let mut tx = self.store.begin().await?;
                codflow_store::tasks::open_many(&mut tx, std::slice::from_ref(&task)).await?;
                commit(tx).await?;
                Ok(task.id.to_string())
            }
        }
    }
}

fn dispute_prefix(carrier: &str, currency: &str) -> String {
    format!("Dispute overdue COD remittances: {carrier} {currency}")
}

fn dispute_title(r: &Recommendation) -> String {
    match r {
        Recommendation::Dispute { carrier, currency, parcels, .. } => {
            format!("{} ({parcels} parcels past the settlement cycle)", dispute_prefix(carrier, currency))
        }
        other => other.title(),
    }
}

/// A recommendation names its channel as text; one that no longer reads names no channel.
fn channel_code(code: &str) -> Result<codflow_domain::ChannelCode> {
    codflow_domain::ChannelCode::parse(code).map_err(|_| Error::NotFound("channel"))
}
