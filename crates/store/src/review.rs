//! Review data: rules and ruleset versions, named lists, outcomes and their counts, settings and FX rates.
//!
//! Over 600 lines on purpose: everything the review snapshot loads in one read (rules, lists, lane counts,
//! settings, rates) is here, so what the snapshot depends on is one file.

use std::collections::HashMap;

use codflow_domain::review::backtest::Outcome;
use codflow_domain::review::{Counts, ListKind, RecentOrder, Rule};
use codflow_domain::{Currency, Decision, FxRate, OrderId, RuleId, Sku};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;

use crate::bulk::{Val, insert_values};
use crate::db::{from_micros, micros, param, params};
use crate::{Error, Result};

const RULE_COLS: &str = "id, name, priority, enabled, condition, action, reason, notify";

fn rule_from(r: &AnyRow) -> Result<Rule> {
    Ok(Rule {
        id: RuleId::parse(&r.try_get::<String, _>("id")?)?,
        name: r.try_get("name")?,
        priority: r.try_get::<i64, _>("priority")? as i32,
        enabled: r.try_get::<i64, _>("enabled")? != 0,
        condition: r.try_get("condition")?,
        action: Decision::parse(&r.try_get::<String, _>("action")?)?,
        reason: r.try_get("reason")?,
        notify: r.try_get("notify")?,
    })
}

/// Every rule, enabled or not, in evaluation order.
pub async fn rules(conn: &mut AnyConnection) -> Result<Vec<Rule>> {
    let rows = sqlx::query(&format!("SELECT {RULE_COLS} FROM rules ORDER BY priority, id")).fetch_all(conn).await?;
    rows.iter().map(rule_from).collect()
}

pub async fn rule(conn: &mut AnyConnection, id: &RuleId) -> Result<Option<Rule>> {
    let row = sqlx::query(&format!("SELECT {RULE_COLS} FROM rules WHERE id = $1"))
        .bind(id.as_str())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(rule_from).transpose()
}

/// Inserts the rule or replaces the one with its id.
pub async fn put_rule(conn: &mut AnyConnection, r: &Rule, at: OffsetDateTime) -> Result<()> {
    sqlx::query(
        "INSERT INTO rules (id, name, priority, enabled, condition, action, reason, notify, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) \
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, priority = excluded.priority, enabled = excluded.enabled, \
         condition = excluded.condition, action = excluded.action, reason = excluded.reason, notify = excluded.notify, \
         updated_at = excluded.updated_at",
    )
    .bind(r.id.as_str())
    .bind(r.name.as_str())
    .bind(i64::from(r.priority))
    .bind(i64::from(r.enabled))
    .bind(r.condition.as_str())
    .bind(r.action.as_str())
    .bind(r.reason.as_str())
    .bind(r.notify.clone())
    .bind(micros(at))
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn delete_rule(conn: &mut AnyConnection, id: &RuleId) -> Result<bool> {
    Ok(sqlx::query("DELETE FROM rules WHERE id = $1").bind(id.as_str()).execute(conn).await?.rows_affected() == 1)
}

pub async fn delete_all_rules(conn: &mut AnyConnection) -> Result<()> {
    sqlx::query("DELETE FROM rules").execute(conn).await?;
    Ok(())
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Version {
    pub version: i64,
    pub created_at: OffsetDateTime,
    pub actor: String,
    pub change: String,
}

pub async fn latest_version(conn: &mut AnyConnection) -> Result<i64> {
    Ok(sqlx::query("SELECT MAX(version) AS v FROM ruleset_versions").fetch_one(conn).await?.try_get("v")?)
}

/// Records the rules as they now stand as the next version and returns its number. Two writers racing on
/// PostgreSQL collide on the primary key; the loser's transaction fails and is retried by its caller.
pub async fn snapshot(conn: &mut AnyConnection, actor: &str, change: &str, at: OffsetDateTime) -> Result<i64> {
    let version = latest_version(conn).await? + 1;
    let rules = rules(conn).await?;
    let json = serde_json::to_string(&rules).map_err(|e| Error::Corrupt(e.to_string()))?;
    sqlx::query("INSERT INTO ruleset_versions (version, created_at, actor, change, rules) VALUES ($1, $2, $3, $4, $5)")
        .bind(version)
        .bind(micros(at))
        .bind(actor)
        .bind(change)
        .bind(json)
        .execute(conn)
        .await?;
    Ok(version)
}

pub async fn versions(conn: &mut AnyConnection, before: Option<i64>, limit: i64) -> Result<Vec<Version>> {
    let rows = sqlx::query(
        "SELECT version, created_at, actor, change FROM ruleset_versions WHERE version < $1 ORDER BY version DESC LIMIT $2",
    )
    .bind(before.unwrap_or(i64::MAX))
    .bind(limit + 1)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Version {
                version: r.try_get("version")?,
                created_at: from_micros(r.try_get("created_at")?),
                actor: r.try_get("actor")?,
                change: r.try_get("change")?,
            })
        })
        .collect()
}

