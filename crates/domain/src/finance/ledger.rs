//! The COD ledger: every movement of a shipment's cash as a balanced entry (DESIGN.md §4). A posting is
//! signed, debit positive and credit negative, in one currency; an entry balances in every currency it
//! touches, so the sum of a shipment's postings on an account is exactly what is still owed or was lost
//! there.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::statement::StatementLine;
use crate::error::Error;
use time::Date;

use crate::money::{Currency, FxRate, Money};
use crate::rating::Fx;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Account {
    /// Cash a carrier collected (or will) and owes the seller.
    CarrierReceivable,
    /// The seller's COD sales, recognised on delivery.
    CodSales,
    /// The carrier's COD fee.
    CodFees,
    /// Freight the carrier deducted from the cash.
    FreightDeducted,
    /// Other deductions (return fees, taxes on fees).
    OtherDeductions,
    /// Remitted by the carrier, on its way through the payment platform.
    CashInTransit,
    /// The platform's fee on a payout.
    PlatformFees,
    /// Money exchanged on a payout, at the delivery date's rate (both currencies).
    FxExchange,
    /// The difference between the rate the platform applied and the delivery date's rate.
    FxGainLoss,
    /// The seller's bank account.
    Bank,
    /// Cash given up on after a dispute.
    WrittenOff,
    /// Goods at cost: credited when returned goods are lost or thrown away (their purchase is not posted here).
    Inventory,
    /// The cost of returned goods that never came back or were written off on grading.
    GoodsWrittenOff,
    /// What a carrier agreed to pay on a claim and has not paid yet.
    ClaimsReceivable,
    /// Claims the carriers agreed to pay: income against the losses.
    ClaimRecoveries,
}

impl Account {
    pub const ALL: [Account; 15] = [
        Account::CarrierReceivable,
        Account::CodSales,
        Account::CodFees,
        Account::FreightDeducted,
        Account::OtherDeductions,
        Account::CashInTransit,
        Account::PlatformFees,
        Account::FxExchange,
        Account::FxGainLoss,
        Account::Bank,
        Account::WrittenOff,
        Account::Inventory,
        Account::GoodsWrittenOff,
        Account::ClaimsReceivable,
        Account::ClaimRecoveries,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Account::CarrierReceivable => "carrier_receivable",
            Account::CodSales => "cod_sales",
            Account::CodFees => "cod_fees",
            Account::FreightDeducted => "freight_deducted",
            Account::OtherDeductions => "other_deductions",
            Account::CashInTransit => "cash_in_transit",
            Account::PlatformFees => "platform_fees",
            Account::FxExchange => "fx_exchange",
            Account::FxGainLoss => "fx_gain_loss",
            Account::Bank => "bank",
            Account::WrittenOff => "written_off",
            Account::Inventory => "inventory",
            Account::GoodsWrittenOff => "goods_written_off",
            Account::ClaimsReceivable => "claims_receivable",
            Account::ClaimRecoveries => "claim_recoveries",
        }
    }

    pub fn parse(s: &str) -> Result<Account, Error> {
        Account::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| Error::invalid("account", format!("{s:?} is not a ledger account")))
    }
}

/// Why an entry was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    Delivered,
    Remitted,
    PaidOut,
    WrittenOff,
    /// A return's goods lost or written off, at cost.
    GoodsWrittenOff,
    /// A carrier agreed to pay a claim.
    ClaimApproved,
    /// A carrier paid a claim.
    ClaimPaid,
}

