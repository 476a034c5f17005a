// Progress tone of the country named by the destination user ("US", "RU");
// the caller hangs up.
VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
  var call = e.call;
  call.addEventListener(CallEvents.Connected, function () {
    Logger.write("progress: " + e.destination);
    call.playProgressTone(e.destination);
  });
  call.addEventListener(CallEvents.Disconnected, function () {
    VoxEngine.terminate();
  });
  call.answer();
});
