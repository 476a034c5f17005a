// Sequence: answer, then play a greeting, a chime and a goodbye one after
// another with one SequencePlayer (TTS and URL segments); log when the chime
// starts and half a second before the goodbye ends, and hang up when the
// sequence has played. Give the chime's URL or media path as custom data.
VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
  var call = e.call;
  call.addEventListener(CallEvents.Connected, function () {
    // A player plays from the moment it is made: make it once the caller hears.
    var chime = { url: VoxEngine.customData() || "chime.wav" };
    var goodbye = { text: "Goodbye.", parameters: { language: VoiceList.Default.en_US_Female } };
    var player = VoxEngine.createSequencePlayer({
      segments: [{ text: "Thanks for calling Dialtone." }, chime, goodbye],
    });
    player.addMarker(0, chime);
    player.addMarker(-500, goodbye);
    player.addEventListener(SequencePlayerEvents.Started, function (ev) {
      Logger.write("sequence: " + ev.duration + " s");
    });
    player.addEventListener(SequencePlayerEvents.PlaybackMarkerReached, function (ev) {
      Logger.write("sequence: marker " + ev.offset);
    });
    player.addEventListener(SequencePlayerEvents.PlaybackFinished, function (ev) {
      if (ev.error) Logger.write("sequence failed: " + ev.error);
      call.hangup();
    });
    player.sendMediaTo(call);
  });
  call.addEventListener(CallEvents.Disconnected, function () {
    VoxEngine.terminate();
  });
  call.answer();
});
