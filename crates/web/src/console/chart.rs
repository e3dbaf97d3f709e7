//! Charts as inline SVG drawn on the server. Each mark carries a `<title>` (its value on hover) and a link to
//! the orders behind it, which no plotting crate we looked at could attach to a single bar or point; the
//! shapes needed here (bars, columns, a line) are a few dozen lines each.

use std::fmt::Write;

use super::pages::esc;

/// One mark: its label, its size (any unit, compared to the others), the text shown on hover and beside
/// it, and where clicking it leads.
pub struct Mark {
    pub label: String,
    pub value: i64,
    pub text: String,
    pub href: Option<String>,
}

const W: i64 = 720;

fn linked(href: &Option<String>, inner: String) -> String {
    match href {
        Some(h) => format!("<a href=\"{}\">{inner}</a>", esc(h)),
        None => inner,
    }
}

/// Horizontal bars in the order given (callers sort by size), each with its value beside it; a vertical axis
/// at zero, so a negative value (a loss) is drawn to its left in red.
pub fn bars(title: &str, marks: &[Mark]) -> String {
    if marks.is_empty() {
        return String::new();
    }
    let row = 22;
    let label_w = 220;
    let plot = W - label_w - 200;
    let h = marks.len() as i64 * row + 10;
    let (lo, hi) = marks.iter().fold((0i64, 0i64), |(lo, hi), m| (lo.min(m.value), hi.max(m.value)));
    let span = (hi - lo).max(1);
    let zero = label_w + (-lo) * plot / span;
    let mut svg = format!(
        "<svg class=\"chart\" role=\"img\" aria-label=\"{t}\" viewBox=\"0 0 {W} {h}\" width=\"100%\" \
         xmlns=\"http://www.w3.org/2000/svg\" font-size=\"12\">\
         <line class=\"axis\" x1=\"{zero}\" y1=\"0\" x2=\"{zero}\" y2=\"{h}\" stroke=\"#889\"></line>",
        t = esc(title)
    );
    for (i, m) in marks.iter().enumerate() {
        let y = i as i64 * row + 4;
        let bw = (m.value.abs() * plot / span).max(1);
        let (x, fill) = if m.value < 0 { (zero - bw, "#c0392b") } else { (zero, "#3b6ea8") };
        let bar = format!(
            "<g class=\"mark\"><title>{label}: {text}</title>\
             <text x=\"{lx}\" y=\"{ty}\" text-anchor=\"end\">{label}</text>\
             <rect x=\"{x}\" y=\"{y}\" width=\"{bw}\" height=\"{bh}\" fill=\"{fill}\"></rect>\
             <text x=\"{vx}\" y=\"{ty}\">{text}</text></g>",
            label = esc(&m.label),
            text = esc(&m.text),
            lx = label_w - 6,
            ty = y + 13,
            bh = row - 6,
            vx = zero.max(x + bw) + 6,
        );
        svg.push_str(&linked(&m.href, bar));
    }
    svg.push_str("</svg>");
    svg
}

/// Marks largest first (losses last), the order bars read best in.
pub fn by_size(mut marks: Vec<Mark>) -> Vec<Mark> {
    marks.sort_by_key(|m| std::cmp::Reverse(m.value));
    marks
}

/// A line over time (one point per mark, left to right), with the values as dots.
pub fn line(title: &str, marks: &[Mark]) -> String {
    if marks.is_empty() {
        return String::new();
    }
    let h = 180;
    let (left, bottom, top) = (90, 30, 10);
    let max = marks.iter().map(|m| m.value).max().unwrap_or(1).max(1);
    let highest = marks.iter().max_by_key(|m| m.value).map(|m| m.text.clone()).unwrap_or_default();
    let step = if marks.len() > 1 { (W - left - 20) / (marks.len() as i64 - 1) } else { 0 };
    let pt = |i: usize, v: i64| (left + i as i64 * step, top + (h - bottom - top) * (max - v.max(0)) / max);
    let mut svg = format!(
        "<svg class=\"chart\" role=\"img\" aria-label=\"{t}\" viewBox=\"0 0 {W} {h}\" width=\"100%\" \
         xmlns=\"http://www.w3.org/2000/svg\" font-size=\"11\">\
         <line x1=\"{left}\" y1=\"{base}\" x2=\"{W}\" y2=\"{base}\" stroke=\"#889\"></line>\
         <line class=\"axis\" x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{base}\" stroke=\"#889\"></line>\
         <text x=\"{lx}\" y=\"{ty}\" text-anchor=\"end\">{hi}</text><text x=\"{lx}\" y=\"{base}\" text-anchor=\"end\">0</text>",
        t = esc(title),
        base = h - bottom,
        lx = left - 4,
        ty = top + 10,
        hi = esc(&highest),
    );
    let path: Vec<String> = marks
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let (x, y) = pt(i, m.value);
            format!("{x},{y}")
        })
        .collect();
    let _ = write!(
        svg,
        "<polyline fill=\"none\" stroke=\"#3b6ea8\" stroke-width=\"2\" points=\"{}\"></polyline>",
        path.join(" ")
    );
    let every = (marks.len() / 8).max(1);
    for (i, m) in marks.iter().enumerate() {
        let (x, y) = pt(i, m.value);
        let dot = format!(
            "<g class=\"mark\"><title>{l}: {t}</title><circle cx=\"{x}\" cy=\"{y}\" r=\"5\" fill=\"#3b6ea8\"></circle></g>",
            l = esc(&m.label),
            t = esc(&m.text)
        );
        svg.push_str(&linked(&m.href, dot));
        if i % every == 0 {
            let _ = write!(svg, "<text x=\"{x}\" y=\"{}\" text-anchor=\"middle\">{}</text>", h - 10, esc(&m.label));
        }
    }
    svg.push_str("</svg>");
    svg
}

