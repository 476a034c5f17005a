//! SIP headers as scripts see them: `{"X-Name": "value"}` objects.
//! Scripts may only send `X-` headers; others are dropped with a log line.

use dialtone_core::messages::Headers;
use rquickjs::{Ctx, Exception, Object, Value};

use crate::limits::{MAX_HEADERS, MAX_HEADER_VALUE};
use crate::registry::SessionCore;

pub(crate) fn to_js<'js>(ctx: &Ctx<'js>, headers: &Headers) -> rquickjs::Result<Object<'js>> {
    let object = Object::new(ctx.clone())?;
    for (name, value) in headers {
        object.set(name.as_str(), value.as_str())?;
    }
    Ok(object)
}

/// Reads an `extraHeaders` argument: `undefined`/`null` is no headers.
pub(crate) fn from_js<'js>(
    ctx: &Ctx<'js>,
    core: &SessionCore,
    what: &str,
    value: Option<&Value<'js>>,
) -> rquickjs::Result<Headers> {
    let Some(value) = value.filter(|v| !v.is_undefined() && !v.is_null()) else {
        return Ok(Headers::new());
    };
    let Some(object) = value.as_object() else {
        return Err(Exception::throw_type(
            ctx,
            &format!(
                "{what}: headers must be an object like {{'X-Name': 'value'}}, not {}",
                value.type_name()
            ),
        ));
    };
    let mut headers = Headers::new();
    for prop in object.props::<String, Value>() {
        let (name, value) = prop?;
        if !is_x_header(&name) {
            core.note(&format!(
                "{what}: header '{name}' ignored: only X- headers are sent"
            ));
            continue;
        }
        if !is_token(&name) {
            return Err(Exception::throw_type(
                ctx,
                &format!("{what}: '{name}' is not a valid header name"),
            ));
        }
        let value = header_value(ctx, what, &name, &value)?;
        if headers.len() >= MAX_HEADERS {
            return Err(Exception::throw_range(
                ctx,
                &format!("{what}: more than {MAX_HEADERS} headers"),
            ));
        }
        headers.push((name, value));
    }
    Ok(headers)
}

fn header_value<'js>(
    ctx: &Ctx<'js>,
    what: &str,
    name: &str,
    value: &Value<'js>,
) -> rquickjs::Result<String> {
    let text = if let Some(s) = value.as_string() {
        s.to_string()?
    } else if let Some(n) = value.as_number() {
        n.to_string()
    } else if let Some(b) = value.as_bool() {
        b.to_string()
    } else {
        return Err(Exception::throw_type(
            ctx,
            &format!(
                "{what}: header '{name}' must be a string, not {}",
                value.type_name()
            ),
        ));
    };
    if text.len() > MAX_HEADER_VALUE {
        return Err(Exception::throw_range(
            ctx,
            &format!("{what}: header '{name}' is longer than {MAX_HEADER_VALUE} bytes"),
        ));
    }
    if text.chars().any(|c| c == '\r' || c == '\n' || c == '\0') {
        return Err(Exception::throw_type(
            ctx,
            &format!("{what}: header '{name}' contains a line break"),
        ));
    }
    Ok(text)
}

fn is_x_header(name: &str) -> bool {
    name.len() > 2 && name.as_bytes()[..2].eq_ignore_ascii_case(b"x-")
}

/// RFC 3261 `token` characters.
fn is_token(name: &str) -> bool {
    name.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_x_headers_with_token_names() {
        assert!(is_x_header("X-Foo"));
        assert!(is_x_header("x-foo"));
        assert!(!is_x_header("X-"));
        assert!(!is_x_header("Contact"));
        assert!(is_token("X-Foo_1"));
        assert!(!is_token("X-Foo: bar"));
    }
}
