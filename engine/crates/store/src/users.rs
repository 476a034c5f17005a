//! Users of an application: what phones register as and `callUser` calls.
//! The password is never stored: only its digest HA1s (MD5 and SHA-256) in
//! the user's realm, which is all a registrar needs to check a digest
//! response.

use dialtone_sip::digest_server::{ha1, DigestAlgorithm};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::quotas::lock_account;
use crate::{affected, now_ms, Store, StoreError};

/// Users one account may have over all its applications.
pub const MAX_USERS_PER_ACCOUNT: u64 = 10_000;
/// The realm digest challenges name; stored with each user, so changing
/// it later keeps existing passwords valid.
pub const DEFAULT_REALM: &str = "dialtone";
/// Shortest password taken: registrations are reachable from the network.
pub const MIN_PASSWORD_LEN: usize = 8;
const MAX_PASSWORD_LEN: usize = 128;
const MAX_NAME_LEN: usize = 64;
const MAX_DISPLAY_NAME_LEN: usize = 128;

/// A stored user. `Debug` leaves the hashes out.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredUser {
    pub account: String,
    /// Application id.
    pub application: String,
    pub name: String,
    pub display_name: Option<String>,
    pub realm: String,
    pub ha1_md5: String,
    pub ha1_sha256: String,
    pub created_at: i64,
    pub updated_at: i64,
}

impl std::fmt::Debug for StoredUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredUser")
            .field("account", &self.account)
            .field("application", &self.application)
            .field("name", &self.name)
            .field("display_name", &self.display_name)
            .field("realm", &self.realm)
            .finish_non_exhaustive()
    }
}

/// What a PUT sets; `None` leaves a field as it is (a new user needs a
/// password). `Debug` hides the password.
#[derive(Clone, Default)]
pub struct UserChange {
    pub password: Option<String>,
    pub display_name: Option<String>,
}

impl std::fmt::Debug for UserChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserChange")
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("display_name", &self.display_name)
            .finish()
    }
}

fn invalid(field: &'static str, reason: &str) -> StoreError {
    StoreError::Invalid {
        field,
        reason: reason.to_owned(),
    }
}

