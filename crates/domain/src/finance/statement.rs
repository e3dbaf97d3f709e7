//! Settlement statements as the domain sees them: a mapping profile turns the rows of a carrier's or a
//! payment platform's file (already split into cells by the CSV or XLSX reader at the edge) into typed
//! lines, strictly, each problem reported with its line and field while the good lines go on.
//!
//! Over 600 lines because 130 of them are its unit tests.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use time::{Date, Month};

use crate::error::{Error, FieldErrors};
use crate::money::{Currency, Money};

/// What a statement is: which lines it holds and what they are matched against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatementKind {
    /// A carrier pays over the cash it collected, less its fees: one line per parcel.
    CodRemittance,
    /// A payment platform's transfers to the seller: one line per remittance it carried.
    Payout,
    /// A carrier bills its freight: one line per parcel.
    FreightInvoice,
}

impl StatementKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            StatementKind::CodRemittance => "cod_remittance",
            StatementKind::Payout => "payout",
            StatementKind::FreightInvoice => "freight_invoice",
        }
    }

    pub fn parse(s: &str) -> Result<Self, Error> {
        match s {
            "cod_remittance" => Ok(StatementKind::CodRemittance),
            "payout" => Ok(StatementKind::Payout),
            "freight_invoice" => Ok(StatementKind::FreightInvoice),
            _ => Err(Error::invalid("kind", format!("{s:?} is not cod_remittance, payout or freight_invoice"))),
        }
    }

    /// The fields a profile of this kind must map to a column (besides a currency, column or fixed).
    fn required(&self) -> &'static [Field] {
        match self {
            StatementKind::CodRemittance => &[Field::Net],
            StatementKind::Payout => &[Field::Reference, Field::Amount],
            StatementKind::FreightInvoice => &[Field::TrackingNumber, Field::Amount],
        }
    }
}

/// A field of a statement line that a profile maps from a column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    TrackingNumber,
    OrderRef,
    /// The batch or transfer this line belongs to (a remittance's reference, quoted by the payout).
    Reference,
    Date,
    Currency,
    /// Gross: the cash collected (remittance), the transfer's gross (payout), the amount billed (invoice).
    Amount,
    /// The COD fee (remittance) or the platform's fee (payout).
    Fee,
    /// Freight the carrier deducted from the cash.
    Freight,
    /// Any other deduction (return fees, taxes on fees).
    Other,
    /// What was paid: amount − fee − freight − other.
    Net,
    /// Payout: the rate applied, one unit of the line's currency in the settled currency.
    FxRate,
    /// Payout: what arrived, in `settled_currency`.
    Settled,
    SettledCurrency,
    /// Invoice: the weight the carrier billed, in grams or kilograms (see `weight_unit`).
    BilledWeight,
    Zone,
}

impl Field {
    pub const ALL: [Field; 15] = [
        Field::TrackingNumber,
        Field::OrderRef,
        Field::Reference,
        Field::Date,
        Field::Currency,
        Field::Amount,
        Field::Fee,
        Field::Freight,
        Field::Other,
        Field::Net,
        Field::FxRate,
        Field::Settled,
        Field::SettledCurrency,
        Field::BilledWeight,
        Field::Zone,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Field::TrackingNumber => "tracking_number",
            Field::OrderRef => "order_ref",
            Field::Reference => "reference",
            Field::Date => "date",
            Field::Currency => "currency",
            Field::Amount => "amount",
            Field::Fee => "fee",
            Field::Freight => "freight",
            Field::Other => "other",
            Field::Net => "net",
            Field::FxRate => "fx_rate",
            Field::Settled => "settled",
            Field::SettledCurrency => "settled_currency",
            Field::BilledWeight => "billed_weight",
            Field::Zone => "zone",
        }
    }

    pub fn parse(s: &str) -> Result<Field, Error> {
        Field::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| Error::invalid("columns", format!("{s:?} is not a statement field")))
    }
}

