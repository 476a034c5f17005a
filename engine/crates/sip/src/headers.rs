//! Header storage: ordered (name, value) pairs with case-insensitive lookup.

/// Full names for the compact forms of RFC 3261 §7.3.3 and later RFCs.
pub fn expand_compact(name: &str) -> Option<&'static str> {
    let [letter] = name.as_bytes() else {
        return None;
    };
    Some(match letter.to_ascii_lowercase() {
        b'v' => "Via",
        b'f' => "From",
        b't' => "To",
        b'i' => "Call-ID",
        b'm' => "Contact",
        b'l' => "Content-Length",
        b'c' => "Content-Type",
        b'k' => "Supported",
        b's' => "Subject",
        b'e' => "Content-Encoding",
        b'o' => "Event",
        b'r' => "Refer-To",
        b'b' => "Referred-By",
        b'u' => "Allow-Events",
        b'x' => "Session-Expires",
        _ => return None,
    })
}

/// RFC 3261 `token` characters (header names, methods, parameter names).
pub fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b)
}

pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_token_byte)
}

/// Headers in received order. Compact names are stored expanded, other names as
/// they were written; lookups ignore case.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Headers {
    entries: Vec<(String, String)>,
}

impl Headers {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_capacity(n: usize) -> Self {
        Headers {
            entries: Vec::with_capacity(n),
        }
    }

    pub fn push(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.entries.push((name.into(), value.into()));
    }

    /// First value of `name` (full name; compact forms are expanded at parse time).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.get_all(name).next()
    }

    /// Every header line named `name`, in order.
    pub fn get_all<'a, 'n>(&'a self, name: &'n str) -> impl Iterator<Item = &'a str> + use<'a, 'n> {
        self.entries
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every element of a comma-separated header (Via, Route, Record-Route, Contact),
    /// across all lines named `name`.
    pub fn values<'a, 'n>(&'a self, name: &'n str) -> impl Iterator<Item = &'a str> + use<'a, 'n> {
        self.get_all(name).flat_map(split_list)
    }

    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    pub fn remove(&mut self, name: &str) {
        self.entries.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }

    /// Sets `name` to one value: replaces the first occurrence in place (keeping its
    /// position, which matters for Via) and drops the rest; appends if absent.
    pub fn replace(&mut self, name: &str, value: impl Into<String>) {
        let mut value = Some(value.into());
        self.entries.retain_mut(|(n, v)| {
            if !n.eq_ignore_ascii_case(name) {
                return true;
            }
            match value.take() {
                Some(new) => {
                    *v = new;
                    true
                }
                None => false,
            }
        });
        if let Some(new) = value {
            self.entries.push((name.to_string(), new));
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn to_vec(&self) -> Vec<(String, String)> {
        self.entries.clone()
    }
}

/// Splits a header value at commas that are outside quoted strings and `<...>`.
pub fn split_list(value: &str) -> ListSplit<'_> {
    ListSplit { rest: value }
}

pub struct ListSplit<'a> {
    rest: &'a str,
}

impl<'a> Iterator for ListSplit<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        loop {
            if self.rest.is_empty() {
                return None;
            }
            let mut in_quote = false;
            let mut escaped = false;
            let mut in_angle = false;
            let mut cut = self.rest.len();
            for (i, b) in self.rest.bytes().enumerate() {
                if escaped {
                    escaped = false;
                    continue;
                }
                match b {
                    b'\\' if in_quote => escaped = true,
                    b'"' => in_quote = !in_quote,
                    b'<' if !in_quote => in_angle = true,
                    b'>' if !in_quote => in_angle = false,
                    b',' if !in_quote && !in_angle => {
                        cut = i;
                        break;
                    }
                    _ => {}
                }
            }
            let (piece, rest) = self.rest.split_at(cut);
            self.rest = rest.strip_prefix(',').unwrap_or(rest);
            let piece = piece.trim_matches([' ', '\t']);
            if !piece.is_empty() {
                return Some(piece);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_names_expand() {
        assert_eq!(expand_compact("v"), Some("Via"));
        assert_eq!(expand_compact("I"), Some("Call-ID"));
        assert_eq!(expand_compact("q"), None);
        assert_eq!(expand_compact("via"), None);
    }

    #[test]
    fn list_split_respects_quotes_and_brackets() {
        let parts: Vec<_> =
            split_list(r#""a, \"b" <sip:x@h;p=1,2>;tag=3 , <sip:y>,,sip:z"#).collect();
        assert_eq!(
            parts,
            vec![r#""a, \"b" <sip:x@h;p=1,2>;tag=3"#, "<sip:y>", "sip:z"]
        );
    }

    #[test]
    fn replace_keeps_position() {
        let mut h = Headers::new();
        h.push("Via", "a");
        h.push("To", "b");
        h.push("via", "c");
        h.replace("VIA", "d");
        assert_eq!(
            h.to_vec(),
            vec![("Via".into(), "d".into()), ("To".into(), "b".into())]
        );
        h.replace("X-New", "e");
        assert_eq!(h.get("x-new"), Some("e"));
    }
}
