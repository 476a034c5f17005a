//! Users and `ApplicationStorage` on both backends: the SQL of each is the
//! same for SQLite and PostgreSQL.

mod common;

use dialtone_core::storage::{StorageOp, StorageReply};
use dialtone_store::{Store, UserChange};

async fn users_round_trip(store: &Store) {
    let (account, _) = store.create_account("users").await.unwrap();
    let app = store.put_application(&account.id, "support").await.unwrap();
    let change = UserChange {
        password: Some("long enough".into()),
        display_name: Some("Alice".into()),
    };
    let (user, created) = store
        .put_user(&account.id, &app.id, "alice", change)
        .await
        .unwrap();
    assert!(created && user.ha1_sha256.len() == 64 && user.ha1_md5.len() == 32);
    let again = store
        .put_user(&account.id, &app.id, "alice", UserChange::default())
        .await
        .unwrap();
    assert!(!again.1);
    assert_eq!(
        store.list_users(&account.id, &app.id).await.unwrap().len(),
        1
    );
    assert!(store
        .all_users()
        .await
        .unwrap()
        .iter()
        .any(|u| u.account == account.id && u.name == "alice"));
    assert!(store
        .delete_user(&account.id, &app.id, "alice")
        .await
        .unwrap());
    assert!(store
        .get_user(&account.id, &app.id, "alice")
        .await
        .unwrap()
        .is_none());
}

async fn storage_round_trip(store: &Store) {
    let (account, _) = store.create_account("storage").await.unwrap();
    let put = |k: &str, v: &str| StorageOp::Put {
        key: k.into(),
        value: v.into(),
        ttl_secs: 60,
    };
    store
        .storage_run(&account.id, "x", put("ns:a", "1"), 100)
        .await
        .unwrap();
    store
        .storage_run(&account.id, "x", put("ns:b", "2"), 100)
        .await
        .unwrap();
    store
        .storage_run(&account.id, "x", put("ns:a", "3"), 101)
        .await
        .unwrap();
    store
        .storage_run(&account.id, "x", put("other", "4"), 101)
        .await
        .unwrap();
    let keys = store
        .storage_run(
            &account.id,
            "x",
            StorageOp::Keys {
                pattern: "ns:".into(),
                count: 100,
            },
            102,
        )
        .await
        .unwrap();
    assert_eq!(keys, StorageReply::Keys(vec!["ns:a".into(), "ns:b".into()]));
    let got = store
        .storage_run(&account.id, "x", StorageOp::Get { key: "ns:a".into() }, 102)
        .await
        .unwrap();
    assert!(matches!(got, StorageReply::Item(Some(i)) if i.value == "3" && i.expire_at == 161));
    let expired = store
        .storage_run(&account.id, "x", StorageOp::Get { key: "ns:b".into() }, 161)
        .await
        .unwrap();
    assert_eq!(expired, StorageReply::Item(None));
}

on_both_backends!(users_round_trip, storage_round_trip);

async fn trunks_round_trip(store: &Store) {
    use dialtone_store::TrunkSpec;
    let (account, _) = store.create_account("trunks").await.unwrap();
    let spec = TrunkSpec {
        host: "Carrier.Example.com".into(),
        port: Some(5070),
        transport: Some("tcp".into()),
        username: Some("acct".into()),
        password: Some("secret".into()),
        prefixes: vec!["1".into(), "44".into()],
        priority: 5,
        strip: 0,
        add_prefix: "+".into(),
        caller_id: None,
        register: false,
        register_expires: None,
    };
    let (trunk, created) = store
        .put_trunk(&account.id, "carrier", spec.clone())
        .await
        .unwrap();
    assert!(created && trunk.host == "carrier.example.com" && trunk.port == 5070);
    // An update without a password keeps it.
    let mut again = spec.clone();
    again.password = None;
    again.priority = 1;
    let (trunk, created) = store
        .put_trunk(&account.id, "carrier", again)
        .await
        .unwrap();
    assert!(!created && trunk.password.as_deref() == Some("secret") && trunk.priority == 1);
    assert_eq!(trunk.register_expires, None);
    // Registration: the default time, a chosen one, bounds, and a username
    // to register as.
    let mut registering = spec.clone();
    registering.register = true;
    let (trunk, _) = store
        .put_trunk(&account.id, "carrier", registering.clone())
        .await
        .unwrap();
    assert_eq!(
        trunk.register_expires,
        Some(dialtone_store::DEFAULT_REGISTER_EXPIRES)
    );
    registering.register_expires = Some(120);
    store
        .put_trunk(&account.id, "carrier", registering.clone())
        .await
        .unwrap();
    let stored = store
        .get_trunk(&account.id, "carrier")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.register_expires, Some(120));
    for expires in [59, 86_401] {
        let mut bad = registering.clone();
        bad.register_expires = Some(expires);
        assert!(store.put_trunk(&account.id, "carrier", bad).await.is_err());
    }
    let mut anonymous = registering.clone();
    anonymous.username = None;
    assert!(store
        .put_trunk(&account.id, "carrier", anonymous)
        .await
        .is_err());
    assert!(!format!("{trunk:?}").contains("secret"));
    assert_eq!(store.list_trunks(&account.id).await.unwrap().len(), 1);
    assert!(store
        .all_trunks()
        .await
        .unwrap()
        .iter()
        .any(|t| t.account == account.id));
    let mut bad = spec;
    bad.prefixes = vec!["1; DROP".into()];
    assert!(store.put_trunk(&account.id, "bad", bad).await.is_err());
    assert!(store.delete_trunk(&account.id, "carrier").await.unwrap());
    assert!(store
        .get_trunk(&account.id, "carrier")
        .await
        .unwrap()
        .is_none());
}

