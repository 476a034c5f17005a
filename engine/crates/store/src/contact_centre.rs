//! A contact centre's configuration: agents (who they are, the user whose
//! phone rings for them, their skills and queues) and queues (the skills
//! they need and how they treat callers). Live agent states are not kept
//! here: they live with the calls, in the call core.

use std::collections::BTreeMap;

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::quotas::lock_account;
use crate::{affected, now_ms, Store, StoreError};

/// Agents one account may have.
pub const MAX_AGENTS_PER_ACCOUNT: u64 = 10_000;
/// Queues one account may have.
pub const MAX_QUEUES_PER_ACCOUNT: u64 = 1_000;
const MAX_SKILLS: usize = 100;
const MAX_QUEUES_PER_AGENT: usize = 100;
/// Skill levels run from 1 (least) to this.
pub const MAX_SKILL_LEVEL: u8 = 10;

/// Whether an agent takes calls or supervises its queues' agents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AgentRole {
    Agent,
    Supervisor,
}

impl AgentRole {
    pub fn as_str(self) -> &'static str {
        match self {
            AgentRole::Agent => "agent",
            AgentRole::Supervisor => "supervisor",
        }
    }

    pub fn parse(s: &str) -> Option<AgentRole> {
        match s {
            "agent" => Some(AgentRole::Agent),
            "supervisor" => Some(AgentRole::Supervisor),
            _ => None,
        }
    }
}

/// An agent as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredAgent {
    pub account: String,
    pub id: String,
    pub name: String,
    /// The application whose user rings for the agent.
    pub application: String,
    /// That user: its registered phones (or browser) ring.
    pub user: String,
    pub role: AgentRole,
    /// Skill name → level (1 to 10).
    pub skills: BTreeMap<String, u8>,
    /// Queues the agent takes calls from (or, for a supervisor, oversees).
    pub queues: Vec<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// An agent as the API writes it.
#[derive(Clone, Debug)]
pub struct AgentSpec {
    pub name: String,
    pub application: String,
    pub user: String,
    pub role: AgentRole,
    pub skills: BTreeMap<String, u8>,
    pub queues: Vec<String>,
}

/// A queue as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredQueue {
    pub account: String,
    pub name: String,
    /// Skill name → the least level an agent needs to take its calls.
    pub skills: BTreeMap<String, u8>,
    /// Callers waiting at most; past it `ACDEvents.QueueFull`.
    pub max_waiting: u32,
    /// Seconds an agent's phone rings before the caller goes back to its
    /// place and the agent is set not ready.
    pub ring_timeout: u32,
    /// Seconds of after-call work before an agent is ready again (0: ready
    /// at once).
    pub after_call_work: u32,
    /// The service level's target: answered within this many seconds.
    pub service_level: u32,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A queue as the API writes it.
#[derive(Clone, Debug)]
pub struct QueueSpec {
    pub skills: BTreeMap<String, u8>,
    pub max_waiting: Option<u32>,
    pub ring_timeout: Option<u32>,
    pub after_call_work: Option<u32>,
    pub service_level: Option<u32>,
}

fn invalid(field: &'static str, reason: &str) -> StoreError {
    StoreError::Invalid {
        field,
        reason: reason.to_owned(),
    }
}

/// Ids, queue and skill names: 1 to 64 letters, digits and `-_.`.
fn check_name(field: &'static str, name: &str) -> Result<(), StoreError> {
    if name.is_empty()
        || name.len() > 64
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    {
        return Err(invalid(field, "must be 1 to 64 letters, digits and -_."));
    }
    Ok(())
}

fn check_skills(skills: &BTreeMap<String, u8>) -> Result<(), StoreError> {
    if skills.len() > MAX_SKILLS {
        return Err(invalid("skills", "at most 100"));
    }
    for (name, level) in skills {
        check_name("skills", name)?;
        if !(1..=MAX_SKILL_LEVEL).contains(level) {
            return Err(invalid("skills", "levels run from 1 to 10"));
        }
    }
    Ok(())
}

fn check_agent(id: &str, spec: &AgentSpec) -> Result<(), StoreError> {
    check_name("agent id", id)?;
    if spec.name.chars().count() > 128 || spec.name.chars().any(char::is_control) {
        return Err(invalid(
            "name",
            "must be at most 128 characters without control characters",
        ));
    }
    check_name("application", &spec.application)?;
    crate::users::check_user_name(&spec.user)?;
    check_skills(&spec.skills)?;
    if spec.queues.len() > MAX_QUEUES_PER_AGENT {
        return Err(invalid("queues", "at most 100"));
    }
    for q in &spec.queues {
        check_name("queues", q)?;
    }
    Ok(())
}

fn json_map(row: &AnyRow, column: &'static str) -> Result<BTreeMap<String, u8>, StoreError> {
    let text: String = row.try_get(column)?;
    serde_json::from_str(&text).map_err(|e| StoreError::Corrupt {
        what: column,
        reason: e.to_string(),
    })
}

