//! Order CSV import (API.md "Order CSV import"): one row per order line, adjacent rows with the same
//! external_id form one order. Each order lands whole or not at all, orders already present are skipped
//! (so a re-run after a crash finishes the job), and bad rows are reported with line and column while
//! the good orders in the same file still land.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::sync::Arc;

use codflow_domain::order::{AddressInput, BuyerInput, LineInput, MoneyInput};
use codflow_domain::{Actor, FieldError, NewOrder, OrderInput, OrderStatus, ProductId, Sku};
use codflow_store::{catalogue, commit, rollback};
use time::OffsetDateTime;
use tokio::sync::mpsc;

use crate::orders::{IntakeOutcome, record_batch};
use crate::{Error, Intake, Result};

pub const COLUMNS: [&str; 17] = [
    "external_id",
    "placed_at",
    "currency",
    "payment_method",
    "buyer_name",
    "buyer_phone",
    "buyer_email",
    "line1",
    "line2",
    "city",
    "region",
    "postal_code",
    "country",
    "sku",
    "quantity",
    "unit_price",
    "shipping_fee",
];

/// Columns that describe the order rather than the line: every row of one order must agree on them.
const ORDER_COLUMNS: [&str; 13] = [
    "placed_at",
    "currency",
    "payment_method",
    "buyer_name",
    "buyer_phone",
    "buyer_email",
    "line1",
    "line2",
    "city",
    "region",
    "postal_code",
    "country",
    "shipping_fee",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub line: u64,
    pub external_id: Option<String>,
    pub field: String,
    pub message: String,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportReport {
    pub orders_in_file: u64,
    pub created: u64,
    pub already_present: u64,
    pub rejected: u64,
    pub allocated: u64,
    pub backordered: u64,
    pub errors: Vec<RowError>,
}

#[derive(Debug, Clone, Copy)]
pub struct Progress {
    pub bytes_read: u64,
    pub orders_done: u64,
}

pub struct ImportOptions {
    pub store: String,
    /// Orders per transaction: larger is faster, smaller loses less work to a crash.
    pub batch_size: usize,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions { store: "manual".into(), batch_size: 500 }
    }
}

struct Row {
    line: u64,
    fields: Vec<String>,
}

/// Where a validation path of `OrderInput` lives in the file.
fn locate(path: &str, rows: &[Row]) -> (u64, String) {
    let first = rows[0].line;
    if let Some(rest) = path.strip_prefix("lines[") {
        let (idx, field) = rest.split_once(']').unwrap_or((rest, ""));
        let line = idx.parse::<usize>().ok().and_then(|i| rows.get(i)).map(|r| r.line).unwrap_or(first);
        let col = match field.trim_start_matches('.') {
            f if f.starts_with("unit_price") => "unit_price",
            f => f,
        };
        return (line, col.to_owned());
    }
    let col = match path {
        // The file has one name and one phone: the shipping address takes the buyer's.
        "shipping_address.name" => "buyer_name".into(),
        "shipping_address.phone" => "buyer_phone".into(),
        p if p.starts_with("buyer.") => format!("buyer_{}", &p[6..]),
        p if p.starts_with("shipping_address.") => p["shipping_address.".len()..].to_owned(),
        p if p.starts_with("shipping_fee") => "shipping_fee".into(),
        p => p.to_owned(),
    };
    (first, col)
}

/// Orders parsed and checked, ready to be written, and where in the file the parser has got to.
struct Batch {
    orders: Vec<NewOrder>,
    bytes_read: u64,
    rejected_so_far: u64,
}

/// What the parser learned about the file besides the orders it handed over.
#[derive(Default)]
struct Parsed {
    orders_in_file: u64,
    rejected: u64,
    errors: Vec<RowError>,
}

