// Modules.IVR: IVRState menus on top of Call.say / startPlayback and
// CallEvents.ToneReceived. Evaluated in a session the first time it does
// require(Modules.IVR); defines IVRState and IVR.reset().
(function (global) {
  "use strict";
  var TYPES = ["select", "inputfixed", "inputunknown", "noinput"];
  // The state a call is in: one IVR per call, as in VoxEngine.
  var active = [];

  function detach(run) {
    var i = active.indexOf(run);
    if (i >= 0) active.splice(i, 1);
    if (run.timer !== null) clearTimeout(run.timer);
    run.timer = null;
    run.call.removeEventListener(CallEvents.ToneReceived, run.onTone);
    run.call.removeEventListener(CallEvents.PlaybackFinished, run.onPrompted);
    run.call.removeEventListener(CallEvents.Disconnected, run.onGone);
    run.done = true;
  }

  function IVRState(name, settings, onInputComplete, onInputTimeout) {
    if (!(this instanceof IVRState)) throw new TypeError("IVRState must be called with new");
    if (typeof name !== "string") throw new TypeError("IVRState: the name must be a string");
    if (settings === null || typeof settings !== "object") {
      throw new TypeError("IVRState " + name + ": settings must be an object");
    }
    if (TYPES.indexOf(settings.type) < 0) {
      throw new TypeError("IVRState " + name + ": type must be one of " + TYPES.join(", "));
    }
    if (settings.type === "inputfixed" && !(settings.inputLength >= 1)) {
      throw new TypeError("IVRState " + name + ": inputfixed needs inputLength of 1 or more");
    }
    this.name = name;
    this.settings = settings;
    this.input = "";
    this.onInputComplete = onInputComplete;
    this.onInputTimeout = onInputTimeout;
  }

  IVRState.prototype.toString = function () {
    return "IVRState(" + this.name + ")";
  };

  IVRState.prototype.enter = function (call) {
    if (call === null || typeof call !== "object" || typeof call.handleTones !== "function") {
      throw new TypeError("IVRState.enter(): expected a Call");
    }
    // Leaving whatever state the call was in.
    active.slice().forEach(function (run) {
      if (run.call === call) detach(run);
    });
    var state = this;
    var s = state.settings;
    var run = { call: call, state: state, timer: null, done: false, prompting: false };
    state.input = "";
    active.push(run);

    function finish(how) {
      if (run.done) return;
      detach(run);
      if (how === "timeout") {
        if (typeof state.onInputTimeout === "function") state.onInputTimeout(state);
        return;
      }
      if (s.type === "select" && s.nextStates && s.nextStates[state.input] instanceof IVRState) {
        s.nextStates[state.input].enter(call);
        return;
      }
      if (s.type === "noinput" && s.nextState instanceof IVRState) {
        s.nextState.enter(call);
        return;
      }
      if (typeof state.onInputComplete === "function") state.onInputComplete(state);
    }

    function armTimeout() {
      if (run.timer !== null) clearTimeout(run.timer);
      var ms = typeof s.timeout === "number" && s.timeout >= 0 ? s.timeout : 5000;
      run.timer = setTimeout(function () {
        run.timer = null;
        finish("timeout");
      }, ms);
    }

    run.onTone = function (e) {
      if (run.done || s.type === "noinput") return;
      if (run.prompting) {
        // A key stops the prompt (barge-in).
        run.prompting = false;
        call.stopPlayback();
      }
      var tone = String(e.tone);
      if (s.type === "select") {
        state.input = tone;
        finish("input");
        return;
      }
      if (s.type === "inputunknown" && s.terminateOn !== undefined && tone === String(s.terminateOn)) {
        finish("input");
        return;
      }
      state.input += tone;
      if (s.type === "inputfixed" && state.input.length >= s.inputLength) {
        finish("input");
        return;
      }
      if (s.type === "inputunknown" && typeof s.inputValidator === "function" && s.inputValidator(state.input)) {
        finish("input");
        return;
      }
      armTimeout();
    };
    run.onPrompted = function () {
      if (run.done || !run.prompting) return;
      run.prompting = false;
      if (s.type === "noinput") {
        finish("input");
      } else {
        armTimeout();
      }
    };
    run.onGone = function () {
      detach(run);
    };

    call.handleTones(true);
    call.addEventListener(CallEvents.ToneReceived, run.onTone);
    call.addEventListener(CallEvents.PlaybackFinished, run.onPrompted);
    call.addEventListener(CallEvents.Disconnected, run.onGone);
    var prompt = s.prompt || {};
    if (typeof prompt.play === "string" && prompt.play !== "") {
      run.prompting = true;
      call.startPlayback(prompt.play);
    } else if (typeof prompt.say === "string" && prompt.say !== "") {
      run.prompting = true;
      if (prompt.lang !== undefined) {
        call.say(prompt.say, prompt.lang);
      } else {
        call.say(prompt.say);
      }
    } else if (s.type === "noinput") {
      // Nothing to say: on at once, after this handler.
      run.timer = setTimeout(function () {
        run.timer = null;
        finish("input");
      }, 0);
    } else {
      armTimeout();
    }
  };

  Object.defineProperty(global, "IVRState", { value: IVRState, writable: true, configurable: true });
  Object.defineProperty(global, "IVR", {
    value: {
      reset: function () {
        active.slice().forEach(detach);
      },
    },
    writable: true,
    configurable: true,
  });
})(globalThis);
