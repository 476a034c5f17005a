// Busy: refuse every call with 486 Busy Here and end the session.
VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
  Logger.write("busy: rejecting call from " + e.callerid);
  e.call.reject(486);
  VoxEngine.terminate();
});
