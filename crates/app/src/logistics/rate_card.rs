//! Rate cards as one CSV for every channel: exported as the store keeps them, imported whole (every channel a
//! file names is replaced, the rest kept).

use std::collections::{BTreeMap, HashMap};

use codflow_domain::rating::Channel;
use codflow_domain::{Actor, FieldErrors};
use serde::{Deserialize, Serialize};

use crate::{Error, Fulfilment, Result};

/// One row of the rate-card CSV: a weight band of a zone, or a zone's first+additional price.
#[derive(Debug, Default, Deserialize, Serialize)]
struct RateRow {
    channel: String,
    zone: String,
    countries: String,
    regions: String,
    cities: String,
    postcodes: String,
    transit_days: String,
    from_g: String,
    to_g: String,
    price: String,
    first_g: String,
    first_price: String,
    additional_g: String,
    additional_price: String,
    max_g: String,
}

const RATE_HEADER: &[&str] = &[
    "channel",
    "zone",
    "countries",
    "regions",
    "cities",
    "postcodes",
    "transit_days",
    "from_g",
    "to_g",
    "price",
    "first_g",
    "first_price",
    "additional_g",
    "additional_price",
    "max_g",
];

fn split_list(s: &str) -> Vec<String> {
    s.split('|').map(str::trim).filter(|x| !x.is_empty()).map(str::to_owned).collect()
}

fn join_list(v: &[String]) -> String {
    v.join("|")
}

/// Whether `v` reads as a non-negative amount: digits, optionally a point and more digits.
fn is_amount(v: &str) -> bool {
    let (whole, decimals) = v.split_once('.').unwrap_or((v, "0"));
    !whole.is_empty() && !decimals.is_empty() && (whole.bytes().chain(decimals.bytes())).all(|b| b.is_ascii_digit())
}

/// Rate-card CSV import outcome.
#[derive(Debug, PartialEq, Eq)]
pub struct RateImport {
    pub channels: usize,
    pub zones: usize,
    pub rows: usize,
}

impl Fulfilment {
    /// Every channel's rate card as CSV rows (see the header).
    pub async fn export_rate_csv(&self) -> Result<String> {
        rate_csv(&self.channels().await?)
    }
}

/// The rate cards of `channels` as CSV rows, header first: the file [`Fulfilment::import_rate_csv`] takes back.
pub fn rate_csv(channels: &[Channel]) -> Result<String> {
    let mut w = csv::WriterBuilder::new().has_headers(false).from_writer(Vec::new());
    let csv_err = |e: csv::Error| Error::invalid("csv", e.to_string());
    w.write_record(RATE_HEADER).map_err(csv_err)?;
    for ch in channels {
        let spec = ch.to_spec();
        for z in &spec.rate_card.zones {
            let base = RateRow {
                channel: spec.code.clone(),
                zone: z.name.clone(),
                countries: join_list(&z.countries),
                regions: join_list(&z.regions),
                cities: join_list(&z.cities),
                postcodes: join_list(&z.postcodes),
                transit_days: z.transit_days.to_string(),
                ..Default::default()
            };
            if let Some(s) = &z.steps {
                let row = RateRow {
                    first_g: s.first_g.to_string(),
                    first_price: s.first_price.clone(),
                    additional_g: s.additional_g.to_string(),
                    additional_price: s.additional_price.clone(),
                    max_g: s.max_g.map(|m| m.to_string()).unwrap_or_default(),
                    ..base
                };
                w.serialize(row).map_err(csv_err)?;
            } else {
                for b in &z.bands {
                    let row = RateRow {
                        from_g: b.from_g.to_string(),
                        to_g: b.to_g.to_string(),
                        price: b.price.clone(),
                        channel: base.channel.clone(),
                        zone: base.zone.clone(),
                        countries: base.countries.clone(),
                        regions: base.regions.clone(),
                        cities: base.cities.clone(),
                        postcodes: base.postcodes.clone(),
                        transit_days: base.transit_days.clone(),
                        ..Default::default()
                    };
                    w.serialize(row).map_err(csv_err)?;
                }
            }
        }
    }
    String::from_utf8(w.into_inner().map_err(|e| Error::invalid("csv", e.to_string()))?)
        .map_err(|e| Error::invalid("csv", e.to_string()))
}

