// Throws while handling the inbound call, before answering it.
VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
  throw new Error("scenario failure on purpose");
});
