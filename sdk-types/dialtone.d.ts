// Dialtone scenario API: the globals a scenario sees, named as in VoxEngine.
//
// A scenario is a plain script (no imports). One session runs per call flow; every
// event handler runs to completion before the next event is delivered.
// Reference with behaviour and differences from VoxEngine: docs/js-api.md.

/** SIP headers by name. Dialtone passes scripts only the `X-` headers of a message. */
type SIPHeaders = { [header: string]: string };

/** What `Call.state()` reports. */
type CallState = "ALERTING" | "PROGRESSING" | "CONNECTED" | "TERMINATED";

/**
 * Anything in the media graph: calls, players and recorders. Each unit has at most one
 * audio input. Calls give and take audio, players only give it, recorders only take it.
 */
type VoxMediaUnit = Call | Player | SequencePlayer | Recorder;

/** A unit that can take an audio input: a call or a recorder. */
type VoxMediaSink = Call | Recorder | Conference;

// ---------------------------------------------------------------------------
// VoxEngine
// ---------------------------------------------------------------------------

/** The session: its events, new outbound calls, media wiring and termination. */
declare namespace VoxEngine {
  /**
   * Adds a handler for a session event. Handlers of one event run in the order they
   * were added, each with one argument: the event object.
   * @param event an {@link AppEvents} member or its string value, e.g. `"Application.Started"`.
   * @param handler must be a function; anything else throws a `TypeError` right away.
   */
  function addEventListener<E extends keyof _AppEventMap>(
    event: E,
    handler: (event: _AppEventMap[E]) => any,
  ): void;

  /**
   * Removes a handler added with {@link VoxEngine.addEventListener}, or every handler of
   * `event` when `handler` is left out.
   */
  function removeEventListener<E extends keyof _AppEventMap>(
    event: E,
    handler?: (event: _AppEventMap[E]) => any,
  ): void;

  /**
   * Starts an outbound call: Dialtone sends an INVITE to the SIP URI from its own SIP
   * stack and returns the new call at once, in state `PROGRESSING`.
   *
   * Then, on the returned call: {@link CallEvents.Ringing} (180/183),
   * {@link CallEvents.AudioStarted} (early media or answer), {@link CallEvents.Connected}
   * (200 OK), or {@link CallEvents.Failed} (3xx-6xx, no answer in time, an unusable URI
   * (404), or `hangup()` before answer); after Connected, {@link CallEvents.Disconnected}
   * when either side hangs up.
   *
   * @param to `sip:user@host[:port][;transport=udp|tcp]`; the `sip:` scheme may be left out.
   *   The host is an IP address, `localhost` or a DNS name (address records only). `sips:`
   *   is not supported: such a call fails with 404.
   * @param parameters who is calling, extra headers and digest credentials.
   * @throws TypeError if `to` is not a string or an option has the wrong type;
   *   RangeError past 100 outbound calls in one session.
   */
  function callSIP(to: string, parameters?: CallSIPParameters): Call;
  /**
   * The positional form VoxEngine also accepts: when the second argument is not an object
   * it is the caller id, and the following ones are display name, password, auth user and
   * extra headers.
   */
  function callSIP(
    to: string,
    callerid?: string | number,
    displayName?: string,
    password?: string,
    authUser?: string,
    extraHeaders?: SIPHeaders,
  ): Call;

  /**
   * Calls a phone number through the account's trunks (`PUT /v1/trunks/{name}`): the trunks
   * whose prefixes match the number are tried by priority (then longest prefix), each with its
   * credentials and its rewriting of the number; a 5xx, 408 or no answer moves the call to the
   * next trunk. `Failed` 404 "No Trunk For Number" at once when none matches (and always in
   * `dialtone run`, which has no trunks).
   * @param number digits and `+*#`; spaces, dashes, dots and brackets are dropped.
   * @param callerid the From user, unless the trunk imposes its own.
   * @throws TypeError if `number` is not a phone number.
   */
  function callPSTN(number: string, callerid?: string, parameters?: CallPSTNParameters): Call;

  /**
   * Every inbound call of the session calls its destination number (through
   * `numberTransform` when given) via the account's trunks, as {@link VoxEngine.callPSTN},
   * joined to it as {@link VoxEngine.easyProcess} joins calls. Call it at the top level.
   */
  function forwardCallToPSTN(
    numberTransform?: (number: string) => string,
    onEstablishedCallback?: (call1: Call, call2: Call) => void,
  ): void;

  /**
   * As {@link VoxEngine.forwardCallToPSTN} without a transform: the destination goes through
   * the account's trunks (a trunk is a SIP peer). `video` is accepted and ignored.
   */
  function forwardCallToSIP(
    onEstablishedCallback?: (call1: Call, call2: Call) => void,
    video?: boolean,
  ): void;

  /**
   * Calls a user of this session's application: every phone the user has registered
   * (REGISTER with digest authentication, `dialtone serve`) rings at once; the first to
   * answer takes the call and the others get CANCEL. `Ringing` follows each phone's 180;
   * `Failed` comes only when every phone has failed, with the most telling code (a 6xx,
   * then 486, then other 4xx, then 5xx); 480 "User Not Registered" at once when the user
   * has no phone registered.
   * @param parameters `username` and who is calling.
   * @throws TypeError if the user name is missing or longer than 64 characters;
   *   RangeError past 100 outbound calls in one session.
   */
  function callUser(parameters: CallUserParameters): Call;
  /** The positional form: `callUser(username, callerid?, displayName?, extraHeaders?)`;
   * VoxEngine's `video` and `scheme` arguments are accepted and ignored. */
  function callUser(
    username: string,
    callerid?: string | number,
    displayName?: string,
    extraHeaders?: SIPHeaders,
    video?: boolean,
    scheme?: unknown,
  ): Call;

  /**
   * As {@link VoxEngine.callUser}, taking the caller id and display name from
   * `incomingCall` unless `parameters` gives them. VoxEngine sends the media peer to peer;
   * Dialtone always relays it (the session log says so once).
   */
  function callUserDirect(
    incomingCall: Call,
    username: string,
    parameters?: CallUserDirectParameters,
  ): Call;

  /**
   * Every inbound call of the session calls the user its dialled number names
   * ({@link VoxEngine.callUser} with the caller's id and display name) and the two calls
   * are joined as {@link VoxEngine.easyProcess} joins them. Call it at the top level of
   * the scenario, instead of an {@link AppEvents.CallAlerting} listener.
   * @param onEstablishedCallback called with both calls once the user answers.
   * @param video accepted and ignored (audio only).
   */
  function forwardCallToUser(
    onEstablishedCallback?: (call1: Call, call2: Call) => void,
    video?: boolean,
  ): void;

  /** As {@link VoxEngine.forwardCallToUser}; media is relayed. */
  function forwardCallToUserDirect(
    onEstablishedCallback?: (call1: Call, call2: Call) => void,
    video?: boolean,
  ): void;

  /**
   * Bridges an inbound call to an outbound one with the usual wiring: the outbound call's
   * Ringing rings the inbound one (180); its Connected answers the inbound one, connects
   * the audio both ways and calls `onEstablishedCallback`; its Failed rejects the inbound
   * one with the same code (480 if that is not a 3xx-6xx) and ends the session; a
   * Disconnected on either side hangs up the other and ends the session
   * ({@link AppEvents.Terminating}, {@link AppEvents.Terminated}). The wiring runs before
   * the script's own listeners added later, and `removeEventListener(event)` without a
   * handler removes it too.
   * @param call1 the inbound (alerting) call.
   * @param call2 the outbound call, usually just made with {@link VoxEngine.callSIP}.
   * @param onEstablishedCallback called with both calls once `call2` is connected.
   * @param direct VoxEngine's peer-to-peer mode. Dialtone always relays media; `true` is
   *   accepted and behaves like `false`.
   */
  function easyProcess(
    call1: Call,
    call2: Call,
    onEstablishedCallback?: (call1: Call, call2: Call) => void,
    direct?: boolean,
  ): void;

  /**
   * Connects audio both ways: each unit's audio input becomes the other, replacing any
   * input either had. No event follows.
   */
  function sendMediaBetween(mediaUnit1: Call | Conference, mediaUnit2: Call | Conference): void;

  /** Undoes {@link VoxEngine.sendMediaBetween}: neither unit hears the other any more
   * (with a conference: the call leaves it). */
  function stopMediaBetween(mediaUnit1: Call | Conference, mediaUnit2: Call | Conference): void;

  /**
   * Creates a conference in this session: a mixer in which every endpoint hears the others
   * and not itself. Join calls with {@link VoxEngine.sendMediaBetween}`(call, conference)`
   * or {@link Conference.add}; `call.sendMediaTo(conference)` speaks only,
   * `conference.sendMediaTo(call)` listens only; players speak into it. Events:
   * {@link ConferenceEvents.Started} first, then EndpointAdded / EndpointUpdated /
   * EndpointManaged / EndpointRemoved, and Stopped after {@link Conference.stop}.
   * @throws RangeError past 100 conferences in one session.
   */
  function createConference(parameters?: ConferenceParameters): Conference;

  /**
   * Calls the conference session of `conferenceId`: the one this account runs for that id,
   * or a new one started by the account's rules as an INVITE to that number would be (with
   * `dialtone run`, the same scenario, whose `CallAlerting` has `destination` set to the
   * id). The conference session gets the call as {@link AppEvents.CallAlerting}; here it
   * behaves as an outbound call (`Connected`, `Failed` 404 without a route, `Disconnected`).
   * Media crosses sessions and media workers. Hold, re-INVITEs and transfers do not cross:
   * they are refused as by a peer without them; INFO and MESSAGE do.
   * @throws RangeError past 100 outbound calls in one session.
   */
  function callConference(
    conferenceId: string,
    callerid?: string,
    displayName?: string,
    headers?: { [name: string]: string },
  ): Call;

  /** Stops a conference of this session, as {@link Conference.stop}. */
  function destroyConference(conference: Conference): void;

  /** Options of {@link VoxEngine.createConference}. */
  interface ConferenceParameters {
    /** The conference's id ({@link Conference.id}); its unit number when left out. */
    id?: string;
    /** Accepted for VoxEngine scenarios; conferences mix at 8 kHz today. */
    hd_audio?: boolean;
  }

  /**
   * Creates a player of an audio file: `http(s)://` (downloaded once and cached), `file://`
   * or a path inside the configured media directory; wav, mp3, ogg/vorbis or flac. It plays
   * to whatever units it is sent to with {@link Player.sendMediaTo}; one player can feed many.
   *
   * Events: {@link PlayerEvents.Created} (always first), {@link PlayerEvents.PlaybackReady},
   * {@link PlayerEvents.Started}, then {@link PlayerEvents.PlaybackFinished} (at the end, not
   * when looping) or {@link PlayerEvents.Error}.
   * @param parameters `{loop}`, or VoxEngine's older positional `loop` boolean.
   * @throws TypeError if `url` is not a string.
   */
  function createURLPlayer(url: string, parameters?: URLPlayerParameters | boolean): Player;

  /**
   * Queues the caller for the agents of the session's account's queue `queueName`
   * (`Modules.ACD`). The request waits by priority, then arrival; the longest idle ready agent
   * with the queue's skills gets it, and its phone rings as a new call of this session
   * ({@link ACDEvents.OperatorCallAttempt}, then {@link ACDEvents.OperatorReached}: bridge it
   * with `VoxEngine.sendMediaBetween`). No agent logged in gives {@link ACDEvents.Offline}, a
   * full queue {@link ACDEvents.QueueFull}.
   * @param callerid The caller id agents' phones show.
   * @throws RangeError if `priority` is not 1 to 100, or the session has 100 requests.
   */
  function enqueueACDRequest(queueName: string, callerid: string, parameters?: ACDEnqueueParameters): ACDRequest;