/// The rules of one version as they stood when it was made.
pub async fn version_rules(conn: &mut AnyConnection, version: i64) -> Result<Option<Vec<Rule>>> {
    let row =
        sqlx::query("SELECT rules FROM ruleset_versions WHERE version = $1").bind(version).fetch_optional(conn).await?;
    match row {
        None => Ok(None),
        Some(r) => {
            let json: String = r.try_get("rules")?;
            Ok(Some(serde_json::from_str(&json).map_err(|e| Error::Corrupt(format!("ruleset {version}: {e}")))?))
        }
    }
}

// ------------------------------------------------------------------------------------------------ lists

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListInfo {
    pub name: String,
    pub kind: ListKind,
    pub description: String,
    pub builtin: bool,
    pub entries: i64,
}

pub async fn lists(conn: &mut AnyConnection) -> Result<Vec<ListInfo>> {
    let rows = sqlx::query(
        "SELECT l.name, l.kind, l.description, l.builtin, \
         (SELECT COUNT(*) FROM list_entries e WHERE e.list_name = l.name) AS entries FROM lists l ORDER BY l.name",
    )
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(ListInfo {
                name: r.try_get("name")?,
                kind: ListKind::parse(&r.try_get::<String, _>("kind")?)?,
                description: r.try_get("description")?,
                builtin: r.try_get::<i64, _>("builtin")? != 0,
                entries: r.try_get("entries")?,
            })
        })
        .collect()
}

pub async fn list_kind(conn: &mut AnyConnection, name: &str) -> Result<Option<ListKind>> {
    let row = sqlx::query("SELECT kind FROM lists WHERE name = $1").bind(name).fetch_optional(conn).await?;
    row.map(|r| Ok(ListKind::parse(&r.try_get::<String, _>("kind")?)?)).transpose()
}

/// False when a list of that name exists.
pub async fn create_list(
    conn: &mut AnyConnection,
    name: &str,
    kind: ListKind,
    description: &str,
    at: OffsetDateTime,
) -> Result<bool> {
    let n = sqlx::query(
        "INSERT INTO lists (name, kind, description, builtin, created_at) VALUES ($1, $2, $3, 0, $4) \
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(kind.as_str())
    .bind(description)
    .bind(micros(at))
    .execute(conn)
    .await?;
    Ok(n.rows_affected() == 1)
}

pub async fn delete_list(conn: &mut AnyConnection, name: &str) -> Result<()> {
    sqlx::query("DELETE FROM list_entries WHERE list_name = $1").bind(name).execute(&mut *conn).await?;
    sqlx::query("DELETE FROM lists WHERE name = $1 AND builtin = 0").bind(name).execute(conn).await?;
    Ok(())
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub value: String,
    pub note: Option<String>,
    pub actor: String,
    pub created_at: OffsetDateTime,
}

pub async fn entries(conn: &mut AnyConnection, list: &str, after: Option<&str>, limit: i64) -> Result<Vec<Entry>> {
    let rows = sqlx::query(
        "SELECT value, note, actor, created_at FROM list_entries WHERE list_name = $1 AND value > $2 \
         ORDER BY value LIMIT $3",
    )
    .bind(list)
    .bind(after.unwrap_or(""))
    .bind(limit + 1)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Entry {
                value: r.try_get("value")?,
                note: r.try_get("note")?,
                actor: r.try_get("actor")?,
                created_at: from_micros(r.try_get("created_at")?),
            })
        })
        .collect()
}

