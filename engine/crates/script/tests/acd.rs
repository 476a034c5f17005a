//! `Modules.ACD` through a fake engine: `enqueueACDRequest` becomes a
//! command, each `ACDEvents` reaches the request's listeners, the agent's
//! call arrives as a `Call` on `OperatorCallAttempt` and gets its events.

mod common;

use common::*;
use dialtone_core::acd::AcdEvent;
use dialtone_core::messages::{SessionCommand, SessionEnd, SessionEvent};
use dialtone_core::CallId;

#[tokio::test]
async fn a_request_is_queued_reaches_an_agent_and_is_bridged() {
    let mut engine = FakeEngine::start(config());
    let s = engine.spawn(
        "queue.js",
        r#"
        require(Modules.ACD);
        var req = VoxEngine.enqueueACDRequest("sales", "15550001",
            {priority: 5, customData: "vip", headers: {"X-Order": "42"}});
        Logger.write("id " + req.id() + " " + req);
        req.addEventListener(ACDEvents.Queued, function (e) {
            Logger.write("queued " + (e.request === req));
            req.getStatus();
        });
        req.addEventListener(ACDEvents.Waiting, function (e) {
            Logger.write("waiting " + e.position + " " + e.ewt);
        });
        req.addEventListener(ACDEvents.OperatorCallAttempt, function (e) {
            Logger.write("attempt " + e.operatorCall.number());
            e.operatorCall.addEventListener(CallEvents.Failed, function (f) {
                Logger.write("agent call failed " + f.code);
            });
        });
        req.addEventListener(ACDEvents.OperatorFailed, function (e) {
            Logger.write("failed " + e.operatorUserName + " " + e.statusCode);
        });
        req.addEventListener(ACDEvents.OperatorReached, function (e) {
            Logger.write("reached " + e.operatorCall.number());
            VoxEngine.terminate();
        });
        try { VoxEngine.enqueueACDRequest("sales", "1", {priority: 0}); }
        catch (e) { Logger.write(e.name + " " + e.message); }
        "#,
        "",
        None,
    );
    let SessionCommand::AcdEnqueue(req) = engine.next(s.id).await else {
        panic!("expected AcdEnqueue")
    };
    assert_eq!(
        (
            req.queue.as_str(),
            req.callerid.as_str(),
            req.priority,
            req.custom_data.as_str()
        ),
        ("sales", "15550001", 5, "vip")
    );
    assert_eq!(req.headers, headers(&[("X-Order", "42")]));
    let acd = |event| SessionEvent::Acd {
        request: req.request,
        event,
    };
    s.send(acd(AcdEvent::Queued));
    let SessionCommand::AcdStatus { request } = engine.next(s.id).await else {
        panic!("expected AcdStatus")
    };
    assert_eq!(request, req.request);
    s.send(acd(AcdEvent::Waiting {
        position: 2,
        ewt_minutes: 3,
    }));
    let first = CallId::next();
    s.send(acd(AcdEvent::OperatorCallAttempt {
        call: first,
        agent: "ann-phone".into(),
        callerid: "15550001".into(),
        display_name: String::new(),
    }));
    s.call_event(first, failed(408, "Request Timeout"));
    s.send(acd(AcdEvent::OperatorFailed {
        agent: "ann-phone".into(),
        code: 408,
    }));
    let second = CallId::next();
    s.send(acd(AcdEvent::OperatorCallAttempt {
        call: second,
        agent: "bob-phone".into(),
        callerid: "15550001".into(),
        display_name: String::new(),
    }));
    s.call_event(second, connected());
    s.send(acd(AcdEvent::OperatorReached {
        call: second,
        agent: "bob-phone".into(),
    }));
    let (_, end) = engine.until_ended(s.id).await;
    assert_eq!(end, SessionEnd::Normal);
    assert_eq!(
        messages(s.id, "log"),
        [
            "id 1 ACDRequest(id=1, queue=sales)",
            "RangeError VoxEngine.enqueueACDRequest(): priority must be 1 (first) to 100",
            "queued true",
            "waiting 2 3",
            "attempt ann-phone",
            "agent call failed 408",
            "failed ann-phone 408",
            "attempt bob-phone",
            "reached bob-phone",
        ]
    );
}
