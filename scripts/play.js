// Play: answer, play the URL or media path given as the session's custom
// data, and hang up when it has played to the end.
VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
  var call = e.call;
  var source = VoxEngine.customData();
  call.addEventListener(CallEvents.Connected, function () {
    call.startPlayback(source);
  });
  call.addEventListener(CallEvents.PlaybackStarted, function (ev) {
    Logger.write("play: " + source + " (" + ev.duration + " s)");
  });
  call.addEventListener(CallEvents.PlaybackFinished, function (ev) {
    if (ev.error) Logger.write("play: " + source + " failed: " + ev.error);
    call.hangup();
  });
  call.addEventListener(CallEvents.Disconnected, function () {
    VoxEngine.terminate();
  });
  call.answer();
});
