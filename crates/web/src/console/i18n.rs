//! The console's languages: message catalogues in Fluent's plain form (`key = text with { $name }`), one file
//! per language under `crates/web/locales`, read once at start. A key missing from a language falls back to
//! English, then to the key itself; the tests keep the catalogues complete so neither happens in practice.

use std::collections::HashMap;
use std::sync::OnceLock;

/// A language the console is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Lang {
    En,
    Zh,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Zh];

    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh",
        }
    }

    /// The HTML `lang` attribute.
    pub fn html_tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh-Hans",
        }
    }

    pub fn parse(tag: &str) -> Option<Lang> {
        let primary = tag.trim().split(['-', '_']).next().unwrap_or("").to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Lang::En),
            "zh" => Some(Lang::Zh),
            _ => None,
        }
    }

    /// The best language for an `Accept-Language` header: the supported one with the highest weight,
    /// English when none is supported.
    pub fn negotiate(accept: &str) -> Lang {
        let mut best: Option<(u16, Lang)> = None;
        for part in accept.split(',').take(32) {
            let mut bits = part.split(';');
            let Some(lang) = bits.next().and_then(Lang::parse) else { continue };
            let q = bits
                .find_map(|b| b.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .map_or(1000, |q| (q.clamp(0.0, 1.0) * 1000.0) as u16);
            if q > 0 && best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, lang));
            }
        }
        best.map_or(Lang::En, |(_, l)| l)
    }

    fn source(self) -> &'static str {
        match self {
            Lang::En => include_str!("../../locales/en.ftl"),
            Lang::Zh => include_str!("../../locales/zh.ftl"),
        }
    }

    fn catalogue(self) -> &'static Catalogue {
        static EN: OnceLock<Catalogue> = OnceLock::new();
        static ZH: OnceLock<Catalogue> = OnceLock::new();
        let cell = match self {
            Lang::En => &EN,
            Lang::Zh => &ZH,
        };
        cell.get_or_init(|| {
            Catalogue::parse(self.source()).unwrap_or_else(|e| panic!("locales/{}.ftl: {e}", self.tag()))
        })
    }

    /// The message under `key` with its `{ $name }` placeables filled from `args`.
    pub fn text(self, key: &str, args: &[(&str, &str)]) -> String {
        let raw = self.catalogue().get(key).or_else(|| Lang::En.catalogue().get(key)).unwrap_or(key);
        fill(raw, args)
    }

    /// The message under `key`, when the catalogue has one.
    pub fn lookup(self, key: &str) -> Option<&'static str> {
        self.catalogue().get(key).or_else(|| Lang::En.catalogue().get(key))
    }
}

/// One language's messages.
#[derive(Debug, Default)]
pub struct Catalogue(HashMap<String, String>);