/// Reads, groups and checks the file on a blocking thread, handing over batches of good orders. Stops
/// early if the writer has gone (it failed); the writer then reports why.
fn parse_file<R: Read>(
    input: R,
    store: &str,
    products: &HashMap<Sku, ProductId>,
    batch_size: usize,
    out: mpsc::Sender<Batch>,
    now: OffsetDateTime,
) -> Result<Parsed> {
    let mut csv = codflow_sheets::csv::Reader::new(std::io::BufReader::new(input), b',').trim(true);
    let header: Vec<String> = match csv.next_record() {
        Some(Ok(h)) => h.fields,
        Some(Err(e)) => return Err(Error::invalid("header", format!("cannot read the header row: {e}"))),
        None => return Err(Error::invalid("header", "line 1: the file is empty")),
    };
    let missing: Vec<&str> = COLUMNS.iter().copied().filter(|c| !header.iter().any(|h| h == c)).collect();
    let unknown: Vec<&str> = header.iter().map(String::as_str).filter(|h| !COLUMNS.contains(h)).collect();
    if !missing.is_empty() || !unknown.is_empty() {
        let mut msg = String::from("line 1: ");
        if !missing.is_empty() {
            msg += &format!("missing column(s) {}", missing.join(", "));
        }
        if !unknown.is_empty() {
            let sep = if missing.is_empty() { "" } else { "; " };
            msg += &format!("{sep}unknown column(s) {}", codflow_sheets::csv::name_list(unknown, 10));
        }
        return Err(Error::invalid("header", format!("{msg}; expected {}", COLUMNS.join(","))));
    }
    let col: HashMap<&str, usize> =
        COLUMNS.iter().map(|c| (*c, header.iter().position(|h| h == c).unwrap_or(0))).collect();

    let ext_col = col["external_id"];
    let mut parsed = Parsed::default();
    let mut group: Vec<Row> = Vec::new();
    let mut finished: HashMap<String, u64> = HashMap::new();
    let mut batch: Vec<NewOrder> = Vec::with_capacity(batch_size);
    let hand_over = |batch: &mut Vec<NewOrder>, bytes_read: u64, rejected_so_far: u64| -> bool {
        let orders = std::mem::replace(batch, Vec::with_capacity(batch_size));
        out.blocking_send(Batch { orders, bytes_read, rejected_so_far }).is_ok()
    };

    loop {
        let row = match csv.next_record() {
            Some(Err(e)) => {
                let field = e.column.and_then(|c| header.get(c - 1)).cloned().unwrap_or_default();
                parsed.errors.push(RowError { line: e.line, external_id: None, field, message: e.message });
                if e.fatal {
                    break;
                }
                continue;
            }
            Some(Ok(rec)) => {
                if rec.fields.len() != header.len() {
                    parsed.errors.push(RowError {
                        line: rec.line,
                        external_id: None,
                        field: String::new(),
                        message: format!("has {} fields where the header has {}", rec.fields.len(), header.len()),
                    });
                    continue;
                }
                Some(Row { line: rec.line, fields: rec.fields })
            }
            None => None,
        };
        let closes_group = match (&row, group.first()) {
            (Some(r), Some(g)) => r.fields[ext_col] != g.fields[ext_col],
            (None, Some(_)) => true,
            _ => false,
        };
        if closes_group {
            let rows = std::mem::take(&mut group);
            let ext = rows[0].fields[ext_col].clone();
            parsed.orders_in_file += 1;
            if let Some(first) = finished.get(&ext) {
                parsed.rejected += 1;
                parsed.errors.push(RowError {
                    line: rows[0].line,
                    external_id: Some(ext.clone()),
                    field: "external_id".into(),
                    message: format!("rows of order {ext} must be adjacent; its first rows start at line {first}"),
                });
            } else {
                finished.insert(ext.clone(), rows[0].line);
                match parse_group(&rows, &col, store, products, now) {
                    Ok(new) => batch.push(new),
                    Err(errs) => {
                        parsed.rejected += 1;
                        parsed.errors.extend(errs.into_iter().map(|(line, field, message)| RowError {
                            line,
                            external_id: Some(ext.clone()),
                            field,
                            message,
                        }));
                    }
                }
            }
            if batch.len() >= batch_size && !hand_over(&mut batch, csv.bytes_read(), parsed.rejected) {
                return Ok(parsed);
            }
        }
        match row {
            Some(r) => group.push(r),
            None => break,
        }
    }
    hand_over(&mut batch, csv.bytes_read(), parsed.rejected);
    Ok(parsed)
}

