//! Anomaly rules over a shipment's progress (DESIGN.md §4 "Tracking and exceptions"). Each rule is a
//! deadline: the moment its condition starts to hold given what is known now (or none while it cannot).
//! A rule fires once its deadline has passed; its task closes itself when the deadline goes away or moves
//! into the future (a new scan, a release from customs, a delivery). Because every rule is a deadline, the
//! earliest future one tells a sweep when to look at the shipment again, so a sweep touches only the
//! shipments that are due instead of every active one.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::tracking::{FailReason, ShipmentStatus};
use crate::{Error, FieldErrors, Role};

/// What a shipment's events have established so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    pub status: ShipmentStatus,
    /// Event time of the event that set `status`.
    pub status_at: OffsetDateTime,
    /// Latest event time of any scan, mapped or not.
    pub last_scan_at: Option<OffsetDateTime>,
    /// Earliest event time of a scan that shows the parcel moving.
    pub picked_up_at: Option<OffsetDateTime>,
    pub delivered_at: Option<OffsetDateTime>,
    pub failed_attempts: i64,
}

impl Progress {
    /// A shipment just booked: label created at `booked_at`, no scan yet.
    pub fn booked(booked_at: OffsetDateTime) -> Progress {
        Progress {
            status: ShipmentStatus::LabelCreated,
            status_at: booked_at,
            last_scan_at: None,
            picked_up_at: None,
            delivered_at: None,
            failed_attempts: 0,
        }
    }
}

/// What the rules need beyond the events.
#[derive(Clone, Copy, Debug)]
pub struct Watch {
    pub progress: Progress,
    pub booked_at: OffsetDateTime,
    /// Delivered with cash to collect, and the carrier has not remitted it yet.
    pub cod_open: bool,
    pub settlement_cycle_days: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AnomalyKind {
    CustomsHeld,
    Stuck,
    Late,
    DeliveryFailed,
    ReturnExpected,
    Lost,
    CodNotRemitted,
    /// A settlement line that does not match what was expected (opened by reconciliation, not by events).
    SettlementDifference,
    /// The buyer cancelled in the shop after the parcel was booked: stop it before it leaves, or expect it back.
    CancelledAtShop,
    /// The pack station held the parcel: its weight is far from what its items weigh, or no channel can take it.
    WeightIntercepted,
    /// Packed but not handed to the carrier by its cut-off.
    MissedPickup,
    /// A supplier shipment received short, over, damaged or with items it did not announce.
    InboundDiscrepancy,
    /// A parcel the carrier is returning has not been received by its lane's usual return time.
    ReturnOverdue,
    /// A claim still in draft close to the carrier's filing deadline.
    ClaimDeadline,
}

impl AnomalyKind {
    pub const ALL: [AnomalyKind; 14] = [
        AnomalyKind::CustomsHeld,
        AnomalyKind::Stuck,
        AnomalyKind::Late,
        AnomalyKind::DeliveryFailed,
        AnomalyKind::ReturnExpected,
        AnomalyKind::Lost,
        AnomalyKind::CodNotRemitted,
        AnomalyKind::SettlementDifference,
        AnomalyKind::CancelledAtShop,
        AnomalyKind::WeightIntercepted,
        AnomalyKind::MissedPickup,
        AnomalyKind::InboundDiscrepancy,
        AnomalyKind::ReturnOverdue,
        AnomalyKind::ClaimDeadline,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            AnomalyKind::CustomsHeld => "customs_held",
            AnomalyKind::Stuck => "stuck",
            AnomalyKind::Late => "late",
            AnomalyKind::DeliveryFailed => "delivery_failed",
            AnomalyKind::ReturnExpected => "return_expected",
            AnomalyKind::Lost => "lost",
            AnomalyKind::CodNotRemitted => "cod_not_remitted",
            AnomalyKind::SettlementDifference => "settlement_difference",
            AnomalyKind::CancelledAtShop => "cancelled_at_shop",
            AnomalyKind::WeightIntercepted => "weight_intercepted",
            AnomalyKind::MissedPickup => "missed_pickup",
            AnomalyKind::InboundDiscrepancy => "inbound_discrepancy",
            AnomalyKind::ReturnOverdue => "return_overdue",
            AnomalyKind::ClaimDeadline => "claim_deadline",
        }
    }

