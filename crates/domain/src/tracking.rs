//! The shipment's physical status machine (DESIGN.md §4): carrier events normalised to a status with a
//! reason, folded in event time. A late or repeated event never moves a shipment backwards except along the
//! transitions parcels really make (a failed delivery goes out for delivery again; a held parcel is released).

use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::Error;
use crate::anomaly::Progress;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HoldReason {
    Documentation,
    DutiesUnpaid,
    Inspection,
    Prohibited,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailReason {
    NotHome,
    Refused,
    AddressIssue,
    CodNotReady,
    Other,
}

/// Status and, for holds and failed deliveries, why.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ShipmentStatus {
    LabelCreated,
    PickedUp,
    InTransit,
    CustomsProcessing,
    CustomsHeld(HoldReason),
    CustomsReleased,
    OutForDelivery,
    DeliveryFailed(FailReason),
    AvailableForPickup,
    Delivered,
    Returning,
    Returned,
    Lost,
    Damaged,
    Cancelled,
    /// A carrier code nobody has mapped yet: kept, never moves the shipment.
    Unknown,
}

const HOLDS: [(&str, HoldReason); 4] = [
    ("documentation", HoldReason::Documentation),
    ("duties_unpaid", HoldReason::DutiesUnpaid),
    ("inspection", HoldReason::Inspection),
    ("prohibited", HoldReason::Prohibited),
];

const FAILS: [(&str, FailReason); 5] = [
    ("not_home", FailReason::NotHome),
    ("refused", FailReason::Refused),
    ("address_issue", FailReason::AddressIssue),
    ("cod_not_ready", FailReason::CodNotReady),
    ("other", FailReason::Other),
];

impl ShipmentStatus {
    /// `status` or `status:reason` (`customs_held:documentation`, `delivery_failed:refused`).
    pub fn parse(s: &str) -> Result<ShipmentStatus, Error> {
        use ShipmentStatus::*;
        let (status, reason) = s.split_once(':').map_or((s, None), |(a, b)| (a, Some(b)));
        let bad = || Error::invalid("status", format!("{s:?} is not a shipment status"));
        let simple = match status {
            "label_created" => LabelCreated,
            "picked_up" => PickedUp,
            "in_transit" => InTransit,
            "customs_processing" => CustomsProcessing,
            "customs_released" => CustomsReleased,
            "out_for_delivery" => OutForDelivery,
            "available_for_pickup" => AvailableForPickup,
            "delivered" => Delivered,
            "returning" => Returning,
            "returned" => Returned,
            "lost" => Lost,
            "damaged" => Damaged,
            "cancelled" => Cancelled,
            "unknown" => Unknown,
            "customs_held" => {
                let r = reason.unwrap_or("inspection");
                return HOLDS.iter().find(|(k, _)| *k == r).map(|(_, v)| CustomsHeld(*v)).ok_or_else(bad);
            }
            "delivery_failed" => {
                let r = reason.unwrap_or("other");
                return FAILS.iter().find(|(k, _)| *k == r).map(|(_, v)| DeliveryFailed(*v)).ok_or_else(bad);
            }
            _ => return Err(bad()),
        };
        if reason.is_some() {
            return Err(bad());
        }
        Ok(simple)
    }