fn agent_from_row(row: &AnyRow) -> Result<StoredAgent, StoreError> {
    let queues: String = row.try_get("queues")?;
    let role: String = row.try_get("role")?;
    Ok(StoredAgent {
        account: row.try_get("account_id")?,
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        application: row.try_get("application")?,
        user: row.try_get("user_name")?,
        role: AgentRole::parse(&role).unwrap_or(AgentRole::Agent),
        skills: json_map(row, "skills")?,
        queues: serde_json::from_str(&queues).map_err(|e| StoreError::Corrupt {
            what: "agent queues",
            reason: e.to_string(),
        })?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn queue_from_row(row: &AnyRow) -> Result<StoredQueue, StoreError> {
    let int = |column: &str| -> Result<u32, StoreError> {
        Ok(u32::try_from(row.try_get::<i64, _>(column)?).unwrap_or(0))
    };
    Ok(StoredQueue {
        account: row.try_get("account_id")?,
        name: row.try_get("name")?,
        skills: json_map(row, "skills")?,
        max_waiting: int("max_waiting")?,
        ring_timeout: int("ring_timeout")?,
        after_call_work: int("after_call_work")?,
        service_level: int("service_level")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

const AGENT_COLUMNS: &str =
    "account_id, id, name, application, user_name, role, skills, queues, created_at, updated_at";
const QUEUE_COLUMNS: &str = "account_id, name, skills, max_waiting, ring_timeout, \
                             after_call_work, service_level, created_at, updated_at";

/// Bounds of a queue's numbers: (field, least, most, default).
const MAX_WAITING: (&str, u32, u32, u32) = ("maxWaiting", 1, 10_000, 100);
const RING_TIMEOUT: (&str, u32, u32, u32) = ("ringTimeout", 10, 400, 20);
const AFTER_CALL_WORK: (&str, u32, u32, u32) = ("afterCallWork", 0, 3600, 10);
const SERVICE_LEVEL: (&str, u32, u32, u32) = ("serviceLevel", 1, 3600, 20);

fn bounded(
    value: Option<u32>,
    (field, least, most, default): (&'static str, u32, u32, u32),
) -> Result<u32, StoreError> {
    let v = value.unwrap_or(default);
    if !(least..=most).contains(&v) {
        return Err(StoreError::Invalid {
            field,
            reason: format!("must be {least} to {most}"),
        });
    }
    Ok(v)
}

impl Store {
    /// Creates or replaces agent `id` of `account`; returns it and whether
    /// it was created. Its queues must exist (`NotFound` otherwise).
    pub async fn put_agent(
        &self,
        account: &str,
        id: &str,
        spec: AgentSpec,
    ) -> Result<(StoredAgent, bool), StoreError> {
        check_agent(id, &spec)?;
        let mut tx = self.pool.begin().await?;
        if !lock_account(&mut tx, account).await? {
            return Err(StoreError::NotFound { what: "account" });
        }
        for q in &spec.queues {
            let n: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM queues WHERE account_id = $1 AND name = $2",
            )
            .bind(account)
            .bind(q)
            .fetch_one(&mut *tx)
            .await?;
            if n == 0 {
                return Err(StoreError::NotFound { what: "queue" });
            }
        }
        let created_at: Option<i64> =
            sqlx::query_scalar("SELECT created_at FROM agents WHERE account_id = $1 AND id = $2")
                .bind(account)
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        if created_at.is_none() {
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM agents WHERE account_id = $1")
                .bind(account)
                .fetch_one(&mut *tx)
                .await?;
            if u64::try_from(n).unwrap_or(0) >= MAX_AGENTS_PER_ACCOUNT {
                return Err(StoreError::QuotaExceeded {
                    quota: "agents",
                    what: "agents",
                    limit: MAX_AGENTS_PER_ACCOUNT,
                });
            }
        }
        let now = now_ms();
        let agent = StoredAgent {
            account: account.to_owned(),
            id: id.to_owned(),
            name: spec.name,
            application: spec.application,
            user: spec.user,
            role: spec.role,
            skills: spec.skills,
            queues: spec.queues,
            created_at: created_at.unwrap_or(now),
            updated_at: now,
        };
        sqlx::query("DELETE FROM agents WHERE account_id = $1 AND id = $2")
            .bind(account)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO agents ({AGENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        )))
        .bind(&agent.account)
        .bind(&agent.id)
        .bind(&agent.name)
        .bind(&agent.application)
        .bind(&agent.user)
        .bind(agent.role.as_str())
        .bind(serde_json::to_string(&agent.skills).unwrap_or_else(|_| "{}".into()))
        .bind(serde_json::to_string(&agent.queues).unwrap_or_else(|_| "[]".into()))
        .bind(agent.created_at)
        .bind(agent.updated_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok((agent, created_at.is_none()))
    }

    pub async fn get_agent(
        &self,
        account: &str,
        id: &str,
    ) -> Result<Option<StoredAgent>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {AGENT_COLUMNS} FROM agents WHERE account_id = $1 AND id = $2"
        )))
        .bind(account)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(agent_from_row).transpose()
    }

    pub async fn list_agents(&self, account: &str) -> Result<Vec<StoredAgent>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {AGENT_COLUMNS} FROM agents WHERE account_id = $1 ORDER BY id"
        )))
        .bind(account)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(agent_from_row).collect()
    }

    pub async fn delete_agent(&self, account: &str, id: &str) -> Result<bool, StoreError> {
        let result = sqlx::query("DELETE FROM agents WHERE account_id = $1 AND id = $2")
            .bind(account)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(affected(result))
    }

    /// Every account's agents (for the call core's table).
    pub async fn all_agents(&self) -> Result<Vec<StoredAgent>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {AGENT_COLUMNS} FROM agents"
        )))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(agent_from_row).collect()
    }

    /// Creates or replaces queue `name` of `account`.
    pub async fn put_queue(
        &self,
        account: &str,
        name: &str,
        spec: QueueSpec,
    ) -> Result<(StoredQueue, bool), StoreError> {
        check_name("queue name", name)?;
        check_skills(&spec.skills)?;
        let max_waiting = bounded(spec.max_waiting, MAX_WAITING)?;
        let ring_timeout = bounded(spec.ring_timeout, RING_TIMEOUT)?;
        let after_call_work = bounded(spec.after_call_work, AFTER_CALL_WORK)?;
        let service_level = bounded(spec.service_level, SERVICE_LEVEL)?;
        let mut tx = self.pool.begin().await?;
        if !lock_account(&mut tx, account).await? {
            return Err(StoreError::NotFound { what: "account" });
        }
        let created_at: Option<i64> =
            sqlx::query_scalar("SELECT created_at FROM queues WHERE account_id = $1 AND name = $2")
                .bind(account)
                .bind(name)
                .fetch_optional(&mut *tx)
                .await?;
        if created_at.is_none() {
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM queues WHERE account_id = $1")
                .bind(account)
                .fetch_one(&mut *tx)
                .await?;
            if u64::try_from(n).unwrap_or(0) >= MAX_QUEUES_PER_ACCOUNT {
                return Err(StoreError::QuotaExceeded {
                    quota: "queues",
                    what: "queues",
                    limit: MAX_QUEUES_PER_ACCOUNT,
                });
            }
        }
        let now = now_ms();
        let queue = StoredQueue {
            account: account.to_owned(),
            name: name.to_owned(),
            skills: spec.skills,
            max_waiting,
            ring_timeout,
            after_call_work,
            service_level,
            created_at: created_at.unwrap_or(now),
            updated_at: now,
        };
        sqlx::query("DELETE FROM queues WHERE account_id = $1 AND name = $2")
            .bind(account)
            .bind(name)
            .execute(&mut *tx)
            .await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO queues ({QUEUE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        )))
        .bind(&queue.account)
        .bind(&queue.name)
        .bind(serde_json::to_string(&queue.skills).unwrap_or_else(|_| "{}".into()))
        .bind(i64::from(queue.max_waiting))
        .bind(i64::from(queue.ring_timeout))
        .bind(i64::from(queue.after_call_work))
        .bind(i64::from(queue.service_level))
        .bind(queue.created_at)
        .bind(queue.updated_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok((queue, created_at.is_none()))
    }

    pub async fn get_queue(
        &self,
        account: &str,
        name: &str,
    ) -> Result<Option<StoredQueue>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {QUEUE_COLUMNS} FROM queues WHERE account_id = $1 AND name = $2"
        )))
        .bind(account)
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(queue_from_row).transpose()
    }

    pub async fn list_queues(&self, account: &str) -> Result<Vec<StoredQueue>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {QUEUE_COLUMNS} FROM queues WHERE account_id = $1 ORDER BY name"
        )))
        .bind(account)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(queue_from_row).collect()
    }

    /// Deletes a queue no agent belongs to (409 while any does).
    pub async fn delete_queue(&self, account: &str, name: &str) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        if !lock_account(&mut tx, account).await? {
            return Err(StoreError::NotFound { what: "account" });
        }
        for agent in sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {AGENT_COLUMNS} FROM agents WHERE account_id = $1"
        )))
        .bind(account)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(agent_from_row)
        {
            let agent = agent?;
            if agent.queues.iter().any(|q| q == name) {
                // Shown as `… already exists` (409).
                return Err(StoreError::Conflict(format!(
                    "a member of queue {name:?} (agent {:?})",
                    agent.id
                )));
            }
        }
        let result = sqlx::query("DELETE FROM queues WHERE account_id = $1 AND name = $2")
            .bind(account)
            .bind(name)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(affected(result))
    }

    /// Every account's queues (for the call core's table).
    pub async fn all_queues(&self) -> Result<Vec<StoredQueue>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {QUEUE_COLUMNS} FROM queues"
        )))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(queue_from_row).collect()
    }
}
