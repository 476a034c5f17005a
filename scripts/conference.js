// Three-way calling: the caller is put in a conference together with every
// SIP URI in the session's custom data (comma-separated). Each party hears
// all the others and not itself; the conference ends when the caller leaves.
VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
  var caller = e.call;
  var conf = VoxEngine.createConference();
  var legs = [];

  conf.addEventListener(ConferenceEvents.Started, function () {
    Logger.write("conference: started");
  });
  conf.addEventListener(ConferenceEvents.EndpointAdded, function (ev) {
    Logger.write("conference: " + ev.endpoint.getDirection() + " endpoint added, " +
      conf.getList().length + " in");
  });
  conf.addEventListener(ConferenceEvents.EndpointRemoved, function () {
    Logger.write("conference: endpoint removed, " + conf.getList().length + " in");
  });
  conf.addEventListener(ConferenceEvents.Stopped, function () {
    Logger.write("conference: stopped");
    VoxEngine.terminate();
  });

  caller.addEventListener(CallEvents.Connected, function () {
    VoxEngine.sendMediaBetween(caller, conf);
    VoxEngine.customData().split(",").forEach(function (uri) {
      uri = uri.trim();
      if (!uri) return;
      var leg = VoxEngine.callSIP(uri, { callerid: e.callerid });
      legs.push(leg);
      leg.addEventListener(CallEvents.Connected, function () {
        conf.add({ call: leg, mode: "MIX", direction: "BOTH", displayName: uri });
      });
      leg.addEventListener(CallEvents.Failed, function (ev) {
        Logger.write("conference: " + uri + " failed " + ev.code);
      });
    });
  });
  caller.addEventListener(CallEvents.Disconnected, function () {
    legs.forEach(function (leg) { leg.hangup(); });
    conf.stop();
  });
  caller.answer();
});
