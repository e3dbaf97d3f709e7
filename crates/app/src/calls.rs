//! Customer service confirms held COD orders by phone: each call is recorded on the order's history with its
//! outcome, and the outcome decides: a confirmed order is approved, a refused one cancelled, and after
//! [`NO_ANSWER_LIMIT`] unanswered calls the order is cancelled as unreachable. Notes on an order are kept the
//! same way.

use codflow_domain::{Actor, AuditRecord, OrderId, OrderStatus};
use codflow_store::{commit, orders};

use crate::orders::Action;
use crate::{Error, Intake, Result};

/// Unanswered calls after which an order is cancelled.
pub const NO_ANSWER_LIMIT: usize = 3;
/// How long after an unanswered call the next one is due.
pub const RETRY_AFTER: time::Duration = time::Duration::hours(2);

/// The calls made to one order so far.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CallSummary {
    pub calls: usize,
    pub last_outcome: Option<String>,
    pub last_actor: Option<String>,
}
/// The longest note or call remark kept.
const NOTE_MAX: usize = 2000;

/// What a confirmation call came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallOutcome {
    Confirmed,
    NoAnswer,
    WrongNumber,
    Refused,
}

impl CallOutcome {
    pub const ALL: [CallOutcome; 4] =
        [CallOutcome::Confirmed, CallOutcome::NoAnswer, CallOutcome::WrongNumber, CallOutcome::Refused];

    pub fn as_str(self) -> &'static str {
        match self {
            CallOutcome::Confirmed => "confirmed",
            CallOutcome::NoAnswer => "no_answer",
            CallOutcome::WrongNumber => "wrong_number",
            CallOutcome::Refused => "refused",
        }
    }

    pub fn parse(s: &str) -> Result<CallOutcome> {
        CallOutcome::ALL
            .into_iter()
            .find(|o| o.as_str() == s.trim())
            .ok_or_else(|| Error::invalid("outcome", "must be confirmed, no_answer, wrong_number or refused"))
    }
}

/// A recorded call and what it did to the order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Called {
    pub outcome: CallOutcome,
    /// Calls made to this order so far, this one included.
    pub attempts: usize,
    /// The order's status after the call.
    pub status: OrderStatus,
}

fn remark(text: &str, field: &'static str) -> Result<Option<String>> {
    let text = text.trim();
    codflow_domain::text::block(text, NOTE_MAX).map_err(|e| Error::invalid(field, e.to_string()))?;
    Ok(Some(text.to_owned()).filter(|t| !t.is_empty()))
}

impl Intake {
    /// Adds a note to an order's history.
    pub async fn add_order_note(&self, id: &OrderId, text: &str, actor: Actor) -> Result<()> {
        let note = remark(text, "note")?.ok_or_else(|| Error::invalid("note", "must not be empty"))?;
        self.record(id, "note", None, Some(note), actor).await
    }

    async fn record(
        &self,
        id: &OrderId,
        action: &str,
        to: Option<String>,
        reason: Option<String>,
        actor: Actor,
    ) -> Result<()> {
        let now = self.clock().now();
        let mut tx = self.store.begin().await?;
        orders::get(&mut tx, id).await?.ok_or(Error::NotFound("order"))?;
        let mut a = AuditRecord::change("order", id.to_string(), action, None, to, actor, now);
        a.reason = reason;
        orders::insert_audit(&mut tx, &[a]).await?;
        commit(tx).await?;
        Ok(())
    }

    /// For each of these orders that was called, how often and how the last call went.
    pub async fn call_summaries(&self, ids: &[OrderId]) -> Result<std::collections::HashMap<String, CallSummary>> {
        let rows = orders::calls_of(&mut *self.store.read().await?, ids).await?;
        let mut out: std::collections::HashMap<String, CallSummary> = std::collections::HashMap::new();
        for (id, outcome, actor, _) in rows {
            let s = out.entry(id).or_default();
            s.calls += 1;
            s.last_outcome = Some(outcome);
            s.last_actor = Some(actor);
        }
        Ok(out)
    }

    /// The confirmation calls made to an order, oldest first: (outcome, remark, who, when).
    pub async fn calls(&self, id: &OrderId) -> Result<Vec<orders::StoredAudit>> {
        Ok(self.order_history(id).await?.into_iter().filter(|a| a.action == "call").collect())
    }

    /// Records a confirmation call to a held order and acts on its outcome.
    pub async fn record_call(&self, id: &OrderId, outcome: CallOutcome, note: &str, actor: Actor) -> Result<Called> {
        let note = remark(note, "note")?;
        let order = self.order(id).await?;
        if !matches!(order.status, OrderStatus::OnHold | OrderStatus::PendingReview) {
            return Err(Error::invalid("order", "only orders waiting for review are confirmed by phone"));
        }
        self.record(id, "call", Some(outcome.as_str().to_owned()), note, actor.clone()).await?;
        let calls = self.calls(id).await?;
        let unanswered = calls.iter().filter(|c| c.to_status.as_deref() == Some("no_answer")).count();
        let decided = match outcome {
            CallOutcome::Confirmed => Some((Action::Approve, "confirmed by the buyer on the phone".to_owned())),
            CallOutcome::Refused => Some((Action::Cancel, "refused by the buyer on the phone".to_owned())),
            CallOutcome::NoAnswer if unanswered >= NO_ANSWER_LIMIT => {
                Some((Action::Cancel, format!("no answer after {unanswered} calls")))
            }
            _ => None,
        };
        let status = match decided {
            Some((action, why)) => self.act_on_order(id, action, actor, Some(why)).await?.status,
            None => order.status,
        };
        Ok(Called { outcome, attempts: calls.len(), status })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_outcomes_read_back_from_their_names_and_nothing_else() {
        for o in CallOutcome::ALL {
            assert_eq!(CallOutcome::parse(o.as_str()).unwrap(), o);
        }
        assert!(CallOutcome::parse("maybe").is_err());
    }
}