    pub fn status_str(&self) -> &'static str {
        use ShipmentStatus::*;
        match self {
            LabelCreated => "label_created",
            PickedUp => "picked_up",
            InTransit => "in_transit",
            CustomsProcessing => "customs_processing",
            CustomsHeld(_) => "customs_held",
            CustomsReleased => "customs_released",
            OutForDelivery => "out_for_delivery",
            DeliveryFailed(_) => "delivery_failed",
            AvailableForPickup => "available_for_pickup",
            Delivered => "delivered",
            Returning => "returning",
            Returned => "returned",
            Lost => "lost",
            Damaged => "damaged",
            Cancelled => "cancelled",
            Unknown => "unknown",
        }
    }

    pub fn reason_str(&self) -> Option<&'static str> {
        match self {
            ShipmentStatus::CustomsHeld(r) => HOLDS.iter().find(|(_, v)| v == r).map(|(k, _)| *k),
            ShipmentStatus::DeliveryFailed(r) => FAILS.iter().find(|(_, v)| v == r).map(|(k, _)| *k),
            _ => None,
        }
    }

    /// How far along the journey; events may move a shipment forward, and sideways only as
    /// [`ShipmentStatus::may_follow`] allows.
    fn stage(&self) -> u8 {
        use ShipmentStatus::*;
        match self {
            Unknown => 0,
            LabelCreated => 1,
            PickedUp => 2,
            InTransit => 3,
            CustomsProcessing | CustomsHeld(_) => 4,
            CustomsReleased => 5,
            OutForDelivery | DeliveryFailed(_) | AvailableForPickup => 6,
            Delivered | Lost | Damaged => 7,
            Returning => 8,
            Returned | Cancelled => 9,
        }
    }

    /// Nothing moves a shipment out of these.
    pub fn is_final(&self) -> bool {
        matches!(self, ShipmentStatus::Delivered | ShipmentStatus::Returned | ShipmentStatus::Cancelled)
    }

    /// Whether a shipment in `self` may take `next` from a later event.
    pub fn may_follow(&self, next: ShipmentStatus) -> bool {
        use ShipmentStatus::*;
        if next == Unknown || self.is_final() || next == *self {
            return false;
        }
        match (self, next) {
            // A parcel reported lost or damaged can turn up and carry on.
            (Lost | Damaged, n) => n.stage() >= InTransit.stage() && n != Lost,
            // Retries at the door, and customs going back and forth before release.
            (DeliveryFailed(_), OutForDelivery | DeliveryFailed(_) | AvailableForPickup) => true,
            (OutForDelivery | AvailableForPickup, DeliveryFailed(_) | OutForDelivery | AvailableForPickup) => true,
            (CustomsHeld(_), CustomsProcessing | CustomsHeld(_)) => true,
            (CustomsProcessing, CustomsHeld(_)) => true,
            // Anything on its way out can be cancelled, returned, lost or damaged.
            (_, Cancelled) => self.stage() <= PickedUp.stage(),
            (_, Returning | Returned | Lost | Damaged) => true,
            (s, n) => n.stage() > s.stage(),
        }
    }
}

impl fmt::Display for ShipmentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.reason_str() {
            Some(r) => write!(f, "{}:{r}", self.status_str()),
            None => f.write_str(self.status_str()),
        }
    }
}

/// One normalised event as the fold sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackingEvent {
    pub at: OffsetDateTime,
    /// The carrier's own code, with `at` the event's identity: the same code at the same time is one event.
    pub carrier_code: String,
    pub status: ShipmentStatus,
}

/// The status the events lead to, whatever order they arrived in: duplicates dropped, sorted by event time
/// (ties by carrier code, so the answer never depends on arrival), each applied only where it may follow.
pub fn fold(start: ShipmentStatus, events: &[TrackingEvent]) -> ShipmentStatus {
    let mut sorted: Vec<&TrackingEvent> = events.iter().collect();
    sorted.sort_by(|a, b| (a.at, &a.carrier_code).cmp(&(b.at, &b.carrier_code)));
    sorted.dedup_by(|a, b| a.at == b.at && a.carrier_code == b.carrier_code);
    sorted.iter().fold(start, |s, e| if s.may_follow(e.status) { e.status } else { s })
}

/// Where the cash of a shipment is (DESIGN.md §4, the COD machine). `pending` is a COD parcel not yet
/// delivered; `void` one that will never be paid for (refused, returned, lost, cancelled).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CodStatus {
    NotApplicable,
    Pending,
    Expected,
    Collected,
    Remitted,
    PaidOut,
    ShortPaid,
    Disputed,
    WrittenOff,
    Void,
}

impl CodStatus {
    pub const ALL: [CodStatus; 10] = [
        CodStatus::NotApplicable,
        CodStatus::Pending,
        CodStatus::Expected,
        CodStatus::Collected,
        CodStatus::Remitted,
        CodStatus::PaidOut,
        CodStatus::ShortPaid,
        CodStatus::Disputed,
        CodStatus::WrittenOff,
        CodStatus::Void,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            CodStatus::NotApplicable => "not_applicable",
            CodStatus::Pending => "pending",
            CodStatus::Expected => "expected",
            CodStatus::Collected => "collected",
            CodStatus::Remitted => "remitted",
            CodStatus::PaidOut => "paid_out",
            CodStatus::ShortPaid => "short_paid",
            CodStatus::Disputed => "disputed",
            CodStatus::WrittenOff => "written_off",
            CodStatus::Void => "void",
        }
    }

    pub fn parse(s: &str) -> Result<CodStatus, Error> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| Error::invalid("cod_status", format!("{s:?} is not a COD status")))
    }

    /// Cash the carrier holds or owes and has not remitted yet.
    pub fn is_open(&self) -> bool {
        matches!(self, CodStatus::Expected | CodStatus::Collected)
    }

    /// Where the cash goes when the shipment reaches `status`; None when it does not change.
    pub fn follow(self, status: ShipmentStatus) -> Option<CodStatus> {
        use ShipmentStatus::*;
        match (self, status) {
            // A parcel given up for lost (or refused once) can still be delivered and paid for.
            (CodStatus::Pending | CodStatus::Void, Delivered) => Some(CodStatus::Expected),
            (CodStatus::Pending, Returning | Returned | Lost | Damaged | Cancelled) => Some(CodStatus::Void),
            (CodStatus::Pending, DeliveryFailed(FailReason::Refused)) => Some(CodStatus::Void),
            _ => None,
        }
    }
}

