// Webhook: answer, POST the caller's number as JSON to the URL given as the
// session's custom data, say the text the web server answers with (or log
// the failure code), then hang up.
VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
  var call = e.call;
  var url = VoxEngine.customData();
  call.addEventListener(CallEvents.Connected, function () {
    Net.httpRequestAsync(url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      postData: JSON.stringify({ callerid: call.callerid() }),
      timeout: 5,
    }).then(function (result) {
      if (result.code >= 200 && result.code < 300) {
        Logger.write("webhook: " + result.code + " " + result.text);
        call.say(result.text);
      } else {
        Logger.write("webhook: failed with code " + result.code + (result.error ? " (" + result.error + ")" : ""));
        call.hangup();
      }
    });
  });
  call.addEventListener(CallEvents.PlaybackFinished, function () {
    call.hangup();
  });
  call.addEventListener(CallEvents.Disconnected, function () {
    VoxEngine.terminate();
  });
  call.answer();
});
