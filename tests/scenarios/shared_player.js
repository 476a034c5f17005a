// One URL player feeding two calls of one session (the inbound caller A and
// the outbound call B to the SIP URI in customData) and a standalone recorder.
// Markers and events are logged; when either call ends the recorder is
// stopped and the session ends once it reports the file.
VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
  var a = e.call;
  var b = VoxEngine.callSIP(VoxEngine.customData(), { callerid: "player" });
  var player = null;
  var recorder = VoxEngine.createRecorder();
  var ending = false;

  recorder.addEventListener(RecorderEvents.Started, function (ev) {
    Logger.write("shared_player: recorder started " + ev.url);
  });
  recorder.addEventListener(RecorderEvents.Stopped, function (ev) {
    Logger.write("shared_player: recorder stopped " + ev.url + " after " + ev.duration);
    VoxEngine.terminate();
  });

  function end() {
    if (ending) return;
    ending = true;
    a.hangup();
    b.hangup();
    recorder.stop();
  }

  b.addEventListener(CallEvents.Connected, function () {
    a.answer();
  });
  b.addEventListener(CallEvents.Failed, function (ev) {
    a.reject(ev.code);
    VoxEngine.terminate();
  });
  a.addEventListener(CallEvents.Connected, function () {
    player = VoxEngine.createURLPlayer("tone440.wav", { loop: true });
    player.addEventListener(PlayerEvents.Created, function () {
      Logger.write("shared_player: created");
    });
    player.addEventListener(PlayerEvents.Started, function (ev) {
      Logger.write("shared_player: started, duration " + ev.duration);
    });
    player.addEventListener(PlayerEvents.PlaybackMarkerReached, function (ev) {
      Logger.write("shared_player: marker " + ev.offset);
    });
    player.addMarker(500);
    player.sendMediaTo(a);
    player.sendMediaTo(b);
    player.sendMediaTo(recorder);
  });
  a.addEventListener(CallEvents.Disconnected, end);
  b.addEventListener(CallEvents.Disconnected, end);
});
