// Extension dialling: the dialled number is a user of this application.
// Every phone the user has registered rings; the first to answer is bridged
// to the caller. If nobody answers in 20 s, the user is busy or has no phone
// registered, the caller reaches voicemail: a prompt, then 10 s of recording.
VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
  var inbound = e.call;
  var user = e.destination;
  var bridged = false;
  Logger.write("call_user: " + e.callerid + " -> " + user);

  var outbound = VoxEngine.callUser({ username: user, callerid: e.callerid, displayName: e.displayName });
  var timer = setTimeout(function () {
    Logger.write("call_user: " + user + " did not answer in time");
    outbound.hangup();
  }, 20000);

  outbound.addEventListener(CallEvents.Ringing, function () {
    inbound.ring();
  });
  outbound.addEventListener(CallEvents.Connected, function () {
    clearTimeout(timer);
    bridged = true;
    Logger.write("call_user: " + user + " answered");
    inbound.answer();
    VoxEngine.sendMediaBetween(inbound, outbound);
  });
  outbound.addEventListener(CallEvents.Failed, function (ev) {
    clearTimeout(timer);
    Logger.write("call_user: " + user + " failed with " + ev.code);
    voicemail();
  });
  outbound.addEventListener(CallEvents.Disconnected, function () {
    if (bridged) inbound.hangup();
  });

  function voicemail() {
    inbound.addEventListener(CallEvents.Connected, function () {
      inbound.say("Please leave a message after the tone.");
    });
    inbound.addEventListener(CallEvents.PlaybackFinished, function () {
      inbound.record();
      setTimeout(function () {
        inbound.hangup();
      }, 10000);
    });
    inbound.answer();
  }

  inbound.addEventListener(CallEvents.Disconnected, function () {
    outbound.hangup();
    VoxEngine.terminate();
  });
});
