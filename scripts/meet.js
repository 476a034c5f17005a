// A meet-me conference across sessions, as VoxEngine builds one: each
// caller's session calls the conference session "room"
// (VoxEngine.callConference) and bridges its caller to that call; the
// conference session gets every such call as CallAlerting with destination
// "room" and puts it in its one conference. With `dialtone serve`, give
// "room" a rule of its own pointing at a conference scenario; with
// `dialtone run`, this one file plays both parts.
var conf = null;

function conferenceSession(e) {
  if (!conf) {
    conf = VoxEngine.createConference({ id: "room" });
    conf.addEventListener(ConferenceEvents.EndpointAdded, function () {
      Logger.write("meet: " + conf.getList().length + " in the room");
    });
    conf.addEventListener(ConferenceEvents.EndpointRemoved, function () {
      Logger.write("meet: " + conf.getList().length + " left in the room");
      if (conf.getList().length === 0) VoxEngine.terminate();
    });
  }
  e.call.answer();
  VoxEngine.sendMediaBetween(e.call, conf);
}

function callerSession(e) {
  var caller = e.call;
  var leg = null;
  caller.addEventListener(CallEvents.Connected, function () {
    leg = VoxEngine.callConference("room", e.callerid, e.displayName);
    leg.addEventListener(CallEvents.Connected, function () {
      VoxEngine.sendMediaBetween(caller, leg);
      Logger.write("meet: " + e.callerid + " joined the room");
    });
    leg.addEventListener(CallEvents.Failed, function (ev) {
      Logger.write("meet: the room is unavailable (" + ev.code + ")");
      caller.hangup();
    });
    leg.addEventListener(CallEvents.Disconnected, function () {
      caller.hangup();
    });
  });
  caller.addEventListener(CallEvents.Disconnected, function () {
    if (leg) leg.hangup();
    VoxEngine.terminate();
  });
  caller.answer();
}

VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
  if (e.destination === "room") {
    conferenceSession(e);
  } else {
    callerSession(e);
  }
});