/// Whether a scan in this status shows the parcel has left the seller.
pub fn shows_movement(s: ShipmentStatus) -> bool {
    s.stage() >= ShipmentStatus::PickedUp.stage() && s != ShipmentStatus::Cancelled
}

/// Everything the events establish, from a shipment booked at `booked_at`.
pub fn progress_of(booked_at: OffsetDateTime, events: &[TrackingEvent]) -> Progress {
    let mut sorted: Vec<&TrackingEvent> = events.iter().collect();
    sorted.sort_by(|a, b| (a.at, &a.carrier_code).cmp(&(b.at, &b.carrier_code)));
    sorted.dedup_by(|a, b| a.at == b.at && a.carrier_code == b.carrier_code);
    let mut p = Progress::booked(booked_at);
    for e in sorted {
        step(&mut p, e);
    }
    p
}

fn step(p: &mut Progress, e: &TrackingEvent) {
    p.last_scan_at = Some(p.last_scan_at.map_or(e.at, |t| t.max(e.at)));
    if shows_movement(e.status) {
        p.picked_up_at = Some(p.picked_up_at.map_or(e.at, |t| t.min(e.at)));
    }
    if matches!(e.status, ShipmentStatus::DeliveryFailed(_)) {
        p.failed_attempts += 1;
    }
    if p.status.may_follow(e.status) {
        p.status = e.status;
        p.status_at = e.at;
        if e.status == ShipmentStatus::Delivered {
            p.delivered_at = Some(e.at);
        }
    }
}

/// Applies events not seen before to `p`. None when one of them is not newer than every scan seen so far:
/// it could change the path taken, and an earlier event skipped then might apply now, so the caller folds
/// every event again with [`progress_of`]. Events arriving in order take the fast path.
pub fn advance(mut p: Progress, new: &[TrackingEvent]) -> Option<Progress> {
    let latest = p.last_scan_at.unwrap_or(p.status_at).max(p.status_at);
    if new.iter().any(|e| e.at <= latest && e.status != ShipmentStatus::Unknown) {
        return None;
    }
    let mut sorted: Vec<&TrackingEvent> = new.iter().collect();
    sorted.sort_by(|a, b| (a.at, &a.carrier_code).cmp(&(b.at, &b.carrier_code)));
    for e in sorted {
        step(&mut p, e);
    }
    Some(p)
}

#[cfg(test)]
mod tests {
    use super::ShipmentStatus::*;
    use super::*;
    use proptest::prelude::*;
    use time::Duration;

    fn ev(minutes: i64, code: &str, status: &str) -> TrackingEvent {
        TrackingEvent {
            at: OffsetDateTime::UNIX_EPOCH + Duration::minutes(minutes),
            carrier_code: code.into(),
            status: ShipmentStatus::parse(status).unwrap(),
        }
    }

    #[test]
    fn statuses_and_reasons_round_trip_through_their_names() {
        for s in
            ["label_created", "customs_held:duties_unpaid", "delivery_failed:cod_not_ready", "delivered", "unknown"]
        {
            assert_eq!(ShipmentStatus::parse(s).unwrap().to_string(), s);
        }
        assert!(ShipmentStatus::parse("customs_held:bribe").is_err());
        assert!(ShipmentStatus::parse("delivered:late").is_err());
        assert!(ShipmentStatus::parse("teleported").is_err());
    }

    #[test]
    fn a_late_in_transit_scan_does_not_undo_a_delivery() {
        let events = [ev(10, "DLV", "delivered"), ev(5, "TRN", "in_transit"), ev(1, "LBL", "label_created")];
        assert_eq!(fold(LabelCreated, &events), Delivered);
        assert_eq!(fold(Delivered, &[ev(20, "TRN", "in_transit")]), Delivered);
    }

    #[test]
    fn a_failed_delivery_goes_out_again_and_can_fail_again() {
        let events = [
            ev(1, "OFD", "out_for_delivery"),
            ev(2, "NH", "delivery_failed:not_home"),
            ev(3, "OFD", "out_for_delivery"),
            ev(4, "RF", "delivery_failed:refused"),
        ];
        assert_eq!(fold(InTransit, &events), DeliveryFailed(FailReason::Refused));
        assert_eq!(fold(InTransit, &events[..3]), OutForDelivery);
    }

