//! The states of the work codflow queues for itself and for people: a booking with the carrier, a task, a
//! message to a buyer, a delivery from a shop, an update owed to a shop. Stored by their `as_str` names.

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
