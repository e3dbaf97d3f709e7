//! Spreadsheets read as rows of text, so the statement reader takes an XLSX file exactly as it takes a CSV
//! (Office Open XML, ECMA-376 Part 1, §18.3 worksheets and §18.3.1.55 merged cells; read with calamine).
//!
//! The first sheet is read. A merged region repeats its top-left value in every cell it covers, so a
//! header cell merged over two rows or a group heading merged over columns still names each column. Numbers
//! are written with the decimal mark asked for and no thousands separator; dates as `YYYY-MM-DD`, with
//! `THH:MM:SS` when they carry a time.

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
}

/// Whether the bytes look like an XLSX (a ZIP archive).
pub fn is_xlsx(body: &[u8]) -> bool {
    body.starts_with(b"PK\x03\x04")
}

/// The first sheet's rows, each with its 1-based row number as the spreadsheet shows it, empty rows left
/// out. `decimal` is the mark numbers are written with ('.' or ',').
pub fn xlsx_rows(body: &[u8], decimal: char) -> Result<Vec<(u32, Vec<String>)>, SheetError> {
    let mut book: Xlsx<Cursor<&[u8]>> = open_workbook_from_rs(Cursor::new(body))
        .map_err(|e: calamine::XlsxError| SheetError::Unreadable(e.to_string()))?;
    let range =
        book.worksheet_range_at(0).ok_or(SheetError::NoSheet)?.map_err(|e| SheetError::Unreadable(e.to_string()))?;
    let merged = book.merge_cells_by_sheet_id(0).map_err(|e| SheetError::Unreadable(e.to_string()))?;
    let Some((top, left)) = range.start() else { return Ok(Vec::new()) };
    let (height, width) = range.get_size();
    let mut grid: Vec<Vec<String>> = Vec::with_capacity(height);
    for (r, row) in range.rows().enumerate() {
        let mut cells = Vec::with_capacity(width);
        for (c, cell) in row.iter().enumerate() {
            let at = || cell_name(top + r as u32, left + c as u32);
            cells.push(text(cell, decimal).map_err(|message| SheetError::Cell { cell: at(), message })?);
        }
        grid.push(cells);
    }
    for m in merged {
        let value = range.get_value(m.start).map(|v| text(v, decimal)).transpose();
        let value = value.map_err(|message| SheetError::Cell { cell: cell_name(m.start.0, m.start.1), message })?;
        let Some(value) = value else { continue };
        for r in m.start.0..=m.end.0 {
            for c in m.start.1..=m.end.1 {
                let (Some(rr), Some(cc)) = (r.checked_sub(top), c.checked_sub(left)) else { continue };
                if let Some(slot) = grid.get_mut(rr as usize).and_then(|row| row.get_mut(cc as usize)) {
                    slot.clone_from(&value);
                }
            }
        }
    }
    Ok(grid
        .into_iter()
        .enumerate()
        .filter(|(_, cells)| cells.iter().any(|c| !c.trim().is_empty()))
        .map(|(i, cells)| (top + i as u32 + 1, cells))
        .collect())
}

fn text(cell: &Data, decimal: char) -> Result<String, String> {
    Ok(match cell {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
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
                Out::Number(t) | Out::Text(t) => sheet.push_str(&format!(
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
            r#"<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="14" applyNumberFormat="1"/></cellXfs></styleSheet>"#.to_owned(),
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

/// Builds small workbooks for tests: inline strings, numbers, date serials and merged regions.
#[doc(hidden)]
pub mod testing {

    pub enum Cell<'a> {
        Text(&'a str),
        Number(&'a str),
        /// A date serial with the built-in date format.
        Date(f64),
        Empty,
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

    #[test]
    fn what_is_not_a_workbook_is_refused_with_a_reason() {
        assert!(matches!(xlsx_rows(b"PK\x03\x04 broken", '.'), Err(SheetError::Unreadable(_))));
        assert!(matches!(xlsx_rows(b"", '.'), Err(SheetError::Unreadable(_))));
        assert_eq!(cell_name(0, 0), "A1");
        assert_eq!(cell_name(9, 27), "AB10");
    }
}
