//! Rating: what a logistics channel charges for a parcel to an address, and whether it can carry it at
//! all. A channel is one carrier service on one lane; its rate card prices by zone (postcode beats
//! region or city, which beats country) and weight, and adds surcharges, the COD fee and, for DDP, the
//! duties and taxes the seller pays on the buyer's behalf.
//!
//! All amounts are integer minor units. A percentage is held in basis points and applied with one
//! rounding, halves away from zero.
//!
//! Over 600 lines on purpose: the rate arithmetic (zones, bands, surcharges, COD fee, duties and the VAT base)
//! is one calculation and reads best in one place; its tests are in `tests.rs`.

mod duties;
mod postcode;
mod rank;
mod spec;
#[cfg(test)]
mod tests;

use std::fmt;

use time::Date;

use crate::{ChannelCode, Country, Currency, FxRate, HsCode, Money};

pub use duties::{Basis, DutyRule, DutyTable, Threshold, VatBase};
pub use postcode::PostcodeRule;
pub use rank::{Candidate, DEFAULT_PRIOR_PPM, LaneStats, Ranked, Ranking, Strategy, rank};
pub use spec::{
    BandSpec, CapabilitiesSpec, ChannelSpec, CodFeeSpec, CoverageSpec, DutyRuleSpec, LimitsSpec, MoneySpec,
    OversizeSpec, RateCardSpec, RemoteSpec, StepSpec, ThresholdSpec, ZoneSpec, parse_pct, pct_string,
};

/// `value × bp / 10 000`, rounded once, halves away from zero.
pub fn apply_bp(value: i64, bp: i64) -> i64 {
    let p = value as i128 * bp as i128;
    let q = (p.abs() + 5_000) / 10_000;
    (if p < 0 { -q } else { q }) as i64
}

/// Where a parcel goes, as far as rating cares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Destination {
    pub country: Country,
    pub region: Option<String>,
    pub city: Option<String>,
    pub postal_code: Option<String>,
}

/// One physical piece. Dimensions of 0 mean "not measured": no volumetric weight, no size checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Parcel {
    pub weight_g: i64,
    pub length_cm: i64,
    pub width_cm: i64,
    pub height_cm: i64,
}

impl Parcel {
    fn measured(&self) -> bool {
        self.length_cm > 0 && self.width_cm > 0 && self.height_cm > 0
    }
    /// The sides, longest first.
    fn sides(&self) -> [i64; 3] {
        let mut s = [self.length_cm, self.width_cm, self.height_cm];
        s.sort_unstable_by(|a, b| b.cmp(a));
        s
    }
    /// Longest side plus twice the other two: the courier industry's girth.
    pub fn girth_cm(&self) -> i64 {
        let [l, w, h] = self.sides();
        l + 2 * (w + h)
    }
}

/// One kind of goods in the shipment, for duties: its value and, when known, its HS code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    pub hs_code: Option<HsCode>,
    pub value: Money,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Incoterm {
    /// Delivered duty paid: the seller pays duties and taxes, so they are part of the cost.
    #[default]
    Ddp,
    /// Delivered at place: the buyer pays them at the door.
    Dap,
}

impl Incoterm {
    pub fn as_str(&self) -> &'static str {
        match self {
            Incoterm::Ddp => "DDP",
            Incoterm::Dap => "DAP",
        }
    }
    pub fn parse(s: &str) -> Result<Self, crate::Error> {
        match s.to_ascii_uppercase().as_str() {
            "DDP" => Ok(Incoterm::Ddp),
            "DAP" => Ok(Incoterm::Dap),
            _ => Err(crate::Error::invalid("incoterm", format!("unknown incoterm {s:?} (expected DDP or DAP)"))),
        }
    }
}

/// Goods that only some channels accept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Contents {
    pub batteries: bool,
    pub liquids: bool,
}

/// Everything a quote depends on apart from the channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuoteRequest {
    pub destination: Destination,
    pub parcels: Vec<Parcel>,
    pub goods_value: Money,
    /// Per-item values for duties by HS chapter; when empty the goods value is dutied at the default rate.
    pub items: Vec<Item>,
    pub cod: Option<Money>,
    pub incoterm: Incoterm,
    pub contents: Contents,
    /// The day rates and duty rules are taken as of.
    pub date: Date,
}

/// Exchange rates as of a day.
pub trait Fx {
    /// The latest rate from → to dated on or before `day`.
    fn rate(&self, from: Currency, to: Currency, day: Date) -> Option<&FxRate>;

