// forward.js with credentials: the callee in customData asks for digest
// authentication, callSIP answers it with authUser/password.
VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
  var out = VoxEngine.callSIP(VoxEngine.customData(), {
    callerid: e.callerid,
    authUser: "alice",
    password: "secret",
  });
  out.addEventListener(CallEvents.Connected, function () {
    Logger.write("forward_auth: callee answered");
  });
  VoxEngine.easyProcess(e.call, out);
});
