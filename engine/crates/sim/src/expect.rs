//! What a scenario did (observed actions) and what the spec expects, and the
//! in-order matching between them.

use std::fmt;

use regex::Regex;
use serde_json::Value;

/// One thing the scenario did, as the simulated world saw it.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Answered,
    /// 180 Ringing sent to the caller.
    Ring,
    EarlyMedia,
    Rejected(u16),
    /// The scenario hung up this call (`caller` or the callee's URI).
    Hangup(String),
    CallSip(String),
    CallUser(String),
    CallPstn(String),
    Play(String),
    Say(String),
    ToneScript(String),
    ProgressTone(String),
    StopPlayback,
    Digits(String),
    /// A recording of this call, or of a standalone recorder (`recorder`).
    Record(String),
    /// Audio of `from` sent to `to`.
    Media {
        from: String,
        to: String,
    },
    Log(String),
    /// `call.hold()` (true) or `call.unhold()` (false) on this call.
    Hold {
        call: String,
        hold: bool,
    },
    /// `call.reInvite(...)` on this call.
    ReInvite(String),
    /// `call.sendInfo(mimeType, body)`.
    Info {
        mime_type: String,
        body: String,
    },
    /// `call.sendMessage(text)`.
    Message(String),
    /// `call.transferTo(uri)`.
    Transfer(String),
    /// `notifyBlindTransferSuccess` (200) / `notifyBlindTransferFailed(code)`.
    TransferNotified(u16),
    /// A `Net` request: method, URL and body (as text, empty when none).
    Http {
        method: String,
        url: String,
        body: String,
    },
    /// The session answered a request to its `accessURL`.
    Response {
        status: u16,
        /// `None` for an empty body.
        content_type: Option<String>,
        body: String,
    },
    /// The script failed (uncaught exception, limits, compile error).
    Error(String),
    Terminated,
}

/// Longest part of a request or response body the report shows.
const BODY_SHOWN: usize = 200;

/// `body` on one line, cut after [`BODY_SHOWN`] characters.
pub(crate) fn one_line(body: &str) -> String {
    let mut out = String::with_capacity(body.len().min(BODY_SHOWN + 8));
    for (count, c) in body.chars().enumerate() {
        if count == BODY_SHOWN {
            let total = body.chars().count();
            out.push_str(&format!(" … ({total} characters)"));
            break;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Answered => write!(f, "answered"),
            Action::Ring => write!(f, "ring"),
            Action::EarlyMedia => write!(f, "early media"),
            Action::Rejected(code) => write!(f, "reject {code}"),
            Action::Hangup(call) => write!(f, "hangup {call}"),
            Action::CallSip(to) => write!(f, "callSIP {to}"),
            Action::CallUser(user) => write!(f, "callUser {user}"),
            Action::CallPstn(number) => write!(f, "callPSTN {number}"),
            Action::Play(url) => write!(f, "play {url:?}"),
            Action::Say(text) => write!(f, "say {text:?}"),
            Action::ToneScript(script) => write!(f, "tone {script:?}"),
            Action::ProgressTone(country) => write!(f, "progress tone {country}"),
            Action::StopPlayback => write!(f, "stop playback"),
            Action::Digits(digits) => write!(f, "digits {digits:?}"),
            Action::Record(what) => write!(f, "record {what}"),
            Action::Media { from, to } => write!(f, "media {from} -> {to}"),
            Action::Log(line) => write!(f, "log {line:?}"),
            Action::Hold { call, hold: true } => write!(f, "hold {call}"),
            Action::Hold { call, hold: false } => write!(f, "unhold {call}"),
            Action::ReInvite(call) => write!(f, "re-INVITE {call}"),
            Action::Info { mime_type, body } => write!(f, "info {mime_type}: {}", one_line(body)),
            Action::Message(text) => write!(f, "message {}", one_line(text)),
            Action::Transfer(to) => write!(f, "transfer to {to}"),
            Action::TransferNotified(code) => write!(f, "transfer notified {code}"),
            Action::Http { method, url, body } if body.is_empty() => {
                write!(f, "http {method} {url}")
            }
            Action::Http { method, url, body } => {
                write!(f, "http {method} {url}: {}", one_line(body))
            }
            Action::Response {
                status,
                content_type,
                body,
            } => match content_type {
                _ if body.is_empty() => write!(f, "response {status} (empty)"),
                Some(content_type) => {
                    write!(f, "response {status} {content_type}: {}", one_line(body))
                }
                None => write!(f, "response {status}: {}", one_line(body)),
            },
            Action::Error(text) => write!(f, "error {text:?}"),
            Action::Terminated => write!(f, "terminated"),
        }
    }
}

