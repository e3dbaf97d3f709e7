//! Spreadsheets read as rows of text, so the statement reader takes an XLSX file exactly as it takes a CSV
//! (Office Open XML, ECMA-376 Part 1, §18.3 worksheets and §18.3.1.55 merged cells; read with calamine).
//!
//! The first sheet is read. A merged region repeats its top-left value in every cell it covers, so a
//! header cell merged over two rows or a group heading merged over columns still names each column. Numbers
//! are written with the decimal mark asked for and no thousands separator; dates as `YYYY-MM-DD`, with
//! `THH:MM:SS` when they carry a time.

pub mod csv;

use std::collections::BTreeMap;
use std::io::Cursor;

use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SheetError {
    #[error("not a readable XLSX workbook: {0}")]
    Unreadable(String),
    #[error("the workbook has no sheet")]
    NoSheet,
    #[error("the workbook could not be written: {0}")]
    Write(String),
    #[error("cell {cell}: {message}")]
    Cell { cell: String, message: String },
    #[error("the workbook is past what is read: {0}")]
    TooLarge(String),
}

/// Whether the bytes look like an XLSX (a ZIP archive).
pub fn is_xlsx(body: &[u8]) -> bool {
    body.starts_with(b"PK\x03\x04")
}

/// What a workbook may hold before it is refused: memory follows the cells present (never the sheet's
/// declared dimension), and the archive is checked before anything is inflated. Documented in
/// docs/SECURITY.md.
pub mod limits {
    /// Files inside the ZIP archive (a workbook has about ten).
    pub const ZIP_ENTRIES: usize = 1_000;
    /// Inflated size of all the archive's files together.
    pub const UNCOMPRESSED_BYTES: u64 = 256 * 1024 * 1024;
    /// Inflated size over stored size, for any file larger than `RATIO_FLOOR_BYTES` inflated. Sheet XML
    /// compresses 5-30×; a ZIP bomb 1,000× and more.
    pub const COMPRESSION_RATIO: u64 = 200;
    pub const RATIO_FLOOR_BYTES: u64 = 1024 * 1024;
    /// Cells with a value.
    pub const CELLS: usize = 4_000_000;
    /// Cells filled from a merged region's top-left value (merges are for headers and titles).
    pub const MERGED_CELLS: usize = 100_000;
    /// Columns from the leftmost to the rightmost cell with a value.
    pub const COLUMNS: u32 = 1_000;
    /// Rows read (rows with a value; a row is addressed up to Excel's 1,048,576).
    pub const ROWS: usize = 1_048_576;
    /// Cells handed back: rows read × the columns they span.
    pub const GRID: usize = 4_000_000;
}

/// Refuses an archive that would inflate past the limits, from its central directory alone (the ZIP
/// reader stops at each file's declared size, so a file cannot inflate past what it declares).
fn check_archive(body: &[u8]) -> Result<(), SheetError> {
    let mut zip = zip::ZipArchive::new(Cursor::new(body)).map_err(|e| SheetError::Unreadable(e.to_string()))?;
    if zip.len() > limits::ZIP_ENTRIES {
        return Err(SheetError::TooLarge(format!(
            "the archive holds {} files; at most {} are read",
            zip.len(),
            limits::ZIP_ENTRIES
        )));
    }
    let mut total: u64 = 0;
    for i in 0..zip.len() {
        let Some(meta) = zip
            .by_index_raw(i)
            .ok()
            .map(|f| (f.name().map(|n| n.into_owned()).unwrap_or_default(), f.size(), f.compressed_size()))
        else {
            return Err(SheetError::Unreadable(format!("file {i} of the archive cannot be read")));
        };
        let (name, size, stored) = meta;
        let name: String = name.chars().take(80).collect();
        total = total.saturating_add(size);
        if total > limits::UNCOMPRESSED_BYTES {
            return Err(SheetError::TooLarge(format!(
                "the archive inflates to more than {} MiB",
                limits::UNCOMPRESSED_BYTES / (1024 * 1024)
            )));
        }
        if size > limits::RATIO_FLOOR_BYTES && size / stored.max(1) > limits::COMPRESSION_RATIO {
            return Err(SheetError::TooLarge(format!(
                "{name} inflates {}× (at most {}× is read)",
                size / stored.max(1),
                limits::COMPRESSION_RATIO
            )));
        }
    }
    Ok(())
}

