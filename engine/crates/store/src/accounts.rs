//! Accounts and API keys. A key is 32 random bytes shown to its owner once
//! (hex encoded); only its SHA-256 is stored, so a leaked database does not
//! leak usable keys. A key is named in listings and revocations by its id,
//! the start of that hash, which reveals nothing usable either.

use sha2::{Digest, Sha256};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::{new_id, now_ms, Store, StoreError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: String,
    pub name: String,
    pub is_admin: bool,
    pub created_at: i64,
}

/// A freshly made API key in plain text. It exists only in this value: the
/// store keeps the hash.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(pub String);

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Keys must not end up in logs through `{:?}`.
        f.write_str("ApiKey(…)")
    }
}

impl ApiKey {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key's public id, as [`Store::list_api_keys`] shows it.
    pub fn id(&self) -> String {
        id_of_hash(&hash_key(&self.0))
    }
}

/// How a stored key is listed: its id and age, never the key itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyInfo {
    /// The first 16 hex digits of the key's SHA-256.
    pub id: String,
    pub created_at: i64,
}

/// Length of a key id: 64 bits of the hash, unique among an account's keys
/// for all practical purposes and no help in guessing the key.
const API_KEY_ID_LEN: usize = 16;

fn id_of_hash(hash: &str) -> String {
    hash.chars().take(API_KEY_ID_LEN).collect()
}

/// Whether `id` has the shape of a key id (lowercase hex, full length).
fn is_key_id(id: &str) -> bool {
    id.len() == API_KEY_ID_LEN && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Outcome of [`Store::bootstrap_admin`].
#[derive(Debug, Clone)]
pub struct AdminBootstrap {
    pub account: Account,
    /// A key generated on this call, to be printed once. `None` when the
    /// admin already existed or the key was supplied by the caller.
    pub generated_key: Option<ApiKey>,
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    out
}

fn hash_key(key: &str) -> String {
    hex(&Sha256::digest(key.as_bytes()))
}

fn random_key() -> Result<ApiKey, StoreError> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes).map_err(|e| StoreError::Random(e.to_string()))?;
    Ok(ApiKey(format!("dt_{}", hex(&bytes))))
}

/// Shortest key accepted from outside (DIALTONE_ADMIN_KEY); a short key is
/// guessable whatever the hash.
const MIN_SUPPLIED_KEY_LEN: usize = 24;

pub(crate) fn account_from_row(row: &AnyRow) -> Result<Account, StoreError> {
    Ok(Account {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        is_admin: row.try_get::<i64, _>("is_admin")? != 0,
        created_at: row.try_get("created_at")?,
    })
}

impl Store {
    /// Create an account with one API key, returned in plain text once.
    pub async fn create_account(&self, name: &str) -> Result<(Account, ApiKey), StoreError> {
        let key = random_key()?;
        let account = self.insert_account(name, false, &key).await?;
        Ok((account, key))
    }

    async fn insert_account(
        &self,
        name: &str,
        is_admin: bool,
        key: &ApiKey,
    ) -> Result<Account, StoreError> {
        let name = name.trim();
        if name.is_empty() {
            return Err(StoreError::Invalid {
                field: "account name",
                reason: "must not be empty".to_owned(),
            });
        }
        let account = Account {
            id: new_id(),
            name: name.to_owned(),
            is_admin,
            created_at: now_ms(),
        };
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO accounts (id, name, is_admin, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&account.id)
        .bind(&account.name)
        .bind(i64::from(is_admin))
        .bind(account.created_at)
        .execute(&mut *tx)
        .await?;
        sqlx::query("INSERT INTO api_keys (key_hash, account_id, created_at) VALUES ($1, $2, $3)")
            .bind(hash_key(key.as_str()))
            .bind(&account.id)
            .bind(account.created_at)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(account)
    }