impl Fulfilment {
    /// Replaces the zones of the channels named in a rate-card CSV, all or nothing. Errors name the line
    /// (`line 3.price`); the header must be exactly the exported one.
    pub async fn import_rate_csv(&self, data: &[u8], actor: Actor) -> Result<RateImport> {
        let mut r = codflow_sheets::csv::Reader::new(data, b',');
        let header = match r.next_record() {
            Some(Ok(h)) => csv::StringRecord::from(h.fields),
            Some(Err(e)) => return Err(Error::invalid("header", e.to_string())),
            None => return Err(Error::invalid("header", "line 1: the file is empty")),
        };
        if header.iter().collect::<Vec<_>>() != RATE_HEADER {
            return Err(Error::invalid("header", format!("expected the columns {}", RATE_HEADER.join(","))));
        }
        let mut e = FieldErrors::default();
        // channel → zone → (zone spec, band rows)
        let mut by_channel: BTreeMap<String, Vec<codflow_domain::rating::ZoneSpec>> = BTreeMap::new();
        let mut rows = 0;
        for rec in r {
            let (line, row) = match rec {
                Ok(rec) => (rec.line, csv::StringRecord::from(rec.fields).deserialize::<RateRow>(Some(&header))),
                Err(err) => {
                    e.push(format!("line {}", err.line), err.message);
                    continue;
                }
            };
            let row = match row {
                Ok(row) => row,
                Err(err) => {
                    e.push(format!("line {line}"), err.to_string());
                    continue;
                }
            };
            rows += 1;
            let int = |e: &mut FieldErrors, name: &str, v: &str| -> Option<i64> {
                v.trim()
                    .parse()
                    .map_err(|_| e.push(format!("line {line}.{name}"), format!("{v:?} is not a whole number")))
                    .ok()
            };
            // Prices are checked here too, so a refusal names the line as well as the card's field.
            let amount = |e: &mut FieldErrors, name: &str, v: &str| {
                if !is_amount(v.trim()) {
                    e.push(
                        format!("line {line}.{name}"),
                        format!("{v:?} is not an amount (digits, a '.' and decimals)"),
                    );
                }
            };
            if row.first_g.trim().is_empty() {
                amount(&mut e, "price", &row.price);
            } else {
                amount(&mut e, "first_price", &row.first_price);
                amount(&mut e, "additional_price", &row.additional_price);
            }
            let Some(transit_days) = int(&mut e, "transit_days", &row.transit_days) else { continue };
            let zones = by_channel.entry(row.channel.clone()).or_default();
            let zone = match zones.iter_mut().find(|z| z.name == row.zone) {
                Some(z) => z,
                None => {
                    zones.push(codflow_domain::rating::ZoneSpec {
                        name: row.zone.clone(),
                        countries: split_list(&row.countries),
                        regions: split_list(&row.regions),
                        cities: split_list(&row.cities),
                        postcodes: split_list(&row.postcodes),
                        transit_days,
                        bands: Vec::new(),
                        steps: None,
                    });
                    zones.last_mut().expect("just pushed")
                }
            };
            if row.first_g.trim().is_empty() {
                let (Some(from_g), Some(to_g)) = (int(&mut e, "from_g", &row.from_g), int(&mut e, "to_g", &row.to_g))
                else {
                    continue;
                };
                zone.bands.push(codflow_domain::rating::BandSpec { from_g, to_g, price: row.price.trim().to_owned() });
            } else {
                let (Some(first_g), Some(additional_g)) =
                    (int(&mut e, "first_g", &row.first_g), int(&mut e, "additional_g", &row.additional_g))
                else {
                    continue;
                };
                let max_g = if row.max_g.trim().is_empty() { None } else { int(&mut e, "max_g", &row.max_g) };
                zone.steps = Some(codflow_domain::rating::StepSpec {
                    first_g,
                    first_price: row.first_price.trim().to_owned(),
                    additional_g,
                    additional_price: row.additional_price.trim().to_owned(),
                    max_g,
                });
            }
        }
        let mut specs = Vec::new();
        let existing: HashMap<String, Channel> =
            self.channels().await?.into_iter().map(|c| (c.code.to_string(), c)).collect();
        for (code, zones) in by_channel {
            let Some(ch) = existing.get(&code) else {
                e.push(format!("channel {code}"), "no such channel; create it first (the CSV holds rates only)");
                continue;
            };
            let mut spec = ch.to_spec();
            spec.rate_card.zones = zones;
            if let Err(errs) = spec.parse() {
                for f in errs.0 {
                    e.push(format!("channel {code}.{}", f.path), f.message);
                }
            }
            specs.push(spec);
        }
        if !e.is_empty() {
            return Err(Error::Invalid(e));
        }
        let zones = specs.iter().map(|s| s.rate_card.zones.len()).sum();
        let n = specs.len();
        if n > 0 {
            self.put_channels(&specs, actor).await?;
        }
        Ok(RateImport { channels: n, zones, rows })
    }
}