impl EntryKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            EntryKind::Delivered => "delivered",
            EntryKind::Remitted => "remitted",
            EntryKind::PaidOut => "paid_out",
            EntryKind::WrittenOff => "written_off",
            EntryKind::GoodsWrittenOff => "goods_written_off",
            EntryKind::ClaimApproved => "claim_approved",
            EntryKind::ClaimPaid => "claim_paid",
        }
    }

    pub fn parse(s: &str) -> Result<EntryKind, Error> {
        [
            EntryKind::Delivered,
            EntryKind::Remitted,
            EntryKind::PaidOut,
            EntryKind::WrittenOff,
            EntryKind::GoodsWrittenOff,
            EntryKind::ClaimApproved,
            EntryKind::ClaimPaid,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
        .ok_or_else(|| Error::invalid("kind", format!("{s:?} is not a ledger entry kind")))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Posting {
    pub account: Account,
    /// Debit positive, credit negative.
    pub amount: Money,
}

/// A balanced set of postings. Built only through the constructors below, which cannot unbalance it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub kind: EntryKind,
    pub postings: Vec<Posting>,
}

impl Entry {
    fn new(kind: EntryKind, postings: Vec<Posting>) -> Result<Entry, Error> {
        let e = Entry { kind, postings: postings.into_iter().filter(|p| p.amount.minor != 0).collect() };
        if !e.is_balanced() {
            return Err(Error::invalid("postings", "the entry does not balance"));
        }
        Ok(e)
    }

    /// Debits equal credits in every currency.
    pub fn is_balanced(&self) -> bool {
        let mut sums: BTreeMap<Currency, i128> = BTreeMap::new();
        for p in &self.postings {
            *sums.entry(p.amount.currency).or_insert(0) += p.amount.minor as i128;
        }
        sums.values().all(|s| *s == 0)
    }

    /// A COD parcel delivered: the carrier owes its cash.
    pub fn delivered(cod: Money) -> Result<Entry, Error> {
        let neg = Money::new(-cod.minor, cod.currency);
        Entry::new(
            EntryKind::Delivered,
            vec![
                Posting { account: Account::CarrierReceivable, amount: cod },
                Posting { account: Account::CodSales, amount: neg },
            ],
        )
    }

    /// Returned goods lost or thrown away: their cost leaves the inventory as a loss.
    pub fn goods_written_off(cost: Money) -> Result<Entry, Error> {
        Entry::new(
            EntryKind::GoodsWrittenOff,
            vec![
                Posting { account: Account::GoodsWrittenOff, amount: cost },
                Posting { account: Account::Inventory, amount: Money::new(-cost.minor, cost.currency) },
            ],
        )
    }

    /// A carrier agreed to pay `amount` on a claim: owed to the seller, recovered against the loss.
    pub fn claim_approved(amount: Money) -> Result<Entry, Error> {
        Entry::new(
            EntryKind::ClaimApproved,
            vec![
                Posting { account: Account::ClaimsReceivable, amount },
                Posting { account: Account::ClaimRecoveries, amount: Money::new(-amount.minor, amount.currency) },
            ],
        )
    }

    /// A claim paid as a line of a COD remittance: the cash travels with the remittance's, less what the carrier
    /// kept of it.
    pub fn claim_remitted(amount: Money, net: Money) -> Result<Entry, Error> {
        if net.currency != amount.currency {
            return Err(Error::CurrencyMismatch {
                expected: amount.currency.to_string(),
                found: net.currency.to_string(),
            });
        }
        Entry::new(
            EntryKind::ClaimPaid,
            vec![
                Posting { account: Account::CashInTransit, amount: net },
                Posting { account: Account::OtherDeductions, amount: amount.checked_sub(net)? },
                Posting { account: Account::ClaimsReceivable, amount: Money::new(-amount.minor, amount.currency) },
            ],
        )
    }

    /// A claim paid as a remittance line that reconciliation already posted as cash collected for the parcel:
    /// what the line took off the carrier's receivable was the claim's money.
    pub fn claim_collected(amount: Money) -> Result<Entry, Error> {
        Entry::new(
            EntryKind::ClaimPaid,
            vec![
                Posting { account: Account::CarrierReceivable, amount },
                Posting { account: Account::ClaimsReceivable, amount: Money::new(-amount.minor, amount.currency) },
            ],
        )
    }

    /// A claim's money arrived in the bank.
    pub fn claim_paid(amount: Money) -> Result<Entry, Error> {
        Entry::new(
            EntryKind::ClaimPaid,
            vec![
                Posting { account: Account::Bank, amount },
                Posting { account: Account::ClaimsReceivable, amount: Money::new(-amount.minor, amount.currency) },
            ],
        )
    }

    /// A remittance line: the carrier pays the net, keeps its deductions, and clears what it collected.
    /// What it did not collect stays on the receivable (a short payment is visible there).
    pub fn remitted(l: &StatementLine) -> Result<Entry, Error> {
        let c = l.amount.currency;
        let credit = Money::new(-l.amount.minor, c);
        Entry::new(
            EntryKind::Remitted,
            vec![
                Posting { account: Account::CashInTransit, amount: l.net },
                Posting { account: Account::CodFees, amount: l.fee },
                Posting { account: Account::FreightDeducted, amount: l.freight },
                Posting { account: Account::OtherDeductions, amount: l.other },
                Posting { account: Account::CarrierReceivable, amount: credit },
            ],
        )
    }

    /// A payout of `net` (what the remittance paid, in its currency): the platform keeps `fee`, converts
    /// the rest and `settled` arrives in the bank. `booked` is the delivery date's rate into the settled
    /// currency; the difference between its value and what arrived is the FX gain (positive) or loss.
    pub fn paid_out(net: Money, fee: Money, settled: Money, booked: Option<&FxRate>) -> Result<Entry, Error> {
        if fee.currency != net.currency {
            return Err(Error::CurrencyMismatch {
                expected: net.currency.to_string(),
                found: fee.currency.to_string(),
            });
        }
        let converted = net.checked_sub(fee)?;
        let neg = |m: Money| Money::new(-m.minor, m.currency);
        let mut postings = vec![
            Posting { account: Account::PlatformFees, amount: fee },
            Posting { account: Account::CashInTransit, amount: neg(net) },
            Posting { account: Account::Bank, amount: settled },
        ];
        if settled.currency == net.currency {
            // No exchange: any difference is the platform's doing, booked as a gain or loss all the same.
            let diff = settled.checked_sub(converted)?;
            postings.push(Posting { account: Account::FxGainLoss, amount: neg(diff) });
        } else {
            let at_booking = match booked {
                Some(rate) if rate.from == net.currency && rate.to == settled.currency => {
                    rate.convert(converted)?.value
                }
                Some(rate) => {
                    return Err(Error::CurrencyMismatch {
                        expected: format!("{}→{}", net.currency, settled.currency),
                        found: format!("{}→{}", rate.from, rate.to),
                    });
                }
                // Without a rate for the delivery date, what arrived is the booked value: no gain or loss.
                None => settled,
            };
            postings.push(Posting { account: Account::FxExchange, amount: converted });
            postings.push(Posting { account: Account::FxExchange, amount: neg(at_booking) });
            postings.push(Posting { account: Account::FxGainLoss, amount: neg(settled.checked_sub(at_booking)?) });
        }
        Entry::new(EntryKind::PaidOut, postings)
    }

    /// Gives up on what is left of a receivable.
    pub fn written_off(left: Money) -> Result<Entry, Error> {
        Entry::new(
            EntryKind::WrittenOff,
            vec![
                Posting { account: Account::WrittenOff, amount: left },
                Posting { account: Account::CarrierReceivable, amount: Money::new(-left.minor, left.currency) },
            ],
        )
    }
}

/// Balances per account and currency of a set of postings.
pub fn balances<'a>(postings: impl IntoIterator<Item = &'a Posting>) -> BTreeMap<(Account, Currency), i64> {
    let mut out = BTreeMap::new();
    for p in postings {
        *out.entry((p.account, p.amount.currency)).or_insert(0) += p.amount.minor;
    }
    out.retain(|_, v| *v != 0);
    out
}

