//! Claims against a carrier for a lost or damaged parcel: why one may be opened, the window the carrier
//! allows for filing, and the states a claim passes through until it is paid.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::tracking::ShipmentStatus;
use crate::{Error, FieldErrors, Money};

/// The longest filing window an account may set, in days.
pub const MAX_WINDOW_DAYS: i64 = 365;

word_enum!(
    /// Where a claim stands.
    ClaimStatus, "status" {
        Draft => "draft",
        Filed => "filed",
        InReview => "in_review",
        Approved => "approved",
        PartlyApproved => "partly_approved",
        Rejected => "rejected",
        Paid => "paid",
    }
);

impl ClaimStatus {
    pub fn can_move_to(self, to: ClaimStatus) -> bool {
        use ClaimStatus::*;
        matches!(
            (self, to),
            (Draft, Filed)
                | (Filed, InReview)
                | (Filed | InReview, Approved | PartlyApproved | Rejected)
                | (Approved | PartlyApproved, Paid)
        )
    }

    /// Still waiting on the carrier or on us.
    pub fn is_open(self) -> bool {
        !matches!(self, ClaimStatus::Rejected | ClaimStatus::Paid)
    }
}

word_enum!(
    /// Why a claim was opened.
    ClaimReason, "reason" {
        /// The carrier lost the parcel.
        Lost => "lost",
        /// The carrier reported it damaged, or the buyer did on delivery.
        Damaged => "damaged",
        /// It came back and was graded damaged or short.
        ReturnDamaged => "return_damaged",
    }
);

word_enum!(
    /// What a carrier's filing window counts from.
    WindowFrom, "claim_window_from" {
        Booking => "booking",
        LastScan => "last_scan",
    }
);

/// How long a carrier account allows for filing a claim.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClaimWindow {
    pub days: i64,
    pub from: WindowFrom,
}

impl Default for ClaimWindow {
    fn default() -> Self {
        ClaimWindow { days: 30, from: WindowFrom::LastScan }
    }
}

impl ClaimWindow {
    pub fn new(days: i64, from: WindowFrom) -> Result<ClaimWindow, Error> {
        if !(1..=MAX_WINDOW_DAYS).contains(&days) {
            return Err(Error::invalid("claim_window_days", format!("1 to {MAX_WINDOW_DAYS} days")));
        }
        Ok(ClaimWindow { days, from })
    }

    /// The last moment a claim may be filed.
    pub fn deadline(&self, booked_at: OffsetDateTime, last_scan_at: Option<OffsetDateTime>) -> OffsetDateTime {
        let start = match self.from {
            WindowFrom::Booking => booked_at,
            WindowFrom::LastScan => last_scan_at.unwrap_or(booked_at).max(booked_at),
        };
        start + Duration::days(self.days)
    }
}

/// Whether a claim for `reason` may be opened on a parcel in `status`, whose return (if any) was graded
/// with damaged or missing units (`return_loss`), at `now` against `deadline`. The refusal says why.
pub fn may_open(
    reason: ClaimReason,
    status: ShipmentStatus,
    return_loss: bool,
    deadline: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<(), String> {
    let fits = match reason {
        ClaimReason::Lost => status == ShipmentStatus::Lost,
        ClaimReason::Damaged => matches!(status, ShipmentStatus::Damaged | ShipmentStatus::Delivered),
        ClaimReason::ReturnDamaged => return_loss,
    };
    if !fits {
        return Err(match reason {
            ClaimReason::Lost => format!("the parcel is {status}, not lost"),
            ClaimReason::Damaged => format!("the parcel is {status}: a damage claim needs it damaged or delivered"),
            ClaimReason::ReturnDamaged => "its return was not graded with damaged or missing units".into(),
        });
    }
    if now > deadline {
        return Err(format!("the carrier's window for claims closed on {}", deadline.date()));
    }
    Ok(())
}

/// The status a decision puts a claim in: approved in full, in part, or rejected.
pub fn decided(claimed: Money, approved: Money) -> Result<ClaimStatus, Error> {
    if approved.currency != claimed.currency {
        return Err(Error::CurrencyMismatch {
            expected: claimed.currency.to_string(),
            found: approved.currency.to_string(),
        });
    }
    if approved.minor < 0 || approved.minor > claimed.minor {
        return Err(Error::invalid("approved", format!("0 to the {} claimed", claimed)));
    }
    Ok(match approved.minor {
        0 => ClaimStatus::Rejected,
        n if n == claimed.minor => ClaimStatus::Approved,
        _ => ClaimStatus::PartlyApproved,
    })
}

/// The most a buyer's statement says, in characters, and the most photos it carries.
pub const MAX_STATEMENT_CHARS: usize = 2_000;
pub const MAX_STATEMENT_PHOTOS: usize = 4;

/// What the buyer says happened to the parcel, signed with the name they typed, in their language.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuyerStatement {
    pub description: String,
    pub signed_name: String,
    pub language: String,
    pub submitted_at: OffsetDateTime,
    pub photos: i64,
}

