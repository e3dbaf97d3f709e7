//! A small, bounded XML reader for SOAP carriers: the document as a tree of elements by local name (prefixes
//! dropped), their text unescaped. Depth, element count and text size are capped, so a hostile reply is refused
//! rather than read without end.

use quick_xml::Reader;
use quick_xml::events::Event;

use super::CarrierError;

const MAX_DEPTH: usize = 64;
const MAX_ELEMENTS: usize = 20_000;
const MAX_TEXT: usize = 4 << 20;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Element {
    pub name: String,
    pub text: String,
    pub children: Vec<Element>,
}

impl Element {
    /// The first child named `name`.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The text of the first child named `name`, trimmed; None when absent or empty.
    pub fn text_of(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.trim()).filter(|t| !t.is_empty())
    }

    /// The first element named `name` anywhere below, depth first.
    pub fn find(&self, name: &str) -> Option<&Element> {
        self.children.iter().find_map(|c| if c.name == name { Some(c) } else { c.find(name) })
    }
}

fn local(name: &str) -> String {
    name.rsplit(':').next().unwrap_or(name).to_owned()
}

fn malformed(what: impl std::fmt::Display) -> CarrierError {
    CarrierError::Malformed(format!("the reply is not XML: {what}"))
}

/// The document's root element.
pub fn parse(body: &[u8]) -> Result<Element, CarrierError> {
    let mut reader = Reader::from_reader(body);
    let mut stack: Vec<Element> = vec![Element::default()];
    let (mut elements, mut text) = (0usize, 0usize);
    loop {
        let event = reader.read_event().map_err(malformed)?;
        let mut push_text = |stack: &mut Vec<Element>, s: &str| -> Result<(), CarrierError> {
            text += s.len();
            if text > MAX_TEXT {
                return Err(malformed("its text is too long"));
            }
            if let Some(top) = stack.last_mut() {
                top.text.push_str(s);
            }
            Ok(())
        };
        match event {
            Event::Start(e) => {
                elements += 1;
                if stack.len() > MAX_DEPTH || elements > MAX_ELEMENTS {
                    return Err(malformed("it is nested too deep or has too many elements"));
                }
                stack.push(Element { name: local(e.name().as_ref()), ..Element::default() });
            }
            Event::Empty(e) => {
                elements += 1;
                if elements > MAX_ELEMENTS {
                    return Err(malformed("it has too many elements"));
                }
                let el = Element { name: local(e.name().as_ref()), ..Element::default() };
                stack.last_mut().ok_or_else(|| malformed("an element outside the document"))?.children.push(el);
            }
            Event::End(_) => {
                if stack.len() < 2 {
                    return Err(malformed("an end tag without its start"));
                }
                let el = stack.pop().ok_or_else(|| malformed("an end tag without its start"))?;
                stack.last_mut().ok_or_else(|| malformed("an end tag without its start"))?.children.push(el);
            }
            Event::Text(t) => push_text(&mut stack, &t.into_inner())?,
            Event::CData(c) => push_text(&mut stack, &c.into_inner())?,
            Event::GeneralRef(r) => {
                let c = match r.resolve_char_ref().map_err(malformed)? {
                    Some(c) => c,
                    None => match &*r.into_inner() {
                        "amp" => '&',
                        "lt" => '<',
                        "gt" => '>',
                        "quot" => '"',
                        "apos" => '\'',
                        other => return Err(malformed(format!("an unknown entity &{other};"))),
                    },
                };
                push_text(&mut stack, c.encode_utf8(&mut [0; 4]))?
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if stack.len() != 1 {
        return Err(malformed("it ends inside an element"));
    }
    let doc = stack.pop().unwrap_or_default();
    doc.children.into_iter().next().ok_or_else(|| malformed("it is empty"))
}

/// Text for an XML element's content or attribute.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters other than tab and line breaks are not allowed in XML 1.0.
            c if c.is_control() && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_soap_envelope_reads_by_local_names_with_its_text_unescaped() {
        let doc = parse(
            br#"<?xml version="1.0"?><soap:Envelope xmlns:soap="x"><soap:Body><R xmlns="t"><A>1 &amp; 2 &#x41;</A><B/><A>2</A></R></soap:Body></soap:Envelope>"#,
        )
        .unwrap();
        assert_eq!(doc.name, "Envelope");
        let r = doc.find("R").unwrap();
        assert_eq!(r.text_of("A"), Some("1 & 2 A"));
        assert_eq!(r.children_named("A").count(), 2);
        assert!(r.child("B").is_some() && r.text_of("B").is_none());
    }

    #[test]
    fn broken_or_hostile_documents_are_refused() {
        assert!(parse(b"<a><b></a>").is_err());
        assert!(parse(b"<a>").is_err());
        assert!(parse(b"").is_err());
        assert!(parse(b"<a>&bogus;</a>").is_err());
        let deep = "<a>".repeat(100) + &"</a>".repeat(100);
        assert!(parse(deep.as_bytes()).is_err());
        assert_eq!(escape("<a&\"b'\u{1}>"), "&lt;a&amp;&quot;b&apos;&gt;");
    }
}
