//! `ApplicationStorage` through a fake engine: the commands it sends, the
//! promises the answers settle, and what throws at once.

mod common;

use common::*;
use dialtone_core::messages::{SessionCommand, SessionEnd, SessionEvent};
use dialtone_core::storage::{StorageItem, StorageOp, StorageReply};

#[tokio::test]
async fn requests_become_commands_and_answers_settle_promises() {
    let mut engine = FakeEngine::start(config());
    let s = engine.spawn(
        "kv.js",
        r#"
        require(Modules.ApplicationStorage);
        ApplicationStorage.put("mask:1", "555", 60).then(function (item) {
            Logger.write("put " + item.key + " " + item.value + " " + item.expireAt);
            return ApplicationStorage.get("mask:1");
        }).then(function (item) {
            Logger.write("get " + (item === null));
            return ApplicationStorage.keys("mask");
        }).then(function (page) {
            Logger.write("keys " + page.keys.join(","));
            return ApplicationStorage.delete("nothing");
        }).catch(function (e) {
            Logger.write("rejected " + e.message);
            VoxEngine.terminate();
        });
        try { ApplicationStorage.put("k", "v", -1); } catch (e) { Logger.write(e.name + " " + e.message); }
        try { ApplicationStorage.get(""); } catch (e) { Logger.write(e.name + " " + e.message); }
        "#,
        "",
        None,
    );
    let SessionCommand::Storage { id, op } = engine.next(s.id).await else {
        panic!("expected Storage")
    };
    assert_eq!(
        op,
        StorageOp::Put {
            key: "mask:1".into(),
            value: "555".into(),
            ttl_secs: 60
        }
    );
    let item = StorageItem {
        key: "mask:1".into(),
        value: "555".into(),
        expire_at: 1_700_000_060,
    };
    s.send(SessionEvent::StorageResult {
        id,
        result: Ok(StorageReply::Item(Some(item))),
    });
    let SessionCommand::Storage { id, op } = engine.next(s.id).await else {
        panic!("expected Storage")
    };
    assert_eq!(
        op,
        StorageOp::Get {
            key: "mask:1".into()
        }
    );
    s.send(SessionEvent::StorageResult {
        id,
        result: Ok(StorageReply::Item(None)),
    });
    let SessionCommand::Storage { id, op } = engine.next(s.id).await else {
        panic!("expected Storage")
    };
    assert_eq!(
        op,
        StorageOp::Keys {
            pattern: "mask".into(),
            count: 1000
        }
    );
    s.send(SessionEvent::StorageResult {
        id,
        result: Ok(StorageReply::Keys(vec!["mask:1".into(), "mask:2".into()])),
    });
    let SessionCommand::Storage { id, .. } = engine.next(s.id).await else {
        panic!("expected Storage")
    };
    s.send(SessionEvent::StorageResult {
        id,
        result: Err("database is down".into()),
    });
    let (_, end) = engine.until_ended(s.id).await;
    assert_eq!(end, SessionEnd::Normal);
    assert_eq!(
        messages(s.id, "log"),
        [
            "RangeError ApplicationStorage.put(): ttl must be a number of seconds from 0 to 7776000",
            "RangeError ApplicationStorage.get(): the key is empty",
            "put mask:1 555 1700000060",
            "get true",
            "keys mask:1,mask:2",
            "rejected ApplicationStorage: database is down",
        ]
    );
}
