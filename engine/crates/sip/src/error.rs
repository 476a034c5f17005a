use thiserror::Error;

/// Why bytes are not a SIP message, or a header value does not follow its grammar.
///
/// The `Display` text doubles as the reason phrase of the 400 we answer with, so it
/// names the offending part.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParseError {
    #[error("message too large")]
    TooLarge,
    #[error("too many headers")]
    TooManyHeaders,
    #[error("truncated message")]
    Truncated,
    #[error("bad start line")]
    BadStartLine,
    #[error("bad SIP version")]
    BadVersion,
    #[error("bad status code")]
    BadStatusCode,
    #[error("bad header line")]
    BadHeaderLine,
    #[error("control character in message head")]
    ControlCharacter,
    #[error("message head is not UTF-8")]
    BadEncoding,
    #[error("bad Content-Length")]
    BadContentLength,
    #[error("unsupported URI scheme")]
    UnsupportedScheme,
    #[error("missing {0} header")]
    Missing(&'static str),
    #[error("bad {0}")]
    Invalid(&'static str),
}

impl ParseError {
    /// The error as a response reason phrase ("Bad Content-Length").
    pub fn reason_phrase(&self) -> String {
        let text = self.to_string();
        let mut chars = text.chars();
        match chars.next() {
            Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
            None => text,
        }
    }
}
