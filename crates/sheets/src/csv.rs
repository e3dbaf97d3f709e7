//! A strict, bounded CSV reader (RFC 4180, with the delimiter a file uses): every file codflow takes as CSV
//! goes through it, so one set of limits holds for orders, statements, rates, lists and rate cards.
//!
//! What a general CSV library does not do and this one must: a quote that is never closed is reported at
//! the line that opened it and reading goes on from the next line, instead of the rest of the file becoming
//! one field; no line, field or row of columns grows past a limit, so memory follows the limits and never
//! the file; and every refusal names its line (and column where one is known), in a message of bounded
//! size.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::io::BufRead;

/// What one record may hold. Documented in docs/SECURITY.md.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Fields in one record.
    pub columns: usize,
    /// Bytes in one field.
    pub field_bytes: usize,
    /// Bytes in one record, quoted line breaks included; also the longest physical line read.
    pub record_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self { columns: 1_000, field_bytes: 64 * 1024, record_bytes: 1024 * 1024 }
    }
}

/// One record with the line it starts on (1-based, as an editor shows it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub line: u64,
    pub fields: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct CsvError {
    pub line: u64,
    /// 1-based column of the field at fault, where one is known.
    pub column: Option<usize>,
    pub message: String,
    /// Reading cannot go on (the input itself failed).
    pub fatal: bool,
}

/// A physical line as read: its number and bytes, the line break left off.
struct Line {
    number: u64,
    bytes: Vec<u8>,
    too_long: bool,
}

pub struct Reader<R> {
    input: R,
    delimiter: u8,
    trim: bool,
    limits: Limits,
    /// Lines read but handed back after an unclosed quote, to be read again.
    again: VecDeque<Line>,
    next_line: u64,
    bytes_read: u64,
    at_start: bool,
    done: bool,
}

enum Parse<'t> {
    /// Fields that are a plain slice of the text borrow it; quoted ones (with their quotes undone) are owned.
    Done(Vec<Cow<'t, str>>),
    /// The quote opened at this column is still open at the end of the text.
    OpenQuote(usize),
    /// The quote opened at this column holds more than a field may.
    LongQuote(usize),
    Refused(usize, String),
}

impl<R: BufRead> Reader<R> {
    pub fn new(input: R, delimiter: u8) -> Self {
        Self {
            input,
            delimiter,
            trim: false,
            limits: Limits::default(),
            again: VecDeque::new(),
            next_line: 1,
            bytes_read: 0,
            at_start: true,
            done: false,
        }
    }

    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Spaces around every field are dropped.
    pub fn trim(mut self, trim: bool) -> Self {
        self.trim = trim;
        self
    }

    /// Bytes taken from the input so far (for progress).
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// The next physical line, at most `record_bytes` long (the rest of a longer one is read past).
    fn physical_line(&mut self) -> std::io::Result<Option<Line>> {
        if let Some(l) = self.again.pop_front() {
            return Ok(Some(l));
        }
        let cap = self.limits.record_bytes;
        let mut bytes = Vec::new();
        let mut too_long = false;
        let mut any = false;
        loop {
            let buf = match self.input.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if buf.is_empty() {
                break;
            }
            any = true;
            let (take, end) = match buf.iter().position(|b| *b == b'\n') {
                Some(i) => (i + 1, true),
                None => (buf.len(), false),
            };
            let room = cap.saturating_sub(bytes.len());
            if take > room {
                too_long = true;
            }
            if !too_long {
                bytes.extend_from_slice(&buf[..take]);
            }
            self.input.consume(take);
            self.bytes_read += take as u64;
            if end {
                break;
            }
        }
        if !any {
            return Ok(None);
        }
        if bytes.last() == Some(&b'\n') {
            bytes.pop();
            if bytes.last() == Some(&b'\r') {
                bytes.pop();
            }
        }
        if self.at_start {
            self.at_start = false;
            if bytes.starts_with(b"\xef\xbb\xbf") {
                bytes.drain(..3);
            }
        }
        let number = self.next_line;
        self.next_line += 1;
        Ok(Some(Line { number, bytes, too_long }))
    }

