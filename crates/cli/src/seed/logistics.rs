//! The demo's logistics: channels for its markets with believable rate cards, dated duty and VAT defaults,
//! and the exchange rates both ways that quoting needs. The figures are plausible, not authoritative: a
//! seller confirms duty and de minimis values with a customs broker before relying on them.

use codflow_domain::rating::{ChannelSpec, DutyRuleSpec};
use codflow_domain::{Actor, Country, Currency, FxRate};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use codflow_app::{App, Result};

/// (country, currency, duty %, VAT %, duty de minimis, VAT de minimis, HS overrides)
type DutyRow = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
    &'static [(&'static str, &'static str)],
);

const DUTIES: &[DutyRow] = &[
    ("SA", "SAR", "5", "15", Some("1000"), None, &[("61", "12"), ("85", "5")]),
    ("AE", "AED", "5", "5", Some("1000"), None, &[]),
    ("KW", "KWD", "5", "0", Some("100"), None, &[]),
    ("OM", "OMR", "5", "5", Some("100"), None, &[]),
    ("QA", "QAR", "5", "0", Some("1000"), None, &[]),
    ("BH", "BHD", "5", "10", Some("100"), None, &[]),
    ("TH", "THB", "10", "7", Some("1500"), None, &[("61", "30")]),
    ("VN", "VND", "8", "10", Some("1000000"), Some("1000000"), &[]),
    ("MY", "MYR", "5", "10", Some("500"), None, &[]),
    ("ID", "IDR", "7.5", "11", Some("45000"), None, &[("61", "25")]),
    ("PH", "PHP", "5", "12", Some("10000"), Some("10000"), &[]),
    ("MX", "MXN", "17", "16", Some("1000"), Some("1000"), &[]),
    ("CO", "COP", "10", "19", Some("800000"), None, &[]),
    ("CL", "CLP", "6", "19", Some("40000"), None, &[]),
    ("PL", "PLN", "4", "23", Some("650"), None, &[("61", "12")]),
];

pub(crate) fn bands(prices: &[(i64, i64, &str)]) -> Value {
    Value::Array(prices.iter().map(|(f, t, p)| json!({"from_g": f, "to_g": t, "price": p})).collect())
}

pub(crate) fn channel(
    code: &str,
    name: &str,
    carrier: &str,
    service: &str,
    countries: &[&str],
    zones: Value,
    extra: Value,
) -> ChannelSpec {
    let mut v = json!({
        "code": code, "name": name, "carrier": carrier, "service": service, "priority": 1,
        "coverage": {"countries": countries},
        "limits": {"max_weight_g": 30000, "max_length_cm": 120, "max_girth_cm": 300},
        "capabilities": {"cod": true, "ddp": true},
        "settlement_cycle_days": 14,
        "rate_card": {
            "currency": "USD", "weight_rounding_g": 100, "volumetric_divisor": 6000, "min_charge": "5.00",
            "fuel_surcharge_pct": "8.5", "oversize": {"longest_side_cm": 100, "fee": "15.00"},
            "cod_fee": {"pct": "1.5", "min": "1.00", "max": "12.00"}, "ddp_fee": "1.50",
            "zones": zones
        }
    });
    if let (Some(obj), Some(more)) = (v.as_object_mut(), extra.as_object()) {
        for (k, x) in more {
            match (obj.get_mut(k), x) {
                (Some(Value::Object(into)), Value::Object(from)) => {
                    into.extend(from.clone());
                }
                _ => {
                    obj.insert(k.clone(), x.clone());
                }
            }
        }
    }
    serde_json::from_value(v).expect("demo channels are well-formed")
}

