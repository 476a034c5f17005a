// Echo with a recording: the caller hears itself while the call is recorded.
// Destination "stereo" records with record({stereo: true}) (caller left, what
// the caller hears right), anything else records mono with record().
// The session ends once the recording is reported stopped.
VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
  var call = e.call;
  var stereo = e.destination === "stereo";

  call.addEventListener(CallEvents.Connected, function () {
    call.record({ stereo: stereo });
    call.sendMediaTo(call);
    Logger.write("record_echo: recording, stereo=" + stereo);
  });

  call.addEventListener(CallEvents.RecordStarted, function (ev) {
    Logger.write("record_echo: started " + ev.url);
  });

  call.addEventListener(CallEvents.RecordStopped, function (ev) {
    Logger.write("record_echo: stopped " + ev.url + " after " + ev.duration);
    VoxEngine.terminate();
  });

  call.addEventListener(CallEvents.RecordError, function (ev) {
    Logger.write("record_echo: error " + ev.error);
  });

  call.addEventListener(CallEvents.Disconnected, function () {
    // RecordStopped follows the hang-up; do not wait for it forever.
    setTimeout(function () {
      VoxEngine.terminate();
    }, 10000);
  });

  call.answer();
});