/// Columns in pairs (money in and out per week), both against the same scale, with a legend naming the two
/// and the scale's top value on the axis.
pub fn columns(title: &str, legend: (&str, &str), pairs: &[(Mark, Mark)]) -> String {
    if pairs.is_empty() {
        return String::new();
    }
    let h = 220;
    // Room left of the axis for the top value with its words, and above the plot for the legend.
    let (left, bottom, top) = (130, 30, 22);
    let max = pairs.iter().map(|(a, b)| a.value.max(b.value)).max().unwrap_or(1).max(1);
    let highest =
        pairs.iter().flat_map(|(a, b)| [a, b]).max_by_key(|m| m.value).map(|m| m.text.clone()).unwrap_or_default();
    let slot = ((W - left) / pairs.len() as i64).max(8);
    let bw = (slot / 2 - 2).max(2);
    let mut svg = format!(
        "<svg class=\"chart\" role=\"img\" aria-label=\"{t}\" viewBox=\"0 0 {W} {h}\" width=\"100%\" \
         xmlns=\"http://www.w3.org/2000/svg\" font-size=\"11\">\
         <line class=\"axis\" x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{base}\" stroke=\"#889\"></line>\
         <text x=\"{lx}\" y=\"{ty}\" text-anchor=\"end\">{hi}</text><text x=\"{lx}\" y=\"{base}\" text-anchor=\"end\">0</text>\
         <g class=\"legend\"><rect x=\"{l1}\" y=\"2\" width=\"10\" height=\"10\" fill=\"#2e8b57\"></rect><text x=\"{l1t}\" y=\"11\">{a}</text>\
         <rect x=\"{l2}\" y=\"2\" width=\"10\" height=\"10\" fill=\"#c0392b\"></rect><text x=\"{l2t}\" y=\"11\">{b}</text></g>",
        t = esc(title),
        base = h - bottom,
        lx = left - 4,
        ty = top + 10,
        hi = esc(&highest),
        l1 = W - 260,
        l1t = W - 246,
        l2 = W - 130,
        l2t = W - 116,
        a = esc(legend.0),
        b = esc(legend.1),
    );
    for (i, (a, b)) in pairs.iter().enumerate() {
        let x = left + i as i64 * slot;
        for (j, (m, colour)) in [(a, "#2e8b57"), (b, "#c0392b")].into_iter().enumerate() {
            let bh = m.value.max(0) * (h - bottom - top) / max;
            let col = format!(
                "<g class=\"mark\"><title>{l}: {t}</title><rect x=\"{cx}\" y=\"{y}\" width=\"{bw}\" height=\"{bh}\" fill=\"{colour}\"></rect></g>",
                l = esc(&m.label),
                t = esc(&m.text),
                cx = x + j as i64 * (bw + 2),
                y = h - bottom - bh,
            );
            svg.push_str(&linked(&m.href, col));
        }
        if i % (pairs.len() / 8).max(1) == 0 {
            let _ = write!(svg, "<text x=\"{x}\" y=\"{}\">{}</text>", h - 10, esc(&a.label));
        }
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bar_links_to_its_orders_and_shows_its_value_on_hover() {
        let marks = vec![
            Mark { label: "SA".into(), value: 40, text: "40.0% of 10".into(), href: Some("/orders?country=SA".into()) },
            Mark { label: "A<E".into(), value: 10, text: "10.0% of 20".into(), href: None },
        ];
        let svg = bars("Refusal", &marks);
        assert!(svg.contains("<a href=\"/orders?country=SA\"><g class=\"mark\"><title>SA: 40.0% of 10</title>"));
        assert!(svg.contains("A&lt;E"), "labels are escaped");
        assert_eq!(svg.matches("<rect").count(), 2);
    }

    #[test]
    fn losses_are_drawn_left_of_the_zero_axis_in_red_and_bars_sort_by_size() {
        let m = |label: &str, value: i64| Mark { label: label.into(), value, text: value.to_string(), href: None };
        let sorted = by_size(vec![m("a", 10), m("loss", -30), m("b", 60)]);
        assert_eq!(sorted.iter().map(|m| m.value).collect::<Vec<_>>(), [60, 10, -30]);
        let svg = bars("Profit", &sorted);
        // Zero sits a third of the way along a plot spanning -30..60.
        let zero = 220 + 30 * (720 - 220 - 200) / 90;
        assert!(svg.contains(&format!("x1=\"{zero}\"")), "{svg}");
        let red = svg.split("fill=\"#c0392b\"").count() - 1;
        assert_eq!(red, 1, "only the loss is red");
        assert!(svg.contains(&format!("<rect x=\"{}\"", zero - 100)), "the loss ends left of zero: {svg}");
    }
}
