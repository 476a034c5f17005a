// Overload benchmark load: answer and loop one prompt from the media
// directory to the caller until it hangs up.
VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
  var call = e.call;
  call.addEventListener(CallEvents.Connected, function () {
    call.startPlayback("prompt.wav", { loop: true });
  });
  call.addEventListener(CallEvents.Disconnected, function () {
    VoxEngine.terminate();
  });
  call.answer();
});
