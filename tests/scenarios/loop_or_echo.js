// Calls to user "loop" are answered and then spin forever in the Connected
// handler; any other call is an echo. One process serves both at once: the
// spinning session must be ended without hurting the others.
VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
  var call = e.call;
  var spin = e.destination === "loop";
  call.addEventListener(CallEvents.Connected, function () {
    if (spin) {
      Logger.write("spinning");
      while (true) {}
    }
    Logger.write("echoing");
    call.sendMediaTo(call);
  });
  call.addEventListener(CallEvents.Disconnected, function () {
    VoxEngine.terminate();
  });
  call.answer();
});
