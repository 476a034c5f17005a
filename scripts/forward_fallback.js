// Forward with fallback: customData lists SIP URIs separated by spaces. Each
// is tried in turn (20 s each); the first to answer is bridged to the caller.
// If every one fails, the caller hears a message and the call ends.
VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
  var inbound = e.call;
  var targets = VoxEngine.customData().split(/\s+/).filter(function (t) {
    return t.length > 0;
  });
  var next = 0;
  var outbound = null;
  var done = false;

  function giveUp() {
    Logger.write("forward_fallback: nobody answered");
    inbound.addEventListener(CallEvents.Connected, function () {
      inbound.say("Sorry, nobody is available. Please call again later.");
    });
    inbound.addEventListener(CallEvents.PlaybackFinished, function () {
      inbound.hangup();
    });
    inbound.answer();
  }

  function tryNext() {
    if (next >= targets.length) {
      giveUp();
      return;
    }
    var target = targets[next++];
    Logger.write("forward_fallback: trying " + target);
    var call = VoxEngine.callSIP(target, { callerid: e.callerid, displayName: e.displayName });
    outbound = call;
    var timer = setTimeout(function () {
      Logger.write("forward_fallback: " + target + " did not answer in time");
      call.hangup();
    }, 20000);
    call.addEventListener(CallEvents.Ringing, function () {
      inbound.ring();
    });
    call.addEventListener(CallEvents.Failed, function (ev) {
      clearTimeout(timer);
      Logger.write("forward_fallback: " + target + " failed with " + ev.code);
      if (!done) tryNext();
    });
    call.addEventListener(CallEvents.Connected, function () {
      clearTimeout(timer);
      Logger.write("forward_fallback: " + target + " answered");
      inbound.answer();
      VoxEngine.sendMediaBetween(inbound, call);
    });
    call.addEventListener(CallEvents.Disconnected, function () {
      inbound.hangup();
    });
  }

  inbound.addEventListener(CallEvents.Disconnected, function () {
    done = true;
    if (outbound) outbound.hangup();
    VoxEngine.terminate();
  });

  tryNext();
});