/// The first sheet's rows, each with its 1-based row number as the spreadsheet shows it, empty rows left
/// out. `decimal` is the mark numbers are written with ('.' or ',').
///
/// The sheet is read cell by cell, so a workbook with one cell at A1 and one at XFD1048576 costs two cells,
/// not the rectangle between them (it is then refused for its width).
pub fn xlsx_rows(body: &[u8], decimal: char) -> Result<Vec<(u32, Vec<String>)>, SheetError> {
    check_archive(body)?;
    // The XML reader underneath does arithmetic on cell references as written; a damaged reference can
    // overflow it (a panic where overflow checks are on). A damaged workbook is an error, never a crash.
    std::panic::catch_unwind(|| read_xlsx(body, decimal)).unwrap_or_else(|_| {
        Err(SheetError::Unreadable("the workbook is damaged: a cell reference is out of range".into()))
    })
}

fn read_xlsx(body: &[u8], decimal: char) -> Result<Vec<(u32, Vec<String>)>, SheetError> {
    let mut book: Xlsx<Cursor<&[u8]>> = open_workbook_from_rs(Cursor::new(body))
        .map_err(|e: calamine::XlsxError| SheetError::Unreadable(e.to_string()))?;
    let name = book.sheet_names().first().cloned().ok_or(SheetError::NoSheet)?;
    // Sparse: row → (column, text), only for cells with a value.
    let mut rows: BTreeMap<u32, Vec<(u32, String)>> = BTreeMap::new();
    let mut cells = 0usize;
    let (mut left, mut right) = (u32::MAX, 0u32);
    {
        let mut reader = book.worksheet_cells_reader(&name).map_err(|e| SheetError::Unreadable(e.to_string()))?;
        while let Some(cell) = reader.next_cell().map_err(|e| SheetError::Unreadable(e.to_string()))? {
            let (r, c) = cell.get_position();
            let value = Data::from(cell.get_value().clone());
            if value == Data::Empty {
                continue;
            }
            let value = text(&value, decimal).map_err(|message| SheetError::Cell { cell: cell_name(r, c), message })?;
            cells += 1;
            if cells > limits::CELLS {
                return Err(SheetError::TooLarge(format!("the sheet holds more than {} cells", limits::CELLS)));
            }
            left = left.min(c);
            right = right.max(c);
            if right - left >= limits::COLUMNS {
                return Err(SheetError::TooLarge(format!(
                    "cells {} and {} are more than {} columns apart",
                    cell_name(r, left),
                    cell_name(r, right),
                    limits::COLUMNS
                )));
            }
            rows.entry(r).or_default().push((c, value));
            if rows.len() > limits::ROWS {
                return Err(SheetError::TooLarge(format!("the sheet holds more than {} rows", limits::ROWS)));
            }
        }
    }
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let (top, bottom) = (*rows.keys().next().unwrap_or(&0), *rows.keys().next_back().unwrap_or(&0));
    for row in rows.values_mut() {
        row.sort_by_key(|(c, _)| *c);
    }
    let merged = book.merge_cells_by_sheet_id(0).map_err(|e| SheetError::Unreadable(e.to_string()))?;
    let mut filled = 0usize;
    for m in merged {
        let Some(value) = rows
            .get(&m.start.0)
            .and_then(|r| r.binary_search_by_key(&m.start.1, |(c, _)| *c).ok().map(|i| r[i].1.clone()))
        else {
            continue;
        };
        // A region fills only what lies among the cells read; past them it names nothing.
        let (r0, r1) = (m.start.0.max(top), m.end.0.min(bottom));
        let (c0, c1) = (m.start.1.max(left), m.end.1.min(right));
        if r0 > r1 || c0 > c1 {
            continue;
        }
        let area = (u64::from(r1 - r0) + 1) * (u64::from(c1 - c0) + 1);
        if area > (limits::MERGED_CELLS - filled) as u64 {
            return Err(SheetError::TooLarge(format!(
                "the merged region {}:{} would fill more than {} cells",
                cell_name(m.start.0, m.start.1),
                cell_name(m.end.0, m.end.1),
                limits::MERGED_CELLS
            )));
        }
        filled += area as usize;
        for r in r0..=r1 {
            let row = rows.entry(r).or_default();
            for c in c0..=c1 {
                match row.binary_search_by_key(&c, |(cc, _)| *cc) {
                    Ok(i) => row[i].1.clone_from(&value),
                    Err(i) => row.insert(i, (c, value.clone())),
                }
            }
        }
        if rows.len() > limits::ROWS {
            return Err(SheetError::TooLarge(format!("the sheet holds more than {} rows", limits::ROWS)));
        }
    }
    let width = (right - left + 1) as usize;
    if rows.len().saturating_mul(width) > limits::GRID {
        return Err(SheetError::TooLarge(format!(
            "{} rows × {width} columns is more than {} cells",
            rows.len(),
            limits::GRID
        )));
    }
    Ok(rows
        .into_iter()
        .filter_map(|(r, present)| {
            let mut cells = vec![String::new(); width];
            for (c, v) in present {
                cells[(c - left) as usize] = v;
            }
            cells.iter().any(|c| !c.trim().is_empty()).then_some((r + 1, cells))
        })
        .collect())
}

