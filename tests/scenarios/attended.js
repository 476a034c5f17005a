// Attended transfer: the caller is put through to the number in the custom
// data; when the caller presses 1, Dialtone asks the caller's phone to call
// that number itself and take the place of Dialtone's call to it (REFER with
// Replaces). Once the phone reports it done, Dialtone leaves both calls.
VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
  var caller = e.call;
  var callee = VoxEngine.callSIP(VoxEngine.customData());
  callee.addEventListener(CallEvents.Connected, function () {
    caller.answer();
  });
  caller.addEventListener(CallEvents.Connected, function () {
    caller.handleTones(true);
    VoxEngine.sendMediaBetween(caller, callee);
  });
  caller.addEventListener(CallEvents.ToneReceived, function (ev) {
    if (ev.tone === "1") caller.transferTo(callee);
  });
  caller.addEventListener(CallEvents.TransferComplete, function () {
    Logger.write("attended: complete");
    caller.hangup();
  });
  caller.addEventListener(CallEvents.TransferFailed, function (ev) {
    Logger.write("attended: failed " + ev.code);
  });
  var ended = 0;
  function done() {
    ended += 1;
    if (ended === 2) VoxEngine.terminate();
  }
  caller.addEventListener(CallEvents.Disconnected, done);
  callee.addEventListener(CallEvents.Disconnected, done);
});
