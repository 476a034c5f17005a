// A second startPlayback replaces the first: a looping 440 Hz prompt, then
// after one second a 1 kHz prompt. The caller must hear only 1 kHz from then
// on. Hangs up when the second prompt finishes.
VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
  var call = e.call;
  var secondAt = 0;

  call.addEventListener(CallEvents.Connected, function () {
    call.startPlayback("tone440.wav", { loop: true });
    Logger.write("replace: first");
    setTimeout(function () {
      secondAt = Date.now();
      call.startPlayback("tone1000.wav");
      Logger.write("replace: second");
      // The 1 kHz prompt lasts 2.5 s: hang up even if no PlaybackFinished comes.
      setTimeout(function () {
        call.hangup();
      }, 4000);
    }, 1000);
  });

  call.addEventListener(CallEvents.PlaybackFinished, function (ev) {
    Logger.write("replace: finished " + (ev.error || "ok"));
    // Ignore whatever the replaced prompt may report; wait for the second one.
    if (secondAt && Date.now() - secondAt > 1500) {
      call.hangup();
    }
  });

  call.addEventListener(CallEvents.Disconnected, function () {
    VoxEngine.terminate();
  });

  call.answer();
});
