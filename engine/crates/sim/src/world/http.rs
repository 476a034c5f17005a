//! `Net` requests in the simulated world: answered from the spec's `http`
//! table after its virtual delay, or with code -1 when the spec has no entry.
//! An answer slower than the request's own timeout never arrives: the request
//! resolves at its timeout with -7, as the engine's does.

use std::time::Duration;

use dialtone_core::messages::{http_codes, HttpResult, SessionEvent};

use super::{Due, World};
use crate::expect::Action;

/// A `Net` request as the session sent it.
pub(super) struct NetRequest {
    pub id: u64,
    pub url: String,
    pub method: String,
    pub body: Option<Vec<u8>>,
    pub timeout: Duration,
}

/// An answer waiting for its `Due::HttpResponse`.
pub(super) struct PendingAnswer {
    result: HttpResult,
    /// Why the answer is not the spec's, for the timeline.
    note: Option<String>,
}

/// The answer and its virtual delay when the spec's answer takes `delay` and
/// the request gives up after `timeout`.
fn within_timeout(
    result: HttpResult,
    delay: Duration,
    timeout: Duration,
) -> (PendingAnswer, Duration) {
    if delay <= timeout {
        return (PendingAnswer { result, note: None }, delay);
    }
    let seconds = timeout.as_secs_f64();
    let answer = PendingAnswer {
        result: HttpResult::failure(
            http_codes::TIMEOUT,
            format!("no complete response within {seconds} s"),
        ),
        note: Some(format!(
            "the request's {seconds} s timeout passed; the spec answers {} after {} s",
            result.code,
            delay.as_secs_f64()
        )),
    };
    (answer, timeout)
}

impl World<'_> {
    pub(super) fn http_request(&mut self, request: NetRequest) {
        let NetRequest {
            id,
            url,
            method,
            body,
            timeout,
        } = request;
        let (result, delay) = match self.spec.http_reply(&url) {
            Some(reply) => (
                HttpResult {
                    code: reply.code,
                    headers: reply.headers.clone(),
                    text: reply.text.clone(),
                    error: (reply.code <= 0).then(|| "simulated failure".to_string()),
                },
                reply.delay,
            ),
            None => (
                HttpResult::failure(
                    http_codes::UNKNOWN,
                    "the spec has no \"http\" entry for this URL",
                ),
                Duration::ZERO,
            ),
        };
        let body = body
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default();
        self.act(Action::Http { method, url, body });
        let (answer, delay) = within_timeout(result, delay, timeout);
        self.http.insert(id, answer);
        self.schedule(delay, Due::HttpResponse(id));
    }

    pub(super) fn http_response(&mut self, id: u64) {
        if let Some(PendingAnswer { result, note }) = self.http.remove(&id) {
            match note {
                Some(note) => self.world(format!("HTTP response {}: {note}", result.code)),
                None => self.world(format!("HTTP response {}", result.code)),
            }
            self.send(SessionEvent::HttpResponse { id, result });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok() -> HttpResult {
        HttpResult {
            code: 204,
            headers: Vec::new(),
            text: String::new(),
            error: None,
        }
    }

    #[test]
    fn an_answer_within_the_timeout_is_the_specs() {
        let (answer, delay) =
            within_timeout(ok(), Duration::from_secs(10), Duration::from_secs(10));
        assert_eq!(delay, Duration::from_secs(10));
        assert_eq!(answer.result, ok());
        assert_eq!(answer.note, None);
    }

    #[test]
    fn a_slower_answer_becomes_minus_7_at_the_timeout() {
        let (answer, delay) = within_timeout(
            ok(),
            Duration::from_millis(2500),
            Duration::from_millis(1500),
        );
        assert_eq!(delay, Duration::from_millis(1500));
        assert_eq!(answer.result.code, http_codes::TIMEOUT);
        assert_eq!(
            answer.result.error.as_deref(),
            Some("no complete response within 1.5 s")
        );
        assert_eq!(answer.result.text, "");
        let note = answer.note.expect("a note for the timeline");
        assert!(note.contains("1.5 s timeout"), "{note}");
        assert!(note.contains("answers 204 after 2.5 s"), "{note}");
    }
}