/// Adds normalised entries, skipping those already there. Returns how many were new.
pub async fn add_entries(
    conn: &mut AnyConnection,
    list: &str,
    entries: &[(String, Option<String>)],
    actor: &str,
    at: OffsetDateTime,
) -> Result<usize> {
    let mut vals = Vec::with_capacity(entries.len() * 5);
    for (v, note) in entries {
        vals.extend([Val::from(list), v.clone().into(), note.clone().into(), actor.into(), micros(at).into()]);
    }
    let rows = insert_values(
        conn,
        "INTO list_entries (list_name, value, note, actor, created_at)",
        "ON CONFLICT (list_name, value) DO NOTHING RETURNING value",
        vals,
    )
    .await?;
    Ok(rows.len())
}

pub async fn remove_entry(conn: &mut AnyConnection, list: &str, value: &str) -> Result<bool> {
    let n = sqlx::query("DELETE FROM list_entries WHERE list_name = $1 AND value = $2")
        .bind(list)
        .bind(value)
        .execute(conn)
        .await?;
    Ok(n.rows_affected() == 1)
}

/// Every entry of every list, for the in-memory copy review reads.
pub async fn all_entries(conn: &mut AnyConnection) -> Result<Vec<(String, String)>> {
    let rows = sqlx::query("SELECT list_name, value FROM list_entries").fetch_all(conn).await?;
    rows.iter().map(|r| Ok((r.try_get("list_name")?, r.try_get("value")?))).collect()
}

// ------------------------------------------------------------------------------------------------ settings

pub async fn setting(conn: &mut AnyConnection, key: &str) -> Result<Option<String>> {
    let row = sqlx::query("SELECT value FROM settings WHERE key = $1").bind(key).fetch_optional(conn).await?;
    Ok(row.map(|r| r.try_get("value")).transpose()?)
}

/// Several settings in one query; keys never set are absent.
pub async fn settings_of(conn: &mut AnyConnection, keys: &[&str]) -> Result<HashMap<String, String>> {
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    let sql = format!("SELECT key, value FROM settings WHERE key IN ({})", params(conn, 0, keys.len()));
    let mut q = sqlx::query(&sql);
    for k in keys {
        q = q.bind(*k);
    }
    q.fetch_all(conn).await?.iter().map(|r| Ok((r.try_get("key")?, r.try_get("value")?))).collect()
}

pub async fn set_setting(conn: &mut AnyConnection, key: &str, value: &str, at: OffsetDateTime) -> Result<()> {
    sqlx::query(
        "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
    )
    .bind(key)
    .bind(value)
    .bind(micros(at))
    .execute(conn)
    .await?;
    Ok(())
}

/// Marks lists, FX rates or the base currency changed, so every worker reloads them before its next decision.
pub async fn insert_setting_if_absent(
    conn: &mut AnyConnection,
    key: &str,
    value: &str,
    at: OffsetDateTime,
) -> Result<()> {
    sqlx::query("INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING")
        .bind(key)
        .bind(value)
        .bind(micros(at))
        .execute(conn)
        .await?;
    Ok(())
}

/// Which of `values` are on the list.
pub async fn list_members(
    conn: &mut AnyConnection,
    list: &str,
    values: &[&str],
) -> Result<std::collections::HashSet<String>> {
    let mut found = std::collections::HashSet::new();
    for chunk in crate::db::pow2_chunks(values, 512) {
        let sql = format!(
            "SELECT value FROM list_entries WHERE list_name = {} AND value IN ({})",
            param(conn, 1),
            params(conn, 1, chunk.len())
        );
        let mut q = sqlx::query(&sql).bind(list);
        for v in chunk {
            q = q.bind(*v);
        }
        for r in q.fetch_all(&mut *conn).await? {
            found.insert(r.try_get::<String, _>("value")?);
        }
    }
    Ok(found)
}

