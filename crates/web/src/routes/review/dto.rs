//! Wire shapes of review: rules, lists, the queue and outcomes.

use std::collections::BTreeMap;

use codflow_app::rules::RuleInput;
use codflow_app::rules::{Entry, ListInfo, Version};
use codflow_domain::RuleMatch;
use codflow_domain::review::Rule;
use codflow_domain::review::risk::RiskScore;
use codflow_domain::review::templates::ParamValue;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::dto::{MoneyDto, rfc3339};

#[derive(Deserialize, ToSchema, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct RuleBody {
    pub name: Option<String>,
    /// Lower runs first; default 100.
    pub priority: Option<i32>,
    pub enabled: Option<bool>,
    /// A CEL expression over the order facts (GET /api/v1/rules/fields).
    #[schema(example = "order.cod && in_list(\"cod_unsupported_regions\", dest.region_key)")]
    pub condition: Option<String>,
    /// approve, hold, cancel, flag or block_cod.
    pub action: Option<String>,
    pub reason: Option<String>,
    /// A notification template name; empty string removes it.
    pub notify: Option<String>,
}

impl From<RuleBody> for RuleInput {
    fn from(b: RuleBody) -> Self {
        RuleInput {
            name: b.name,
            priority: b.priority,
            enabled: b.enabled,
            condition: b.condition,
            action: b.action,
            reason: b.reason,
            notify: b.notify,
        }
    }
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct RuleDto {
    pub id: String,
    pub name: String,
    pub priority: i32,
    pub enabled: bool,
    pub condition: String,
    pub action: String,
    pub reason: String,
    pub notify: Option<String>,
    /// The ruleset version this change made, on writes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ruleset_version: Option<i64>,
}

impl RuleDto {
    pub fn of(r: Rule, version: Option<i64>) -> RuleDto {
        RuleDto {
            id: r.id.to_string(),
            name: r.name,
            priority: r.priority,
            enabled: r.enabled,
            condition: r.condition,
            action: r.action.as_str().into(),
            reason: r.reason,
            notify: r.notify,
            ruleset_version: version,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct RulesDto {
    pub items: Vec<RuleDto>,
    pub ruleset_version: i64,
}

#[derive(Serialize, ToSchema)]
pub struct ValidationDto {
    pub valid: bool,
    /// Worst-case evaluation cost of the condition.
    pub cost: u64,
}

#[derive(Serialize, ToSchema)]
pub struct FieldDto {
    pub path: String,
    #[serde(rename = "type")]
    pub ty: String,
    pub description: String,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct FromTemplate {
    #[serde(default)]
    #[schema(value_type = Object)]
    pub params: BTreeMap<String, ParamValue>,
    pub name: Option<String>,
    pub priority: Option<i32>,
}

#[derive(Serialize, ToSchema)]
pub struct VersionDto {
    pub version: i64,
    pub created_at: String,
    pub actor: String,
    pub change: String,
}

impl From<Version> for VersionDto {
    fn from(v: Version) -> Self {
        VersionDto { version: v.version, created_at: rfc3339(v.created_at), actor: v.actor, change: v.change }
    }
}

#[derive(Serialize, ToSchema)]
pub struct VersionRulesDto {
    pub version: i64,
    pub rules: Vec<RuleDto>,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct BacktestBody {
    /// Rules to test (the export file's `rules`); the current rules when absent.
    #[schema(value_type = Option<Vec<Object>>)]
    pub rules: Option<Vec<Rule>>,
    /// Only orders placed on or after this day (YYYY-MM-DD).
    pub since: Option<String>,
    /// What one refused parcel costs (freight both ways, duties, handling), in the base currency.
    pub refusal_cost: Option<MoneyDto>,
    /// Profit on delivered revenue, in percent ("40").
    pub margin_percent: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ListDto {
    pub name: String,
    pub kind: String,
    pub description: String,
    pub builtin: bool,
    pub entries: i64,
}

impl From<ListInfo> for ListDto {
    fn from(l: ListInfo) -> Self {
        ListDto {
            name: l.name,
            kind: l.kind.as_str().into(),
            description: l.description,
            builtin: l.builtin,
            entries: l.entries,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateList {
    pub name: String,
    /// phone, region, postcode or text.
    pub kind: String,
    #[serde(default)]
    pub description: String,
}

#[derive(Serialize, ToSchema)]
pub struct EntryDto {
    pub value: String,
    pub note: Option<String>,
    pub added_by: String,
    pub created_at: String,
}

impl From<Entry> for EntryDto {
    fn from(e: Entry) -> Self {
        EntryDto { value: e.value, note: e.note, added_by: e.actor, created_at: rfc3339(e.created_at) }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddEntries {
    pub values: Vec<String>,
    pub note: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct AddedDto {
    pub added: usize,
    pub already_present: usize,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QueueDecision {
    pub order_ids: Vec<String>,
    pub reason: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct QueueResult {
    pub order_id: String,
    pub ok: bool,
    pub status: Option<String>,
    /// The problem code when it failed (e.g. illegal_transition, not_found).
    pub error: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OutcomeBody {
    /// delivered, refused or returned.
    pub outcome: String,
    /// When it happened (RFC 3339); now when absent.
    pub at: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct OutcomeDto {
    pub recorded: bool,
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateBody {
    pub subject: String,
    pub body: String,
    pub sms: String,
}

/// The review record of an order on the wire.
#[derive(Serialize, ToSchema)]
pub struct ReviewDto {
    /// approve, flag, block_cod, hold or cancel.
    pub decision: String,
    pub rules: Vec<String>,
    pub reasons: Vec<String>,
    pub ruleset_version: Option<i64>,
    pub prepayment_required: bool,
    pub matches: Vec<MatchDto>,
    pub risk: Option<RiskDto>,
}

/// The refusal risk in [0, 1] and what made it: each component's history (smoothed toward the prior) and
/// what it added to the log-odds.
#[derive(Serialize, ToSchema)]
pub struct RiskDto {
    pub score: f64,
    pub prior: f64,
    pub components: Vec<RiskComponentDto>,
}

#[derive(Serialize, ToSchema)]
pub struct RiskComponentDto {
    pub name: String,
    pub key: String,
    pub samples: i64,
    pub refusals: i64,
    pub rate: f64,
    pub weight: f64,
    pub contribution: f64,
}

impl From<RiskScore> for RiskDto {
    fn from(r: RiskScore) -> Self {
        RiskDto {
            score: r.score,
            prior: r.prior,
            components: r
                .components
                .into_iter()
                .map(|c| RiskComponentDto {
                    name: c.name,
                    key: c.key,
                    samples: c.samples,
                    refusals: c.refusals,
                    rate: c.rate,
                    weight: c.weight,
                    contribution: c.contribution,
                })
                .collect(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct MatchDto {
    pub rule_id: String,
    pub name: String,
    pub action: String,
    pub reason: String,
    pub error: Option<String>,
}

impl From<RuleMatch> for MatchDto {
    fn from(m: RuleMatch) -> Self {
        MatchDto {
            rule_id: m.rule_id,
            name: m.name,
            action: m.action.as_str().into(),
            reason: m.reason,
            error: m.error,
        }
    }
}