    pub fn parse(s: &str) -> Result<AnomalyKind, Error> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| Error::invalid("kind", format!("{s:?} is not a task kind")))
    }

    /// Who deals with it.
    pub fn role(&self) -> Role {
        match self {
            AnomalyKind::ReturnExpected
            | AnomalyKind::CodNotRemitted
            | AnomalyKind::SettlementDifference
            | AnomalyKind::ClaimDeadline => Role::Finance,
            AnomalyKind::WeightIntercepted
            | AnomalyKind::MissedPickup
            | AnomalyKind::InboundDiscrepancy
            | AnomalyKind::ReturnOverdue => Role::Warehouse,
            _ => Role::Ops,
        }
    }

    /// What the person is asked to do.
    pub fn title(&self) -> &'static str {
        match self {
            AnomalyKind::CustomsHeld => "Held in customs: contact the forwarder and prepare the documents",
            AnomalyKind::Stuck => "No scan for too long: ask the carrier where the parcel is",
            AnomalyKind::Late => "Past the estimated delivery date: chase the carrier and reassure the buyer",
            AnomalyKind::DeliveryFailed => "Delivery failed: reach the buyer and send the carrier an instruction",
            AnomalyKind::ReturnExpected => "The parcel is coming back: expect the return and no COD for it",
            AnomalyKind::Lost => "Lost or damaged: file a claim with the carrier",
            AnomalyKind::CodNotRemitted => "Delivered COD not remitted after the settlement cycle: claim it",
            AnomalyKind::SettlementDifference => "A settlement differs from what was expected: dispute or accept it",
            AnomalyKind::CancelledAtShop => {
                "Cancelled in the shop after booking: stop the parcel with the carrier or expect it back"
            }
            AnomalyKind::WeightIntercepted => {
                "Held at the pack station: check the contents against the order, re-weigh or release it"
            }
            AnomalyKind::MissedPickup => "Packed but not handed over by the cut-off: hand it over or re-book it",
            AnomalyKind::InboundDiscrepancy => {
                "A supplier shipment differs from its notice: recount, then claim from the supplier or accept it"
            }
            AnomalyKind::ReturnOverdue => {
                "Expected back but not received: ask the carrier where the return is before its claim window closes"
            }
            AnomalyKind::ClaimDeadline => "A claim is still a draft and its filing window closes soon: file it",
        }
    }
}

/// Thresholds for one lane (destination country × channel). Hours unless named otherwise.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields, default)]
pub struct Thresholds {
    pub customs_held_hours: i64,
    pub no_scan_before_pickup_hours: i64,
    pub no_scan_in_transit_hours: i64,
    /// Days from pickup (or booking, before pickup) to the estimated delivery.
    pub transit_days: i64,
    pub late_grace_hours: i64,
    /// Failed attempts after which a return is expected.
    pub failures_before_return: i64,
    pub remit_grace_days: i64,
    /// Hours a person has to act on each kind of task.
    pub sla_hours: BTreeMap<AnomalyKind, i64>,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            customs_held_hours: 48,
            no_scan_before_pickup_hours: 72,
            no_scan_in_transit_hours: 120,
            transit_days: 7,
            late_grace_hours: 0,
            failures_before_return: 3,
            remit_grace_days: 3,
            sla_hours: BTreeMap::new(),
        }
    }
}

impl Thresholds {
    pub fn sla(&self, kind: AnomalyKind) -> Duration {
        let default = match kind {
            AnomalyKind::DeliveryFailed | AnomalyKind::CancelledAtShop => 4,
            AnomalyKind::WeightIntercepted | AnomalyKind::MissedPickup => 2,
            AnomalyKind::ClaimDeadline => 24,
            AnomalyKind::CustomsHeld | AnomalyKind::Stuck | AnomalyKind::InboundDiscrepancy => 24,
            AnomalyKind::Late | AnomalyKind::Lost | AnomalyKind::ReturnOverdue => 48,
            AnomalyKind::ReturnExpected | AnomalyKind::CodNotRemitted | AnomalyKind::SettlementDifference => 72,
        };
        Duration::hours(self.sla_hours.get(&kind).copied().unwrap_or(default))
    }

    fn check(&self, prefix: &str, errors: &mut FieldErrors) {
        let hours = [
            ("customs_held_hours", self.customs_held_hours),
            ("no_scan_before_pickup_hours", self.no_scan_before_pickup_hours),
            ("no_scan_in_transit_hours", self.no_scan_in_transit_hours),
            ("transit_days", self.transit_days),
            ("remit_grace_days", self.remit_grace_days),
            ("late_grace_hours", self.late_grace_hours),
        ];
        for (name, v) in hours {
            if !(0..=24 * 365).contains(&v) {
                errors.push(format!("{prefix}{name}"), "must be between 0 and 8760");
            }
        }
        if !(1..=10).contains(&self.failures_before_return) {
            errors.push(format!("{prefix}failures_before_return"), "must be between 1 and 10");
        }
        for (k, v) in &self.sla_hours {
            if !(1..=24 * 90).contains(v) {
                errors.push(format!("{prefix}sla_hours.{}", k.as_str()), "must be between 1 and 2160");
            }
        }
    }
}

