//! Purchase orders and ASNs from CSV (one row per line; rows with the same number form one document, wherever
//! they are in the file), and purchase orders out as CSV. Each document lands whole or not at all; one already
//! present with the same content is a replay and is counted unchanged; bad rows are reported by line and field
//! while the good documents of the same file still land.

use std::collections::BTreeMap;

use codflow_domain::Actor;
use codflow_sheets::csv::{Reader, unneutralised};

use super::inbound::{AsnInput, InboundImport, LineError, LineInput, MAX_IMPORT_ROWS, PoInput};
use crate::{Error, Floor, Result};

pub const PO_COLUMNS: [&str; 7] = ["po_number", "supplier", "warehouse", "expected_on", "note", "sku", "quantity"];
pub const ASN_COLUMNS: [&str; 6] = ["asn_reference", "po_number", "tracking", "expected_on", "sku", "quantity"];

/// The rows of one document: (line, cells by column name).
#[derive(Debug)]
struct Group {
    key: String,
    rows: Vec<(u64, BTreeMap<&'static str, String>)>,
}

/// Reads `bytes` into documents keyed by the first of `columns`; `required` must be in the header.
fn groups(bytes: &[u8], columns: &'static [&'static str], required: &[&str]) -> Result<(Vec<Group>, Vec<LineError>)> {
    let mut r = Reader::new(bytes, b',').trim(true);
    let header = match r.next_record() {
        Some(Ok(h)) => h.fields,
        Some(Err(e)) => return Err(Error::invalid("file", format!("line {}: {}", e.line, e.message))),
        None => return Err(Error::invalid("file", "line 1: the file is empty")),
    };
    let mut at = Vec::new();
    for c in columns {
        at.push(header.iter().position(|h| h.trim().eq_ignore_ascii_case(c)));
    }
    let missing: Vec<&str> =
        required.iter().copied().filter(|c| at[columns.iter().position(|x| x == c).unwrap_or(0)].is_none()).collect();
    if !missing.is_empty() {
        return Err(Error::invalid(
            "file",
            format!(
                "line 1: the header needs the column(s) {} (it may also have {})",
                missing.join(", "),
                columns.join(", ")
            ),
        ));
    }
    let mut errors = Vec::new();
    let mut order: Vec<String> = Vec::new();
    let mut by_key: BTreeMap<String, Group> = BTreeMap::new();
    let mut rows = 0usize;
    for rec in r {
        let rec = match rec {
            Ok(rec) => rec,
            Err(e) => {
                errors.push(LineError { line: e.line, field: "file".into(), message: e.message });
                break;
            }
        };
        rows += 1;
        if rows > MAX_IMPORT_ROWS {
            errors.push(LineError {
                line: rec.line,
                field: "file".into(),
                message: format!("at most {MAX_IMPORT_ROWS} rows per file"),
            });
            break;
        }
        if rec.fields.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let mut cells = BTreeMap::new();
        for (c, i) in columns.iter().zip(&at) {
            let v = i.and_then(|i| rec.fields.get(i)).map(|v| unneutralised(v).trim().to_owned()).unwrap_or_default();
            cells.insert(*c, v);
        }
        let key = cells.get(columns[0]).cloned().unwrap_or_default();
        if key.is_empty() {
            errors.push(LineError { line: rec.line, field: columns[0].into(), message: "is required".into() });
            continue;
        }
        if !by_key.contains_key(&key) {
            order.push(key.clone());
        }
        by_key.entry(key.clone()).or_insert_with(|| Group { key, rows: Vec::new() }).rows.push((rec.line, cells));
    }
    let groups = order.into_iter().filter_map(|k| by_key.remove(&k)).collect();
    Ok((groups, errors))
}

