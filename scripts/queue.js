// A support line: the caller hears music while queued for the "support"
// queue's agents; the first agent to answer is bridged to the caller. An
// agent who does not answer sends the caller back to its place for the
// next one. Nobody logged in, or a full queue: an apology, then hang up.
require(Modules.ACD);

VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
  var caller = e.call;
  var request = null;
  Logger.write("queue: " + e.callerid + " calls support");

  caller.answer();
  caller.addEventListener(CallEvents.Connected, function () {
    caller.startPlayback("hold.wav", { loop: true });
    request = VoxEngine.enqueueACDRequest("support", e.callerid, { priority: 10 });
    request.addEventListener(ACDEvents.Queued, function () {
      Logger.write("queue: waiting");
      request.getStatus();
    });
    request.addEventListener(ACDEvents.Waiting, function (w) {
      Logger.write("queue: position " + w.position);
    });
    request.addEventListener(ACDEvents.OperatorFailed, function (f) {
      Logger.write("queue: " + f.operatorUserName + " did not answer (" + f.statusCode + ")");
    });
    request.addEventListener(ACDEvents.OperatorReached, function (r) {
      Logger.write("queue: " + r.operatorCall.number() + " answered");
      caller.stopPlayback();
      VoxEngine.sendMediaBetween(caller, r.operatorCall);
      r.operatorCall.addEventListener(CallEvents.Disconnected, function () {
        caller.hangup();
      });
    });
    var sorry = function () {
      caller.stopPlayback();
      caller.say("Sorry, nobody can take your call now. Please call again later.");
      caller.addEventListener(CallEvents.PlaybackFinished, function () {
        caller.hangup();
      });
    };
    request.addEventListener(ACDEvents.Offline, sorry);
    request.addEventListener(ACDEvents.QueueFull, sorry);
  });
  caller.addEventListener(CallEvents.Disconnected, function () {
    if (request) request.cancel();
    VoxEngine.terminate();
  });
});
