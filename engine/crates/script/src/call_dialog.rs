//! The in-dialog half of `Call`: `sendInfo`, `sendMessage`, the re-INVITE
//! methods and `hold`/`unhold`. The methods on `Call` check the call and
//! parse their arguments here, then send one `SessionCommand`.

use dialtone_core::messages::{CallState, Headers, SessionCommand};
use rquickjs::function::Opt;
use rquickjs::{Ctx, Exception, Value};

use crate::call::Call;
use crate::media::text_arg;

/// VoxEngine's limit for INFO and MESSAGE bodies.
pub(crate) const MAX_BODY: usize = 8192;
/// A MIME type is a short token; anything longer is a mistake.
const MAX_MIME_TYPE: usize = 255;
/// A relayed SDP body (re-INVITE methods) is at most this long.
const MAX_SDP: usize = 16 * 1024;

/// `(mimeType, body)` of `sendInfo` and the re-INVITE methods; both may be
/// left out where `optional`.
pub(crate) fn mime_and_body<'js>(
    ctx: &Ctx<'js>,
    what: &str,
    mime_type: &Opt<Value<'js>>,
    body: &Opt<Value<'js>>,
    max_body: usize,
    optional: bool,
) -> rquickjs::Result<(String, String)> {
    let absent = |v: &Opt<Value<'js>>| v.0.as_ref().is_none_or(|v| v.is_undefined() || v.is_null());
    let mime = match &mime_type.0 {
        _ if optional && absent(mime_type) => String::new(),
        Some(v) => text_arg(ctx, what, "mimeType", v, MAX_MIME_TYPE)?,
        None => {
            return Err(Exception::throw_type(
                ctx,
                &format!("{what}: mimeType is required"),
            ))
        }
    };
    let body = match &body.0 {
        _ if absent(body) => String::new(),
        Some(v) => text_arg(ctx, what, "body", v, max_body)?,
        None => String::new(),
    };
    Ok((mime, body))
}

impl<'js> Call<'js> {
    /// In-dialog requests need a connected call.
    pub(crate) fn require_connected(&self, ctx: &Ctx<'js>, what: &str) -> rquickjs::Result<()> {
        self.require_up(ctx, what)?;
        if self.state_now() != CallState::Connected {
            return Err(self.fail(ctx, what, "is not connected"));
        }
        Ok(())
    }

    pub(crate) fn do_send_info(
        &self,
        ctx: &Ctx<'js>,
        mime_type: Opt<Value<'js>>,
        body: Opt<Value<'js>>,
        headers: Headers,
    ) -> rquickjs::Result<()> {
        const WHAT: &str = "call.sendInfo()";
        let (mime_type, body) = mime_and_body(ctx, WHAT, &mime_type, &body, MAX_BODY, false)?;
        if mime_type.is_empty() {
            return Err(Exception::throw_type(
                ctx,
                &format!("{WHAT}: mimeType must not be empty"),
            ));
        }
        self.require_connected(ctx, "sendInfo")?;
        self.send_command(
            ctx,
            SessionCommand::SendInfo {
                call: self.call_id(),
                mime_type,
                body,
                headers,
            },
        )
    }

    pub(crate) fn do_send_message(
        &self,
        ctx: &Ctx<'js>,
        text: Value<'js>,
        headers: Headers,
    ) -> rquickjs::Result<()> {
        let text = text_arg(ctx, "call.sendMessage()", "text", &text, MAX_BODY)?;
        self.require_connected(ctx, "sendMessage")?;
        self.send_command(
            ctx,
            SessionCommand::SendMessage {
                call: self.call_id(),
                text,
                headers,
            },
        )
    }

    /// `acceptReInvite` (`accept`) or `reInvite`: both carry headers, a MIME
    /// type and an optional SDP body whose direction the engine applies.
    pub(crate) fn do_reinvite_command(
        &self,
        ctx: &Ctx<'js>,
        accept: bool,
        headers: Headers,
        mime_type: Opt<Value<'js>>,
        body: Opt<Value<'js>>,
    ) -> rquickjs::Result<()> {
        let name = if accept { "acceptReInvite" } else { "reInvite" };
        let what = format!("call.{name}()");
        let (mime_type, body) = mime_and_body(ctx, &what, &mime_type, &body, MAX_SDP, true)?;
        self.require_connected(ctx, name)?;
        let call = self.call_id();
        let cmd = if accept {
            SessionCommand::AcceptReInvite {
                call,
                mime_type,
                body,
                headers,
            }
        } else {
            SessionCommand::ReInvite {
                call,
                mime_type,
                body,
                headers,
            }
        };
        self.send_command(ctx, cmd)
    }

    pub(crate) fn do_reject_reinvite(
        &self,
        ctx: &Ctx<'js>,
        headers: Headers,
    ) -> rquickjs::Result<()> {
        self.require_connected(ctx, "rejectReInvite")?;
        self.send_command(
            ctx,
            SessionCommand::RejectReInvite {
                call: self.call_id(),
                headers,
            },
        )
    }

    pub(crate) fn do_hold(&self, ctx: &Ctx<'js>, hold: bool) -> rquickjs::Result<()> {
        self.require_connected(ctx, if hold { "hold" } else { "unhold" })?;
        self.send_command(
            ctx,
            SessionCommand::Hold {
                call: self.call_id(),
                hold,
            },
        )
    }

    pub(crate) fn do_handle_blind_transfer(
        &self,
        ctx: &Ctx<'js>,
        enable: bool,
    ) -> rquickjs::Result<()> {
        self.require_up(ctx, "handleBlindTransfer")?;
        self.send_command(
            ctx,
            SessionCommand::HandleBlindTransfer {
                call: self.call_id(),
                enable,
            },
        )
    }

    pub(crate) fn do_notify_blind_transfer(
        &self,
        ctx: &Ctx<'js>,
        what: &str,
        code: u16,
        reason: String,
    ) -> rquickjs::Result<()> {
        self.require_connected(ctx, what)?;
        self.send_command(
            ctx,
            SessionCommand::NotifyBlindTransfer {
                call: self.call_id(),
                code,
                reason,
            },
        )
    }

    pub(crate) fn do_transfer_to(
        &self,
        ctx: &Ctx<'js>,
        target: Value<'js>,
        headers: Headers,
    ) -> rquickjs::Result<()> {
        const WHAT: &str = "call.transferTo()";
        let target = text_arg(ctx, WHAT, "target", &target, MAX_MIME_TYPE * 8)?;
        let uri_ok = (target.starts_with("sip:") || target.starts_with("sips:"))
            && !target.contains(['<', '>', '\r', '\n', ' ']);
        if !uri_ok {
            return Err(Exception::throw_type(
                ctx,
                &format!("{WHAT}: the target must be a SIP URI (sip:user@host), not {target:?}"),
            ));
        }
        self.require_connected(ctx, "transferTo")?;
        self.send_command(
            ctx,
            SessionCommand::TransferTo {
                call: self.call_id(),
                target,
                headers,
            },
        )
    }
}
