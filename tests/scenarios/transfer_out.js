// Answers, then asks the caller's phone to call the number in the custom data
// itself (a blind transfer: REFER); when the phone reports the new call up,
// hangs up.
VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
  var call = e.call;
  call.addEventListener(CallEvents.Connected, function () {
    call.transferTo(VoxEngine.customData());
  });
  call.addEventListener(CallEvents.TransferComplete, function (ev) {
    Logger.write("transfer_out: complete (" + ev.role + ")");
    call.hangup();
  });
  call.addEventListener(CallEvents.TransferFailed, function (ev) {
    Logger.write("transfer_out: failed " + ev.code + " " + ev.reason);
    call.hangup();
  });
  call.addEventListener(CallEvents.Disconnected, function () {
    VoxEngine.terminate();
  });
  call.answer();
});
