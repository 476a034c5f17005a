//! Requests to the session's `accessURL` in the simulated world: handed to
//! the call core at the spec's time, as the engine's HTTP listener does, and
//! the session's answer is written down when it gives it (at once, or later
//! for a promise). A request made after the session ended gets the engine's
//! 404; one still open when the session ends gets "no answer".

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use dialtone_core::messages::{AccessReplySlot, AccessRequest, AccessResponse};
use tokio::sync::oneshot::{self, error::TryRecvError};

use super::World;
use crate::expect::{one_line, Action};
use crate::spec::Request;

/// Where simulated sessions' `accessURL`s start.
pub(crate) const ACCESS_BASE: &str = "http://dialtone.test/access";

/// The spec's `path` below the access path: `""` stays the access path
/// itself, anything else is joined with one `/`.
fn below(path: &str) -> String {
    match path {
        "" => String::new(),
        p if p.starts_with('/') => p.to_string(),
        p => format!("/{p}"),
    }
}

impl World<'_> {
    pub(super) fn access_request(&mut self, request: &Request) {
        let below = below(&request.path);
        let mut seen = format!("request {} <accessURL>{below}", request.method);
        if !request.content.is_empty() {
            seen.push(' ');
            seen.push_str(&one_line(&request.content));
        }
        self.note(seen);
        let id = self.next_request;
        self.next_request += 1;
        let (reply, answer) = AccessReplySlot::new();
        let path = format!("/access/{}/{}{below}", self.session, self.access_token);
        let request = AccessRequest {
            method: request.method.clone(),
            path,
            content: request.content.clone(),
            headers: request.headers.clone(),
            reply,
        };
        let token = self.access_token.clone();
        if let Err(request) = self.core.access(self.session, &token, request) {
            request.reply.send(dialtone_calls::access_not_found());
        }
        self.drain();
        self.watch_answer(id, answer);
    }

    /// Writes the answer down if it is there; else waits for it with a
    /// waker that queues `Item::Answer(id)` in the inbox, in order with what
    /// the session does around it.
    fn watch_answer(&mut self, id: u64, mut answer: oneshot::Receiver<AccessResponse>) {
        let waker = self.inbox.answer_waker(id);
        let mut cx = Context::from_waker(&waker);
        // Outside tokio's cooperative budget: a spent budget would wake the
        // waker at once, with no answer there.
        let mut poll = tokio::task::unconstrained(&mut answer);
        match Pin::new(&mut poll).poll(&mut cx) {
            Poll::Ready(result) => self.answered(result.ok()),
            Poll::Pending => {
                self.answers.insert(id, answer);
            }
        }
    }

    /// The session answered request `id`, or dropped it.
    pub(super) fn answer_ready(&mut self, id: u64) {
        let Some(mut answer) = self.answers.remove(&id) else {
            return;
        };
        match answer.try_recv() {
            Ok(response) => self.answered(Some(response)),
            Err(TryRecvError::Closed) if !self.inbox.end_is_queued(self.session) => {
                // The session lives on: the promise its handler returned can
                // never settle (nothing holds its resolve functions).
                self.note("no answer: the session dropped the request".into());
            }
            Err(TryRecvError::Closed) => self.answered(None),
            Err(TryRecvError::Empty) => self.watch_answer(id, answer),
        }
    }

    /// Answers still open when the world stops: the session is gone.
    pub(super) fn settle_answers(&mut self) {
        let mut open: Vec<u64> = self.answers.keys().copied().collect();
        open.sort_unstable();
        for id in open {
            if let Some(mut answer) = self.answers.remove(&id) {
                self.answered(answer.try_recv().ok());
            }
        }
    }

    fn answered(&mut self, response: Option<AccessResponse>) {
        match response {
            Some(response) => self.act(Action::Response {
                status: response.status,
                content_type: response.content_type.map(str::to_owned),
                body: response.body,
            }),
            None => self.note("no answer: the session ended".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_joined_below_the_access_path() {
        assert_eq!(below(""), "");
        assert_eq!(below("/extra"), "/extra");
        assert_eq!(below("extra/x"), "/extra/x");
    }
}
