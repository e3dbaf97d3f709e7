//! Time zones by their IANA names (`Asia/Shanghai`, `Asia/Riyadh`): the seller's, and a user's own. Times are
//! stored in UTC; a zone only changes how they are shown.

use std::fmt;

use time::{OffsetDateTime, UtcOffset};

use crate::error::Error;

/// A named time zone whose rules (daylight saving included) come from the bundled tz database.
#[derive(Clone)]
pub struct Zone {
    name: String,
    tz: jiff::tz::TimeZone,
}

impl Zone {
    pub const UTC_NAME: &'static str = "UTC";

    /// Reads an IANA zone name; anything else (offsets, abbreviations such as `CST`, which are ambiguous)
    /// is refused.
    pub fn parse(name: &str) -> Result<Zone, Error> {
        let name = name.trim();
        let bad = || {
            Error::invalid(
                "time_zone",
                "must be a time zone name from the tz database, such as Asia/Shanghai or Asia/Riyadh",
            )
        };
        if name.is_empty()
            || name.len() > 64
            || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b"/_-+".contains(&b))
        {
            return Err(bad());
        }
        let tz = jiff::tz::db().get(name).map_err(|_| bad())?;
        let name = tz.iana_name().unwrap_or(name).to_owned();
        Ok(Zone { name, tz })
    }

    pub fn utc() -> Zone {
        Zone { name: Self::UTC_NAME.into(), tz: jiff::tz::TimeZone::UTC }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The zone's offset from UTC at `at`.
    pub fn offset_at(&self, at: OffsetDateTime) -> UtcOffset {
        let secs =
            jiff::Timestamp::from_second(at.unix_timestamp()).map(|ts| self.tz.to_offset(ts).seconds()).unwrap_or(0);
        UtcOffset::from_whole_seconds(secs).unwrap_or(UtcOffset::UTC)
    }

    /// `at` as wall-clock time in this zone.
    pub fn local(&self, at: OffsetDateTime) -> OffsetDateTime {
        at.to_offset(self.offset_at(at))
    }

    /// The start of the local day `date` in this zone, as a UTC instant (for "placed on or after").
    pub fn start_of(&self, date: time::Date) -> OffsetDateTime {
        let guess = date.midnight().assume_utc();
        let offset = self.offset_at(guess);
        let first = date.midnight().assume_offset(offset);
        // Across a change of offset at midnight the first guess is off by the change; one more step settles it.
        date.midnight().assume_offset(self.offset_at(first))
    }

    /// Every zone name the database knows, sorted.
    pub fn names() -> Vec<String> {
        let mut all: Vec<String> = jiff::tz::db().available().map(|n| n.as_str().to_owned()).collect();
        all.sort();
        all
    }
}

impl fmt::Debug for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl PartialEq for Zone {
    fn eq(&self, other: &Zone) -> bool {
        self.name == other.name
    }
}

impl Eq for Zone {}

#[cfg(test)]
mod tests {
    use time::macros::{date, datetime};

    use super::*;

    #[test]
    fn shanghai_is_eight_hours_ahead_and_riyadh_three_all_year() {
        let sh = Zone::parse("Asia/Shanghai").unwrap();
        let ry = Zone::parse(" Asia/Riyadh ").unwrap();
        for at in [datetime!(2026-01-15 12:00 UTC), datetime!(2026-07-15 12:00 UTC)] {
            assert_eq!(sh.offset_at(at).whole_hours(), 8);
            assert_eq!(ry.offset_at(at).whole_hours(), 3);
        }
        assert_eq!(sh.local(datetime!(2026-03-01 20:30 UTC)).date(), date!(2026 - 03 - 02));
    }

    #[test]
    fn daylight_saving_follows_the_rules_of_the_zone() {
        let london = Zone::parse("Europe/London").unwrap();
        assert_eq!(london.offset_at(datetime!(2026-01-10 12:00 UTC)).whole_hours(), 0);
        assert_eq!(london.offset_at(datetime!(2026-07-10 12:00 UTC)).whole_hours(), 1);
        assert_eq!(london.start_of(date!(2026 - 07 - 10)), datetime!(2026-07-09 23:00 UTC));
    }

    #[test]
    fn offsets_abbreviations_and_unknown_names_are_refused() {
        for bad in ["", "CST8", "+08:00", "Mars/Olympus", "Asia/Shang hai", "../etc/passwd", &"A".repeat(80)] {
            assert!(Zone::parse(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(Zone::names().iter().any(|n| n == "Asia/Dubai"));
    }
}