/// The default thresholds and the lanes that differ, keyed `CC` (every channel to a country) or
/// `CC/channel-code`. A lane entry is complete: it replaces the default for that lane.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields, default)]
pub struct AnomalySettings {
    pub default: Thresholds,
    pub lanes: BTreeMap<String, Thresholds>,
}

impl AnomalySettings {
    pub fn for_lane(&self, country: &str, channel: &str) -> &Thresholds {
        self.lanes.get(&format!("{country}/{channel}")).or_else(|| self.lanes.get(country)).unwrap_or(&self.default)
    }

    pub fn validate(&self) -> Result<(), FieldErrors> {
        let mut errors = FieldErrors::default();
        self.default.check("default.", &mut errors);
        for (key, t) in &self.lanes {
            let (country, channel) = key.split_once('/').map_or((key.as_str(), None), |(a, b)| (a, Some(b)));
            let bad_country = country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase());
            if bad_country || channel.is_some_and(|c| c.is_empty()) {
                errors.push(format!("lanes.{key}"), "a lane is CC or CC/channel-code");
            }
            t.check(&format!("lanes.{key}."), &mut errors);
        }
        if errors.is_empty() { Ok(()) } else { Err(errors) }
    }
}

/// The estimated delivery: transit days from pickup, or from booking while the parcel has not moved.
pub fn eta(w: &Watch, th: &Thresholds) -> OffsetDateTime {
    w.progress.picked_up_at.unwrap_or(w.booked_at) + Duration::days(th.transit_days)
}

/// When `kind`'s condition holds from, given what is known; None while it cannot hold.
pub fn deadline(kind: AnomalyKind, w: &Watch, th: &Thresholds) -> Option<OffsetDateTime> {
    use ShipmentStatus::*;
    let p = &w.progress;
    let settled = matches!(p.status, Delivered | Returned | Cancelled);
    match kind {
        AnomalyKind::CustomsHeld => {
            matches!(p.status, CustomsHeld(_)).then(|| p.status_at + Duration::hours(th.customs_held_hours))
        }
        AnomalyKind::Stuck => {
            if settled || matches!(p.status, Lost | Damaged) {
                return None;
            }
            let last = p.last_scan_at.unwrap_or(w.booked_at).max(w.booked_at);
            let limit =
                if p.picked_up_at.is_some() { th.no_scan_in_transit_hours } else { th.no_scan_before_pickup_hours };
            Some(last + Duration::hours(limit))
        }
        AnomalyKind::Late => {
            let over = settled || matches!(p.status, Returning | Lost | Damaged);
            (!over).then(|| eta(w, th) + Duration::hours(th.late_grace_hours))
        }
        AnomalyKind::DeliveryFailed => match p.status {
            DeliveryFailed(r) if r != FailReason::Refused && p.failed_attempts < th.failures_before_return => {
                Some(p.status_at)
            }
            _ => None,
        },
        AnomalyKind::ReturnExpected => {
            if matches!(p.status, Delivered | Returned | Cancelled | Returning) {
                return None;
            }
            let refused = matches!(p.status, DeliveryFailed(FailReason::Refused));
            (refused || p.failed_attempts >= th.failures_before_return).then_some(p.status_at)
        }
        AnomalyKind::Lost => matches!(p.status, Lost | Damaged).then_some(p.status_at),
        AnomalyKind::CodNotRemitted => match (w.cod_open, p.delivered_at) {
            (true, Some(d)) => Some(d + Duration::days(w.settlement_cycle_days + th.remit_grace_days)),
            _ => None,
        },
        AnomalyKind::SettlementDifference
        | AnomalyKind::CancelledAtShop
        | AnomalyKind::WeightIntercepted
        | AnomalyKind::MissedPickup
        | AnomalyKind::InboundDiscrepancy
        | AnomalyKind::ReturnOverdue
        | AnomalyKind::ClaimDeadline => None,
    }
}

/// The anomalies that hold at `now`.
pub fn active(w: &Watch, th: &Thresholds, now: OffsetDateTime) -> Vec<AnomalyKind> {
    AnomalyKind::ALL.into_iter().filter(|k| deadline(*k, w, th).is_some_and(|d| d <= now)).collect()
}

