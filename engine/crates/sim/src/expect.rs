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
    /// A `Net` request (method and URL).
    Http {
        method: String,
        url: String,
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

/// Longest part of a response body the report shows.
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
            Action::Play(url) => write!(f, "play {url:?}"),
            Action::Say(text) => write!(f, "say {text:?}"),
            Action::ToneScript(script) => write!(f, "tone {script:?}"),
            Action::ProgressTone(country) => write!(f, "progress tone {country}"),
            Action::StopPlayback => write!(f, "stop playback"),
            Action::Digits(digits) => write!(f, "digits {digits:?}"),
            Action::Record(what) => write!(f, "record {what}"),
            Action::Media { from, to } => write!(f, "media {from} -> {to}"),
            Action::Log(line) => write!(f, "log {line:?}"),
            Action::Http { method, url } => write!(f, "http {method} {url}"),
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
    Record,
    Hangup,
    Reject(u16),
    Log(TextMatch),
    /// A `Net` request whose URL matches.
    Http(TextMatch),
    /// An answer to an `accessURL` request: its status if given, and a body
    /// that matches if given.
    Response {
        status: Option<u16>,
        body: Option<TextMatch>,
    },
    Error(TextMatch),
    Terminated,
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
            Expectation::Record => write!(f, "record"),
            Expectation::Hangup => write!(f, "hangup"),
            Expectation::Reject(code) => write!(f, "reject {code}"),
            Expectation::Log(text) => write!(f, "log {text}"),
            Expectation::Http(url) => write!(f, "http {url}"),
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

impl Expectation {
    /// Parses one `{"kind": value}` object.
    pub(crate) fn parse(value: &Value) -> Result<Expectation, String> {
        let object = match value {
            Value::Object(object) if object.len() == 1 => object,
            _ => return Err("each expectation is an object with one key".into()),
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
            "say" => Expectation::Say(want_text(key, value)?),
            "play" => Expectation::Play(want_text(key, value)?),
            "tone" => Expectation::Tone(want_text(key, value)?),
            "digits" => Expectation::Digits(want_text(key, value)?),
            "callSIP" => Expectation::CallSip(want_text(key, value)?),
            "log" => Expectation::Log(TextMatch::parse(&want_text(key, value)?)?),
            "http" => Expectation::Http(TextMatch::parse(&want_text(key, value)?)?),
            "error" => Expectation::Error(TextMatch::parse(&want_text(key, value)?)?),
            "response" => want_response(value)?,
            "reject" => match value.as_u64().and_then(|c| u16::try_from(c).ok()) {
                Some(code) => Expectation::Reject(code),
                None => return Err("\"reject\" takes a SIP code".into()),
            },
            other => return Err(format!("unknown expectation {other:?}")),
        };
        Ok(parsed)
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
            (Expectation::Reject(want), Action::Rejected(code)) => code == want,
            (Expectation::Log(want), Action::Log(line)) => want.matches(line),
            (Expectation::Error(want), Action::Error(text)) => want.matches(text),
            (Expectation::Http(want), Action::Http { url, .. }) => want.matches(url),
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