  /**
   * Creates a player that speaks `text` through the configured TTS engine (espeak-ng by
   * default). Events as for {@link VoxEngine.createURLPlayer}; text over 1,500 characters,
   * or a TTS engine that is missing or fails, gives {@link PlayerEvents.PlaybackFinished}
   * with `error`.
   * @param parameters voice, rate and engine, or a voice name.
   */
  function createTTSPlayer(text: string, parameters?: TTSPlayerParameters | string): Player;

  /**
   * Creates a player of a VoxEngine tone script, e.g. `"440@-10;1(1/0/1)"`: frequencies
   * with levels, then cadences `repeat(on/off/frequencies)` in seconds.
   * @param parameters `{loop}`, or the older positional `loop` boolean.
   * @throws RangeError for an empty script.
   */
  function createToneScriptPlayer(
    script: string,
    parameters?: ToneScriptPlayerParameters | boolean,
  ): Player;

  /**
   * Creates a player of segments played one after another with no gap: each a text to
   * speak (as {@link VoxEngine.createTTSPlayer}) or a URL or media path (as
   * {@link VoxEngine.createURLPlayer}). All are fetched and synthesised first, side by
   * side; then {@link SequencePlayerEvents.PlaybackReady}, and playback starts.
   * Events as for a player, named `SequencePlayer.*`; a segment that cannot be had ends
   * it with {@link SequencePlayerEvents.PlaybackFinished} whose `error` names the segment
   * (`"segment 1: …"`). At most 100 segments, an hour in all.
   * @throws TypeError for a segment with neither or both of `text` and `url`.
   * @throws RangeError for no segments or more than 100.
   */
  function createSequencePlayer(parameters: SequencePlayerParameters): SequencePlayer;

  /** Options of {@link VoxEngine.createSequencePlayer}. */
  interface SequencePlayerParameters {
    /** The segments, in the order they play. */
    segments: SequencePlayerSegment[];
  }

  /** A segment of a {@link SequencePlayer}. */
  type SequencePlayerSegment = TTSPlayerSegment | URLPlayerSegment;

  /** A segment to speak. */
  interface TTSPlayerSegment {
    text: string;
    /** As for {@link VoxEngine.createTTSPlayer}. */
    parameters?: TTSPlayerParameters;
  }

  /** A segment to play from a URL or the media directory. */
  interface URLPlayerSegment {
    url: string;
    /** Accepted for VoxEngine's shape; `loop` does not apply to a segment. */
    parameters?: URLPlayerParameters;
  }

  /**
   * Creates a recorder: it records whatever is sent to it with `call.sendMediaTo(recorder)`
   * or `player.sendMediaTo(recorder)`, until {@link Recorder.stop} or the session's end.
   * Events: {@link RecorderEvents.Started} {url}, {@link RecorderEvents.Stopped}
   * {url, duration}, or {@link RecorderEvents.RecorderError} {error}.
   * @throws RangeError for a format other than `"wav"` or `"mp3"`.
   */
  function createRecorder(parameters?: RecorderParameters): Recorder;

  /** Options of {@link VoxEngine.createURLPlayer}. */
  interface URLPlayerParameters {
    /** Play again from the start at the end, until stopped. Default false. */
    loop?: boolean;
  }

  /** Options of {@link VoxEngine.createToneScriptPlayer}. */
  interface ToneScriptPlayerParameters {
    /** Repeat the script until stopped. Default false. */
    loop?: boolean;
  }

  /** Options of {@link VoxEngine.createTTSPlayer}. */
  type TTSPlayerParameters = TTSParameters;

  /** Options of {@link VoxEngine.createRecorder}. */
  interface RecorderParameters {
    /** Two channels instead of one. Default false. */
    stereo?: boolean;
    /** File format, `"wav"` (default) or `"mp3"` (when built with MP3 support). */
    format?: "wav" | "mp3";
  }

  /**
   * Ends the session: {@link AppEvents.Terminating}, then {@link AppEvents.Terminated}.
   * Calls still up are hung up (BYE, or 500 to an unanswered inbound call).
   */
  function terminate(): void;

  /**
   * Gets, or sets and returns, the session's custom data: a string given when the session
   * started (the routing rule, or `dialtone run --custom-data`).
   */
  function customData(customData?: string): string;

  /** Text-to-speech options of `call.say` and `createTTSPlayer`; other fields are ignored. */
  interface TTSParameters {
    /** Voice name of the TTS engine (for espeak-ng a language such as `"en-us"`). */
    voice?: string | { name: string };
    /** VoxEngine's older name for `voice`. */
    language?: string | { name: string };
    /** Speaking rate: 1 is normal; a number, a numeric string or `x-slow`..`x-fast`. */
    rate?: number | string;
    /** VoxEngine's TTS options; only `rate` is used. */
    ttsOptions?: { rate?: number | string; [option: string]: any };
    /** Name of a configured TTS engine; the default engine when left out. */
    engine?: string;
  }

  /** Options of {@link VoxEngine.callPSTN}. */
  interface CallPSTNParameters {
    displayName?: string;
    /** Extra `X-` headers of the INVITE. */
    extraHeaders?: SIPHeaders;
  }

  /** Options of {@link VoxEngine.callUser}. */
  interface CallUserParameters {
    /** The user's name in this application. */
    username: string;
    /** The From user of the INVITEs (default `dialtone`). */
    callerid?: string | number;
    displayName?: string;
    /** Extra `X-` headers of the INVITEs. */
    extraHeaders?: SIPHeaders;
    /** Accepted and ignored (audio only). */
    video?: boolean;
  }

  /** Options of {@link VoxEngine.callUserDirect}. */
  interface CallUserDirectParameters {
    callerid?: string | number;
    displayName?: string;
    extraHeaders?: SIPHeaders;
  }

  /** Options of {@link VoxEngine.callSIP}. */
  interface CallSIPParameters {
    /** User part of the From URI (default `dialtone`). No whitespace. A number is taken as its decimal string. */
    callerid?: string | number;
    /** Display name of the From header. */
    displayName?: string;
    /** Extra headers for the INVITE; only `X-` headers are sent, others are dropped with a log line. */
    headers?: SIPHeaders;
    /** User name for digest authentication if the far end challenges (401/407); defaults to `callerid`. */
    authUser?: string;
    /** Password for digest authentication. */
    password?: string;
  }
}

// ---------------------------------------------------------------------------
// AppEvents
// ---------------------------------------------------------------------------

/** Session events, for {@link VoxEngine.addEventListener}. */
declare enum AppEvents {
  /** The session has started; always the first event. */
  Started = "Application.Started",
  /** An inbound call started this session; comes right after Started, once. */
  CallAlerting = "Application.CallAlerting",
  /**
   * An HTTP request arrived at the session's `accessURL` (see {@link AppEvents.StartedEvent}).
   * What the handler returns is the HTTP response: a string or number as `text/plain`,
   * any other value as JSON, nothing as an empty 200. A returned promise is awaited
   * (up to 30 s); if it rejects the response is 500. A handler that throws answers 500
   * and, like any uncaught exception, ends the session.
   */
  HttpRequest = "Application.HttpRequest",
  /** The session is about to end: `VoxEngine.terminate()`, the idle limit, or shutdown. */
  Terminating = "Application.Terminating",
  /** The session has ended; the last event. Only `Logger.write` is useful here. */
  Terminated = "Application.Terminated",
}

declare namespace AppEvents {
  /** Payload of {@link AppEvents.Started}. */
  interface StartedEvent {
    name: "Application.Started";
    /** This session's id (a UUID), as in the session log and the CDR. */
    sessionId: string;
    /** Same as {@link VoxEngine.customData}() at the start. */
    customData: string;
    /**
     * This session's management URL, `http://HOST:PORT/access/SESSION/TOKEN` on Dialtone's
     * HTTP listener. Any request to it or below it (any method, body up to 1 MiB, no API
     * key: the token is the secret) raises {@link AppEvents.HttpRequest}.
     */
    accessURL: string;
    /** The same URL as `accessURL`: Dialtone's HTTP listener has one scheme. */
    accessSecureURL: string;
    /** VoxEngine's account, application and log identifiers. Never set by Dialtone. */
    accountId?: number;
    applicationId?: number;
    logURL?: string;
  }

  /** Payload of {@link AppEvents.CallAlerting}: the inbound INVITE. */
  interface CallAlertingEvent {
    name: "Application.CallAlerting";
    /** The inbound call, in state `ALERTING`: answer, reject, ring or bridge it. */
    call: Call;
    /** User part of the From URI. */
    callerid: string;
    /** User part of the Request-URI: the number that was dialled. */
    destination: string;
    /** Display name of the From header, or `""`. */
    displayName: string;
    /** X- headers of the INVITE. */
    headers: SIPHeaders;
    /** The whole From URI, e.g. `sip:alice@192.0.2.1`. */
    fromURI: string;
    /** The whole To URI. */
    toURI: string;
    /** VoxEngine passes SDK custom data here; SIP callers have none. Never set. */
    customData?: string;
  }

  /** Payload of {@link AppEvents.HttpRequest}: a request to the session's `accessURL`. */
  interface HttpRequestEvent {
    name: "Application.HttpRequest";
    /** The HTTP method, e.g. `"POST"`. */
    method: string;
    /** The path requested, without scheme and host: `/access/SESSION/TOKEN[/more]`. */
    path: string;
    /** The request body as text (`""` when there is none). */
    content: string;
    /** Every request header, by lower-case name. */
    headers: { [name: string]: string };
  }

  /** Payload of {@link AppEvents.Terminating}. */
  interface TerminatingEvent {
    name: "Application.Terminating";
  }

  /** Payload of {@link AppEvents.Terminated}. */
  interface TerminatedEvent {
    name: "Application.Terminated";
  }
}

/** Event name to payload, for the typed listeners of VoxEngine. */
interface _AppEventMap {
  "Application.Started": AppEvents.StartedEvent;
  "Application.CallAlerting": AppEvents.CallAlertingEvent;
  "Application.HttpRequest": AppEvents.HttpRequestEvent;
  "Application.Terminating": AppEvents.TerminatingEvent;
  "Application.Terminated": AppEvents.TerminatedEvent;
}

// ---------------------------------------------------------------------------
// Call
// ---------------------------------------------------------------------------

/**
 * One call leg: inbound (from {@link AppEvents.CallAlerting}) or outbound (from
 * {@link VoxEngine.callSIP}). Methods send commands to the engine and return at once;
 * their outcome arrives later as {@link CallEvents}.
 */
declare class Call {
  private constructor();

  /** This call's id, unique in the process; it names the call in logs and CDRs. */
  id(): string;
  /** Caller id: the From user of an inbound call, the `callerid` given to an outbound one. */
  callerid(): string;
  /** The caller's display name, or `""`. */
  displayName(): string;
  /** Inbound: the dialled number (Request-URI user). Outbound: the URI given to `callSIP`, with `sip:` added if it was left out. */
  number(): string;
  /** `true` for a call that came in, `false` for one made with `VoxEngine.callSIP`. */
  incoming(): boolean;
  /** The call's state now: `ALERTING`, `PROGRESSING`, `CONNECTED` or `TERMINATED`. */
  state(): CallState;
  /** Gets, or sets and returns, a string kept with this call for the script's own use (`""` at first). */
  customData(customData?: string): string;

