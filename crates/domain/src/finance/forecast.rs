//! The cash-flow forecast: when COD cash should arrive and freight must be paid, by week and currency.
//! Delivered cash is due one settlement cycle after delivery; cash still on its way counts only with the
//! lane's chance of delivery, one transit time and one cycle later; an invoice is due its payment terms
//! after its date. What is already late falls in the first week and is also shown apart.

use std::collections::BTreeMap;

use serde::Serialize;
use time::{Date, Duration};

use crate::money::Currency;

/// Delivered COD not yet remitted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receivable {
    pub currency: Currency,
    pub delivered_on: Date,
    pub cycle_days: i64,
    pub amount_minor: i64,
}

/// COD on parcels still travelling.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InTransit {
    pub currency: Currency,
    pub booked_on: Date,
    /// The lane's usual days from booking to delivery.
    pub transit_days: i64,
    pub cycle_days: i64,
    pub p_delivered_ppm: u64,
    pub amount_minor: i64,
}

/// A freight invoice not yet paid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Payable {
    pub currency: Currency,
    pub due_on: Date,
    pub amount_minor: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Flows {
    /// Delivered cash expected from carriers.
    pub delivered_in: i64,
    /// Cash on parcels in transit × P(delivered).
    pub in_transit_in: i64,
    /// Freight invoices falling due.
    pub freight_out: i64,
}

