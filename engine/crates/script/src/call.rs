//! The `Call` class: one call leg as a script sees it.
//!
//! Methods check the call's state as last reported by the engine plus what
//! the script already asked for, throw a JS `Error` on misuse, and otherwise
//! turn into one `SessionCommand`. The state itself changes only on events.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use dialtone_core::messages::{CallEvent, CallState, Headers, PlayerSource, SessionCommand};
use dialtone_core::{CallId, UnitId};
use rquickjs::class::{Trace, Tracer};
use rquickjs::function::{Opt, Rest};
use rquickjs::{Class, Ctx, Exception, JsLifetime, Value};

use crate::headers;
use crate::limits::{truncate, MAX_CUSTOM_DATA};
use crate::listeners::{event_name, parse_listener, Listener, Listeners};
use crate::media::{self, loop_option, media_sink, text_arg, truthy, MAX_SOURCE_TEXT};
use crate::registry::SessionCore;

/// Default code of `reject()` without one: 486 Busy Here.
const DEFAULT_REJECT_CODE: u16 = 486;
/// Default code of `decline()` without one: 603 Decline.
const DEFAULT_DECLINE_CODE: u16 = 603;

/// What a call was created with.
pub(crate) struct CallInfo {
    pub(crate) incoming: bool,
    pub(crate) callerid: String,
    pub(crate) display_name: String,
    /// Dialed number (inbound) or the URI called (outbound).
    pub(crate) number: String,
}

#[derive(Clone, Copy)]
struct Status {
    state: CallState,
    answer_sent: bool,
    end_sent: bool,
}

#[rquickjs::class(frozen)]
pub(crate) struct Call<'js> {
    id: CallId,
    core: Rc<SessionCore>,
    info: CallInfo,
    status: Cell<Status>,
    custom_data: RefCell<String>,
    listeners: Listeners<'js>,
    /// The engine was told that the scenario answers this call's re-INVITEs.
    reinvites_handled: Cell<bool>,
    /// `Statistics` has a listener: the engine measures the call.
    statistics_on: Cell<bool>,
}

// SAFETY: `Changed` is the same type with only the `'js` lifetime replaced.
unsafe impl<'js> JsLifetime<'js> for Call<'js> {
    type Changed<'to> = Call<'to>;
}

impl<'js> Trace<'js> for Call<'js> {
    fn trace<'a>(&self, tracer: Tracer<'a, 'js>) {
        self.listeners.trace(tracer);
    }
}

impl<'js> Call<'js> {
    pub(crate) fn create(
        ctx: &Ctx<'js>,
        core: Rc<SessionCore>,
        id: CallId,
        info: CallInfo,
    ) -> rquickjs::Result<Class<'js, Call<'js>>> {
        let state = if info.incoming {
            CallState::Alerting
        } else {
            CallState::Progressing
        };
        Class::instance(
            ctx.clone(),
            Call {
                id,
                core,
                info,
                status: Cell::new(Status {
                    state,
                    answer_sent: false,
                    end_sent: false,
                }),
                custom_data: RefCell::new(String::new()),
                listeners: Listeners::default(),
                reinvites_handled: Cell::new(false),
                statistics_on: Cell::new(false),
            },
        )
    }

    pub(crate) fn call_id(&self) -> CallId {
        self.id
    }

    /// Follows the engine's report of what happened to the call.
    pub(crate) fn apply_event(&self, event: &CallEvent) {
        let mut status = self.status.get();
        status.state = match event {
            CallEvent::Connected { .. } => CallState::Connected,
            CallEvent::Failed { .. } | CallEvent::Disconnected { .. } => CallState::Terminated,
            CallEvent::StateChanged { new, .. } => *new,
            CallEvent::Ringing { .. } | CallEvent::AudioStarted { .. }
                if status.state == CallState::Alerting && !self.info.incoming =>
            {
                CallState::Progressing
            }
            _ => status.state,
        };
        self.status.set(status);
    }

    pub(crate) fn state_now(&self) -> CallState {
        self.status.get().state
    }

