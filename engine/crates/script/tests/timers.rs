//! setTimeout / setInterval on the session's own timer queue.

mod common;

use common::*;
use dialtone_core::messages::SessionEnd;

#[tokio::test]
async fn timers_fire_in_deadline_order_and_clear_timeout_works() {
    let mut engine = FakeEngine::start(config());
    let s = engine.spawn(
        "timers.js",
        r#"
        function log(text) { Logger.write(text); }
        setTimeout(log, 40, "c 40");
        setTimeout(log, 10, "a 10");
        setTimeout(log, 10, "b 10");
        var cancelled = setTimeout(log, 20, "cancelled");
        setTimeout(function () { clearTimeout(cancelled); }, 5);
        setTimeout(function () { log("d 0 " + typeof cancelled); });
        setTimeout(function () { VoxEngine.terminate(); }, 60);
        "#,
        "",
        None,
    );
    assert_eq!(engine.ended(s.id).await, SessionEnd::Normal);
    assert_eq!(
        messages(s.id, "log"),
        ["d 0 number", "a 10", "b 10", "c 40"]
    );
}

#[tokio::test]
async fn intervals_repeat_until_cleared() {
    let mut engine = FakeEngine::start(config());
    let s = engine.spawn(
        "interval.js",
        r#"
        var n = 0;
        var id = setInterval(function (step) {
            n += step;
            Logger.write("tick " + n);
            if (n === 3) {
                clearInterval(id);
                setTimeout(function () { VoxEngine.terminate(); }, 30);
            }
        }, 10, 1);
        "#,
        "",
        None,
    );
    assert_eq!(engine.ended(s.id).await, SessionEnd::Normal);
    assert_eq!(messages(s.id, "log"), ["tick 1", "tick 2", "tick 3"]);
}

#[tokio::test]
async fn timers_set_in_handlers_see_later_state() {
    let mut engine = FakeEngine::start(config());
    let s = engine.spawn(
        "closure.js",
        r#"
        var state = "start";
        VoxEngine.addEventListener(AppEvents.Started, function () {
            setTimeout(function () { Logger.write(state); VoxEngine.terminate(); }, 5);
            state = "changed";
        });
        "#,
        "",
        None,
    );
    assert_eq!(engine.ended(s.id).await, SessionEnd::Normal);
    assert_eq!(messages(s.id, "log"), ["changed"]);
}
