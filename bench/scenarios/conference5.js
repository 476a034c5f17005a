// Benchmark: every inbound call opens a conference of five, itself and four
// calls to the SIP URI in custom data (a SIPp UAS streaming audio).
VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
  var caller = e.call;
  var conf = VoxEngine.createConference();
  var legs = [];
  conf.addEventListener(ConferenceEvents.EndpointAdded, function () {
    if (conf.getList().length === 5) Logger.write("bench-conf: 5 in");
  });
  caller.addEventListener(CallEvents.Connected, function () {
    VoxEngine.sendMediaBetween(caller, conf);
    for (var i = 0; i < 4; i++) {
      var leg = VoxEngine.callSIP(VoxEngine.customData(), { callerid: "conf" });
      legs.push(leg);
      leg.addEventListener(CallEvents.Connected, function (ev) {
        VoxEngine.sendMediaBetween(ev.call, conf);
      });
    }
  });
  caller.addEventListener(CallEvents.Disconnected, function () {
    legs.forEach(function (leg) { leg.hangup(); });
    conf.stop();
    VoxEngine.terminate();
  });
  caller.answer();
});
