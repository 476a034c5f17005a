// Number masking: the dialled number is a masked number; ApplicationStorage
// maps it to the real party's SIP address ("mask:NUMBER"). The caller is
// connected without either side learning the other's number, and every call
// through the mask is counted ("count:NUMBER").
require(Modules.ApplicationStorage);

VoxEngine.addEventListener(AppEvents.CallAlerting, function (e) {
  var masked = e.destination;
  ApplicationStorage.get("mask:" + masked).then(function (pair) {
    if (pair === null) {
      Logger.write("number_mask: " + masked + " is not a masked number");
      e.call.reject(404);
      return;
    }
    Logger.write("number_mask: " + masked + " -> " + pair.value);
    var out = VoxEngine.callSIP(pair.value, { callerid: masked });
    VoxEngine.easyProcess(e.call, out);
    return ApplicationStorage.get("count:" + masked).then(function (count) {
      var n = count === null ? 1 : Number(count.value) + 1;
      return ApplicationStorage.put("count:" + masked, String(n), 86400).then(function (saved) {
        Logger.write("number_mask: call " + saved.value + " through " + masked);
      });
    });
  }).catch(function (err) {
    Logger.write("number_mask: storage failed: " + err.message);
    e.call.reject(500);
  });
});