impl Intake {
    /// Imports an order CSV. Parsing runs on a blocking thread while the previous batch is written, so
    /// both cores work; each batch commits in one transaction.
    pub async fn import_orders<R: Read + Send + 'static>(
        &self,
        input: R,
        opts: &ImportOptions,
        actor: Actor,
        progress: &mut (dyn FnMut(Progress) + Send),
    ) -> Result<ImportReport> {
        let store_code =
            codflow_domain::ShopCode::parse(&opts.store).map_err(|e| Error::invalid("store", e.to_string()))?;
        let products: HashMap<Sku, ProductId> =
            catalogue::products(&mut *self.store.read().await?).await?.into_iter().map(|p| (p.sku, p.id)).collect();
        let products = Arc::new(products);
        let (tx, mut rx) = mpsc::channel::<Batch>(2);
        let parser = {
            let (products, store, batch_size) = (products.clone(), opts.store.clone(), opts.batch_size.max(1));
            let now = self.clock().now();
            tokio::task::spawn_blocking(move || parse_file(input, &store, &products, batch_size, tx, now))
        };
        let mut report = ImportReport::default();
        while let Some(batch) = rx.recv().await {
            self.flush(batch.orders, &store_code, &products, &actor, &mut report).await?;
            progress(Progress {
                bytes_read: batch.bytes_read,
                orders_done: report.created + report.already_present + batch.rejected_so_far,
            });
        }
        let parsed = parser.await.map_err(|e| Error::Failed(e.to_string()))??;
        report.orders_in_file = parsed.orders_in_file;
        report.rejected = parsed.rejected;
        report.errors = parsed.errors;
        report.errors.sort_by_key(|e| e.line);
        Ok(report)
    }

    /// Writes one batch in one transaction; orders already present are skipped inside it.
    async fn flush(
        &self,
        batch: Vec<NewOrder>,
        store: &codflow_domain::ShopCode,
        products: &HashMap<Sku, ProductId>,
        actor: &Actor,
        report: &mut ImportReport,
    ) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let now = self.clock().now();
        let mut tx = self.store.begin().await?;
        let ids: Vec<&str> = batch.iter().map(|n| n.external_id.as_str()).collect();
        let present: HashSet<String> =
            codflow_store::orders::existing_external_ids(&mut tx, store, &ids).await?.into_iter().collect();
        let (old, news): (Vec<NewOrder>, Vec<NewOrder>) =
            batch.into_iter().partition(|n| present.contains(&n.external_id));
        report.already_present += old.len() as u64;
        let statuses: Vec<OrderStatus> =
            match record_batch(&mut tx, &self.ctx, news.iter().map(|n| (n.clone(), actor)).collect(), products, now)
                .await?
            {
                Ok(created) => {
                    commit(tx).await?;
                    self.ctx.wake.notify_one();
                    created.into_iter().map(|o| o.status).collect()
                }
                Err(_) => {
                    // Another writer got in between (PostgreSQL): record the batch order by order instead.
                    rollback(tx).await?;
                    let mut statuses = Vec::new();
                    for new in news {
                        match crate::orders::record_one(&self.store, &self.ctx, new, products, actor, now).await? {
                            IntakeOutcome::Created(o) => statuses.push(o.status),
                            IntakeOutcome::Existing(_) => report.already_present += 1,
                        }
                    }
                    statuses
                }
            };
        for status in statuses {
            report.created += 1;
            match status {
                OrderStatus::Allocated => report.allocated += 1,
                OrderStatus::Backordered => report.backordered += 1,
                _ => {}
            }
        }
        Ok(())
    }
}

type RowProblems = Vec<(u64, String, String)>;