/// How a file writes its numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NumberFormat {
    /// '.' or ','.
    pub decimal: char,
    /// None, or one of ',', '.', ' ', '\'' (different from `decimal`).
    pub thousands: Option<char>,
}

impl Default for NumberFormat {
    fn default() -> Self {
        NumberFormat { decimal: '.', thousands: Some(',') }
    }
}

/// How to read one seller's, carrier's or platform's files (columns → fields, formats, conventions).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    pub name: String,
    pub kind: StatementKind,
    /// Header text of the column holding each field (compared trimmed and case-insensitively).
    pub columns: BTreeMap<Field, String>,
    /// Date patterns tried in order: `YYYY`, `MM`, `DD`, `HH`, `mm`, `ss` and literal separators; a time
    /// part after the date is allowed when the pattern ends at the date.
    pub date_formats: Vec<String>,
    pub number: NumberFormat,
    /// The currency of every amount when the file has no currency column.
    pub currency: Option<Currency>,
    /// Deductions (fee, freight, other) are written as negative numbers.
    pub deductions_negative: bool,
    /// CSV: the delimiter; None detects it from the header.
    pub delimiter: Option<char>,
    /// Rows before the header (a title, a logo line).
    pub skip_rows: usize,
    /// Invoice weights in kilograms (else grams).
    pub weight_in_kg: bool,
    /// Conditions every row read must meet; rows that fail one are skipped and counted, not refused. An
    /// account's export lists withdrawals, fees and pending transfers beside the receipts a payout is about.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub only_rows: Vec<RowCondition>,
}

/// A row is read only when its `column` holds `equals` (trimmed, without case), or, with `equals` absent,
/// anything at all.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RowCondition {
    pub column: String,
    #[serde(default)]
    pub equals: Option<String>,
}

impl RowCondition {
    fn holds(&self, cell: Option<&str>) -> bool {
        let cell = cell.map(str::trim).unwrap_or_default();
        match &self.equals {
            Some(v) => cell.eq_ignore_ascii_case(v.trim()),
            None => !cell.is_empty(),
        }
    }
}

impl Profile {
    /// Refuses a profile that could not read a file of its kind, naming every problem.
    pub fn validate(&self) -> Result<(), FieldErrors> {
        let mut errs = FieldErrors::default();
        let name = self.name.trim();
        if name.is_empty() || name.len() > 64 || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b))
        {
            errs.push("name", "1 to 64 letters, digits, '-' or '_'");
        }
        for f in self.kind.required() {
            if !self.columns.contains_key(f) {
                errs.push(
                    format!("columns.{}", f.as_str()),
                    format!("a {} profile must map {}", self.kind.as_str(), f.as_str()),
                );
            }
        }
        if self.kind == StatementKind::CodRemittance
            && !self.columns.contains_key(&Field::TrackingNumber)
            && !self.columns.contains_key(&Field::OrderRef)
        {
            errs.push("columns", "a remittance profile must map tracking_number or order_ref");
        }
        if self.currency.is_none() && !self.columns.contains_key(&Field::Currency) {
            errs.push("currency", "give a fixed currency or map a currency column");
        }
        for (f, header) in &self.columns {
            if header.trim().is_empty() {
                errs.push(format!("columns.{}", f.as_str()), "empty column name");
            }
        }
        let n = self.number;
        if !matches!(n.decimal, '.' | ',') {
            errs.push("number.decimal", "'.' or ','");
        }
        if n.thousands.is_some_and(|t| t == n.decimal || !matches!(t, ',' | '.' | ' ' | '\'')) {
            errs.push("number.thousands", "a comma, a dot, a space or an apostrophe, not the decimal mark");
        }
        for (i, f) in self.date_formats.iter().enumerate() {
            if let Err(why) = pattern(f) {
                errs.push(format!("date_formats[{i}]"), why);
            }
        }
        if self.columns.contains_key(&Field::Date) && self.date_formats.is_empty() {
            errs.push("date_formats", "a date column needs at least one date format");
        }
        if self.delimiter.is_some_and(|d| !matches!(d, ',' | ';' | '\t' | '|')) {
            errs.push("delimiter", "one of ',', ';', tab, '|'");
        }
        if self.only_rows.len() > 8 {
            errs.push("only_rows", "at most 8 conditions");
        }
        for (i, c) in self.only_rows.iter().enumerate() {
            if c.column.trim().is_empty() || c.column.len() > 100 {
                errs.push(format!("only_rows[{i}].column"), "1 to 100 characters");
            }
            if c.equals.as_ref().is_some_and(|v| v.len() > 100) {
                errs.push(format!("only_rows[{i}].equals"), "at most 100 characters");
            }
        }
        if errs.is_empty() { Ok(()) } else { Err(errs) }
    }
}