fn text(cell: &Data, decimal: char) -> Result<String, String> {
    Ok(match cell {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => {
            if let Some(c) = s.chars().find(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r')) {
                return Err(format!("holds the control character U+{:04X}", c as u32));
            }
            s.clone()
        }
        Data::Int(i) => i.to_string(),
        Data::Float(f) => {
            if !f.is_finite() {
                return Err(format!("{f} is not a number"));
            }
            // The shortest form that reads back as the same number: what the sheet shows, not 0.30000000000000004.
            let s = f.to_string();
            if decimal == '.' { s } else { s.replace('.', &decimal.to_string()) }
        }
        Data::Bool(b) => b.to_string(),
        Data::DateTime(d) if d.is_datetime() => {
            let (y, mo, day, h, mi, s, _) = d.to_ymd_hms_milli();
            if (h, mi, s) == (0, 0, 0) {
                format!("{y:04}-{mo:02}-{day:02}")
            } else {
                format!("{y:04}-{mo:02}-{day:02}T{h:02}:{mi:02}:{s:02}")
            }
        }
        Data::DateTime(d) => d.as_f64().to_string(),
        Data::Error(e) => return Err(format!("the cell holds the error {e}")),
    })
}

/// `A1` notation of a 0-based (row, column).
fn cell_name(row: u32, col: u32) -> String {
    let mut letters = Vec::new();
    let mut n = col + 1;
    while n > 0 {
        let rem = (n - 1) % 26;
        letters.push(char::from(b'A' + rem as u8));
        n = (n - 1) / 26;
    }
    letters.iter().rev().collect::<String>() + &(row + 1).to_string()
}

