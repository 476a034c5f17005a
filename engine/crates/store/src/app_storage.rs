//! `ApplicationStorage` pairs of each application, with their expiry. A
//! pair past its expiry is never returned and is deleted on the next write
//! to its application.

use dialtone_core::storage::{
    StorageItem, StorageOp, StorageReply, MAX_KEYS_PAGE, MAX_KEYS_PER_APPLICATION,
};
use sqlx::Row;

use crate::{Store, StoreError};

impl Store {
    /// Runs one `ApplicationStorage` request of `application` of `account`
    /// at `now_secs` (seconds since the Unix epoch).
    pub async fn storage_run(
        &self,
        account: &str,
        application: &str,
        op: StorageOp,
        now_secs: i64,
    ) -> Result<StorageReply, StoreError> {
        match op {
            StorageOp::Get { key } => Ok(StorageReply::Item(
                self.storage_get(account, application, &key, now_secs)
                    .await?,
            )),
            StorageOp::Put {
                key,
                value,
                ttl_secs,
            } => {
                let expire_at =
                    now_secs.saturating_add(i64::try_from(ttl_secs).unwrap_or(i64::MAX));
                let mut tx = self.pool.begin().await?;
                sqlx::query(
                    "DELETE FROM app_storage
                     WHERE account_id = $1 AND application = $2 AND expire_at <= $3",
                )
                .bind(account)
                .bind(application)
                .bind(now_secs)
                .execute(&mut *tx)
                .await?;
                let exists: Option<i64> = sqlx::query_scalar(
                    "SELECT expire_at FROM app_storage
                     WHERE account_id = $1 AND application = $2 AND key = $3",
                )
                .bind(account)
                .bind(application)
                .bind(&key)
                .fetch_optional(&mut *tx)
                .await?;
                if exists.is_none() {
                    let n: i64 = sqlx::query_scalar(
                        "SELECT COUNT(*) FROM app_storage WHERE account_id = $1 AND application = $2",
                    )
                    .bind(account)
                    .bind(application)
                    .fetch_one(&mut *tx)
                    .await?;
                    if u64::try_from(n).unwrap_or(0) >= MAX_KEYS_PER_APPLICATION as u64 {
                        return Err(StoreError::QuotaExceeded {
                            quota: "storage_keys",
                            what: "storage keys per application",
                            limit: MAX_KEYS_PER_APPLICATION as u64,
                        });
                    }
                }
                sqlx::query(
                    "INSERT INTO app_storage (account_id, application, key, value, expire_at)
                     VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (account_id, application, key)
                     DO UPDATE SET value = excluded.value, expire_at = excluded.expire_at",
                )
                .bind(account)
                .bind(application)
                .bind(&key)
                .bind(&value)
                .bind(expire_at)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(StorageReply::Item(Some(StorageItem {
                    key,
                    value,
                    expire_at,
                })))
            }
            StorageOp::Delete { key } => {
                let item = self
                    .storage_get(account, application, &key, now_secs)
                    .await?;
                sqlx::query(
                    "DELETE FROM app_storage WHERE account_id = $1 AND application = $2 AND key = $3",
                )
                .bind(account)
                .bind(application)
                .bind(&key)
                .execute(&self.pool)
                .await?;
                Ok(StorageReply::Item(item))
            }
            StorageOp::Keys { pattern, count } => {
                let limit = i64::try_from(count.clamp(1, MAX_KEYS_PAGE)).unwrap_or(1000);
                let rows = sqlx::query(
                    "SELECT key FROM app_storage
                     WHERE account_id = $1 AND application = $2 AND expire_at > $3
                       AND substr(key, 1, length($4)) = $4
                     ORDER BY key LIMIT $5",
                )
                .bind(account)
                .bind(application)
                .bind(now_secs)
                .bind(&pattern)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
                let keys = rows
                    .iter()
                    .map(|r| r.try_get::<String, _>("key"))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(StorageReply::Keys(keys))
            }
        }
    }

    async fn storage_get(
        &self,
        account: &str,
        application: &str,
        key: &str,
        now_secs: i64,
    ) -> Result<Option<StorageItem>, StoreError> {
        let row = sqlx::query(
            "SELECT value, expire_at FROM app_storage
             WHERE account_id = $1 AND application = $2 AND key = $3 AND expire_at > $4",
        )
        .bind(account)
        .bind(application)
        .bind(key)
        .bind(now_secs)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(StorageItem {
                key: key.to_string(),
                value: r.try_get("value")?,
                expire_at: r.try_get("expire_at")?,
            })
        })
        .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn pairs_expire_and_stay_in_their_application() {
        let store = Store::open("sqlite::memory:").await.unwrap();
        let put = |k: &str, v: &str, ttl| StorageOp::Put {
            key: k.into(),
            value: v.into(),
            ttl_secs: ttl,
        };
        store
            .storage_run("a", "x", put("mask:1", "555", 60), 1000)
            .await
            .unwrap();
        store
            .storage_run("a", "x", put("mask:2", "556", 10), 1000)
            .await
            .unwrap();
        store
            .storage_run("a", "x", put("mask:1", "557", 60), 1001)
            .await
            .unwrap();
        let got = store
            .storage_run(
                "a",
                "x",
                StorageOp::Get {
                    key: "mask:1".into(),
                },
                1002,
            )
            .await
            .unwrap();
        assert_eq!(
            got,
            StorageReply::Item(Some(StorageItem {
                key: "mask:1".into(),
                value: "557".into(),
                expire_at: 1061
            }))
        );
        for (account, app) in [("b", "x"), ("a", "y")] {
            let other = store
                .storage_run(
                    account,
                    app,
                    StorageOp::Get {
                        key: "mask:1".into(),
                    },
                    1002,
                )
                .await
                .unwrap();
            assert_eq!(other, StorageReply::Item(None));
        }
        let keys = |at| {
            store.storage_run(
                "a",
                "x",
                StorageOp::Keys {
                    pattern: "mask".into(),
                    count: 10,
                },
                at,
            )
        };
        assert_eq!(
            keys(1005).await.unwrap(),
            StorageReply::Keys(vec!["mask:1".into(), "mask:2".into()])
        );
        assert_eq!(
            keys(1010).await.unwrap(),
            StorageReply::Keys(vec!["mask:1".into()])
        );
        let gone = store
            .storage_run(
                "a",
                "x",
                StorageOp::Delete {
                    key: "mask:1".into(),
                },
                1011,
            )
            .await
            .unwrap();
        assert!(matches!(gone, StorageReply::Item(Some(i)) if i.value == "557"));
        assert_eq!(keys(1012).await.unwrap(), StorageReply::Keys(vec![]));
    }
}
