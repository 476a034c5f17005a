// A support line: the caller hears music while queued for the "support"
// queue's agents; the first agent to answer is bridged to the caller. An
// agent who does not answer sends the caller back to its place for the
// next one. Nobody logged in, or a full queue: an apology, then hang up.
//
// The agent may hand the caller on (a desktop's singleStepTransfer, or a
// REFER from the agent's phone): to "queue:NAME" it waits again in that
// queue, to "agent:NAME" it waits for that agent, to a SIP URI or a number
// it is called there and bridged.
require(Modules.ACD);

VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
  var caller = e.call;
  var request = null;
  var agentCall = null;
  var queueName = "support";
  Logger.write("queue: " + e.callerid + " calls support");

  var sorry = function () {
    caller.stopPlayback();
    caller.say("Sorry, nobody can take your call now. Please call again later.");
    caller.addEventListener(CallEvents.PlaybackFinished, function () {
      caller.hangup();
    });
  };

  var bridge = function (other) {
    caller.stopPlayback();
    VoxEngine.sendMediaBetween(caller, other);
    other.addEventListener(CallEvents.Disconnected, function () {
      // Gone to a transfer target: not the end of the caller's call.
      if (other === agentCall) caller.hangup();
    });
  };

  var transfer = function (to) {
    Logger.write("queue: transfer to " + to);
    var from = agentCall;
    agentCall = null;
    from.hangup();
    caller.startPlayback("hold.wav", { loop: true });
    if (to.indexOf("queue:") === 0) {
      enqueue(to.slice("queue:".length));
      return;
    }
    if (to.indexOf("agent:") === 0) {
      enqueue(queueName, to.slice("agent:".length));
      return;
    }
    var leg = to.indexOf("sip:") === 0
      ? VoxEngine.callSIP(to, { callerid: e.callerid })
      : VoxEngine.callPSTN(to, e.callerid);
    agentCall = leg;
    leg.addEventListener(CallEvents.Connected, function () {
      bridge(leg);
    });
    leg.addEventListener(CallEvents.Failed, function (f) {
      Logger.write("queue: transfer failed (" + f.code + ")");
      sorry();
    });
  };

  var enqueue = function (queue, agent) {
    queueName = queue;
    var options = { priority: 10 };
    if (agent) options.agent = agent;
    request = VoxEngine.enqueueACDRequest(queue, e.callerid, options);
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
      agentCall = r.operatorCall;
      agentCall.handleBlindTransfer(true);
      agentCall.addEventListener(CallEvents.BlindTransferRequested, function (t) {
        transfer(t.transferTo);
      });
      bridge(agentCall);
    });
    request.addEventListener(ACDEvents.Offline, sorry);
    request.addEventListener(ACDEvents.QueueFull, sorry);
  };

  caller.answer();
  caller.addEventListener(CallEvents.Connected, function () {
    caller.startPlayback("hold.wav", { loop: true });
    enqueue("support");
  });
  caller.addEventListener(CallEvents.Disconnected, function () {
    if (request) request.cancel();
    VoxEngine.terminate();
  });
});