/// When a sweep should look again: the earliest deadline after `now`, none when nothing more can fire
/// without a new event.
pub fn next_check(w: &Watch, th: &Thresholds, now: OffsetDateTime) -> Option<OffsetDateTime> {
    AnomalyKind::ALL.into_iter().filter_map(|k| deadline(k, w, th)).filter(|d| *d > now).min()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tracking::HoldReason;

    fn t0() -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH + Duration::days(20_000)
    }

    fn watch(status: ShipmentStatus, status_at: OffsetDateTime) -> Watch {
        Watch {
            progress: Progress {
                status,
                status_at,
                last_scan_at: Some(status_at),
                picked_up_at: Some(t0()),
                delivered_at: None,
                failed_attempts: 0,
            },
            booked_at: t0(),
            cod_open: false,
            settlement_cycle_days: 14,
        }
    }

    #[test]
    fn customs_held_fires_at_exactly_the_threshold() {
        let th = Thresholds::default();
        let w = watch(ShipmentStatus::CustomsHeld(HoldReason::Documentation), t0());
        let at = t0() + Duration::hours(48);
        assert!(!active(&w, &th, at - Duration::seconds(1)).contains(&AnomalyKind::CustomsHeld));
        assert!(active(&w, &th, at).contains(&AnomalyKind::CustomsHeld));
        assert_eq!(next_check(&w, &th, t0()), Some(at));
    }

    #[test]
    fn stuck_counts_from_the_last_scan_with_a_shorter_limit_before_pickup() {
        let th = Thresholds::default();
        let mut w = watch(ShipmentStatus::LabelCreated, t0());
        w.progress.picked_up_at = None;
        assert_eq!(deadline(AnomalyKind::Stuck, &w, &th), Some(t0() + Duration::days(3)));
        let mut moving = watch(ShipmentStatus::InTransit, t0() + Duration::days(1));
        moving.progress.last_scan_at = Some(t0() + Duration::days(1));
        assert_eq!(deadline(AnomalyKind::Stuck, &moving, &th), Some(t0() + Duration::days(6)));
        assert_eq!(deadline(AnomalyKind::Stuck, &watch(ShipmentStatus::Delivered, t0()), &th), None);
    }

    #[test]
    fn late_is_measured_from_pickup_and_ends_with_delivery_or_return() {
        let th = Thresholds { transit_days: 5, late_grace_hours: 12, ..Thresholds::default() };
        let w = watch(ShipmentStatus::InTransit, t0());
        assert_eq!(deadline(AnomalyKind::Late, &w, &th), Some(t0() + Duration::days(5) + Duration::hours(12)));
        assert_eq!(deadline(AnomalyKind::Late, &watch(ShipmentStatus::Returning, t0()), &th), None);
    }

    #[test]
    fn the_third_failure_expects_a_return_instead_of_another_attempt() {
        let th = Thresholds::default();
        let mut w = watch(ShipmentStatus::DeliveryFailed(FailReason::NotHome), t0());
        w.progress.failed_attempts = 2;
        assert_eq!(active(&w, &th, t0()), vec![AnomalyKind::DeliveryFailed]);
        w.progress.failed_attempts = 3;
        assert_eq!(active(&w, &th, t0()), vec![AnomalyKind::ReturnExpected]);
        let refused = watch(ShipmentStatus::DeliveryFailed(FailReason::Refused), t0());
        assert_eq!(active(&refused, &th, t0()), vec![AnomalyKind::ReturnExpected]);
        assert_eq!(AnomalyKind::ReturnExpected.role(), Role::Finance);
    }

    #[test]
    fn unremitted_cod_waits_for_the_cycle_plus_grace() {
        let th = Thresholds::default();
        let mut w = watch(ShipmentStatus::Delivered, t0());
        w.progress.delivered_at = Some(t0());
        w.cod_open = true;
        let due = t0() + Duration::days(17);
        assert_eq!(deadline(AnomalyKind::CodNotRemitted, &w, &th), Some(due));
        assert_eq!(active(&w, &th, due), vec![AnomalyKind::CodNotRemitted]);
        w.cod_open = false;
        assert!(active(&w, &th, due).is_empty());
    }

    #[test]
    fn a_lane_entry_beats_the_country_which_beats_the_default() {
        let mut s = AnomalySettings::default();
        s.lanes.insert("SA".into(), Thresholds { customs_held_hours: 24, ..Thresholds::default() });
        s.lanes.insert("SA/sbx-sa".into(), Thresholds { customs_held_hours: 12, ..Thresholds::default() });
        assert_eq!(s.for_lane("SA", "sbx-sa").customs_held_hours, 12);
        assert_eq!(s.for_lane("SA", "other").customs_held_hours, 24);
        assert_eq!(s.for_lane("AE", "sbx-sa").customs_held_hours, 48);
        s.lanes.insert("saudi".into(), Thresholds { failures_before_return: 0, ..Thresholds::default() });
        let e = s.validate().expect_err("accepted a bad lane");
        let paths: Vec<&str> = e.0.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["lanes.saudi", "lanes.saudi.failures_before_return"]);
    }
}