/// One line of a statement, typed. Amounts are positive as the seller reads them (deductions too).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatementLine {
    /// The line of the file (the header is line `skip_rows + 1`).
    pub line: u32,
    pub tracking_number: Option<String>,
    pub order_ref: Option<String>,
    pub reference: Option<String>,
    pub date: Option<Date>,
    pub amount: Money,
    pub fee: Money,
    pub freight: Money,
    pub other: Money,
    pub net: Money,
    pub fx_rate: Option<Decimal>,
    pub settled: Option<Money>,
    pub billed_weight_g: Option<i64>,
    pub zone: Option<String>,
}

/// A line that could not be read, and why; the rest of the file still is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineError {
    pub line: u32,
    pub field: String,
    pub message: String,
}

/// A file that cannot be read at all (its header does not fit the profile).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct HeaderError {
    pub line: u32,
    pub message: String,
}

/// The lines read from a file and the lines refused.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Parsed {
    pub lines: Vec<StatementLine>,
    pub errors: Vec<LineError>,
    /// Rows left out by the profile's `only_rows`.
    pub skipped: usize,
}

/// Reads rows (each with its line number, the header first) through a profile.
pub fn read<I, C>(profile: &Profile, rows: I) -> Result<Parsed, HeaderError>
where
    I: IntoIterator<Item = (u32, Vec<C>)>,
    C: AsRef<str>,
{
    read_expecting(profile, rows, 0)
}

/// As [`read`], with room made at once for about `lines` lines: a million lines grown by doubling are
/// copied twenty times, each time into freshly faulted pages, which costs more than reading them.
pub fn read_expecting<I, C>(profile: &Profile, rows: I, lines: usize) -> Result<Parsed, HeaderError>
where
    I: IntoIterator<Item = (u32, Vec<C>)>,
    C: AsRef<str>,
{
    let mut rows = rows.into_iter().filter(|(_, cells)| cells.iter().any(|c| !c.as_ref().trim().is_empty()));
    let Some((header_line, header)) = rows.next() else {
        return Err(HeaderError { line: 1, message: "the file has no header row".into() });
    };
    let norm = |s: &str| s.trim().trim_start_matches('\u{feff}').to_lowercase();
    let headers: Vec<String> = header.iter().map(|h| norm(h.as_ref())).collect();
    let mut at: BTreeMap<Field, usize> = BTreeMap::new();
    let mut absent = Vec::new();
    for (field, name) in &profile.columns {
        let want = norm(name);
        let mut found = headers.iter().enumerate().filter(|(_, h)| **h == want);
        match (found.next(), found.next()) {
            (Some((i, _)), None) => {
                at.insert(*field, i);
            }
            (Some(_), Some(_)) => {
                return Err(HeaderError { line: header_line, message: format!("column {name:?} appears twice") });
            }
            (None, _) => absent.push(format!("{name:?} ({})", field.as_str())),
        }
    }
    if !absent.is_empty() {
        return Err(HeaderError {
            line: header_line,
            message: format!(
                "the header lacks {}; it has {}",
                absent.join(", "),
                header.iter().map(|h| format!("{:?}", h.as_ref().trim())).collect::<Vec<_>>().join(", ")
            ),
        });
    }
    let mut conditions = Vec::with_capacity(profile.only_rows.len());
    for c in &profile.only_rows {
        let want = norm(&c.column);
        match headers.iter().position(|h| *h == want) {
            Some(i) => conditions.push((i, c)),
            None => {
                return Err(HeaderError {
                    line: header_line,
                    message: format!("the header lacks {:?}, which only_rows reads", c.column),
                });
            }
        }
    }
    let patterns: Vec<Vec<Token>> = profile.date_formats.iter().filter_map(|f| pattern(f).ok()).collect();
    let mut out = Parsed { lines: Vec::with_capacity(lines), ..Parsed::default() };
    for (line, cells) in rows {
        if !conditions.iter().all(|(i, c)| c.holds(cells.get(*i).map(AsRef::as_ref))) {
            out.skipped += 1;
            continue;
        }
        match read_line(profile, &at, &patterns, line, &cells) {
            Ok(l) => out.lines.push(l),
            Err((field, message)) => out.errors.push(LineError { line, field: field.to_owned(), message }),
        }
    }
    Ok(out)
}

