//! Claims: the numbers, number patterns and SIP domains an account receives
//! (see `dialtone_routing::ClaimSet` for how they route).
//!
//! No claim may overlap a claim of another account. The check is costly for
//! patterns (a DFA product, `dialtone_routing::ClaimChecker`), so it runs in
//! two passes: first against every claim of other accounts outside any lock,
//! then, inside a transaction that first updates the one row of
//! `claim_lock` (a row lock on PostgreSQL, the write lock on SQLite, so
//! claim writes are serialised), against the claims written since.

use std::collections::HashSet;

use dialtone_routing::{ClaimChecker, ClaimKind, OverlapError};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::accounts::account_from_row;
use crate::{affected, is_unique_violation, new_id, now_ms, Account, Store, StoreError};

/// Pattern claims one account may hold: each new pattern of any account is
/// compared with every other account's patterns.
pub const MAX_PATTERN_CLAIMS: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredClaim {
    pub id: String,
    pub account: String,
    pub kind: ClaimKind,
    /// Numbers and patterns as given; domains lower-cased, no trailing dot.
    pub value: String,
    pub created_at: i64,
}

impl StoredClaim {
    /// The claim as the router compiles it.
    pub fn to_routing(&self) -> dialtone_routing::Claim {
        dialtone_routing::Claim {
            id: self.id.clone(),
            account: self.account.clone(),
            kind: self.kind,
            value: self.value.clone(),
        }
    }
}

fn claim_from_row(row: &AnyRow) -> Result<StoredClaim, StoreError> {
    let kind: String = row.try_get("kind")?;
    Ok(StoredClaim {
        id: row.try_get("id")?,
        account: row.try_get("account_id")?,
        kind: ClaimKind::parse(&kind).ok_or_else(|| StoreError::Corrupt {
            what: "claim",
            reason: format!("unknown kind {kind:?}"),
        })?,
        value: row.try_get("value")?,
        created_at: row.try_get("created_at")?,
    })
}

// A macro rather than a const so queries stay `&'static str` via `concat!`.
macro_rules! columns {
    () => {
        "id, account_id, kind, value, created_at"
    };
}

/// Refuse the new claim if it repeats one of `account`'s own, is one
/// pattern too many, or overlaps a claim of another account in `existing`
/// (skipping ids in `checked`). Returns the ids it looked at.
fn check(
    checker: &mut ClaimChecker,
    account: &str,
    existing: &[StoredClaim],
    checked: &HashSet<String>,
) -> Result<HashSet<String>, StoreError> {
    let own: Vec<&StoredClaim> = existing.iter().filter(|c| c.account == account).collect();
    let kind = checker.kind();
    if own
        .iter()
        .any(|c| c.kind == kind && c.value == checker.value())
    {
        return Err(StoreError::ClaimRefused(format!(
            "the account already claims {kind} {:?}",
            checker.value()
        )));
    }
    if kind == ClaimKind::Pattern
        && own.iter().filter(|c| c.kind == ClaimKind::Pattern).count() >= MAX_PATTERN_CLAIMS
    {
        return Err(StoreError::ClaimRefused(format!(
            "the account already has {MAX_PATTERN_CLAIMS} pattern claims, the limit; \
             claim numbers, or merge patterns"
        )));
    }
    let mut seen = HashSet::new();
    for other in existing
        .iter()
        .filter(|c| c.account != account && !checked.contains(&c.id))
    {
        seen.insert(other.id.clone());
        match checker.overlaps(other.kind, &other.value) {
            Ok(false) => {}
            // Which claim, and whose, stays private to its account.
            Ok(true) => {
                return Err(StoreError::ClaimRefused(format!(
                    "{kind} {:?} overlaps a claim of another account",
                    checker.value()
                )))
            }
            Err(e @ OverlapError::TooComplex { .. }) => {
                return Err(StoreError::ClaimRefused(e.to_string()))
            }
            Err(OverlapError::Claim(e)) => {
                return Err(StoreError::Corrupt {
                    what: "claim",
                    reason: format!("stored claim {}: {e}", other.id),
                })
            }
        }
    }
    Ok(seen)
}

/// [`check`] off the async runtime: a pattern check may take a while.
async fn check_blocking(
    mut checker: ClaimChecker,
    account: String,
    existing: Vec<StoredClaim>,
    checked: HashSet<String>,
) -> Result<(ClaimChecker, HashSet<String>), StoreError> {
    tokio::task::spawn_blocking(move || {
        check(&mut checker, &account, &existing, &checked).map(|seen| (checker, seen))
    })
    .await
    .map_err(|e| StoreError::Task(e.to_string()))?
}

