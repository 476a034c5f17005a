//! Database URLs carry passwords (`postgres://user:PASSWORD@host/db`, or a
//! `password=` query parameter): [`DatabaseUrl`] holds one so that it cannot
//! be printed by accident. Its `Debug` and `Display` show the URL with every
//! password replaced by `***`; only [`DatabaseUrl::expose`] gives the real
//! text, to connect with.

use std::fmt;

const MASK: &str = "***";

/// A database URL whose password never shows in `{}` or `{:?}`.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    pub fn new(url: impl Into<String>) -> DatabaseUrl {
        DatabaseUrl(url.into())
    }

    /// The URL with its password, for connecting. Never print it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The URL with every password replaced by `***`.
    pub fn redacted(&self) -> String {
        redact_url(&self.0)
    }

    /// `text` (an error message, say) with this URL's passwords, as written
    /// and percent-decoded, replaced by `***`: drivers may quote the URL.
    pub fn scrub(&self, text: &str) -> String {
        scrub(&self.0, text)
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DatabaseUrl")
            .field(&self.redacted())
            .finish()
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl std::str::FromStr for DatabaseUrl {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<DatabaseUrl, Self::Err> {
        Ok(DatabaseUrl::new(s))
    }
}

/// Where the parts of a URL that may hold a password are.
struct Parts<'a> {
    /// `scheme://`, or empty.
    scheme: &'a str,
    /// Between `scheme://` and the last `@` before the query: `user[:password]`.
    userinfo: Option<&'a str>,
    /// The rest up to the query (host, port, path).
    rest: &'a str,
    /// After `?`, without it.
    query: Option<&'a str>,
}

fn split(url: &str) -> Parts<'_> {
    let (before_query, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let (scheme, after_scheme) = match before_query.find("://") {
        Some(at) => before_query.split_at(at + 3),
        None => ("", before_query),
    };
    // The last `@`: a password with an unescaped `@` or `/` is still all
    // taken as userinfo, so it is masked rather than half shown.
    let (userinfo, rest) = match after_scheme.rfind('@') {
        Some(at) if !scheme.is_empty() => (Some(&after_scheme[..at]), &after_scheme[at..]),
        _ => (None, after_scheme),
    };
    Parts {
        scheme,
        userinfo,
        rest,
        query,
    }
}

/// Query parameters whose value is a secret.
fn is_secret_param(name: &str) -> bool {
    name.to_ascii_lowercase().contains("password")
}

/// `url` with the password of its userinfo and the value of every
/// `…password…=` query parameter replaced by `***`. Anything that is not a
/// URL comes back unchanged.
pub fn redact_url(url: &str) -> String {
    let parts = split(url);
    let mut out = String::with_capacity(url.len());
    out.push_str(parts.scheme);
    if let Some(userinfo) = parts.userinfo {
        match userinfo.split_once(':') {
            Some((user, _)) => {
                out.push_str(user);
                out.push(':');
                out.push_str(MASK);
            }
            None => out.push_str(userinfo),
        }
    }
    out.push_str(parts.rest);
    if let Some(query) = parts.query {
        out.push('?');
        for (i, pair) in query.split('&').enumerate() {
            if i > 0 {
                out.push('&');
            }
            match pair.split_once('=') {
                Some((name, _)) if is_secret_param(name) => {
                    out.push_str(name);
                    out.push('=');
                    out.push_str(MASK);
                }
                _ => out.push_str(pair),
            }
        }
    }
    out
}

/// The passwords `url` holds, as written.
fn passwords(url: &str) -> Vec<&str> {
    let parts = split(url);
    let mut found = Vec::new();
    if let Some((_, password)) = parts.userinfo.and_then(|u| u.split_once(':')) {
        found.push(password);
    }
    for pair in parts.query.unwrap_or("").split('&') {
        if let Some((name, value)) = pair.split_once('=') {
            if is_secret_param(name) {
                found.push(value);
            }
        }
    }
    found.retain(|p| !p.is_empty());
    found
}

fn scrub(url: &str, text: &str) -> String {
    let mut out = text.to_owned();
    for password in passwords(url) {
        for form in [password.to_owned(), percent_decode(password)] {
            if !form.is_empty() {
                out = out.replace(&form, MASK);
            }
        }
    }
    out
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                let value = hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0);
                out.push(u8::try_from(value).unwrap_or(b'?'));
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_masked_in_userinfo_and_query() {
        let cases = [
            (
                "postgres://dialtone:s3cr3t@db.example.com:5432/dialtone",
                "postgres://dialtone:***@db.example.com:5432/dialtone",
            ),
            (
                "postgresql://u:p%40ss@h/db?sslmode=require",
                "postgresql://u:***@h/db?sslmode=require",
            ),
            // An unescaped `@` or `/` in the password is masked whole.
            ("postgres://u:pa@s/s@h/db", "postgres://u:***@h/db"),
            (
                "postgres://u@h/db?password=s3cr3t&application_name=x",
                "postgres://u@h/db?password=***&application_name=x",
            ),
            (
                "postgres://u:a@h/db?sslpassword=b",
                "postgres://u:***@h/db?sslpassword=***",
            ),
            ("postgres://u@h/db", "postgres://u@h/db"),
            ("postgres://h/db", "postgres://h/db"),
            (
                "sqlite:///var/lib/dialtone/dialtone.db?mode=rwc",
                "sqlite:///var/lib/dialtone/dialtone.db?mode=rwc",
            ),
            ("sqlite::memory:", "sqlite::memory:"),
            ("not a url", "not a url"),
        ];
        for (url, want) in cases {
            assert_eq!(redact_url(url), want, "{url}");
        }
    }

    #[test]
    fn debug_and_display_never_show_the_password() {
        let url = DatabaseUrl::new("postgres://dialtone:Zq8-rT4v@db:5432/d?password=Kp2xW9");
        for shown in [format!("{url:?}"), format!("{url}"), format!("{url:#?}")] {
            assert!(!shown.contains("Zq8-rT4v"), "{shown}");
            assert!(!shown.contains("Kp2xW9"), "{shown}");
            assert!(
                shown.contains("postgres://dialtone:***@db:5432/d"),
                "{shown}"
            );
        }
        assert_eq!(
            url.expose(),
            "postgres://dialtone:Zq8-rT4v@db:5432/d?password=Kp2xW9"
        );
        let wrapped = Some(vec![url.clone()]);
        assert!(!format!("{wrapped:?}").contains("Zq8-rT4v"));
    }

    #[test]
    fn scrub_removes_the_password_as_written_and_decoded() {
        let url = DatabaseUrl::new("postgres://u:p%40ss%2Fw0rd@h/db");
        let text = "failed for p%40ss%2Fw0rd, also known as p@ss/w0rd";
        assert_eq!(url.scrub(text), "failed for ***, also known as ***");
        let plain = DatabaseUrl::new("postgres://h/db");
        assert_eq!(plain.scrub(text), text);
    }
}
