// Benchmark load: answer, loop one prompt from the media directory to the
// caller and record the call to WAV. The "bench: play" line is logged right
// before startPlayback: its timestamp starts the first-RTP latency clock.
VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
  var call = e.call;
  call.addEventListener(CallEvents.Connected, function () {
    call.record();
    Logger.write("bench: play");
    call.startPlayback("prompt.wav", { loop: true });
  });
  call.addEventListener(CallEvents.PlaybackFinished, function (ev) {
    if (ev.error) Logger.write("bench: playback failed: " + ev.error);
  });
  call.addEventListener(CallEvents.RecordError, function (ev) {
    Logger.write("bench: record failed: " + ev.error);
  });
  call.addEventListener(CallEvents.RecordStopped, function () {
    VoxEngine.terminate();
  });
  call.addEventListener(CallEvents.Disconnected, function () {
    setTimeout(function () {
      VoxEngine.terminate();
    }, 5000);
  });
  call.answer();
});