impl Flows {
    pub fn net(&self) -> i64 {
        self.delivered_in + self.in_transit_in - self.freight_out
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Week {
    /// The Monday the week starts on.
    pub starts: Date,
    pub currency: Currency,
    pub flows: Flows,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Forecast {
    /// By week, then currency; only weeks and currencies with a flow.
    pub weeks: Vec<Week>,
    /// Already late on `today` (in the first week's figures too), per currency.
    pub overdue: BTreeMap<Currency, Flows>,
    /// Due after the last week shown, per currency.
    pub later: BTreeMap<Currency, Flows>,
}

fn monday(d: Date) -> Date {
    d - Duration::days(i64::from(d.weekday().number_days_from_monday()))
}

/// The forecast from `today` over `weeks` weeks (the first is today's week).
pub fn forecast(
    today: Date,
    weeks: u32,
    receivables: &[Receivable],
    in_transit: &[InTransit],
    payables: &[Payable],
) -> Forecast {
    let first = monday(today);
    let end = first + Duration::weeks(i64::from(weeks));
    let mut by_week: BTreeMap<(Date, Currency), Flows> = BTreeMap::new();
    let mut f = Forecast::default();
    let mut put = |due: Date, currency: Currency, add: &dyn Fn(&mut Flows)| {
        if due < today {
            add(f.overdue.entry(currency).or_default());
        }
        if due >= end {
            add(f.later.entry(currency).or_default());
        } else {
            add(by_week.entry((monday(due).max(first), currency)).or_default());
        }
    };
    for r in receivables {
        let due = r.delivered_on + Duration::days(r.cycle_days);
        put(due, r.currency, &|w| w.delivered_in += r.amount_minor);
    }
    for t in in_transit {
        // A parcel late against its lane is expected to arrive from today on, not in the past.
        let delivered = (t.booked_on + Duration::days(t.transit_days)).max(today);
        let due = delivered + Duration::days(t.cycle_days);
        let expected = (t.amount_minor as i128 * t.p_delivered_ppm.min(1_000_000) as i128 / 1_000_000) as i64;
        put(due, t.currency, &|w| w.in_transit_in += expected);
    }
    for p in payables {
        put(p.due_on, p.currency, &|w| w.freight_out += p.amount_minor);
    }
    f.weeks = by_week.into_iter().map(|((starts, currency), flows)| Week { starts, currency, flows }).collect();
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::date;

    fn sar() -> Currency {
        Currency::parse("SAR").unwrap()
    }

    #[test]
    fn delivered_cash_lands_one_cycle_after_delivery_and_transit_cash_a_transit_and_a_cycle_later_weighed() {
        // Wednesday 2026-11-25; its week starts Monday 2026-11-23.
        let today = date!(2026 - 11 - 25);
        let r =
            Receivable { currency: sar(), delivered_on: date!(2026 - 11 - 24), cycle_days: 7, amount_minor: 10_000 };
        let t = InTransit {
            currency: sar(),
            booked_on: date!(2026 - 11 - 23),
            transit_days: 5,
            cycle_days: 7,
            p_delivered_ppm: 800_000,
            amount_minor: 10_000,
        };
        let p = Payable { currency: sar(), due_on: date!(2026 - 12 - 14), amount_minor: 3_000 };
        let f = forecast(today, 4, &[r], &[t], &[p]);
        let got: Vec<(Date, Flows)> = f.weeks.iter().map(|w| (w.starts, w.flows.clone())).collect();
        // Delivered cash due Tuesday 2026-12-01; transit cash delivered 2026-11-28 and due Saturday 2026-12-05,
        // at 80%: both in the week of 2026-11-30.
        let expected = vec![
            (date!(2026 - 11 - 30), Flows { delivered_in: 10_000, in_transit_in: 8_000, freight_out: 0 }),
            (date!(2026 - 12 - 14), Flows { freight_out: 3_000, ..Flows::default() }),
        ];
        assert_eq!(got, expected);
        assert_eq!(f.weeks[0].flows.net(), 18_000);
        assert!(f.overdue.is_empty() && f.later.is_empty());
    }

    #[test]
    fn late_cash_and_bills_fall_in_the_first_week_and_are_flagged_and_far_ones_are_later() {
        let today = date!(2026 - 11 - 25);
        let late = Receivable { currency: sar(), delivered_on: date!(2026 - 10 - 1), cycle_days: 7, amount_minor: 500 };
        let overdue_bill = Payable { currency: sar(), due_on: date!(2026 - 11 - 1), amount_minor: 200 };
        let stuck = InTransit {
            currency: sar(),
            booked_on: date!(2026 - 9 - 1),
            transit_days: 5,
            cycle_days: 0,
            p_delivered_ppm: 1_000_000,
            amount_minor: 700,
        };
        let far = Payable { currency: sar(), due_on: date!(2027 - 6 - 1), amount_minor: 900 };
        let f = forecast(today, 2, &[late], &[stuck], &[overdue_bill, far]);
        assert_eq!(f.weeks.len(), 1);
        assert_eq!(f.weeks[0].starts, date!(2026 - 11 - 23));
        let w = &f.weeks[0].flows;
        assert_eq!((w.delivered_in, w.in_transit_in, w.freight_out), (500, 700, 200));
        // The parcel stuck in transit is expected from today, so it is not late cash yet.
        assert_eq!(f.overdue[&sar()], Flows { delivered_in: 500, in_transit_in: 0, freight_out: 200 });
        assert_eq!(f.later[&sar()], Flows { freight_out: 900, ..Flows::default() });
    }

    proptest! {
        #[test]
        fn every_amount_is_forecast_exactly_once_in_a_week_or_later(
            days in proptest::collection::vec((-120i64..200, 0i64..40, 0i64..1_000_000), 0..30),
            weeks in 1u32..20,
        ) {
            let today = date!(2026 - 11 - 25);
            let rs: Vec<Receivable> = days.iter().map(|&(d, c, a)| Receivable { currency: sar(), delivered_on: today + Duration::days(d), cycle_days: c, amount_minor: a }).collect();
            let ps: Vec<Payable> = days.iter().map(|&(d, _, a)| Payable { currency: sar(), due_on: today + Duration::days(d), amount_minor: a }).collect();
            let f = forecast(today, weeks, &rs, &[], &ps);
            let total: i64 = days.iter().map(|d| d.2).sum();
            let shown: i64 = f.weeks.iter().map(|w| w.flows.delivered_in).sum::<i64>() + f.later.get(&sar()).map_or(0, |l| l.delivered_in);
            prop_assert_eq!(shown, total);
            let out: i64 = f.weeks.iter().map(|w| w.flows.freight_out).sum::<i64>() + f.later.get(&sar()).map_or(0, |l| l.freight_out);
            prop_assert_eq!(out, total);
            prop_assert!(f.weeks.iter().all(|w| w.starts.weekday() == time::Weekday::Monday && w.starts >= monday(today)));
        }
    }
}