    /// The fields of `text` (one or more physical lines joined by '\n').
    fn parse<'t>(&self, text: &'t [u8]) -> Parse<'t> {
        parse(self.delimiter, self.trim, self.limits, text)
    }

    /// A line that lies whole in the input's buffer and closes every quote it opens is parsed where it lies,
    /// without being copied first (most lines of most files); anything else takes the general path.
    fn fast_line(&mut self) -> Fast<Record> {
        let (d, trim, limits, line) = (self.delimiter, self.trim, self.limits, self.next_line);
        let Ok(buf) = self.input.fill_buf() else { return Fast::Slow };
        let (result, used) = match fast(d, trim, limits, buf, line) {
            (Fast::Slow, _) => return Fast::Slow,
            (Fast::Skip, used) => (Fast::Skip, used),
            (Fast::Done(r), used) => (Fast::Done(r.map(|fields| Record { line, fields: owned(fields) })), used),
        };
        self.input.consume(used);
        self.bytes_read += used as u64;
        self.next_line += 1;
        result
    }
}

/// The first line of `rest` (number `line`) when it lies whole in `rest`, within the record limit, and closes
/// every quote it opens, parsed where it lies, with the bytes it takes, line break included; `Slow` otherwise
/// (nothing taken).
fn fast(d: u8, trim: bool, limits: Limits, rest: &[u8], line: u64) -> (Fast<Vec<Cow<'_, str>>>, usize) {
    let Some(nl) = rest.iter().position(|b| *b == b'\n') else { return (Fast::Slow, 0) };
    if nl >= limits.record_bytes {
        return (Fast::Slow, 0);
    }
    let text = &rest[..nl];
    let text = text.strip_suffix(b"\r").unwrap_or(text);
    if text.is_empty() {
        return (Fast::Skip, nl + 1);
    }
    let item = match parse(d, trim, limits, text) {
        Parse::Done(fields) => Ok(fields),
        Parse::Refused(column, message) => {
            Err(CsvError { line, column: Some(column), message: format!("column {column}: {message}"), fatal: false })
        }
        Parse::OpenQuote(_) | Parse::LongQuote(_) => return (Fast::Slow, 0),
    };
    (Fast::Done(item), nl + 1)
}

enum Fast<T> {
    Skip,
    Done(Result<T, CsvError>),
    Slow,
}

fn owned(fields: Vec<Cow<'_, str>>) -> Vec<String> {
    fields.into_iter().map(Cow::into_owned).collect()
}

fn parse(d: u8, trim: bool, limits: Limits, text: &[u8]) -> Parse<'_> {
    let mut fields: Vec<Cow<str>> = Vec::with_capacity(16);
    let mut i = 0;
    loop {
        let column = fields.len() + 1;
        if column > limits.columns {
            return Parse::Refused(column, format!("more than {} columns", limits.columns));
        }
        let start = i;
        let lead = text[i..].iter().take_while(|b| **b == b' ').count();
        let field = if text.get(i + lead) == Some(&b'"') {
            let mut field: Vec<u8> = Vec::new();
            i += lead + 1;
            loop {
                match text.get(i) {
                    None => return Parse::OpenQuote(column),
                    Some(b'"') if text.get(i + 1) == Some(&b'"') => {
                        field.push(b'"');
                        i += 2;
                    }
                    Some(b'"') => {
                        i += 1;
                        let trail = text[i..].iter().take_while(|b| **b == b' ').count();
                        i += trail;
                        match text.get(i) {
                            None => {}
                            Some(b) if *b == d => {}
                            Some(_) => {
                                return Parse::Refused(column, "text after the closing quote".into());
                            }
                        }
                        break;
                    }
                    Some(b) => {
                        field.push(*b);
                        i += 1;
                    }
                }
                if field.len() > limits.field_bytes {
                    return Parse::LongQuote(column);
                }
            }
            String::from_utf8(field).ok().map(Cow::Owned)
        } else {
            i += text[i..].iter().position(|b| *b == d).unwrap_or(text.len() - i);
            if i - start > limits.field_bytes {
                return Parse::Refused(column, format!("a field longer than {} bytes", limits.field_bytes));
            }
            std::str::from_utf8(&text[start..i]).ok().map(Cow::Borrowed)
        };
        let Some(mut s) = field else {
            return Parse::Refused(column, "not UTF-8 text".into());
        };
        // No file of ours has a use for NUL, and PostgreSQL cannot store it: refused on both engines.
        if s.as_bytes().contains(&0) {
            return Parse::Refused(column, "holds a NUL byte".into());
        }
        if trim {
            s = match s {
                Cow::Borrowed(b) => Cow::Borrowed(b.trim()),
                Cow::Owned(o) if o.trim().len() != o.len() => Cow::Owned(o.trim().to_owned()),
                owned => owned,
            };
        }
        fields.push(s);
        match text.get(i) {
            Some(b) if *b == d => i += 1,
            _ => return Parse::Done(fields),
        }
    }
}