pub fn channels() -> Vec<ChannelSpec> {
    let gcc = ["SA", "AE", "KW", "OM", "QA", "BH"];
    let metro = json!(["Riyadh", "Jeddah", "Dubai", "Abu Dhabi", "Kuwait City", "Doha", "Muscat", "Manama"]);
    let std_bands = bands(&[
        (0, 500, "6.50"),
        (500, 1000, "8.90"),
        (1000, 2000, "12.40"),
        (2000, 5000, "19.80"),
        (5000, 30000, "31.00"),
    ]);
    let exp_bands = bands(&[
        (0, 500, "9.50"),
        (500, 1000, "12.90"),
        (1000, 2000, "17.40"),
        (2000, 5000, "26.80"),
        (5000, 30000, "42.00"),
    ]);
    vec![
        channel(
            "SBX-GCC-STD",
            "Sandbox Gulf standard",
            "sandbox",
            "standard",
            &gcc,
            json!([
                {"name": "gcc-metro", "cities": metro, "transit_days": 5, "bands": std_bands},
                {"name": "gcc-rest", "countries": gcc, "transit_days": 7, "bands": std_bands}
            ]),
            json!({"rate_card": {"remote_area": {"postcodes": ["45*", "211"], "fee": "3.00"}},
                   "limits": {"cod_max": [{"amount": "5000", "currency": "SAR"}, {"amount": "5000", "currency": "AED"}]}}),
        ),
        channel(
            "SBX-GCC-EXP",
            "Sandbox Gulf express",
            "sandbox",
            "express",
            &gcc,
            json!([
                {"name": "gcc-metro", "cities": metro, "transit_days": 3, "bands": exp_bands},
                {"name": "gcc-rest", "countries": gcc, "transit_days": 4, "bands": exp_bands}
            ]),
            json!({"priority": 2, "capabilities": {"batteries": true}}),
        ),
        channel(
            "ARX-GCC-PDX",
            "Aramex priority document express",
            "aramex",
            "PDX",
            &gcc,
            json!([{"name": "gcc", "countries": gcc, "transit_days": 4,
                    "steps": {"first_g": 500, "first_price": "9.00", "additional_g": 500, "additional_price": "2.50", "max_g": 30000}}]),
            json!({"enabled": false, "capabilities": {"batteries": true}}),
        ),
        channel(
            "SBX-SEA-STD",
            "Sandbox South-East Asia standard",
            "sandbox",
            "standard",
            &["TH", "VN", "MY", "ID", "PH"],
            json!([
                {"name": "sea-capitals", "cities": ["Bangkok", "Ho Chi Minh City", "Hanoi", "Kuala Lumpur", "Jakarta", "Quezon City"],
                 "transit_days": 6, "bands": bands(&[(0, 500, "4.20"), (500, 1000, "6.10"), (1000, 2000, "9.30"), (2000, 30000, "21.00")])},
                {"name": "sea-rest", "countries": ["TH", "VN", "MY", "ID", "PH"], "transit_days": 9,
                 "bands": bands(&[(0, 500, "5.20"), (500, 1000, "7.10"), (1000, 2000, "10.80"), (2000, 30000, "24.00")])}
            ]),
            json!({}),
        ),
        channel(
            "SBX-LATAM-STD",
            "Sandbox Latin America standard",
            "sandbox",
            "standard",
            &["MX", "CO", "CL"],
            json!([{"name": "latam", "countries": ["MX", "CO", "CL"], "transit_days": 12,
                    "steps": {"first_g": 500, "first_price": "8.80", "additional_g": 500, "additional_price": "3.40", "max_g": 20000}}]),
            json!({"settlement_cycle_days": 21, "rate_card": {"cod_fee": {"pct": "3", "min": "1.50", "max": "20.00"}}}),
        ),
        channel(
            "SBX-EU-STD",
            "Sandbox Europe standard (IOSS)",
            "sandbox",
            "standard",
            &["PL", "RO"],
            json!([{"name": "eu", "countries": ["PL", "RO"], "transit_days": 8,
                    "bands": bands(&[(0, 500, "5.90"), (500, 1000, "7.90"), (1000, 2000, "11.50"), (2000, 30000, "25.00")])}]),
            json!({}),
        ),
    ]
}

pub fn duty_rules() -> Vec<DutyRuleSpec> {
    let mut out: Vec<DutyRuleSpec> = DUTIES
        .iter()
        .map(|(country, cur, duty, vat, dmin, vmin, hs)| {
            let th = |a: &Option<&str>| a.map(|a| json!({"amount": {"amount": a, "currency": cur}, "basis": "goods"}));
            serde_json::from_value(json!({
                "country": country, "effective_from": "2025-01-01", "duty_pct": duty, "vat_pct": vat,
                "hs_overrides": hs.iter().map(|(p, r)| (p.to_string(), r.to_string())).collect::<std::collections::BTreeMap<_, _>>(),
                "duty_de_minimis": th(dmin), "vat_de_minimis": th(vmin),
                "source": "codflow demo default; confirm with a customs broker"
            }))
            .expect("demo duty rules are well-formed")
        })
        .collect();
    // Romania raised its standard VAT rate in August 2025: two dated versions.
    for (from, vat) in [("2025-01-01", "19"), ("2025-08-01", "21")] {
        out.push(
            serde_json::from_value(json!({
                "country": "RO", "effective_from": from, "duty_pct": "4", "vat_pct": vat,
                "duty_de_minimis": {"amount": {"amount": "700", "currency": "RON"}, "basis": "goods"},
                "source": "codflow demo default; confirm with a customs broker"
            }))
            .expect("demo duty rules are well-formed"),
        );
    }
    out
}

/// Channels, duty rules and exchange rates (market currency ↔ USD) for the demo markets.
pub async fn seed_logistics(app: &App, markets: &[(&str, i64)]) -> Result<()> {
    let by = Actor::Worker("demo".into());
    let usd = Currency::parse("USD")?;
    let day = (OffsetDateTime::now_utc() - Duration::days(30)).date();
    for (currency, per_usd) in markets {
        let c = Currency::parse(currency)?;
        let to_usd = (Decimal::ONE / Decimal::from(*per_usd)).round_dp(8);
        app.review().put_fx_rate(FxRate::new(c, usd, to_usd, day, "demo")?).await?;
        app.review().put_fx_rate(FxRate::new(usd, c, Decimal::from(*per_usd), day, "demo")?).await?;
    }
    app.fulfilment().put_channels(&channels(), by.clone()).await?;
    app.fulfilment().put_duty_rules(&duty_rules(), by.clone()).await?;
    // Made-up registrations in the shape of the real ones, so commercial invoices show an importer.
    let vat = [("SA", "300000000000003"), ("AE", "100000000000003"), ("GB", "GB123456789"), ("MX", "DTC200101AB1")];
    let docs = codflow_app::documents::DocumentSettings {
        seller_name: "Demo Trading Co., Ltd.".into(),
        seller_address: vec!["8 Keyuan Road, Nanshan".into(), "Shenzhen 518057, CN".into()],
        eori_number: Some("NL823456789".into()),
        ioss_number: Some("IM5280000001".into()),
        vat_numbers: vat.iter().map(|(c, n)| Ok((Country::parse(c)?, (*n).to_owned()))).collect::<Result<_>>()?,
        public_base_url: String::new(),
    };
    app.fulfilment().set_document_settings(docs, by).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_demo_channel_and_duty_rule_is_valid() {
        for c in super::channels() {
            c.parse().unwrap_or_else(|e| panic!("{}: {e:?}", c.code));
        }
        for d in super::duty_rules() {
            d.parse().unwrap_or_else(|e| panic!("{}: {e:?}", d.country));
        }
    }
}
