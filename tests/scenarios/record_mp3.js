// Echo with an MP3 recording: the caller hears itself while the call is
// recorded with record({format: "mp3"}). The session ends once the recording
// is reported stopped.
VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
  var call = e.call;

  call.addEventListener(CallEvents.Connected, function () {
    call.record({ format: "mp3" });
    call.sendMediaTo(call);
    Logger.write("record_mp3: recording");
  });

  call.addEventListener(CallEvents.RecordStarted, function (ev) {
    Logger.write("record_mp3: started " + ev.url);
  });

  call.addEventListener(CallEvents.RecordStopped, function (ev) {
    Logger.write("record_mp3: stopped " + ev.url + " after " + ev.duration);
    VoxEngine.terminate();
  });

  call.addEventListener(CallEvents.RecordError, function (ev) {
    Logger.write("record_mp3: error " + ev.error);
  });

  call.addEventListener(CallEvents.Disconnected, function () {
    // RecordStopped follows the hang-up; do not wait for it forever.
    setTimeout(function () {
      VoxEngine.terminate();
    }, 10000);
  });

  call.answer();
});
