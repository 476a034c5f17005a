// Remote control: a session started over REST (POST /v1/sessions) calls the
// number in its custom data and plays a tone to it; HTTP requests to the
// session's accessURL change the tone, report the state, or hang up.
//
// customData: {"to": "sip:alice@192.0.2.10:5060", "tone": 440}
// accessURL:  POST {"tone": 1200} | POST {"hangup": true} | GET (state)

var call = null;
var player = null;
var tone = 440;
var state = "dialling";

function play(hz) {
  if (player) player.stop();
  tone = hz;
  player = VoxEngine.createToneScriptPlayer(hz + "@-10;1(1/0/1)", { loop: true });
  player.sendMediaTo(call);
  Logger.write("remote_control: playing " + hz + " Hz");
}

VoxEngine.addEventListener(AppEvents.Started, function (e) {
  var data = {};
  try {
    data = JSON.parse(e.customData || "{}");
  } catch (err) {
    Logger.write("remote_control: customData is not JSON: " + err.message);
  }
  if (!data.to) {
    Logger.write("remote_control: no target in customData");
    VoxEngine.terminate();
    return;
  }
  if (data.tone) tone = data.tone;
  call = VoxEngine.callSIP(data.to, { callerid: "dialtone" });
  call.addEventListener(CallEvents.Connected, function () {
    state = "connected";
    play(tone);
  });
  call.addEventListener(CallEvents.Failed, function (ev) {
    Logger.write("remote_control: call failed with " + ev.code);
    VoxEngine.terminate();
  });
  call.addEventListener(CallEvents.Disconnected, function () {
    Logger.write("remote_control: call ended");
    VoxEngine.terminate();
  });
});

VoxEngine.addEventListener(AppEvents.HttpRequest, function (e) {
  var command = {};
  if (e.content) {
    try {
      command = JSON.parse(e.content);
    } catch (err) {
      return { error: "the body is not JSON" };
    }
  }
  if (command.tone && state === "connected") {
    play(command.tone);
  } else if (command.hangup && call) {
    state = "hanging up";
    call.hangup();
  }
  return { state: state, tone: tone };
});