/// One expectation of a spec's `expect` list.
#[derive(Debug, Clone)]
pub enum Expectation {
    Answered,
    Ring,
    /// Substring of the spoken text.
    Say(String),
    /// Substring of the URL.
    Play(String),
    Tone(String),
    Digits(String),
    CallSip(String),
    CallUser(String),
    CallPstn(String),
    Record,
    Hangup,
    Reject(u16),
    Hold,
    Unhold,
    /// Substring of `mimeType: body` of an INFO sent.
    Info(String),
    /// Substring of a MESSAGE sent.
    Message(String),
    /// Substring of a `transferTo` target.
    Transfer(String),
    /// The code a blind transfer was notified with.
    TransferNotified(u16),
    Log(TextMatch),
    /// A `Net` request matching every part given.
    Http(HttpExpectation),
    /// An answer to an `accessURL` request: its status if given, and a body
    /// that matches if given.
    Response {
        status: Option<u16>,
        body: Option<TextMatch>,
    },
    Error(TextMatch),
    Terminated,
    /// An event the scenario was given, as its session log writes it
    /// (`Call.Disconnected call=3 code=480 …`).
    Event(TextMatch),
    /// Nothing matching the inner expectation happens: between the
    /// expectations around it when the spec is ordered, at all otherwise.
    Not(Box<Expectation>),
    /// The inner expectation, met in the named session only (a conference
    /// session, by its conference id).
    In {
        session: String,
        inner: Box<Expectation>,
    },
}

/// What an `http` expectation checks of a `Net` request; `None` is anything.
#[derive(Debug, Clone)]
pub struct HttpExpectation {
    pub url: Option<TextMatch>,
    /// Upper case, as the session sends it.
    pub method: Option<String>,
    pub body: Option<TextMatch>,
}

impl HttpExpectation {
    fn matches(&self, method: &str, url: &str, body: &str) -> bool {
        self.method
            .as_ref()
            .is_none_or(|want| want.as_str() == method)
            && self.url.as_ref().is_none_or(|want| want.matches(url))
            && self.body.as_ref().is_none_or(|want| want.matches(body))
    }
}

impl fmt::Display for HttpExpectation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "http")?;
        if let Some(method) = &self.method {
            write!(f, " {method}")?;
        }
        if let Some(url) = &self.url {
            write!(f, " {url}")?;
        }
        if let Some(body) = &self.body {
            write!(f, " body {body}")?;
        }
        Ok(())
    }
}

/// A substring, or a regular expression written `/like this/`.
#[derive(Debug, Clone)]
pub enum TextMatch {
    Substring(String),
    Pattern(Regex),
}

impl TextMatch {
    fn parse(text: &str) -> Result<TextMatch, String> {
        match text
            .strip_prefix('/')
            .and_then(|rest| rest.strip_suffix('/'))
        {
            Some(pattern) if !pattern.is_empty() => Regex::new(pattern)
                .map(TextMatch::Pattern)
                .map_err(|e| format!("bad regular expression: {e}")),
            _ => Ok(TextMatch::Substring(text.to_string())),
        }
    }

    fn matches(&self, text: &str) -> bool {
        match self {
            TextMatch::Substring(part) => text.contains(part.as_str()),
            TextMatch::Pattern(re) => re.is_match(text),
        }
    }
}

impl fmt::Display for TextMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TextMatch::Substring(part) => write!(f, "{part:?}"),
            TextMatch::Pattern(re) => write!(f, "/{}/", re.as_str()),
        }
    }
}

impl fmt::Display for Expectation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expectation::Answered => write!(f, "answered"),
            Expectation::Ring => write!(f, "ring"),
            Expectation::Say(text) => write!(f, "say {text:?}"),
            Expectation::Play(url) => write!(f, "play {url:?}"),
            Expectation::Tone(script) => write!(f, "tone {script:?}"),
            Expectation::Digits(digits) => write!(f, "digits {digits:?}"),
            Expectation::CallSip(to) => write!(f, "callSIP {to}"),
            Expectation::CallUser(user) => write!(f, "callUser {user}"),
            Expectation::CallPstn(number) => write!(f, "callPSTN {number}"),
            Expectation::Record => write!(f, "record"),
            Expectation::Hangup => write!(f, "hangup"),
            Expectation::Reject(code) => write!(f, "reject {code}"),
            Expectation::Hold => write!(f, "hold"),
            Expectation::Unhold => write!(f, "unhold"),
            Expectation::Info(text) => write!(f, "info {text:?}"),
            Expectation::Message(text) => write!(f, "message {text:?}"),
            Expectation::Transfer(text) => write!(f, "transfer {text:?}"),
            Expectation::TransferNotified(code) => write!(f, "transferNotified {code}"),
            Expectation::Log(text) => write!(f, "log {text}"),
            Expectation::Http(http) => write!(f, "{http}"),
            Expectation::Response { status, body } => {
                write!(f, "response")?;
                if let Some(status) = status {
                    write!(f, " {status}")?;
                }
                if let Some(body) = body {
                    write!(f, " {body}")?;
                }
                Ok(())
            }
            Expectation::Error(text) => write!(f, "error {text}"),
            Expectation::Terminated => write!(f, "terminated"),
            Expectation::Event(text) => write!(f, "event {text}"),
            Expectation::Not(inner) => write!(f, "not {inner}"),
            Expectation::In { session, inner } => write!(f, "{inner} in {session}"),
        }
    }
}

