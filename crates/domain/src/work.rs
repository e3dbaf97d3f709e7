//! The work codflow queues for itself and for people, and its states: a shipment to book with the carrier,
//! a task, a message to a buyer, a delivery from a shop, an update owed to a shop. Statuses are stored by
//! their `as_str` names.

use time::OffsetDateTime;

use crate::anomaly::AnomalyKind;
use crate::{ChannelCode, InboxId, Money, NotificationId, OrderId, PushId, Role, ShipmentId, ShopCode, TaskId};

/// Where a shipment is in booking.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BookingStatus {
    /// Waiting for a booking worker (or an explicit booking call).
    Pending,
    Booked,
    /// The carrier refused it; the order stays allocated and the booking can be retried.
    Failed,
    Cancelled,
}

impl BookingStatus {
    const ALL: [BookingStatus; 4] =
        [BookingStatus::Pending, BookingStatus::Booked, BookingStatus::Failed, BookingStatus::Cancelled];

    pub fn as_str(&self) -> &'static str {
        match self {
            BookingStatus::Pending => "pending",
            BookingStatus::Booked => "booked",
            BookingStatus::Failed => "failed",
            BookingStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<BookingStatus> {
        BookingStatus::ALL.into_iter().find(|b| b.as_str() == s)
    }
}

/// Where a task for a person stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskStatus {
    Open,
    InProgress,
    Done,
}

impl TaskStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            TaskStatus::Open => "open",
            TaskStatus::InProgress => "in_progress",
            TaskStatus::Done => "done",
        }
    }

    pub fn parse(s: &str) -> Option<TaskStatus> {
        [TaskStatus::Open, TaskStatus::InProgress, TaskStatus::Done].into_iter().find(|t| t.as_str() == s)
    }
}

/// How a message reaches a buyer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageChannel {
    Email,
    Sms,
}

impl MessageChannel {
    pub fn as_str(&self) -> &'static str {
        match self {
            MessageChannel::Email => "email",
            MessageChannel::Sms => "sms",
        }
    }

    pub fn parse(s: &str) -> Option<MessageChannel> {
        [MessageChannel::Email, MessageChannel::Sms].into_iter().find(|c| c.as_str() == s)
    }
}

/// Where something sent on codflow's behalf stands (a buyer message, an update owed to a shop).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendStatus {
    /// Waiting for its next attempt.
    Pending,
    /// Claimed by a sender until its next attempt time; if that passes, the sender died and it is due again.
    Sending,
    Sent,
    /// Gave up after the last attempt; a person has to look.
    Dead,
}

impl SendStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            SendStatus::Pending => "pending",
            SendStatus::Sending => "sending",
            SendStatus::Sent => "sent",
            SendStatus::Dead => "dead",
        }
    }

    pub fn parse(s: &str) -> Option<SendStatus> {
        [SendStatus::Pending, SendStatus::Sending, SendStatus::Sent, SendStatus::Dead]
            .into_iter()
            .find(|st| st.as_str() == s)
    }
}

/// Where a delivery from a shop (a webhook or a pulled order) stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InboxStatus {
    /// Stored, not yet turned into an order.
    Pending,
    /// Turned into an order, or recognised as nothing to do (see its outcome).
    Done,
    /// Could not be used as it stands (its error says why); kept for a person to fix and replay.
    Failed,
}

impl InboxStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            InboxStatus::Pending => "pending",
            InboxStatus::Done => "done",
            InboxStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<InboxStatus> {
        [InboxStatus::Pending, InboxStatus::Done, InboxStatus::Failed].into_iter().find(|x| x.as_str() == s)
    }
}

/// What a shop is told about its order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PushEvent {
    /// The label exists: the shop gets the tracking number and link.
    Shipped,
    Delivered,
}

