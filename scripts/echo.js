// Echo: answer every call and send the caller's own audio back to them.
VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
  Logger.write("echo: incoming call from " + e.callerid + " to " + e.destination);
  var call = e.call;

  call.addEventListener(CallEvents.Connected, function () {
    Logger.write("echo: connected, echoing audio");
    call.sendMediaTo(call);
  });

  call.addEventListener(CallEvents.Disconnected, function (d) {
    Logger.write("echo: disconnected (" + d.internalCode + " " + d.reason + "), ending the session");
    VoxEngine.terminate();
  });

  call.answer();
  Logger.write("echo: answering");
});