fn want_true(key: &str, value: &Value) -> Result<(), String> {
    match value {
        Value::Bool(true) => Ok(()),
        _ => Err(format!("\"{key}\" takes true")),
    }
}

fn want_text(key: &str, value: &Value) -> Result<String, String> {
    match value {
        Value::String(text) => Ok(text.clone()),
        _ => Err(format!("\"{key}\" takes a string")),
    }
}

/// `"text"`, or `{"status": 500, "body": "text"}` with at least one key.
fn want_response(value: &Value) -> Result<Expectation, String> {
    const USAGE: &str =
        "\"response\" takes a string or {\"status\": code, \"body\": string} (one or both)";
    let (status, body) = match value {
        Value::String(text) => (None, Some(text.as_str())),
        Value::Object(object) if !object.is_empty() => {
            if let Some(key) = object.keys().find(|k| *k != "status" && *k != "body") {
                return Err(format!("unknown key {key:?}: {USAGE}"));
            }
            let status = match object.get("status") {
                None => None,
                Some(code) => match code.as_u64().and_then(|c| u16::try_from(c).ok()) {
                    Some(code) if (100..=599).contains(&code) => Some(code),
                    _ => return Err("\"status\" takes an HTTP status code".into()),
                },
            };
            let body = match object.get("body") {
                None => None,
                Some(Value::String(text)) => Some(text.as_str()),
                Some(_) => return Err("\"body\" takes a string".into()),
            };
            (status, body)
        }
        _ => return Err(USAGE.into()),
    };
    let body = body.map(TextMatch::parse).transpose()?;
    Ok(Expectation::Response { status, body })
}

/// `"text"` (the URL), or `{"url": "text", "method": "POST", "body": "text"}`
/// with at least one key.
fn want_http(value: &Value) -> Result<Expectation, String> {
    const USAGE: &str = "\"http\" takes a string (the URL) or {\"url\": string, \"method\": string, \"body\": string} (at least one)";
    let object = match value {
        Value::String(url) => {
            return Ok(Expectation::Http(HttpExpectation {
                url: Some(TextMatch::parse(url)?),
                method: None,
                body: None,
            }))
        }
        Value::Object(object) if !object.is_empty() => object,
        _ => return Err(USAGE.into()),
    };
    if let Some(key) = object
        .keys()
        .find(|k| !matches!(k.as_str(), "url" | "method" | "body"))
    {
        return Err(format!("unknown key {key:?}: {USAGE}"));
    }
    let text = |key: &str| -> Result<Option<TextMatch>, String> {
        match object.get(key) {
            None => Ok(None),
            Some(Value::String(text)) => TextMatch::parse(text).map(Some),
            Some(_) => Err(format!("\"{key}\" takes a string")),
        }
    };
    let method = match object.get("method") {
        None => None,
        Some(Value::String(method))
            if !method.is_empty()
                && method.bytes().all(|b| b.is_ascii_alphabetic() || b == b'-') =>
        {
            Some(method.to_ascii_uppercase())
        }
        Some(other) => return Err(format!("\"method\": {other} is not an HTTP method")),
    };
    Ok(Expectation::Http(HttpExpectation {
        url: text("url")?,
        method,
        body: text("body")?,
    }))
}

