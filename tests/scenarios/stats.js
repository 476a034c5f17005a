// Echoes the caller and logs the call's media figures (CallEvents.Statistics).
VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
  var call = e.call;
  call.addEventListener(CallEvents.Connected, function () {
    call.sendMediaTo(call);
  });
  call.addEventListener(CallEvents.Statistics, function (ev) {
    Logger.write("stats: sent=" + ev.packetsSent + " received=" + ev.packetsReceived +
      " lost=" + ev.packetsLost + " lossRate=" + ev.lossRate + " jitter=" + ev.jitter.toFixed(2) +
      " rtt=" + (ev.rtt === null ? "none" : ev.rtt.toFixed(2)) +
      " remoteLossRate=" + ev.remoteLossRate);
  });
  call.addEventListener(CallEvents.Disconnected, function () {
    VoxEngine.terminate();
  });
  call.answer();
});
