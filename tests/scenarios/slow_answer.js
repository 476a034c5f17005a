// Rings and answers only after a minute: the caller is expected to CANCEL first.
VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
  var call = e.call;
  call.addEventListener(CallEvents.Disconnected, function (ev) {
    Logger.write("disconnected " + ev.internalCode);
    VoxEngine.terminate();
  });
  call.addEventListener(CallEvents.Failed, function (ev) {
    Logger.write("failed " + ev.code);
    VoxEngine.terminate();
  });
  try {
    call.ring();
  } catch (err) {
    Logger.write("ring failed: " + err);
  }
  Logger.write("ringing, answering in 60 s");
  setTimeout(function () {
    call.answer();
  }, 60000);
});
