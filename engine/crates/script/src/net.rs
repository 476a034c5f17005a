//! The `Net` namespace: `Net.httpRequestAsync(url, options)` and the callback
//! form `Net.httpRequest(url, callback, options)`.
//!
//! The host only validates and forwards: the engine performs the request and
//! answers with `SessionEvent::HttpResponse`, which resolves the promise (or
//! calls the callback) with VoxEngine's `HttpRequestResult`. Failures never
//! reject: they resolve with VoxEngine's codes (`0` for a session limit,
//! `-1` … `-9` for transport failures, see `http_codes`), as VoxEngine does.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::time::Duration;

use dialtone_core::messages::{http_codes, HttpResult, SessionCommand};
use rquickjs::function::Opt;
use rquickjs::{Array, Coerced, Ctx, Exception, FromJs, Function, Object, Promise, Value};

use crate::registry::registry;

/// Requests one session may have in flight; more resolve at once with code 0.
pub(crate) const MAX_HTTP_REQUESTS: usize = 10;
/// VoxEngine's whole-request timeout, also the largest a script may ask for.
pub(crate) const MAX_HTTP_TIMEOUT: Duration = Duration::from_secs(90);
/// Longest URL a script may pass.
const MAX_URL: usize = 8 * 1024;
/// Most request headers a script may set.
const MAX_REQUEST_HEADERS: usize = 64;
/// Longest header value a script may set.
const MAX_REQUEST_HEADER_VALUE: usize = 8 * 1024;
/// Largest request body a script may send (the same as the response limit).
const MAX_REQUEST_BODY: usize = http_codes::MAX_BODY;

/// Requests in flight, each with the function its result goes to.
#[derive(Default)]
pub(crate) struct Requests<'js> {
    next_id: Cell<u64>,
    waiting: RefCell<HashMap<u64, Function<'js>>>,
}

impl<'js> Requests<'js> {
    pub(crate) fn in_flight(&self) -> usize {
        self.waiting.borrow().len()
    }

    fn add(&self, done: Function<'js>) -> u64 {
        let id = self.next_id.get() + 1;
        self.next_id.set(id);
        self.waiting.borrow_mut().insert(id, done);
        id
    }

    fn take(&self, id: u64) -> Option<Function<'js>> {
        self.waiting.borrow_mut().remove(&id)
    }

    pub(crate) fn clear(&self) {
        let dropped: Vec<_> = self.waiting.borrow_mut().drain().collect();
        drop(dropped);
    }
}

pub(crate) fn install<'js>(ctx: &Ctx<'js>, globals: &Object<'js>) -> rquickjs::Result<()> {
    let net = Object::new(ctx.clone())?;
    net.set(
        "httpRequestAsync",
        Function::new(ctx.clone(), http_request_async)?.with_name("httpRequestAsync")?,
    )?;
    net.set(
        "httpRequest",
        Function::new(ctx.clone(), http_request)?.with_name("httpRequest")?,
    )?;
    let options =
        Function::new(ctx.clone(), http_request_options)?.with_name("HttpRequestOptions")?;
    options.set_constructor(true);
    net.set("HttpRequestOptions", options)?;
    globals.set("Net", net)
}

/// `new Net.HttpRequestOptions()`: an options object with VoxEngine's
/// defaults, for scenarios that build their options that way.
fn http_request_options(ctx: Ctx<'_>) -> rquickjs::Result<Object<'_>> {
    let options = Object::new(ctx.clone())?;
    options.set("method", "GET")?;
    options.set("headers", Array::new(ctx.clone())?)?;
    options.set("timeout", MAX_HTTP_TIMEOUT.as_secs() as i32)?;
    Ok(options)
}

/// A short description of a response for the session log.
pub(crate) fn describe_response(id: u64, result: &HttpResult) -> String {
    match &result.error {
        Some(error) => format!(
            "HttpResponse request={id} code={} error={error}",
            result.code
        ),
        None => format!(
            "HttpResponse request={id} code={} bytes={}",
            result.code,
            result.text.len()
        ),
    }
}

/// Hands `result` to whoever waits for request `id` (a promise or a callback).
pub(crate) fn dispatch(ctx: &Ctx<'_>, id: u64, result: &HttpResult) -> rquickjs::Result<()> {
    let waiting = registry(ctx)?.http.take(id);
    match waiting {
        Some(done) => {
            let object = result_object(ctx, result)?;
            done.call::<_, ()>((object,))
        }
        None => Ok(()),
    }
}

fn http_request_async<'js>(
    ctx: Ctx<'js>,
    url: Value<'js>,
    options: Opt<Value<'js>>,
) -> rquickjs::Result<Promise<'js>> {
    let what = "Net.httpRequestAsync()";
    let request = parse_request(&ctx, what, &url, options.0.as_ref())?;
    let (promise, resolve, _reject) = ctx.promise()?;
    start(&ctx, request, resolve)?;
    Ok(promise)
}