impl PushEvent {
    pub fn as_str(&self) -> &'static str {
        match self {
            PushEvent::Shipped => "shipped",
            PushEvent::Delivered => "delivered",
        }
    }

    pub fn parse(s: &str) -> Option<PushEvent> {
        [PushEvent::Shipped, PushEvent::Delivered].into_iter().find(|e| e.as_str() == s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_reads_back_from_its_stored_name_and_nothing_else_does() {
        for b in BookingStatus::ALL {
            assert_eq!(BookingStatus::parse(b.as_str()), Some(b));
        }
        for t in [TaskStatus::Open, TaskStatus::InProgress, TaskStatus::Done] {
            assert_eq!(TaskStatus::parse(t.as_str()), Some(t));
        }
        assert_eq!(SendStatus::parse("dead"), Some(SendStatus::Dead));
        assert_eq!(InboxStatus::parse("failed"), Some(InboxStatus::Failed));
        assert_eq!(PushEvent::parse("delivered"), Some(PushEvent::Delivered));
        assert_eq!(MessageChannel::parse("sms"), Some(MessageChannel::Sms));
        assert_eq!(BookingStatus::parse("Booked"), None);
        assert_eq!(TaskStatus::parse(""), None);
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shipment {
    pub id: ShipmentId,
    pub order_id: OrderId,
    pub channel: ChannelCode,
    pub carrier: String,
    pub status: BookingStatus,
    pub attempts: i64,
    pub tracking_number: Option<String>,
    pub carrier_ref: Option<String>,
    /// The carrier's label data as it returned it (JSON), kept to reprint.
    pub label: Option<String>,
    pub last_error: Option<String>,
    pub weight_g: i64,
    pub pieces: i64,
    pub cod: Money,
    pub sort_code: Option<String>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub booked_at: Option<OffsetDateTime>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Task {
    pub id: TaskId,
    pub kind: AnomalyKind,
    pub shipment_id: Option<ShipmentId>,
    pub order_id: Option<OrderId>,
    pub role: Role,
    pub status: TaskStatus,
    pub title: String,
    pub due_at: OffsetDateTime,
    pub assignee: Option<String>,
    pub opened_by: String,
    /// Why it was closed: `recovered` when the shipment recovered by itself, or a person's words.
    pub resolution: Option<String>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub closed_at: Option<OffsetDateTime>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    pub id: String,
    pub author: String,
    pub body: String,
    pub at: OffsetDateTime,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    pub id: NotificationId,
    pub order_id: OrderId,
    pub template: String,
    pub channel: MessageChannel,
    /// Which event of the order the message is about (empty for one-off messages): one message per
    /// (order, template, channel, event) whatever is replayed.
    pub event_key: String,
    pub recipient: String,
    pub language: String,
    pub subject: Option<String>,
    pub body: String,
    pub status: SendStatus,
    pub attempts: i64,
    pub next_attempt_at: OffsetDateTime,
    pub last_error: Option<String>,
    pub created_at: OffsetDateTime,
    pub sent_at: Option<OffsetDateTime>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub id: InboxId,
    pub store: ShopCode,
    /// `webhook` or `pull`.
    pub source: String,
    pub topic: String,
    pub delivery_id: String,
    pub body: String,
    pub received_at: OffsetDateTime,
    pub status: InboxStatus,
    pub attempts: i64,
    pub external_id: Option<String>,
    pub remote_updated_at: Option<OffsetDateTime>,
    pub order_id: Option<OrderId>,
    pub outcome: Option<String>,
    pub error: Option<String>,
    pub processed_at: Option<OffsetDateTime>,
    /// What the mapping decided, one line each.
    pub notes: Option<String>,
}

impl Delivery {
    pub fn new(
        store: ShopCode,
        source: &str,
        topic: &str,
        delivery_id: &str,
        body: String,
        at: OffsetDateTime,
    ) -> Self {
        Delivery {
            id: InboxId::generate(),
            store,
            source: source.to_owned(),
            topic: topic.to_owned(),
            delivery_id: delivery_id.to_owned(),
            body,
            received_at: at,
            status: InboxStatus::Pending,
            attempts: 0,
            external_id: None,
            remote_updated_at: None,
            order_id: None,
            outcome: None,
            error: None,
            processed_at: None,
            notes: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Push {
    pub id: PushId,
    pub store: ShopCode,
    pub order_id: OrderId,
    pub shipment_id: ShipmentId,
    pub event: PushEvent,
    pub event_at: OffsetDateTime,
    pub status: SendStatus,
    pub attempts: i64,
    pub next_attempt_at: OffsetDateTime,
    pub last_error: Option<String>,
    /// The shop's id of what the update created (a Shopify fulfilment or event, a WooCommerce note).
    pub remote_ref: Option<String>,
    pub created_at: OffsetDateTime,
    pub sent_at: Option<OffsetDateTime>,
}

impl Push {
    pub fn new(
        store: ShopCode,
        order_id: OrderId,
        shipment_id: ShipmentId,
        event: PushEvent,
        at: OffsetDateTime,
    ) -> Push {
        Push {
            id: PushId::generate(),
            store,
            order_id,
            shipment_id,
            event,
            event_at: at,
            status: SendStatus::Pending,
            attempts: 0,
            next_attempt_at: at,
            last_error: None,
            remote_ref: None,
            created_at: at,
            sent_at: None,
        }
    }
}