    pub async fn get_account(&self, id: &str) -> Result<Option<Account>, StoreError> {
        let row = sqlx::query("SELECT id, name, is_admin, created_at FROM accounts WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(account_from_row).transpose()
    }

    /// The account owning `key`, or `None` for an unknown key.
    pub async fn account_by_api_key(&self, key: &str) -> Result<Option<Account>, StoreError> {
        let row = sqlx::query(
            "SELECT a.id, a.name, a.is_admin, a.created_at
             FROM api_keys k JOIN accounts a ON a.id = k.account_id
             WHERE k.key_hash = $1",
        )
        .bind(hash_key(key))
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(account_from_row).transpose()
    }

    /// Add another key to an account (rotation: add, then revoke the old).
    /// The key is returned in plain text once, with how it is listed.
    pub async fn create_api_key(&self, account: &str) -> Result<(ApiKey, ApiKeyInfo), StoreError> {
        if self.get_account(account).await?.is_none() {
            return Err(StoreError::NotFound { what: "account" });
        }
        let key = random_key()?;
        let hash = hash_key(key.as_str());
        let created_at = now_ms();
        sqlx::query("INSERT INTO api_keys (key_hash, account_id, created_at) VALUES ($1, $2, $3)")
            .bind(&hash)
            .bind(account)
            .bind(created_at)
            .execute(&self.pool)
            .await?;
        let info = ApiKeyInfo {
            id: id_of_hash(&hash),
            created_at,
        };
        Ok((key, info))
    }

    /// The keys of `account`, oldest first.
    pub async fn list_api_keys(&self, account: &str) -> Result<Vec<ApiKeyInfo>, StoreError> {
        let rows = sqlx::query(
            "SELECT key_hash, created_at FROM api_keys WHERE account_id = $1
             ORDER BY created_at, key_hash",
        )
        .bind(account)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ApiKeyInfo {
                    id: id_of_hash(&row.try_get::<String, _>("key_hash")?),
                    created_at: row.try_get("created_at")?,
                })
            })
            .collect()
    }

    /// Revoke the key of `account` whose id is `id`, unless it is the
    /// account's last key (which would lock the account out). False when
    /// nothing was revoked: no key of the account has that id, or it is the
    /// last one. Concurrent revocations of one account's keys are
    /// serialized, so two of them can never remove its last two keys.
    pub async fn revoke_api_key_by_id(&self, account: &str, id: &str) -> Result<bool, StoreError> {
        if !is_key_id(id) {
            return Ok(false);
        }
        let mut tx = self.pool.begin().await?;
        // A no-op write on the account row: PostgreSQL locks the row until
        // commit, SQLite takes its write lock, so the count below cannot
        // change under this transaction.
        let locked = sqlx::query("UPDATE accounts SET name = name WHERE id = $1")
            .bind(account)
            .execute(&mut *tx)
            .await?;
        if !crate::affected(locked) {
            return Ok(false);
        }
        let hashes: Vec<String> =
            sqlx::query_scalar("SELECT key_hash FROM api_keys WHERE account_id = $1")
                .bind(account)
                .fetch_all(&mut *tx)
                .await?;
        let matching: Vec<&String> = hashes.iter().filter(|h| h.starts_with(id)).collect();
        if matching.is_empty() || matching.len() == hashes.len() {
            return Ok(false);
        }
        for hash in matching {
            sqlx::query("DELETE FROM api_keys WHERE key_hash = $1 AND account_id = $2")
                .bind(hash)
                .bind(account)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Revoke a key of `account`; false if it was not one of its keys.
    pub async fn revoke_api_key(&self, account: &str, key: &str) -> Result<bool, StoreError> {
        let result = sqlx::query("DELETE FROM api_keys WHERE key_hash = $1 AND account_id = $2")
            .bind(hash_key(key))
            .bind(account)
            .execute(&self.pool)
            .await?;
        Ok(crate::affected(result))
    }

    /// Make sure an admin account exists. On first start it is created with
    /// `supplied_key` (e.g. from DIALTONE_ADMIN_KEY) or a generated key that
    /// the caller prints once. On later starts a supplied key is added to the
    /// existing admin if it is not known yet, so setting the variable later
    /// still works.
    pub async fn bootstrap_admin(
        &self,
        supplied_key: Option<&str>,
    ) -> Result<AdminBootstrap, StoreError> {
        if let Some(key) = supplied_key {
            if key.len() < MIN_SUPPLIED_KEY_LEN {
                return Err(StoreError::Invalid {
                    field: "admin key",
                    reason: format!("must be at least {MIN_SUPPLIED_KEY_LEN} characters"),
                });
            }
        }
        let existing = sqlx::query(
            "SELECT id, name, is_admin, created_at FROM accounts
             WHERE is_admin = 1 ORDER BY id LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        if let Some(row) = existing {
            let account = account_from_row(&row)?;
            if let Some(key) = supplied_key {
                match self.account_by_api_key(key).await? {
                    Some(owner) if owner.id == account.id => {}
                    Some(_) => {
                        return Err(StoreError::Invalid {
                            field: "admin key",
                            reason: "it already belongs to another account".to_owned(),
                        })
                    }
                    None => {
                        sqlx::query(
                            "INSERT INTO api_keys (key_hash, account_id, created_at)
                             VALUES ($1, $2, $3)",
                        )
                        .bind(hash_key(key))
                        .bind(&account.id)
                        .bind(now_ms())
                        .execute(&self.pool)
                        .await?;
                    }
                }
            }
            return Ok(AdminBootstrap {
                account,
                generated_key: None,
            });
        }
        let (key, generated) = match supplied_key {
            Some(k) => (ApiKey(k.to_owned()), false),
            None => (random_key()?, true),
        };
        let account = self.insert_account("admin", true, &key).await?;
        Ok(AdminBootstrap {
            account,
            generated_key: generated.then_some(key),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_hash_are_stable() {
        assert_eq!(hex(&[0x00, 0xab, 0x7f]), "00ab7f");
        assert_eq!(
            hash_key("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn key_ids_are_the_start_of_the_hash() {
        let id = ApiKey("abc".to_owned()).id();
        assert_eq!(id, "ba7816bf8f01cfea");
        assert!(is_key_id(&id));
        assert!(!is_key_id("BA7816BF8F01CFEA"));
        assert!(!is_key_id("ba7816bf8f01cfe"));
        assert!(!is_key_id("ba7816bf8f01cfe%"));
        assert!(!is_key_id("ba7816bf8f01cfeaa"));
    }

    #[test]
    fn keys_are_random_and_debug_hides_them() {
        let a = random_key().unwrap();
        let b = random_key().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 3 + 64);
        assert!(!format!("{a:?}").contains(&a.0));
    }
}
