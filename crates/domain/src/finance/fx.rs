//! Exchange rates read from a file (`from,to,as_of,rate[,source]`): finance keeps the rates its bank or
//! payment platform published, and the ledger values payouts against them.

use rust_decimal::Decimal;
use time::Date;

use super::statement::{HeaderError, LineError};
use crate::money::{Currency, FxRate};

const COLUMNS: [&str; 5] = ["from", "to", "as_of", "rate", "source"];

/// The rates of a file and the lines refused, each with its line and field. `default_source` names rates
/// whose file has no source column or leaves it empty.
pub fn read_rates<I, C>(rows: I, default_source: &str) -> Result<(Vec<FxRate>, Vec<LineError>), HeaderError>
where
    I: IntoIterator<Item = (u32, Vec<C>)>,
    C: AsRef<str>,
{
    let mut rows = rows.into_iter().filter(|(_, cells)| cells.iter().any(|c| !c.as_ref().trim().is_empty()));
    let Some((header_line, header)) = rows.next() else {
        return Err(HeaderError { line: 1, message: "the file has no header row".into() });
    };
    let headers: Vec<String> = header
        .iter()
        .map(|h| h.as_ref().trim().trim_start_matches('\u{feff}').to_lowercase().replace(' ', "_"))
        .collect();
    let at = |name: &str| headers.iter().position(|h| h == name || (name == "as_of" && h == "date"));
    let missing: Vec<&str> = COLUMNS[..4].iter().copied().filter(|c| at(c).is_none()).collect();
    if !missing.is_empty() {
        return Err(HeaderError {
            line: header_line,
            message: format!("missing column(s) {}; expected {}", missing.join(", "), COLUMNS.join(",")),
        });
    }
    let [from, to, as_of, rate] = [0, 1, 2, 3].map(|i| at(COLUMNS[i]).unwrap_or_default());
    let source = at("source");
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    let (mut rates, mut errors) = (Vec::new(), Vec::new());
    for (line, cells) in rows {
        let cell = |i: usize| cells.get(i).map_or("", |c| c.as_ref().trim());
        let mut refuse = |field: &str, message: String| errors.push(LineError { line, field: field.into(), message });
        let f = Currency::parse(cell(from)).map_err(|e| refuse("from", e.to_string())).ok();
        let t = Currency::parse(cell(to)).map_err(|e| refuse("to", e.to_string())).ok();
        let d = match Date::parse(cell(as_of), fmt) {
            Ok(d) => crate::text::date(d).map_err(|e| refuse("as_of", e.to_string())).ok(),
            Err(_) => {
                refuse("as_of", format!("{:?} is not a date (YYYY-MM-DD)", cell(as_of)));
                None
            }
        };
        let r = cell(rate)
            .parse::<Decimal>()
            .ok()
            .filter(|r| *r > Decimal::ZERO && !cell(rate).contains(['e', 'E']))
            .or_else(|| {
                refuse("rate", format!("{:?} is not a positive decimal rate such as 0.2666", cell(rate)));
                None
            });
        let src = source.map(cell).filter(|s| !s.is_empty()).unwrap_or(default_source);
        let (Some(f), Some(t), Some(d), Some(r)) = (f, t, d, r) else { continue };
        if f == t {
            refuse("to", format!("a rate from {f} to itself"));
            continue;
        }
        match FxRate::new(f, t, r, d, src) {
            Ok(rate) => rates.push(rate),
            Err(e) => refuse("rate", e.to_string()),
        }
    }
    Ok((rates, errors))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::date;

    fn rows(text: &str) -> Vec<(u32, Vec<String>)> {
        text.lines().enumerate().map(|(i, l)| (i as u32 + 1, l.split(',').map(str::to_owned).collect())).collect()
    }

    #[test]
    fn good_lines_are_read_and_bad_ones_name_their_line_and_field() {
        let (rates, errors) = read_rates(
            rows("From,To,Date,Rate,Source\nSAR,USD,2026-07-01,0.2666,bank\nAED,USD,2026-07-01,0.2723,\nSAR,usd,2026-07-01,0.1,x\nSAR,USD,01/07/2026,0.1,x\nSAR,USD,2026-07-02,-1,x\nSAR,SAR,2026-07-02,1,x\nSAR,USD,0000-01-01,0.3,x"),
            "rates.csv",
        )
        .unwrap();
        assert_eq!(rates.len(), 2);
        assert_eq!(
            (rates[0].rate, rates[0].as_of, rates[0].source.as_str()),
            (Decimal::new(2666, 4), date!(2026 - 07 - 01), "bank")
        );
        assert_eq!(rates[1].source, "rates.csv", "an empty source falls back to the file's");
        let at: Vec<(u32, &str)> = errors.iter().map(|e| (e.line, e.field.as_str())).collect();
        assert_eq!(at, vec![(4, "to"), (5, "as_of"), (6, "rate"), (7, "to"), (8, "as_of")]);
    }

    #[test]
    fn a_file_without_the_rate_columns_is_refused_as_a_whole() {
        let e = read_rates(rows("from,to,when\nSAR,USD,2026-07-01"), "f").unwrap_err();
        assert!(e.message.contains("as_of, rate"), "{}", e.message);
        assert!(read_rates(Vec::<(u32, Vec<String>)>::new(), "f").is_err());
    }

    proptest! {
        #[test]
        fn no_input_panics(cells in proptest::collection::vec(proptest::collection::vec(".{0,12}", 0..6), 0..8)) {
            let rows: Vec<(u32, Vec<String>)> = std::iter::once((1, COLUMNS.iter().map(|c| c.to_string()).collect()))
                .chain(cells.into_iter().enumerate().map(|(i, c)| (i as u32 + 2, c)))
                .collect();
            let (rates, errors) = read_rates(rows, "f").unwrap();
            prop_assert!(rates.iter().all(|r| r.rate > Decimal::ZERO));
            prop_assert!(errors.iter().all(|e| e.line >= 2));
        }
    }
}