impl Catalogue {
    /// Reads `key = text` lines; `#` starts a comment line. A line that is neither, a key that is not a
    /// Fluent identifier, or a key given twice is an error naming its line.
    pub fn parse(src: &str) -> Result<Catalogue, String> {
        let mut map = HashMap::new();
        for (n, line) in src.lines().enumerate() {
            let line = line.trim_end();
            if line.trim().is_empty() || line.trim_start().starts_with('#') {
                continue;
            }
            let (k, v) = line.split_once(" = ").ok_or_else(|| format!("line {}: not `key = text`", n + 1))?;
            let k = k.trim();
            let ident = k.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !ident {
                return Err(format!("line {}: {k:?} is not a message identifier", n + 1));
            }
            if map.insert(k.to_owned(), v.trim().to_owned()).is_some() {
                return Err(format!("line {}: {k} is given twice", n + 1));
            }
        }
        Ok(Catalogue(map))
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    #[cfg(test)]
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    /// The placeable names a message uses, sorted.
    #[cfg(test)]
    pub fn placeables(&self, key: &str) -> Vec<String> {
        let mut names = Vec::new();
        let mut rest = self.get(key).unwrap_or("");
        while let Some(at) = rest.find("{ $") {
            let after = &rest[at + 3..];
            let end = after.find('}').unwrap_or(after.len());
            names.push(after[..end].trim().to_owned());
            rest = &after[end..];
        }
        names.sort();
        names
    }
}

fn fill(raw: &str, args: &[(&str, &str)]) -> String {
    if !raw.contains("{ $") {
        return raw.to_owned();
    }
    let mut out = String::with_capacity(raw.len() + 16);
    let mut rest = raw;
    while let Some(at) = rest.find("{ $") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 3..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[at..]);
            return out;
        };
        let name = after[..end].trim();
        out.push_str(args.iter().find(|(k, _)| *k == name).map_or("", |(_, v)| v));
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Words that read the same in every language: names of things and formats.
    const SAME_EVERYWHERE: &[&str] = &["codflow", "CSV", "XLSX", "CEL", "COD", "API", "ZPL", "PDF", "SKU", "ID"];

    #[test]
    fn every_language_has_every_english_message_with_the_same_placeables_and_nothing_else() {
        let en = Lang::En.catalogue();
        for lang in Lang::ALL {
            let c = lang.catalogue();
            let mut missing: Vec<&str> = en.keys().filter(|k| c.get(k).is_none()).collect();
            missing.sort();
            assert!(missing.is_empty(), "{} lacks {missing:?}", lang.tag());
            let mut extra: Vec<&str> = c.keys().filter(|k| en.get(k).is_none()).collect();
            extra.sort();
            assert!(extra.is_empty(), "{} has messages English does not: {extra:?}", lang.tag());
            for k in en.keys() {
                assert_eq!(c.placeables(k), en.placeables(k), "{}: {k}", lang.tag());
            }
        }
    }

    #[test]
    fn no_chinese_message_is_left_in_english() {
        let (en, zh) = (Lang::En.catalogue(), Lang::Zh.catalogue());
        let mut untranslated: Vec<&str> = zh
            .keys()
            .filter(|k| {
                let v = zh.get(k).unwrap_or("");
                let han = v.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
                let a_name = v == en.get(k).unwrap_or("") && SAME_EVERYWHERE.iter().any(|w| v.contains(w));
                let words = v.chars().any(|c| c.is_ascii_alphabetic());
                words && !han && !a_name
            })
            .collect();
        untranslated.sort();
        assert!(untranslated.is_empty(), "zh.ftl still in English: {untranslated:?}");
    }

    #[test]
    fn placeables_are_filled_and_a_missing_key_shows_itself() {
        let c = Catalogue::parse("hello = Hello { $name }, { $n } new\n# note\n").unwrap();
        assert_eq!(fill(c.get("hello").unwrap(), &[("name", "Amina"), ("n", "3")]), "Hello Amina, 3 new");
        assert_eq!(Lang::En.text("no-such-message-key", &[]), "no-such-message-key");
        assert!(Catalogue::parse("a = 1\na = 2").unwrap_err().contains("line 2"));
        assert!(Catalogue::parse("9x = 1").unwrap_err().contains("line 1"));
        assert!(Catalogue::parse("just words").unwrap_err().contains("line 1"));
    }

    #[test]
    fn the_browser_language_is_chosen_by_weight_and_english_is_the_fallback() {
        assert_eq!(Lang::negotiate("zh-CN,zh;q=0.9,en;q=0.8"), Lang::Zh);
        assert_eq!(Lang::negotiate("en-US,en;q=0.9,zh;q=0.8"), Lang::En);
        assert_eq!(Lang::negotiate("fr-FR, zh-Hans;q=0.5"), Lang::Zh);
        assert_eq!(Lang::negotiate("de, fr"), Lang::En);
        assert_eq!(Lang::negotiate("zh;q=0, en;q=0.1"), Lang::En);
        assert_eq!(Lang::negotiate(""), Lang::En);
    }
}