  /**
   * Answers an inbound call: 200 OK with Dialtone's SDP answer to the caller's offer.
   * Then {@link CallEvents.Connected} once the ACK arrives, and
   * {@link CallEvents.AudioStarted} as media starts. If the offer has no
   * codec in common (PCMU, PCMA) the call is rejected with 488 and
   * {@link CallEvents.Disconnected} follows instead.
   * @param extraHeaders headers for the 200 OK; only `X-` headers are sent.
   * @param parameters VoxEngine's answer parameters; ignored.
   * @throws Error if the call is outbound, already answered, or has ended or is ending.
   */
  answer(extraHeaders?: SIPHeaders, parameters?: object): void;

  /**
   * Rejects an inbound call that is not answered yet with a final response.
   * Then {@link CallEvents.Disconnected} with that code.
   * @param code a SIP status from 300 to 699, e.g. 486 (busy, the default) or 603.
   * @param extraHeaders headers for the response; only `X-` headers are sent.
   * @throws RangeError for a code outside 300-699; Error if the call is outbound, answered
   *   or ended.
   */
  reject(code?: number, extraHeaders?: SIPHeaders): void;
  /** Rejects with 486 and these headers. */
  reject(extraHeaders: SIPHeaders): void;

  /**
   * Same as {@link Call.reject}, but the default code is 603 (Decline).
   * @deprecated Use {@link Call.reject}.
   */
  decline(code?: number, extraHeaders?: SIPHeaders): void;
  /** Declines with 603 and these headers. */
  decline(extraHeaders: SIPHeaders): void;

  /**
   * Sends 180 Ringing to an inbound call so the caller's phone plays its own ringback.
   * No event follows.
   * @param extraHeaders headers for the 180; only `X-` headers are sent.
   * @throws Error unless the call is inbound and not answered or ended.
   */
  ring(extraHeaders?: SIPHeaders): void;

  /**
   * Sends 183 Session Progress with SDP to an inbound call: media flows before answer, so
   * the caller hears whatever this call's audio input is (a bridged call's early media,
   * later a prompt). Then {@link CallEvents.AudioStarted}. Unanswered calls still time out.
   * VoxEngine's further arguments (scheme, video bitrate ...) are ignored.
   * @param extraHeaders headers for the 183; only `X-` headers are sent.
   * @throws Error unless the call is inbound and not answered or ended.
   */
  startEarlyMedia(extraHeaders?: SIPHeaders): void;

  /**
   * Ends the call whatever its state: BYE once connected, CANCEL for an outbound call not
   * answered yet, a final error response to an inbound one not answered yet. On a call that
   * has already ended it only writes a note to the session log.
   * Then {@link CallEvents.Disconnected}, or {@link CallEvents.Failed} for an outbound
   * call that was never connected. A session with no calls left ends after its idle limit
   * (60 s by default) unless it calls {@link VoxEngine.terminate}.
   * @param extraHeaders headers for the BYE or response; only `X-` headers are sent.
   */
  hangup(extraHeaders?: SIPHeaders): void;

  /**
   * Makes this call's received audio the audio input of `targetMediaUnit`, which then plays
   * it to its own peer. A unit has one audio input: this replaces the target's previous
   * input. One call may feed any number of units. No event follows.
   */
  sendMediaTo(targetMediaUnit: VoxMediaSink): void;

  /** Stops `targetMediaUnit` playing this call's audio, if this call is its input. */
  stopMediaTo(targetMediaUnit: VoxMediaSink): void;

  /**
   * Plays an audio file to this call's peer (see {@link VoxEngine.createURLPlayer} for the
   * sources and formats). It becomes the call's audio input once loaded; a second playback
   * (or `say`, `playProgressTone`) replaces the first.
   * Events: {@link CallEvents.PlaybackReady}, {@link CallEvents.PlaybackStarted} {duration},
   * {@link CallEvents.PlaybackFinished} {error?} at the end (not when looping).
   * @param parameters `{loop}`, or VoxEngine's older positional `loop` boolean.
   * @throws Error if the call has ended or is being hung up; TypeError if `url` is not a string.
   */
  startPlayback(url: string, parameters?: { loop?: boolean } | boolean): void;

  /** Stops the call's playback. No event follows. Does nothing once the call has ended. */
  stopPlayback(): void;

  /**
   * Speaks `text` to the peer through the TTS engine, replacing any playback. Events as for
   * {@link Call.startPlayback}; text over 1,500 characters or a failing TTS engine gives
   * {@link CallEvents.PlaybackFinished} with `error`.
   * @param parameters voice, rate and engine, or (older form) a voice name.
   * @throws Error if the call has ended or is being hung up.
   */
  say(text: string, parameters?: VoxEngine.TTSParameters | string): void;

  /**
   * Plays the country's ringback tone in a loop, replacing any playback, until stopped or
   * replaced. Events as for {@link Call.startPlayback}.
   * @param country two-letter country code: `"US"` or `"RU"`.
   * @throws RangeError if `country` is not two letters.
   */
  playProgressTone(country: string): void;

  /**
   * Turns on (or off) {@link CallEvents.ToneReceived}: one event per key the peer presses,
   * from RFC 4733 telephone-events, SIP INFO or in-band audio. Off by default.
   * @param doHandle default true.
   */
  handleTones(doHandle?: boolean): void;

  /**
   * Whether Dialtone hangs this call up when its peer stops sending RTP: after
   * {@link CallEvents.RtpStopped} and the engine's grace time (20 s by default) with no RTP,
   * the call gets a BYE and {@link CallEvents.Disconnected} with reason `"RTP Timeout"`.
   * On by default; a call on hold (the peer sends nothing by agreement) is never hung up
   * for it. A Dialtone extension, not in VoxEngine.
   * @param enable default true.
   */
  hangupOnRtpTimeout(enable?: boolean): void;

  /**
   * Sends DTMF to the peer: RFC 4733 when negotiated, else SIP INFO. No event follows.
   * @param digits `0`-`9`, `*`, `#`, `A`-`D`; `p` pauses.
   * @throws RangeError for any other character or an empty string; Error if the call ended.
   */
  sendDigits(digits: string): void;

  /**
   * Records the call until it ends: {@link CallEvents.RecordStarted} {url}, then after the
   * call ends {@link CallEvents.RecordStopped} {url, duration}, or
   * {@link CallEvents.RecordError} {error} (the call goes on). `url` is served by
   * Dialtone's HTTP listener.
   * @param parameters `stereo` puts the peer's audio left and what the peer hears right;
   *   other VoxEngine parameters are ignored.
   * @throws Error if the call has ended; RangeError for an unknown format.
   */
  record(parameters?: VoxEngine.RecorderParameters): void;

  /**
   * Sends a SIP INFO inside the call. Its answer raises no event. INFO the peer sends arrives
   * as {@link CallEvents.InfoReceived} (DTMF INFO as {@link CallEvents.ToneReceived}).
   * @param mimeType the body's content type, e.g. `"application/json"`.
   * @param body at most 8192 bytes.
   * @param headers `X-` headers to add.
   * @throws TypeError without a mimeType; RangeError for a longer body; Error if the call is
   *   not connected.
   */
  sendInfo(mimeType: string, body: string, headers?: { [header: string]: string }): void;

  /**
   * Sends a SIP MESSAGE (`text/plain`) inside the call. MESSAGE the peer sends arrives as
   * {@link CallEvents.MessageReceived}.
   * @param text at most 8192 bytes.
   * @throws RangeError for a longer text; Error if the call is not connected.
   */
  sendMessage(text: string): void;

  /**
   * Answers the re-INVITE of the last {@link CallEvents.ReInviteReceived} with 200. Once a
   * listener for that event is added, the scenario answers the re-INVITEs that put the call on
   * or off hold (within 10 s, or Dialtone answers itself); Dialtone answers all others. Media stays with
   * Dialtone: the peer's offer is answered with the call's own media, and an SDP `body`
   * (e.g. the other leg's answer, relayed) only sets the direction, so hold carries across.
   * @param headers `X-` headers (not sent on the 200 yet).
   * @param mimeType `"application/sdp"` for an SDP body.
   * @throws Error if the call is not connected.
   */
  acceptReInvite(headers?: { [header: string]: string }, mimeType?: string, body?: string): void;

  /**
   * Answers the re-INVITE of the last {@link CallEvents.ReInviteReceived} with 488; the media
   * stays as it was.
   * @throws Error if the call is not connected.
   */
  rejectReInvite(headers?: { [header: string]: string }): void;

  /**
   * Sends a re-INVITE offering the call's media; {@link CallEvents.ReInviteAccepted} or
   * {@link CallEvents.ReInviteRejected} follows. An SDP `body` (e.g. the offer of another
   * leg's {@link CallEvents.ReInviteReceived}, relayed) sets the direction offered
   * (`sendonly` puts the peer on hold). A 491 (glare) is retried after RFC 3261's back-off.
   * @param headers `X-` headers to add.
   * @throws Error if the call is not connected.
   */
  reInvite(headers?: { [header: string]: string }, mimeType?: string, body?: string): void;

  /**
   * Puts the peer on hold: a `sendonly` re-INVITE. What the call is fed (e.g. music on hold
   * from a player with `player.sendMediaTo(call)`) still reaches the peer; the call is never
   * hung up for RTP silence while on hold. A Dialtone extension, not in VoxEngine.
   * @throws Error if the call is not connected.
   */
  hold(): void;

  /**
   * Turns the peer's blind transfers (REFER) into {@link CallEvents.BlindTransferRequested}:
   * Dialtone accepts the REFER (202) and the scenario places the new call, then reports with
   * {@link Call.notifyBlindTransferSuccess} or {@link Call.notifyBlindTransferFailed}. Without
   * it, REFERs are declined with 603.
   * @param handle default true.
   */
  handleBlindTransfer(handle?: boolean): void;

  /** Tells the peer that asked for a blind transfer that it worked: a NOTIFY `200 OK`. */
  notifyBlindTransferSuccess(): void;

  /**
   * Tells the peer that asked for a blind transfer that it failed: a NOTIFY with the code.
   * @param code a 300-699 SIP code (480 by default).
   * @param reason its phrase (the standard one by default).
   */
  notifyBlindTransferFailed(code: number, reason: string): void;

  /**
   * Asks the peer to call `target` itself (REFER); the peer's reports arrive as
   * {@link CallEvents.TransferComplete} or {@link CallEvents.TransferFailed}, and the call stays up
   * until someone hangs it up. A Dialtone extension.
   * @param target a SIP URI, e.g. `sip:carol@192.0.2.7` (a blind transfer), or another
   *   connected call of this session (an attended transfer: the REFER carries `Replaces`
   *   naming that call's dialog, so the peer's new call takes its place and the two peers talk
   *   directly).
   * @throws TypeError if `target` is neither; Error if the call is not connected.
   */
  transferTo(target: string | Call, headers?: { [header: string]: string }): void;

  /**
   * Takes the peer off hold: a `sendrecv` re-INVITE. A Dialtone extension, not in VoxEngine.
   * @throws Error if the call is not connected.
   */
  unhold(): void;

  /**
   * Adds a handler for one of this call's events. Handlers run in the order they were
   * added, each with the event object.
   * @param event a {@link CallEvents} member or its string value, e.g. `"Call.Connected"`.
   * @param handler must be a function; anything else throws a `TypeError` right away.
   */
  addEventListener<E extends keyof _CallEventMap>(
    event: E,
    handler: (event: _CallEventMap[E]) => any,
  ): void;