type LineResult<T> = Result<T, (&'static str, String)>;

fn read_line(
    p: &Profile,
    at: &BTreeMap<Field, usize>,
    patterns: &[Vec<Token>],
    line: u32,
    cells: &[impl AsRef<str>],
) -> LineResult<StatementLine> {
    let cell = |f: Field| -> Option<&str> {
        at.get(&f).and_then(|i| cells.get(*i)).map(|s| s.as_ref().trim()).filter(|s| !s.is_empty())
    };
    let text = |f: Field| cell(f).map(str::to_owned);
    let currency = match cell(Field::Currency) {
        Some(c) => Currency::parse(&c.to_uppercase()).map_err(|e| ("currency", e.to_string()))?,
        None => p.currency.ok_or(("currency", "no currency on this line".to_owned()))?,
    };
    let money = |f: Field, deduction: bool| -> LineResult<Option<Money>> {
        let Some(raw) = cell(f) else { return Ok(None) };
        let m = money_of(raw, p.number, currency).map_err(|e| (f.as_str(), e))?;
        Ok(Some(if deduction && p.deductions_negative { Money::new(-m.minor, currency) } else { m }))
    };
    let zero = Money::zero(currency);
    let fee = money(Field::Fee, true)?.unwrap_or(zero);
    let freight = money(Field::Freight, true)?.unwrap_or(zero);
    let other = money(Field::Other, true)?.unwrap_or(zero);
    let deducted = fee.minor.checked_add(freight.minor).and_then(|d| d.checked_add(other.minor));
    let deducted = deducted.ok_or(("amount", "too large".to_owned()))?;
    let (gross, net) = (money(Field::Amount, false)?, money(Field::Net, false)?);
    let (amount, net) = match (gross, net) {
        (Some(a), Some(n)) => {
            if a.minor - deducted != n.minor {
                return Err((
                    "net",
                    format!(
                        "{} is not the amount {} less the deductions {}",
                        n.amount_string(),
                        a.amount_string(),
                        Money::new(deducted, currency).amount_string()
                    ),
                ));
            }
            (a, n)
        }
        (Some(a), None) => (a, Money::new(a.minor - deducted, currency)),
        (None, Some(n)) => (Money::new(n.minor + deducted, currency), n),
        (None, None) => return Err(("amount", "no amount on this line".to_owned())),
    };
    let date = match cell(Field::Date) {
        Some(raw) => Some(
            patterns
                .iter()
                .find_map(|pat| date(raw, pat))
                .ok_or_else(|| ("date", format!("{raw:?} matches none of {}", p.date_formats.join(", "))))
                .and_then(|d| crate::text::date(d).map_err(|e| ("date", e.to_string())))?,
        ),
        None => None,
    };
    let fx_rate = match cell(Field::FxRate) {
        Some(raw) => {
            let r = decimal(raw, p.number).map_err(|e| ("fx_rate", e))?;
            if r <= Decimal::ZERO {
                return Err(("fx_rate", "an exchange rate must be positive".into()));
            }
            Some(r)
        }
        None => None,
    };
    let settled = match cell(Field::Settled) {
        Some(raw) => {
            let cur = match cell(Field::SettledCurrency) {
                Some(c) => Currency::parse(&c.to_uppercase()).map_err(|e| ("settled_currency", e.to_string()))?,
                None => currency,
            };
            Some(money_of(raw, p.number, cur).map_err(|e| ("settled", e))?)
        }
        None => None,
    };
    let billed_weight_g = match cell(Field::BilledWeight) {
        Some(raw) => {
            let w = decimal(raw, p.number).map_err(|e| ("billed_weight", e))?;
            let g = if p.weight_in_kg { w * Decimal::from(1000) } else { w };
            let g = g.round();
            if g < Decimal::ZERO {
                return Err(("billed_weight", "a weight cannot be negative".into()));
            }
            Some(i64::try_from(g).map_err(|_| ("billed_weight", "too large".to_owned()))?)
        }
        None => None,
    };
    let l = StatementLine {
        line,
        tracking_number: text(Field::TrackingNumber),
        order_ref: text(Field::OrderRef),
        reference: text(Field::Reference),
        date,
        amount,
        fee,
        freight,
        other,
        net,
        fx_rate,
        settled,
        billed_weight_g,
        zone: text(Field::Zone),
    };
    match p.kind {
        StatementKind::CodRemittance if l.tracking_number.is_none() && l.order_ref.is_none() => {
            Err(("tracking_number", "no tracking number and no order reference".into()))
        }
        StatementKind::FreightInvoice if l.tracking_number.is_none() => {
            Err(("tracking_number", "no tracking number".into()))
        }
        StatementKind::Payout if l.reference.is_none() => Err(("reference", "no reference".into())),
        _ => Ok(l),
    }
}

/// A number as the file writes it, to a plain decimal string: thousands separators only between groups of
/// three, the profile's decimal mark, a leading '-' or accounting parentheses for negatives, an optional
/// currency code or symbol around it.
fn plain(raw: &str, f: NumberFormat) -> Result<String, String> {
    let bad = |why: &str| format!("{raw:?} is not a number: {why}");
    let mut s = raw.trim();
    let mut negative = false;
    if let Some(inner) = s.strip_prefix('(').and_then(|r| r.strip_suffix(')')) {
        negative = true;
        s = inner.trim();
    }
    let s = s.trim_matches(|c: char| c.is_ascii_uppercase() || matches!(c, '$' | '€' | '£' | ' ' | '\u{a0}'));
    let s = match s.strip_prefix('-') {
        Some(rest) if !negative => {
            negative = true;
            rest
        }
        Some(_) => return Err(bad("two signs")),
        None => s,
    };
    let (int, frac) = match s.rsplit_once(f.decimal) {
        Some((i, fr)) if f.thousands != Some(f.decimal) => (i, Some(fr)),
        _ => (s, None),
    };
    let groups: Vec<&str> = match f.thousands {
        Some(t) if int.contains(t) || (t == ' ' && int.contains('\u{a0}')) => {
            int.split(|c| c == t || (t == ' ' && c == '\u{a0}')).collect()
        }
        _ => vec![int],
    };
    if groups.len() > 1 && (groups[0].is_empty() || groups[0].len() > 3 || groups[1..].iter().any(|g| g.len() != 3)) {
        return Err(bad("thousands separators out of place"));
    }
    let digits: String = groups.concat();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("expected digits"));
    }
    let mut out = String::with_capacity(digits.len() + 4);
    if negative {
        out.push('-');
    }
    out.push_str(&digits);
    if let Some(fr) = frac {
        if fr.is_empty() || !fr.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("expected digits after the decimal mark"));
        }
        out.push('.');
        out.push_str(fr);
    }
    Ok(out)
}