mod trunk_backends {
    use super::*;
    on_both_backends!(trunks_round_trip);
}

async fn agents_and_queues_round_trip(store: &Store) {
    use dialtone_store::{AgentRole, AgentSpec, QueueSpec, StoreError};
    use std::collections::BTreeMap;
    let (account, _) = store.create_account("centre").await.unwrap();
    let (other, _) = store.create_account("other").await.unwrap();
    let skills: BTreeMap<String, u8> = [("english".to_string(), 3)].into();
    let queue = QueueSpec {
        skills: skills.clone(),
        max_waiting: None,
        ring_timeout: Some(15),
        after_call_work: None,
        service_level: None,
    };
    let (q, created) = store
        .put_queue(&account.id, "sales", queue.clone())
        .await
        .unwrap();
    assert!(created);
    assert_eq!(
        (
            q.max_waiting,
            q.ring_timeout,
            q.after_call_work,
            q.service_level
        ),
        (100, 15, 10, 20)
    );
    let mut bad = queue.clone();
    bad.ring_timeout = Some(5);
    assert!(matches!(
        store.put_queue(&account.id, "sales", bad).await,
        Err(StoreError::Invalid {
            field: "ringTimeout",
            ..
        })
    ));
    let agent = AgentSpec {
        name: "Ann Agent".into(),
        application: "centre".into(),
        user: "ann".into(),
        role: AgentRole::Agent,
        skills: [("english".to_string(), 5), ("french".to_string(), 2)].into(),
        queues: vec!["sales".into()],
    };
    let (a, created) = store
        .put_agent(&account.id, "ann", agent.clone())
        .await
        .unwrap();
    assert!(created && a.skills["english"] == 5 && a.queues == ["sales"]);
    let (_, created) = store
        .put_agent(&account.id, "ann", agent.clone())
        .await
        .unwrap();
    assert!(!created);
    assert_eq!(
        store
            .get_agent(&account.id, "ann")
            .await
            .unwrap()
            .unwrap()
            .skills,
        agent.skills
    );
    // Queues must exist in the same account; levels are 1 to 10.
    let mut elsewhere = agent.clone();
    elsewhere.queues = vec!["sales".into()];
    assert!(store.put_agent(&other.id, "ann", elsewhere).await.is_err());
    let mut high = agent.clone();
    high.skills.insert("german".into(), 11);
    assert!(store.put_agent(&account.id, "ann", high).await.is_err());
    assert!(store.list_agents(&other.id).await.unwrap().is_empty());
    // A queue an agent belongs to cannot go.
    assert!(matches!(
        store.delete_queue(&account.id, "sales").await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.all_agents().await.unwrap().len(), 1);
    assert_eq!(store.all_queues().await.unwrap().len(), 1);
    assert!(store.delete_agent(&account.id, "ann").await.unwrap());
    assert!(store.delete_queue(&account.id, "sales").await.unwrap());
    assert!(store.list_queues(&account.id).await.unwrap().is_empty());
}

mod contact_centre_backends {
    use super::*;
    on_both_backends!(agents_and_queues_round_trip);
}
