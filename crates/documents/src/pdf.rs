//! A small PDF 1.4 writer (ISO 32000-1) for documents made of text, filled rectangles and lines: exactly
//! what labels, invoices and lists need. The standard Helvetica fonts are used, so nothing is embedded and a
//! label is a few kilobytes; their WinAnsi encoding covers Latin-1, and other characters print as `?`.
//! Content streams are left uncompressed: they are small, and tests can read them back.
//!
//! Coordinates passed in are points from the top-left corner, the way documents are laid out; the writer
//! flips them into PDF's bottom-left space.

use std::fmt::Write as _;

pub const A4: (f32, f32) = (595.0, 842.0);
/// 4 × 6 inches.
pub const LABEL_4X6: (f32, f32) = (288.0, 432.0);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Font {
    Regular,
    Bold,
}

impl Font {
    fn resource(self) -> &'static str {
        match self {
            Font::Regular => "/F1",
            Font::Bold => "/F2",
        }
    }
}

/// Helvetica advance widths in 1/1000 em (Adobe's AFM), for alignment and truncation; bold runs wider.
fn advance(c: char, font: Font) -> f32 {
    let w = match c {
        ' ' | '.' | ',' | ':' | ';' | '/' | '!' | 'I' | 'f' | 't' | '[' | ']' | '\\' => 278.0,
        'i' | 'j' | 'l' | '\'' => 222.0,
        '-' | '(' | ')' | 'r' => 333.0,
        '0'..='9' | '$' | '#' | '?' | '_' => 556.0,
        'a' | 'b' | 'd' | 'e' | 'g' | 'h' | 'n' | 'o' | 'p' | 'q' | 'u' => 556.0,
        'c' | 'k' | 's' | 'v' | 'x' | 'y' | 'z' | 'J' => 500.0,
        'm' | 'M' => 833.0,
        'w' | 'C' | 'D' | 'H' | 'N' | 'R' | 'U' => 722.0,
        'G' | 'O' | 'Q' => 778.0,
        'F' | 'T' | 'Z' => 611.0,
        'L' => 556.0,
        'W' => 944.0,
        '%' => 889.0,
        '@' => 1015.0,
        _ => 667.0,
    };
    match font {
        Font::Regular => w,
        Font::Bold => w * 1.06,
    }
}

/// Width of `s` in points at `size`.
pub fn text_width(s: &str, size: f32, font: Font) -> f32 {
    s.chars().map(|c| advance(c, font)).sum::<f32>() * size / 1000.0
}

/// `s` broken into lines of at most `width` points, at spaces where it can (a word longer than a line is cut),
/// keeping its own line breaks.
pub fn wrap(s: &str, width: f32, size: f32, font: Font) -> Vec<String> {
    let mut lines = Vec::new();
    for para in s.lines() {
        let mut line = String::new();
        for word in para.split_whitespace() {
            let candidate = if line.is_empty() { word.to_owned() } else { format!("{line} {word}") };
            if text_width(&candidate, size, font) <= width {
                line = candidate;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            line = if text_width(word, size, font) <= width { word.to_owned() } else { fit(word, width, size, font) };
        }
        lines.push(line);
    }
    lines
}

/// `s` cut to fit `width` points, with an ellipsis when something was cut.
pub fn fit(s: &str, width: f32, size: f32, font: Font) -> String {
    if text_width(s, size, font) <= width {
        return s.to_owned();
    }
    let room = width - text_width("...", size, font);
    let mut used = 0.0;
    let mut out = String::new();
    for c in s.chars() {
        used += advance(c, font) * size / 1000.0;
        if used > room {
            break;
        }
        out.push(c);
    }
    out.push_str("...");
    out
}

/// A number the way PDF wants it: no exponent, at most two decimals.
fn num(v: f32) -> String {
    let r = (v * 100.0).round() / 100.0;
    if r.fract() == 0.0 { format!("{}", r as i64) } else { format!("{r:.2}").trim_end_matches('0').to_owned() }
}

/// A PDF literal string in WinAnsi bytes, written as 7-bit ASCII (octal escapes above 126).
fn literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('(');
    for c in s.chars() {
        let byte: u8 = match c {
            '\\' | '(' | ')' => {
                out.push('\\');
                c as u8
            }
            ' '..='~' => c as u8,
            '\u{a0}'..='\u{ff}' => c as u32 as u8,
            '€' => 0x80,
            '‘' => 0x91,
            '’' => 0x92,
            '“' => 0x93,
            '”' => 0x94,
            '•' => 0x95,
            '–' => 0x96,
            '—' => 0x97,
            _ => b'?',
        };
        if byte < 0x80 {
            out.push(byte as char);
        } else {
            let _ = write!(out, "\\{byte:03o}");
        }
    }
    out.push(')');
    out
}

