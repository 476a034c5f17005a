// DTMF echo: answer and send every key the caller presses straight back.
VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
  var call = e.call;
  call.addEventListener(CallEvents.Connected, function () {
    call.handleTones(true);
  });
  call.addEventListener(CallEvents.ToneReceived, function (ev) {
    Logger.write("dtmf_echo: " + ev.tone);
    call.sendDigits(ev.tone);
  });
  call.addEventListener(CallEvents.Disconnected, function () {
    VoxEngine.terminate();
  });
  call.answer();
});
