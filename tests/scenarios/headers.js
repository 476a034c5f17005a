// X- headers both ways: logs the caller's X-Request header and answers with
// an X-Reply header derived from it.
VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
  var got = e.headers["X-Request"];
  Logger.write("headers: X-Request=" + got);
  e.call.addEventListener(CallEvents.Disconnected, function () {
    VoxEngine.terminate();
  });
  e.call.answer({ "X-Reply": "pong-" + got, "Via": "not allowed" });
});