fn money_of(raw: &str, f: NumberFormat, currency: Currency) -> Result<Money, String> {
    let p = plain(raw, f)?;
    // Trailing zeros beyond the currency's digits ("12.500" in SAR) are exact; anything else is refused.
    let digits = currency.minor_digits() as usize;
    let p = match p.split_once('.') {
        Some((i, fr)) if fr.len() > digits && fr[digits..].bytes().all(|b| b == b'0') => {
            if digits == 0 {
                i.to_owned()
            } else {
                format!("{i}.{}", &fr[..digits])
            }
        }
        _ => p,
    };
    Money::parse(&p, currency).map_err(|e| e.to_string())
}

fn decimal(raw: &str, f: NumberFormat) -> Result<Decimal, String> {
    let p = plain(raw, f)?;
    p.parse::<Decimal>().map_err(|e| format!("{raw:?} is not a number: {e}"))
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Year,
    Month,
    Day,
    Hour,
    Minute,
    Second,
    Lit(char),
}

fn pattern(f: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let mut rest = f;
    while !rest.is_empty() {
        let (tok, len) = [
            ("YYYY", Token::Year),
            ("MM", Token::Month),
            ("DD", Token::Day),
            ("HH", Token::Hour),
            ("mm", Token::Minute),
            ("ss", Token::Second),
        ]
        .into_iter()
        .find(|(p, _)| rest.starts_with(p))
        .map(|(p, t)| (t, p.len()))
        .unwrap_or_else(|| {
            let c = rest.chars().next().unwrap_or(' ');
            (Token::Lit(c), c.len_utf8())
        });
        if let Token::Lit(c) = tok
            && c.is_ascii_alphanumeric()
        {
            return Err(format!("{f:?}: unknown letter {c:?} (use YYYY MM DD HH mm ss)"));
        }
        out.push(tok);
        rest = &rest[len..];
    }
    for need in [Token::Year, Token::Month, Token::Day] {
        if out.iter().filter(|t| **t == need).count() != 1 {
            return Err(format!("{f:?} must hold YYYY, MM and DD once each"));
        }
    }
    Ok(out)
}