impl Expectation {
    /// Parses one `{"kind": value}` object, or `{"kind": value, "session":
    /// "name"}` for what happens in that session only.
    pub(crate) fn parse(value: &Value) -> Result<Expectation, String> {
        if let Value::Object(object) = value {
            if object.len() == 2 {
                if let Some(session) = object.get("session") {
                    let Some(session) = session.as_str().filter(|s| !s.is_empty()) else {
                        return Err("\"session\" takes a session's name (its conference id)".into());
                    };
                    let rest: serde_json::Map<String, Value> = object
                        .iter()
                        .filter(|(k, _)| k.as_str() != "session")
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect();
                    return match Expectation::parse(&Value::Object(rest))? {
                        Expectation::Not(_) => Err(
                            "put \"session\" inside the \"not\": {\"not\": {…, \"session\": …}}"
                                .into(),
                        ),
                        inner => Ok(Expectation::In {
                            session: session.to_string(),
                            inner: Box::new(inner),
                        }),
                    };
                }
            }
        }
        let object =
            match value {
                Value::Object(object) if object.len() == 1 => object,
                _ => return Err(
                    "each expectation is an object with one key (and \"session\" if it names one)"
                        .into(),
                ),
            };
        let Some((key, value)) = object.iter().next() else {
            return Err("each expectation is an object with one key".into());
        };
        let parsed = match key.as_str() {
            "answered" => want_true(key, value).map(|()| Expectation::Answered)?,
            "ring" => want_true(key, value).map(|()| Expectation::Ring)?,
            "record" => want_true(key, value).map(|()| Expectation::Record)?,
            "hangup" => want_true(key, value).map(|()| Expectation::Hangup)?,
            "terminated" => want_true(key, value).map(|()| Expectation::Terminated)?,
            "hold" => want_true(key, value).map(|()| Expectation::Hold)?,
            "unhold" => want_true(key, value).map(|()| Expectation::Unhold)?,
            "info" => Expectation::Info(want_text(key, value)?),
            "message" => Expectation::Message(want_text(key, value)?),
            "transfer" => Expectation::Transfer(want_text(key, value)?),
            "transferNotified" => match value.as_u64().and_then(|c| u16::try_from(c).ok()) {
                Some(code) => Expectation::TransferNotified(code),
                None => return Err("\"transferNotified\" takes a SIP code".into()),
            },
            "say" => Expectation::Say(want_text(key, value)?),
            "play" => Expectation::Play(want_text(key, value)?),
            "tone" => Expectation::Tone(want_text(key, value)?),
            "digits" => Expectation::Digits(want_text(key, value)?),
            "callSIP" => Expectation::CallSip(want_text(key, value)?),
            "callUser" => Expectation::CallUser(want_text(key, value)?),
            "callPSTN" => Expectation::CallPstn(want_text(key, value)?),
            "log" => Expectation::Log(TextMatch::parse(&want_text(key, value)?)?),
            "http" => want_http(value)?,
            "error" => Expectation::Error(TextMatch::parse(&want_text(key, value)?)?),
            "response" => want_response(value)?,
            "event" => Expectation::Event(TextMatch::parse(&want_text(key, value)?)?),
            "not" => match Expectation::parse(value)? {
                Expectation::Not(_) => return Err("\"not\" cannot hold another \"not\"".into()),
                inner => Expectation::Not(Box::new(inner)),
            },
            "reject" => match value.as_u64().and_then(|c| u16::try_from(c).ok()) {
                Some(code) => Expectation::Reject(code),
                None => return Err("\"reject\" takes a SIP code".into()),
            },
            other => return Err(format!("unknown expectation {other:?}")),
        };
        Ok(parsed)
    }

    /// Whether this (positive) expectation matches a timeline entry.
    pub fn matches_entry(&self, entry: &crate::report::Entry) -> bool {
        use crate::report::Happened;
        match (self, &entry.what) {
            (Expectation::In { session, inner }, _) => {
                entry.session.as_deref() == Some(session.as_str()) && inner.matches_entry(entry)
            }
            (Expectation::Event(want), Happened::Event(text)) => want.matches(text),
            (_, Happened::Action(action)) => self.matches(action),
            _ => false,
        }
    }

    /// Whether this expects a script error (in any session or a named one).
    pub fn is_error(&self) -> bool {
        match self {
            Expectation::Error(_) => true,
            Expectation::In { inner, .. } => inner.is_error(),
            _ => false,
        }
    }