pub async fn bump_review_generation(conn: &mut AnyConnection, at: OffsetDateTime) -> Result<()> {
    sqlx::query("UPDATE settings SET value = CAST(CAST(value AS BIGINT) + 1 AS TEXT), updated_at = $1 WHERE key = 'review_generation'")
        .bind(micros(at))
        .execute(conn)
        .await?;
    Ok(())
}

/// What review's in-memory state depends on: the latest ruleset version, the review generation (lists, FX
/// rates) and the base currency. Read once per batch, in the batch's transaction.
pub async fn review_state(conn: &mut AnyConnection) -> Result<(i64, String, String)> {
    let r = sqlx::query(
        "SELECT (SELECT MAX(version) FROM ruleset_versions) AS v, \
         (SELECT value FROM settings WHERE key = 'review_generation') AS g, \
         (SELECT value FROM settings WHERE key = 'base_currency') AS b",
    )
    .fetch_one(conn)
    .await?;
    Ok((r.try_get("v")?, r.try_get("g")?, r.try_get("b")?))
}

// ------------------------------------------------------------------------------------------------ FX

pub async fn put_rate(conn: &mut AnyConnection, r: &FxRate, at: OffsetDateTime) -> Result<()> {
    sqlx::query(
        "INSERT INTO fx_rates (from_currency, to_currency, as_of, rate, source, created_at) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (from_currency, to_currency, as_of) DO UPDATE SET rate = excluded.rate, source = excluded.source, \
         created_at = excluded.created_at",
    )
    .bind(r.from.code())
    .bind(r.to.code())
    .bind(r.as_of.to_string())
    .bind(r.rate.to_string())
    .bind(r.source.as_str())
    .bind(micros(at))
    .execute(conn)
    .await?;
    Ok(())
}

fn rate_from(r: &AnyRow) -> Result<FxRate> {
    let bad = |e: String| Error::Corrupt(format!("fx rate: {e}"));
    let as_of: String = r.try_get("as_of")?;
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    Ok(FxRate::new(
        Currency::parse(&r.try_get::<String, _>("from_currency")?)?,
        Currency::parse(&r.try_get::<String, _>("to_currency")?)?,
        r.try_get::<String, _>("rate")?.parse().map_err(|e: rust_decimal::Error| bad(e.to_string()))?,
        time::Date::parse(&as_of, fmt).map_err(|e| bad(e.to_string()))?,
        r.try_get::<String, _>("source")?,
    )?)
}

/// Every rate, newest date first within each pair.
pub async fn rates(conn: &mut AnyConnection) -> Result<Vec<FxRate>> {
    let rows = sqlx::query(
        "SELECT from_currency, to_currency, as_of, rate, source FROM fx_rates \
         ORDER BY from_currency, to_currency, as_of DESC",
    )
    .fetch_all(conn)
    .await?;
    rows.iter().map(rate_from).collect()
}

// ------------------------------------------------------------------------------------------------ history

fn outcome_str(o: Outcome) -> &'static str {
    match o {
        Outcome::Delivered => "delivered",
        Outcome::Refused => "refused",
    }
}

pub fn parse_outcome(s: &str) -> Option<Outcome> {
    match s {
        "delivered" => Some(Outcome::Delivered),
        "refused" | "returned" => Some(Outcome::Refused),
        _ => None,
    }
}

/// Records what became of an order and counts it under `keys`. False (and nothing counted) when the order
/// already has an outcome: replaying a report changes nothing.
pub async fn record_outcome(
    conn: &mut AnyConnection,
    order: &OrderId,
    outcome: Outcome,
    at: OffsetDateTime,
    actor: &str,
    keys: &[String],
    now: OffsetDateTime,
) -> Result<bool> {
    let one = NewOutcome { order: order.clone(), outcome, at, keys: keys.to_vec() };
    Ok(record_outcomes(conn, std::slice::from_ref(&one), actor, now).await?.contains(order))
}

/// One order's outcome for [`record_outcomes`].
pub struct NewOutcome {
    pub order: OrderId,
    pub outcome: Outcome,
    pub at: OffsetDateTime,
    pub keys: Vec<String>,
}

