//! A4 documents that are a heading, some blocks and a table that runs over as many pages as it needs.

use crate::pdf::{A4, Font, Page, fit};

pub(crate) const MARGIN: f32 = 40.0;
const ROW: f32 = 15.0;
const SIZE: f32 = 8.5;

pub(crate) struct Column {
    pub title: &'static str,
    pub width: f32,
    pub right: bool,
}

pub(crate) const fn col(title: &'static str, width: f32) -> Column {
    Column { title, width, right: false }
}

pub(crate) const fn num_col(title: &'static str, width: f32) -> Column {
    Column { title, width, right: true }
}

/// Lays the rows out under `head` (which draws a page's top part and returns where the table starts),
/// then `tail` after the last row (returning how much room it needs, so it never falls off the page).
/// Every page gets "page n of m" and the title.
pub(crate) fn paged(
    title: &str,
    columns: &[Column],
    rows: &[Vec<String>],
    head: impl Fn(&mut Page, bool) -> f32,
    tail: impl Fn(&mut Page, f32),
    tail_height: f32,
) -> Vec<Page> {
    let bottom = A4.1 - MARGIN - 20.0;
    let mut pages = Vec::new();
    let mut rest = rows;
    loop {
        let mut page = Page::new(A4);
        let first = pages.is_empty();
        let mut y = head(&mut page, first);
        y = header_row(&mut page, columns, y);
        let fits = ((bottom - y) / ROW).floor().max(1.0) as usize;
        let n = fits.min(rest.len());
        for row in &rest[..n] {
            let mut x = MARGIN;
            for (c, cell) in columns.iter().zip(row) {
                let s = fit(cell, c.width - 6.0, SIZE, Font::Regular);
                if c.right {
                    page.text_right(x + c.width - 3.0, y + 3.0, SIZE, Font::Regular, &s);
                } else {
                    page.text(x + 3.0, y + 3.0, SIZE, Font::Regular, &s);
                }
                x += c.width;
            }
            y += ROW;
            page.fill(MARGIN, y - 0.5, columns.iter().map(|c| c.width).sum(), 0.3);
        }
        rest = &rest[n..];
        if rest.is_empty() {
            if y + tail_height > bottom {
                pages.push(page);
                let mut more = Page::new(A4);
                let y = head(&mut more, false);
                tail(&mut more, y);
                pages.push(more);
            } else {
                tail(&mut page, y + 10.0);
                pages.push(page);
            }
            break;
        }
        pages.push(page);
    }
    let total = pages.len();
    for (i, p) in pages.iter_mut().enumerate() {
        let footer = format!("{title} - page {} of {total}", i + 1);
        p.text_right(A4.0 - MARGIN, A4.1 - MARGIN + 4.0, 7.5, Font::Regular, &footer);
    }
    pages
}

fn header_row(page: &mut Page, columns: &[Column], y: f32) -> f32 {
    let width: f32 = columns.iter().map(|c| c.width).sum();
    page.fill(MARGIN, y, width, ROW + 2.0);
    let mut x = MARGIN;
    for c in columns {
        if c.right {
            let w = crate::pdf::text_width(c.title, SIZE, Font::Bold);
            page.text_reversed(x + c.width - 3.0 - w, y + 4.0, SIZE, Font::Bold, c.title);
        } else {
            page.text_reversed(x + 3.0, y + 4.0, SIZE, Font::Bold, c.title);
        }
        x += c.width;
    }
    y + ROW + 2.0
}

/// A boxed block of lines under a small heading; returns its bottom.
pub(crate) fn block(page: &mut Page, x: f32, y: f32, w: f32, heading: &str, lines: &[String]) -> f32 {
    page.text(x + 4.0, y + 4.0, 7.0, Font::Bold, heading);
    let mut at = y + 15.0;
    for (i, l) in lines.iter().enumerate() {
        let font = if i == 0 { Font::Bold } else { Font::Regular };
        page.text(x + 4.0, at, 8.5, font, &fit(l, w - 8.0, 8.5, font));
        at += 11.0;
    }
    let bottom = at + 3.0;
    page.frame(x, y, w, bottom - y, 0.6);
    bottom
}

/// Label/value pairs right-aligned in the top-right corner; returns their bottom.
pub(crate) fn facts(page: &mut Page, y: f32, pairs: &[(&str, String)]) -> f32 {
    let mut at = y;
    for (k, v) in pairs {
        page.text_right(A4.0 - MARGIN - 130.0, at, 8.5, Font::Bold, k);
        page.text(A4.0 - MARGIN - 124.0, at, 8.5, Font::Regular, &fit(v, 124.0, 8.5, Font::Regular));
        at += 12.0;
    }
    at
}
