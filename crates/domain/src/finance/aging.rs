//! Receivables aging: cash delivered and not yet remitted, by carrier and currency, in age buckets, and how
//! much of it is past the channel's settlement cycle.

use std::collections::BTreeMap;

use crate::money::Currency;

/// Age buckets in days since delivery.
pub const BUCKETS: [(&str, i64, i64); 5] =
    [("0-7", 0, 7), ("8-14", 8, 14), ("15-30", 15, 30), ("31-60", 31, 60), ("61+", 61, i64::MAX)];

/// Parcels of one carrier, currency and channel delivered `days` ago with their cash still due.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Open {
    pub carrier: String,
    pub currency: Currency,
    pub channel: String,
    pub days: i64,
    pub parcels: i64,
    pub amount_minor: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bucket {
    pub parcels: i64,
    pub amount_minor: i64,
}

/// One carrier and currency: the buckets in [`BUCKETS`] order, and what is past its channel's cycle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgingRow {
    pub carrier: String,
    pub currency: Currency,
    pub buckets: Vec<Bucket>,
    pub overdue: Bucket,
    pub total: Bucket,
}

/// The settlement cycle of a channel that is not known (any more).
pub const DEFAULT_CYCLE_DAYS: i64 = 14;

/// Buckets the open receivables; `cycle_days` gives each channel's settlement cycle (unknown channels: 14).
pub fn age(open: &[Open], cycle_days: impl Fn(&str) -> Option<i64>) -> Vec<AgingRow> {
    let mut rows: BTreeMap<(String, Currency), AgingRow> = BTreeMap::new();
    for o in open {
        let row = rows.entry((o.carrier.clone(), o.currency)).or_insert_with(|| AgingRow {
            carrier: o.carrier.clone(),
            currency: o.currency,
            buckets: vec![Bucket::default(); BUCKETS.len()],
            overdue: Bucket::default(),
            total: Bucket::default(),
        });
        let days = o.days.max(0);
        let i = BUCKETS.iter().position(|(_, from, to)| (*from..=*to).contains(&days)).unwrap_or(BUCKETS.len() - 1);
        let add = |b: &mut Bucket| {
            b.parcels += o.parcels;
            b.amount_minor += o.amount_minor;
        };
        add(&mut row.buckets[i]);
        add(&mut row.total);
        if days > cycle_days(&o.channel).unwrap_or(DEFAULT_CYCLE_DAYS) {
            add(&mut row.overdue);
        }
    }
    rows.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receivables_fall_in_their_age_bucket_and_count_overdue_past_their_channels_cycle() {
        let sar = Currency::parse("SAR").unwrap();
        let open = |channel: &str, days: i64, amount: i64| Open {
            carrier: "sandbox".into(),
            currency: sar,
            channel: channel.into(),
            days,
            parcels: 1,
            amount_minor: amount,
        };
        let rows =
            age(&[open("FAST", 3, 100), open("FAST", 9, 200), open("SLOW", 9, 400), open("SLOW", 90, 800)], |c| {
                (c == "FAST").then_some(7)
            });
        assert_eq!(rows.len(), 1);
        let r = &rows[0];
        let amounts: Vec<i64> = r.buckets.iter().map(|b| b.amount_minor).collect();
        assert_eq!(amounts, vec![100, 600, 0, 0, 800]);
        // FAST pays within 7 days: its 9-day parcel is overdue; SLOW (14 by default) only its 90-day one.
        assert_eq!(r.overdue, Bucket { parcels: 2, amount_minor: 1_000 });
        assert_eq!(r.total, Bucket { parcels: 4, amount_minor: 1_500 });
    }
}
