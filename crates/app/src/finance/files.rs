//! Statement files split into cells: CSV (delimiter as the profile says or as the header suggests) or XLSX.

use std::borrow::Cow;

use super::*;

/// Splits a CSV file into cells (the delimiter as the profile says or as the header suggests), or an XLSX
/// workbook's first sheet, and reads it through the profile.
pub fn read_file(profile: &Profile, body: &[u8]) -> Result<statement::Parsed> {
    if codflow_sheets::is_xlsx(body) {
        let rows = codflow_sheets::xlsx_rows(body, profile.number.decimal)
            .map_err(|e| Error::invalid("file", e.to_string()))?;
        // Date cells come as YYYY-MM-DD whatever the sheet displays.
        let mut profile = profile.clone();
        if !profile.date_formats.iter().any(|f| f == "YYYY-MM-DD") {
            profile.date_formats.push("YYYY-MM-DD".into());
        }
        let rows = rows.into_iter().skip(profile.skip_rows);
        return statement::read(&profile, rows).map_err(|e| Error::invalid("file", e.to_string()));
    }
    let mut refused: Vec<LineError> = Vec::new();
    let rows = csv_rows(body, profile.delimiter, profile.skip_rows, &mut refused);
    let mut parsed = statement::read_expecting(profile, rows, expected_lines(body))
        .map_err(|e| Error::invalid("file", e.to_string()))?;
    parsed.errors.extend(refused);
    parsed.errors.sort_by_key(|e| e.line);
    Ok(parsed)
}

/// About how many lines a CSV file holds, to make room for them once: its line breaks, though never more
/// than a line per 16 bytes (no line of a statement is shorter) or 4 million (room is only a reservation:
/// pages never written are never touched).
fn expected_lines(body: &[u8]) -> usize {
    let breaks = body.iter().filter(|b| **b == b'\n').count();
    breaks.min(body.len() / 16).min(4_000_000)
}

/// The rows of a CSV file with their line numbers, as they are read: no BOM, the delimiter given or the
/// one that splits the header best, the first `skip` rows dropped. Rows that are not CSV or not UTF-8 go
/// to `refused` with their line.
pub(super) fn csv_rows<'a>(
    body: &'a [u8],
    delimiter: Option<char>,
    skip: usize,
    refused: &'a mut Vec<LineError>,
) -> impl Iterator<Item = (u32, Vec<Cow<'a, str>>)> + 'a {
    let body = body.strip_prefix(b"\xef\xbb\xbf").unwrap_or(body);
    let delimiter = match delimiter {
        Some(d) => d as u8,
        None => detect_delimiter(body, skip),
    };
    let mut skip = skip;
    codflow_sheets::csv::SliceRecords::new(body, delimiter).filter_map(move |r| {
        let (line, fields) = match r {
            Ok(rec) => rec,
            Err(e) => {
                let field = e.column.map_or_else(|| "file".to_owned(), |c| format!("column {c}"));
                refused.push(LineError { line: e.line as u32, field, message: e.message });
                return None;
            }
        };
        if skip > 0 {
            skip -= 1;
            return None;
        }
        Some((line as u32, fields))
    })
}

/// The candidate that splits the header line into the most cells.
fn detect_delimiter(body: &[u8], skip_rows: usize) -> u8 {
    let header = body.split(|b| *b == b'\n').nth(skip_rows).unwrap_or(body);
    [b',', b';', b'\t', b'|'].into_iter().max_by_key(|d| header.iter().filter(|b| *b == d).count()).unwrap_or(b',')
}
