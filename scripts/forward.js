// Forward: call the SIP URI given as the session's custom data and bridge
// the two calls. easyProcess rings the caller while the callee rings,
// answers and joins the audio when the callee answers, rejects the caller
// with the callee's code if the call fails, and hangs up the other leg and
// ends the session when either side hangs up.
VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
  var target = VoxEngine.customData();
  Logger.write("forward: " + e.callerid + " -> " + target);
  var out = VoxEngine.callSIP(target, {
    callerid: e.callerid,
    displayName: e.displayName,
    headers: e.headers
  });
  VoxEngine.easyProcess(e.call, out, function (inbound, outbound) {
    Logger.write("forward: connected " + inbound.id() + " <-> " + outbound.id());
  });
});