    #[test]
    fn customs_holds_and_releases_and_unknown_codes_change_nothing() {
        let events = [
            ev(1, "CP", "customs_processing"),
            ev(2, "CH", "customs_held:documentation"),
            ev(3, "X9", "unknown"),
            ev(4, "CR", "customs_released"),
        ];
        assert_eq!(fold(InTransit, &events[..3]), CustomsHeld(HoldReason::Documentation));
        assert_eq!(fold(InTransit, &events), CustomsReleased);
        assert!(!CustomsReleased.may_follow(CustomsHeld(HoldReason::Inspection)), "released stays released");
    }

    #[test]
    fn only_a_parcel_not_yet_moving_can_be_cancelled_and_returns_end_it() {
        assert!(LabelCreated.may_follow(Cancelled));
        assert!(!InTransit.may_follow(Cancelled));
        assert_eq!(
            fold(DeliveryFailed(FailReason::Refused), &[ev(1, "RT", "returning"), ev(2, "RD", "returned")]),
            Returned
        );
        assert!(!Returned.may_follow(OutForDelivery));
        assert!(Lost.may_follow(Delivered), "a lost parcel can turn up");
    }

    fn any_event() -> impl Strategy<Value = TrackingEvent> {
        let names = [
            "label_created",
            "picked_up",
            "in_transit",
            "customs_processing",
            "customs_held:inspection",
            "customs_released",
            "out_for_delivery",
            "delivery_failed:not_home",
            "delivered",
            "returning",
            "returned",
            "lost",
            "cancelled",
            "unknown",
        ];
        (0i64..50, 0usize..names.len()).prop_map(move |(m, i)| ev(m, &format!("C{i}"), names[i]))
    }

    #[test]
    fn progress_counts_failures_and_remembers_pickup_and_delivery() {
        let events = [
            ev(1, "PKP", "picked_up"),
            ev(2, "OFD", "out_for_delivery"),
            ev(3, "NH", "delivery_failed:not_home"),
            ev(4, "OFD2", "out_for_delivery"),
            ev(5, "DLV", "delivered"),
        ];
        let p = progress_of(OffsetDateTime::UNIX_EPOCH, &events);
        assert_eq!(p.status, Delivered);
        assert_eq!(p.failed_attempts, 1);
        assert_eq!(p.picked_up_at, Some(events[0].at));
        assert_eq!(p.delivered_at, Some(events[4].at));
        assert_eq!(p.last_scan_at, Some(events[4].at));
    }

    proptest! {
        #[test]
        fn advancing_in_batches_agrees_with_folding_everything(events in prop::collection::vec(any_event(), 0..30), cut in 0usize..30) {
            let cut = cut.min(events.len());
            let start = OffsetDateTime::UNIX_EPOCH;
            let mut seen: Vec<TrackingEvent> = Vec::new();
            let mut p = Progress::booked(start);
            for batch in [&events[..cut], &events[cut..]] {
                let fresh: Vec<TrackingEvent> = batch.iter().filter(|e| !seen.iter().any(|s| s.at == e.at && s.carrier_code == e.carrier_code)).cloned().collect();
                let mut uniq: Vec<TrackingEvent> = Vec::new();
                for e in fresh { if !uniq.iter().any(|u| u.at == e.at && u.carrier_code == e.carrier_code) { uniq.push(e); } }
                seen.extend(uniq.iter().cloned());
                p = advance(p, &uniq).unwrap_or_else(|| progress_of(start, &seen));
            }
            prop_assert_eq!(p, progress_of(start, &events));
        }

        #[test]
        fn the_result_does_not_depend_on_arrival_order_or_repeats(events in prop::collection::vec(any_event(), 0..30), seed in any::<u64>()) {
            let first = fold(LabelCreated, &events);
            let mut again = events.clone();
            again.extend(events.iter().cloned());
            // A deterministic shuffle from the seed.
            let mut x = seed | 1;
            for i in (1..again.len()).rev() {
                x ^= x << 13; x ^= x >> 7; x ^= x << 17;
                again.swap(i, (x % (i as u64 + 1)) as usize);
            }
            prop_assert_eq!(fold(LabelCreated, &again), first);
        }

        #[test]
        fn a_final_status_is_never_left(events in prop::collection::vec(any_event(), 0..30)) {
            for start in [Delivered, Returned, Cancelled] {
                prop_assert_eq!(fold(start, &events), start);
            }
        }
    }
}