/// [`record_outcome`] for many orders: the outcomes are inserted together and the counts of every key
/// bumped once by their sums. Returns the orders that had no outcome before.
pub async fn record_outcomes(
    conn: &mut AnyConnection,
    outcomes: &[NewOutcome],
    actor: &str,
    now: OffsetDateTime,
) -> Result<std::collections::HashSet<OrderId>> {
    let mut vals = Vec::with_capacity(outcomes.len() * 5);
    let mut seen = std::collections::HashSet::new();
    for o in outcomes.iter().filter(|o| seen.insert(o.order.clone())) {
        vals.extend([
            Val::from(o.order.as_str()),
            outcome_str(o.outcome).into(),
            micros(o.at).into(),
            actor.into(),
            micros(now).into(),
        ]);
    }
    if vals.is_empty() {
        return Ok(Default::default());
    }
    let rows = insert_values(
        conn,
        "INTO order_outcomes (order_id, outcome, at, actor, recorded_at)",
        "ON CONFLICT (order_id) DO NOTHING RETURNING order_id",
        vals,
    )
    .await?;
    let mut fresh = std::collections::HashSet::new();
    for r in rows {
        fresh.insert(OrderId::parse(&r.try_get::<String, _>("order_id")?)?);
    }
    let mut counts: std::collections::BTreeMap<&str, (i64, i64)> = Default::default();
    for o in outcomes.iter().filter(|o| fresh.contains(&o.order)) {
        let mut keys: Vec<&String> = o.keys.iter().collect();
        keys.sort();
        keys.dedup();
        for k in keys {
            let c = counts.entry(k.as_str()).or_default();
            match o.outcome {
                Outcome::Delivered => c.0 += 1,
                Outcome::Refused => c.1 += 1,
            }
        }
    }
    let mut vals = Vec::with_capacity(counts.len() * 3);
    for (k, (d, r)) in counts {
        vals.extend([Val::from(k), d.into(), r.into()]);
    }
    if !vals.is_empty() {
        insert_values(
            conn,
            "INTO outcome_counts (key, delivered, refused)",
            "ON CONFLICT (key) DO UPDATE SET delivered = outcome_counts.delivered + excluded.delivered, \
             refused = outcome_counts.refused + excluded.refused",
            vals,
        )
        .await?;
    }
    Ok(fresh)
}

pub async fn outcome_of(conn: &mut AnyConnection, order: &OrderId) -> Result<Option<(Outcome, OffsetDateTime)>> {
    let row = sqlx::query("SELECT outcome, at FROM order_outcomes WHERE order_id = $1")
        .bind(order.as_str())
        .fetch_optional(conn)
        .await?;
    match row {
        None => Ok(None),
        Some(r) => {
            let o: String = r.try_get("outcome")?;
            let o = parse_outcome(&o).ok_or_else(|| Error::Corrupt(format!("outcome {o:?}")))?;
            Ok(Some((o, from_micros(r.try_get("at")?))))
        }
    }
}

/// Every known outcome, by order.
pub async fn outcomes(conn: &mut AnyConnection) -> Result<HashMap<String, (Outcome, OffsetDateTime)>> {
    let rows = sqlx::query("SELECT order_id, outcome, at FROM order_outcomes").fetch_all(conn).await?;
    let mut out = HashMap::with_capacity(rows.len());
    for r in rows {
        let o: String = r.try_get("outcome")?;
        let o = parse_outcome(&o).ok_or_else(|| Error::Corrupt(format!("outcome {o:?}")))?;
        out.insert(r.try_get("order_id")?, (o, from_micros(r.try_get("at")?)));
    }
    Ok(out)
}

/// Outcome counts for the given keys; keys without history are absent.
pub async fn counts(conn: &mut AnyConnection, keys: &[&str]) -> Result<HashMap<String, Counts>> {
    let mut out = HashMap::with_capacity(keys.len());
    for chunk in keys.chunks(500) {
        let sql = format!(
            "SELECT key, delivered, refused FROM outcome_counts WHERE key IN ({})",
            params(conn, 0, chunk.len())
        );
        let mut q = sqlx::query(&sql).persistent(false);
        for k in chunk {
            q = q.bind(*k);
        }
        for r in q.fetch_all(&mut *conn).await? {
            out.insert(
                r.try_get("key")?,
                Counts { delivered: r.try_get("delivered")?, refused: r.try_get("refused")? },
            );
        }
    }
    Ok(out)
}

