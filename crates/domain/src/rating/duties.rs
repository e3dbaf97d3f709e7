//! Import duties and taxes for DDP shipments: a dated rule per destination country with a default duty
//! rate, overrides by HS chapter (or longer HS prefix), a VAT/GST rate, and de minimis thresholds below
//! which no duty or no tax is charged.

use time::Date;

use super::{Fx, Ineligible, QuoteRequest, apply_bp};
use crate::{Country, Money};

/// What a de minimis threshold is compared against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Basis {
    /// The goods value alone (FOB).
    Goods,
    /// Goods plus the freight charged (CIF, as most customs authorities assess).
    GoodsAndShipping,
}

impl Basis {
    pub fn as_str(&self) -> &'static str {
        match self {
            Basis::Goods => "goods",
            Basis::GoodsAndShipping => "goods_and_shipping",
        }
    }
    pub fn parse(s: &str) -> Result<Self, crate::Error> {
        match s {
            "goods" => Ok(Basis::Goods),
            "goods_and_shipping" => Ok(Basis::GoodsAndShipping),
            _ => Err(crate::Error::invalid("basis", format!("unknown basis {s:?} (goods or goods_and_shipping)"))),
        }
    }
}

/// Shipments whose basis value is at or below `amount` are exempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Threshold {
    pub amount: Money,
    pub basis: Basis,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DutyRule {
    pub country: Country,
    pub effective_from: Date,
    pub duty_bp: i64,
    /// (HS prefix, rate): the longest matching prefix wins.
    pub hs_overrides: Vec<(String, i64)>,
    pub vat_bp: i64,
    pub duty_de_minimis: Option<Threshold>,
    pub vat_de_minimis: Option<Threshold>,
    /// What VAT is charged on besides goods, transport and duty.
    pub vat_base: VatBase,
    /// Where the figures come from, for whoever checks them.
    pub source: String,
}

/// The value VAT/GST is charged on. The customs value is the goods plus their transport (and insurance,
/// which codflow's quotes do not carry); VAT is charged on it plus the duty. A few countries also tax the
/// carrier's service fees (COD collection, DDP handling); a rule says so.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum VatBase {
    #[default]
    CustomsValueAndDuty,
    CustomsValueDutyAndFees,
}

impl VatBase {
    pub fn as_str(self) -> &'static str {
        match self {
            VatBase::CustomsValueAndDuty => "customs_value_and_duty",
            VatBase::CustomsValueDutyAndFees => "customs_value_duty_and_fees",
        }
    }

    pub fn parse(s: &str) -> Result<Self, crate::Error> {
        match s {
            "customs_value_and_duty" => Ok(VatBase::CustomsValueAndDuty),
            "customs_value_duty_and_fees" => Ok(VatBase::CustomsValueDutyAndFees),
            _ => Err(crate::Error::invalid(
                "vat_base",
                format!("unknown VAT base {s:?} (customs_value_and_duty or customs_value_duty_and_fees)"),
            )),
        }
    }
}

/// Every country's rules, each possibly in several dated versions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DutyTable(pub Vec<DutyRule>);

impl DutyTable {
    /// The version in force on `day`: the latest effective on or before it.
    pub fn applicable(&self, country: Country, day: Date) -> Option<&DutyRule> {
        self.0.iter().filter(|r| r.country == country && r.effective_from <= day).max_by_key(|r| r.effective_from)
    }
}

/// Duty and tax in the goods' currency, with the reasoning.
pub(super) struct Assessed {
    pub duty: Money,
    pub tax: Money,
    pub notes: Vec<String>,
}

impl DutyRule {
    fn rate_for(&self, hs: Option<&str>) -> i64 {
        hs.and_then(|h| {
            self.hs_overrides
                .iter()
                .filter(|(p, _)| h.starts_with(p.as_str()))
                .max_by_key(|(p, _)| p.len())
                .map(|(_, r)| *r)
        })
        .unwrap_or(self.duty_bp)
    }

    /// Whether the shipment is at or under a threshold; errors only when the threshold's currency cannot
    /// be converted.
    fn exempt(
        &self,
        t: &Threshold,
        goods: Money,
        freight: Money,
        fx: &(impl Fx + ?Sized),
        day: Date,
    ) -> Result<bool, Ineligible> {
        let value = match t.basis {
            Basis::Goods => goods.minor,
            Basis::GoodsAndShipping => goods.minor + freight.minor,
        };
        let limit = fx.convert(t.amount, goods.currency, day)?;
        Ok(value <= limit.minor)
    }

    /// Duty on each item at its rate, then VAT on goods + transport + duty (+ the carrier's service fees
    /// where the rule says), each skipped under its de minimis. `freight` (the transport) and `fees` are in
    /// the goods' currency.
    pub(super) fn assess(
        &self,
        req: &QuoteRequest,
        freight: Money,
        fees: Money,
        fx: &(impl Fx + ?Sized),
    ) -> Result<Assessed, Ineligible> {
        let goods = req.goods_value;
        let cur = goods.currency;
        let mut notes = Vec::new();
        let duty_exempt = match &self.duty_de_minimis {
            Some(t) => {
                let e = self.exempt(t, goods, freight, fx, req.date)?;
                notes.push(format!(
                    "duty de minimis {} on {} value: {}",
                    t.amount,
                    t.basis.as_str(),
                    if e { "at or below, no duty" } else { "above, duty due" }
                ));
                e
            }
            None => false,
        };
        let duty = if duty_exempt {
            0
        } else if req.items.is_empty() {
            notes.push(format!("duty {} on the goods value", pct(self.duty_bp)));
            apply_bp(goods.minor, self.duty_bp)
        } else {
            let mut sum = 0;
            for it in &req.items {
                let rate = self.rate_for(it.hs_code.as_ref().map(|h| h.as_str()));
                let v = fx.convert(it.value, cur, req.date)?;
                sum += apply_bp(v.minor, rate);
            }
            notes.push(format!("duty by HS code, default {}", pct(self.duty_bp)));
            sum
        };
        let tax_exempt = match &self.vat_de_minimis {
            Some(t) => {
                let e = self.exempt(t, goods, freight, fx, req.date)?;
                notes.push(format!(
                    "VAT de minimis {} on {} value: {}",
                    t.amount,
                    t.basis.as_str(),
                    if e { "at or below, no VAT" } else { "above, VAT due" }
                ));
                e
            }
            None => false,
        };
        let tax = if tax_exempt {
            0
        } else {
            let base = goods.minor + freight.minor + duty;
            match self.vat_base {
                VatBase::CustomsValueAndDuty => {
                    notes.push(format!("VAT {} on goods, transport and duty", pct(self.vat_bp)));
                    apply_bp(base, self.vat_bp)
                }
                VatBase::CustomsValueDutyAndFees => {
                    notes.push(format!("VAT {} on goods, transport, duty and service fees", pct(self.vat_bp)));
                    apply_bp(base + fees.minor, self.vat_bp)
                }
            }
        };
        Ok(Assessed { duty: Money::new(duty, cur), tax: Money::new(tax, cur), notes })
    }
}

/// Basis points as a percentage for people: 1250 → "12.5%".
pub(super) fn pct(bp: i64) -> String {
    let whole = bp / 100;
    let frac = (bp % 100).abs();
    match frac {
        0 => format!("{whole}%"),
        f if f % 10 == 0 => format!("{whole}.{}%", f / 10),
        f => format!("{whole}.{f:02}%"),
    }
}