/// A cell of a workbook being written.
pub enum Out<'a> {
    Text(&'a str),
    /// A number as text in the file's form (`129.50`): written as given, never through a float.
    Number(&'a str),
    /// An amount of money as text (`1234.50`), written as a number shown with grouping and two decimals.
    Amount(&'a str),
    /// A day, shown as one.
    Date(time::Date),
    /// A wall-clock time (already in the zone the reader works in), shown as date and minutes.
    DateTime(time::PrimitiveDateTime),
}

/// Excel's day number of `d` (days since 1899-12-30).
fn serial_day(d: time::Date) -> i64 {
    (d - time::macros::date!(1899 - 12 - 30)).whole_days()
}

/// Text safe inside an XML element: escaped, and without the control characters XML 1.0 cannot carry.
fn xml_text(t: &str) -> String {
    let mut out = String::with_capacity(t.len());
    for c in t.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// A one-sheet workbook of `rows` from A1, the first row frozen as the header: what every console table
/// exports as. Numbers must be plain decimals; anything else is written as text.
pub fn write_xlsx(sheet_name: &str, rows: &[Vec<Out>]) -> Result<Vec<u8>, SheetError> {
    let mut sheet = String::from(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/></sheetView></sheetViews><sheetData>"#,
    );
    let plain_number = |n: &str| {
        let digits = n.strip_prefix('-').unwrap_or(n);
        !digits.is_empty()
            && digits.len() <= 15
            && digits.chars().all(|c| c.is_ascii_digit() || c == '.')
            && digits.matches('.').count() <= 1
            && !digits.starts_with('.')
            && !digits.ends_with('.')
    };
    for (r, row) in rows.iter().enumerate() {
        sheet.push_str(&format!(r#"<row r="{}">"#, r + 1));
        for (c, cell) in row.iter().enumerate() {
            let at = cell_name(r as u32, c as u32);
            match cell {
                Out::Number(n) if plain_number(n) => sheet.push_str(&format!(r#"<c r="{at}"><v>{n}</v></c>"#)),
                Out::Amount(n) if plain_number(n) => {
                    sheet.push_str(&format!(r#"<c r="{at}" s="3"><v>{n}</v></c>"#));
                }
                Out::Date(d) => sheet.push_str(&format!(r#"<c r="{at}" s="1"><v>{}</v></c>"#, serial_day(*d))),
                Out::DateTime(t) => {
                    // Minutes as a fraction of the day, written with enough digits to round back exactly.
                    let minutes = i64::from(t.hour()) * 60 + i64::from(t.minute());
                    let frac = minutes as f64 / 1440.0;
                    let v = serial_day(t.date()) as f64 + frac;
                    sheet.push_str(&format!(r#"<c r="{at}" s="2"><v>{v:.8}</v></c>"#));
                }
                Out::Number(t) | Out::Amount(t) | Out::Text(t) => sheet.push_str(&format!(
                    r#"<c r="{at}" t="inlineStr"><is><t xml:space="preserve">{}</t></is></c>"#,
                    xml_text(t)
                )),
            }
        }
        sheet.push_str("</row>");
    }
    sheet.push_str("</sheetData></worksheet>");
    package(&sheet, sheet_name)
}

/// Zips one worksheet into a workbook.
fn package(sheet: &str, sheet_name: &str) -> Result<Vec<u8>, SheetError> {
    use std::io::Write;
    let name: String = xml_text(sheet_name).chars().filter(|c| !"[]:*?/\\".contains(*c)).take(31).collect();
    let workbook = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="{name}" sheetId="1" r:id="rId1"/></sheets></workbook>"#
    );
    let files = [
        (
            "[Content_Types].xml",
            r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>"#.to_owned(),
        ),
        (
            "_rels/.rels",
            r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#.to_owned(),
        ),
        ("xl/workbook.xml", workbook),
        (
            "xl/_rels/workbook.xml.rels",
            r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/></Relationships>"#.to_owned(),
        ),
        (
            "xl/styles.xml",
            r##"<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><numFmts count="3"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/><numFmt numFmtId="165" formatCode="yyyy-mm-dd hh:mm"/><numFmt numFmtId="166" formatCode="#,##0.00"/></numFmts><cellXfs count="4"><xf numFmtId="0"/><xf numFmtId="164" applyNumberFormat="1"/><xf numFmtId="165" applyNumberFormat="1"/><xf numFmtId="166" applyNumberFormat="1"/></cellXfs></styleSheet>"##.to_owned(),
        ),
        ("xl/worksheets/sheet1.xml", sheet.to_owned()),
    ];
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut out);
        let opts = zip::write::SimpleFileOptions::default();
        let fail = |e: &dyn std::fmt::Display| SheetError::Write(e.to_string());
        for (name, body) in files {
            zip.start_file(name, opts).map_err(|e| fail(&e))?;
            zip.write_all(body.as_bytes()).map_err(|e| fail(&e))?;
        }
        zip.finish().map_err(|e| fail(&e))?;
    }
    Ok(out.into_inner())
}

/// A ZIP archive of the given files (deflated), for attachment packs.
pub fn write_zip(files: &[(String, Vec<u8>)]) -> Result<Vec<u8>, SheetError> {
    use std::io::Write;
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut out);
        let opts = zip::write::SimpleFileOptions::default();
        let fail = |e: &dyn std::fmt::Display| SheetError::Write(e.to_string());
        for (name, body) in files {
            zip.start_file(name.as_str(), opts).map_err(|e| fail(&e))?;
            zip.write_all(body).map_err(|e| fail(&e))?;
        }
        zip.finish().map_err(|e| fail(&e))?;
    }
    Ok(out.into_inner())
}

/// Builds small workbooks for tests: inline strings, numbers, date serials and merged regions.
#[cfg(any(test, feature = "testing"))]
pub mod testing {

    pub enum Cell<'a> {
        Text(&'a str),
        Number(&'a str),
        /// A date serial with the built-in date format.
        Date(f64),
        Empty,
    }

    /// A one-sheet workbook around the given worksheet XML, as hostile files are made.
    pub fn raw_workbook(sheet_xml: &str) -> Vec<u8> {
        super::package(sheet_xml, "Sheet1").expect("zip")
    }

    /// A one-sheet workbook with `rows` from A1 and the `merged` ranges ("A1:A2").
    pub fn workbook(rows: &[Vec<Cell>], merged: &[&str]) -> Vec<u8> {
        let mut sheet = String::from(
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#,
        );
        for (r, row) in rows.iter().enumerate() {
            sheet.push_str(&format!(r#"<row r="{}">"#, r + 1));
            for (c, cell) in row.iter().enumerate() {
                let at = super::cell_name(r as u32, c as u32);
                match cell {
                    Cell::Text(t) => {
                        let t = t.replace('&', "&amp;").replace('<', "&lt;");
                        sheet.push_str(&format!(r#"<c r="{at}" t="inlineStr"><is><t>{t}</t></is></c>"#));
                    }
                    Cell::Number(n) => sheet.push_str(&format!(r#"<c r="{at}"><v>{n}</v></c>"#)),
                    Cell::Date(d) => sheet.push_str(&format!(r#"<c r="{at}" s="1"><v>{d}</v></c>"#)),
                    Cell::Empty => {}
                }
            }
            sheet.push_str("</row>");
        }
        sheet.push_str("</sheetData>");
        if !merged.is_empty() {
            sheet.push_str(&format!(r#"<mergeCells count="{}">"#, merged.len()));
            for m in merged {
                sheet.push_str(&format!(r#"<mergeCell ref="{m}"/>"#));
            }
            sheet.push_str("</mergeCells>");
        }
        sheet.push_str("</worksheet>");
        super::package(&sheet, "Remittance").expect("zip")
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{Cell, workbook};
    use super::*;

    #[test]
    fn a_written_workbook_reads_back_cell_for_cell() {
        let rows = vec![
            vec![Out::Text("order"), Out::Text("total"), Out::Text("note")],
            vec![Out::Text("ord_1"), Out::Number("129.50"), Out::Text("a <b> & \"c\"\u{1}")],
            vec![Out::Text("ord_2"), Out::Number("-7"), Out::Number("1e9")],
        ];
        let book = write_xlsx("Orders", &rows).unwrap();
        let back = xlsx_rows(&book, '.').unwrap();
        let cells: Vec<Vec<String>> = back.into_iter().map(|(_, r)| r).collect();
        assert_eq!(cells[0], vec!["order", "total", "note"]);
        assert_eq!(cells[1], vec!["ord_1", "129.5", "a <b> & \"c\""]);
        assert_eq!(cells[2], vec!["ord_2", "-7", "1e9"], "text that is not a plain decimal stays text");
    }

    #[test]
    fn amounts_and_times_are_written_as_numbers_with_their_formats_and_read_back_as_such() {
        let day = time::macros::date!(2026 - 12 - 06);
        let at = time::macros::datetime!(2026-12-06 18:00);
        let rows = vec![
            vec![Out::Text("total"), Out::Text("placed"), Out::Text("day")],
            vec![Out::Amount("1234.50"), Out::DateTime(at), Out::Date(day)],
        ];
        let book = write_xlsx("S", &rows).unwrap();
        let back = xlsx_rows(&book, '.').unwrap();
        assert_eq!(back[1].1[0], "1234.5", "the amount is a number");
        assert_eq!(back[1].1[2], "2026-12-06", "the day reads back as the day");
        assert_eq!(serial_day(day), 46362, "Excel's day number");
    }

    proptest::proptest! {
        #[test]
        fn any_text_written_reads_back_without_its_control_characters(t in "\\PC{0,40}") {
            let book = write_xlsx("S", &[vec![Out::Text("h")], vec![Out::Text(&t)]]).unwrap();
            let back = xlsx_rows(&book, '.').unwrap();
            let expected: String = t.chars().filter(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r')).collect();
            let got = back.get(1).map(|(_, r)| r[0].clone()).unwrap_or_default();
            proptest::prop_assert_eq!(got.trim(), expected.trim());
        }
    }

    #[test]
    fn merged_header_cells_name_every_column_they_cover() {
        use Cell::*;
        // A title merged over the width, then a two-row header: "AWB" merged down, "Amounts" over two columns.
        let book = workbook(
            &[
                vec![Text("Courier X remittance, week 48"), Empty, Empty, Empty],
                vec![Text("AWB"), Text("Date"), Text("Amounts"), Empty],
                vec![Empty, Empty, Text("Collected"), Text("Fee")],
                vec![Text("CX1"), Date(46357.0), Number("1250.5"), Number("25")],
                vec![Empty, Empty, Empty, Empty],
                vec![Text("CX2"), Date(46358.0), Number("0.3"), Number("0")],
            ],
            &["A1:D1", "A2:A3", "B2:B3", "C2:D2"],
        );
        let rows = xlsx_rows(&book, ',').unwrap();
        let at = |n: u32| rows.iter().find(|(l, _)| *l == n).map(|(_, c)| c.clone()).unwrap();
        assert_eq!(at(1), vec!["Courier X remittance, week 48"; 4]);
        assert_eq!(at(2), vec!["AWB", "Date", "Amounts", "Amounts"]);
        assert_eq!(at(3), vec!["AWB", "Date", "Collected", "Fee"]);
        assert_eq!(at(4), vec!["CX1", "2026-12-01", "1250,5", "25"]);
        assert_eq!(at(6), vec!["CX2", "2026-12-02", "0,3", "0"]);
        assert!(rows.iter().all(|(l, _)| *l != 5), "the empty row is left out");
    }

    proptest::proptest! {
        #[test]
        fn a_damaged_workbook_is_an_error_never_a_panic(flips in proptest::collection::vec((0usize..4096, 0u8..=255), 1..8)) {
            let mut book = workbook(&[vec![Cell::Text("AWB"), Cell::Number("1.5")]], &["A1:A1"]);
            let n = book.len();
            for (at, byte) in flips {
                book[at % n] = byte;
            }
            let _ = xlsx_rows(&book, '.');
        }
    }

    const HEAD: &str =
        r#"<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">"#;

    fn too_large(r: Result<Vec<(u32, Vec<String>)>, SheetError>) -> String {
        match r {
            Err(SheetError::TooLarge(m)) => m,
            other => panic!("expected a refusal for size, got {other:?}"),
        }
    }

    #[test]
    fn cells_at_the_sheets_two_far_corners_are_refused_without_allocating_the_rectangle() {
        let sheet = format!(
            r#"{HEAD}<dimension ref="A1:XFD1048576"/><sheetData><row r="1"><c r="A1"><v>1</v></c></row><row r="1048576"><c r="XFD1048576"><v>2</v></c></row></sheetData></worksheet>"#
        );
        let m = too_large(xlsx_rows(&testing::raw_workbook(&sheet), '.'));
        assert!(m.contains("XFD1048576") && m.contains("1000 columns"), "{m}");
    }

    #[test]
    fn a_huge_declared_dimension_costs_only_the_cells_present() {
        let sheet = format!(
            r#"{HEAD}<dimension ref="A1:XFD1048576"/><sheetData><row r="1"><c r="A1"><v>1</v></c></row><row r="1048576"><c r="B1048576"><v>2</v></c></row></sheetData></worksheet>"#
        );
        let rows = xlsx_rows(&testing::raw_workbook(&sheet), '.').unwrap();
        assert_eq!(rows, vec![(1, vec!["1".into(), String::new()]), (1048576, vec![String::new(), "2".into()])]);
    }

    #[test]
    fn a_merged_region_over_the_whole_sheet_is_refused() {
        let sheet = format!(
            r#"{HEAD}<sheetData><row r="1"><c r="A1"><v>1</v></c><c r="J1"><v>1</v></c></row><row r="1048576"><c r="A1048576"><v>2</v></c></row></sheetData><mergeCells count="1"><mergeCell ref="A1:XFD1048576"/></mergeCells></worksheet>"#
        );
        let m = too_large(xlsx_rows(&testing::raw_workbook(&sheet), '.'));
        assert!(m.contains("A1:XFD1048576"), "{m}");
    }

    #[test]
    fn an_archive_that_inflates_far_beyond_its_size_is_refused_before_it_is_read() {
        let padding = " ".repeat(4 * 1024 * 1024);
        let sheet = format!(r#"{HEAD}<sheetData>{padding}</sheetData></worksheet>"#);
        let book = testing::raw_workbook(&sheet);
        assert!(book.len() < 64 * 1024, "the bomb is small: {}", book.len());
        let m = too_large(xlsx_rows(&book, '.'));
        assert!(m.contains("sheet1.xml") && m.contains("inflates"), "{m}");
    }

    #[test]
    fn an_archive_of_too_many_files_is_refused() {
        use std::io::Write;
        let mut out = Cursor::new(Vec::new());
        let mut zip = zip::ZipWriter::new(&mut out);
        for i in 0..=limits::ZIP_ENTRIES {
            zip.start_file(format!("f{i}"), zip::write::SimpleFileOptions::default()).unwrap();
            zip.write_all(b"x").unwrap();
        }
        zip.finish().unwrap();
        let m = too_large(xlsx_rows(&out.into_inner(), '.'));
        assert!(m.contains("1001 files"), "{m}");
    }

    #[test]
    fn what_is_not_a_workbook_is_refused_with_a_reason() {
        assert!(matches!(xlsx_rows(b"PK\x03\x04 broken", '.'), Err(SheetError::Unreadable(_))));
        assert!(matches!(xlsx_rows(b"", '.'), Err(SheetError::Unreadable(_))));
        assert_eq!(cell_name(0, 0), "A1");
        assert_eq!(cell_name(9, 27), "AB10");
    }
}
