// Hold with music: the caller presses 1 to be put on hold with music for
// three seconds (a held phone sends no RTP, so no key presses either, until
// it is taken off hold); INFO and MESSAGE from the caller are answered in
// kind. The caller's own hold (from the phone's hold key) is logged.
VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
  var call = e.call;
  var music = null;
  call.addEventListener(CallEvents.Connected, function () {
    call.handleTones(true);
    call.sendMediaTo(call);
  });
  call.addEventListener(CallEvents.ToneReceived, function (ev) {
    if (ev.tone !== "1" || music !== null) return;
    Logger.write("hold_music: holding the caller");
    call.hold();
    music = VoxEngine.createToneScriptPlayer("700@-12;1(2/1/1)", { loop: true });
    music.sendMediaTo(call);
    setTimeout(function () {
      Logger.write("hold_music: back to the caller");
      music.stop();
      music = null;
      call.unhold();
      call.sendMediaTo(call);
    }, 3000);
  });
  call.addEventListener(CallEvents.OnHold, function () {
    Logger.write("hold_music: the caller put us on hold");
  });
  call.addEventListener(CallEvents.OffHold, function () {
    Logger.write("hold_music: the caller is back");
  });
  call.addEventListener(CallEvents.InfoReceived, function (ev) {
    Logger.write("hold_music: info " + ev.mimeType + " " + ev.body);
    call.sendInfo(ev.mimeType, "echo " + ev.body);
  });
  call.addEventListener(CallEvents.MessageReceived, function (ev) {
    Logger.write("hold_music: message " + ev.text);
    call.sendMessage("echo " + ev.text);
  });
  call.addEventListener(CallEvents.Disconnected, function () {
    VoxEngine.terminate();
  });
  call.answer();
});