    pub(crate) fn send_command(&self, ctx: &Ctx<'js>, cmd: SessionCommand) -> rquickjs::Result<()> {
        self.core.send(ctx, cmd)
    }

    /// Adds a listener; the first for `ReInviteReceived` tells the engine
    /// that the scenario answers this call's re-INVITEs itself.
    pub(crate) fn add_listener(
        &self,
        ctx: &Ctx<'js>,
        name: String,
        listener: Listener<'js>,
    ) -> rquickjs::Result<()> {
        let reinvites = name == crate::events::names::REINVITE_RECEIVED;
        let statistics = name == crate::events::names::STATISTICS;
        self.listeners.add(ctx, name, listener)?;
        if statistics && !self.statistics_on.replace(true) {
            self.core.send(
                ctx,
                SessionCommand::CallStatistics {
                    call: self.id,
                    enable: true,
                },
            )?;
        }
        if reinvites && !self.reinvites_handled.replace(true) {
            self.core.send(
                ctx,
                SessionCommand::HandleReInvites {
                    call: self.id,
                    enable: true,
                },
            )?;
        }
        Ok(())
    }

    pub(crate) fn listeners(&self) -> &Listeners<'js> {
        &self.listeners
    }

    pub(crate) fn clear_listeners(&self) {
        self.listeners.clear();
    }

    /// An inbound call nobody has answered, rejected or hung up yet.
    pub(crate) fn is_pending_inbound(&self) -> bool {
        let s = self.status.get();
        self.info.incoming
            && matches!(s.state, CallState::Alerting | CallState::Progressing)
            && !s.answer_sent
            && !s.end_sent
    }

    /// A call still up and not being hung up by the script.
    pub(crate) fn is_up(&self) -> bool {
        let s = self.status.get();
        s.state != CallState::Terminated && !s.end_sent
    }

    pub(crate) fn fail(&self, ctx: &Ctx<'js>, what: &str, why: &str) -> rquickjs::Error {
        Exception::throw_message(ctx, &format!("call.{what}(): call {} {why}", self.id))
    }

    fn require_pending_inbound(&self, ctx: &Ctx<'js>, what: &str) -> rquickjs::Result<()> {
        let s = self.status.get();
        if !self.info.incoming {
            return Err(self.fail(ctx, what, "is outbound; only inbound calls can do this"));
        }
        if !matches!(s.state, CallState::Alerting | CallState::Progressing) {
            return Err(self.fail(ctx, what, &format!("is {}", s.state.as_str())));
        }
        if s.end_sent {
            return Err(self.fail(ctx, what, "is already being rejected or hung up"));
        }
        if s.answer_sent {
            return Err(self.fail(ctx, what, "has already been answered"));
        }
        Ok(())
    }

    fn update(&self, f: impl FnOnce(&mut Status)) {
        let mut s = self.status.get();
        f(&mut s);
        self.status.set(s);
    }

    pub(crate) fn send_answer(&self, ctx: &Ctx<'js>, headers: Headers) -> rquickjs::Result<()> {
        self.require_pending_inbound(ctx, "answer")?;
        self.core.send(
            ctx,
            SessionCommand::Answer {
                call: self.id,
                headers,
            },
        )?;
        self.update(|s| s.answer_sent = true);
        Ok(())
    }

    pub(crate) fn send_reject(
        &self,
        ctx: &Ctx<'js>,
        what: &str,
        code: u16,
        headers: Headers,
    ) -> rquickjs::Result<()> {
        self.require_pending_inbound(ctx, what)?;
        self.core.send(
            ctx,
            SessionCommand::Reject {
                call: self.id,
                code,
                headers,
            },
        )?;
        self.update(|s| s.end_sent = true);
        Ok(())
    }

    pub(crate) fn send_ring(&self, ctx: &Ctx<'js>, headers: Headers) -> rquickjs::Result<()> {
        self.require_pending_inbound(ctx, "ring")?;
        self.core.send(
            ctx,
            SessionCommand::Ring {
                call: self.id,
                headers,
            },
        )
    }

    pub(crate) fn send_hangup(&self, ctx: &Ctx<'js>, headers: Headers) -> rquickjs::Result<()> {
        if !self.is_up() {
            self.core.note(&format!(
                "call.hangup(): call {} has already ended",
                self.id
            ));
            return Ok(());
        }
        self.core.send(
            ctx,
            SessionCommand::Hangup {
                call: self.id,
                headers,
            },
        )?;
        self.update(|s| s.end_sent = true);
        Ok(())
    }

    /// Media actions need a call that has not ended and is not ending.
    pub(crate) fn require_up(&self, ctx: &Ctx<'js>, what: &str) -> rquickjs::Result<()> {
        let s = self.status.get();
        if s.state == CallState::Terminated {
            return Err(self.fail(ctx, what, "has ended"));
        }
        if s.end_sent {
            return Err(self.fail(ctx, what, "is being hung up"));
        }
        Ok(())
    }

    /// The call's playback: a fresh player unit owned by the call; the
    /// engine makes it replace any earlier playback.
    fn play(
        &self,
        ctx: &Ctx<'js>,
        what: &str,
        source: PlayerSource,
        looped: bool,
    ) -> rquickjs::Result<()> {
        self.require_up(ctx, what)?;
        self.core.send(
            ctx,
            SessionCommand::CreatePlayer {
                unit: media::new_unit(),
                source,
                looped,
                owner: Some(self.id),
            },
        )
    }

    fn headers(
        &self,
        ctx: &Ctx<'js>,
        what: &str,
        value: &Opt<Value<'js>>,
    ) -> rquickjs::Result<Headers> {
        headers::from_js(ctx, &self.core, &format!("call.{what}()"), value.0.as_ref())
    }

    fn reject_with(
        &self,
        ctx: &Ctx<'js>,
        what: &str,
        default_code: u16,
        code: Opt<Value<'js>>,
        headers: Opt<Value<'js>>,
    ) -> rquickjs::Result<()> {
        // The older VoxEngine form is `reject(extraHeaders)`.
        let (code, headers) = match code.0 {
            Some(v) if v.is_object() => (None, Opt(Some(v))),
            other => (other, headers),
        };
        let code = reject_code(ctx, what, code.as_ref(), default_code)?;
        let headers = self.headers(ctx, what, &headers)?;
        self.send_reject(ctx, what, code, headers)
    }
}

