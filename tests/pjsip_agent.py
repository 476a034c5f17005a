#!/usr/bin/env python3
"""A PJSIP (pjsua2) user agent for interop tests, one agent per process.

Modes:
  call URI   place one call to URI, play a WAV into it, record what comes back,
             hang up after --duration seconds of talk
  answer     wait for calls on --port; answer (or reject with --reply CODE),
             play and record; stay until the peer hangs up (or --duration)

stdout carries only JSON lines, one per event, so a test can wait on them:
  {"event": "listening", "port": 5070, "transport": "udp", ...}
  {"event": "incoming", "call": 0, "from": "...", "msg": "INVITE ..."}
  {"event": "state", "call": 0, "state": "EARLY", "code": 180, "reason": "Ringing"}
  {"event": "media", "call": 0, "active": true, "remote_rtp": "127.0.0.1:20002", "tx_pt": 0}
  {"event": "confirmed", "call": 0}
  {"event": "disconnected", "call": 0, "code": 486, "reason": "Busy Here", "connected": false}
  {"event": "dtmf_sent", "call": 0, "digit": "5", "method": "rfc2833"}      (--dtmf)
  {"event": "dtmf", "call": 0, "digit": "5", "method": "rfc2833"}           (one per digit received)
  {"event": "media", ..., "status": 3, "status_name": "REMOTE_HOLD"}           (hold seen by this agent)
  {"event": "info", "call": 0, "content_type": "...", "body": "..."}        (INFO received)
  {"event": "message", "call": 0, "content_type": "...", "body": "..."}     (MESSAGE received)
  {"event": "answered", "call": 0, "method": "UPDATE", "code": 200, ...}    (our in-dialog request answered)
  {"event": "xfer_status", "call": 0, "code": 200, "final": true}          (NOTIFY about our REFER; 2xx final hangs up)
  {"event": "xfer_request", "call": 0, "new_call": 1, "dst": "..."}        (the peer's REFER: we call dst)
  {"event": "replaced", "call": 0, "new_call": 1}                          (an INVITE with Replaces took call 0's place)
  {"event": "reg_state", "code": 200, "reason": "OK", "expiration": 300}      (--register)
  {"event": "exit", "status": 0}
PJSIP's own log goes to stderr.

With --control, stdin takes one command per line, for a test that times the
agent's actions on what it observes elsewhere (acted on within ~20 ms):
  dtmf DIGITS     queue digits on the current call (sent --dtmf-gap apart)
  hangup          hang up the current call (or cancel/reject it)
  hold            put the current call on hold (re-INVITE, --hold-type style)
  unhold          take it off hold (re-INVITE with sendrecv)
  update          send an UPDATE with a fresh offer
  info TYPE BODY  send an INFO with that content type and body
  message TEXT    send a MESSAGE (text/plain) inside the current call
  xfer URI        blind-transfer the current call's peer to URI (REFER)
  dial URI        place one more call (its index follows the last one's)
  ping            nothing; its acknowledgement tells the agent's clock (t)
  xfer_replaces I J  attended transfer: REFER on call I naming call J's
                  dialog (Replaces), so call I's peer takes call J's place
each acknowledged with {"event": "command", "command": "...", "ok": true}.

PJSIP runs single-threaded here (threadCnt=0, mainThreadOnly) on the null audio
device; every Call object stays referenced until shutdown, players and recorders
are freed before libDestroy() and the process leaves with os._exit().
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import re
import signal
import sys
import threading
import time

# stdout is for events only: hand the original stdout to the event writer and
# point fd 1 (where PJSIP's C logging writes) at stderr before PJSIP loads.
_EVENT_FD = os.dup(1)
os.dup2(2, 1)
_events = os.fdopen(_EVENT_FD, "w", buffering=1)
sys.stdout = sys.stderr

import pjsua2 as pj  # noqa: E402  (must load after the redirection above)

_T0 = time.monotonic()


def emit(event: str, **fields) -> None:
    rec = {"event": event, "t": round(time.monotonic() - _T0, 3)}
    rec.update(fields)
    _events.write(json.dumps(rec) + "\n")
    _events.flush()


STATE_NAMES = {
    pj.PJSIP_INV_STATE_NULL: "NULL",
    pj.PJSIP_INV_STATE_CALLING: "CALLING",
    pj.PJSIP_INV_STATE_INCOMING: "INCOMING",
    pj.PJSIP_INV_STATE_EARLY: "EARLY",
    pj.PJSIP_INV_STATE_CONNECTING: "CONNECTING",
    pj.PJSIP_INV_STATE_CONFIRMED: "CONFIRMED",
    pj.PJSIP_INV_STATE_DISCONNECTED: "DISCONNECTED",
}


def _header(message: str, name: str) -> str:
    """The first value of header ``name`` (lower case) in a raw message."""
    head = message.replace("\r\n", "\n").partition("\n\n")[0]
    for line in head.split("\n")[1:]:
        key, _, value = line.partition(":")
        if key.strip().lower() == name:
            return value.strip()
    return ""


def strip_telephone_event(sdp: str) -> str:
    """Remove RFC 4733 telephone-event payload types from every m= line."""
    lines = sdp.replace("\r\n", "\n").split("\n")
    drop = set()
    for line in lines:
        m = re.match(r"a=rtpmap:(\d+)\s+telephone-event/", line, re.I)
        if m:
            drop.add(m.group(1))
    if not drop:
        return sdp
    out = []
    for line in lines:
        if line.startswith("m="):
            parts = line.split(" ")
            line = " ".join(parts[:3] + [p for p in parts[3:] if p not in drop])
        else:
            m = re.match(r"a=(rtpmap|fmtp):(\d+)[\s]", line)
            if m and m.group(2) in drop:
                continue
        out.append(line)
    return "\r\n".join(out)


DTMF_METHODS = {
    "rfc2833": pj.PJSUA_DTMF_METHOD_RFC2833,
    "info": pj.PJSUA_DTMF_METHOD_SIP_INFO,
}
DTMF_METHOD_NAMES = {v: k for k, v in DTMF_METHODS.items()}
MEDIA_STATUS_NAMES = {
    pj.PJSUA_CALL_MEDIA_NONE: "NONE",
    pj.PJSUA_CALL_MEDIA_ACTIVE: "ACTIVE",
    pj.PJSUA_CALL_MEDIA_LOCAL_HOLD: "LOCAL_HOLD",
    pj.PJSUA_CALL_MEDIA_REMOTE_HOLD: "REMOTE_HOLD",
}


class AgentCall(pj.Call):
    def __init__(self, agent: "Agent", acc: pj.Account, call_id: int = pj.PJSUA_INVALID_ID):
        super().__init__(acc, call_id)
        self.agent = agent
        self.index = len(agent.calls)
        self.connected_at: float | None = None
        self.disconnected = False
        self.media_linked = False
        self.answer_at: float | None = None
        self.hangup_at: float | None = None
        # Digits still to send (--dtmf) and when the next one is due.
        self.dtmf_queue: list[str] = list(agent.args.dtmf or "")
        self.dtmf_at: float | None = None
        self.last_digit_at: float | None = None

    # Exceptions must not escape into PJSIP's C callbacks.
    def _guard(self, fn, *args):
        try:
            fn(*args)
        except Exception as exc:  # pragma: no cover - reported to the test
            emit("error", call=self.index, where=fn.__name__, error=repr(exc))

    def onCallState(self, prm):
        self._guard(self._on_state)

    def onCallMediaState(self, prm):
        self._guard(self._on_media)

    def onDtmfDigit(self, prm):
        # PJSIP calls this once per digit, whatever the method it came by.
        method = DTMF_METHOD_NAMES.get(prm.method, str(prm.method))
        emit("dtmf", call=self.index, digit=str(prm.digit), method=method)

    def onCallTransferStatus(self, prm):
        emit("xfer_status", call=self.index, code=int(prm.statusCode), reason=prm.reason,
             final=bool(prm.finalNotify))
        if prm.finalNotify and 200 <= prm.statusCode < 300:
            # As pjsua does: the transfer is done, this call has no more use.
            self.hangup_at = time.monotonic()

    def onCallTransferRequest(self, prm):
        # Accept (202) and place the new call with an object we keep, so its
        # media is linked and its events reported like any other call.
        new = AgentCall(self.agent, self.agent.acc)
        self.agent.calls.append(new)
        prm.newCall = new
        emit("xfer_request", call=self.index, new_call=new.index, dst=prm.dstUri)

    def onCallReplaced(self, prm):
        # An INVITE with Replaces took this call's place (an attended
        # transfer): the new call gets an object we keep, like any other.
        new = AgentCall(self.agent, self.agent.acc, prm.newCallId)
        self.agent.calls.append(new)
        prm.newCall = new
        emit("replaced", call=self.index, new_call=new.index)

    def onInstantMessage(self, prm):
        emit("message", call=self.index, content_type=prm.contentType, body=prm.msgBody)

    def onCallTsxState(self, prm):
        self._guard(self._on_tsx, prm)

    def _on_tsx(self, prm):
        # An INFO the peer sent (pjsua answers it 200 itself).
        e = prm.e
        if e.type != pj.PJSIP_EVENT_TSX_STATE:
            return
        ts = e.body.tsxState
        tsx = ts.tsx
        if (tsx.role != pj.PJSIP_ROLE_UAS and tsx.method in ("INVITE", "UPDATE")
                and ts.type == pj.PJSIP_EVENT_RX_MSG and tsx.statusCode >= 200
                and self.connected_at is not None):
            # The answer to a request of ours in the dialog (a re-INVITE,
            # an UPDATE: hold, unhold, session refresh).
            emit("answered", call=self.index, method=tsx.method, code=int(tsx.statusCode),
                 session_expires=_header(ts.src.rdata.wholeMsg, "session-expires"))
        if (tsx.role == pj.PJSIP_ROLE_UAS and tsx.method == "INFO"
                and ts.type == pj.PJSIP_EVENT_RX_MSG):
            whole = ts.src.rdata.wholeMsg
            head, _, body = whole.replace("\r\n", "\n").partition("\n\n")
            ctype = ""
            for line in head.split("\n"):
                name, _, value = line.partition(":")
                if name.strip().lower() in ("content-type", "c"):
                    ctype = value.strip()
            if "dtmf" not in ctype:
                emit("info", call=self.index, content_type=ctype, body=body)

    def onCallSdpCreated(self, prm):
        if self.agent.args.no_telephone_event:
            try:
                prm.sdp.wholeSdp = strip_telephone_event(prm.sdp.wholeSdp)
            except Exception as exc:  # pragma: no cover
                emit("error", call=self.index, where="sdp", error=repr(exc))

    def _on_state(self):
        ci = self.getInfo()
        name = STATE_NAMES.get(ci.state, str(ci.state))
        emit("state", call=self.index, state=name, code=ci.lastStatusCode, reason=ci.lastReason)
        if ci.state == pj.PJSIP_INV_STATE_CONFIRMED and self.connected_at is None:
            self.connected_at = time.monotonic()
            if self.agent.args.duration is not None:
                self.hangup_at = self.connected_at + self.agent.args.duration
            if self.dtmf_queue:
                self.dtmf_at = self.connected_at + self.agent.args.dtmf_delay
            emit("confirmed", call=self.index)
        elif ci.state == pj.PJSIP_INV_STATE_DISCONNECTED and not self.disconnected:
            self.disconnected = True
            emit("disconnected", call=self.index, code=ci.lastStatusCode, reason=ci.lastReason,
                 connected=self.connected_at is not None,
                 talk_s=round(time.monotonic() - self.connected_at, 3) if self.connected_at else 0.0)
            self.agent.on_call_ended(self)

    def _on_media(self):
        ci = self.getInfo()
        for mi in ci.media:
            if mi.type != pj.PJMEDIA_TYPE_AUDIO:
                continue
            active = mi.status == pj.PJSUA_CALL_MEDIA_ACTIVE
            extra = {}
            if active:
                # Where our RTP goes and with which payload type (the peer's
                # port, for a test that aims packets at it).
                si = self.getStreamInfo(mi.index)
                extra = {"remote_rtp": si.remoteRtpAddress, "tx_pt": int(si.txPt)}
            emit("media", call=self.index, active=active, status=int(mi.status),
                 status_name=MEDIA_STATUS_NAMES.get(mi.status, str(mi.status)), **extra)
            if active or mi.status == pj.PJSUA_CALL_MEDIA_REMOTE_HOLD:
                # Linked again after every media update: a hold and unhold
                # may give the call a new audio port. Held by the peer, the
                # call still receives (music on hold).
                self.media_linked = True
                aud = self.getAudioMedia(mi.index)
                player, recorder = self.agent.media_units()
                if player is not None:
                    player.startTransmit(aud)
                if recorder is not None:
                    aud.startTransmit(recorder)

    def send_next_digit(self) -> None:
        """One digit per call, ``--dtmf-gap`` apart: pjsua mutes its audio while a
        2833 digit goes out, and a receiver must see separate key presses."""
        digit = self.dtmf_queue.pop(0)
        self.last_digit_at = time.monotonic()
        self.dtmf_at = time.monotonic() + self.agent.args.dtmf_gap if self.dtmf_queue else None
        if digit in "pP,":
            return
        prm = pj.CallSendDtmfParam()
        prm.digits = digit
        prm.method = DTMF_METHODS[self.agent.args.dtmf_method]
        prm.duration = int(self.agent.args.dtmf_duration * 1000)
        try:
            self.sendDtmf(prm)
            emit("dtmf_sent", call=self.index, digit=digit, method=self.agent.args.dtmf_method)
        except pj.Error as exc:
            emit("error", call=self.index, where="dtmf", error=exc.info())

    def hangup_now(self, code: int = 0) -> None:
        if self.disconnected:
            return
        op = pj.CallOpParam()
        if code:
            op.statusCode = code
        try:
            self.hangup(op)
        except pj.Error as exc:
            emit("error", call=self.index, where="hangup", error=exc.info())


class AgentAccount(pj.Account):
    def __init__(self, agent: "Agent"):
        super().__init__()
        self.agent = agent

    def onRegState(self, prm):
        emit("reg_state", code=prm.code, reason=prm.reason, expiration=prm.expiration)

    def onIncomingCall(self, prm):
        try:
            self.agent.on_incoming(self, prm)
        except Exception as exc:  # pragma: no cover
            emit("error", where="incoming", error=repr(exc))


class Agent:
    def __init__(self, args):
        self.args = args
        self.calls: list[AgentCall] = []  # never shrinks: see module docstring
        self.ended = 0
        self.stop_requested = False
        self.player = None
        self.recorder = None
        self.ep = pj.Endpoint()
        self.ep.libCreate()

        cfg = pj.EpConfig()
        cfg.uaConfig.threadCnt = 0
        cfg.uaConfig.mainThreadOnly = True
        cfg.uaConfig.maxCalls = 4
        cfg.uaConfig.userAgent = "dialtone-interop-agent"
        cfg.logConfig.level = args.log_level
        cfg.logConfig.consoleLevel = args.log_level
        cfg.medConfig.clockRate = args.clock_rate
        cfg.medConfig.sndClockRate = args.clock_rate
        cfg.medConfig.noVad = True
        cfg.medConfig.ecTailLen = 0
        self.ep.libInit(cfg)

        tcfg = pj.TransportConfig()
        tcfg.port = args.port
        tcfg.boundAddress = "127.0.0.1"
        tcfg.publicAddress = "127.0.0.1"
        ttype = pj.PJSIP_TRANSPORT_TCP if args.transport == "tcp" else pj.PJSIP_TRANSPORT_UDP
        self.tid = self.ep.transportCreate(ttype, tcfg)
        self.ep.libStart()
        self.ep.audDevManager().setNullDev()

        if args.codec:
            wanted = {c.upper() for c in args.codec}
            for info in self.ep.codecEnum2():
                name = info.codecId.split("/")[0].upper()
                self.ep.codecSetPriority(info.codecId, 255 if name in wanted else 0)

        local = self.ep.transportGetInfo(self.tid).localName  # "127.0.0.1:PORT"
        self.port = int(local.rsplit(":", 1)[1])
        suffix = ";transport=tcp" if args.transport == "tcp" else ""

        acfg = pj.AccountConfig()
        acfg.idUri = f"sip:{args.user}@127.0.0.1:{self.port}{suffix}"
        if args.display_name:
            quoted = args.display_name.replace("\\", "\\\\").replace('"', '\\"')
            acfg.idUri = f'"{quoted}" <{acfg.idUri}>'
        acfg.sipConfig.transportId = self.tid
        if args.register:
            # A registered phone: its address of record, the registrar, and
            # digest credentials for any realm.
            acfg.idUri = args.register
            acfg.regConfig.registrarUri = args.registrar
            acfg.regConfig.timeoutSec = args.reg_expires
            acfg.regConfig.retryIntervalSec = 0
            auth_user = args.auth_user or re.sub(r"^sips?:([^@]+)@.*$", r"\1", args.register)
            acfg.sipConfig.authCreds.append(pj.AuthCredInfo("digest", "*", auth_user, 0, args.password))
        if args.session_expires:
            # RFC 4028: ask for (and require) a session timer of that length.
            acfg.callConfig.timerUse = pj.PJSUA_SIP_TIMER_ALWAYS
            acfg.callConfig.timerSessExpiresSec = args.session_expires
            acfg.callConfig.timerMinSESec = min(90, args.session_expires)
        else:
            acfg.callConfig.timerUse = pj.PJSUA_SIP_TIMER_INACTIVE
        acfg.callConfig.prackUse = pj.PJSUA_100REL_NOT_USED
        acfg.callConfig.holdType = (pj.PJSUA_CALL_HOLD_TYPE_RFC2543 if args.hold_type == "rfc2543"
                                    else pj.PJSUA_CALL_HOLD_TYPE_RFC3264)
        acfg.natConfig.contactRewriteUse = 0
        acfg.natConfig.viaRewriteUse = 0
        acfg.natConfig.sdpNatRewriteUse = 0
        acfg.mediaConfig.transportConfig.boundAddress = "127.0.0.1"
        acfg.mediaConfig.transportConfig.publicAddress = "127.0.0.1"
        if args.rtp_port:
            acfg.mediaConfig.transportConfig.port = args.rtp_port
            acfg.mediaConfig.transportConfig.portRange = max(2, args.rtp_port_range)
        self.acc = AgentAccount(self)
        self.acc.create(acfg)
        emit("listening", port=self.port, transport=args.transport, uri=acfg.idUri, pid=os.getpid())

    # -- media ---------------------------------------------------------------------
    def media_units(self):
        if self.player is None and self.args.play:
            self.player = pj.AudioMediaPlayer()
            # Loops by default; --play-once plays the file a single time.
            self.player.createPlayer(self.args.play, pj.PJMEDIA_FILE_NO_LOOP if self.args.play_once else 0)
        if self.recorder is None and self.args.record:
            self.recorder = pj.AudioMediaRecorder()
            self.recorder.createRecorder(self.args.record)
            emit("recording", path=self.args.record)
        return self.player, self.recorder

    # -- calls ---------------------------------------------------------------------
    def on_incoming(self, acc, prm):
        call = AgentCall(self, acc, prm.callId)
        self.calls.append(call)
        ci = call.getInfo()
        emit("incoming", call=call.index, remote=ci.remoteUri, local=ci.localUri,
             msg=prm.rdata.wholeMsg)
        if len(self.calls) > self.args.calls:
            call.hangup_now(486)
            return
        op = pj.CallOpParam()
        # --auto-answer: as a desk phone that allows it, an INVITE asking
        # for it (Call-Info answer-after=0) is answered at once.
        if self.args.auto_answer and "answer-after=0" in _header(prm.rdata.wholeMsg, "call-info"):
            emit("auto_answer", call=call.index)
            op.statusCode = 200
            call.answer(op)
            return
        reply = self.args.reply
        if reply >= 300:
            if self.args.answer_delay > 0:
                op.statusCode = 180
                call.answer(op)
                call.answer_at = time.monotonic() + self.args.answer_delay
            else:
                call.hangup_now(reply)
            return
        if self.args.answer_delay > 0:
            op.statusCode = 180
            call.answer(op)
            call.answer_at = time.monotonic() + self.args.answer_delay
        else:
            op.statusCode = 200
            call.answer(op)

    def place_call(self, uri: str) -> None:
        call = AgentCall(self, self.acc)
        self.calls.append(call)
        op = pj.CallOpParam(True)
        for spec in self.args.header or ():
            name, _, value = spec.partition(":")
            h = pj.SipHeader()
            h.hName = name.strip()
            h.hValue = value.strip()
            op.txOption.headers.append(h)
        call.makeCall(uri, op)
        emit("calling", call=call.index, uri=uri)

    def on_call_ended(self, call: AgentCall) -> None:
        self.ended += 1

    # -- --control: commands on stdin --------------------------------------------------
    def start_control(self) -> None:
        """Read stdin in a thread (it never touches PJSIP); tick() runs the commands."""
        self.commands: queue.Queue = queue.Queue()

        def reader():
            for line in sys.stdin:
                if line.strip():
                    self.commands.put(line.strip())

        threading.Thread(target=reader, daemon=True).start()

    def run_commands(self) -> None:
        commands = getattr(self, "commands", None)
        while commands is not None:
            try:
                line = commands.get_nowait()
            except queue.Empty:
                return
            verb, _, rest = line.partition(" ")
            live = [c for c in self.calls if not c.disconnected]
            call = live[-1] if live else None
            ok, why = True, ""
            if verb == "ping":
                pass  # the acknowledgement carries the agent's clock
            elif call is None:
                ok, why = False, "no live call"
            elif verb == "dtmf" and rest.strip():
                call.dtmf_queue.extend(rest.strip())
                if call.dtmf_at is None:  # keep --dtmf-gap from the digit before
                    last = call.last_digit_at
                    gap = self.args.dtmf_gap
                    call.dtmf_at = time.monotonic() if last is None else max(time.monotonic(), last + gap)
            elif verb == "hangup":
                emit("hangup", call=call.index)
                call.hangup_now()
            elif verb == "dial" and rest.strip():
                self.place_call(rest.strip())
            elif verb == "xfer_replaces":
                try:
                    i, j = (int(x) for x in rest.split())
                    self.calls[i].xferReplaces(self.calls[j], pj.CallOpParam(True))
                except (ValueError, IndexError) as exc:
                    ok, why = False, repr(exc)
                except pj.Error as exc:
                    ok, why = False, exc.info()
            elif verb in ("hold", "unhold", "update", "info", "message", "xfer"):
                try:
                    self.in_dialog(call, verb, rest)
                except pj.Error as exc:
                    ok, why = False, exc.info()
            else:
                ok, why = False, "unknown command"
            emit("command", command=line, ok=ok, **({"error": why} if why else {}))

    @staticmethod
    def in_dialog(call: AgentCall, verb: str, rest: str) -> None:
        if verb == "hold":
            call.setHold(pj.CallOpParam(True))
        elif verb == "unhold":
            op = pj.CallOpParam(True)
            op.opt.flag = pj.PJSUA_CALL_UNHOLD
            call.reinvite(op)
        elif verb == "update":
            call.update(pj.CallOpParam(True))
        elif verb == "xfer":
            call.xfer(rest.strip(), pj.CallOpParam(True))
        elif verb == "info":
            ctype, _, body = rest.strip().partition(" ")
            prm = pj.CallSendRequestParam()
            prm.method = "INFO"
            prm.txOption.contentType = ctype
            prm.txOption.msgBody = body
            call.sendRequest(prm)
        else:
            prm = pj.SendInstantMessageParam()
            prm.contentType = "text/plain"
            prm.content = rest.strip()
            call.sendInstantMessage(prm)

    def done(self) -> bool:
        if self.stop_requested:
            return True
        if self.args.mode == "call":
            return bool(self.calls) and all(c.disconnected for c in self.calls)
        return self.ended >= self.args.calls

    def tick(self) -> None:
        self.run_commands()
        now = time.monotonic()
        for call in self.calls:
            if call.disconnected:
                continue
            if call.answer_at is not None and now >= call.answer_at:
                call.answer_at = None
                if self.args.reply >= 300:
                    call.hangup_now(self.args.reply)
                else:
                    op = pj.CallOpParam()
                    op.statusCode = 200
                    call.answer(op)
            if call.dtmf_at is not None and now >= call.dtmf_at and call.dtmf_queue:
                call.send_next_digit()
            if call.hangup_at is not None and now >= call.hangup_at:
                call.hangup_at = None
                emit("hangup", call=call.index)
                call.hangup_now()

    def run(self) -> int:
        deadline = time.monotonic() + self.args.max_time
        if self.args.control:
            self.start_control()
        if self.args.mode == "call":
            self.place_call(self.args.uri)
        status = 0
        while not self.done():
            if time.monotonic() > deadline:
                emit("timeout", max_time=self.args.max_time)
                status = 2
                break
            self.ep.libHandleEvents(20)
            self.tick()
        return status

    def shutdown(self, status: int) -> None:
        # Hang up whatever is still up and let the BYEs go out.
        for call in self.calls:
            call.hangup_now()
        end = time.monotonic() + 2.0
        while time.monotonic() < end and not all(c.disconnected for c in self.calls):
            self.ep.libHandleEvents(20)
        if self.player is not None:
            self.player = None
        if self.recorder is not None:
            self.recorder = None  # closing the writer fixes the WAV header
            emit("recorded", path=self.args.record)
        emit("exit", status=status)
        self.ep.libDestroy()


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=int, default=0, help="SIP port (0: any free port, reported)")
    p.add_argument("--transport", choices=("udp", "tcp"), default="udp")
    p.add_argument("--user", default="agent")
    p.add_argument("--rtp-port", type=int, default=0, help="first RTP port (0: PJSIP's default)")
    p.add_argument("--rtp-port-range", type=int, default=20)
    p.add_argument("--play", help="WAV to play into every call (looped)")
    p.add_argument("--record", help="WAV to record the received audio to")
    p.add_argument("--codec", action="append", help="offer only this codec (PCMU, PCMA, ...); repeatable")
    p.add_argument("--no-telephone-event", action="store_true", help="strip RFC 4733 from the SDP")
    p.add_argument("--play-once", action="store_true", help="play --play a single time instead of looping")
    p.add_argument("--dtmf", help="digits to send once the call is confirmed ('p' skips one slot)")
    p.add_argument("--dtmf-method", choices=sorted(DTMF_METHODS), default="rfc2833")
    p.add_argument("--dtmf-delay", type=float, default=1.0, help="seconds after confirmed before the first digit")
    p.add_argument("--dtmf-gap", type=float, default=0.4, help="seconds from one digit to the next")
    p.add_argument("--dtmf-duration", type=float, default=0.16, help="length of each RFC 2833 digit, seconds")
    p.add_argument("--duration", type=float, default=None,
                   help="hang up this many seconds after the call is confirmed")
    p.add_argument("--max-time", type=float, default=60.0, help="hard limit for the whole process")
    p.add_argument("--header", action="append",
                   help="'Name: value' header for the outgoing INVITE (call mode); repeatable")
    p.add_argument("--display-name", help="display name in From (and Contact)")
    p.add_argument("--register", help="register this address of record (sip:user@domain) at --registrar")
    p.add_argument("--registrar", help="registrar URI, e.g. sip:127.0.0.1:5060")
    p.add_argument("--password", default="", help="digest password for --register")
    p.add_argument("--auth-user", help="digest user name (default: the user part of --register)")
    p.add_argument("--reg-expires", type=int, default=300, help="REGISTER expiry asked for, seconds")
    p.add_argument("--control", action="store_true",
                   help="take commands on stdin: 'dtmf DIGITS', 'hangup' (see the module doc)")
    p.add_argument("--session-expires", type=int, default=0,
                   help="use RFC 4028 session timers with this interval (seconds)")
    p.add_argument("--hold-type", choices=("rfc3264", "rfc2543"), default="rfc3264",
                   help="how hold is offered: a=sendonly, or c=0.0.0.0")
    p.add_argument("--clock-rate", type=int, default=16000)
    p.add_argument("--log-level", type=int, default=1)
    sub = p.add_subparsers(dest="mode", required=True)
    c = sub.add_parser("call")
    c.add_argument("uri")
    a = sub.add_parser("answer")
    a.add_argument("--reply", type=int, default=200, help="final response: 200 answers, >=300 rejects")
    a.add_argument("--answer-delay", type=float, default=0.0, help="send 180 first, answer after S seconds")
    a.add_argument("--calls", type=int, default=1, help="exit after this many calls have ended")
    a.add_argument("--auto-answer", action="store_true",
                   help="answer at once an INVITE with Call-Info: ...;answer-after=0")
    args = p.parse_args(argv)
    if args.mode == "call":
        args.calls = 1
        args.reply = 200
        args.answer_delay = 0.0
        args.auto_answer = False
    return args


def main(argv) -> None:
    args = parse_args(argv)
    status = 1
    agent = None
    try:
        agent = Agent(args)

        def request_stop(signum, frame):
            agent.stop_requested = True

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        status = agent.run()
    except pj.Error as exc:
        emit("error", where="pjsua2", error=exc.info())
    except Exception as exc:
        emit("error", where="agent", error=repr(exc))
    finally:
        try:
            if agent is not None:
                agent.shutdown(status)
            else:
                emit("exit", status=status)
        finally:
            _events.flush()
            os._exit(status)


if __name__ == "__main__":
    main(sys.argv[1:])