/// One page being drawn.
#[derive(Clone, Debug)]
pub struct Page {
    width: f32,
    height: f32,
    ops: String,
}

impl Page {
    pub fn new((width, height): (f32, f32)) -> Page {
        Page { width, height, ops: String::with_capacity(4096) }
    }

    pub fn size(&self) -> (f32, f32) {
        (self.width, self.height)
    }

    /// Text whose top is at `y`.
    pub fn text(&mut self, x: f32, y: f32, size: f32, font: Font, s: &str) {
        let base = self.height - y - size * 0.8;
        let _ = writeln!(
            self.ops,
            "BT {} {} Tf {} {} Td {} Tj ET",
            font.resource(),
            num(size),
            num(x),
            num(base),
            literal(s)
        );
    }

    /// Text ending at `right`.
    pub fn text_right(&mut self, right: f32, y: f32, size: f32, font: Font, s: &str) {
        self.text(right - text_width(s, size, font), y, size, font, s);
    }

    pub fn text_centered(&mut self, centre: f32, y: f32, size: f32, font: Font, s: &str) {
        self.text(centre - text_width(s, size, font) / 2.0, y, size, font, s);
    }

    /// White text, for printing on a filled box.
    pub fn text_reversed(&mut self, x: f32, y: f32, size: f32, font: Font, s: &str) {
        self.ops.push_str("1 g\n");
        self.text(x, y, size, font, s);
        self.ops.push_str("0 g\n");
    }

    /// A filled black rectangle with its top-left corner at (`x`, `y`).
    pub fn fill(&mut self, x: f32, y: f32, w: f32, h: f32) {
        let _ = writeln!(self.ops, "{} {} {} {} re f", num(x), num(self.height - y - h), num(w), num(h));
    }

    /// A rectangle outline.
    pub fn frame(&mut self, x: f32, y: f32, w: f32, h: f32, line: f32) {
        let _ =
            writeln!(self.ops, "{} w {} {} {} {} re S", num(line), num(x), num(self.height - y - h), num(w), num(h));
    }

    /// Drawing inside `/tag BMC … EMC`, so that a reader (or a test) can find, say, the barcode's bars.
    pub fn marked(&mut self, tag: &str, draw: impl FnOnce(&mut Page)) {
        let _ = writeln!(self.ops, "/{tag} BMC");
        draw(self);
        self.ops.push_str("EMC\n");
    }
}

