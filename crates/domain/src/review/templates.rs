//! Ready-made rules a seller switches on with a few parameters. Each one writes an ordinary rule (condition,
//! action, reason), so what it does can be read, edited and back-tested like any other.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::order::Decision;
use crate::{Currency, FieldErrors, Money};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ParamKind {
    Int,
    Rate,
    /// A decimal amount in the base currency.
    Amount,
    Bool,
    List,
}

#[derive(Clone, Debug, Serialize)]
pub struct Param {
    pub name: &'static str,
    pub kind: ParamKind,
    pub default: Option<&'static str>,
    pub help: &'static str,
}

/// A parameter as given: a number, a string or a list of strings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ParamValue {
    Bool(bool),
    Int(i64),
    Number(f64),
    Text(String),
    List(Vec<String>),
}

#[derive(Clone, Debug, Serialize)]
pub struct Template {
    pub key: &'static str,
    pub title: &'static str,
    pub action: Decision,
    pub notify: Option<&'static str>,
    pub params: &'static [Param],
    #[serde(skip)]
    build: fn(&Args<'_>) -> Option<(String, String)>,
}

/// A rule as a template writes it; the caller gives it an id, a name and a priority.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Drafted {
    pub condition: String,
    pub action: Decision,
    pub reason: String,
    pub notify: Option<String>,
}

struct Args<'a> {
    values: BTreeMap<&'static str, ParamValue>,
    base: Currency,
    errors: std::cell::RefCell<&'a mut FieldErrors>,
}

impl Args<'_> {
    fn fail(&self, name: &str, msg: &str) {
        self.errors.borrow_mut().push(format!("params.{name}"), msg);
    }
    fn int(&self, name: &str) -> Option<i64> {
        match self.values.get(name) {
            Some(ParamValue::Int(i)) if *i >= 0 => Some(*i),
            _ => {
                self.fail(name, "must be a whole number, 0 or more");
                None
            }
        }
    }
    fn rate(&self, name: &str) -> Option<f64> {
        match self.values.get(name) {
            Some(ParamValue::Int(i)) if (0..=1).contains(i) => Some(*i as f64),
            Some(ParamValue::Number(f)) if (0.0..=1.0).contains(f) => Some(*f),
            _ => {
                self.fail(name, "must be a rate between 0 and 1 (0.3 = 30%)");
                None
            }
        }
    }
    fn flag(&self, name: &str) -> Option<bool> {
        match self.values.get(name) {
            Some(ParamValue::Bool(b)) => Some(*b),
            _ => {
                self.fail(name, "must be true or false");
                None
            }
        }
    }
    fn amount(&self, name: &str) -> Option<Money> {
        let text = match self.values.get(name) {
            Some(ParamValue::Text(t)) => t.clone(),
            Some(ParamValue::Int(i)) => i.to_string(),
            _ => String::new(),
        };
        match Money::parse(&text, self.base) {
            Ok(m) if !m.is_negative() => Some(m),
            _ => {
                self.fail(name, &format!("must be an amount in {} as a string, such as \"300.00\"", self.base));
                None
            }
        }
    }
    fn list(&self, name: &str) -> Option<Vec<String>> {
        match self.values.get(name) {
            Some(ParamValue::List(l)) if !l.is_empty() && l.iter().all(|s| !s.trim().is_empty()) => {
                Some(l.iter().map(|s| s.trim().to_owned()).collect())
            }
            _ => {
                self.fail(name, "must be a non-empty list of strings");
                None
            }
        }
    }
}

/// A CEL string literal.
fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

fn quote_list(items: &[String]) -> String {
    format!("[{}]", items.iter().map(|s| quote(s)).collect::<Vec<_>>().join(", "))
}

const NO_PARAMS: &[Param] = &[];