/// Per phone, how many orders it has placed and its orders placed since `since` with their SKUs; and the
/// outcome counts of `keys`. What reviewing a batch needs, in one round trip for a batch of ordinary size.
pub async fn batch_history(
    conn: &mut AnyConnection,
    phones: &[&str],
    since: OffsetDateTime,
    keys: &[&str],
) -> Result<(HashMap<String, (i64, Vec<RecentOrder>)>, HashMap<String, Counts>)> {
    const KEYS_ALONG: usize = 2000;
    let mut buyers = HashMap::new();
    let mut counted = HashMap::new();
    // The keys ride along with the first chunk of phones when there are few enough of them.
    let along = !phones.is_empty() && keys.len() <= KEYS_ALONG;
    for (i, chunk) in phones.chunks(500).enumerate() {
        let with: &[&str] = if along && i == 0 { keys } else { &[] };
        history_query(conn, chunk, since, with, &mut buyers, &mut counted).await?;
    }
    if !along {
        counted = counts(conn, keys).await?;
    }
    Ok((buyers, counted))
}

fn padded<'a>(items: &[&'a str]) -> Vec<&'a str> {
    let mut out = items.to_vec();
    if let Some(last) = items.last() {
        out.resize(items.len().next_power_of_two(), last);
    }
    out
}

/// Every order of `phones` (lines joined only for those placed since `since`), followed by the counts of
/// `keys` when there are any.
async fn history_query(
    conn: &mut AnyConnection,
    phones: &[&str],
    since: OffsetDateTime,
    keys: &[&str],
    buyers: &mut HashMap<String, (i64, Vec<RecentOrder>)>,
    counted: &mut HashMap<String, Counts>,
) -> Result<()> {
    // Each list padded to a power of two by repeating its last item (`IN` ignores repeats): a batch's read is
    // one of a few shapes the connection keeps prepared, not a statement planned afresh for every length.
    let (phones, keys) = (&padded(phones)[..], &padded(keys)[..]);
    let counts_part = if keys.is_empty() {
        String::new()
    } else {
        format!(
            "UNION ALL SELECT CAST(1 AS BIGINT), key, NULL, delivered, NULL, refused FROM outcome_counts WHERE key IN ({})",
            params(conn, 1 + phones.len(), keys.len())
        )
    };
    let sql = format!(
        "SELECT CAST(0 AS BIGINT) AS kind, o.id AS k, o.buyer_phone AS phone, o.placed_at AS n1, l.sku AS sku, \
         CAST(0 AS BIGINT) AS n2 FROM orders o LEFT JOIN order_lines l ON l.order_id = o.id AND o.placed_at >= {} \
         WHERE o.buyer_phone IN ({}) {counts_part} ORDER BY 1, 2",
        param(conn, 1),
        params(conn, 1, phones.len()),
    );
    let mut q = sqlx::query(&sql).bind(micros(since));
    for p in phones.iter().chain(keys) {
        q = q.bind(*p);
    }
    let mut last_id = String::new();
    for r in q.fetch_all(&mut *conn).await? {
        let key: String = r.try_get("k")?;
        if r.try_get::<i64, _>("kind")? == 1 {
            counted.insert(key, Counts { delivered: r.try_get("n1")?, refused: r.try_get("n2")? });
            continue;
        }
        let phone: String = r.try_get::<Option<String>, _>("phone")?.unwrap_or_default();
        let sku: Option<String> = r.try_get("sku")?;
        let entry = buyers.entry(phone).or_default();
        let new_order = key != last_id;
        if new_order {
            entry.0 += 1;
            last_id = key;
        }
        let Some(sku) = sku else { continue };
        let sku = Sku::parse(&sku)?;
        if new_order {
            entry.1.push(RecentOrder { placed_at: from_micros(r.try_get("n1")?), skus: Vec::new() });
        }
        if let Some(o) = entry.1.last_mut() {
            o.skus.push(sku);
            o.skus.sort();
            o.skus.dedup();
        }
    }
    Ok(())
}