fn http_request<'js>(
    ctx: Ctx<'js>,
    url: Value<'js>,
    callback: Value<'js>,
    options: Opt<Value<'js>>,
) -> rquickjs::Result<()> {
    let what = "Net.httpRequest()";
    let request = parse_request(&ctx, what, &url, options.0.as_ref())?;
    let Some(callback) = callback.into_function() else {
        return Err(Exception::throw_type(
            &ctx,
            &format!("{what}: the callback must be a function"),
        ));
    };
    start(&ctx, request, callback)
}

/// Sends the request, or hands `done` a failure at once when the URL is not
/// HTTP(S) or the session has too many requests in flight.
fn start<'js>(ctx: &Ctx<'js>, request: Request, done: Function<'js>) -> rquickjs::Result<()> {
    let sessions = registry(ctx)?;
    let failure = if !request.url_ok {
        Some(HttpResult::failure(
            http_codes::MALFORMED_URL,
            "the URL must be an absolute http:// or https:// URL",
        ))
    } else if sessions.http.in_flight() >= MAX_HTTP_REQUESTS {
        Some(HttpResult::failure(
            http_codes::LIMIT,
            format!("more than {MAX_HTTP_REQUESTS} HTTP requests in flight in one session"),
        ))
    } else {
        None
    };
    if let Some(result) = failure {
        drop(sessions);
        let object = result_object(ctx, &result)?;
        return done.call::<_, ()>((object,));
    }
    let id = sessions.http.add(done);
    let core = sessions.core.clone();
    drop(sessions);
    let sent = core.send(
        ctx,
        SessionCommand::HttpRequest {
            id,
            url: request.url,
            method: request.method,
            headers: request.headers,
            body: request.body,
            timeout: request.timeout,
        },
    );
    if sent.is_err() {
        // Over the per-callback cap: nobody will answer this id.
        registry(ctx)?.http.take(id);
    }
    sent
}

struct Request {
    url: String,
    url_ok: bool,
    method: String,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
    timeout: Duration,
}

fn parse_request<'js>(
    ctx: &Ctx<'js>,
    what: &str,
    url: &Value<'js>,
    options: Option<&Value<'js>>,
) -> rquickjs::Result<Request> {
    let Some(url) = url.as_string().map(|s| s.to_string()).transpose()? else {
        return Err(type_error(
            ctx,
            what,
            &format!("the URL must be a string, not {}", url.type_name()),
        ));
    };
    if url.len() > MAX_URL {
        return Err(type_error(
            ctx,
            what,
            &format!("the URL is longer than {MAX_URL} bytes"),
        ));
    }
    let url_ok = is_http_url(&url);
    let mut request = Request {
        url,
        url_ok,
        method: "GET".into(),
        headers: Vec::new(),
        body: None,
        timeout: MAX_HTTP_TIMEOUT,
    };
    let Some(options) = options.filter(|o| !o.is_undefined() && !o.is_null()) else {
        return Ok(request);
    };
    let Some(options) = options.as_object() else {
        return Err(type_error(ctx, what, "the options must be an object"));
    };
    if let Some(method) = options.get::<_, Option<Value>>("method")? {
        if !method.is_undefined() {
            request.method = parse_method(ctx, what, &method)?;
        }
    }
    if let Some(headers) = options.get::<_, Option<Value>>("headers")? {
        request.headers = parse_headers(ctx, what, &headers)?;
    }
    if let Some(body) = options.get::<_, Option<Value>>("postData")? {
        request.body = parse_body(ctx, what, &body)?;
    }
    if let Some(timeout) = options.get::<_, Option<Value>>("timeout")? {
        if !timeout.is_undefined() && !timeout.is_null() {
            request.timeout = parse_timeout(ctx, what, &timeout)?;
        }
    }
    Ok(request)
}