    pub fn matches(&self, action: &Action) -> bool {
        match (self, action) {
            (Expectation::Answered, Action::Answered)
            | (Expectation::Ring, Action::Ring)
            | (Expectation::Record, Action::Record(_))
            | (Expectation::Hangup, Action::Hangup(_))
            | (Expectation::Terminated, Action::Terminated) => true,
            (Expectation::Say(part), Action::Say(text)) => text.contains(part.as_str()),
            (Expectation::Play(part), Action::Play(url)) => url.contains(part.as_str()),
            (Expectation::Tone(want), Action::ToneScript(script)) => script == want,
            (Expectation::Digits(want), Action::Digits(sent)) => sent == want,
            (Expectation::CallSip(want), Action::CallSip(to)) => to == want,
            (Expectation::CallUser(want), Action::CallUser(user)) => user == want,
            (Expectation::CallPstn(want), Action::CallPstn(number)) => number == want,
            (Expectation::Reject(want), Action::Rejected(code)) => code == want,
            (Expectation::Hold, Action::Hold { hold, .. }) => *hold,
            (Expectation::Unhold, Action::Hold { hold, .. }) => !*hold,
            (Expectation::Info(part), Action::Info { mime_type, body }) => {
                format!("{mime_type}: {body}").contains(part.as_str())
            }
            (Expectation::Message(part), Action::Message(text)) => text.contains(part.as_str()),
            (Expectation::Transfer(part), Action::Transfer(to)) => to.contains(part.as_str()),
            (Expectation::TransferNotified(want), Action::TransferNotified(code)) => code == want,
            (Expectation::Log(want), Action::Log(line)) => want.matches(line),
            (Expectation::Error(want), Action::Error(text)) => want.matches(text),
            (Expectation::Http(want), Action::Http { method, url, body }) => {
                want.matches(method, url, body)
            }
            (
                Expectation::Response {
                    status: want_status,
                    body: want_body,
                },
                Action::Response { status, body, .. },
            ) => {
                want_status.is_none_or(|want| want == *status)
                    && want_body.as_ref().is_none_or(|want| want.matches(body))
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(method: &str, url: &str, body: &str) -> Action {
        Action::Http {
            method: method.into(),
            url: url.into(),
            body: body.into(),
        }
    }

    #[test]
    fn a_string_http_expectation_matches_the_url_only() {
        let want = Expectation::parse(&json!({"http": "example.com/hook"})).expect("parses");
        assert!(want.matches(&request("POST", "https://example.com/hook", "{}")));
        assert!(want.matches(&request("GET", "https://example.com/hook?a", "")));
        assert!(!want.matches(&request("GET", "https://example.org/hook", "")));
        assert_eq!(want.to_string(), "http \"example.com/hook\"");
    }

    #[test]
    fn an_object_http_expectation_matches_every_key_given() {
        let want = Expectation::parse(&json!({"http": {
            "url": "/^https://crm\\./", "method": "post", "body": "\"duration\":16.5"
        }}))
        .expect("parses");
        let body = r#"{"url":"sim://recording/1","duration":16.5}"#;
        assert!(want.matches(&request("POST", "https://crm.example.com/x", body)));
        assert!(!want.matches(&request("PUT", "https://crm.example.com/x", body)));
        assert!(!want.matches(&request("POST", "http://crm.example.com/x", body)));
        assert!(!want.matches(&request("POST", "https://crm.example.com/x", "{}")));
        assert_eq!(
            want.to_string(),
            "http POST /^https://crm\\./ body \"\\\"duration\\\":16.5\""
        );
        let body_only = Expectation::parse(&json!({"http": {"body": "/^$/"}})).expect("parses");
        assert!(body_only.matches(&request("GET", "https://a.example/", "")));
        assert!(!body_only.matches(&request("POST", "https://a.example/", "x")));
        assert!(!body_only.matches(&Action::Log(String::new())));
    }

    #[test]
    fn a_request_shows_its_method_url_and_body_on_one_line() {
        assert_eq!(
            request("GET", "https://a.example/", "").to_string(),
            "http GET https://a.example/"
        );
        assert_eq!(
            request("POST", "https://a.example/", "a\nb").to_string(),
            "http POST https://a.example/: a\\nb"
        );
        let long = "x".repeat(250);
        let shown = request("PUT", "https://a.example/", &long).to_string();
        assert_eq!(
            shown,
            format!(
                "http PUT https://a.example/: {} … (250 characters)",
                "x".repeat(200)
            )
        );
    }

    #[test]
    fn bad_http_expectations_say_why() {
        for (value, reason) in [
            (json!({"http": {}}), "at least one"),
            (json!({"http": null}), "at least one"),
            (
                json!({"http": {"url": "a", "status": 200}}),
                "unknown key \"status\"",
            ),
            (json!({"http": {"method": ""}}), "not an HTTP method"),
            (json!({"http": {"url": 1}}), "\"url\" takes a string"),
        ] {
            let error = Expectation::parse(&value).unwrap_err();
            assert!(error.contains(reason), "{value}: {error}");
        }
    }
}
