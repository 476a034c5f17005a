// Voicemail: answer, say a prompt, beep, then record the caller until they
// press # or hang up. Once the recording is complete its URL is reported:
// POSTed as JSON {callerid, destination, url, duration} to the `reportUrl` of
// the session's custom data (a JSON object, e.g. {"reportUrl": "https://..."}).
// Without a report URL the message is only logged. The session ends once the
// report is answered (or has failed, at most REPORT_TIMEOUT_S later).
var REPORT_TIMEOUT_S = 10;
// How long to wait for the recording to be complete after the call ended.
var RECORD_STOP_WAIT_MS = 10000;

// The report URL from the custom data, or "" when there is none.
function reportUrl() {
  var data = VoxEngine.customData();
  if (!data) return "";
  try {
    var parsed = JSON.parse(data);
    if (parsed && typeof parsed.reportUrl === "string") return parsed.reportUrl;
  } catch (err) {
    Logger.write("voicemail: custom data is not JSON, no report URL");
  }
  return "";
}

VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
  var call = e.call;
  var callerid = e.callerid;
  var destination = e.destination;
  var recording = false;
  var ended = false;
  var stopWait = null;

  call.addEventListener(CallEvents.Connected, function () {
    call.handleTones(true);
    call.say("Please leave a message after the tone. Press the hash key when you are done.");
  });

  // The prompt has ended: beep, and start recording when the beep has ended.
  call.addEventListener(CallEvents.PlaybackFinished, function () {
    if (recording || ended) return;
    var beep = VoxEngine.createToneScriptPlayer("1000@-10;1(.5/0/1)");
    beep.addEventListener(PlayerEvents.PlaybackFinished, function () {
      if (recording || ended) return;
      recording = true;
      call.record({ stereo: false, format: "wav" });
    });
    beep.sendMediaTo(call);
  });

  call.addEventListener(CallEvents.RecordStarted, function (ev) {
    Logger.write("voicemail: recording to " + ev.url);
  });

  call.addEventListener(CallEvents.ToneReceived, function (ev) {
    if (ev.tone === "#") call.hangup();
  });

  call.addEventListener(CallEvents.RecordStopped, function (ev) {
    if (stopWait !== null) clearTimeout(stopWait);
    Logger.write("voicemail: message " + ev.url + " (" + ev.duration + " s)");
    report(ev.url, ev.duration);
  });

  call.addEventListener(CallEvents.RecordError, function (ev) {
    if (stopWait !== null) clearTimeout(stopWait);
    Logger.write("voicemail: recording failed: " + ev.error);
    VoxEngine.terminate();
  });

  // The recording is finished after the call ends: wait for RecordStopped.
  call.addEventListener(CallEvents.Disconnected, function () {
    ended = true;
    if (!recording) VoxEngine.terminate();
    else stopWait = setTimeout(function () { VoxEngine.terminate(); }, RECORD_STOP_WAIT_MS);
  });

  // POSTs the message to the report URL, then ends the session.
  function report(url, duration) {
    var to = reportUrl();
    if (!to) {
      Logger.write("voicemail: no report URL, message not reported");
      VoxEngine.terminate();
      return;
    }
    var body = JSON.stringify({
      callerid: callerid,
      destination: destination,
      url: url,
      duration: duration,
    });
    Logger.write("voicemail: reporting " + body + " to " + to);
    Net.httpRequestAsync(to, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      postData: body,
      timeout: REPORT_TIMEOUT_S,
    }).then(function (result) {
      if (result.code >= 200 && result.code < 300) {
        Logger.write("voicemail: reported, code " + result.code);
      } else {
        Logger.write("voicemail: report failed with code " + result.code +
          (result.error ? " (" + result.error + ")" : ""));
      }
      VoxEngine.terminate();
    });
  }

  call.answer();
});
