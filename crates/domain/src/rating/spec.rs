//! The written form of channels and duty rules: what the API takes, what import and export files hold,
//! and what the store keeps. Amounts on a rate card are decimal strings in the card's currency;
//! percentages are decimal strings (`"12.5"` is 12.5 %). Parsing checks everything and reports every
//! problem with its path.
//!
//! Over 600 lines on purpose: each field of the written form sits beside the rule that checks it.

use serde::{Deserialize, Serialize};
use time::Date;

use super::duties::pct;
use super::{
    Band, Basis, Capabilities, Channel, CodFee, Coverage, DutyRule, Limits, Oversize, PostcodeRule, Pricing, RateCard,
    Threshold, Zone,
};
use crate::{ChannelCode, Country, Currency, Error, FieldErrors, Money};

fn yes() -> bool {
    true
}
fn default_cycle() -> i64 {
    7
}
fn is_zero(v: &i64) -> bool {
    *v == 0
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ChannelSpec {
    pub code: String,
    pub name: String,
    /// Which connector books it: `sandbox`, `aramex` or `4px`.
    pub carrier: String,
    /// The carrier account it books through (`GET /api/v1/carrier-accounts`); none: the carrier's first account,
    /// or the one the server was started with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier_account: Option<String>,
    pub service: String,
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default)]
    pub priority: i64,
    pub coverage: CoverageSpec,
    #[serde(default)]
    pub limits: LimitsSpec,
    #[serde(default)]
    pub capabilities: CapabilitiesSpec,
    #[serde(default = "default_cycle")]
    pub settlement_cycle_days: i64,
    pub rate_card: RateCardSpec,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CoverageSpec {
    pub countries: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub postcodes: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excluded_postcodes: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MoneySpec {
    pub amount: String,
    pub currency: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LimitsSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_weight_g: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length_cm: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_width_cm: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_height_cm: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_girth_cm: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cod_max: Vec<MoneySpec>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CapabilitiesSpec {
    #[serde(default)]
    pub cod: bool,
    #[serde(default)]
    pub ddp: bool,
    #[serde(default)]
    pub batteries: bool,
    #[serde(default)]
    pub liquids: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RateCardSpec {
    pub currency: String,
    #[serde(default = "one")]
    pub weight_rounding_g: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volumetric_divisor: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_charge: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fuel_surcharge_pct: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_area: Option<RemoteSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oversize: Option<OversizeSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cod_fee: Option<CodFeeSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ddp_fee: Option<String>,
    /// The freight of bringing a refused parcel back, as a percentage of the outbound base charge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_pct: Option<String>,
    pub zones: Vec<ZoneSpec>,
}

fn one() -> i64 {
    1
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RemoteSpec {
    pub postcodes: Vec<String>,
    pub fee: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OversizeSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub longest_side_cm: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub girth_cm: Option<i64>,
    pub fee: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CodFeeSpec {
    pub pct: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ZoneSpec {
    pub name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub countries: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cities: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub postcodes: Vec<String>,
    pub transit_days: i64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bands: Vec<BandSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<StepSpec>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BandSpec {
    pub from_g: i64,
    pub to_g: i64,
    pub price: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct StepSpec {
    pub first_g: i64,
    pub first_price: String,
    pub additional_g: i64,
    pub additional_price: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_g: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ThresholdSpec {
    pub amount: MoneySpec,
    pub basis: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DutyRuleSpec {
    pub country: String,
    pub effective_from: String,
    pub duty_pct: String,
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub hs_overrides: std::collections::BTreeMap<String, String>,
    pub vat_pct: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duty_de_minimis: Option<ThresholdSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vat_de_minimis: Option<ThresholdSpec>,
    /// `customs_value_and_duty` (the default: goods + transport + duty) or `customs_value_duty_and_fees`
    /// (the carrier's COD and DDP fees taxed too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vat_base: Option<String>,
    #[serde(default)]
    pub source: String,
}

/// `"12.5"` → 1250 basis points; 0 to 100 %, at most two decimals.
pub fn parse_pct(s: &str) -> Result<i64, Error> {
    let bad =
        || Error::invalid("percentage", format!("{s:?} is not a percentage between 0 and 100 with at most 2 decimals"));
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if whole.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || frac.len() > 2
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || whole.len() > 3
        || (s.contains('.') && frac.is_empty())
    {
        return Err(bad());
    }
    let bp =
        whole.parse::<i64>().map_err(|_| bad())? * 100 + format!("{frac:0<2}").parse::<i64>().map_err(|_| bad())?;
    if bp > 10_000 { Err(bad()) } else { Ok(bp) }
}

/// 1250 → `"12.5"`: the inverse of [`parse_pct`].
pub fn pct_string(bp: i64) -> String {
    pct(bp).trim_end_matches('%').to_owned()
}

fn minor_string(minor: i64, currency: Currency) -> String {
    Money::new(minor, currency).amount_string()
}

/// Parses money in a known currency and refuses negatives.
fn price(e: &mut FieldErrors, path: &str, s: &str, cur: Option<Currency>) -> Option<i64> {
    let cur = cur?;
    let m = e.take(path, Money::parse(s, cur))?;
    if m.minor < 0 {
        e.push(path, format!("{s} is negative; prices cannot be"));
        return None;
    }
    Some(m.minor)
}

fn positive(e: &mut FieldErrors, path: &str, v: i64) -> Option<i64> {
    if v > 0 {
        Some(v)
    } else {
        e.push(path, format!("must be a positive whole number, got {v}"));
        None
    }
}

fn opt_positive(e: &mut FieldErrors, path: &str, v: Option<i64>) -> Option<i64> {
    v.and_then(|v| positive(e, path, v))
}

fn countries(e: &mut FieldErrors, path: &str, list: &[String]) -> Vec<Country> {
    list.iter().enumerate().filter_map(|(i, c)| e.take(format!("{path}[{i}]"), Country::parse(c))).collect()
}

fn postcodes(e: &mut FieldErrors, path: &str, list: &[String]) -> Vec<PostcodeRule> {
    list.iter().enumerate().filter_map(|(i, c)| e.take(format!("{path}[{i}]"), PostcodeRule::parse(c))).collect()
}

fn texts(e: &mut FieldErrors, path: &str, list: &[String]) -> Vec<String> {
    list.iter()
        .enumerate()
        .filter_map(|(i, t)| {
            let t = t.trim();
            if t.is_empty() {
                e.push(format!("{path}[{i}]"), "must not be empty");
                None
            } else {
                Some(t.to_lowercase())
            }
        })
        .collect()
}

fn bands(e: &mut FieldErrors, path: &str, specs: &[BandSpec], cur: Option<Currency>) -> Vec<Band> {
    let mut out: Vec<Band> = Vec::with_capacity(specs.len());
    for (i, b) in specs.iter().enumerate() {
        let p = format!("{path}[{i}]");
        let expected_from = out.last().map_or(0, |prev| prev.to_g);
        let before = e.0.len();
        if b.to_g <= b.from_g {
            e.push(format!("{p}.to_g"), format!("the band ends at {} g, not after its start {} g", b.to_g, b.from_g));
        } else if b.from_g < expected_from {
            e.push(format!("{p}.from_g"), format!("overlaps the band before it, which ends at {expected_from} g"));
        } else if b.from_g > expected_from {
            e.push(format!("{p}.from_g"), format!("leaves a gap: the band before it ends at {expected_from} g"));
        }
        let price = price(e, &format!("{p}.price"), &b.price, cur);
        if let (Some(prev), Some(pr)) = (out.last(), price)
            && pr < prev.price_minor
        {
            e.push(format!("{p}.price"), "a heavier band must not cost less than a lighter one");
        }
        if e.0.len() == before
            && let Some(price_minor) = price
        {
            out.push(Band { from_g: b.from_g, to_g: b.to_g, price_minor });
        } else {
            // Keep checking the following bands against where this one claimed to end.
            out.push(Band { from_g: b.from_g, to_g: b.to_g.max(b.from_g), price_minor: price.unwrap_or(0) });
        }
    }
    out
}

impl ChannelSpec {
    pub fn parse(&self) -> Result<Channel, FieldErrors> {
        let mut e = FieldErrors::default();
        let code = e.take("code", ChannelCode::parse(&self.code));
        let name = e.take("name", crate::catalogue::required_text("name", &self.name, 200));
        let service = e.take("service", crate::catalogue::required_text("service", &self.service, 100));
        if !crate::carrier_account::CARRIERS.contains(&self.carrier.as_str()) {
            let known = crate::carrier_account::CARRIERS.join(", ");
            e.push("carrier", format!("unknown carrier {:?} (one of {known})", self.carrier));
        }
        let carrier_account = self
            .carrier_account
            .as_deref()
            .filter(|a| !a.trim().is_empty())
            .and_then(|a| e.take("carrier_account", crate::CarrierAccountCode::parse(a.trim())));
        let cov = &self.coverage;
        let coverage = Coverage {
            countries: countries(&mut e, "coverage.countries", &cov.countries),
            regions: texts(&mut e, "coverage.regions", &cov.regions),
            postcodes: postcodes(&mut e, "coverage.postcodes", &cov.postcodes),
            excluded_postcodes: postcodes(&mut e, "coverage.excluded_postcodes", &cov.excluded_postcodes),
        };
        if cov.countries.is_empty() {
            e.push("coverage.countries", "a channel must deliver to at least one country");
        }
        let l = &self.limits;
        let cod_max = l
            .cod_max
            .iter()
            .enumerate()
            .filter_map(|(i, m)| {
                let p = format!("limits.cod_max[{i}]");
                let cur = e.take(format!("{p}.currency"), Currency::parse(&m.currency))?;
                price(&mut e, &format!("{p}.amount"), &m.amount, Some(cur)).map(|v| Money::new(v, cur))
            })
            .collect();
        let limits = Limits {
            max_weight_g: opt_positive(&mut e, "limits.max_weight_g", l.max_weight_g),
            max_length_cm: opt_positive(&mut e, "limits.max_length_cm", l.max_length_cm),
            max_width_cm: opt_positive(&mut e, "limits.max_width_cm", l.max_width_cm),
            max_height_cm: opt_positive(&mut e, "limits.max_height_cm", l.max_height_cm),
            max_girth_cm: opt_positive(&mut e, "limits.max_girth_cm", l.max_girth_cm),
            cod_max,
        };
        let c = self.capabilities;
        let capabilities = Capabilities { cod: c.cod, ddp: c.ddp, batteries: c.batteries, liquids: c.liquids };
        if !(0..=365).contains(&self.settlement_cycle_days) {
            e.push("settlement_cycle_days", "must be between 0 and 365 days");
        }
        let card = self.rate_card.parse(&mut e);
        match (code, name, service, card) {
            (Some(code), Some(name), Some(service), Some(card)) if e.is_empty() => Ok(Channel {
                code,
                name,
                carrier: self.carrier.clone(),
                carrier_account,
                service,
                enabled: self.enabled,
                priority: self.priority,
                coverage,
                limits,
                capabilities,
                settlement_cycle_days: self.settlement_cycle_days,
                card,
            }),
            _ => Err(e),
        }
    }
}

impl RateCardSpec {
    fn parse(&self, e: &mut FieldErrors) -> Option<RateCard> {
        let cur = e.take("rate_card.currency", Currency::parse(&self.currency));
        let opt_price = |e: &mut FieldErrors, path: &str, s: &Option<String>| match s {
            Some(s) => price(e, path, s, cur),
            None => Some(0),
        };
        let opt_pct = |e: &mut FieldErrors, path: &str, s: &Option<String>, default: i64| match s {
            Some(s) => e.take(path, parse_pct(s)),
            None => Some(default),
        };
        let rounding_g = positive(e, "rate_card.weight_rounding_g", self.weight_rounding_g);
        let volumetric_divisor = opt_positive(e, "rate_card.volumetric_divisor", self.volumetric_divisor);
        let min_charge = opt_price(e, "rate_card.min_charge", &self.min_charge);
        let fuel = opt_pct(e, "rate_card.fuel_surcharge_pct", &self.fuel_surcharge_pct, 0);
        let ddp_fee = opt_price(e, "rate_card.ddp_fee", &self.ddp_fee);
        let return_bp = match &self.return_pct {
            Some(s) => e.take("rate_card.return_pct", parse_pct(s)),
            None => Some(10_000),
        };
        let (remote_postcodes, remote_fee) = match &self.remote_area {
            Some(r) => (
                postcodes(e, "rate_card.remote_area.postcodes", &r.postcodes),
                price(e, "rate_card.remote_area.fee", &r.fee, cur),
            ),
            None => (Vec::new(), Some(0)),
        };
        let oversize = self.oversize.as_ref().map(|o| {
            if o.longest_side_cm.is_none() && o.girth_cm.is_none() {
                e.push("rate_card.oversize", "give longest_side_cm, girth_cm or both");
            }
            Oversize {
                longest_side_cm: opt_positive(e, "rate_card.oversize.longest_side_cm", o.longest_side_cm),
                girth_cm: opt_positive(e, "rate_card.oversize.girth_cm", o.girth_cm),
                fee_minor: price(e, "rate_card.oversize.fee", &o.fee, cur).unwrap_or(0),
            }
        });
        let cod_fee = self.cod_fee.as_ref().map(|f| {
            let bp = e.take("rate_card.cod_fee.pct", parse_pct(&f.pct)).unwrap_or(0);
            let min_minor = opt_price(e, "rate_card.cod_fee.min", &f.min).unwrap_or(0);
            let max_minor = f.max.as_ref().and_then(|m| price(e, "rate_card.cod_fee.max", m, cur));
            if max_minor.is_some_and(|m| m < min_minor) {
                e.push("rate_card.cod_fee.max", "the maximum COD fee is below the minimum");
            }
            CodFee { bp, min_minor, max_minor }
        });
        if self.zones.is_empty() {
            e.push("rate_card.zones", "a rate card needs at least one zone");
        }
        let mut names = std::collections::HashSet::new();
        let zones: Vec<Zone> = self
            .zones
            .iter()
            .enumerate()
            .map(|(i, z)| {
                let p = format!("rate_card.zones[{i}]");
                if z.name.trim().is_empty() || !names.insert(z.name.trim().to_owned()) {
                    e.push(format!("{p}.name"), format!("zone names must be present and distinct ({:?})", z.name));
                }
                if !(0..=365).contains(&z.transit_days) {
                    e.push(format!("{p}.transit_days"), "must be between 0 and 365");
                }
                let pricing = match (z.bands.is_empty(), &z.steps) {
                    (false, None) => Pricing::Bands(bands(e, &format!("{p}.bands"), &z.bands, cur)),
                    (true, Some(s)) => Pricing::Steps {
                        first_g: positive(e, &format!("{p}.steps.first_g"), s.first_g).unwrap_or(1),
                        first_minor: price(e, &format!("{p}.steps.first_price"), &s.first_price, cur).unwrap_or(0),
                        step_g: positive(e, &format!("{p}.steps.additional_g"), s.additional_g).unwrap_or(1),
                        step_minor: price(e, &format!("{p}.steps.additional_price"), &s.additional_price, cur)
                            .unwrap_or(0),
                        max_g: opt_positive(e, &format!("{p}.steps.max_g"), s.max_g),
                    },
                    _ => {
                        e.push(p.clone(), "give either bands or steps (first weight + each additional)");
                        Pricing::Bands(Vec::new())
                    }
                };
                Zone {
                    name: z.name.trim().to_owned(),
                    countries: countries(e, &format!("{p}.countries"), &z.countries),
                    regions: texts(e, &format!("{p}.regions"), &z.regions),
                    cities: texts(e, &format!("{p}.cities"), &z.cities),
                    postcodes: postcodes(e, &format!("{p}.postcodes"), &z.postcodes),
                    transit_days: z.transit_days,
                    pricing,
                }
            })
            .collect();
        Some(RateCard {
            currency: cur?,
            zones,
            rounding_g: rounding_g?,
            volumetric_divisor,
            min_charge_minor: min_charge?,
            fuel_bp: fuel?,
            remote_postcodes,
            remote_fee_minor: remote_fee?,
            oversize,
            cod_fee,
            ddp_fee_minor: ddp_fee?,
            return_bp: return_bp?,
        })
    }
}

impl Channel {
    /// The written form that parses back to this channel.
    pub fn to_spec(&self) -> ChannelSpec {
        let c = &self.card;
        let cur = c.currency;
        let amt = |m: i64| minor_string(m, cur);
        let strs = |v: &[PostcodeRule]| v.iter().map(|p| p.to_string()).collect::<Vec<_>>();
        let cs = |v: &[Country]| v.iter().map(|c| c.to_string()).collect::<Vec<_>>();
        ChannelSpec {
            code: self.code.to_string(),
            name: self.name.clone(),
            carrier: self.carrier.clone(),
            carrier_account: self.carrier_account.as_ref().map(|a| a.to_string()),
            service: self.service.clone(),
            enabled: self.enabled,
            priority: self.priority,
            coverage: CoverageSpec {
                countries: cs(&self.coverage.countries),
                regions: self.coverage.regions.clone(),
                postcodes: strs(&self.coverage.postcodes),
                excluded_postcodes: strs(&self.coverage.excluded_postcodes),
            },
            limits: LimitsSpec {
                max_weight_g: self.limits.max_weight_g,
                max_length_cm: self.limits.max_length_cm,
                max_width_cm: self.limits.max_width_cm,
                max_height_cm: self.limits.max_height_cm,
                max_girth_cm: self.limits.max_girth_cm,
                cod_max: self
                    .limits
                    .cod_max
                    .iter()
                    .map(|m| MoneySpec { amount: m.amount_string(), currency: m.currency.to_string() })
                    .collect(),
            },
            capabilities: CapabilitiesSpec {
                cod: self.capabilities.cod,
                ddp: self.capabilities.ddp,
                batteries: self.capabilities.batteries,
                liquids: self.capabilities.liquids,
            },
            settlement_cycle_days: self.settlement_cycle_days,
            rate_card: RateCardSpec {
                currency: cur.to_string(),
                weight_rounding_g: c.rounding_g,
                volumetric_divisor: c.volumetric_divisor,
                min_charge: (!is_zero(&c.min_charge_minor)).then(|| amt(c.min_charge_minor)),
                fuel_surcharge_pct: (c.fuel_bp != 0).then(|| pct_string(c.fuel_bp)),
                remote_area: (!c.remote_postcodes.is_empty())
                    .then(|| RemoteSpec { postcodes: strs(&c.remote_postcodes), fee: amt(c.remote_fee_minor) }),
                oversize: c.oversize.as_ref().map(|o| OversizeSpec {
                    longest_side_cm: o.longest_side_cm,
                    girth_cm: o.girth_cm,
                    fee: amt(o.fee_minor),
                }),
                cod_fee: c.cod_fee.map(|f| CodFeeSpec {
                    pct: pct_string(f.bp),
                    min: (f.min_minor != 0).then(|| amt(f.min_minor)),
                    max: f.max_minor.map(amt),
                }),
                ddp_fee: (c.ddp_fee_minor != 0).then(|| amt(c.ddp_fee_minor)),
                return_pct: (c.return_bp != 10_000).then(|| pct_string(c.return_bp)),
                zones: c
                    .zones
                    .iter()
                    .map(|z| {
                        let (bands, steps) = match &z.pricing {
                            Pricing::Bands(b) => (
                                b.iter()
                                    .map(|b| BandSpec { from_g: b.from_g, to_g: b.to_g, price: amt(b.price_minor) })
                                    .collect(),
                                None,
                            ),
                            Pricing::Steps { first_g, first_minor, step_g, step_minor, max_g } => (
                                Vec::new(),
                                Some(StepSpec {
                                    first_g: *first_g,
                                    first_price: amt(*first_minor),
                                    additional_g: *step_g,
                                    additional_price: amt(*step_minor),
                                    max_g: *max_g,
                                }),
                            ),
                        };
                        ZoneSpec {
                            name: z.name.clone(),
                            countries: cs(&z.countries),
                            regions: z.regions.clone(),
                            cities: z.cities.clone(),
                            postcodes: strs(&z.postcodes),
                            transit_days: z.transit_days,
                            bands,
                            steps,
                        }
                    })
                    .collect(),
            },
        }
    }
}

fn threshold(e: &mut FieldErrors, path: &str, t: &ThresholdSpec) -> Option<Threshold> {
    let cur = e.take(format!("{path}.amount.currency"), Currency::parse(&t.amount.currency));
    let amount = price(e, &format!("{path}.amount.amount"), &t.amount.amount, cur);
    let basis = e.take(format!("{path}.basis"), Basis::parse(&t.basis));
    Some(Threshold { amount: Money::new(amount?, cur?), basis: basis? })
}

impl DutyRuleSpec {
    pub fn parse(&self) -> Result<DutyRule, FieldErrors> {
        let mut e = FieldErrors::default();
        let country = e.take("country", Country::parse(&self.country));
        let fmt = time::macros::format_description!("[year]-[month]-[day]");
        let effective_from = match Date::parse(&self.effective_from, fmt) {
            Ok(d) => e.take("effective_from", crate::text::date(d)),
            Err(_) => {
                e.push("effective_from", format!("{:?} is not a date (YYYY-MM-DD)", self.effective_from));
                None
            }
        };
        let duty_bp = e.take("duty_pct", parse_pct(&self.duty_pct));
        let vat_bp = e.take("vat_pct", parse_pct(&self.vat_pct));
        let mut hs_overrides = Vec::new();
        for (prefix, rate) in &self.hs_overrides {
            let p = format!("hs_overrides.{prefix}");
            if prefix.len() < 2 || prefix.len() > 10 || !prefix.bytes().all(|b| b.is_ascii_digit()) {
                e.push(p.clone(), "an HS prefix is 2 to 10 digits (a chapter is 2)");
            }
            if let Some(bp) = e.take(p, parse_pct(rate)) {
                hs_overrides.push((prefix.clone(), bp));
            }
        }
        let duty_de_minimis = self.duty_de_minimis.as_ref().and_then(|t| threshold(&mut e, "duty_de_minimis", t));
        let vat_de_minimis = self.vat_de_minimis.as_ref().and_then(|t| threshold(&mut e, "vat_de_minimis", t));
        let vat_base = match &self.vat_base {
            None => Some(super::duties::VatBase::default()),
            Some(b) => e.take("vat_base", super::duties::VatBase::parse(b)),
        };
        match (country, effective_from, duty_bp, vat_bp, vat_base) {
            (Some(country), Some(effective_from), Some(duty_bp), Some(vat_bp), Some(vat_base)) if e.is_empty() => {
                Ok(DutyRule {
                    country,
                    effective_from,
                    duty_bp,
                    hs_overrides,
                    vat_bp,
                    duty_de_minimis,
                    vat_de_minimis,
                    vat_base,
                    source: self.source.clone(),
                })
            }
            _ => Err(e),
        }
    }
}

impl DutyRule {
    pub fn to_spec(&self) -> DutyRuleSpec {
        let th = |t: &Threshold| ThresholdSpec {
            amount: MoneySpec { amount: t.amount.amount_string(), currency: t.amount.currency.to_string() },
            basis: t.basis.as_str().to_owned(),
        };
        DutyRuleSpec {
            country: self.country.to_string(),
            effective_from: format!(
                "{:04}-{:02}-{:02}",
                self.effective_from.year(),
                self.effective_from.month() as u8,
                self.effective_from.day()
            ),
            duty_pct: pct_string(self.duty_bp),
            hs_overrides: self.hs_overrides.iter().map(|(p, r)| (p.clone(), pct_string(*r))).collect(),
            vat_pct: pct_string(self.vat_bp),
            duty_de_minimis: self.duty_de_minimis.as_ref().map(th),
            vat_de_minimis: self.vat_de_minimis.as_ref().map(th),
            vat_base: (self.vat_base != super::duties::VatBase::default()).then(|| self.vat_base.as_str().to_owned()),
            source: self.source.clone(),
        }
    }
}
