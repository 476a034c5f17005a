// Reception desk: a caller is put through to the desk (the session's custom
// data is its SIP URI). The desk can pass the caller on with its phone's
// transfer key (a blind transfer: REFER): the caller is put through to the
// new number, and the desk's phone is told how it went.
VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
  var caller = e.call;
  var current = null;

  function putThrough(uri, from) {
    Logger.write("transfer_desk: calling " + uri);
    var leg = VoxEngine.callSIP(uri, { callerid: e.callerid, displayName: e.displayName });
    leg.handleBlindTransfer(true);
    leg.addEventListener(CallEvents.Connected, function () {
      if (caller.state() !== "CONNECTED") caller.answer();
      VoxEngine.sendMediaBetween(caller, leg);
      current = leg;
      if (from) from.notifyBlindTransferSuccess();
      Logger.write("transfer_desk: connected to " + uri);
    });
    leg.addEventListener(CallEvents.Failed, function (ev) {
      Logger.write("transfer_desk: " + uri + " failed " + ev.code);
      if (from) {
        from.notifyBlindTransferFailed(ev.code, ev.reason);
      } else {
        caller.hangup();
      }
    });
    leg.addEventListener(CallEvents.BlindTransferRequested, function (ev) {
      Logger.write("transfer_desk: transfer to " + ev.referTo);
      putThrough(ev.referTo, leg);
    });
    leg.addEventListener(CallEvents.Disconnected, function () {
      if (leg === current) caller.hangup();
    });
  }

  caller.addEventListener(CallEvents.Disconnected, function () {
    if (current) current.hangup();
    VoxEngine.terminate();
  });
  putThrough(VoxEngine.customData(), null);
});