  /** Removes one handler, or every handler of `event` when `handler` is left out. */
  removeEventListener<E extends keyof _CallEventMap>(
    event: E,
    handler?: (event: _CallEventMap[E]) => any,
  ): void;

  /** A description for logs: id, direction, caller id, number and state. */
  toString(): string;
}

// ---------------------------------------------------------------------------
// CallEvents
// ---------------------------------------------------------------------------

/**
 * Events of one call, for {@link Call.addEventListener}. Dialtone emits Ringing,
 * AudioStarted, Connected, Failed, Disconnected, StateChanged, FirstAudioPacketReceived,
 * RtpStopped, RtpResumed, PlaybackReady, PlaybackStarted, PlaybackFinished, ToneReceived,
 * RecordStarted, RecordStopped and RecordError; the rest are declared so that VoxEngine scenarios type-check,
 * and are not emitted yet.
 */
declare enum CallEvents {
  /** Voicemail detection failed. Not emitted yet. */
  AudioIdentificationError = "Call.AudioIdentificationError",
  /** Voicemail detection has a result. Not emitted yet. */
  AudioIdentificationResult = "Call.AudioIdentificationResult",
  /** Voicemail detection started. Not emitted yet. */
  AudioIdentificationStarted = "Call.AudioIdentificationStarted",
  /** Voicemail detection stopped. Not emitted yet. */
  AudioIdentificationStopped = "Call.AudioIdentificationStopped",
  /** The audio quality of the call was measured. Not emitted yet. */
  AudioQualityDetected = "Call.AudioQualityDetected",
  /** Media flows: the peer answered or sent early media (outbound), or `answer()`/`startEarlyMedia()` (inbound). */
  AudioStarted = "Call.AudioStarted",
  /** The peer asked for a blind transfer (REFER), after {@link Call.handleBlindTransfer}. */
  BlindTransferRequested = "Call.BlindTransferRequested",
  /** The call is up: inbound after `answer()` and the ACK, outbound on 200 OK. */
  Connected = "Call.Connected",
  /** The call has ended, whoever ended it and whether or not it was connected. */
  Disconnected = "Call.Disconnected",
  /** An outbound call ended before it was connected. */
  Failed = "Call.Failed",
  /** The first RTP packet of the call arrived. */
  FirstAudioPacketReceived = "Call.FirstAudioPacketReceived",
  /** The first video packet arrived (recording). Not emitted yet. */
  FirstVideoPacket = "Call.FirstVideoPacket",
  /** The first video packet arrived. Not emitted yet. */
  FirstVideoPacketReceived = "Call.FirstVideoPacketReceived",
  /** The call is being forwarded (181). Not emitted yet. */
  Forwarding = "Call.Forwarding",
  /** A SIP INFO arrived (DTMF INFO arrives as ToneReceived instead). */
  InfoReceived = "Call.InfoReceived",
  /** A SIP MESSAGE arrived in the dialog. */
  MessageReceived = "Call.MessageReceived",
  /** The peer's microphone went active or silent. Not emitted yet. */
  MicStatusChange = "Call.MicStatusChange",
  /** The peer took the call off hold (a `sendrecv` re-INVITE or UPDATE). */
  OffHold = "Call.OffHold",
  /** The peer put the call on hold (`sendonly`, `inactive` or `c=0.0.0.0`). */
  OnHold = "Call.OnHold",
  /** A playback on the call played to its end or failed (not after `stopPlayback`). */
  PlaybackFinished = "Call.PlaybackFinished",
  /** A playback's audio is loaded. */
  PlaybackReady = "Call.PlaybackReady",
  /** A playback started; `duration` in seconds. */
  PlaybackStarted = "Call.PlaybackStarted",
  /** A push notification was sent. Not emitted (Dialtone sends no pushes). */
  PushSent = "Call.PushSent",
  /** The peer accepted the re-INVITE of {@link Call.reInvite}. */
  ReInviteAccepted = "Call.ReInviteAccepted",
  /** The peer sent a re-INVITE or UPDATE that puts the call on or off hold; with a listener, the scenario answers it ({@link Call.acceptReInvite}). Others (refreshes, codec changes) Dialtone answers itself. */
  ReInviteReceived = "Call.ReInviteReceived",
  /** The peer rejected the re-INVITE of {@link Call.reInvite} (or it timed out). */
  ReInviteRejected = "Call.ReInviteRejected",
  /** Recording failed; the call goes on. */
  RecordError = "Call.RecordError",
  /** Recording started; `url` is where it will be. */
  RecordStarted = "Call.RecordStarted",
  /** Recording stopped (after the call ended). */
  RecordStopped = "Call.RecordStopped",
  /** An outbound call got 180 Ringing or 183 Session Progress. */
  Ringing = "Call.Ringing",
  /** RTP arrives again after {@link CallEvents.RtpStopped}. */
  RtpResumed = "Call.RtpResumed",
  /** No RTP has arrived for a while on a connected call. */
  /**
   * No RTP has arrived for the engine's RTP timeout (10 s by default) on a connected call;
   * unless {@link Call.hangupOnRtpTimeout}(false), the call is hung up if RTP does not
   * resume within the grace time.
   */
  RtpStopped = "Call.RtpStopped",
  /** `call.state()` changed. */
  StateChanged = "Call.StateChanged",
  /**
   * The call's media figures, every 5 s while this event has a listener (measured only
   * then): packets, loss, jitter, and the round-trip time from RTCP.
   */
  Statistics = "Call.Statistics",
  /** A progress or voicemail tone was detected. Not emitted yet. */
  ToneDetected = "Call.ToneDetected",
  /** A DTMF digit arrived, once per key press, after `handleTones(true)`. */
  ToneReceived = "Call.ToneReceived",
  /** The transfer of {@link Call.transferTo} reached its target. */
  TransferComplete = "Call.TransferComplete",
  /** The transfer of {@link Call.transferTo} failed (refused, or the target did not answer). */
  TransferFailed = "Call.TransferFailed",
  /** A video track was created for a recording. Not emitted yet. */
  VideoTrackCreated = "Call.Video.TrackCreated",
}

declare namespace CallEvents {
  /** Fields every call event has. */
  interface _CallEvent<N extends string> {
    /** The event's string value, e.g. `"Call.Connected"`. */
    name: N;
    /** The call the event belongs to. */
    call: Call;
    /** That call's id, as `call.id()`. */
    id: string;
  }
  /** Fields of call events caused by a SIP message. */
  interface _SIPCallEvent<N extends string> extends _CallEvent<N> {
    /** X- headers of the SIP message. */
    headers?: SIPHeaders;
  }

  type AudioIdentificationErrorEvent = _CallEvent<"Call.AudioIdentificationError">;
  type AudioIdentificationResultEvent = _CallEvent<"Call.AudioIdentificationResult">;
  type AudioIdentificationStartedEvent = _CallEvent<"Call.AudioIdentificationStarted">;
  type AudioIdentificationStoppedEvent = _CallEvent<"Call.AudioIdentificationStopped">;
  type AudioQualityDetectedEvent = _CallEvent<"Call.AudioQualityDetected">;
  type AudioStartedEvent = _SIPCallEvent<"Call.AudioStarted">;
  interface BlindTransferRequestedEvent extends _SIPCallEvent<"Call.BlindTransferRequested"> {
    /** Where the peer asks the call to go: the user part of the Refer-To URI. */
    transferTo: string;
    /** The whole Refer-To URI, e.g. `sip:carol@192.0.2.7:5060`. A Dialtone extension. */
    referTo: string;
  }
  interface ConnectedEvent extends _SIPCallEvent<"Call.Connected"> {
    /** VoxEngine's SDK custom data; SIP peers send none. */
    customData?: string;
  }
  interface DisconnectedEvent extends _SIPCallEvent<"Call.Disconnected"> {
    /** SIP status behind the end: 200 after a normal hangup, else the final response, e.g. 486, 487, 603, 408. */
    internalCode: number;
    /** Same as internalCode (a Dialtone addition). */
    code: number;
    /** Reason phrase or a short description. */
    reason: string;
    /** Seconds from Connected to the end; 0 if never connected. */
    duration: number;
    /** VoxEngine billing fields. Never set by Dialtone. */
    cost?: number;
    direction?: string;
  }
  interface FailedEvent extends _SIPCallEvent<"Call.Failed"> {
    /** SIP status, e.g. 486 busy, 487 cancelled, 404, 480, 603, 408 no answer in time. */
    code: number;
    /** Reason phrase of the final response. */
    reason: string;
  }
  type FirstAudioPacketReceivedEvent = _CallEvent<"Call.FirstAudioPacketReceived">;
  interface FirstVideoPacketEvent extends _CallEvent<"Call.FirstVideoPacket"> {
    url: string;
  }
  type FirstVideoPacketReceivedEvent = _CallEvent<"Call.FirstVideoPacketReceived">;
  type ForwardingEvent = _CallEvent<"Call.Forwarding">;
  interface InfoReceivedEvent extends _SIPCallEvent<"Call.InfoReceived"> {
    /** Content type of the INFO body. */
    mimeType: string;
    body: string;
  }
  interface MessageReceivedEvent extends _SIPCallEvent<"Call.MessageReceived"> {
    text: string;
  }
  interface MicStatusChangeEvent extends _CallEvent<"Call.MicStatusChange"> {
    active: boolean;
  }
  type OffHoldEvent = _CallEvent<"Call.OffHold">;
  type OnHoldEvent = _CallEvent<"Call.OnHold">;
  interface PlaybackFinishedEvent extends _CallEvent<"Call.PlaybackFinished"> {
    /** Why the playback stopped early, if it did. */
    error?: string;
  }
  type PlaybackReadyEvent = _CallEvent<"Call.PlaybackReady">;
  interface PlaybackStartedEvent extends _CallEvent<"Call.PlaybackStarted"> {
    /** Length of the audio, in seconds. */
    duration: number;
  }
  interface PushSentEvent extends _CallEvent<"Call.PushSent"> {
    result: string;
  }
  interface ReInviteAcceptedEvent extends _SIPCallEvent<"Call.ReInviteAccepted"> {
    mimeType: string;
    body: string;
  }
  interface ReInviteReceivedEvent extends _SIPCallEvent<"Call.ReInviteReceived"> {
    mimeType: string;
    body: string;
  }
  interface ReInviteRejectedEvent extends _SIPCallEvent<"Call.ReInviteRejected"> {
    /** The SIP status of the refusal (408 when no answer came). A Dialtone extension. */
    code: number;
  }
  interface RecordErrorEvent extends _CallEvent<"Call.RecordError"> {
    error: string;
  }
  interface RecordStartedEvent extends _CallEvent<"Call.RecordStarted"> {
    /** Where the recording will be. */
    url: string;
  }
  interface RecordStoppedEvent extends _CallEvent<"Call.RecordStopped"> {
    url: string;
    /** Length of the recording, in seconds. */
    duration: number;
    /** VoxEngine billing field. */
    cost?: string;
  }
  type RingingEvent = _SIPCallEvent<"Call.Ringing">;
  type RtpResumedEvent = _CallEvent<"Call.RtpResumed">;
  type RtpStoppedEvent = _CallEvent<"Call.RtpStopped">;
  interface StateChangedEvent extends _CallEvent<"Call.StateChanged"> {
    oldState: CallState;
    newState: CallState;
  }
  interface StatisticsEvent extends _CallEvent<"Call.Statistics"> {
    /** RTP packets sent to and received from the peer since the call began. */
    packetsSent: number;
    packetsReceived: number;
    /** Packets never received since the call began (by sequence number). */
    packetsLost: number;
    /** % of the packets expected since the last report that were lost. */
    lossRate: number;
    /** Interarrival jitter of what the call receives (RFC 3550), in ms. */
    jitter: number;
    /** Round-trip time from the peer's RTCP reports, in ms; null until it reports. */
    rtt: number | null;
    /** What the peer's RTCP says of the stream it receives from us: loss % and jitter ms. */
    remoteLossRate: number | null;
    remoteJitter: number | null;
  }
  interface ToneDetectedEvent extends _CallEvent<"Call.ToneDetected"> {
    /** Whether the tone is a progress (dial or busy) tone. */
    ProgressTone: boolean;
    /** Whether the tone is a voicemail beep. */
    VoicemailTone: boolean;
  }
  interface ToneReceivedEvent extends _CallEvent<"Call.ToneReceived"> {
    /** One of `0`-`9`, `*`, `#`, `A`-`D`. */
    tone: string;
  }
  interface TransferCompleteEvent extends _SIPCallEvent<"Call.TransferComplete"> {
    /** This call's part in the transfer, e.g. `"transferor"`. */
    role?: string;
  }
  interface TransferFailedEvent extends _SIPCallEvent<"Call.TransferFailed"> {
    /** SIP status of the failed transfer, e.g. 486. */
    code: number;
    reason: string;
    role?: string;
  }
  interface VideoTrackCreatedEvent extends _CallEvent<"Call.Video.TrackCreated"> {
    url: string;
  }
}