/// The rate a payout's cash was worth when it was earned: each part (a remitted net and its parcel's
/// delivery day) at the rate of that day, averaged by amount. None when a day has no rate or nothing was
/// remitted, so the payout books no gain or loss rather than one against a rate nobody entered.
pub fn delivery_rate(parts: &[(Money, Date)], to: Currency, fx: &(impl Fx + ?Sized)) -> Result<Option<FxRate>, Error> {
    let Some(&(first, _)) = parts.first() else {
        return Ok(None);
    };
    let (mut total, mut weighted) = (Decimal::ZERO, Decimal::ZERO);
    let mut latest = None;
    for &(net, day) in parts {
        if net.currency != first.currency {
            return Err(Error::CurrencyMismatch {
                expected: first.currency.to_string(),
                found: net.currency.to_string(),
            });
        }
        let Some(rate) = fx.rate(net.currency, to, day) else {
            return Ok(None);
        };
        let amount = Decimal::new(net.minor, net.currency.minor_digits());
        total = total.checked_add(amount).ok_or(Error::Overflow)?;
        weighted =
            weighted.checked_add(amount.checked_mul(rate.rate).ok_or(Error::Overflow)?).ok_or(Error::Overflow)?;
        latest = latest.max(Some(day));
    }
    let (Some(day), false) = (latest, total.is_zero()) else {
        return Ok(None);
    };
    let rate = weighted.checked_div(total).ok_or(Error::Overflow)?;
    if rate <= Decimal::ZERO {
        return Ok(None);
    }
    FxRate::new(first.currency, to, rate, day, "delivery dates").map(Some)
}

