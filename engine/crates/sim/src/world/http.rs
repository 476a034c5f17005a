//! `Net` requests in the simulated world: answered from the spec's `http`
//! table after its virtual delay, or with code -1 when the spec has no entry.

use dialtone_core::messages::{http_codes, HttpResult, SessionEvent};

use super::{Due, World};
use crate::expect::Action;

impl World<'_> {
    pub(super) fn http_request(&mut self, id: u64, url: String, method: String) {
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
                Default::default(),
            ),
        };
        self.act(Action::Http { method, url });
        self.http.insert(id, result);
        self.schedule(delay, Due::HttpResponse(id));
    }

    pub(super) fn http_response(&mut self, id: u64) {
        if let Some(result) = self.http.remove(&id) {
            self.world(format!("HTTP response {}", result.code));
            self.send(SessionEvent::HttpResponse { id, result });
        }
    }
}