fn parse_group(
    rows: &[Row],
    col: &HashMap<&str, usize>,
    store: &str,
    products: &HashMap<Sku, ProductId>,
    now: OffsetDateTime,
) -> std::result::Result<NewOrder, RowProblems> {
    let first = &rows[0];
    let get = |r: &Row, c: &str| -> Option<String> { Some(r.fields[col[c]].clone()).filter(|s| !s.is_empty()) };
    let mut problems: RowProblems = Vec::new();
    for r in &rows[1..] {
        for c in ORDER_COLUMNS {
            if get(r, c) != get(first, c) {
                problems.push((r.line, c.into(), format!("differs from line {} of the same order", first.line)));
            }
        }
    }
    let mut lines = Vec::with_capacity(rows.len());
    for r in rows {
        // Checked here rather than after validation so one pass reports every problem of the order.
        if let Some(sku) = get(r, "sku").and_then(|s| Sku::parse(&s).ok())
            && !products.contains_key(&sku)
        {
            problems.push((r.line, "sku".into(), format!("unknown SKU {sku}")));
        }
        let quantity = match get(r, "quantity") {
            None => None,
            Some(q) => match q.parse::<i64>() {
                Ok(q) => Some(q),
                Err(_) => {
                    problems.push((r.line, "quantity".into(), format!("{q:?} is not a whole number")));
                    Some(1)
                }
            },
        };
        lines.push(LineInput {
            sku: get(r, "sku"),
            quantity,
            unit_price: get(r, "unit_price").map(|amount| MoneyInput { amount, currency: None }),
        });
    }
    let input = OrderInput {
        store: Some(store.to_owned()),
        external_id: get(first, "external_id"),
        placed_at: get(first, "placed_at"),
        currency: get(first, "currency"),
        payment_method: get(first, "payment_method"),
        buyer: BuyerInput {
            name: get(first, "buyer_name"),
            phone: get(first, "buyer_phone"),
            email: get(first, "buyer_email"),
        },
        shipping_address: AddressInput {
            name: get(first, "buyer_name"),
            phone: get(first, "buyer_phone"),
            line1: get(first, "line1"),
            line2: get(first, "line2"),
            city: get(first, "city"),
            region: get(first, "region"),
            postal_code: get(first, "postal_code"),
            country: get(first, "country"),
        },
        lines,
        shipping_fee: get(first, "shipping_fee").map(|amount| MoneyInput { amount, currency: None }),
    };
    let located = |e: FieldError| {
        let (line, field) = locate(&e.path, rows);
        (line, field, e.message)
    };
    match input.validate(now) {
        Err(errs) => {
            problems.extend(errs.0.into_iter().map(located));
            // The shipping address repeats the buyer's name and phone; report each problem once.
            problems.sort();
            problems.dedup();
            Err(problems)
        }
        Ok(_) if !problems.is_empty() => Err(problems),
        Ok(new) => Ok(new),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn known_products() -> HashMap<Sku, ProductId> {
        [("LAMP-01", ProductId::generate())].into_iter().map(|(s, id)| (Sku::parse(s).unwrap(), id)).collect()
    }

    /// Runs the parser over `text`, collecting what it hands over.
    fn parse(text: String) -> (Result<Parsed>, Vec<NewOrder>) {
        let (tx, mut rx) = mpsc::channel(1024);
        let handle = std::thread::spawn(move || {
            parse_file(std::io::Cursor::new(text), "manual", &known_products(), 7, tx, crate::now())
        });
        let mut orders = Vec::new();
        while let Some(b) = rx.blocking_recv() {
            orders.extend(b.orders);
        }
        (handle.join().expect("the parser never panics"), orders)
    }

    fn header() -> String {
        COLUMNS.join(",")
    }

    fn good_row(ext: u32, qty: &str) -> String {
        format!("{ext},2026-11-20T10:00:00Z,SAR,cod,Noura,0501234567,,Rd 1,,Riyadh,,,SA,LAMP-01,{qty},59.00,10.00")
    }

    #[test]
    fn every_good_order_is_handed_over_once_across_batches() {
        let rows: Vec<String> = (0..20).map(|i| good_row(i, "1")).collect();
        let (parsed, orders) = parse(format!("{}\n{}\n", header(), rows.join("\n")));
        let parsed = parsed.unwrap();
        assert_eq!((parsed.orders_in_file, parsed.rejected, orders.len()), (20, 0, 20));
    }

    #[test]
    fn rows_of_one_order_that_are_not_adjacent_are_refused_with_both_lines() {
        let text = format!("{}\n{}\n{}\n{}\n", header(), good_row(1, "1"), good_row(2, "1"), good_row(1, "1"));
        let (parsed, orders) = parse(text);
        let parsed = parsed.unwrap();
        assert_eq!(orders.len(), 2);
        assert_eq!(parsed.errors.len(), 1);
        assert_eq!(parsed.errors[0].line, 4);
        assert!(parsed.errors[0].message.contains("line 2"), "{:?}", parsed.errors[0]);
    }

    #[test]
    fn a_bad_phone_is_reported_once_under_the_column_that_holds_it() {
        let text = format!("{}\n{}\n", header(), good_row(1, "1").replace("0501234567", "12"));
        let (parsed, orders) = parse(text);
        let errors = parsed.unwrap().errors;
        assert!(orders.is_empty());
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["buyer_phone"], "{errors:?}");
    }

    #[test]
    fn an_unterminated_quote_is_reported_not_swallowed() {
        let text = format!("{}\n{}\n\"2,unterminated\n", header(), good_row(1, "1"));
        let (parsed, orders) = parse(text);
        let parsed = parsed.unwrap();
        assert_eq!(orders.len(), 1);
        assert!(!parsed.errors.is_empty());
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(body in ".{0,400}") {
            let _ = parse(format!("{}\n{body}", header()));
            let _ = parse(body);
        }

        #[test]
        fn mangled_rows_are_reported_on_real_lines_and_good_ones_still_land(
            rows in prop::collection::vec((0u32..30, prop::sample::select(vec!["1", "0", "-2", "x", "", "3"]), any::<bool>()), 1..40)
        ) {
            let mut lines = vec![header()];
            for (ext, qty, drop_field) in &rows {
                let mut r = good_row(*ext, qty);
                if *drop_field {
                    r = r.rsplit_once(',').map(|(a, _)| a.to_owned()).unwrap_or(r);
                }
                lines.push(r);
            }
            let total_lines = lines.len() as u64;
            let (parsed, orders) = parse(lines.join("\n"));
            let parsed = parsed.unwrap();
            for e in &parsed.errors {
                prop_assert!(e.line >= 2 && e.line <= total_lines, "{e:?}");
            }
            prop_assert!(orders.len() as u64 <= parsed.orders_in_file);
            prop_assert_eq!(orders.len() as u64 + parsed.rejected, parsed.orders_in_file);
            for o in &orders {
                prop_assert!(o.lines.iter().all(|l| l.quantity >= 1));
            }
        }
    }
}
