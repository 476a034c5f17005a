// A queue line for bench/acd_load.py: answer, queue for "support", bridge
// the caller to the agent who answers, hang up when the agent does.
require(Modules.ACD);

VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
  var caller = e.call;
  var request = null;
  caller.answer();
  caller.addEventListener(CallEvents.Connected, function () {
    request = VoxEngine.enqueueACDRequest("support", e.callerid);
    request.addEventListener(ACDEvents.OperatorReached, function (r) {
      VoxEngine.sendMediaBetween(caller, r.operatorCall);
      r.operatorCall.addEventListener(CallEvents.Disconnected, function () {
        caller.hangup();
      });
    });
  });
  caller.addEventListener(CallEvents.Disconnected, function () {
    if (request) request.cancel();
    VoxEngine.terminate();
  });
});