/// The description and signature of a buyer's statement, trimmed, if they can stand as evidence: something
/// said (10 to 2,000 characters, line breaks kept, no other control characters), a name (2 to 100 characters)
/// and the box ticked that it is true. Every failing field is named.
pub fn statement_text(description: &str, signed_name: &str, confirmed: bool) -> Result<(String, String), FieldErrors> {
    let mut e = FieldErrors::default();
    let description = description.trim().replace("\r\n", "\n");
    let n = description.chars().count();
    if !(10..=MAX_STATEMENT_CHARS).contains(&n) {
        e.push("description", format!("say what happened in 10 to {MAX_STATEMENT_CHARS} characters"));
    } else if description.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        e.push("description", "no control characters");
    }
    let name = signed_name.trim();
    if !(2..=100).contains(&name.chars().count()) || name.chars().any(char::is_control) {
        e.push("signed_name", "type your full name (2 to 100 characters)");
    }
    if !confirmed {
        e.push("confirm", "confirm that what you say is true");
    }
    if e.is_empty() { Ok((description, name.to_owned())) } else { Err(e) }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::Currency;

    fn sar(minor: i64) -> Money {
        Money::new(minor, Currency::parse("SAR").unwrap())
    }

    #[test]
    fn the_window_counts_from_booking_or_from_the_last_scan() {
        let booked = datetime!(2026-11-01 10:00 UTC);
        let scan = datetime!(2026-11-10 08:00 UTC);
        let w = ClaimWindow::new(14, WindowFrom::Booking).unwrap();
        assert_eq!(w.deadline(booked, Some(scan)), datetime!(2026-11-15 10:00 UTC));
        let w = ClaimWindow::new(14, WindowFrom::LastScan).unwrap();
        assert_eq!(w.deadline(booked, Some(scan)), datetime!(2026-11-24 08:00 UTC));
        assert_eq!(w.deadline(booked, None), datetime!(2026-11-15 10:00 UTC));
        assert!(ClaimWindow::new(0, WindowFrom::Booking).is_err());
        assert!(ClaimWindow::new(MAX_WINDOW_DAYS + 1, WindowFrom::Booking).is_err());
    }

    #[test]
    fn a_claim_opens_only_for_a_parcel_that_fits_its_reason_and_within_the_window() {
        let deadline = datetime!(2026-12-01 00:00 UTC);
        let before = datetime!(2026-11-20 00:00 UTC);
        let after = datetime!(2026-12-02 00:00 UTC);
        assert!(may_open(ClaimReason::Lost, ShipmentStatus::Lost, false, deadline, before).is_ok());
        assert!(may_open(ClaimReason::Lost, ShipmentStatus::InTransit, false, deadline, before).is_err());
        assert!(may_open(ClaimReason::Damaged, ShipmentStatus::Delivered, false, deadline, before).is_ok());
        let late = may_open(ClaimReason::Damaged, ShipmentStatus::Delivered, false, deadline, after).unwrap_err();
        assert_eq!(late, "the carrier's window for claims closed on 2026-12-01");
        assert!(may_open(ClaimReason::ReturnDamaged, ShipmentStatus::Returned, true, deadline, before).is_ok());
        assert!(may_open(ClaimReason::ReturnDamaged, ShipmentStatus::Returned, false, deadline, before).is_err());
    }

    #[test]
    fn a_decision_is_full_partial_or_a_rejection_and_never_more_than_claimed() {
        assert_eq!(decided(sar(10_000), sar(10_000)).unwrap(), ClaimStatus::Approved);
        assert_eq!(decided(sar(10_000), sar(4_000)).unwrap(), ClaimStatus::PartlyApproved);
        assert_eq!(decided(sar(10_000), sar(0)).unwrap(), ClaimStatus::Rejected);
        assert!(decided(sar(10_000), sar(10_001)).is_err());
        assert!(decided(sar(10_000), Money::new(5, Currency::parse("USD").unwrap())).is_err());
    }

    #[test]
    fn claims_move_forward_from_draft_to_paid_and_end_at_rejected_or_paid() {
        use ClaimStatus::*;
        assert!(Draft.can_move_to(Filed));
        assert!(Filed.can_move_to(Approved));
        assert!(InReview.can_move_to(PartlyApproved));
        assert!(PartlyApproved.can_move_to(Paid));
        assert!(!Draft.can_move_to(Paid));
        assert!(!Rejected.can_move_to(Paid));
        assert!(!Paid.is_open() && !Rejected.is_open() && Filed.is_open());
    }

    #[test]
    fn a_buyers_statement_needs_words_a_name_and_the_box_ticked() {
        let (words, name) =
            statement_text("  The box was crushed,\r\nthe mug inside broken.  ", " Noura A. ", true).unwrap();
        assert_eq!((words.as_str(), name.as_str()), ("The box was crushed,\nthe mug inside broken.", "Noura A."));
        let e = statement_text("broken", "N", false).unwrap_err();
        let paths: Vec<&str> = e.0.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["description", "signed_name", "confirm"]);
        let e = statement_text("crushed \u{0}\u{7} badly", "Noura", true).unwrap_err();
        assert_eq!(e.0[0].message, "no control characters");
        assert!(statement_text(&"x".repeat(MAX_STATEMENT_CHARS + 1), "Noura", true).is_err());
        assert!(statement_text(&"é".repeat(MAX_STATEMENT_CHARS), "Noura", true).is_ok(), "counted in characters");
    }
}
