//! `Net` requests in the simulated world: answered from the spec's `http`
//! table after its virtual delay, or with code -1 when the spec has no entry.
//! An answer slower than the request's own timeout never arrives: the request
//! resolves at its timeout with -7, as the engine's does.

use std::time::Duration;

use dialtone_calls::{HttpJob, JobResult};
use dialtone_core::messages::{http_codes, HttpResult};

use crate::spec::Spec;

/// An answer and why it is not the spec's, if it is not.
struct PendingAnswer {
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

/// How the simulated web answers `request`: the result, after how long,
/// and a line for the timeline.
pub(super) fn answer(spec: &Spec, request: &HttpJob) -> (JobResult, Duration, String) {
    let (result, delay) = match spec.http_reply(&request.url) {
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
    let (PendingAnswer { result, note }, delay) = within_timeout(result, delay, request.timeout);
    let line = match note {
        Some(note) => format!("HTTP response {}: {note}", result.code),
        None => format!("HTTP response {}", result.code),
    };
    let done = JobResult::Http {
        session: request.session,
        id: request.id,
        result,
    };
    (done, delay, line)
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
