// A supervisor on a customer's call with an agent, in a conference: the
// supervisor first listens (hears both, heard by none); the customer's key
// 2 makes it whisper (heard by the agent only), 3 barge in (heard by both),
// 1 listen again. Custom data: "agentURI,supervisorURI".
VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
  var uris = VoxEngine.customData().split(",");
  var customer = e.call;
  var conf = VoxEngine.createConference();
  var legs = [];
  var customerEp = null;
  var supervisorEp = null;

  function mode(key) {
    if (!supervisorEp) return;
    var hearSupervisor = {};
    if (key === "1") {
      supervisorEp.setDirection("RECEIVE");
      hearSupervisor[supervisorEp.id()] = { audio: true };
      customerEp.manageEndpoint(hearSupervisor);
      Logger.write("supervise: listen");
    } else if (key === "2") {
      hearSupervisor[supervisorEp.id()] = { audio: false };
      customerEp.manageEndpoint(hearSupervisor).then(function () {
        supervisorEp.setDirection("BOTH");
        Logger.write("supervise: whisper");
      });
    } else if (key === "3") {
      hearSupervisor[supervisorEp.id()] = { audio: true };
      customerEp.manageEndpoint(hearSupervisor);
      supervisorEp.setDirection("BOTH");
      Logger.write("supervise: barge");
    }
  }

  customer.addEventListener(CallEvents.Connected, function () {
    customerEp = conf.add({ call: customer, mode: "MIX", direction: "BOTH" });
    customer.handleTones(true);
    var agent = VoxEngine.callSIP(uris[0], { callerid: e.callerid });
    legs.push(agent);
    agent.addEventListener(CallEvents.Connected, function () {
      VoxEngine.sendMediaBetween(agent, conf);
      var supervisor = VoxEngine.callSIP(uris[1], { callerid: "supervisor" });
      legs.push(supervisor);
      supervisor.addEventListener(CallEvents.Connected, function () {
        supervisorEp = conf.add({ call: supervisor, direction: "RECEIVE", displayName: "supervisor" });
        Logger.write("supervise: listen");
      });
    });
  });
  customer.addEventListener(CallEvents.ToneReceived, function (ev) {
    mode(ev.tone);
  });
  customer.addEventListener(CallEvents.Disconnected, function () {
    legs.forEach(function (leg) { leg.hangup(); });
    conf.stop();
    VoxEngine.terminate();
  });
  customer.answer();
});
