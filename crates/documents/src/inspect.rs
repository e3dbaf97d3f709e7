//! Reads back the PDFs this crate writes: the pages' drawing operators, the text they show, and the
//! barcode as a scanner would measure it. For tests across the workspace and for checking a document
//! before it goes out; it is not a general PDF reader.

use crate::code128;

/// The content stream of every page, in page order; `None` when the bytes are not one of our PDFs.
pub fn pages(pdf: &[u8]) -> Option<Vec<String>> {
    let s = std::str::from_utf8(pdf).ok()?;
    if !s.starts_with("%PDF-1.4\n") || !s.ends_with("%%EOF\n") {
        return None;
    }
    let kids = s.split("/Kids [").nth(1)?.split(']').next()?;
    kids.split(" 0 R")
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(|n| {
            let obj = s.split(&format!("\n{n} 0 obj\n")).nth(1)?;
            let contents = obj.split("/Contents ").nth(1)?.split(' ').next()?;
            let stream = s.split(&format!("\n{contents} 0 obj\n")).nth(1)?;
            Some(stream.split("stream\n").nth(1)?.split("endstream").next()?.to_owned())
        })
        .collect()
}

/// Filled rectangles (x, y, w, h) inside the page's `/tag BMC … EMC` block.
pub fn rects(page: &str, tag: &str) -> Vec<(f32, f32, f32, f32)> {
    let Some(block) = page.split(&format!("/{tag} BMC\n")).nth(1).and_then(|b| b.split("EMC").next()) else {
        return Vec::new();
    };
    block
        .lines()
        .filter_map(|l| l.strip_suffix(" re f"))
        .filter_map(|l| {
            let v: Vec<f32> = l.split(' ').filter_map(|n| n.parse().ok()).collect();
            (v.len() == 4).then(|| (v[0], v[1], v[2], v[3]))
        })
        .collect()
}

/// Every string shown on the page, unescaped (bytes above 126 stay as their octal escapes).
pub fn texts(page: &str) -> Vec<String> {
    page.lines()
        .filter_map(|l| l.strip_suffix(") Tj ET"))
        .filter_map(|l| l.find(" Td (").map(|at| &l[at + 5..]))
        .map(|raw| raw.replace("\\(", "(").replace("\\)", ")").replace("\\\\", "\\"))
        .collect()
}

/// The Code 128 barcode on the page, read from bar and gap widths in units of the narrowest element.
pub fn barcode(page: &str) -> Option<String> {
    let mut bars = rects(page, "Barcode");
    bars.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut widths = Vec::with_capacity(bars.len() * 2);
    for (i, b) in bars.iter().enumerate() {
        widths.push(b.2);
        if let Some(next) = bars.get(i + 1) {
            widths.push(next.0 - (b.0 + b.2));
        }
    }
    let module = widths.iter().copied().fold(f32::MAX, f32::min);
    if module.is_nan() || module <= 0.0 || module == f32::MAX {
        return None;
    }
    let modules: Vec<u8> = widths.iter().map(|w| (w / module).round().clamp(0.0, 9.0) as u8).collect();
    code128::decode(&modules)
}