/** Event name to payload, for the typed listeners of Call. */
interface _CallEventMap {
  "Call.AudioIdentificationError": CallEvents.AudioIdentificationErrorEvent;
  "Call.AudioIdentificationResult": CallEvents.AudioIdentificationResultEvent;
  "Call.AudioIdentificationStarted": CallEvents.AudioIdentificationStartedEvent;
  "Call.AudioIdentificationStopped": CallEvents.AudioIdentificationStoppedEvent;
  "Call.AudioQualityDetected": CallEvents.AudioQualityDetectedEvent;
  "Call.AudioStarted": CallEvents.AudioStartedEvent;
  "Call.BlindTransferRequested": CallEvents.BlindTransferRequestedEvent;
  "Call.Connected": CallEvents.ConnectedEvent;
  "Call.Disconnected": CallEvents.DisconnectedEvent;
  "Call.Failed": CallEvents.FailedEvent;
  "Call.FirstAudioPacketReceived": CallEvents.FirstAudioPacketReceivedEvent;
  "Call.FirstVideoPacket": CallEvents.FirstVideoPacketEvent;
  "Call.FirstVideoPacketReceived": CallEvents.FirstVideoPacketReceivedEvent;
  "Call.Forwarding": CallEvents.ForwardingEvent;
  "Call.InfoReceived": CallEvents.InfoReceivedEvent;
  "Call.MessageReceived": CallEvents.MessageReceivedEvent;
  "Call.MicStatusChange": CallEvents.MicStatusChangeEvent;
  "Call.OffHold": CallEvents.OffHoldEvent;
  "Call.OnHold": CallEvents.OnHoldEvent;
  "Call.PlaybackFinished": CallEvents.PlaybackFinishedEvent;
  "Call.PlaybackReady": CallEvents.PlaybackReadyEvent;
  "Call.PlaybackStarted": CallEvents.PlaybackStartedEvent;
  "Call.PushSent": CallEvents.PushSentEvent;
  "Call.ReInviteAccepted": CallEvents.ReInviteAcceptedEvent;
  "Call.ReInviteReceived": CallEvents.ReInviteReceivedEvent;
  "Call.ReInviteRejected": CallEvents.ReInviteRejectedEvent;
  "Call.RecordError": CallEvents.RecordErrorEvent;
  "Call.RecordStarted": CallEvents.RecordStartedEvent;
  "Call.RecordStopped": CallEvents.RecordStoppedEvent;
  "Call.Ringing": CallEvents.RingingEvent;
  "Call.RtpResumed": CallEvents.RtpResumedEvent;
  "Call.RtpStopped": CallEvents.RtpStoppedEvent;
  "Call.StateChanged": CallEvents.StateChangedEvent;
  "Call.Statistics": CallEvents.StatisticsEvent;
  "Call.ToneDetected": CallEvents.ToneDetectedEvent;
  "Call.ToneReceived": CallEvents.ToneReceivedEvent;
  "Call.TransferComplete": CallEvents.TransferCompleteEvent;
  "Call.TransferFailed": CallEvents.TransferFailedEvent;
  "Call.Video.TrackCreated": CallEvents.VideoTrackCreatedEvent;
}

// ---------------------------------------------------------------------------
// Player, Recorder
// ---------------------------------------------------------------------------

/**
 * A standalone player, from {@link VoxEngine.createURLPlayer},
 * {@link VoxEngine.createTTSPlayer} or {@link VoxEngine.createToneScriptPlayer}.
 * It lives until stopped or the session ends.
 */
declare class Player {
  /** The player's id. */
  id(): string;
  /** Makes this player the audio input of a call or recorder, replacing its input. */
  sendMediaTo(targetMediaUnit: VoxMediaSink): void;
  /** Stops `targetMediaUnit` playing this player, if this player is its input. */
  stopMediaTo(targetMediaUnit: VoxMediaSink): void;
  /** Pauses playback; {@link Player.resume} continues it. */
  pause(): void;
  /** Resumes a paused playback. */
  resume(): void;
  /** Stops for good: {@link PlayerEvents.Stopped} follows. Later calls do nothing. */
  stop(): void;
  /**
   * Raises {@link PlayerEvents.PlaybackMarkerReached} when playback reaches `offset` ms
   * from the start (from the end when negative). At most 100 markers.
   */
  addMarker(offset: number): void;
  /** Adds a handler for one of this player's events. */
  addEventListener<E extends keyof _PlayerEventMap>(
    event: E,
    handler: (event: _PlayerEventMap[E]) => any,
  ): void;
  /** Removes one handler, or every handler of `event` when `handler` is left out. */
  removeEventListener<E extends keyof _PlayerEventMap>(
    event: E,
    handler?: (event: _PlayerEventMap[E]) => any,
  ): void;
  toString(): string;
}

/**
 * A player of segments, from {@link VoxEngine.createSequencePlayer}: a {@link Player}
 * whose events are {@link SequencePlayerEvents} and whose markers are placed in a segment.
 */
declare class SequencePlayer {
  /** The player's id. */
  id(): string;
  /** Makes this player the audio input of a call or recorder, replacing its input. */
  sendMediaTo(targetMediaUnit: VoxMediaSink): void;
  /** Stops `targetMediaUnit` playing this player, if this player is its input. */
  stopMediaTo(targetMediaUnit: VoxMediaSink): void;
  /** Pauses playback; {@link SequencePlayer.resume} continues it. */
  pause(): void;
  /** Resumes a paused playback. */
  resume(): void;
  /** Stops for good: {@link SequencePlayerEvents.Stopped} follows. Later calls do nothing. */
  stop(): void;
  /**
   * Raises {@link SequencePlayerEvents.PlaybackMarkerReached} (with this `offset`) when
   * playback reaches `offset` ms from the start of `segment` (from its end when
   * negative, no further back than its start). A positive offset past the segment's end
   * is never reached. `segment` is one of the objects given to
   * {@link VoxEngine.createSequencePlayer} or (a Dialtone extension) its index. At most
   * 100 markers.
   * @throws TypeError when `segment` is not one of this player's segments.
   */
  addMarker(offset: number, segment: VoxEngine.SequencePlayerSegment | number): void;
  /** Adds a handler for one of this player's events. */
  addEventListener<E extends keyof _SequencePlayerEventMap>(
    event: E,
    handler: (event: _SequencePlayerEventMap[E]) => any,
  ): void;
  /** Removes one handler, or every handler of `event` when `handler` is left out. */
  removeEventListener<E extends keyof _SequencePlayerEventMap>(
    event: E,
    handler?: (event: _SequencePlayerEventMap[E]) => any,
  ): void;
  toString(): string;
}

/** Events of a {@link SequencePlayer}. */
declare enum SequencePlayerEvents {
  /** The player was created; dispatched before any other event of the session. */
  Created = "SequencePlayer.Created",
  /** A segment could not be had, or playing failed. */
  Error = "SequencePlayer.Error",
  /** The last segment reached its end, or playback failed (`error`). */
  PlaybackFinished = "SequencePlayer.PlaybackFinished",
  /** A marker set with {@link SequencePlayer.addMarker} was reached. */
  PlaybackMarkerReached = "SequencePlayer.PlaybackMarkerReached",
  /** Every segment is loaded (downloaded, decoded or synthesised). */
  PlaybackReady = "SequencePlayer.PlaybackReady",
  /** The first segment started; `duration` in seconds is all of them. */
  Started = "SequencePlayer.Started",
  /** The player was stopped. */
  Stopped = "SequencePlayer.Stopped",
}

declare namespace SequencePlayerEvents {
  interface _SequencePlayerEvent<N extends string> {
    name: N;
    /** The player that raised the event. */
    sequencePlayer: SequencePlayer;
  }
  type CreatedEvent = _SequencePlayerEvent<"SequencePlayer.Created">;
  interface ErrorEvent extends _SequencePlayerEvent<"SequencePlayer.Error"> {
    error: string;
  }
  interface PlaybackFinishedEvent extends _SequencePlayerEvent<"SequencePlayer.PlaybackFinished"> {
    error?: string;
  }
  interface PlaybackMarkerReachedEvent
    extends _SequencePlayerEvent<"SequencePlayer.PlaybackMarkerReached"> {
    /** The marker's offset as given to addMarker, in ms. */
    offset: number;
  }
  type PlaybackReadyEvent = _SequencePlayerEvent<"SequencePlayer.PlaybackReady">;
  interface StartedEvent extends _SequencePlayerEvent<"SequencePlayer.Started"> {
    duration: number;
  }
  type StoppedEvent = _SequencePlayerEvent<"SequencePlayer.Stopped">;
}

interface _SequencePlayerEventMap {
  "SequencePlayer.Created": SequencePlayerEvents.CreatedEvent;
  "SequencePlayer.Error": SequencePlayerEvents.ErrorEvent;
  "SequencePlayer.PlaybackFinished": SequencePlayerEvents.PlaybackFinishedEvent;
  "SequencePlayer.PlaybackMarkerReached": SequencePlayerEvents.PlaybackMarkerReachedEvent;
  "SequencePlayer.PlaybackReady": SequencePlayerEvents.PlaybackReadyEvent;
  "SequencePlayer.Started": SequencePlayerEvents.StartedEvent;
  "SequencePlayer.Stopped": SequencePlayerEvents.StoppedEvent;
}

/** Options of {@link VoxEngine.enqueueACDRequest}. */
interface ACDEnqueueParameters {
  /** 1 (first) to 100; default 50. */
  priority?: number;
  /** Given to agents' desktops with the call (at most 64 KiB). */
  customData?: string;
  /** Extra (`X-`) headers on the call to the agent. */
  headers?: { [name: string]: string };
  /** VoxEngine's name for `headers`. */
  extraHeaders?: { [name: string]: string };
  /**
   * Dialtone extension: only this agent (by id) takes the request, once
   * ready, whether or not it serves the queue (a transfer to a named agent).
   */
  agent?: string;
}