/// The rate implied by a payout line (settled ÷ converted), when the statement does not give one.
pub fn implied_rate(converted: Money, settled: Money) -> Option<Decimal> {
    if converted.minor == 0 {
        return None;
    }
    let c = Decimal::new(converted.minor, converted.currency.minor_digits());
    let s = Decimal::new(settled.minor, settled.currency.minor_digits());
    s.checked_div(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::date;

    fn cur(c: &str) -> Currency {
        Currency::parse(c).unwrap()
    }

    fn remittance_line(amount: i64, fee: i64, freight: i64) -> StatementLine {
        let c = cur("SAR");
        StatementLine {
            line: 2,
            tracking_number: Some("SBX1".into()),
            order_ref: None,
            reference: Some("R1".into()),
            date: None,
            amount: Money::new(amount, c),
            fee: Money::new(fee, c),
            freight: Money::new(freight, c),
            other: Money::zero(c),
            net: Money::new(amount - fee - freight, c),
            fx_rate: None,
            settled: None,
            billed_weight_g: None,
            zone: None,
        }
    }

    #[test]
    fn a_short_payment_stays_on_the_receivable_and_the_fees_explain_the_rest() {
        let cod = Money::new(20_000, cur("SAR"));
        let mut all = Entry::delivered(cod).unwrap().postings;
        all.extend(Entry::remitted(&remittance_line(19_000, 400, 1_500)).unwrap().postings);
        let b = balances(&all);
        let sar = cur("SAR");
        assert_eq!(b.get(&(Account::CarrierReceivable, sar)), Some(&1_000));
        assert_eq!(b.get(&(Account::CodFees, sar)), Some(&400));
        assert_eq!(b.get(&(Account::FreightDeducted, sar)), Some(&1_500));
        assert_eq!(b.get(&(Account::CashInTransit, sar)), Some(&17_100));
        assert_eq!(b.get(&(Account::CodSales, sar)), Some(&-20_000));
    }

    #[test]
    fn a_payout_books_the_gain_against_the_delivery_dates_rate() {
        let (sar, usd) = (cur("SAR"), cur("USD"));
        let booked = FxRate::new(sar, usd, Decimal::new(2666, 4), date!(2026 - 07 - 01), "manual").unwrap();
        // 1,000.00 SAR less a 10.00 fee: 990.00 at 0.2666 is 263.93 USD; 265.00 arrived.
        let e =
            Entry::paid_out(Money::new(100_000, sar), Money::new(1_000, sar), Money::new(26_500, usd), Some(&booked))
                .unwrap();
        assert!(e.is_balanced());
        let b = balances(&e.postings);
        assert_eq!(b.get(&(Account::FxGainLoss, usd)), Some(&-107), "a credit: a gain of 1.07 USD");
        assert_eq!(b.get(&(Account::Bank, usd)), Some(&26_500));
        let wrong = FxRate::new(usd, sar, Decimal::new(375, 2), date!(2026 - 07 - 01), "manual").unwrap();
        assert!(
            Entry::paid_out(Money::new(100_000, sar), Money::new(0, sar), Money::new(26_500, usd), Some(&wrong))
                .is_err()
        );
    }

    #[test]
    fn a_batch_is_worth_each_parcels_delivery_day_rate_weighted_by_its_cash() {
        let (sar, usd) = (cur("SAR"), cur("USD"));
        let rates = [
            FxRate::new(sar, usd, Decimal::new(2600, 4), date!(2026 - 07 - 01), "m").unwrap(),
            FxRate::new(sar, usd, Decimal::new(2700, 4), date!(2026 - 07 - 10), "m").unwrap(),
        ];
        // 300 SAR delivered on the 5th (0.26) and 100 SAR on the 12th (0.27): (78 + 27) / 400 = 0.2625.
        let parts =
            [(Money::new(30_000, sar), date!(2026 - 07 - 05)), (Money::new(10_000, sar), date!(2026 - 07 - 12))];
        let r = delivery_rate(&parts, usd, &rates[..]).unwrap().unwrap();
        assert_eq!(r.rate, Decimal::new(2625, 4));
        assert_eq!((r.from, r.to, r.as_of), (sar, usd, date!(2026 - 07 - 12)));
        // A parcel delivered before any rate: no booked rate at all.
        let early = [(Money::new(100, sar), date!(2026 - 06 - 30))];
        assert_eq!(delivery_rate(&early, usd, &rates[..]).unwrap(), None);
        assert_eq!(delivery_rate(&[], usd, &rates[..]).unwrap(), None);
        let mixed = [(Money::new(100, sar), date!(2026 - 07 - 05)), (Money::new(100, usd), date!(2026 - 07 - 05))];
        assert!(delivery_rate(&mixed, usd, &rates[..]).is_err());
    }

    proptest! {
        #[test]
        fn every_entry_balances(
            cod in 0i64..10_000_000,
            collected in 0i64..10_000_000,
            fee in 0i64..100_000,
            freight in 0i64..100_000,
            settled in 0i64..10_000_000,
            rate in 1i64..100_000,
            cross in any::<bool>(),
        ) {
            let sar = cur("SAR");
            let d = Entry::delivered(Money::new(cod, sar)).unwrap();
            prop_assert!(d.is_balanced());
            let r = Entry::remitted(&remittance_line(collected, fee, freight)).unwrap();
            prop_assert!(r.is_balanced());
            let to = if cross { cur("USD") } else { sar };
            let booked = FxRate::new(sar, to, Decimal::new(rate, 4), date!(2026 - 07 - 01), "p").unwrap();
            let p = Entry::paid_out(Money::new(collected, sar), Money::new(fee.min(collected), sar), Money::new(settled, to), Some(&booked)).unwrap();
            prop_assert!(p.is_balanced());
            let mut all = d.postings.clone();
            all.extend(r.postings);
            all.extend(p.postings);
            // The whole history still balances: every currency's balances sum to zero.
            let mut per_currency: BTreeMap<Currency, i64> = BTreeMap::new();
            for ((_, c), v) in balances(&all) {
                *per_currency.entry(c).or_insert(0) += v;
            }
            prop_assert!(per_currency.values().all(|v| *v == 0));
        }
    }
}