fn is_http_url(url: &str) -> bool {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    let rest = if lower.starts_with("http://") {
        &url[7..]
    } else if lower.starts_with("https://") {
        &url[8..]
    } else {
        return false;
    };
    // A host must follow the scheme; no whitespace or controls anywhere.
    !rest.is_empty()
        && !rest.starts_with('/')
        && !url.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn parse_method<'js>(ctx: &Ctx<'js>, what: &str, value: &Value<'js>) -> rquickjs::Result<String> {
    let method = value
        .as_string()
        .map(|s| s.to_string())
        .transpose()?
        .unwrap_or_default();
    let valid = !method.is_empty()
        && method.len() <= 16
        && method.bytes().all(|b| b.is_ascii_alphabetic() || b == b'-');
    if !valid {
        return Err(type_error(
            ctx,
            what,
            "the method must be an HTTP method name such as \"GET\" or \"POST\"",
        ));
    }
    Ok(method.to_ascii_uppercase())
}

/// `{Name: value}`, or an array of `"Name: value"` strings or `{key, value}`
/// objects (the form `HttpRequestResult.headers` has).
fn parse_headers<'js>(
    ctx: &Ctx<'js>,
    what: &str,
    value: &Value<'js>,
) -> rquickjs::Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    if value.is_undefined() || value.is_null() {
        return Ok(out);
    }
    if let Some(array) = value.as_array() {
        for item in array.iter::<Value>() {
            let item = item?;
            let pair = if let Some(line) = item.as_string() {
                let line = line.to_string()?;
                match line.split_once(':') {
                    Some((name, value)) => (name.trim().to_string(), value.trim().to_string()),
                    None => {
                        return Err(type_error(
                            ctx,
                            what,
                            &format!("header {line:?} is not \"Name: value\""),
                        ))
                    }
                }
            } else if let Some(object) = item.as_object() {
                let name: Coerced<String> = object.get("key")?;
                let value: Coerced<String> = object.get("value")?;
                (name.0, value.0)
            } else {
                return Err(type_error(
                    ctx,
                    what,
                    "each header must be a \"Name: value\" string or a {key, value} object",
                ));
            };
            out.push(check_header(ctx, what, pair)?);
            if out.len() > MAX_REQUEST_HEADERS {
                break;
            }
        }
    } else if let Some(object) = value.as_object() {
        for prop in object.props::<String, Value>() {
            let (name, value) = prop?;
            let value = Coerced::<String>::from_js(ctx, value)?.0;
            out.push(check_header(ctx, what, (name, value))?);
            if out.len() > MAX_REQUEST_HEADERS {
                break;
            }
        }
    } else {
        return Err(type_error(
            ctx,
            what,
            "the headers must be an object or an array",
        ));
    }
    if out.len() > MAX_REQUEST_HEADERS {
        return Err(type_error(
            ctx,
            what,
            &format!("more than {MAX_REQUEST_HEADERS} headers"),
        ));
    }
    Ok(out)
}

fn check_header<'js>(
    ctx: &Ctx<'js>,
    what: &str,
    (name, value): (String, String),
) -> rquickjs::Result<(String, String)> {
    const SEPARATORS: &[u8] = b"!#$%&'*+-.^_`|~";
    let name_ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || SEPARATORS.contains(&b));
    if !name_ok {
        return Err(type_error(
            ctx,
            what,
            &format!("{name:?} is not a valid header name"),
        ));
    }
    if value.len() > MAX_REQUEST_HEADER_VALUE
        || value.chars().any(|c| matches!(c, '\r' | '\n' | '\0'))
    {
        return Err(type_error(
            ctx,
            what,
            &format!("the value of header {name} is too long or has line breaks"),
        ));
    }
    Ok((name, value))
}