/** A caller queued with {@link VoxEngine.enqueueACDRequest}. */
declare class ACDRequest {
  /** The request's id, unique in the session. */
  id(): string;
  /** Takes the request out of its queue; a phone ringing for it stops. */
  cancel(): void;
  /** Asks for {@link ACDEvents.Waiting}: the place in the queue and the estimated wait. */
  getStatus(): void;
  /** Adds a handler for one of this request's events. */
  addEventListener<E extends keyof _ACDEventMap>(
    event: E,
    handler: (event: _ACDEventMap[E]) => any,
  ): void;
  /** Removes one handler, or every handler of `event` when `handler` is left out. */
  removeEventListener<E extends keyof _ACDEventMap>(
    event: E,
    handler?: (event: _ACDEventMap[E]) => any,
  ): void;
  toString(): string;
}

/** Events of an {@link ACDRequest} (`require(Modules.ACD)`). */
declare enum ACDEvents {
  /** The request could not be handled (no such queue, the queue deleted, ...). */
  Error = "ACD.Error",
  /** No agent of the queue is logged in: the request is not queued. */
  Offline = "ACD.Offline",
  /** An agent's phone rings: `operatorCall` is a new call of this session. */
  OperatorCallAttempt = "ACD.OperatorCallAttempt",
  /** The agent did not take the call; the request goes back to its place for the next agent. */
  OperatorFailed = "ACD.OperatorFailed",
  /** The agent answered: `operatorCall` is connected. */
  OperatorReached = "ACD.OperatorReached",
  /** The queue is full: the request is not queued. */
  QueueFull = "ACD.QueueFull",
  /** The request waits in its queue. */
  Queued = "ACD.Queued",
  /** The answer to {@link ACDRequest.getStatus}. */
  Waiting = "ACD.Waiting",
}

declare namespace ACDEvents {
  interface _ACDEvent<N extends string> {
    name: N;
    /** The request the event is about. */
    request: ACDRequest;
  }
  interface ErrorEvent extends _ACDEvent<"ACD.Error"> {
    error: string;
  }
  type OfflineEvent = _ACDEvent<"ACD.Offline">;
  interface OperatorCallAttemptEvent extends _ACDEvent<"ACD.OperatorCallAttempt"> {
    operatorCall: Call;
  }
  interface OperatorFailedEvent extends _ACDEvent<"ACD.OperatorFailed"> {
    /** The agent's user name. */
    operatorUserName: string;
    /** The agent phone's answer; 408 when it rang for the queue's ring time. */
    statusCode: number;
  }
  interface OperatorReachedEvent extends _ACDEvent<"ACD.OperatorReached"> {
    operatorCall: Call;
  }
  type QueueFullEvent = _ACDEvent<"ACD.QueueFull">;
  type QueuedEvent = _ACDEvent<"ACD.Queued">;
  interface WaitingEvent extends _ACDEvent<"ACD.Waiting"> {
    /** The place in the queue (1: next; 0: an agent's phone rings for it). */
    position: number;
    /** Estimated wait, in minutes. */
    ewt: number;
  }
}

interface _ACDEventMap {
  "ACD.Error": ACDEvents.ErrorEvent;
  "ACD.Offline": ACDEvents.OfflineEvent;
  "ACD.OperatorCallAttempt": ACDEvents.OperatorCallAttemptEvent;
  "ACD.OperatorFailed": ACDEvents.OperatorFailedEvent;
  "ACD.OperatorReached": ACDEvents.OperatorReachedEvent;
  "ACD.QueueFull": ACDEvents.QueueFullEvent;
  "ACD.Queued": ACDEvents.QueuedEvent;
  "ACD.Waiting": ACDEvents.WaitingEvent;
}

/** Events of a {@link Player}. */
declare enum PlayerEvents {
  /** Not emitted. */
  AudioChunksPlaybackFinished = "Player.AudioChunksPlaybackFinished",
  /** The player was created; dispatched before any other event of the session. */
  Created = "Player.Created",
  /** Loading or playing failed. */
  Error = "Player.Error",
  /** Not emitted. */
  PlaybackBuffering = "Player.PlaybackBuffering",
  /** Playback reached its end (not when looping), or failed (`error`). */
  PlaybackFinished = "Player.PlaybackFinished",
  /** A marker set with {@link Player.addMarker} was reached. */
  PlaybackMarkerReached = "Player.PlaybackMarkerReached",
  /** The audio is loaded (downloaded, decoded or synthesised). */
  PlaybackReady = "Player.PlaybackReady",
  /** Playback started; `duration` in seconds (0 when unknown or endless). */
  Started = "Player.Started",
  /** The player was stopped. */
  Stopped = "Player.Stopped",
}

declare namespace PlayerEvents {
  interface _PlayerEvent<N extends string> {
    name: N;
    /** The player that raised the event. */
    player: Player;
  }
  type CreatedEvent = _PlayerEvent<"Player.Created">;
  interface ErrorEvent extends _PlayerEvent<"Player.Error"> {
    error: string;
  }
  interface PlaybackFinishedEvent extends _PlayerEvent<"Player.PlaybackFinished"> {
    error?: string;
  }
  interface PlaybackMarkerReachedEvent extends _PlayerEvent<"Player.PlaybackMarkerReached"> {
    /** The marker's offset as given to addMarker, in ms. */
    offset: number;
  }
  type PlaybackReadyEvent = _PlayerEvent<"Player.PlaybackReady">;
  interface StartedEvent extends _PlayerEvent<"Player.Started"> {
    duration: number;
  }
  type StoppedEvent = _PlayerEvent<"Player.Stopped">;
  type OtherEvent = _PlayerEvent<string>;
}

interface _PlayerEventMap {
  "Player.AudioChunksPlaybackFinished": PlayerEvents.OtherEvent;
  "Player.Created": PlayerEvents.CreatedEvent;
  "Player.Error": PlayerEvents.ErrorEvent;
  "Player.PlaybackBuffering": PlayerEvents.OtherEvent;
  "Player.PlaybackFinished": PlayerEvents.PlaybackFinishedEvent;
  "Player.PlaybackMarkerReached": PlayerEvents.PlaybackMarkerReachedEvent;
  "Player.PlaybackReady": PlayerEvents.PlaybackReadyEvent;
  "Player.Started": PlayerEvents.StartedEvent;
  "Player.Stopped": PlayerEvents.StoppedEvent;
}

/**
 * A standalone recorder from {@link VoxEngine.createRecorder}, fed with
 * `call.sendMediaTo(recorder)`. Files go to Dialtone's data directory.
 */
declare class Recorder {
  /** The recorder's id. */
  id(): string;
  /** Ends the recording: {@link RecorderEvents.Stopped} follows. */
  stop(): void;
  /** Records silence while muted, keeping its input attached. @param doMute default true. */
  mute(doMute?: boolean): void;
  addEventListener<E extends keyof _RecorderEventMap>(
    event: E,
    handler: (event: _RecorderEventMap[E]) => any,
  ): void;
  removeEventListener<E extends keyof _RecorderEventMap>(
    event: E,
    handler?: (event: _RecorderEventMap[E]) => any,
  ): void;
  toString(): string;
}

/** Events of a {@link Recorder}. */
declare enum RecorderEvents {
  /** Recording failed (e.g. a full disk). */
  RecorderError = "Recorder.Error",
  /** Recording started; `url` is where the file will be. */
  Started = "Recorder.Started",
  /** Recording ended; `duration` in seconds. */
  Stopped = "Recorder.Stopped",
}

declare namespace RecorderEvents {
  interface _RecorderEvent<N extends string> {
    name: N;
    recorder: Recorder;
  }
  interface RecorderErrorEvent extends _RecorderEvent<"Recorder.Error"> {
    error: string;
  }
  interface StartedEvent extends _RecorderEvent<"Recorder.Started"> {
    url: string;
  }
  interface StoppedEvent extends _RecorderEvent<"Recorder.Stopped"> {
    url: string;
    duration: number;
  }
}

interface _RecorderEventMap {
  "Recorder.Error": RecorderEvents.RecorderErrorEvent;
  "Recorder.Started": RecorderEvents.StartedEvent;
  "Recorder.Stopped": RecorderEvents.StoppedEvent;
}

// ---------------------------------------------------------------------------
// Logger and timers
// ---------------------------------------------------------------------------

/** HTTP requests from scenarios. The engine performs them; the session never blocks. */
declare namespace Net {
  /** Options of {@link httpRequestAsync} and {@link httpRequest}. */
  class HttpRequestOptions {
    /**
     * VoxEngine's options object: `new Net.HttpRequestOptions()` has `method` `GET`,
     * empty `headers` and `timeout` 90; a plain object literal works as well.
     */
    constructor();
    /** HTTP method (`GET`, `POST`, `PUT`, ...), any case. Default `GET`. */
    method?: string;
    /**
     * Request headers: `{Name: value}`, or an array of `"Name: value"` strings or
     * `{key, value}` objects. At most 64; no line breaks in values.
     */
    headers?: { [name: string]: string } | string[] | { key: string; value: string }[];
    /** Request body: a string (sent as UTF-8) or an array of byte values; at most 2 MB. */
    postData?: string | number[];
    /** Whole-request timeout in seconds; default and maximum 90. */
    timeout?: number;
  }

  /** The answer to a request. Failures resolve too, with `code` 0 or negative. */
  interface HttpRequestResult {
    /**
     * HTTP status, or: `0` a session limit (more than 10 requests in flight), `-1` unknown
     * error, `-2` malformed URL, `-3` host not found, `-4` connection error, `-5` too many
     * redirects, `-6` network error, `-7` timeout, `-8` internal error, `-9` response body
     * over 2 MB.
     */
    code: number;
    /** Response headers in received order (names in lower case). */
    headers: { key: string; value: string }[];
    /** The headers as `Name: value` lines, each ended by CRLF. */
    raw_headers: string;
    /** The response body as text (invalid UTF-8 replaced). */
    text: string;
    /** Why the request failed, when it did. */
    error?: string;
  }

  /**
   * Performs an HTTP(S) request. The promise never rejects: failures resolve with a
   * {@link HttpRequestResult} whose `code` is 0 or negative. Bad argument types throw a
   * `TypeError` at once.
   */
  function httpRequestAsync(url: string, options?: HttpRequestOptions): Promise<HttpRequestResult>;

  /** The callback form of {@link httpRequestAsync}. */
  function httpRequest(
    url: string,
    callback: (result: HttpRequestResult) => void,
    options?: HttpRequestOptions,
  ): void;
}

/** The session log. */
declare namespace Logger {
  /**
   * Writes one line to the session log, tagged with the session id. Non-strings are
   * converted with `String(message)`; lines past 8 KiB are cut.
   */
  function write(message: any): void;
}

/**
 * Runs `callback` once after `ms` milliseconds (0 if left out or not a number), on the
 * session's own event queue: never while another handler runs. Extra arguments are passed
 * to it. Timers die with the session.
 * @returns an id for {@link clearTimeout}.
 * @throws TypeError if `callback` is not a function (strings are not evaluated).
 */
declare function setTimeout(callback: (...args: any[]) => void, ms?: number, ...args: any[]): number;

/** Cancels a timer from {@link setTimeout} (or {@link setInterval}: ids are shared); unknown ids are ignored. */
declare function clearTimeout(id?: number): void;

