// Voicemail: answer, say a prompt, beep, then record the caller until they
// press # or hang up. The recording's URL is logged once it is complete.
VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
  var call = e.call;
  var recording = false;
  var ended = false;

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
    Logger.write("voicemail: message " + ev.url + " (" + ev.duration + " s)");
    VoxEngine.terminate();
  });

  call.addEventListener(CallEvents.RecordError, function (ev) {
    Logger.write("voicemail: recording failed: " + ev.error);
    VoxEngine.terminate();
  });

  // The recording is finished after the call ends: wait for RecordStopped.
  call.addEventListener(CallEvents.Disconnected, function () {
    ended = true;
    if (!recording) VoxEngine.terminate();
    else setTimeout(function () { VoxEngine.terminate(); }, 10000);
  });

  call.answer();
});
