// IVR: answer, read a menu, and branch on the caller's key: 1 plays a tone
// script, 2 says a message. Without a key within 5 s the menu is read once
// more; after a second silence the call is hung up. The session's custom
// data, if a number, replaces the 5 s wait (in ms).
var MENU = "Press 1 to hear a tone. Press 2 to hear a message.";
var TIMEOUT_MS = Number(VoxEngine.customData()) || 5000;

VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
  var call = e.call;
  var attempts = 0;
  var timer = null;
  var chosen = false;

  function armTimeout() {
    if (timer !== null) clearTimeout(timer);
    timer = setTimeout(function () {
      timer = null;
      if (attempts < 2) {
        Logger.write("ivr: no key, reading the menu again");
        offerMenu();
      } else {
        Logger.write("ivr: no key after two tries, hanging up");
        call.hangup();
      }
    }, TIMEOUT_MS);
  }

  function offerMenu() {
    attempts += 1;
    call.say(MENU);
  }

  call.addEventListener(CallEvents.Connected, function () {
    call.handleTones(true);
    offerMenu();
  });

  // The timeout starts when the menu has been read to the end.
  call.addEventListener(CallEvents.PlaybackFinished, function (ev) {
    if (chosen) {
      call.hangup();
    } else {
      if (ev.error) Logger.write("ivr: menu playback failed: " + ev.error);
      armTimeout();
    }
  });

  call.addEventListener(CallEvents.ToneReceived, function (ev) {
    if (chosen) return;
    if (ev.tone === "1") {
      chosen = true;
      if (timer !== null) clearTimeout(timer);
      Logger.write("ivr: option 1");
      var beep = VoxEngine.createToneScriptPlayer("440@-10;1(1/0/1)");
      beep.addEventListener(PlayerEvents.PlaybackFinished, function () {
        call.hangup();
      });
      beep.sendMediaTo(call);
    } else if (ev.tone === "2") {
      chosen = true;
      if (timer !== null) clearTimeout(timer);
      Logger.write("ivr: option 2");
      call.say("Thank you for calling. Goodbye.");
    } else {
      Logger.write("ivr: key " + ev.tone + " is not on the menu");
    }
  });

  call.addEventListener(CallEvents.Disconnected, function () {
    VoxEngine.terminate();
  });

  call.answer();
});
