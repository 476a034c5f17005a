//! `AppEvents.HttpRequest`: HTTP requests made to the session's `accessURL`.
//!
//! The listeners run like any other app event; what they return becomes the
//! HTTP response, as in VoxEngine: a string or number is sent as text, any
//! other value as JSON, and nothing (`undefined`, `null`) as an empty 200. A
//! listener may also return a promise; the response then waits for it. A
//! promise that rejects answers 500; a listener that throws answers 500 and,
//! as any uncaught exception, ends the session.

use dialtone_core::messages::{AccessReplySlot, AccessRequest, AccessResponse};
use rquickjs::function::This;
use rquickjs::{Coerced, Ctx, FromJs, Function, Object, Value};

use crate::events;
use crate::listeners::Listener;
use crate::registry::registry;

/// `AppEvents.HttpRequest`'s string value.
pub(crate) const HTTP_REQUEST: &str = "Application.HttpRequest";

const TEXT: &str = "text/plain; charset=utf-8";
const JSON: &str = "application/json";

/// A line for the session log. The access token in the path is left out:
/// the log goes to stdout and into history, and the token is the secret
/// that opens the session to anyone.
pub(crate) fn describe(request: &AccessRequest) -> String {
    format!(
        "{HTTP_REQUEST} method={} path={} bytes={}",
        request.method,
        redact_path(&request.path),
        request.content.len()
    )
}

/// `/access/SESSION/TOKEN/…` with the token replaced by `***`.
pub(crate) fn redact_path(path: &str) -> String {
    let mut parts: Vec<&str> = path.splitn(5, '/').collect();
    if parts.len() >= 4 && parts[0].is_empty() && parts[1] == "access" {
        parts[3] = "***";
    }
    parts.join("/")
}

/// An `accessURL` (`http://host[/prefix]/access/SESSION/TOKEN`) with the
/// token replaced by `***`.
pub(crate) fn redact_url(url: &str) -> String {
    match url.find("/access/") {
        Some(at) => format!("{}{}", &url[..at], redact_path(&url[at..])),
        None => url.to_owned(),
    }
}

/// The response for a request whose listener failed.
pub(crate) fn failed(message: &str) -> AccessResponse {
    AccessResponse {
        status: 500,
        content_type: Some(JSON),
        body: error_json("script_error", message),
    }
}

/// `{"error":{"code":…,"message":…}}` without a JSON library: both strings
/// are escaped by hand.
fn error_json(code: &str, message: &str) -> String {
    format!(
        "{{\"error\":{{\"code\":{},\"message\":{}}}}}",
        json_string(code),
        json_string(message)
    )
}

fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Runs the `AppEvents.HttpRequest` listeners and answers with what they
/// return. Errors are the listeners' own (the caller ends the session).
pub(crate) fn dispatch<'js>(ctx: &Ctx<'js>, request: &AccessRequest) -> rquickjs::Result<()> {
    let event = events::app_event_object(ctx, HTTP_REQUEST)?;
    event.set("method", request.method.as_str())?;
    event.set("path", request.path.as_str())?;
    event.set("content", request.content.as_str())?;
    let headers = Object::new(ctx.clone())?;
    for (name, value) in &request.headers {
        headers.set(name.to_ascii_lowercase(), value.as_str())?;
    }
    event.set("headers", headers)?;
    let listeners = registry(ctx)?.app_listeners.snapshot(HTTP_REQUEST);
    let mut result: Value<'js> = Value::new_undefined(ctx.clone());
    for listener in listeners {
        if let Listener::Script(f) = listener {
            let returned: Value<'js> = f.call((event.clone(),))?;
            if !returned.is_undefined() {
                result = returned;
            }
        }
    }
    answer(ctx, &request.reply, result)
}

/// Answers now, or when `value` settles if it is a promise.
fn answer<'js>(ctx: &Ctx<'js>, reply: &AccessReplySlot, value: Value<'js>) -> rquickjs::Result<()> {
    let Some(promise) = value.as_promise().cloned() else {
        reply.send(encode(ctx, &value));
        return Ok(());
    };
    let on_value = {
        let reply = reply.clone();
        Function::new(ctx.clone(), move |ctx: Ctx<'js>, v: Value<'js>| {
            reply.send(encode(&ctx, &v));
        })?
    };
    let on_error = {
        let reply = reply.clone();
        Function::new(ctx.clone(), move |ctx: Ctx<'js>, e: Value<'js>| {
            let text = rejection_text(&ctx, &e);
            reply.send(failed(&format!("the HttpRequest handler rejected: {text}")));
        })?
    };
    let then: Function<'js> = promise.get("then")?;
    then.call::<_, Value<'js>>((This(promise.clone()), on_value, on_error))?;
    Ok(())
}

/// VoxEngine's encoding of a handler's return value.
fn encode<'js>(ctx: &Ctx<'js>, value: &Value<'js>) -> AccessResponse {
    if value.is_undefined() || value.is_null() {
        return AccessResponse {
            status: 200,
            content_type: None,
            body: String::new(),
        };
    }
    if let Some(s) = value.as_string() {
        return match s.to_string() {
            Ok(body) => text(body),
            Err(_) => failed("the HttpRequest handler returned an unreadable string"),
        };
    }
    if value.is_number() || value.is_bool() {
        return match Coerced::<String>::from_js(ctx, value.clone()) {
            Ok(Coerced(body)) => text(body),
            Err(_) => failed("the HttpRequest handler returned an unreadable value"),
        };
    }
    match ctx.json_stringify(value.clone()) {
        Ok(Some(json)) => match json.to_string() {
            Ok(body) => AccessResponse {
                status: 200,
                content_type: Some(JSON),
                body,
            },
            Err(_) => failed("the HttpRequest handler's value is not valid text"),
        },
        // Functions and symbols have no JSON form.
        Ok(None) => AccessResponse {
            status: 200,
            content_type: None,
            body: String::new(),
        },
        Err(_) => {
            // A cyclic object or a BigInt: the exception is ours to clear.
            let _ = ctx.catch();
            failed("the HttpRequest handler's value cannot be sent as JSON")
        }
    }
}

fn text(body: String) -> AccessResponse {
    AccessResponse {
        status: 200,
        content_type: Some(TEXT),
        body,
    }
}

fn rejection_text<'js>(ctx: &Ctx<'js>, reason: &Value<'js>) -> String {
    if let Some(object) = reason.as_object() {
        if let Ok(Some(message)) = object.get::<_, Option<String>>("message") {
            return message;
        }
    }
    match Coerced::<String>::from_js(ctx, reason.clone()) {
        Ok(Coerced(s)) => s,
        Err(_) => {
            let _ = ctx.catch();
            "a value".to_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_are_escaped_json() {
        assert_eq!(
            error_json("script_error", "bad \"x\"\n\u{1}"),
            r#"{"error":{"code":"script_error","message":"bad \"x\"\n\u0001"}}"#
        );
    }

    #[test]
    fn the_log_line_leaves_the_token_out() {
        let (reply, _rx) = AccessReplySlot::new();
        let request = AccessRequest {
            method: "GET".into(),
            path: "/access/0190-abc/9f86d081884c7d65/tone".into(),
            content: String::new(),
            headers: Vec::new(),
            reply,
        };
        assert_eq!(
            describe(&request),
            "Application.HttpRequest method=GET path=/access/0190-abc/***/tone bytes=0"
        );
        assert_eq!(
            redact_url("https://calls.example.com/dt/access/0190-abc/9f86d081884c7d65"),
            "https://calls.example.com/dt/access/0190-abc/***"
        );
        assert_eq!(redact_url(""), "");
    }
}