impl<R: BufRead> Reader<R> {
    pub fn next_record(&mut self) -> Option<Result<Record, CsvError>> {
        if self.done {
            return None;
        }
        let fail = |line: u64, column: Option<usize>, message: String| CsvError { line, column, message, fatal: false };
        loop {
            if self.again.is_empty() && !self.at_start {
                match self.fast_line() {
                    Fast::Skip => continue,
                    Fast::Done(r) => return Some(r),
                    Fast::Slow => {}
                }
            }
            let first = match self.physical_line() {
                Ok(Some(l)) => l,
                Ok(None) => {
                    self.done = true;
                    return None;
                }
                Err(e) => {
                    self.done = true;
                    let line = self.next_line;
                    return Some(Err(CsvError { line, column: None, message: e.to_string(), fatal: true }));
                }
            };
            if first.too_long {
                let max = self.limits.record_bytes;
                return Some(Err(fail(first.number, None, format!("a line longer than {max} bytes"))));
            }
            if first.bytes.is_empty() {
                continue;
            }
            let line = first.number;
            let mut text = first.bytes;
            let mut taken: Vec<Line> = Vec::new();
            loop {
                match self.parse(&text) {
                    Parse::Done(fields) => return Some(Ok(Record { line, fields: owned(fields) })),
                    Parse::Refused(column, message) => {
                        return Some(Err(fail(line, Some(column), format!("column {column}: {message}"))));
                    }
                    Parse::LongQuote(column) => {
                        let max = self.limits.field_bytes;
                        let message =
                            format!("column {column}: the quote opened here is not closed within {max} bytes");
                        return Some(Err(self.read_again(taken, line, column, message)));
                    }
                    Parse::OpenQuote(column) => {
                        let next = match self.physical_line() {
                            Ok(n) => n,
                            Err(e) => {
                                self.done = true;
                                return Some(Err(CsvError { line, column: None, message: e.to_string(), fatal: true }));
                            }
                        };
                        let fits = next
                            .as_ref()
                            .is_some_and(|n| !n.too_long && text.len() + 1 + n.bytes.len() <= self.limits.record_bytes);
                        match next {
                            Some(n) if fits => {
                                text.push(b'\n');
                                text.extend_from_slice(&n.bytes);
                                taken.push(n);
                            }
                            other => {
                                taken.extend(other);
                                let message = format!("column {column}: the quote opened here is never closed");
                                return Some(Err(self.read_again(taken, line, column, message)));
                            }
                        }
                    }
                }
            }
        }
    }

    /// Hands back the lines after a record's first, to be read as records of their own, and says why.
    fn read_again(&mut self, taken: Vec<Line>, line: u64, column: usize, message: String) -> CsvError {
        for l in taken.into_iter().rev() {
            self.again.push_front(l);
        }
        CsvError { line, column: Some(column), message, fatal: false }
    }
}

impl<R: BufRead> Iterator for Reader<R> {
    type Item = Result<Record, CsvError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_record()
    }
}

/// The records of a CSV file held whole in memory, each field borrowed from it where it is a plain slice
/// (most fields of most files): a million-line statement is read without a string per cell. Records,
/// errors and line numbers are exactly [`Reader`]'s over the same bytes: a line the fast path cannot take
/// (the first, one with an open quote, one over the limits, the last without a line break) is read by a
/// [`Reader`] from there until it has nothing held back.
pub struct SliceRecords<'a> {
    body: &'a [u8],
    pos: usize,
    next_line: u64,
    delimiter: u8,
    trim: bool,
    limits: Limits,
    /// Reading the general way, from `body[at..]`.
    slow: Option<(usize, Reader<&'a [u8]>)>,
}