    /// As [`Fx::rate`], or the inverse of the `to → from` rate when only that direction is quoted.
    fn rate_either(&self, from: Currency, to: Currency, day: Date) -> Option<FxRate> {
        match self.rate(from, to, day) {
            Some(r) => Some(r.clone()),
            None => self.rate(to, from, day)?.inverse().ok(),
        }
    }

    fn convert(&self, m: Money, to: Currency, day: Date) -> Result<Money, Ineligible> {
        if m.currency == to {
            return Ok(m);
        }
        let no_rate =
            || Ineligible::new(Reason::NoFxRate, format!("no exchange rate from {} to {to} on {day}", m.currency));
        let r = self.rate(m.currency, to, day).ok_or_else(no_rate)?;
        r.convert(m).map(|c| c.value).map_err(|e| Ineligible::new(Reason::NoFxRate, e.to_string()))
    }
}

/// A rate list, searched linearly: a seller has a few dozen pairs at most.
impl Fx for [FxRate] {
    fn rate(&self, from: Currency, to: Currency, day: Date) -> Option<&FxRate> {
        self.iter().filter(|r| r.from == from && r.to == to && r.as_of <= day).max_by_key(|r| r.as_of)
    }
}

/// Which places a channel serves at all. Empty region and postcode lists mean "all of the country".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Coverage {
    pub countries: Vec<Country>,
    pub regions: Vec<String>,
    pub postcodes: Vec<PostcodeRule>,
    pub excluded_postcodes: Vec<PostcodeRule>,
}

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Limits {
    pub max_weight_g: Option<i64>,
    pub max_length_cm: Option<i64>,
    pub max_width_cm: Option<i64>,
    pub max_height_cm: Option<i64>,
    pub max_girth_cm: Option<i64>,
    /// The most COD the carrier collects on one parcel, per currency; a currency not listed has no limit.
    pub cod_max: Vec<Money>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Capabilities {
    pub cod: bool,
    pub ddp: bool,
    pub batteries: bool,
    pub liquids: bool,
}

/// A price for weight: contiguous bands `(from_g, to_g]`, or a first weight and each additional step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pricing {
    Bands(Vec<Band>),
    Steps { first_g: i64, first_minor: i64, step_g: i64, step_minor: i64, max_g: Option<i64> },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Band {
    pub from_g: i64,
    pub to_g: i64,
    pub price_minor: i64,
}

impl Pricing {
    /// The price of one parcel of billable weight `w`, or None when the card does not go that heavy.
    fn price(&self, w: i64) -> Option<i64> {
        match self {
            Pricing::Bands(bands) => {
                bands.iter().find(|b| w <= b.to_g && (w > b.from_g || b.from_g == 0)).map(|b| b.price_minor)
            }
            Pricing::Steps { first_g, first_minor, step_g, step_minor, max_g } => {
                if max_g.is_some_and(|m| w > m) {
                    return None;
                }
                let extra = (w - first_g).max(0);
                let steps = (extra + step_g - 1) / step_g;
                Some(first_minor + steps * step_minor)
            }
        }
    }

    /// The heaviest parcel the pricing covers, if bounded.
    pub fn max_g(&self) -> Option<i64> {
        match self {
            Pricing::Bands(b) => b.last().map(|b| b.to_g),
            Pricing::Steps { max_g, .. } => *max_g,
        }
    }
}

/// A zone of a rate card. It matches by postcode, by region or city, or by country, and the most
/// specific match across all zones wins.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Zone {
    pub name: String,
    pub countries: Vec<Country>,
    /// Lower-cased, trimmed.
    pub regions: Vec<String>,
    pub cities: Vec<String>,
    pub postcodes: Vec<PostcodeRule>,
    pub transit_days: i64,
    pub pricing: Pricing,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Oversize {
    pub longest_side_cm: Option<i64>,
    pub girth_cm: Option<i64>,
    pub fee_minor: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CodFee {
    pub bp: i64,
    pub min_minor: i64,
    pub max_minor: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RateCard {
    pub currency: Currency,
    pub zones: Vec<Zone>,
    /// Billable weight is rounded up to a multiple of this; 1 means to the gram.
    pub rounding_g: i64,
    /// cm³ per kg; None when the carrier bills on actual weight only.
    pub volumetric_divisor: Option<i64>,
    pub min_charge_minor: i64,
    pub fuel_bp: i64,
    pub remote_postcodes: Vec<PostcodeRule>,
    pub remote_fee_minor: i64,
    pub oversize: Option<Oversize>,
    pub cod_fee: Option<CodFee>,
    pub ddp_fee_minor: i64,
    /// What a refused parcel costs to bring back, as a share of the outbound base charge.
    pub return_bp: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Channel {
    pub code: ChannelCode,
    pub name: String,
    pub carrier: String,
    pub carrier_account: Option<crate::CarrierAccountCode>,
    pub service: String,
    pub enabled: bool,
    pub priority: i64,
    pub coverage: Coverage,
    pub limits: Limits,
    pub capabilities: Capabilities,
    pub settlement_cycle_days: i64,
    pub card: RateCard,
}

/// Why a channel cannot take a shipment; `code` is stable for clients.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    Disabled,
    CountryNotCovered,
    RegionNotCovered,
    PostcodeNotCovered,
    NoZone,
    Overweight,
    OverDimension,
    OverGirth,
    NoCod,
    CodOverLimit,
    NoDdp,
    NoBatteries,
    NoLiquids,
    NoFxRate,
    NoDutyRules,
}

impl Reason {
    pub fn as_str(&self) -> &'static str {
        match self {
            Reason::Disabled => "disabled",
            Reason::CountryNotCovered => "country_not_covered",
            Reason::RegionNotCovered => "region_not_covered",
            Reason::PostcodeNotCovered => "postcode_not_covered",
            Reason::NoZone => "no_zone",
            Reason::Overweight => "overweight",
            Reason::OverDimension => "over_dimension",
            Reason::OverGirth => "over_girth",
            Reason::NoCod => "no_cod",
            Reason::CodOverLimit => "cod_over_limit",
            Reason::NoDdp => "no_ddp",
            Reason::NoBatteries => "no_batteries",
            Reason::NoLiquids => "no_liquids",
            Reason::NoFxRate => "no_fx_rate",
            Reason::NoDutyRules => "no_duty_rules",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ineligible {
    pub reason: Reason,
    pub message: String,
}

impl Ineligible {
    fn new(reason: Reason, message: impl Into<String>) -> Self {
        Ineligible { reason, message: message.into() }
    }
}

impl fmt::Display for Ineligible {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.reason.as_str(), self.message)
    }
}

/// What a shipment costs on one channel, in the card's currency; `total()` is the sum of the parts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Breakdown {
    /// The weight charge, raised to the minimum charge when below it.
    pub base: i64,
    pub fuel: i64,
    pub remote_area: i64,
    pub oversize: i64,
    pub cod_fee: i64,
    pub ddp_fee: i64,
    pub duties: i64,
    pub taxes: i64,
}

impl Breakdown {
    pub fn total(&self) -> i64 {
        self.base
            + self.fuel
            + self.remote_area
            + self.oversize
            + self.cod_fee
            + self.ddp_fee
            + self.duties
            + self.taxes
    }
    /// What the carrier bills, leaving out duties and taxes paid to customs.
    pub fn freight(&self) -> i64 {
        self.total() - self.duties - self.taxes
    }
    /// The transport of the goods alone (weight charge and its surcharges): what customs adds to the
    /// goods' value. The carrier's service fees (COD, DDP handling) are not transport.
    pub fn transport(&self) -> i64 {
        self.base + self.fuel + self.remote_area + self.oversize
    }
    /// The carrier's service fees: collecting the cash and handling the duties.
    pub fn service_fees(&self) -> i64 {
        self.cod_fee + self.ddp_fee
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Quote {
    pub channel: ChannelCode,
    pub zone: String,
    pub actual_weight_g: i64,
    pub volumetric_weight_g: i64,
    pub billable_weight_g: i64,
    pub currency: Currency,
    pub breakdown: Breakdown,
    pub total_base: Money,
    pub transit_days: i64,
    /// Which de minimis thresholds and rates the duties used, in words.
    pub duty_notes: Vec<String>,
}

impl Quote {
    pub fn total(&self) -> Money {
        Money::new(self.breakdown.total(), self.currency)
    }
}

fn norm(s: &str) -> String {
    s.trim().to_lowercase()
}

fn matches_text(list: &[String], value: Option<&str>) -> bool {
    value.is_some_and(|v| {
        let v = v.trim();
        list.iter().any(|l| l.eq_ignore_ascii_case(v) || (!l.is_ascii() && *l == norm(v)))
    })
}

fn matches_postcode(list: &[PostcodeRule], value: Option<&str>) -> bool {
    value.is_some_and(|v| list.iter().any(|r| r.matches(v)))
}

impl RateCard {
    /// The most specific zone for a destination: postcode, then region or city, then country.
    pub fn zone_for(&self, d: &Destination) -> Option<&Zone> {
        let in_country = || self.zones.iter().filter(|z| z.countries.is_empty() || z.countries.contains(&d.country));
        in_country()
            .find(|z| matches_postcode(&z.postcodes, d.postal_code.as_deref()))
            .or_else(|| {
                in_country().find(|z| {
                    matches_text(&z.regions, d.region.as_deref()) || matches_text(&z.cities, d.city.as_deref())
                })
            })
            .or_else(|| {
                in_country().find(|z| {
                    !z.countries.is_empty() && z.regions.is_empty() && z.cities.is_empty() && z.postcodes.is_empty()
                })
            })
    }

    /// Actual weight rounded to the card's step, against the volumetric weight of measured parcels.
    pub fn billable(&self, p: &Parcel) -> (i64, i64) {
        let vol = match self.volumetric_divisor {
            Some(d) if p.measured() => {
                let cm3 = p.length_cm as i128 * p.width_cm as i128 * p.height_cm as i128;
                ((cm3 * 1000 + d as i128 - 1) / d as i128) as i64
            }
            _ => 0,
        };
        let raw = p.weight_g.max(vol);
        let step = self.rounding_g.max(1);
        (vol, (raw + step - 1) / step * step)
    }
}

impl Channel {
    fn covers(&self, d: &Destination) -> Result<(), Ineligible> {
        let c = &self.coverage;
        if !c.countries.contains(&d.country) {
            return Err(Ineligible::new(Reason::CountryNotCovered, format!("does not deliver to {}", d.country)));
        }
        if !c.regions.is_empty() && !matches_text(&c.regions, d.region.as_deref()) {
            let r = d.region.as_deref().unwrap_or("(no region)");
            return Err(Ineligible::new(Reason::RegionNotCovered, format!("does not deliver to region {r}")));
        }
        let pc = d.postal_code.as_deref();
        if (!c.postcodes.is_empty() && !matches_postcode(&c.postcodes, pc))
            || matches_postcode(&c.excluded_postcodes, pc)
        {
            let p = pc.unwrap_or("(no postcode)");
            return Err(Ineligible::new(Reason::PostcodeNotCovered, format!("does not deliver to postcode {p}")));
        }
        Ok(())
    }

    fn fits(&self, p: &Parcel, i: usize) -> Result<(), Ineligible> {
        let l = &self.limits;
        if let Some(max) = l.max_weight_g.filter(|m| p.weight_g > *m) {
            let m = format!("parcel {} weighs {} g, over the {max} g limit", i + 1, p.weight_g);
            return Err(Ineligible::new(Reason::Overweight, m));
        }
        if p.measured() {
            let [a, b, c] = p.sides();
            for (side, max, what) in
                [(a, l.max_length_cm, "length"), (b, l.max_width_cm, "width"), (c, l.max_height_cm, "height")]
            {
                if let Some(max) = max.filter(|m| side > *m) {
                    let m = format!("parcel {} {what} {side} cm is over the {max} cm limit", i + 1);
                    return Err(Ineligible::new(Reason::OverDimension, m));
                }
            }
            if let Some(max) = l.max_girth_cm.filter(|m| p.girth_cm() > *m) {
                let m = format!("parcel {} girth {} cm is over the {max} cm limit", i + 1, p.girth_cm());
                return Err(Ineligible::new(Reason::OverGirth, m));
            }
        }
        Ok(())
    }

    fn can_carry(&self, req: &QuoteRequest) -> Result<(), Ineligible> {
        let caps = &self.capabilities;
        if let Some(cod) = req.cod.filter(|c| c.minor > 0) {
            if !caps.cod {
                return Err(Ineligible::new(Reason::NoCod, "does not collect cash on delivery"));
            }
            if let Some(max) = self.limits.cod_max.iter().find(|m| m.currency == cod.currency && cod.minor > m.minor) {
                let m = format!("COD {cod} is over the {max} limit");
                return Err(Ineligible::new(Reason::CodOverLimit, m));
            }
        }
        if req.incoterm == Incoterm::Ddp && !caps.ddp {
            return Err(Ineligible::new(Reason::NoDdp, "does not ship duties paid (DDP)"));
        }
        if req.contents.batteries && !caps.batteries {
            return Err(Ineligible::new(Reason::NoBatteries, "does not accept batteries"));
        }
        if req.contents.liquids && !caps.liquids {
            return Err(Ineligible::new(Reason::NoLiquids, "does not accept liquids"));
        }
        Ok(())
    }

    /// What this channel charges for the shipment, or why it cannot take it.
    pub fn quote(
        &self,
        req: &QuoteRequest,
        duties: &DutyTable,
        fx: &(impl Fx + ?Sized),
        base: Currency,
    ) -> Result<Quote, Ineligible> {
        if !self.enabled {
            return Err(Ineligible::new(Reason::Disabled, "switched off"));
        }
        let d = &req.destination;
        self.covers(d)?;
        self.can_carry(req)?;
        let card = &self.card;
        let zone = card.zone_for(d).ok_or_else(|| {
            let m = format!("the rate card has no zone for {}", place(d));
            Ineligible::new(Reason::NoZone, m)
        })?;
        let mut b = Breakdown::default();
        let (mut actual, mut volumetric, mut billable) = (0, 0, 0);
        for (i, p) in req.parcels.iter().enumerate() {
            self.fits(p, i)?;
            let (vol, bill) = card.billable(p);
            let price = zone.pricing.price(bill).ok_or_else(|| {
                let max = zone.pricing.max_g().unwrap_or(0);
                let m = format!("parcel {} bills at {bill} g; zone {} is priced up to {max} g", i + 1, zone.name);
                Ineligible::new(Reason::Overweight, m)
            })?;
            b.base += price;
            if let Some(o) = &card.oversize {
                let long = p.measured() && o.longest_side_cm.is_some_and(|m| p.sides()[0] > m);
                let girth = p.measured() && o.girth_cm.is_some_and(|m| p.girth_cm() > m);
                if long || girth {
                    b.oversize += o.fee_minor;
                }
            }
            actual += p.weight_g;
            volumetric += vol;
            billable += bill;
        }
        b.base = b.base.max(card.min_charge_minor);
        b.fuel = apply_bp(b.base, card.fuel_bp);
        if matches_postcode(&card.remote_postcodes, d.postal_code.as_deref()) {
            b.remote_area = card.remote_fee_minor;
        }
        if let (Some(cod), Some(fee)) = (req.cod.filter(|c| c.minor > 0), card.cod_fee) {
            let cod = fx.convert(cod, card.currency, req.date)?;
            let pct = apply_bp(cod.minor, fee.bp).max(fee.min_minor);
            b.cod_fee = fee.max_minor.map_or(pct, |m| pct.min(m));
        }
        let mut duty_notes = Vec::new();
        if req.incoterm == Incoterm::Ddp {
            b.ddp_fee = card.ddp_fee_minor;
            let rule = duties.applicable(d.country, req.date).ok_or_else(|| {
                let m = format!("no duty and tax rates for {} on {}", d.country, req.date);
                Ineligible::new(Reason::NoDutyRules, m)
            })?;
            let goods_cur = req.goods_value.currency;
            let transport = fx.convert(Money::new(b.transport(), card.currency), goods_cur, req.date)?;
            let fees = fx.convert(Money::new(b.service_fees(), card.currency), goods_cur, req.date)?;
            let assessed = rule.assess(req, transport, fees, fx)?;
            b.duties = fx.convert(assessed.duty, card.currency, req.date)?.minor;
            b.taxes = fx.convert(assessed.tax, card.currency, req.date)?.minor;
            duty_notes = assessed.notes;
        }
        let total_base = fx.convert(Money::new(b.total(), card.currency), base, req.date)?;
        Ok(Quote {
            channel: self.code.clone(),
            zone: zone.name.clone(),
            actual_weight_g: actual,
            volumetric_weight_g: volumetric,
            billable_weight_g: billable,
            currency: card.currency,
            breakdown: b,
            total_base,
            transit_days: zone.transit_days,
            duty_notes,
        })
    }
}

fn place(d: &Destination) -> String {
    let mut s = d.country.to_string();
    for part in [&d.region, &d.city, &d.postal_code].into_iter().flatten() {
        s.push_str(", ");
        s.push_str(part);
    }
    s
}