#[rquickjs::methods(rename_all = "camelCase")]
impl<'js> Call<'js> {
    /// The call's id, as VoxEngine gives it: a string.
    pub fn id(&self) -> String {
        self.id.to_string()
    }

    pub fn callerid(&self) -> String {
        self.info.callerid.clone()
    }

    pub fn display_name(&self) -> String {
        self.info.display_name.clone()
    }

    pub fn number(&self) -> String {
        self.info.number.clone()
    }

    pub fn incoming(&self) -> bool {
        self.info.incoming
    }

    pub fn state(&self) -> &'static str {
        self.status.get().state.as_str()
    }

    /// Gets, or sets and returns, the call's custom data string.
    pub fn custom_data(&self, ctx: Ctx<'js>, value: Opt<Value<'js>>) -> rquickjs::Result<String> {
        if let Some(value) = value.0.filter(|v| !v.is_undefined()) {
            let Some(text) = value.as_string() else {
                return Err(Exception::throw_type(
                    &ctx,
                    &format!(
                        "call.customData(): expected a string, not {}",
                        value.type_name()
                    ),
                ));
            };
            let mut text = text.to_string()?;
            truncate(&mut text, MAX_CUSTOM_DATA);
            *self.custom_data.borrow_mut() = text;
        }
        Ok(self.custom_data.borrow().clone())
    }

    #[qjs(rename = "toString")]
    pub fn describe(&self) -> String {
        format!(
            "Call(id={}, {}, callerid={}, number={}, state={})",
            self.id,
            if self.info.incoming {
                "inbound"
            } else {
                "outbound"
            },
            self.info.callerid,
            self.info.number,
            self.status.get().state.as_str()
        )
    }

    pub fn answer(
        &self,
        ctx: Ctx<'js>,
        extra_headers: Opt<Value<'js>>,
        _parameters: Opt<Value<'js>>,
    ) -> rquickjs::Result<()> {
        let headers = self.headers(&ctx, "answer", &extra_headers)?;
        self.send_answer(&ctx, headers)
    }

    pub fn reject(
        &self,
        ctx: Ctx<'js>,
        code: Opt<Value<'js>>,
        extra_headers: Opt<Value<'js>>,
    ) -> rquickjs::Result<()> {
        self.reject_with(&ctx, "reject", DEFAULT_REJECT_CODE, code, extra_headers)
    }

    pub fn decline(
        &self,
        ctx: Ctx<'js>,
        code: Opt<Value<'js>>,
        extra_headers: Opt<Value<'js>>,
    ) -> rquickjs::Result<()> {
        self.reject_with(&ctx, "decline", DEFAULT_DECLINE_CODE, code, extra_headers)
    }

    pub fn ring(&self, ctx: Ctx<'js>, extra_headers: Opt<Value<'js>>) -> rquickjs::Result<()> {
        let headers = self.headers(&ctx, "ring", &extra_headers)?;
        self.send_ring(&ctx, headers)
    }

    pub fn start_early_media(
        &self,
        ctx: Ctx<'js>,
        extra_headers: Opt<Value<'js>>,
        _rest: Rest<Value<'js>>,
    ) -> rquickjs::Result<()> {
        let headers = self.headers(&ctx, "startEarlyMedia", &extra_headers)?;
        self.require_pending_inbound(&ctx, "startEarlyMedia")?;
        self.core.send(
            &ctx,
            SessionCommand::StartEarlyMedia {
                call: self.id,
                headers,
            },
        )
    }

    pub fn hangup(&self, ctx: Ctx<'js>, extra_headers: Opt<Value<'js>>) -> rquickjs::Result<()> {
        let headers = self.headers(&ctx, "hangup", &extra_headers)?;
        self.send_hangup(&ctx, headers)
    }

    pub fn send_media_to(
        &self,
        ctx: Ctx<'js>,
        target: Value<'js>,
        _options: Opt<Value<'js>>,
    ) -> rquickjs::Result<()> {
        if let Some(conf) = crate::conference::as_conference(&target) {
            let me = crate::registry::registry(&ctx)?.call(self.id);
            if let Some(me) = me {
                let me = me.into_value();
                conf.borrow().join(
                    &ctx,
                    "call.sendMediaTo()",
                    &me,
                    crate::conference::Direction::Send,
                    None,
                    None,
                )?;
            }
            return Ok(());
        }
        let to = media_sink(&ctx, "call.sendMediaTo()", &target)?;
        let from = UnitId::from(self.id);
        self.core.send(&ctx, SessionCommand::SendMedia { from, to })
    }

    pub fn stop_media_to(&self, ctx: Ctx<'js>, target: Value<'js>) -> rquickjs::Result<()> {
        if let Some(conf) = crate::conference::as_conference(&target) {
            return conf.borrow().stop_sending(&ctx, UnitId::from(self.id));
        }
        let to = media_sink(&ctx, "call.stopMediaTo()", &target)?;
        let from = UnitId::from(self.id);
        self.core.send(&ctx, SessionCommand::StopMedia { from, to })
    }

    /// `startPlayback(url, {loop})`, or the older `startPlayback(url, loop)`.
    pub fn start_playback(
        &self,
        ctx: Ctx<'js>,
        url: Value<'js>,
        options: Opt<Value<'js>>,
    ) -> rquickjs::Result<()> {
        const WHAT: &str = "call.startPlayback()";
        let url = text_arg(&ctx, WHAT, "the URL", &url, MAX_SOURCE_TEXT)?;
        let looped = loop_option(options.0.as_ref())?;
        self.play(&ctx, "startPlayback", PlayerSource::Url(url), looped)
    }

    /// Stops whatever the call is playing; no event follows.
    pub fn stop_playback(&self, ctx: Ctx<'js>) -> rquickjs::Result<()> {
        if !self.is_up() {
            self.core.note(&format!(
                "call.stopPlayback(): call {} has already ended",
                self.id
            ));
            return Ok(());
        }
        self.core
            .send(&ctx, SessionCommand::StopPlayback { call: self.id })
    }

    /// `say(text, {voice | language, rate, ttsOptions, engine})`, or the
    /// older `say(text, language)`.
    pub fn say(
        &self,
        ctx: Ctx<'js>,
        text: Value<'js>,
        options: Opt<Value<'js>>,
    ) -> rquickjs::Result<()> {
        let source = media::tts_source(&ctx, "call.say()", &text, options.0.as_ref())?;
        self.play(&ctx, "say", source, false)
    }

    /// The country's ringback tone, looped until replaced or stopped.
    pub fn play_progress_tone(&self, ctx: Ctx<'js>, country: Value<'js>) -> rquickjs::Result<()> {
        const WHAT: &str = "call.playProgressTone()";
        let country = text_arg(&ctx, WHAT, "the country", &country, 8)?;
        let code = country.trim().to_ascii_uppercase();
        if code.len() != 2 || !code.chars().all(|c| c.is_ascii_alphabetic()) {
            return Err(Exception::throw_range(
                &ctx,
                &format!("{WHAT}: {country:?} is not a two-letter country code such as \"US\""),
            ));
        }
        self.play(
            &ctx,
            "playProgressTone",
            PlayerSource::ProgressTone(code),
            true,
        )
    }

    /// Turns `ToneReceived` events on or off (off by default).
    pub fn handle_tones(&self, ctx: Ctx<'js>, enable: Opt<Value<'js>>) -> rquickjs::Result<()> {
        self.require_up(&ctx, "handleTones")?;
        let enable = enable.0.as_ref().is_none_or(truthy);
        self.core.send(
            &ctx,
            SessionCommand::HandleTones {
                call: self.id,
                enable,
            },
        )
    }

    /// Whether the engine hangs the call up when its peer stops sending RTP
    /// (on by default; a Dialtone extension).
    pub fn hangup_on_rtp_timeout(
        &self,
        ctx: Ctx<'js>,
        enable: Opt<Value<'js>>,
    ) -> rquickjs::Result<()> {
        self.require_up(&ctx, "hangupOnRtpTimeout")?;
        let enable = enable.0.as_ref().is_none_or(truthy);
        self.core.send(
            &ctx,
            SessionCommand::RtpTimeoutHangup {
                call: self.id,
                enable,
            },
        )
    }

    /// Sends DTMF: `0-9 * # A-D`, `p` pauses.
    pub fn send_digits(&self, ctx: Ctx<'js>, digits: Value<'js>) -> rquickjs::Result<()> {
        let digits = media::digits(&ctx, "call.sendDigits()", &digits)?;
        self.require_up(&ctx, "sendDigits")?;
        self.core.send(
            &ctx,
            SessionCommand::SendDigits {
                call: self.id,
                digits,
            },
        )
    }

    /// Records the call until it ends: `RecordStarted` {url}, then
    /// `RecordStopped` {url, duration} or `RecordError` {error}.
    pub fn record(&self, ctx: Ctx<'js>, options: Opt<Value<'js>>) -> rquickjs::Result<()> {
        let options = media::record_options(&ctx, "call.record()", options.0.as_ref())?;
        self.require_up(&ctx, "record")?;
        self.core.send(
            &ctx,
            SessionCommand::CreateRecorder {
                unit: media::new_unit(),
                call: Some(self.id),
                stereo: options.stereo,
                format: options.format,
            },
        )
    }

    pub fn add_event_listener(
        &self,
        ctx: Ctx<'js>,
        event: Value<'js>,
        callback: Value<'js>,
    ) -> rquickjs::Result<()> {
        let (name, function) = parse_listener(&ctx, "call.addEventListener()", &event, &callback)?;
        self.add_listener(&ctx, name, Listener::Script(function))
    }

    pub fn remove_event_listener(
        &self,
        ctx: Ctx<'js>,
        event: Value<'js>,
        callback: Opt<Value<'js>>,
    ) -> rquickjs::Result<()> {
        let name = event_name(&ctx, "call.removeEventListener()", &event)?;
        self.listeners.remove(&name, callback.0.as_ref());
        if name == crate::events::names::STATISTICS
            && self.listeners.snapshot(&name).is_empty()
            && self.statistics_on.replace(false)
        {
            self.core.send(
                &ctx,
                SessionCommand::CallStatistics {
                    call: self.id,
                    enable: false,
                },
            )?;
        }
        if name == crate::events::names::REINVITE_RECEIVED
            && self.listeners.snapshot(&name).is_empty()
            && self.reinvites_handled.replace(false)
        {
            self.core.send(
                &ctx,
                SessionCommand::HandleReInvites {
                    call: self.id,
                    enable: false,
                },
            )?;
        }
        Ok(())
    }

    /// `sendInfo(mimeType, body, headers?)`: an INFO inside the call
    /// (body at most 8 KiB).
    pub fn send_info(
        &self,
        ctx: Ctx<'js>,
        mime_type: Opt<Value<'js>>,
        body: Opt<Value<'js>>,
        extra_headers: Opt<Value<'js>>,
    ) -> rquickjs::Result<()> {
        let headers = self.headers(&ctx, "sendInfo", &extra_headers)?;
        self.do_send_info(&ctx, mime_type, body, headers)
    }

    /// `sendMessage(text)`: a MESSAGE inside the call (at most 8 KiB).
    pub fn send_message(
        &self,
        ctx: Ctx<'js>,
        text: Value<'js>,
        extra_headers: Opt<Value<'js>>,
    ) -> rquickjs::Result<()> {
        let headers = self.headers(&ctx, "sendMessage", &extra_headers)?;
        self.do_send_message(&ctx, text, headers)
    }

    /// `acceptReInvite(headers?, mimeType?, body?)`: answers the re-INVITE
    /// of the last `ReInviteReceived` 200.
    #[qjs(rename = "acceptReInvite")]
    pub fn accept_reinvite(
        &self,
        ctx: Ctx<'js>,
        extra_headers: Opt<Value<'js>>,
        mime_type: Opt<Value<'js>>,
        body: Opt<Value<'js>>,
    ) -> rquickjs::Result<()> {
        let headers = self.headers(&ctx, "acceptReInvite", &extra_headers)?;
        self.do_reinvite_command(&ctx, true, headers, mime_type, body)
    }

    /// `rejectReInvite(headers?)`: answers it 488.
    #[qjs(rename = "rejectReInvite")]
    pub fn reject_reinvite(
        &self,
        ctx: Ctx<'js>,
        extra_headers: Opt<Value<'js>>,
    ) -> rquickjs::Result<()> {
        let headers = self.headers(&ctx, "rejectReInvite", &extra_headers)?;
        self.do_reject_reinvite(&ctx, headers)
    }

    /// `reInvite(headers?, mimeType?, body?)`: a re-INVITE to the peer;
    /// `ReInviteAccepted` or `ReInviteRejected` follows.
    #[qjs(rename = "reInvite")]
    pub fn reinvite(
        &self,
        ctx: Ctx<'js>,
        extra_headers: Opt<Value<'js>>,
        mime_type: Opt<Value<'js>>,
        body: Opt<Value<'js>>,
    ) -> rquickjs::Result<()> {
        let headers = self.headers(&ctx, "reInvite", &extra_headers)?;
        self.do_reinvite_command(&ctx, false, headers, mime_type, body)
    }

    /// `hold()` (Dialtone extension): puts the peer on hold with a
    /// `sendonly` re-INVITE; what the call is fed (music on hold from a
    /// player) still reaches it.
    pub fn hold(&self, ctx: Ctx<'js>) -> rquickjs::Result<()> {
        self.do_hold(&ctx, true)
    }

    /// `unhold()` (Dialtone extension): takes the peer off hold.
    pub fn unhold(&self, ctx: Ctx<'js>) -> rquickjs::Result<()> {
        self.do_hold(&ctx, false)
    }

    /// `handleBlindTransfer(handle)`: the peer's REFERs become
    /// `BlindTransferRequested` instead of being declined.
    pub fn handle_blind_transfer(
        &self,
        ctx: Ctx<'js>,
        handle: Opt<Value<'js>>,
    ) -> rquickjs::Result<()> {
        let enable = handle.0.as_ref().is_none_or(truthy);
        self.do_handle_blind_transfer(&ctx, enable)
    }

    /// `notifyBlindTransferSuccess()`: tells the transferor "200 OK".
    pub fn notify_blind_transfer_success(&self, ctx: Ctx<'js>) -> rquickjs::Result<()> {
        self.do_notify_blind_transfer(&ctx, "notifyBlindTransferSuccess", 200, "OK".into())
    }

    /// `notifyBlindTransferFailed(code, reason)`.
    pub fn notify_blind_transfer_failed(
        &self,
        ctx: Ctx<'js>,
        code: Opt<Value<'js>>,
        reason: Opt<Value<'js>>,
    ) -> rquickjs::Result<()> {
        let code = reject_code(&ctx, "notifyBlindTransferFailed", code.0.as_ref(), 480)?;
        let reason = match reason
            .0
            .as_ref()
            .filter(|v| !v.is_undefined() && !v.is_null())
        {
            Some(v) => text_arg(&ctx, "call.notifyBlindTransferFailed()", "reason", v, 128)?,
            None => String::new(),
        };
        self.do_notify_blind_transfer(&ctx, "notifyBlindTransferFailed", code, reason)
    }

    /// `transferTo(uri, headers?)` (Dialtone extension): asks the peer to
    /// call `uri` (a REFER); `TransferComplete` or `TransferFailed` follows.
    pub fn transfer_to(
        &self,
        ctx: Ctx<'js>,
        target: Value<'js>,
        extra_headers: Opt<Value<'js>>,
    ) -> rquickjs::Result<()> {
        let headers = self.headers(&ctx, "transferTo", &extra_headers)?;
        if let Ok(other) = Class::<Call>::from_value(&target) {
            let other = other.borrow().call_id();
            self.require_connected(&ctx, "transferTo")?;
            return self.core.send(
                &ctx,
                SessionCommand::TransferToCall {
                    call: self.id,
                    other,
                    headers,
                },
            );
        }
        self.do_transfer_to(&ctx, target, headers)
    }
}

/// The Call a script passed where one is required.
pub(crate) fn expect_call<'js>(
    ctx: &Ctx<'js>,
    what: &str,
    value: &Value<'js>,
) -> rquickjs::Result<Class<'js, Call<'js>>> {
    Class::<Call>::from_value(value).map_err(|_| {
        Exception::throw_type(
            ctx,
            &format!("{what}: expected a Call, not {}", value.type_name()),
        )
    })
}

fn reject_code<'js>(
    ctx: &Ctx<'js>,
    what: &str,
    code: Option<&Value<'js>>,
    default: u16,
) -> rquickjs::Result<u16> {
    let Some(code) = code.filter(|v| !v.is_undefined() && !v.is_null()) else {
        return Ok(default);
    };
    let Some(n) = code.as_number() else {
        return Err(Exception::throw_type(
            ctx,
            &format!(
                "call.{what}(): the code must be a number, not {}",
                code.type_name()
            ),
        ));
    };
    if n.fract() != 0.0 || !(300.0..=699.0).contains(&n) {
        return Err(Exception::throw_range(
            ctx,
            &format!("call.{what}(): {n} is not a SIP final error code (300-699)"),
        ));
    }
    Ok(n as u16)
}