/// A record of [`SliceRecords`]: its line (1-based) and fields.
pub type Cells<'a> = (u64, Vec<Cow<'a, str>>);

impl<'a> SliceRecords<'a> {
    pub fn new(body: &'a [u8], delimiter: u8) -> Self {
        let slow = Some((0, Reader::new(body, delimiter)));
        SliceRecords { body, pos: 0, next_line: 1, delimiter, trim: false, limits: Limits::default(), slow }
    }

    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self.slow = self.slow.map(|(at, r)| (at, r.limits(limits)));
        self
    }

    pub fn trim(mut self, trim: bool) -> Self {
        self.trim = trim;
        self.slow = self.slow.map(|(at, r)| (at, r.trim(trim)));
        self
    }

    fn general(&mut self) -> Option<Result<Cells<'a>, CsvError>> {
        let (at, r) = self.slow.as_mut()?;
        let got = r.next_record();
        // Back to the fast path once the reader holds no line back and has passed its first.
        if r.again.is_empty() && !r.at_start {
            self.pos = *at + r.bytes_read as usize;
            self.next_line = r.next_line;
            self.slow = None;
        }
        match got {
            Some(r) => Some(r.map(|r| (r.line, r.fields.into_iter().map(Cow::Owned).collect()))),
            None => {
                self.pos = self.body.len();
                self.slow = None;
                None
            }
        }
    }
}

impl<'a> Iterator for SliceRecords<'a> {
    type Item = Result<Cells<'a>, CsvError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.slow.is_some() {
                return self.general();
            }
            let rest = &self.body[self.pos..];
            if rest.is_empty() {
                return None;
            }
            let line = self.next_line;
            let (item, used) = match fast(self.delimiter, self.trim, self.limits, rest, line) {
                (Fast::Slow, _) => {
                    let mut r = Reader::new(rest, self.delimiter).trim(self.trim).limits(self.limits);
                    (r.next_line, r.at_start) = (line, false);
                    self.slow = Some((self.pos, r));
                    continue;
                }
                (Fast::Skip, used) => (None, used),
                (Fast::Done(r), used) => (Some(r.map(|fields| (line, fields))), used),
            };
            self.pos += used;
            self.next_line += 1;
            if let Some(item) = item {
                return Some(item);
            }
        }
    }
}

/// A cell of a CSV export as a spreadsheet may open it: text that a spreadsheet would run as a formula
/// (starting with `=`, `+`, `-`, `@`, a tab or a carriage return) gets a leading `'`, which spreadsheets
/// show as text. A plain signed number (`-12.50`, `+966501234567`) is left alone: it is no formula.
pub fn neutralised(cell: &str) -> std::borrow::Cow<'_, str> {
    let Some(first) = cell.chars().next() else { return cell.into() };
    if !matches!(first, '=' | '+' | '-' | '@' | '\t' | '\r') {
        return cell.into();
    }
    let rest = &cell[first.len_utf8()..];
    let number = matches!(first, '+' | '-')
        && !rest.is_empty()
        && rest.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && rest.bytes().filter(|b| *b == b'.').count() <= 1;
    if number { cell.into() } else { format!("'{cell}").into() }
}

/// Undoes [`neutralised`] for a file of ours read back: a leading `'` before a formula character.
pub fn unneutralised(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@', '\t', '\r']) => rest,
        _ => cell,
    }
}

