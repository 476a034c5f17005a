// Silent monitor: the caller (A) is bridged to B, and A's audio also goes one
// way to C, who hears A but is heard by nobody. Custom data: "B_URI C_URI".
VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
  var targets = VoxEngine.customData().split(" ");
  var a = e.call;
  var b = VoxEngine.callSIP(targets[0]);
  var c = VoxEngine.callSIP(targets[1]);
  var up = { a: false, b: false, c: false };
  var calls = [a, b, c];

  function wire() {
    if (up.a && up.b) {
      VoxEngine.sendMediaBetween(a, b);
    }
    if (up.a && up.c) {
      a.sendMediaTo(c);
      Logger.write("monitor: C listens to A");
    }
  }

  function watch(call, name) {
    call.addEventListener(CallEvents.Connected, function () {
      up[name] = true;
      Logger.write("monitor: " + name + " connected");
      wire();
    });
    call.addEventListener(CallEvents.Failed, function (ev) {
      Logger.write("monitor: " + name + " failed " + ev.code);
      end();
    });
    call.addEventListener(CallEvents.Disconnected, function () {
      Logger.write("monitor: " + name + " disconnected");
      end();
    });
  }

  var ended = false;
  function end() {
    if (ended) {
      return;
    }
    ended = true;
    calls.forEach(function (call) {
      call.hangup();
    });
    VoxEngine.terminate();
  }

  watch(a, "a");
  watch(b, "b");
  watch(c, "c");
  a.answer();
});