/// Reads a date by a pattern; a time of day after the pattern (" 14:03", "T14:03:00Z") is ignored.
fn date(raw: &str, pat: &[Token]) -> Option<Date> {
    let b = raw.as_bytes();
    let mut i = 0;
    let (mut y, mut m, mut d) = (None, None, None);
    for t in pat {
        let width = match t {
            Token::Year => 4,
            Token::Lit(c) => {
                let mut buf = [0u8; 4];
                let s = c.encode_utf8(&mut buf);
                if !raw[i..].starts_with(&*s) {
                    return None;
                }
                i += s.len();
                continue;
            }
            _ => 2,
        };
        // Months, days and times may drop their leading zero ("1/7/2026").
        let mut end = i;
        while end < b.len() && end - i < width && b[end].is_ascii_digit() {
            end += 1;
        }
        if end == i || (*t == Token::Year && end - i != 4) {
            return None;
        }
        let v: u32 = raw[i..end].parse().ok()?;
        match t {
            Token::Year => y = Some(v as i32),
            Token::Month => m = Some(v),
            Token::Day => d = Some(v),
            _ => {}
        }
        i = end;
    }
    let tail = &raw[i..];
    if !(tail.is_empty() || tail.starts_with(' ') || tail.starts_with('T')) {
        return None;
    }
    let month = Month::try_from(u8::try_from(m?).ok()?).ok()?;
    Date::from_calendar_date(y?, month, u8::try_from(d?).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::date;

    fn sar() -> Currency {
        Currency::parse("SAR").unwrap()
    }

    fn profile() -> Profile {
        Profile {
            name: "test".into(),
            kind: StatementKind::CodRemittance,
            columns: [
                (Field::TrackingNumber, "AWB"),
                (Field::Date, "Delivered"),
                (Field::Amount, "COD Amount"),
                (Field::Fee, "COD Fee"),
                (Field::Net, "Net"),
            ]
            .into_iter()
            .map(|(f, h)| (f, h.to_owned()))
            .collect(),
            date_formats: vec!["DD/MM/YYYY".into(), "YYYY-MM-DD".into()],
            number: NumberFormat::default(),
            currency: Some(sar()),
            deductions_negative: false,
            delimiter: None,
            skip_rows: 0,
            weight_in_kg: false,
            only_rows: Vec::new(),
        }
    }

    fn rows(lines: &[&[&str]]) -> Vec<(u32, Vec<String>)> {
        lines.iter().enumerate().map(|(i, r)| (i as u32 + 1, r.iter().map(|c| c.to_string()).collect())).collect()
    }

    /// A wallet's export: completed credits are read, withdrawals, fees and pending rows skipped and counted.
    #[test]
    fn rows_failing_the_profiles_conditions_are_skipped_and_counted_not_refused() {
        let p = Profile {
            kind: StatementKind::Payout,
            columns: [
                (Field::Reference, "Additional Description"),
                (Field::Date, "Transaction Date"),
                (Field::Currency, "Currency"),
                (Field::Amount, "Credit Amount"),
            ]
            .into_iter()
            .map(|(f, h)| (f, h.to_owned()))
            .collect(),
            date_formats: vec!["MM/DD/YYYY".into()],
            currency: None,
            only_rows: vec![
                RowCondition { column: "Status".into(), equals: Some("Completed".into()) },
                RowCondition { column: "Credit Amount".into(), equals: None },
            ],
            ..profile()
        };
        assert_eq!(p.validate(), Ok(()));
        let header: &[&str] = &[
            "Transaction Date",
            "Transaction ID",
            "Credit Amount",
            "Debit Amount",
            "Currency",
            "Status",
            "Additional Description",
        ];
        let parsed = read(
            &p,
            rows(&[
                header,
                &["11/28/2026", "101", "1,234.50", "", "USD", "Completed", "REM-7"],
                &["11/29/2026", "102", "", "500.00", "USD", "Completed", "Withdrawal to bank"],
                &["11/30/2026", "103", "80.00", "", "USD", "Pending", "REM-8"],
                &["12/01/2026", "104", "12.00", "", "EUR", "completed", "REM-9"],
            ]),
        )
        .unwrap();
        assert_eq!(parsed.skipped, 2);
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        let got: Vec<(u32, Option<&str>, i64, Option<Date>)> =
            parsed.lines.iter().map(|l| (l.line, l.reference.as_deref(), l.amount.minor, l.date)).collect();
        assert_eq!(
            got,
            [
                (2, Some("REM-7"), 123_450, Some(date!(2026 - 11 - 28))),
                (5, Some("REM-9"), 1_200, Some(date!(2026 - 12 - 01)))
            ]
        );
        let e = read(&p, rows(&[&["Transaction Date", "Credit Amount", "Currency", "Additional Description"]]));
        assert!(e.unwrap_err().message.contains("\"Status\""), "a condition's column must be in the header");
        let too_many = Profile { only_rows: vec![RowCondition { column: "x".into(), equals: None }; 9], ..p.clone() };
        assert!(too_many.validate().is_err());
        let blank = Profile { only_rows: vec![RowCondition { column: " ".into(), equals: None }], ..p };
        assert!(blank.validate().is_err());
    }

    #[test]
    fn a_remittance_reads_through_its_profile_and_bad_rows_name_line_and_field() {
        let parsed = read(
            &profile(),
            rows(&[
                &["\u{feff}awb ", "Delivered", "COD Amount", "COD Fee", "Net"],
                &["SBX1", "01/07/2026", "1,250.00", "25.00", "1,225.00"],
                &["SBX2", "2026-07-02T10:00:00Z", "100", "2", "98"],
                &["SBX3", "31/02/2026", "100", "2", "98"],
                &["SBX4", "03/07/2026", "1,25.00", "2", "98"],
                &["SBX5", "03/07/2026", "100", "2", "97"],
                &["", "", "", "", ""],
                &["", "03/07/2026", "100", "2", "98"],
                &["SBX6", "03/07/1026", "100", "2", "98"],
            ]),
        )
        .unwrap();
        assert_eq!(parsed.lines.len(), 2);
        let first = &parsed.lines[0];
        assert_eq!((first.line, first.tracking_number.as_deref()), (2, Some("SBX1")));
        assert_eq!((first.amount.minor, first.fee.minor, first.net.minor), (125_000, 2_500, 122_500));
        assert_eq!(first.date, Some(date!(2026 - 07 - 01)));
        assert_eq!(parsed.lines[1].date, Some(date!(2026 - 07 - 02)));
        let errs: Vec<(u32, &str)> = parsed.errors.iter().map(|e| (e.line, e.field.as_str())).collect();
        assert_eq!(errs, vec![(4, "date"), (5, "amount"), (6, "net"), (8, "tracking_number"), (9, "date")]);
        assert!(parsed.errors[4].message.contains("not between 2000 and 2100"), "{:?}", parsed.errors[4]);
    }

    #[test]
    fn a_header_without_a_mapped_column_refuses_the_file() {
        let e = read(&profile(), rows(&[&["AWB", "Delivered", "Amount", "COD Fee", "Net"]])).unwrap_err();
        assert_eq!(e.line, 1);
        assert!(e.message.contains("COD Amount"), "{}", e.message);
    }

    #[test]
    fn european_numbers_negative_deductions_and_accounting_brackets_read_as_the_finance_team_means() {
        let mut p = profile();
        p.number = NumberFormat { decimal: ',', thousands: Some('.') };
        p.deductions_negative = true;
        let parsed = read(
            &p,
            rows(&[
                &["AWB", "Delivered", "COD Amount", "COD Fee", "Net"],
                &["A", "1/7/2026", "1.250,00 SAR", "-25,00", "1.225,00"],
                &["B", "1/7/2026", "100,00", "(2,00)", "98,00"],
            ]),
        )
        .unwrap();
        assert_eq!(parsed.errors, vec![]);
        assert_eq!(parsed.lines[0].fee.minor, 2_500);
        assert_eq!(parsed.lines[1].fee.minor, 200);
    }

    #[test]
    fn profiles_that_could_not_read_their_kind_are_refused() {
        let mut p = profile();
        p.columns.remove(&Field::Net);
        assert_eq!(p.validate().unwrap_err().0[0].path, "columns.net");
        let mut p = profile();
        p.date_formats = vec!["DD/QQ/YYYY".into()];
        assert_eq!(p.validate().unwrap_err().0[0].path, "date_formats[0]");
        let mut p = profile();
        p.currency = None;
        assert_eq!(p.validate().unwrap_err().0[0].path, "currency");
        assert!(profile().validate().is_ok());
    }

    proptest! {
        #[test]
        fn no_cell_makes_the_reader_panic(cells in proptest::collection::vec(".{0,12}", 5)) {
            let header: Vec<String> = ["AWB", "Delivered", "COD Amount", "COD Fee", "Net"].map(String::from).to_vec();
            let parsed = read(&profile(), vec![(1, header), (2, cells)]).unwrap();
            // A row with any text is either a line or an error, never lost and never both.
            prop_assert!(parsed.lines.len() + parsed.errors.len() <= 1);
            for e in &parsed.errors {
                prop_assert_eq!(e.line, 2);
            }
        }

        #[test]
        fn written_amounts_read_back(minor in -10_000_000_000i64..10_000_000_000, european in any::<bool>()) {
            let m = Money::new(minor, sar());
            let plain = m.amount_string();
            let (int, frac) = plain.trim_start_matches('-').split_once('.').unwrap();
            let grouped: Vec<String> = int.as_bytes().rchunks(3).rev().map(|c| String::from_utf8(c.to_vec()).unwrap()).collect();
            let (t, d) = if european { (".", ",") } else { (",", ".") };
            let written = format!("{}{}{d}{frac}", if minor < 0 { "-" } else { "" }, grouped.join(t));
            let f = if european { NumberFormat { decimal: ',', thousands: Some('.') } } else { NumberFormat::default() };
            prop_assert_eq!(money_of(&written, f, sar()), Ok(m));
        }
    }
}
