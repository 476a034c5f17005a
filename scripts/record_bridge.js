// Record bridge: like forward.js, calling the SIP URI in the custom data,
// and once the callee answers, record the caller's call in stereo (the
// caller left, what the caller hears right).
VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
  var target = VoxEngine.customData();
  Logger.write("record_bridge: " + e.callerid + " -> " + target);
  var out = VoxEngine.callSIP(target, {
    callerid: e.callerid,
    displayName: e.displayName,
    headers: e.headers
  });
  e.call.addEventListener(CallEvents.RecordStarted, function (ev) {
    Logger.write("record_bridge: recording to " + ev.url);
  });
  e.call.addEventListener(CallEvents.RecordError, function (ev) {
    Logger.write("record_bridge: recording failed: " + ev.error);
  });
  VoxEngine.easyProcess(e.call, out, function (inbound) {
    inbound.record({ stereo: true });
  });
});