/// The document-level cells of a group: every row must agree on them. Errors name the first row that differs.
fn agreed(g: &Group, cols: &[&'static str], errors: &mut Vec<LineError>) -> Option<BTreeMap<&'static str, String>> {
    let (_, first) = g.rows.first()?;
    let mut ok = true;
    for (line, cells) in &g.rows[1..] {
        for c in cols {
            if cells.get(c) != first.get(c) {
                errors.push(LineError {
                    line: *line,
                    field: (*c).into(),
                    message: format!("differs from the first row of {} ({:?})", g.key, first.get(c).map_or("", |s| s)),
                });
                ok = false;
            }
        }
    }
    ok.then(|| first.clone())
}

/// Lines of a group; a quantity that is not a whole number is reported on its row.
fn lines_of(g: &Group, errors: &mut Vec<LineError>) -> Option<Vec<LineInput>> {
    let mut out = Vec::new();
    let mut ok = true;
    for (line, cells) in &g.rows {
        let q = cells.get("quantity").map_or("", |s| s);
        match q.parse::<i64>() {
            Ok(n) => out.push(LineInput { sku: cells.get("sku").cloned().unwrap_or_default(), quantity: n }),
            Err(_) => {
                errors.push(LineError {
                    line: *line,
                    field: "quantity".into(),
                    message: format!("{q:?} is not a whole number"),
                });
                ok = false;
            }
        }
    }
    ok.then_some(out)
}

/// Turns a refusal of one document into line errors: `lines[i].x` onto the i-th row, the rest onto its first.
fn report(g: &Group, err: Error, errors: &mut Vec<LineError>) -> Result<()> {
    let first = g.rows.first().map_or(0, |r| r.0);
    match err {
        Error::Invalid(fields) => {
            for f in fields.0 {
                let (line, field) = match f.path.strip_prefix("lines[").and_then(|r| r.split_once("].")) {
                    Some((i, rest)) => {
                        (i.parse::<usize>().ok().and_then(|i| g.rows.get(i)).map_or(first, |r| r.0), rest.to_owned())
                    }
                    None => (first, f.path),
                };
                errors.push(LineError { line, field, message: f.message });
            }
            Ok(())
        }
        Error::Conflict { message, .. } => {
            errors.push(LineError { line: first, field: "file".into(), message });
            Ok(())
        }
        other => Err(other),
    }
}

fn opt(cells: &BTreeMap<&'static str, String>, c: &str) -> Option<String> {
    cells.get(c).filter(|v| !v.is_empty()).cloned()
}

impl Floor {
    /// Purchase orders from CSV ([`PO_COLUMNS`]; `expected_on` and `note` optional).
    pub async fn import_pos_csv(&self, bytes: &[u8], actor: Actor) -> Result<InboundImport> {
        let required = ["po_number", "supplier", "warehouse", "sku", "quantity"];
        let (groups, mut errors) = groups(bytes, &PO_COLUMNS, &required)?;
        let mut out = InboundImport::default();
        for g in &groups {
            let head = agreed(g, &["supplier", "warehouse", "expected_on", "note"], &mut errors);
            let lines = lines_of(g, &mut errors);
            let (Some(head), Some(lines)) = (head, lines) else { continue };
            let input = PoInput {
                number: g.key.clone(),
                supplier: head.get("supplier").cloned().unwrap_or_default(),
                warehouse: head.get("warehouse").cloned().unwrap_or_default(),
                expected_on: opt(&head, "expected_on"),
                note: opt(&head, "note"),
                lines,
            };
            match self.create_po(input, actor.clone()).await {
                Ok((po, true)) => out.created.push(po.number.to_string()),
                Ok((po, false)) => out.unchanged.push(po.number.to_string()),
                Err(e) => report(g, e, &mut errors)?,
            }
        }
        errors.sort_by_key(|e| e.line);
        out.errors = errors;
        Ok(out)
    }

    /// ASNs from CSV ([`ASN_COLUMNS`]; `tracking` and `expected_on` optional).
    pub async fn import_asns_csv(&self, bytes: &[u8], actor: Actor) -> Result<InboundImport> {
        let required = ["asn_reference", "po_number", "sku", "quantity"];
        let (groups, mut errors) = groups(bytes, &ASN_COLUMNS, &required)?;
        let mut out = InboundImport::default();
        for g in &groups {
            let head = agreed(g, &["po_number", "tracking", "expected_on"], &mut errors);
            let lines = lines_of(g, &mut errors);
            let (Some(head), Some(lines)) = (head, lines) else { continue };
            let input = AsnInput {
                reference: g.key.clone(),
                purchase_order: head.get("po_number").cloned().unwrap_or_default(),
                tracking: opt(&head, "tracking"),
                expected_on: opt(&head, "expected_on"),
                lines,
            };
            match self.create_asn(input, actor.clone()).await {
                Ok((a, true)) => out.created.push(a.reference.to_string()),
                Ok((a, false)) => out.unchanged.push(a.reference.to_string()),
                Err(e) => report(g, e, &mut errors)?,
            }
        }
        errors.sort_by_key(|e| e.line);
        out.errors = errors;
        Ok(out)
    }

    /// Every purchase order line as CSV, newest order first: what was ordered, received, damaged, outstanding.
    pub async fn pos_csv(&self) -> Result<Vec<u8>> {
        let mut w = csv::Writer::from_writer(Vec::new());
        let csv_err = |e: csv::Error| Error::Internal(codflow_store::Error::Corrupt(e.to_string()));
        w.write_record([
            "po_number",
            "supplier",
            "warehouse",
            "status",
            "expected_on",
            "sku",
            "ordered",
            "received",
            "damaged",
            "outstanding",
        ])
        .map_err(csv_err)?;
        let mut cursor: Option<String> = None;
        loop {
            let (page, next) = self.pos(None, cursor.as_deref(), 200).await?;
            for s in page {
                let po = self.find_po(s.po.id.as_str()).await?;
                for l in &po.lines {
                    let cells = [
                        po.number.to_string(),
                        po.supplier.clone(),
                        po.warehouse.to_string(),
                        po.status.as_str().to_owned(),
                        po.expected_on.map(|d| d.to_string()).unwrap_or_default(),
                        l.sku.to_string(),
                        l.ordered.to_string(),
                        l.received.to_string(),
                        l.damaged.to_string(),
                        l.outstanding().to_string(),
                    ];
                    w.write_record(cells.iter().map(|c| codflow_sheets::csv::neutralised(c).into_owned()))
                        .map_err(csv_err)?;
                }
            }
            match next {
                Some(n) => cursor = Some(n),
                None => break,
            }
        }
        w.into_inner().map_err(|e| Error::Internal(codflow_store::Error::Corrupt(e.to_string())))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn po_groups(text: &str) -> Result<(Vec<Group>, Vec<LineError>)> {
        groups(text.as_bytes(), &PO_COLUMNS, &["po_number", "supplier", "warehouse", "sku", "quantity"])
    }

    #[test]
    fn rows_of_one_number_form_one_document_wherever_they_are() {
        let (g, e) = po_groups("po_number,supplier,warehouse,sku,quantity\nA,S,W,X,1\nB,S,W,X,2\nA,S,W,Y,3\n").unwrap();
        assert!(e.is_empty());
        let keys: Vec<(&str, Vec<u64>)> =
            g.iter().map(|g| (g.key.as_str(), g.rows.iter().map(|r| r.0).collect())).collect();
        assert_eq!(keys, vec![("A", vec![2, 4]), ("B", vec![3])]);
    }

    #[test]
    fn a_header_without_a_required_column_names_it() {
        let Err(Error::Invalid(fields)) = po_groups("po_number,sku,quantity\nA,X,1\n") else { panic!("refused") };
        let e = &fields.0[0].message;
        assert!(e.contains("supplier") && e.contains("warehouse"), "{e}");
    }

    #[test]
    fn a_row_without_its_number_is_refused_on_its_line() {
        let (g, e) = po_groups("po_number,supplier,warehouse,sku,quantity\n,S,W,X,1\nA,S,W,X,1\n").unwrap();
        assert_eq!(g.len(), 1);
        assert_eq!((e[0].line, e[0].field.as_str()), (2, "po_number"));
    }

    proptest! {
        #[test]
        fn arbitrary_files_never_panic_and_every_error_is_on_a_line_of_the_file(body in ".{0,600}") {
            let text = format!("po_number,supplier,warehouse,sku,quantity\n{body}");
            let lines = text.lines().count() as u64 + 1;
            if let Ok((groups, errors)) = po_groups(&text) {
                for e in &errors {
                    prop_assert!(e.line >= 2 && e.line <= lines, "{e:?}");
                }
                for g in &groups {
                    prop_assert!(!g.key.is_empty());
                    let mut errs = Vec::new();
                    let _ = agreed(g, &["supplier", "warehouse"], &mut errs);
                    let _ = lines_of(g, &mut errs);
                }
            }
            let _ = po_groups(&body);
        }
    }
}