/// The finished file: catalogue, page tree, two fonts, then each page and its content stream, with a
/// cross-reference table of byte offsets so that readers can seek.
pub fn render(pages: &[Page], title: &str) -> Vec<u8> {
    let mut objects: Vec<String> = Vec::with_capacity(4 + pages.len() * 2);
    let kids: Vec<String> = (0..pages.len()).map(|i| format!("{} 0 R", 5 + i * 2)).collect();
    objects.push("<< /Type /Catalog /Pages 2 0 R >>".into());
    objects.push(format!("<< /Type /Pages /Kids [{}] /Count {} >>", kids.join(" "), pages.len()));
    for (n, name) in [(3, "Helvetica"), (4, "Helvetica-Bold")] {
        debug_assert_eq!(objects.len() + 1, n);
        objects.push(format!("<< /Type /Font /Subtype /Type1 /BaseFont /{name} /Encoding /WinAnsiEncoding >>"));
    }
    for (i, p) in pages.iter().enumerate() {
        objects.push(format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {} {}] /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> \
             /Contents {} 0 R >>",
            num(p.width),
            num(p.height),
            6 + i * 2
        ));
        objects.push(format!("<< /Length {} >>\nstream\n{}endstream", p.ops.len(), p.ops));
    }
    let info = objects.len() + 1;
    objects.push(format!("<< /Title {} /Producer (codflow) >>", literal(title)));

    let mut out = String::with_capacity(objects.iter().map(String::len).sum::<usize>() + 256);
    out.push_str("%PDF-1.4\n");
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        let _ = write!(out, "{} 0 obj\n{o}\nendobj\n", i + 1);
    }
    let xref = out.len();
    let _ = write!(out, "xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
    for o in offsets {
        let _ = writeln!(out, "{o:010} 00000 n ");
    }
    let _ = write!(
        out,
        "trailer\n<< /Size {} /Root 1 0 R /Info {info} 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    );
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cross_reference_offset_points_at_its_object() {
        let mut a = Page::new(A4);
        a.text(10.0, 10.0, 12.0, Font::Bold, "Invoice (copy) \\ 1");
        let b = Page::new(LABEL_4X6);
        let pdf = String::from_utf8(render(&[a, b], "Test")).unwrap();
        let xref_at: usize = pdf.lines().rev().nth(1).unwrap().parse().unwrap();
        assert!(pdf[xref_at..].starts_with("xref\n"));
        let entries: Vec<usize> = pdf[xref_at..]
            .lines()
            .skip(3)
            .take_while(|l| l.ends_with(" n "))
            .map(|l| l[..10].parse().unwrap())
            .collect();
        assert_eq!(entries.len(), 9, "catalogue, pages, two fonts, two pages and two contents, info");
        for (i, off) in entries.iter().enumerate() {
            assert!(pdf[*off..].starts_with(&format!("{} 0 obj", i + 1)), "object {}", i + 1);
        }
        assert!(pdf.contains("/Count 2"));
        assert!(pdf.contains("(Invoice \\(copy\\) \\\\ 1) Tj"));
    }

    #[test]
    fn stream_lengths_are_exact() {
        let mut p = Page::new(A4);
        p.fill(1.0, 2.0, 3.0, 4.0);
        let pdf = String::from_utf8(render(&[p], "T")).unwrap();
        let at = pdf.find("/Length ").unwrap() + 8;
        let len: usize = pdf[at..].split_whitespace().next().unwrap().trim_end_matches(">>").parse().unwrap();
        let start = pdf[at..].find("stream\n").unwrap() + at + 7;
        assert_eq!(&pdf[start + len..start + len + 9], "endstream");
    }

    #[test]
    fn latin_text_is_encoded_and_the_rest_replaced() {
        assert_eq!(literal("Zoë €5 Ω"), "(Zo\\353 \\2005 ?)");
    }

    #[test]
    fn coordinates_are_flipped_from_the_top() {
        let mut p = Page::new((100.0, 200.0));
        p.fill(10.0, 20.0, 30.0, 40.0);
        assert_eq!(p.ops, "10 140 30 40 re f\n");
    }

    #[test]
    fn long_text_is_cut_with_an_ellipsis() {
        let s = fit("A very long product description indeed", 60.0, 10.0, Font::Regular);
        assert!(s.ends_with("...") && text_width(&s, 10.0, Font::Regular) <= 60.0, "{s}");
        assert_eq!(fit("short", 60.0, 10.0, Font::Regular), "short");
    }
}
