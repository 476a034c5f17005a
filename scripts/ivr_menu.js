// A VoxEngine-style IVR built with Modules.IVR: a main menu (1: sales, 2: an
// extension of four digits, 0: the operator), with a goodbye state.
require(Modules.IVR);

VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
  var call = e.call;

  var goodbye = new IVRState("goodbye", {
    type: "noinput",
    prompt: { say: "Thank you for calling. Goodbye." },
  }, function () {
    call.hangup();
  });

  var sales = new IVRState("sales", {
    type: "noinput",
    prompt: { say: "All our sales people are busy." },
    nextState: goodbye,
  });

  var extension = new IVRState("extension", {
    type: "inputfixed",
    inputLength: 4,
    timeout: 4000,
    prompt: { say: "Please enter the extension number." },
  }, function (state) {
    Logger.write("ivr_menu: extension " + state.input);
    goodbye.enter(call);
  }, function (state) {
    Logger.write("ivr_menu: extension timed out after '" + state.input + "'");
    goodbye.enter(call);
  });

  var main = new IVRState("main", {
    type: "select",
    timeout: 5000,
    prompt: { say: "Press 1 for sales, 2 to dial an extension, 0 for the operator." },
    nextStates: { "1": sales, "2": extension },
  }, function (state) {
    Logger.write("ivr_menu: main chose " + state.input);
    goodbye.enter(call);
  }, function () {
    Logger.write("ivr_menu: no choice");
    goodbye.enter(call);
  });

  call.addEventListener(CallEvents.Connected, function () {
    main.enter(call);
  });
  call.addEventListener(CallEvents.Disconnected, function () {
    VoxEngine.terminate();
  });
  call.answer();
});
