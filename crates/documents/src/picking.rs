//! The picking list for a batch: one line per bin location and SKU, walked in location order, with the
//! orders each line is for, so a picker makes one pass through the warehouse.

use crate::pdf::{Font, Page, render};
use crate::table::{MARGIN, col, facts, num_col, paged};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PickLine {
    /// Bin location; lines without one come last.
    pub location: Option<String>,
    pub sku: String,
    pub title: String,
    pub quantity: i64,
    pub orders: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PickingList {
    pub reference: String,
    pub date: String,
    pub warehouse: String,
    pub orders: usize,
    pub lines: Vec<PickLine>,
}

/// Lines merged by (location, SKU) and put in walking order.
pub fn walk_order(lines: &[PickLine]) -> Vec<PickLine> {
    let mut merged: Vec<PickLine> = Vec::with_capacity(lines.len());
    let mut sorted = lines.to_vec();
    sorted
        .sort_by(|a, b| (a.location.is_none(), &a.location, &a.sku).cmp(&(b.location.is_none(), &b.location, &b.sku)));
    for l in sorted {
        match merged.last_mut() {
            Some(m) if m.location == l.location && m.sku == l.sku => {
                m.quantity += l.quantity;
                m.orders.extend(l.orders);
            }
            _ => merged.push(l),
        }
    }
    merged
}

pub fn picking_list(list: &PickingList) -> Vec<u8> {
    picking_lists(std::slice::from_ref(list))
}

/// Several lists (a warehouse each) in one file.
pub fn picking_lists(lists: &[PickingList]) -> Vec<u8> {
    render(&lists.iter().flat_map(pages).collect::<Vec<_>>(), "Picking list")
}

fn pages(list: &PickingList) -> Vec<Page> {
    let lines = walk_order(&list.lines);
    let columns = [
        col("", 20.0),
        col("Location", 70.0),
        col("SKU", 90.0),
        col("Description", 150.0),
        num_col("Qty", 35.0),
        col("Orders", 150.0),
    ];
    let rows: Vec<Vec<String>> = lines
        .iter()
        .map(|l| {
            vec![
                "[  ]".into(),
                l.location.clone().unwrap_or_else(|| "(no bin)".into()),
                l.sku.clone(),
                l.title.clone(),
                l.quantity.to_string(),
                l.orders.join(", "),
            ]
        })
        .collect();
    let units: i64 = lines.iter().map(|l| l.quantity).sum();
    paged(
        "Picking list",
        &columns,
        &rows,
        |p, _| {
            p.text(MARGIN, MARGIN, 18.0, Font::Bold, "PICKING LIST");
            p.text(MARGIN, MARGIN + 24.0, 9.0, Font::Regular, &format!("Warehouse {}", list.warehouse));
            facts(
                p,
                MARGIN,
                &[
                    ("Batch", list.reference.clone()),
                    ("Date", list.date.clone()),
                    ("Orders", list.orders.to_string()),
                    ("Lines", lines.len().to_string()),
                    ("Units", units.to_string()),
                ],
            ) + 14.0
        },
        |p, y| {
            p.text(MARGIN, y, 8.5, Font::Regular, "Picked by");
            p.fill(MARGIN + 45.0, y + 9.0, 150.0, 0.6);
            p.text(MARGIN + 220.0, y, 8.5, Font::Regular, "Checked by");
            p.fill(MARGIN + 270.0, y + 9.0, 150.0, 0.6);
        },
        30.0,
    )
}
