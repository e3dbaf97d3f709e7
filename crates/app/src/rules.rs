//! Review rules, lists, outcomes, the base currency and FX rates, the review queue and back-testing.

use std::collections::BTreeMap;

use codflow_domain::review::backtest::{Economics, Outcome, PastOrder, Replay, Report};
use codflow_domain::review::templates::{self, ParamValue};
use codflow_domain::review::{Condition, ListKind, Rule, Ruleset, keys, value_band_of};
use codflow_domain::{Actor, Currency, Decision, FieldErrors, FxRate, Order, OrderId, OrderStatus, RuleId};
use codflow_store::review as rstore;
pub use codflow_store::review::{Entry, ListInfo, Version};
use codflow_store::{Conn, commit, orders, rollback};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::ConflictKind;
use crate::orders::{Action, OrderFilter};
use crate::review::{ListSet, to_base};
use crate::{Error, Result, Review};

/// A rule as given to create or update it, before anything is trusted.
#[derive(Clone, Debug, Default)]
pub struct RuleInput {
    pub name: Option<String>,
    pub priority: Option<i32>,
    pub enabled: Option<bool>,
    pub condition: Option<String>,
    pub action: Option<String>,
    pub reason: Option<String>,
    pub notify: Option<String>,
}

/// The file `codflow rules export` writes and `import` reads.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RulesFile {
    #[serde(default)]
    pub version: Option<i64>,
    pub rules: Vec<Rule>,
}

/// Checks a rule against the lists and the templates that exist in this transaction; returns its condition.
async fn check(conn: &mut Conn, lists: &ListSet, rule: &Rule) -> Result<Condition> {
    let (cond, mut errors) = match rule.check(lists) {
        Ok(c) => (Some(c), FieldErrors::default()),
        Err(e) => (None, e),
    };
    if let Some(t) = &rule.notify
        && !crate::notify::template_exists(conn, t).await?
    {
        errors.push("notify", format!("no notification template named {t:?}"));
    }
    match cond {
        Some(c) if errors.is_empty() => Ok(c),
        _ => Err(Error::Invalid(errors)),
    }
}

impl RuleInput {
    /// Fills a rule from the input; `base` supplies what an update leaves out.
    /// The rule this input makes, with a new id (checked for form only; the condition is checked on save).
    pub fn into_new_rule(self) -> Result<Rule> {
        self.into_rule(RuleId::generate(), None)
    }

    fn into_rule(self, id: RuleId, base: Option<&Rule>) -> Result<Rule> {
        let mut e = FieldErrors::default();
        let text = |e: &mut FieldErrors, path: &str, v: Option<String>, old: Option<&String>| match v.or(old.cloned()) {
            Some(v) if !v.trim().is_empty() => v,
            _ => {
                e.push(path, "is required");
                String::new()
            }
        };
        let name = text(&mut e, "name", self.name, base.map(|b| &b.name));
        let condition = text(&mut e, "condition", self.condition, base.map(|b| &b.condition));
        let reason = text(&mut e, "reason", self.reason, base.map(|b| &b.reason));
        let action = match (self.action, base) {
            (Some(a), _) => e.take("action", Decision::parse(&a)),
            (None, Some(b)) => Some(b.action),
            (None, None) => {
                e.push("action", "is required");
                None
            }
        };
        match action {
            Some(action) if e.is_empty() => Ok(Rule {
                id,
                name,
                priority: self.priority.or(base.map(|b| b.priority)).unwrap_or(100),
                enabled: self.enabled.or(base.map(|b| b.enabled)).unwrap_or(true),
                condition,
                action,
                reason,
                notify: match self.notify {
                    Some(n) if n.is_empty() => None,
                    Some(n) => Some(n),
                    None => base.and_then(|b| b.notify.clone()),
                },
            }),
            _ => Err(Error::Invalid(e)),
        }
    }
}

/// How often a change to the rules is retried when another node made a version at the same moment.
const VERSION_ATTEMPTS: usize = 5;