/// Text for a message that names what a file held: at most `max` characters, marked when cut.
pub fn excerpt(s: &str, max: usize) -> String {
    let mut out: String = s.chars().take(max).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

/// A list of names for a message, at most `max` of them, then how many more.
pub fn name_list<'a>(names: impl IntoIterator<Item = &'a str>, max: usize) -> String {
    let mut shown = Vec::new();
    let mut more = 0usize;
    for n in names {
        if shown.len() < max {
            shown.push(excerpt(n, 40));
        } else {
            more += 1;
        }
    }
    let mut out = shown.join(", ");
    if more > 0 {
        out += &format!(" and {more} more");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(s: &str) -> Vec<Result<Record, CsvError>> {
        Reader::new(s.as_bytes(), b',').collect()
    }

    fn rec(line: u64, fields: &[&str]) -> Result<Record, CsvError> {
        Ok(Record { line, fields: fields.iter().map(|f| f.to_string()).collect() })
    }

    #[test]
    fn quoted_fields_may_hold_delimiters_quotes_and_line_breaks() {
        let got = read("\u{feff}a,b\r\n\"x, y\",\"say \"\"hi\"\"\"\n\"two\nlines\",z\n\n3,\n");
        assert_eq!(
            got,
            vec![
                rec(1, &["a", "b"]),
                rec(2, &["x, y", "say \"hi\""]),
                rec(3, &["two\nlines", "z"]),
                rec(6, &["3", ""])
            ]
        );
    }

    #[test]
    fn plain_fields_after_the_first_line_are_borrowed_from_the_file_and_quoted_ones_unquoted() {
        let body = b"\xef\xbb\xbfh1,h2\nSBX1, 25.00\n\"a \"\"q\"\"\",b\n";
        let got: Vec<Cells> = SliceRecords::new(body, b',').trim(true).map(|r| r.unwrap()).collect();
        assert_eq!(got.iter().map(|(l, _)| *l).collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(got[0].1, ["h1", "h2"]);
        assert!(got[1].1.iter().all(|c| matches!(c, Cow::Borrowed(_))), "{:?}", got[1].1);
        assert_eq!(got[1].1, ["SBX1", "25.00"]);
        assert_eq!(got[2].1, ["a \"q\"", "b"]);
    }

    #[test]
    fn an_unclosed_quote_is_reported_at_its_line_and_the_rows_after_it_still_read() {
        let got = read("h1,h2\n1,\"broken\n2,ok\n3,ok\n");
        assert_eq!(got[0], rec(1, &["h1", "h2"]));
        let e = got[1].clone().unwrap_err();
        assert_eq!((e.line, e.column), (2, Some(2)));
        assert!(e.message.contains("never closed"), "{}", e.message);
        assert_eq!(got[2..], [rec(3, &["2", "ok"]), rec(4, &["3", "ok"])]);
    }

    #[test]
    fn a_runaway_quote_stops_at_the_field_limit_not_at_the_end_of_the_file() {
        let mut body = String::from("1,\"open\n");
        for i in 0..2_000 {
            body += &format!("{i},row\n");
        }
        let limits = Limits { field_bytes: 100, ..Limits::default() };
        let got: Vec<_> = Reader::new(body.as_bytes(), b',').limits(limits).collect();
        assert_eq!(got.len(), 2_001);
        assert_eq!(got[0].clone().unwrap_err().line, 1);
        assert_eq!(got[1], rec(2, &["0", "row"]));
        assert_eq!(got[2000], rec(2001, &["1999", "row"]));
    }

    #[test]
    fn columns_fields_and_lines_past_the_limits_are_refused_with_their_line() {
        let limits = Limits { columns: 3, field_bytes: 5, record_bytes: 20 };
        let body = "a,b,c\na,b,c,d\n123456,x\nok,1\n".to_owned() + &"y".repeat(50) + "\nlast,1\n";
        let got: Vec<_> = Reader::new(body.as_bytes(), b',').limits(limits).collect();
        assert_eq!(got[0], rec(1, &["a", "b", "c"]));
        let e = got[1].clone().unwrap_err();
        assert_eq!((e.line, e.column), (2, Some(4)));
        let e = got[2].clone().unwrap_err();
        assert_eq!((e.line, e.column), (3, Some(1)));
        assert_eq!(got[3], rec(4, &["ok", "1"]));
        let e = got[4].clone().unwrap_err();
        assert_eq!(e.line, 5);
        assert!(e.message.contains("longer than 20 bytes"));
        assert_eq!(got[5], rec(6, &["last", "1"]));
    }

    #[test]
    fn text_after_a_closing_quote_and_bytes_that_are_not_utf8_are_refused() {
        let got: Vec<_> = Reader::new(&b"\"a\"b,c\nx,\xff\n"[..], b',').collect();
        assert!(got[0].clone().unwrap_err().message.contains("after the closing quote"));
        let long: Vec<_> = Reader::new(&b"\"aaaaaaaaaa\",b\nc,d\n"[..], b',')
            .limits(Limits { field_bytes: 4, ..Limits::default() })
            .collect();
        assert!(long[0].clone().unwrap_err().message.contains("not closed within 4 bytes"));
        assert_eq!(long[1], rec(2, &["c", "d"]));
        let e = got[1].clone().unwrap_err();
        assert_eq!((e.line, e.column), (2, Some(2)));
    }

    #[test]
    fn trimming_drops_spaces_around_fields_and_other_delimiters_work() {
        let got: Vec<_> = Reader::new(&b" a ; \"b \" \n"[..], b';').trim(true).collect();
        assert_eq!(got, vec![rec(1, &["a", "b"])]);
    }

    #[test]
    fn cells_a_spreadsheet_would_run_are_exported_as_text_and_read_back_as_they_were() {
        for (cell, out) in [
            ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
            ("+", "'+"),
            ("\tx", "'\tx"),
            ("-12.50", "-12.50"),
            ("+966501234567", "+966501234567"),
            ("Riyadh", "Riyadh"),
            ("", ""),
        ] {
            assert_eq!(neutralised(cell), out, "{cell}");
            assert_eq!(unneutralised(&neutralised(cell)), cell);
        }
    }

    #[test]
    fn long_names_are_cut_and_counted_in_messages() {
        let names: Vec<String> = (0..100_000).map(|i| format!("col{i}")).collect();
        let m = name_list(names.iter().map(String::as_str), 10);
        assert!(m.len() < 200, "{m}");
        assert!(m.ends_with("and 99990 more"));
        assert_eq!(excerpt("abcdef", 3), "abc…");
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_are_read_without_panic_and_within_the_limits(body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2_000)) {
            let limits = Limits { columns: 8, field_bytes: 64, record_bytes: 256 };
            let mut n = 0;
            for r in Reader::new(&body[..], b',').limits(limits) {
                n += 1;
                proptest::prop_assert!(n <= body.len() + 1, "every item consumes input");
                if let Ok(r) = r {
                    proptest::prop_assert!(r.fields.len() <= 8);
                    proptest::prop_assert!(r.fields.iter().all(|f| f.len() <= 64));
                }
            }
        }

        #[test]
        fn records_borrowed_from_the_file_are_the_readers_records(
            body in proptest::collection::vec(proptest::sample::select(b"ab,;\"\r\n \xef\xbb\xbf\x00\xff".to_vec()), 0..400),
            trim in proptest::prelude::any::<bool>(),
        ) {
            let limits = Limits { columns: 6, field_bytes: 12, record_bytes: 40 };
            let want: Vec<Result<(u64, Vec<String>), CsvError>> =
                Reader::new(&body[..], b',').trim(trim).limits(limits).map(|r| r.map(|r| (r.line, r.fields))).collect();
            let got: Vec<Result<(u64, Vec<String>), CsvError>> = SliceRecords::new(&body, b',')
                .trim(trim)
                .limits(limits)
                .map(|r| r.map(|(line, f)| (line, f.into_iter().map(Cow::into_owned).collect())))
                .collect();
            proptest::prop_assert_eq!(got, want);
        }

        #[test]
        fn written_rows_read_back_as_they_were(rows in proptest::collection::vec(proptest::collection::vec("[a-z,\" \\n]{1,12}", 1..5), 1..10)) {
            let mut w = ::csv::WriterBuilder::new().flexible(true).from_writer(Vec::new());
            for r in &rows {
                w.write_record(r).unwrap();
            }
            let body = w.into_inner().unwrap();
            let back: Vec<Vec<String>> = Reader::new(&body[..], b',').filter_map(|r| r.ok()).map(|r| r.fields).collect();
            proptest::prop_assert_eq!(back, rows);
        }
    }
}