/// A string (sent as UTF-8) or an array of byte values.
fn parse_body<'js>(
    ctx: &Ctx<'js>,
    what: &str,
    value: &Value<'js>,
) -> rquickjs::Result<Option<Vec<u8>>> {
    let body = if value.is_undefined() || value.is_null() {
        return Ok(None);
    } else if let Some(text) = value.as_string() {
        text.to_string()?.into_bytes()
    } else if let Some(array) = value.as_array() {
        bytes_of(ctx, what, array)?
    } else {
        return Err(type_error(
            ctx,
            what,
            "postData must be a string or an array of bytes",
        ));
    };
    if body.len() > MAX_REQUEST_BODY {
        return Err(type_error(
            ctx,
            what,
            &format!("postData is larger than {MAX_REQUEST_BODY} bytes"),
        ));
    }
    Ok(Some(body))
}

fn bytes_of<'js>(ctx: &Ctx<'js>, what: &str, array: &Array<'js>) -> rquickjs::Result<Vec<u8>> {
    if array.len() > MAX_REQUEST_BODY {
        return Err(type_error(
            ctx,
            what,
            &format!("postData is larger than {MAX_REQUEST_BODY} bytes"),
        ));
    }
    let mut bytes = Vec::with_capacity(array.len());
    for item in array.iter::<Value>() {
        let byte = item?
            .as_number()
            .filter(|n| n.fract() == 0.0 && (0.0..=255.0).contains(n));
        match byte {
            Some(n) => bytes.push(n as u8),
            None => {
                return Err(type_error(
                    ctx,
                    what,
                    "postData arrays must hold integers from 0 to 255",
                ))
            }
        }
    }
    Ok(bytes)
}

/// Seconds, as VoxEngine counts them; at most `MAX_HTTP_TIMEOUT`.
fn parse_timeout<'js>(
    ctx: &Ctx<'js>,
    what: &str,
    value: &Value<'js>,
) -> rquickjs::Result<Duration> {
    match value.as_number() {
        Some(seconds) if seconds.is_finite() && seconds > 0.0 => {
            Ok(Duration::from_secs_f64(seconds).min(MAX_HTTP_TIMEOUT))
        }
        _ => Err(type_error(
            ctx,
            what,
            "timeout must be a positive number of seconds",
        )),
    }
}

/// VoxEngine's `HttpRequestResult`: `code`, `headers` as `{key, value}`
/// objects, `raw_headers`, `text`, and `error` when the request failed.
fn result_object<'js>(ctx: &Ctx<'js>, result: &HttpResult) -> rquickjs::Result<Object<'js>> {
    let object = Object::new(ctx.clone())?;
    object.set("code", result.code)?;
    let headers = Array::new(ctx.clone())?;
    let mut raw = String::new();
    for (index, (name, value)) in result.headers.iter().enumerate() {
        let header = Object::new(ctx.clone())?;
        header.set("key", name.as_str())?;
        header.set("value", value.as_str())?;
        headers.set(index, header)?;
        raw.push_str(name);
        raw.push_str(": ");
        raw.push_str(value);
        raw.push_str("\r\n");
    }
    object.set("headers", headers)?;
    object.set("raw_headers", raw)?;
    object.set("text", result.text.as_str())?;
    if let Some(error) = &result.error {
        object.set("error", error.as_str())?;
    }
    Ok(object)
}

fn type_error(ctx: &Ctx<'_>, what: &str, text: &str) -> rquickjs::Error {
    Exception::throw_type(ctx, &format!("{what}: {text}"))
}

#[cfg(test)]
mod tests {
    use super::is_http_url;

    #[test]
    fn only_absolute_http_urls_are_sent() {
        assert!(is_http_url("http://127.0.0.1:8080/hook"));
        assert!(is_http_url("HTTPS://example.com"));
        assert!(!is_http_url("ftp://example.com"));
        assert!(!is_http_url("http://"));
        assert!(!is_http_url("http:///path"));
        assert!(!is_http_url("http://exa mple.com"));
        assert!(!is_http_url("example.com"));
    }
}