impl Review {
    /// Runs `change` and records the resulting ruleset as a new version, in one transaction.
    async fn change_rules<T, F>(&self, actor: &Actor, what: &str, mut change: F) -> Result<(T, i64)>
    where
        F: for<'c> FnMut(&'c mut Conn) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<T>> + Send + 'c>>,
    {
        for _ in 0..VERSION_ATTEMPTS {
            let mut tx = self.store.begin().await?;
            let out = change(&mut tx).await;
            let out = match out {
                Ok(v) => v,
                Err(e) => {
                    rollback(tx).await?;
                    return Err(e);
                }
            };
            match rstore::snapshot(&mut tx, &actor.to_stored(), what, self.clock().now()).await {
                Ok(version) => {
                    commit(tx).await?;
                    self.ctx.review.invalidate();
                    return Ok((out, version));
                }
                Err(e) if e.is_unique_violation() => rollback(tx).await?,
                Err(e) => return Err(e.into()),
            }
        }
        Err(Error::Conflict {
            kind: ConflictKind::Busy,
            message: "the rules changed at the same moment; try again".into(),
        })
    }

    pub async fn rules(&self) -> Result<(Vec<Rule>, i64)> {
        let mut conn = self.store.read().await?;
        let version = rstore::latest_version(&mut conn).await?;
        Ok((rstore::rules(&mut conn).await?, version))
    }

    pub async fn rule(&self, id: &RuleId) -> Result<Rule> {
        let id = id.clone();
        rstore::rule(&mut *self.store.read().await?, &id).await?.ok_or(Error::NotFound("rule"))
    }

    /// Checks a rule without saving it; returns the worst-case cost of its condition.
    pub async fn validate_rule(&self, input: RuleInput) -> Result<u64> {
        let rule = input.into_rule(RuleId::generate(), None)?;
        let mut conn = self.store.read().await?;
        let lists = ListSet::load(&mut conn).await?;
        Ok(check(&mut conn, &lists, &rule).await?.cost())
    }

    pub async fn create_rule(&self, input: RuleInput, actor: Actor) -> Result<(Rule, i64)> {
        let rule = input.into_rule(RuleId::generate(), None)?;
        let what = format!("create rule {:?}", rule.name);
        let now = self.clock().now();
        self.change_rules(&actor, &what, |c| {
            let rule = rule.clone();
            Box::pin(async move {
                let lists = ListSet::load(c).await?;
                check(c, &lists, &rule).await?;
                rstore::put_rule(c, &rule, now).await?;
                Ok(rule)
            })
        })
        .await
    }

    pub async fn update_rule(&self, id: &RuleId, input: RuleInput, actor: Actor) -> Result<(Rule, i64)> {
        let id = id.clone();
        let now = self.clock().now();
        self.change_rules(&actor, &format!("update rule {id}"), |c| {
            let (id, input) = (id.clone(), input.clone());
            Box::pin(async move {
                let old = rstore::rule(c, &id).await?.ok_or(Error::NotFound("rule"))?;
                let rule = input.into_rule(id, Some(&old))?;
                let lists = ListSet::load(c).await?;
                check(c, &lists, &rule).await?;
                rstore::put_rule(c, &rule, now).await?;
                Ok(rule)
            })
        })
        .await
    }

    pub async fn delete_rule(&self, id: &RuleId, actor: Actor) -> Result<i64> {
        let id = id.clone();
        let ((), v) = self
            .change_rules(&actor, &format!("delete rule {id}"), |c| {
                let id = id.clone();
                Box::pin(async move {
                    if rstore::delete_rule(c, &id).await? { Ok(()) } else { Err(Error::NotFound("rule")) }
                })
            })
            .await?;
        Ok(v)
    }

    /// Creates a rule from a ready-made template with the given parameters.
    pub async fn rule_from_template(
        &self,
        key: &str,
        params: BTreeMap<String, ParamValue>,
        name: Option<String>,
        priority: Option<i32>,
        actor: Actor,
    ) -> Result<(Rule, i64)> {
        let t = templates::find(key).ok_or(Error::NotFound("template"))?;
        let base = self.base_currency().await?;
        let d = t.draft(&params, base).map_err(Error::Invalid)?;
        self.create_rule(
            RuleInput {
                name: Some(name.unwrap_or_else(|| t.title.to_owned())),
                priority,
                enabled: Some(true),
                condition: Some(d.condition),
                action: Some(d.action.as_str().to_owned()),
                reason: Some(d.reason),
                notify: d.notify,
            },
            actor,
        )
        .await
    }

    pub async fn export_rules(&self) -> Result<RulesFile> {
        let (rules, version) = self.rules().await?;
        Ok(RulesFile { version: Some(version), rules })
    }

    /// Replaces every rule with the file's, all or nothing: one bad rule and nothing changes.
    pub async fn import_rules(&self, file: RulesFile, actor: Actor) -> Result<i64> {
        let mut seen = std::collections::HashSet::new();
        for (i, r) in file.rules.iter().enumerate() {
            if !seen.insert(r.id.clone()) {
                return Err(Error::invalid(&format!("rules[{i}].id"), "appears twice in the file"));
            }
        }
        let n = file.rules.len();
        let now = self.clock().now();
        let ((), v) = self
            .change_rules(&actor, &format!("import {n} rules"), |c| {
                let rules = file.rules.clone();
                Box::pin(async move {
                    let mut errors = FieldErrors::default();
                    let lists = ListSet::load(c).await?;
                    for (i, r) in rules.iter().enumerate() {
                        match check(c, &lists, r).await {
                            Ok(_) => {}
                            Err(Error::Invalid(e)) => {
                                for fe in e.0 {
                                    errors.push(format!("rules[{i}].{}", fe.path), fe.message);
                                }
                            }
                            Err(other) => return Err(other),
                        }
                    }
                    if !errors.is_empty() {
                        return Err(Error::Invalid(errors));
                    }
                    rstore::delete_all_rules(c).await?;
                    for r in &rules {
                        rstore::put_rule(c, r, now).await?;
                    }
                    Ok(())
                })
            })
            .await?;
        Ok(v)
    }

    pub async fn ruleset_versions(&self, limit: i64, cursor: Option<&str>) -> Result<(Vec<Version>, Option<String>)> {
        let before = cursor
            .map(|c| c.parse::<i64>().map_err(|_| Error::invalid("cursor", "is not a cursor from a previous page")))
            .transpose()?;
        let rows = rstore::versions(&mut *self.store.read().await?, before, limit).await?;
        Ok(crate::split_page(rows, limit, |v| v.version.to_string()))
    }

    pub async fn ruleset_version(&self, version: i64) -> Result<Vec<Rule>> {
        rstore::version_rules(&mut *self.store.read().await?, version).await?.ok_or(Error::NotFound("ruleset version"))
    }

    // ------------------------------------------------------------------------------------------ lists

    pub async fn lists(&self) -> Result<Vec<ListInfo>> {
        Ok(rstore::lists(&mut *self.store.read().await?).await?)
    }

    pub async fn create_list(&self, name: &str, kind: &str, description: &str) -> Result<ListInfo> {
        let mut e = FieldErrors::default();
        if name.is_empty()
            || name.len() > 64
            || !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            e.push("name", "must be 1 to 64 characters of a-z, 0-9 and _");
        }
        let kind = e.take("kind", ListKind::parse(kind));
        let Some(kind) = kind.filter(|_| e.is_empty()) else { return Err(Error::Invalid(e)) };
        let mut tx = self.store.begin().await?;
        let now = self.clock().now();
        if !rstore::create_list(&mut tx, name, kind, description, now).await? {
            rollback(tx).await?;
            return Err(Error::Conflict {
                kind: ConflictKind::ListExists,
                message: format!("a list named {name:?} exists"),
            });
        }
        rstore::bump_review_generation(&mut tx, now).await?;
        commit(tx).await?;
        self.ctx.review.invalidate();
        Ok(ListInfo { name: name.into(), kind, description: description.into(), builtin: false, entries: 0 })
    }

    /// Deletes a seller's list; refused while a rule names it, and for the built-in lists.
    pub async fn delete_list(&self, name: &str) -> Result<()> {
        let mut tx = self.store.begin().await?;
        let info = rstore::lists(&mut tx).await?.into_iter().find(|l| l.name == name).ok_or(Error::NotFound("list"))?;
        if info.builtin {
            rollback(tx).await?;
            return Err(Error::Conflict {
                kind: ConflictKind::BuiltinList,
                message: "built-in lists cannot be deleted".into(),
            });
        }
        let quoted = [format!("\"{name}\""), format!("'{name}'")];
        if let Some(r) =
            rstore::rules(&mut tx).await?.into_iter().find(|r| quoted.iter().any(|q| r.condition.contains(q.as_str())))
        {
            rollback(tx).await?;
            return Err(Error::Conflict {
                kind: ConflictKind::ListInUse,
                message: format!("rule {:?} ({}) uses this list", r.name, r.id),
            });
        }
        rstore::delete_list(&mut tx, name).await?;
        rstore::bump_review_generation(&mut tx, self.clock().now()).await?;
        commit(tx).await?;
        self.ctx.review.invalidate();
        Ok(())
    }

    pub async fn list_entries(
        &self,
        name: &str,
        limit: i64,
        cursor: Option<&str>,
    ) -> Result<(Vec<Entry>, Option<String>)> {
        let mut conn = self.store.read().await?;
        rstore::list_kind(&mut conn, name).await?.ok_or(Error::NotFound("list"))?;
        let rows = rstore::entries(&mut conn, name, cursor, limit).await?;
        Ok(crate::split_page(rows, limit, |e| e.value.clone()))
    }

    /// Adds entries, normalised for the list's kind. All or nothing: any bad value is reported by its index
    /// (`values[3]`) and nothing is added. Returns (added, already present).
    pub async fn add_list_entries(
        &self,
        name: &str,
        values: Vec<(String, Option<String>)>,
        path: impl Fn(usize) -> String,
        actor: Actor,
    ) -> Result<(usize, usize)> {
        let mut tx = self.store.begin().await?;
        let Some(kind) = rstore::list_kind(&mut tx, name).await? else {
            rollback(tx).await?;
            return Err(Error::NotFound("list"));
        };
        let mut e = FieldErrors::default();
        let mut normalised = Vec::with_capacity(values.len());
        for (i, (v, note)) in values.into_iter().enumerate() {
            if let Some(v) = e.take(path(i), kind.normalise(&v)) {
                normalised.push((v, note));
            }
        }
        if !e.is_empty() {
            rollback(tx).await?;
            return Err(Error::Invalid(e));
        }
        normalised.sort();
        normalised.dedup_by(|a, b| a.0 == b.0);
        let now = self.clock().now();
        let added = rstore::add_entries(&mut tx, name, &normalised, &actor.to_stored(), now).await?;
        rstore::bump_review_generation(&mut tx, now).await?;
        commit(tx).await?;
        self.ctx.review.invalidate();
        Ok((added, normalised.len() - added))
    }

    /// A CSV of entries: a header with `value` and optionally `note`, one entry per line.
    pub async fn import_list_csv(&self, name: &str, bytes: &[u8], actor: Actor) -> Result<(usize, usize)> {
        let mut r = codflow_sheets::csv::Reader::new(bytes, b',').trim(true);
        let headers = match r.next_record() {
            Some(Ok(h)) => h.fields,
            Some(Err(e)) => return Err(Error::invalid("file", e.to_string())),
            None => return Err(Error::invalid("file", "line 1: the file is empty")),
        };
        let col = |n: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(n));
        let value = col("value").ok_or_else(|| Error::invalid("file", "line 1: the header needs a 'value' column"))?;
        let note = col("note");
        let mut rows = Vec::new();
        let mut lines = Vec::new();
        for rec in r {
            let rec = rec.map_err(|e| Error::invalid(&format!("line {}", e.line), e.message))?;
            // A file exported here carries formula-like text with a leading quote; read it as it was.
            let cell = |i: usize| rec.fields.get(i).map(|c| codflow_sheets::csv::unneutralised(c).to_owned());
            let v = cell(value).unwrap_or_default();
            let n = note.and_then(cell).filter(|s| !s.is_empty());
            rows.push((v, n));
            lines.push(rec.line);
        }
        self.add_list_entries(name, rows, |i| format!("line {}: value", lines[i]), actor).await
    }

    /// Every entry of a list as CSV (`value,note,added_by,created_at`), the same shape `import` reads.
    pub async fn export_list_csv(&self, name: &str) -> Result<Vec<u8>> {
        let mut conn = self.store.read().await?;
        rstore::list_kind(&mut conn, name).await?.ok_or(Error::NotFound("list"))?;
        let mut w = csv::Writer::from_writer(Vec::new());
        let csv_err = |e: csv::Error| Error::Internal(codflow_store::Error::Corrupt(e.to_string()));
        w.write_record(["value", "note", "added_by", "created_at"]).map_err(csv_err)?;
        let mut after: Option<String> = None;
        loop {
            let page = rstore::entries(&mut conn, name, after.as_deref(), 1000).await?;
            for e in page.iter().take(1000) {
                let at = e.created_at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
                let cells = [e.value.as_str(), e.note.as_deref().unwrap_or(""), e.actor.as_str(), at.as_str()];
                w.write_record(cells.map(|c| codflow_sheets::csv::neutralised(c).into_owned())).map_err(csv_err)?;
            }
            if page.len() <= 1000 {
                break;
            }
            after = page.get(999).map(|e| e.value.clone());
        }
        w.into_inner().map_err(|e| Error::Internal(codflow_store::Error::Corrupt(e.to_string())))
    }

    pub async fn remove_list_entry(&self, name: &str, value: &str) -> Result<()> {
        let mut tx = self.store.begin().await?;
        let Some(kind) = rstore::list_kind(&mut tx, name).await? else {
            rollback(tx).await?;
            return Err(Error::NotFound("list"));
        };
        let v = kind.normalise(value).unwrap_or_else(|_| value.to_lowercase());
        if !rstore::remove_entry(&mut tx, name, &v).await? {
            rollback(tx).await?;
            return Err(Error::NotFound("list entry"));
        }
        rstore::bump_review_generation(&mut tx, self.clock().now()).await?;
        commit(tx).await?;
        self.ctx.review.invalidate();
        Ok(())
    }

    // ------------------------------------------------------------------------------------------ outcomes, FX

    /// Records what became of an order; once per order, later reports change nothing.
    pub async fn record_outcome(
        &self,
        id: &OrderId,
        outcome: &str,
        at: Option<OffsetDateTime>,
        actor: Actor,
    ) -> Result<bool> {
        let id = id.clone();
        let outcome = rstore::parse_outcome(outcome).ok_or_else(|| {
            Error::invalid("outcome", format!("{outcome:?} is not an outcome (delivered, refused, returned)"))
        })?;
        let mut tx = self.store.begin().await?;
        let order = orders::get(&mut tx, &id).await?.ok_or(Error::NotFound("order"))?;
        let keys = keys::of_outcome(&order, &value_band_of(order.review.as_ref()));
        let now = self.clock().now();
        let new =
            rstore::record_outcome(&mut tx, &id, outcome, at.unwrap_or(now), &actor.to_stored(), &keys, now).await?;
        commit(tx).await?;
        self.ctx.review.invalidate();
        Ok(new)
    }

    pub async fn base_currency(&self) -> Result<Currency> {
        let b = rstore::setting(&mut *self.store.read().await?, "base_currency").await?.unwrap_or_else(|| "USD".into());
        Ok(Currency::parse(&b).map_err(codflow_store::Error::from)?)
    }

    pub async fn set_base_currency(&self, code: &str) -> Result<Currency> {
        let c = Currency::parse(code).map_err(|e| Error::invalid("base_currency", e.to_string()))?;
        let mut tx = self.store.begin().await?;
        rstore::set_setting(&mut tx, "base_currency", c.code(), self.clock().now()).await?;
        rstore::bump_review_generation(&mut tx, self.clock().now()).await?;
        commit(tx).await?;
        self.ctx.review.invalidate();
        Ok(c)
    }

    pub async fn put_fx_rate(&self, rate: FxRate) -> Result<FxRate> {
        let mut tx = self.store.begin().await?;
        rstore::put_rate(&mut tx, &rate, self.clock().now()).await?;
        rstore::bump_review_generation(&mut tx, self.clock().now()).await?;
        commit(tx).await?;
        self.ctx.review.invalidate();
        Ok(rate)
    }

    /// Sets a rate written as text (a form or a JSON body): every field checked, each problem named; `to`
    /// is the base currency when absent.
    pub async fn put_fx_rate_text(
        &self,
        from: &str,
        to: Option<&str>,
        rate: &str,
        as_of: &str,
        source: &str,
    ) -> Result<FxRate> {
        let mut e = FieldErrors::default();
        let from = e.take("from", Currency::parse(from));
        let to = match to {
            Some(t) => e.take("to", Currency::parse(t)),
            None => Some(self.base_currency().await?),
        };
        let rate = rate.trim().parse::<rust_decimal::Decimal>().ok();
        if rate.is_none() {
            e.push("rate", "must be a decimal number such as 0.2666");
        }
        let as_of = match time::Date::parse(as_of.trim(), time::macros::format_description!("[year]-[month]-[day]")) {
            Ok(d) => e.take("as_of", codflow_domain::text::date(d)),
            Err(_) => {
                e.push("as_of", "must be a date (YYYY-MM-DD)");
                None
            }
        };
        if source.trim().is_empty() {
            e.push("source", "must name where the rate comes from");
        }
        let (Some(from), Some(to), Some(rate), Some(as_of)) = (from, to, rate, as_of) else {
            return Err(Error::Invalid(e));
        };
        if !e.is_empty() {
            return Err(Error::Invalid(e));
        }
        let r = FxRate::new(from, to, rate, as_of, source.trim()).map_err(|err| {
            let mut e = FieldErrors::default();
            e.push("rate", err.to_string());
            Error::Invalid(e)
        })?;
        self.put_fx_rate(r).await
    }

    pub async fn fx_rates(&self) -> Result<Vec<FxRate>> {
        Ok(rstore::rates(&mut *self.store.read().await?).await?)
    }

    // ------------------------------------------------------------------------------------------ review queue

    /// Held orders, oldest first.
    pub async fn review_queue(&self, limit: i64, cursor: Option<&str>) -> Result<(Vec<Order>, Option<String>)> {
        self.held_orders(OrderFilter { oldest_first: true, ..OrderFilter::default() }, limit, cursor).await
    }

    /// Held orders that `filter` also selects (its status is ignored).
    pub async fn held_orders(
        &self,
        filter: OrderFilter,
        limit: i64,
        cursor: Option<&str>,
    ) -> Result<(Vec<Order>, Option<String>)> {
        self.intake.orders(OrderFilter { status: Some(OrderStatus::OnHold), ..filter }, limit, cursor).await
    }

    /// Approves or cancels many orders with one reason; each succeeds or fails on its own.
    pub async fn decide_many(
        &self,
        ids: &[String],
        approve: bool,
        reason: Option<String>,
        actor: Actor,
    ) -> Vec<(String, Result<Order>)> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let action = if approve { Action::Approve } else { Action::Cancel };
            let acted = match OrderId::parse(id) {
                Ok(order) => self.intake.act_on_order(&order, action, actor.clone(), reason.clone()).await,
                Err(_) => Err(Error::NotFound("order")),
            };
            out.push((id.clone(), acted));
        }
        out
    }

    // ------------------------------------------------------------------------------------------ back-testing

    /// Replays past orders placed since `since` through `rules` (the current rules when None). `progress`
    /// hears the number of orders read so far and the total.
    pub async fn backtest(
        &self,
        rules: Option<Vec<Rule>>,
        since: OffsetDateTime,
        economics: Economics,
        mut progress: impl FnMut(u64, u64) + Send,
    ) -> Result<Report> {
        let mut conn = self.store.read().await?;
        let version = rstore::latest_version(&mut conn).await?;
        let (rules, version) = match rules {
            Some(r) => (r, 0),
            None => (rstore::rules(&mut conn).await?, version),
        };
        let lists = ListSet::load(&mut conn).await?;
        let base = self.base_currency().await?;
        let rates: Vec<FxRate> = rstore::rates(&mut conn).await?.into_iter().filter(|r| r.to == base).collect();
        let outcomes = rstore::outcomes(&mut conn).await?;
        let total = orders::count(&mut conn).await? as u64;
        let ruleset = Ruleset::new(version, rules, &lists);
        // Orders are replayed a page at a time, so memory holds one page and the replay's history, not the
        // whole order table.
        let mut replay = Replay::new(&ruleset, &lists, base.code(), economics);
        let mut read = 0u64;
        let mut after: Option<(OffsetDateTime, OrderId)> = None;
        loop {
            let page = orders::by_placed(&mut conn, since, after.as_ref().map(|(t, id)| (*t, id)), 1000).await?;
            let Some(last) = page.last() else { break };
            after = Some((last.placed_at, last.id.clone()));
            read += page.len() as u64;
            for o in page {
                let outcome: Option<(Outcome, OffsetDateTime)> = outcomes.get(o.id.as_str()).copied();
                replay.feed(PastOrder { base_total: to_base(&o, base, &rates), outcome, order: o });
            }
            progress(read, total);
        }
        Ok(replay.finish())
    }
}
