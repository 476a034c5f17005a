//! Which SIP headers cross into scripts and out of them.

use dialtone_core::messages::Headers;

/// Scripts see and set only `X-` headers (VoxEngine's rule).
pub fn is_custom(name: &str) -> bool {
    name.len() > 2 && name.as_bytes()[..2].eq_ignore_ascii_case(b"x-")
}

/// The `X-` headers of a received message, in order.
pub fn custom_only(headers: &[(String, String)]) -> Headers {
    headers
        .iter()
        .filter(|(n, _)| is_custom(n))
        .cloned()
        .collect()
}

/// Headers a script asked us to send, minus anything that is not `X-` or
/// that could break the message (CR/LF in a name or value).
pub fn sanitize(headers: Headers) -> Headers {
    headers
        .into_iter()
        .filter(|(n, v)| {
            let ok = is_custom(n)
                && n.bytes().all(|b| b.is_ascii_graphic() && b != b':')
                && !v.contains(['\r', '\n']);
            if !ok {
                tracing::warn!(header = %n, "dropped a header a script set: only X- headers without CR/LF are sent");
            }
            ok
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_x_headers_pass() {
        let h = vec![
            ("X-Foo".to_string(), "1".to_string()),
            ("Via".to_string(), "SIP/2.0/UDP x".to_string()),
            ("x-bar".to_string(), "2".to_string()),
            ("X-".to_string(), "3".to_string()),
        ];
        let got = custom_only(&h);
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].0, "x-bar");
    }

    #[test]
    fn sanitize_drops_injection() {
        let h = vec![
            ("X-Ok".to_string(), "v".to_string()),
            ("X-Bad".to_string(), "v\r\nVia: evil".to_string()),
            ("X-Bad Name".to_string(), "v".to_string()),
            ("Contact".to_string(), "<sip:x>".to_string()),
        ];
        assert_eq!(sanitize(h), vec![("X-Ok".to_string(), "v".to_string())]);
    }
}