/// A user name is a SIP URI user part without escapes: letters, digits
/// and `-_.!~*'()+`.
pub fn check_user_name(name: &str) -> Result<(), StoreError> {
    if name.is_empty() || name.len() > MAX_NAME_LEN {
        return Err(invalid("user name", "must be 1 to 64 characters"));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_.!~*'()+".contains(&b))
    {
        return Err(invalid(
            "user name",
            "may hold only letters, digits and -_.!~*'()+",
        ));
    }
    Ok(())
}

fn check_password(password: &str) -> Result<(), StoreError> {
    if password.chars().count() < MIN_PASSWORD_LEN || password.len() > MAX_PASSWORD_LEN {
        return Err(invalid("password", "must be 8 to 128 characters"));
    }
    if password.chars().any(char::is_control) {
        return Err(invalid("password", "must not contain control characters"));
    }
    Ok(())
}

fn check_display_name(name: &str) -> Result<(), StoreError> {
    if name.len() > MAX_DISPLAY_NAME_LEN || name.chars().any(char::is_control) {
        return Err(invalid(
            "display name",
            "must be at most 128 bytes without control characters",
        ));
    }
    Ok(())
}

fn user_from_row(row: &AnyRow) -> Result<StoredUser, StoreError> {
    let display: String = row.try_get("display_name")?;
    Ok(StoredUser {
        account: row.try_get("account_id")?,
        application: row.try_get("application_id")?,
        name: row.try_get("name")?,
        display_name: (!display.is_empty()).then_some(display),
        realm: row.try_get("realm")?,
        ha1_md5: row.try_get("ha1_md5")?,
        ha1_sha256: row.try_get("ha1_sha256")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

const COLUMNS: &str = "account_id, application_id, name, display_name, realm, ha1_md5, \
                       ha1_sha256, created_at, updated_at";

impl Store {
    /// Creates or updates user `name` of `application` (an id of
    /// `account`). Returns the user and whether it was created.
    pub async fn put_user(
        &self,
        account: &str,
        application: &str,
        name: &str,
        change: UserChange,
    ) -> Result<(StoredUser, bool), StoreError> {
        check_user_name(name)?;
        if let Some(p) = &change.password {
            check_password(p)?;
        }
        if let Some(d) = &change.display_name {
            check_display_name(d)?;
        }
        self.require_application(account, application).await?;
        let mut tx = self.pool.begin().await?;
        if !lock_account(&mut tx, account).await? {
            return Err(StoreError::NotFound { what: "account" });
        }
        let existing = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM users WHERE account_id = $1 AND application_id = $2 AND name = $3"
        )))
        .bind(account)
        .bind(application)
        .bind(name)
        .fetch_optional(&mut *tx)
        .await?
        .as_ref()
        .map(user_from_row)
        .transpose()?;
        let now = now_ms();
        let (user, created) = match existing {
            Some(mut user) => {
                if let Some(p) = &change.password {
                    user.ha1_md5 = ha1(DigestAlgorithm::Md5, name, &user.realm, p);
                    user.ha1_sha256 = ha1(DigestAlgorithm::Sha256, name, &user.realm, p);
                }
                if let Some(d) = change.display_name {
                    user.display_name = (!d.is_empty()).then_some(d);
                }
                user.updated_at = now;
                sqlx::query(
                    "UPDATE users SET display_name = $1, ha1_md5 = $2, ha1_sha256 = $3,
                     updated_at = $4 WHERE account_id = $5 AND application_id = $6 AND name = $7",
                )
                .bind(user.display_name.clone().unwrap_or_default())
                .bind(&user.ha1_md5)
                .bind(&user.ha1_sha256)
                .bind(now)
                .bind(account)
                .bind(application)
                .bind(name)
                .execute(&mut *tx)
                .await?;
                (user, false)
            }
            None => {
                let Some(password) = change.password else {
                    return Err(invalid("password", "is required for a new user"));
                };
                let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE account_id = $1")
                    .bind(account)
                    .fetch_one(&mut *tx)
                    .await?;
                if u64::try_from(n).unwrap_or(0) >= MAX_USERS_PER_ACCOUNT {
                    return Err(StoreError::QuotaExceeded {
                        quota: "users",
                        what: "users",
                        limit: MAX_USERS_PER_ACCOUNT,
                    });
                }
                let realm = DEFAULT_REALM.to_string();
                let user = StoredUser {
                    account: account.to_owned(),
                    application: application.to_owned(),
                    name: name.to_owned(),
                    display_name: change.display_name.filter(|d| !d.is_empty()),
                    ha1_md5: ha1(DigestAlgorithm::Md5, name, &realm, &password),
                    ha1_sha256: ha1(DigestAlgorithm::Sha256, name, &realm, &password),
                    realm,
                    created_at: now,
                    updated_at: now,
                };
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "INSERT INTO users ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
                )))
                .bind(&user.account)
                .bind(&user.application)
                .bind(&user.name)
                .bind(user.display_name.clone().unwrap_or_default())
                .bind(&user.realm)
                .bind(&user.ha1_md5)
                .bind(&user.ha1_sha256)
                .bind(user.created_at)
                .bind(user.updated_at)
                .execute(&mut *tx)
                .await?;
                (user, true)
            }
        };
        tx.commit().await?;
        Ok((user, created))
    }

    pub async fn get_user(
        &self,
        account: &str,
        application: &str,
        name: &str,
    ) -> Result<Option<StoredUser>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM users WHERE account_id = $1 AND application_id = $2 AND name = $3"
        )))
        .bind(account)
        .bind(application)
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    pub async fn list_users(
        &self,
        account: &str,
        application: &str,
    ) -> Result<Vec<StoredUser>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM users WHERE account_id = $1 AND application_id = $2 ORDER BY name"
        )))
        .bind(account)
        .bind(application)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(user_from_row).collect()
    }

    pub async fn delete_user(
        &self,
        account: &str,
        application: &str,
        name: &str,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "DELETE FROM users WHERE account_id = $1 AND application_id = $2 AND name = $3",
        )
        .bind(account)
        .bind(application)
        .bind(name)
        .execute(&self.pool)
        .await?;
        Ok(affected(result))
    }

    /// Every account's users (for the routing snapshot).
    pub async fn all_users(&self) -> Result<Vec<StoredUser>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM users")))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(user_from_row).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn store_with_app() -> (Store, String, String) {
        let store = Store::open("sqlite::memory:").await.unwrap();
        let (account, _) = store.create_account("acme").await.unwrap();
        let app = store.put_application(&account.id, "support").await.unwrap();
        (store, account.id, app.id)
    }

    #[tokio::test]
    async fn users_keep_hashes_not_passwords() {
        let (store, account, app) = store_with_app().await;
        let change = UserChange {
            password: Some("correct horse".into()),
            display_name: Some("Alice".into()),
        };
        let (user, created) = store
            .put_user(&account, &app, "alice", change)
            .await
            .unwrap();
        assert!(created);
        assert_eq!(
            user.ha1_md5,
            ha1(
                DigestAlgorithm::Md5,
                "alice",
                DEFAULT_REALM,
                "correct horse"
            )
        );
        assert!(!format!("{user:?}").contains(&user.ha1_md5));
        // An update without a password keeps it.
        let (same, created) = store
            .put_user(
                &account,
                &app,
                "alice",
                UserChange {
                    password: None,
                    display_name: Some(String::new()),
                },
            )
            .await
            .unwrap();
        assert!(!created);
        assert_eq!(same.ha1_md5, user.ha1_md5);
        assert_eq!(same.display_name, None);
        assert_eq!(store.list_users(&account, &app).await.unwrap().len(), 1);
        assert_eq!(store.all_users().await.unwrap().len(), 1);
        // Another account sees nothing of it.
        let (other, _) = store.create_account("other").await.unwrap();
        assert!(store
            .get_user(&other.id, &app, "alice")
            .await
            .unwrap()
            .is_none());
        assert!(!store.delete_user(&other.id, &app, "alice").await.unwrap());
        assert!(store.delete_user(&account, &app, "alice").await.unwrap());
        assert!(store
            .get_user(&account, &app, "alice")
            .await
            .unwrap()
            .is_none());
    }

    #[tokio::test]
    async fn bad_users_are_refused() {
        let (store, account, app) = store_with_app().await;
        let with = |p: &str| UserChange {
            password: Some(p.into()),
            display_name: None,
        };
        for name in ["", "a b", "a@b", "x:y", &"n".repeat(65)] {
            assert!(store
                .put_user(&account, &app, name, with("long enough"))
                .await
                .is_err());
        }
        assert!(store
            .put_user(&account, &app, "bob", with("short"))
            .await
            .is_err());
        assert!(store
            .put_user(&account, &app, "bob", UserChange::default())
            .await
            .is_err());
        assert!(store
            .put_user(&account, "no-such-app", "bob", with("long enough"))
            .await
            .is_err());
    }
}