/**
 * Runs `callback` every `ms` milliseconds until cleared; periods under 10 ms are raised
 * to 10 ms. Extra arguments are passed to it.
 * @returns an id for {@link clearInterval}.
 * @throws TypeError if `callback` is not a function.
 */
declare function setInterval(callback: (...args: any[]) => void, ms?: number, ...args: any[]): number;

/** Cancels a timer from {@link setInterval} (or {@link setTimeout}); unknown ids are ignored. */
declare function clearInterval(id?: number): void;

// ---------------------------------------------------------------------------
// Modules, require and the global helpers
// ---------------------------------------------------------------------------

/**
 * VoxEngine's optional modules, for {@link require}. Dialtone loads the modules it provides
 * from the start; `require` of one of those does nothing, and `require` of one it does not
 * provide throws an `Error` naming the module at the line of the `require`.
 */
declare enum Modules {
  /** ACD queues: {@link VoxEngine.enqueueACDRequest}, {@link ACDEvents}. Loaded already: `require` does nothing. */
  ACD = "ACD",
  /** AI helpers (dialogflow and the like). Not provided: `require` throws an Error naming it. */
  AI = "AI",
  /** Answering machine detection. Not provided: `require` throws an Error naming it. */
  AMD = "AMD",
  /** Speech recognition. Not provided: `require` throws an Error naming it. */
  ASR = "ASR",
  /** Key-value storage per application: {@link ApplicationStorage}. Loaded already: `require` does nothing. */
  ApplicationStorage = "ApplicationStorage",
  /** Voximplant Avatar. Not provided: `require` throws an Error naming it. */
  Avatar = "Avatar",
  /** Call lists. Not provided: `require` throws an Error naming it. */
  CallList = "CallList",
  /** The Cartesia connector. Not provided: `require` throws an Error naming it. */
  Cartesia = "Cartesia",
  /** Audio conferences: {@link VoxEngine.createConference}. Loaded already: `require` does nothing. */
  Conference = "Conference",
  /** The Deepgram connector. Not provided: `require` throws an Error naming it. */
  Deepgram = "Deepgram",
  /** The ElevenLabs connector. Not provided: `require` throws an Error naming it. */
  ElevenLabs = "ElevenLabs",
  /** The Gemini connector. Not provided: `require` throws an Error naming it. */
  Gemini = "Gemini",
  /** The Grok connector. Not provided: `require` throws an Error naming it. */
  Grok = "Grok",
  /** IVR menus: `require(Modules.IVR)` defines {@link IVRState} and {@link IVR}. */
  IVR = "IVR",
  /** The Inworld connector. Not provided: `require` throws an Error naming it. */
  Inworld = "Inworld",
  /** Google Analytics Measurement Protocol. Not provided: `require` throws an Error naming it. */
  MeasurementProtocol = "MeasurementProtocol",
  /** The OpenAI connector. Not provided: `require` throws an Error naming it. */
  OpenAI = "OpenAI",
  /** Players: {@link VoxEngine.createURLPlayer} and kin. Loaded already: `require` does nothing. */
  Player = "Player",
  /** Push notifications. Not provided: `require` throws an Error naming it. */
  PushService = "PushService",
  /** Recorders: {@link VoxEngine.createRecorder}. Loaded already: `require` does nothing. */
  Recorder = "Recorder",
  /** SmartQueue contact-centre queues. Not provided: `require` throws an Error naming it. */
  SmartQueue = "SmartQueue",
  /** Media streaming to a WebSocket. Not provided: `require` throws an Error naming it. */
  StreamingAgent = "StreamingAgent",
  /** The Ultravox connector. Not provided: `require` throws an Error naming it. */
  Ultravox = "Ultravox",
  /** Voximplant Avatar (newer API). Not provided: `require` throws an Error naming it. */
  VoximplantAvatar = "VoximplantAvatar",
  /** WebSockets from scenarios. Not provided: `require` throws an Error naming it. */
  WebSocket = "WebSocket",
  /** The Yandex connector. Not provided: `require` throws an Error naming it. */
  Yandex = "Yandex",
}

/**
 * Loads a VoxEngine module: does nothing for a module Dialtone provides.
 * @throws Error for a module Dialtone does not provide; TypeError for anything that is
 *   not a member of {@link Modules} (a misspelt `Modules.X` is `undefined`).
 */
declare function require(module: Modules): void;

/** Base64 (RFC 4648) of a string's UTF-8 bytes or of an array of bytes (0-255). */
declare function base64_encode(data: string | number[]): string;
/**
 * The bytes base64 text stands for (standard or URL-safe alphabet, padding optional).
 * @throws TypeError if the text is not base64.
 */
declare function base64_decode(data: string): number[];
/** A string's bytes in `encoding`: `"utf-8"` (default) or `"iso-8859-1"` (alias `latin1`). */
declare function str2bytes(data: string, encoding?: string): number[];
/** The string bytes make in `encoding` (`"utf-8"` default, invalid sequences replaced, or `"iso-8859-1"`). */
declare function bytes2str(data: number[], encoding?: string): string;
/** Hex of bytes, lower case unless `toUpperCase`. */
declare function bytes2hex(data: number[], toUpperCase?: boolean): string;
/** The bytes of a hex string such as `"cafec0de"`. @throws TypeError if it is not hex. */
declare function hex2bytes(data: string): number[];
/** A random (version 4) UUID. */
declare function uuidgen(): string;
/** MD5 of a string's UTF-8 bytes or of bytes, as lower-case hex. */
declare function md5(data: string | number[]): string;
/** SHA-1, as {@link md5}. */
declare function sha1(data: string | number[]): string;
/** SHA-256, as {@link md5}. */
declare function sha256(data: string | number[]): string;

/** What an {@link IVRState} says or plays when it is entered. */
interface IVRPrompt {
  /** Text to speak, with `lang` as the voice ({@link Call.say}'s second argument). */
  say?: string;
  lang?: string | VoxEngine.TTSParameters;
  /** A URL or media file to play instead of `say`. */
  play?: string;
}

/** Settings of an {@link IVRState}. */
interface IVRSettings {
  /**
   * `select`: one key; `nextStates[key]` is entered, or `onInputComplete` runs.
   * `inputfixed`: `inputLength` keys. `inputunknown`: keys until `terminateOn` (not part of
   * the input) or until `inputValidator(input)` is true. `noinput`: the prompt only, then
   * `nextState` or `onInputComplete`.
   */
  type: "select" | "inputfixed" | "inputunknown" | "noinput";
  prompt?: IVRPrompt;
  /** Milliseconds to wait for a key after the prompt and between keys (5000). */
  timeout?: number;
  inputLength?: number;
  terminateOn?: string;
  inputValidator?: (input: string) => boolean;
  nextStates?: { [key: string]: IVRState };
  nextState?: IVRState | null;
}

/**
 * One state of an IVR menu (`require(Modules.IVR)`). Entering it says or plays its prompt
 * and collects keys (a key stops the prompt); the callbacks get the state, whose `input`
 * holds what was entered. A call is in one state at a time.
 */
declare class IVRState {
  constructor(
    name: string,
    settings: IVRSettings,
    onInputComplete?: (state: IVRState) => void,
    onInputTimeout?: (state: IVRState) => void,
  );
  name: string;
  settings: IVRSettings;
  /** The keys entered in this state, once it is left. */
  input: string;
  /** Starts the menu at this state for `call`. */
  enter(call: Call): void;
  toString(): string;
}

/** The IVR module's functions (`require(Modules.IVR)`). */
declare namespace IVR {
  /** Stops every IVR of the session: no prompt ends or key moves a state any more. */
  function reset(): void;
}

/**
 * VoxEngine's legacy voices, by language and gender: `call.say(text, Language.US_ENGLISH_FEMALE)`.
 * Each maps onto the configured TTS engine's voice for that language (espeak-ng: `en-us` with
 * a female or male variant); a language the engine lacks falls back to its default voice and
 * the session log says so. The values are Dialtone voice descriptors.
 */
declare enum Language {
  US_ENGLISH_FEMALE = "vox:en-US:female",
  US_ENGLISH_MALE = "vox:en-US:male",
  UK_ENGLISH_FEMALE = "vox:en-GB:female",
  UK_ENGLISH_MALE = "vox:en-GB:male",
  AU_ENGLISH_FEMALE = "vox:en-AU:female",
  AU_ENGLISH_MALE = "vox:en-AU:male",
  IN_ENGLISH_FEMALE = "vox:en-IN:female",
  RU_RUSSIAN_FEMALE = "vox:ru-RU:female",
  RU_RUSSIAN_MALE = "vox:ru-RU:male",
  DE_GERMAN_FEMALE = "vox:de-DE:female",
  DE_GERMAN_MALE = "vox:de-DE:male",
  FR_FRENCH_FEMALE = "vox:fr-FR:female",
  FR_FRENCH_MALE = "vox:fr-FR:male",
  CA_FRENCH_FEMALE = "vox:fr-CA:female",
  ES_SPANISH_FEMALE = "vox:es-ES:female",
  ES_SPANISH_MALE = "vox:es-ES:male",
  US_SPANISH_FEMALE = "vox:es-US:female",
  US_SPANISH_MALE = "vox:es-US:male",
  MX_SPANISH_FEMALE = "vox:es-MX:female",
  IT_ITALIAN_FEMALE = "vox:it-IT:female",
  IT_ITALIAN_MALE = "vox:it-IT:male",
  BR_PORTUGUESE_FEMALE = "vox:pt-BR:female",
  BR_PORTUGUESE_MALE = "vox:pt-BR:male",
  PT_PORTUGUESE_FEMALE = "vox:pt-PT:female",
  PT_PORTUGUESE_MALE = "vox:pt-PT:male",
  NL_DUTCH_FEMALE = "vox:nl-NL:female",
  NL_DUTCH_MALE = "vox:nl-NL:male",
  PL_POLISH_FEMALE = "vox:pl-PL:female",
  PL_POLISH_MALE = "vox:pl-PL:male",
  SV_SWEDISH_FEMALE = "vox:sv-SE:female",
  NO_NORWEGIAN_FEMALE = "vox:nb-NO:female",
  DK_DANISH_FEMALE = "vox:da-DK:female",
  DK_DANISH_MALE = "vox:da-DK:male",
  FI_FINNISH_FEMALE = "vox:fi-FI:female",
  TR_TURKISH_FEMALE = "vox:tr-TR:female",
  CZ_CZECH_FEMALE = "vox:cs-CZ:female",
  JP_JAPANESE_FEMALE = "vox:ja-JP:female",
  JP_JAPANESE_MALE = "vox:ja-JP:male",
  KR_KOREAN_FEMALE = "vox:ko-KR:female",
  CN_CHINESE_FEMALE = "vox:zh-CN:female",
  HK_CHINESE_FEMALE = "vox:zh-HK:female",
  TW_CHINESE_FEMALE = "vox:zh-TW:female",
  ARABIC_FEMALE = "vox:ar-SA:female",
  ARABIC_MALE = "vox:ar-SA:male",
  HI_HINDI_FEMALE = "vox:hi-IN:female",
  UA_UKRAINIAN_FEMALE = "vox:uk-UA:female",
}

/**
 * Voices by provider (VoxEngine's `VoiceList`), for `say` and `createTTSPlayer`. Dialtone has
 * none of these providers' voices: each maps onto the configured TTS engine's voice for its
 * language and gender, and the session log says which voice stood in. `Default` has every
 * language of {@link Language}.
 */
