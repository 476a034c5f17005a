// Text to speech: the destination user picks what is said.
//   espeak -> call.say(text) with the default (offline) engine
//   http   -> call.say(text, {engine: "http"})
//   long   -> 1,600 characters: more than a say() may take, PlaybackFinished carries an error
// The call is hung up once playback finishes (with or without an error).
var SENTENCE = "Hello world. This is Dialtone speaking, one two three four five. ";

VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
  var call = e.call;
  var mode = e.destination;

  call.addEventListener(CallEvents.Connected, function () {
    var text = SENTENCE;
    var options = {};
    if (mode === "http") {
      options.engine = "http";
    } else if (mode === "long") {
      text = "";
      while (text.length < 1600) {
        text += SENTENCE;
      }
    }
    Logger.write("say: " + mode + " " + text.length + " chars");
    call.say(text, options);
  });

  call.addEventListener(CallEvents.PlaybackFinished, function (ev) {
    Logger.write("say: finished " + (ev.error ? "with error: " + ev.error : "ok"));
    call.hangup();
  });

  call.addEventListener(CallEvents.Disconnected, function () {
    VoxEngine.terminate();
  });

  // Never leave a caller waiting on a playback that does not end.
  setTimeout(function () {
    Logger.write("say: gave up waiting for PlaybackFinished");
    call.hangup();
  }, 20000);

  call.answer();
});