pub const TEMPLATES: &[Template] = &[
    Template {
        key: "cod_unsupported_region",
        title: "COD not supported in the region: cancel and tell the buyer",
        action: Decision::Cancel,
        notify: Some("cod_unavailable"),
        params: NO_PARAMS,
        build: |_| {
            Some((
                r#"order.cod && in_list("cod_unsupported_regions", dest.region_key)"#.into(),
                "cash on delivery is not available in this region".into(),
            ))
        },
    },
    Template {
        key: "blacklisted_destination",
        title: "Blacklisted region or postcode: cancel",
        action: Decision::Cancel,
        notify: None,
        params: NO_PARAMS,
        build: |_| {
            Some((
                r#"in_list("blacklisted_regions", dest.region_key) || in_list("blacklisted_postcodes", dest.postcode_key)"#
                    .into(),
                "the destination is blacklisted".into(),
            ))
        },
    },
    Template {
        key: "region_refusal_rate",
        title: "Region refuses too often: hold",
        action: Decision::Hold,
        notify: None,
        params: &[
            Param {
                name: "max_rate",
                kind: ParamKind::Rate,
                default: Some("0.35"),
                help: "hold above this refusal rate",
            },
            Param {
                name: "min_samples",
                kind: ParamKind::Int,
                default: Some("30"),
                help: "only with this many outcomes known",
            },
        ],
        build: |a| {
            let (x, n) = (a.rate("max_rate"), a.int("min_samples"));
            let (x, n) = (x?, n?);
            Some((
                format!("hist.region_refusal_rate > {x:?} && hist.region_samples >= {n}"),
                format!("the region refuses more than {:.0}% of COD parcels", x * 100.0),
            ))
        },
    },
    Template {
        key: "high_value",
        title: "Order value above a limit: hold for phone confirmation",
        action: Decision::Hold,
        notify: Some("confirm_order"),
        params: &[Param {
            name: "limit",
            kind: ParamKind::Amount,
            default: Some("300.00"),
            help: "in the base currency",
        }],
        build: |a| {
            let m = a.amount("limit")?;
            Some((
                format!("order.total_base_minor > {}", m.minor),
                format!("order value above {m}: confirm by phone before shipping"),
            ))
        },
    },
    Template {
        key: "large_quantity",
        title: "Too many items, or too many of one SKU: hold",
        action: Decision::Hold,
        notify: None,
        params: &[
            Param { name: "max_items", kind: ParamKind::Int, default: Some("10"), help: "units in the whole order" },
            Param { name: "max_per_sku", kind: ParamKind::Int, default: Some("5"), help: "units of one SKU" },
        ],
        build: |a| {
            let (n, m) = (a.int("max_items"), a.int("max_per_sku"));
            let (n, m) = (n?, m?);
            Some((
                format!("order.item_count > {n} || order.max_sku_quantity > {m}"),
                format!("more than {n} items or more than {m} of one SKU"),
            ))
        },
    },
    Template {
        key: "refusing_phone",
        title: "Buyer phone with past refusals: cancel",
        action: Decision::Cancel,
        notify: None,
        params: &[Param { name: "min_refusals", kind: ParamKind::Int, default: Some("2"), help: "refusals on record" }],
        build: |a| {
            let n = a.int("min_refusals")?.max(1);
            Some((format!("buyer.refusals >= {n}"), format!("the buyer's phone refused {n} or more earlier parcels")))
        },
    },
    Template {
        key: "blacklisted_phone",
        title: "Blacklisted phone: cancel",
        action: Decision::Cancel,
        notify: None,
        params: NO_PARAMS,
        build: |_| {
            Some((r#"in_list("blacklisted_phones", buyer.phone)"#.into(), "the buyer's phone is blacklisted".into()))
        },
    },
    Template {
        key: "duplicate_24h",
        title: "Same phone and same SKUs within 24 h: hold as a duplicate",
        action: Decision::Hold,
        notify: None,
        params: NO_PARAMS,
        build: |_| {
            Some((
                "buyer.duplicates_24h >= 1".into(),
                "the same phone ordered the same items within 24 hours: possible duplicate".into(),
            ))
        },
    },
    Template {
        key: "sku_region_block",
        title: "SKU prohibited, or COD blocked, in a region: cancel",
        action: Decision::Cancel,
        notify: Some("cod_unavailable"),
        params: &[
            Param { name: "skus", kind: ParamKind::List, default: None, help: "the SKUs concerned" },
            Param {
                name: "regions",
                kind: ParamKind::List,
                default: None,
                help: "countries ('sa') or 'country:region' keys ('sa:jizan')",
            },
            Param { name: "cod_only", kind: ParamKind::Bool, default: Some("false"), help: "only block COD orders" },
        ],
        build: |a| {
            let (skus, regions, cod) = (a.list("skus"), a.list("regions"), a.flag("cod_only"));
            let (skus, regions, cod) = (skus?, regions?, cod?);
            let regions: Vec<String> = regions.iter().map(|r| r.to_lowercase()).collect();
            let where_ = quote_list(&regions);
            let cond = format!(
                "{}order.skus.exists(s, s in {}) && (dest.region_key in {where_} || dest.country.lowerAscii() in {where_})",
                if cod { "order.cod && " } else { "" },
                quote_list(&skus),
            );
            let reason = if cod {
                "cash on delivery is not available for this item in this region"
            } else {
                "this item cannot be shipped to this region"
            };
            Some((cond, reason.into()))
        },
    },
    Template {
        key: "invalid_mobile",
        title: "Phone is not a valid mobile number of the destination: hold",
        action: Decision::Hold,
        notify: None,
        params: NO_PARAMS,
        build: |_| {
            Some((
                "!buyer.phone_is_mobile".into(),
                "the buyer's phone is not a mobile number of the destination country; the courier cannot call".into(),
            ))
        },
    },
];

pub fn find(key: &str) -> Option<&'static Template> {
    TEMPLATES.iter().find(|t| t.key == key)
}

impl Template {
    /// Writes the rule for the given parameters; missing ones take their defaults.
    pub fn draft(&self, given: &BTreeMap<String, ParamValue>, base: Currency) -> Result<Drafted, FieldErrors> {
        let mut errors = FieldErrors::default();
        for name in given.keys() {
            if !self.params.iter().any(|p| p.name == name) {
                errors.push(format!("params.{name}"), format!("template {} has no parameter {name}", self.key));
            }
        }
        let mut values = BTreeMap::new();
        let mut missing = false;
        for p in self.params {
            let v = match (given.get(p.name), p.default) {
                (Some(v), _) => v.clone(),
                (None, Some(d)) => match p.kind {
                    ParamKind::Int => ParamValue::Int(d.parse().unwrap_or(0)),
                    ParamKind::Rate => ParamValue::Number(d.parse().unwrap_or(0.0)),
                    ParamKind::Bool => ParamValue::Bool(d == "true"),
                    ParamKind::Amount | ParamKind::List => ParamValue::Text(d.to_owned()),
                },
                (None, None) => {
                    errors.push(format!("params.{}", p.name), "is required");
                    missing = true;
                    continue;
                }
            };
            values.insert(p.name, v);
        }
        if missing {
            return Err(errors);
        }
        let built = {
            let args = Args { values, base, errors: std::cell::RefCell::new(&mut errors) };
            (self.build)(&args)
        };
        match built {
            Some((condition, reason)) if errors.is_empty() => {
                Ok(Drafted { condition, action: self.action, reason, notify: self.notify.map(str::to_owned) })
            }
            _ => Err(errors),
        }
    }
}