declare namespace VoiceList {
  /** Each language's voice, by gender (`en_US_Female`). */
  const Default: {
    readonly en_US_Female: string;
    readonly en_US_Male: string;
    readonly en_GB_Female: string;
    readonly en_GB_Male: string;
    readonly en_AU_Female: string;
    readonly en_AU_Male: string;
    readonly en_IN_Female: string;
    readonly ru_RU_Female: string;
    readonly ru_RU_Male: string;
    readonly de_DE_Female: string;
    readonly de_DE_Male: string;
    readonly fr_FR_Female: string;
    readonly fr_FR_Male: string;
    readonly fr_CA_Female: string;
    readonly es_ES_Female: string;
    readonly es_ES_Male: string;
    readonly es_US_Female: string;
    readonly es_US_Male: string;
    readonly es_MX_Female: string;
    readonly it_IT_Female: string;
    readonly it_IT_Male: string;
    readonly pt_BR_Female: string;
    readonly pt_BR_Male: string;
    readonly pt_PT_Female: string;
    readonly pt_PT_Male: string;
    readonly nl_NL_Female: string;
    readonly nl_NL_Male: string;
    readonly pl_PL_Female: string;
    readonly pl_PL_Male: string;
    readonly sv_SE_Female: string;
    readonly nb_NO_Female: string;
    readonly da_DK_Female: string;
    readonly da_DK_Male: string;
    readonly fi_FI_Female: string;
    readonly tr_TR_Female: string;
    readonly cs_CZ_Female: string;
    readonly ja_JP_Female: string;
    readonly ja_JP_Male: string;
    readonly ko_KR_Female: string;
    readonly zh_CN_Female: string;
    readonly zh_HK_Female: string;
    readonly zh_TW_Female: string;
    readonly ar_SA_Female: string;
    readonly ar_SA_Male: string;
    readonly hi_IN_Female: string;
    readonly uk_UA_Female: string;
  };
  /** Amazon's voices by name, each standing in for its language and gender. */
  const Amazon: {
    readonly en_US_Joanna: string;
    readonly en_US_Matthew: string;
    readonly en_GB_Amy: string;
    readonly en_GB_Brian: string;
    readonly ru_RU_Tatyana: string;
    readonly ru_RU_Maxim: string;
    readonly de_DE_Marlene: string;
    readonly de_DE_Hans: string;
    readonly fr_FR_Celine: string;
    readonly fr_FR_Mathieu: string;
    readonly es_ES_Conchita: string;
    readonly es_ES_Enrique: string;
    readonly it_IT_Carla: string;
    readonly it_IT_Giorgio: string;
    readonly pt_BR_Camila: string;
    readonly ja_JP_Mizuki: string;
  };
  /** Google's voices by name, each standing in for its language and gender. */
  const Google: {
    readonly en_US_Wavenet_A: string;
    readonly en_US_Wavenet_C: string;
    readonly en_US_Wavenet_F: string;
    readonly en_GB_Wavenet_B: string;
    readonly de_DE_Wavenet_A: string;
    readonly ru_RU_Wavenet_A: string;
  };
  /** Microsoft's voices by name, each standing in for its language and gender. */
  const Microsoft: {
    readonly en_US_JennyNeural: string;
    readonly en_US_GuyNeural: string;
    readonly en_GB_SoniaNeural: string;
    readonly de_DE_KatjaNeural: string;
    readonly ru_RU_SvetlanaNeural: string;
  };
  /** Yandex's voices by name, each standing in for its language and gender. */
  const Yandex: {
    readonly ru_RU_alena: string;
    readonly ru_RU_filipp: string;
  };
}

/** A stored pair, as {@link ApplicationStorage} returns it. */
interface StorageKey {
  key: string;
  value: string;
  /** When the pair expires, seconds since the Unix epoch. */
  expireAt: number;
}

/** What {@link ApplicationStorage.keys} resolves with. */
interface StoragePage {
  /** Matching keys in ascending order. */
  keys: string[];
}

/**
 * Key-value pairs of this session's application, each with a time to live. `dialtone serve`
 * keeps them in its database: they outlive sessions and restarts, every session of the
 * application sees them, and no other application or account does. `dialtone run` keeps
 * them in memory; `dialtone test` starts from the spec's `storage`. A failure of the store
 * rejects the promise with an `Error`. (A class of static methods only because `delete` cannot
 * name a namespace function in TypeScript; scenarios use it as VoxEngine's namespace.)
 */
declare class ApplicationStorage {
  private constructor();
  /** The pair of `key`, or `null`. @throws RangeError for an empty key or one over 200 characters. */
  static get(key: string): Promise<StorageKey | null>;
  /**
   * Creates or replaces the pair of `key` (up to 200 characters; a namespace before `:`,
   * as in `mask:1234`, is what {@link ApplicationStorage.keys} finds) with `value` (up to
   * 2000 characters).
   * @param ttl seconds until it expires, up to 7,776,000 (90 days); 30 days when 0 or left out.
   * @throws RangeError for a key, value or ttl out of range. An application holds at most
   *   100,000 keys; one more is rejected.
   */
  static put(key: string, value: string, ttl?: number): Promise<StorageKey>;
  /** Deletes the pair of `key`; resolves with it, or `null` if there was none. */
  static delete(key: string): Promise<StorageKey | null>;
  /** Keys that start with `pattern` (all when left out), in order, at most `count` (1000). */
  static keys(pattern?: string, count?: number): Promise<StoragePage>;
}

/** Hashes and MACs; each takes a string (its UTF-8 bytes) or an array of bytes. */
declare namespace Crypto {
  /** MD5, lower-case hex. */
  function md5(data: string | number[]): string;
  /** SHA-1, lower-case hex. */
  function sha1(data: string | number[]): string;
  /** SHA-256, lower-case hex. */
  function sha256(data: string | number[]): string;
  /** HMAC-SHA-256 (RFC 2104) of `data` under `key`, lower-case hex. */
  function hmac_sha256(key: string | number[], data: string | number[]): string;
}

/** Parameters of {@link Conference.add}. */
interface EndpointParameters {
  /** The call (or a Player, direction SEND) to add. */
  call?: Call | Player;
  player?: Player;
  /** MIX (default): hears everyone else mixed; FORWARD: hears the loudest other speaker. */
  mode?: "MIX" | "FORWARD";
  /** SEND: speaks only; RECEIVE: listens only; BOTH (default). */
  direction?: "SEND" | "RECEIVE" | "BOTH";
  displayName?: string;
}

/**
 * Which endpoints an endpoint hears ({@link Endpoint.manageEndpoint}): keys are endpoint
 * ids, `all` (every endpoint now in the conference) or `new` (endpoints added later).
 */
type ReceiveParameters = { [endpointIdOrAllOrNew: string]: { audio?: boolean } };

/** A conference from {@link VoxEngine.createConference}. */
declare class Conference {
  /** The conference's id. */
  id(): string;
  /**
   * Adds a call (or a player) as an endpoint, or changes the one it already is; returns
   * it. {@link ConferenceEvents.EndpointAdded} (or EndpointUpdated) follows.
   * @throws TypeError for a stopped conference or bad parameters; RangeError past 1,000 endpoints.
   */
  add(parameters: EndpointParameters): Endpoint;
  /** The endpoint with this id, or null. */
  get(id: string): Endpoint | null;
  /** Every endpoint now in the conference. */
  getList(): Endpoint[];
  /** The target hears the conference: a call joins as a RECEIVE endpoint (or widens its
   * direction), a recorder records the full mix. */
  sendMediaTo(targetMediaUnit: Call | Recorder): void;
  /** Undoes {@link Conference.sendMediaTo}. */
  stopMediaTo(targetMediaUnit: Call | Recorder): void;
  /** Every endpoint leaves and the mixer goes; {@link ConferenceEvents.Stopped} follows. */
  stop(): void;
  addEventListener<E extends keyof _ConferenceEventMap>(
    event: E,
    handler: (event: _ConferenceEventMap[E]) => any,
  ): void;
  removeEventListener<E extends keyof _ConferenceEventMap>(
    event: E,
    handler?: (event: _ConferenceEventMap[E]) => any,
  ): void;
  toString(): string;
}

/** One member of a {@link Conference}: a call or a player. */
declare class Endpoint {
  id(): string;
  /** The endpoint's call; null for a player. */
  getCall(): Call | null;
  getMode(): "MIX" | "FORWARD";
  getDirection(): "SEND" | "RECEIVE" | "BOTH";
  getDisplayName(): string;
  /** Sets the display name; {@link ConferenceEvents.EndpointUpdated} follows. */
  setDisplayName(displayName: string): void;
  /**
   * Which endpoints this one hears (whisper: the customer's endpoint stops hearing the
   * supervisor's). Applied at once, without any re-INVITE;
   * {@link ConferenceEvents.EndpointManaged} follows.
   * @throws RangeError for an id that is not in the conference.
   */
  manageEndpoint(parameters: ReceiveParameters): Promise<void>;
  /** Dialtone extension: change the direction without any re-INVITE (listen ↔ barge). */
  setDirection(direction: "SEND" | "RECEIVE" | "BOTH"): void;
  /** Dialtone extension: change the mode. */
  setMode(mode: "MIX" | "FORWARD"): void;
  toString(): string;
}

/** Events of a {@link Conference}. */
declare enum ConferenceEvents {
  /** A call that has ended was added (`code` 404, `error`, `endpointId`): it never joins. */
  ConferenceError = "Conference.Error",
  /** The same as {@link ConferenceEvents.ConferenceError}. */
  Error = "Conference.Error",
  EndpointAdded = "Conference.EndpointAdded",
  /** {@link Endpoint.manageEndpoint} was applied. */
  EndpointManaged = "Conference.EndpointManaged",
  /** The endpoint left: its call ended, `stopMediaBetween`, or the conference stopped. */
  EndpointRemoved = "Conference.EndpointRemoved",
  /** Direction, mode or display name changed. */
  EndpointUpdated = "Conference.EndpointUpdated",
  Started = "Conference.Started",
  Stopped = "Conference.Stopped",
}

declare namespace ConferenceEvents {
  interface _ConferenceEvent<N extends string> {
    name: N;
    conference: Conference;
  }
  interface EndpointEvent<N extends string> extends _ConferenceEvent<N> {
    endpoint: Endpoint;
    endpointId: string;
    mode: "MIX" | "FORWARD";
    direction: "SEND" | "RECEIVE" | "BOTH";
  }
  type StartedEvent = _ConferenceEvent<"Conference.Started">;
  type StoppedEvent = _ConferenceEvent<"Conference.Stopped">;
  interface ErrorEvent extends _ConferenceEvent<"Conference.Error"> {
    code?: number;
    error?: string;
    endpointId?: string;
  }
}

interface _ConferenceEventMap {
  "Conference.Started": ConferenceEvents.StartedEvent;
  "Conference.Stopped": ConferenceEvents.StoppedEvent;
  "Conference.EndpointAdded": ConferenceEvents.EndpointEvent<"Conference.EndpointAdded">;
  "Conference.EndpointRemoved": ConferenceEvents.EndpointEvent<"Conference.EndpointRemoved">;
  "Conference.EndpointUpdated": ConferenceEvents.EndpointEvent<"Conference.EndpointUpdated">;
  "Conference.EndpointManaged": ConferenceEvents.EndpointEvent<"Conference.EndpointManaged">;
  "Conference.Error": ConferenceEvents.ErrorEvent;
}