impl Store {
    /// Claim `value` (a number, pattern or domain) for `account`. Refused
    /// with [`StoreError::Claim`] when the value is malformed and with
    /// [`StoreError::ClaimRefused`] when it overlaps another account's
    /// claim, cannot be checked within the budget, repeats one of the
    /// account's own claims or exceeds [`MAX_PATTERN_CLAIMS`].
    pub async fn create_claim(
        &self,
        account: &str,
        kind: ClaimKind,
        value: &str,
    ) -> Result<StoredClaim, StoreError> {
        // Building a pattern's DFA may take a moment: off the runtime too.
        let source = value.to_owned();
        let checker = tokio::task::spawn_blocking(move || ClaimChecker::new(kind, &source))
            .await
            .map_err(|e| StoreError::Task(e.to_string()))??;
        if self.get_account(account).await?.is_none() {
            return Err(StoreError::NotFound { what: "account" });
        }
        let before = self.all_claims().await?;
        let (checker, checked) =
            check_blocking(checker, account.to_owned(), before, HashSet::new()).await?;

        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE claim_lock SET writes = writes + 1 WHERE id = 1")
            .execute(&mut *tx)
            .await?;
        let rows = sqlx::query(concat!("SELECT ", columns!(), " FROM claims ORDER BY id"))
            .fetch_all(&mut *tx)
            .await?;
        let now: Vec<StoredClaim> = rows.iter().map(claim_from_row).collect::<Result<_, _>>()?;
        let (checker, _) = check_blocking(checker, account.to_owned(), now, checked).await?;
        let claim = StoredClaim {
            id: new_id(),
            account: account.to_owned(),
            kind,
            value: checker.value().to_owned(),
            created_at: now_ms(),
        };
        let inserted = sqlx::query(
            "INSERT INTO claims (id, account_id, kind, value, created_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&claim.id)
        .bind(&claim.account)
        .bind(kind.as_str())
        .bind(&claim.value)
        .bind(claim.created_at)
        .execute(&mut *tx)
        .await;
        match inserted {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => {
                return Err(StoreError::ClaimRefused(format!(
                    "{kind} {:?} is already claimed",
                    claim.value
                )))
            }
            Err(e) => return Err(e.into()),
        }
        tx.commit().await?;
        Ok(claim)
    }

    /// `account`'s claim `id`.
    pub async fn get_claim(
        &self,
        account: &str,
        id: &str,
    ) -> Result<Option<StoredClaim>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            columns!(),
            " FROM claims WHERE id = $1 AND account_id = $2"
        ))
        .bind(id)
        .bind(account)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(claim_from_row).transpose()
    }

    /// Claim `id` of any account: for the admin only.
    pub async fn claim_by_id(&self, id: &str) -> Result<Option<StoredClaim>, StoreError> {
        let row = sqlx::query(concat!("SELECT ", columns!(), " FROM claims WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(claim_from_row).transpose()
    }

    /// `account`'s claims, oldest first.
    pub async fn list_claims(&self, account: &str) -> Result<Vec<StoredClaim>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            columns!(),
            " FROM claims WHERE account_id = $1 ORDER BY id"
        ))
        .bind(account)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(claim_from_row).collect()
    }

    pub async fn delete_claim(&self, account: &str, id: &str) -> Result<bool, StoreError> {
        let result = sqlx::query("DELETE FROM claims WHERE id = $1 AND account_id = $2")
            .bind(id)
            .bind(account)
            .execute(&self.pool)
            .await?;
        Ok(affected(result))
    }

    /// Every claim of every account, oldest first, for the router and the
    /// overlap check. Like [`Store::all_rules`], never for API clients.
    pub async fn all_claims(&self) -> Result<Vec<StoredClaim>, StoreError> {
        let rows = sqlx::query(concat!("SELECT ", columns!(), " FROM claims ORDER BY id"))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(claim_from_row).collect()
    }

    /// Accounts that have routing rules but claim nothing, so no INVITE
    /// reaches their rules (`dialtone serve` warns about them at start).
    pub async fn accounts_with_rules_but_no_claims(&self) -> Result<Vec<Account>, StoreError> {
        let rows = sqlx::query(
            "SELECT a.id, a.name, a.is_admin, a.created_at FROM accounts a
             WHERE EXISTS (SELECT 1 FROM rules r WHERE r.account_id = a.id)
               AND NOT EXISTS (SELECT 1 FROM claims c WHERE c.account_id = a.id)
             ORDER BY a.id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(account_from_row).collect()
    }
}
