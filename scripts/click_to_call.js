// Click-to-call: a session started over REST (POST /v1/sessions) with
// customData {"agent": NUMBER, "customer": NUMBER}. The agent is called
// first through the account's trunks; once the agent answers, the customer
// is called and the two are joined. Either side hanging up ends it.
VoxEngine.addEventListener(AppEvents.Started, function () {
  var parties = JSON.parse(VoxEngine.customData());
  var agent = VoxEngine.callPSTN(parties.agent, parties.customer);
  var customer = null;

  agent.addEventListener(CallEvents.Failed, function (e) {
    Logger.write("click_to_call: agent failed with " + e.code);
    VoxEngine.terminate();
  });
  agent.addEventListener(CallEvents.Connected, function () {
    Logger.write("click_to_call: agent answered; calling " + parties.customer);
    agent.say("Connecting you to the customer.");
    customer = VoxEngine.callPSTN(parties.customer, parties.agent);
    customer.addEventListener(CallEvents.Connected, function () {
      Logger.write("click_to_call: customer answered");
      VoxEngine.sendMediaBetween(agent, customer);
    });
    customer.addEventListener(CallEvents.Failed, function (e) {
      Logger.write("click_to_call: customer failed with " + e.code);
      agent.hangup();
    });
    customer.addEventListener(CallEvents.Disconnected, function () {
      agent.hangup();
    });
  });
  agent.addEventListener(CallEvents.Disconnected, function () {
    if (customer) customer.hangup();
    VoxEngine.terminate();
  });
});
