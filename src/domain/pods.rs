//! ConnectWise pods: which config serves an org's pod, the sign-in of a ConnectWise member
//! (verified with ConnectWise itself, cached and throttled), and what a pod shows for a
//! ticket: its latest Technician Toolbox run and the run's waiting tasks.
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use entity::{foreign_object_reference as reference, pack_config, workflow_execution};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use super::executions::{self, FINAL};
use super::organizations::{self, Org};
use super::pack_configs::{self, PackConfig};
use super::triggers::{self, Fired};
use super::{Store, health};
use crate::auth::{Actor, Role};
use crate::connectwise::client::CwError;
use crate::error::{AppError, AppResult};
use crate::workflows::toolbox;

/// Who a pod session is: a ConnectWise member, for one org and config.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodSession {
    pub org_id: Uuid,
    pub pack_config_id: Uuid,
    /// The member's identifier, as ConnectWise confirmed it (lower case).
    pub member: String,
}

/// What the pod page sends from `getMemberAuthentication`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberClaim {
    #[serde(alias = "memberid")]
    pub member_id: String,
    #[serde(alias = "memberhash")]
    pub member_hash: String,
    #[serde(alias = "membercontext")]
    pub member_context: String,
    /// Shown in logs only: the company always comes from our config.
    #[serde(default, alias = "companyid")]
    pub company_id: Option<String>,
}

/// The live org of a pod and the ConnectWise config serving it: the default one of the
/// nearest org (the org's own, else the closest above it).
pub async fn pod_config(store: &Store, org_id: Uuid) -> AppResult<Option<(Org, PackConfig)>> {
    let Some(org) = organizations::by_ids(store, &[org_id])
        .await?
        .remove(&org_id)
        .filter(|o| o.deleted_at.is_none())
    else {
        return Ok(None);
    };
    let lineage = organizations::lineage(&org.path);
    let configs = pack_config::Entity::find()
        .filter(pack_config::Column::OrgId.is_in(lineage.iter().copied()))
        .filter(pack_config::Column::PackId.eq("connectwise-psa"))
        .order_by_asc(pack_config::Column::CreatedAt)
        .all(&store.db)
        .await?;
    let depth = |c: &PackConfig| lineage.iter().position(|id| *id == c.org_id).unwrap_or(0);
    let best = configs
        .into_iter()
        .max_by_key(|c| (depth(c), c.is_default, std::cmp::Reverse(c.created_at)));
    Ok(best.map(|c| (org, c)))
}

/// The origin ConnectWise serves its screens from for a config: `https://<hostname>`
/// (plain http only for a loopback host, as the simulator is).
pub fn cw_origin(store: &Store, config: &PackConfig) -> AppResult<String> {
    let (creds, _) = pack_configs::connectwise_credentials(store, config)?;
    let host = creds.host.trim().trim_end_matches('/').to_ascii_lowercase();
    let loopback = host.starts_with("127.") || host.starts_with("localhost");
    Ok(format!(
        "{}://{host}",
        if loopback { "http" } else { "https" }
    ))
}

/// Verifications of members: passes are kept 5 minutes, refusals 1 minute; failures are
/// limited per member (5 a minute) and overall (30 a minute), so the pod cannot be used to
/// guess sessions or to flood ConnectWise.
pub struct MemberVerifier {
    cache: Mutex<HashMap<ClaimKey, (bool, Instant)>>,
    failures: Mutex<Failures>,
}

/// (config, member, hash, context): one ConnectWise session of one member.
type ClaimKey = (Uuid, String, String, String);
/// Recent failed sign-ins per member, and all of them.
type Failures = (HashMap<String, Vec<Instant>>, Vec<Instant>);

const PASS_TTL: Duration = Duration::from_secs(300);
const REFUSAL_TTL: Duration = Duration::from_secs(60);
const PER_MEMBER_FAILURES: usize = 5;
const ALL_FAILURES: usize = 30;
const WINDOW: Duration = Duration::from_secs(60);

impl Default for MemberVerifier {
    fn default() -> Self {
        MemberVerifier {
            cache: Mutex::new(HashMap::new()),
            failures: Mutex::new((HashMap::new(), Vec::new())),
        }
    }
}

fn refused() -> AppError {
    AppError::Unauthenticated(
        "ConnectWise did not confirm this member; reopen the ticket in ConnectWise".into(),
    )
}

impl MemberVerifier {
    fn throttled(&self, member: &str) -> bool {
        let mut f = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        f.1.retain(|t| now.duration_since(*t) < WINDOW);
        let mine = f.0.entry(member.to_owned()).or_default();
        mine.retain(|t| now.duration_since(*t) < WINDOW);
        mine.len() >= PER_MEMBER_FAILURES || f.1.len() >= ALL_FAILURES
    }

    fn failed(&self, member: &str) {
        let mut f = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        f.0.entry(member.to_owned()).or_default().push(now);
        f.1.push(now);
        if f.0.len() > 10_000 {
            f.0.retain(|_, v| v.iter().any(|t| now.duration_since(*t) < WINDOW));
        }
    }

    /// Asks ConnectWise who the session belongs to (`GET system/myMembers/info` with the
    /// member's cookies, our company and client id) and requires the claimed member.
    pub async fn verify(
        &self,
        store: &Store,
        config: &PackConfig,
        claim: &MemberClaim,
    ) -> AppResult<String> {
        let member = claim.member_id.trim().to_ascii_lowercase();
        if member.is_empty()
            || claim.member_hash.trim().is_empty()
            || claim.member_context.trim().is_empty()
        {
            return Err(AppError::invalid(
                "auth",
                "REQUIRED_FIELD",
                "memberid, memberHash and memberContext are required",
            ));
        }
        let key = (
            config.id,
            member.clone(),
            claim.member_hash.clone(),
            claim.member_context.clone(),
        );
        if let Some((ok, at)) = self
            .cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
            .copied()
        {
            let ttl = if ok { PASS_TTL } else { REFUSAL_TTL };
            if at.elapsed() < ttl {
                return if ok { Ok(member) } else { Err(refused()) };
            }
        }
        if self.throttled(&member) {
            return Err(AppError::Conflict(
                "Too many failed sign-ins; wait a minute and reopen the ticket".into(),
            ));
        }
        let client = pack_configs::connectwise_client(store, config)?;
        let answer = client
            .my_member_info(&claim.member_id, &claim.member_hash, &claim.member_context)
            .await;
        let ok = match &answer {
            Ok(info) => info["identifier"]
                .as_str()
                .is_some_and(|i| i.eq_ignore_ascii_case(&member)),
            Err(CwError::Unauthorized(_) | CwError::Forbidden(_) | CwError::NotFound(_)) => false,
            Err(e) => {
                // ConnectWise did not answer: neither a pass nor a refusal to remember.
                return Err(AppError::Conflict(format!(
                    "Cannot check the member with ConnectWise: {e}"
                )));
            }
        };
        {
            let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            if cache.len() > 10_000 {
                cache.retain(|_, (_, at)| at.elapsed() < PASS_TTL);
            }
            cache.insert(key, (ok, Instant::now()));
        }
        if ok {
            Ok(member)
        } else {
            self.failed(&member);
            tracing::warn!(member = %member, company = ?claim.company_id, "pod sign-in refused by ConnectWise");
            Err(refused())
        }
    }
}

/// The actor a pod acts as: a member of the session's org (answers tasks, restarts runs).
pub async fn actor(store: &Store, s: &PodSession) -> AppResult<(Actor, Org)> {
    let org = organizations::by_ids(store, &[s.org_id])
        .await?
        .remove(&s.org_id)
        .filter(|o| o.deleted_at.is_none())
        .ok_or_else(|| AppError::Unauthenticated("the organization no longer exists".into()))?;
    Ok((
        Actor {
            user_id: Uuid::nil(),
            username: format!("connectwise:{}", s.member),
            org_id: org.id,
            org_path: org.path.clone(),
            role: Role::Member,
            is_staff: false,
            user: None,
        },
        org,
    ))
}

/// The latest Toolbox run of a ticket within the session's reach.
async fn latest_run(
    store: &Store,
    s: &PodSession,
    org: &Org,
    ticket_id: i64,
) -> AppResult<Option<executions::Execution>> {
    let refs = reference::Entity::find()
        .filter(reference::Column::Identifier.eq(toolbox::TICKET_REFERENCE))
        .filter(reference::Column::ReferenceId.eq(ticket_id.to_string()))
        .filter(reference::Column::PackConfigId.eq(s.pack_config_id))
        .filter(reference::Column::WorkflowExecutionId.is_not_null())
        .order_by_desc(reference::Column::CreatedAt)
        .all(&store.db)
        .await?;
    let ids: Vec<Uuid> = refs
        .iter()
        .filter_map(|r| r.workflow_execution_id)
        .collect();
    if ids.is_empty() {
        return Ok(None);
    }
    let runs = workflow_execution::Entity::find()
        .filter(workflow_execution::Column::Id.is_in(ids))
        .order_by_desc(workflow_execution::Column::CreatedAt)
        .all(&store.db)
        .await?;
    let orgs =
        organizations::by_ids(store, &runs.iter().map(|r| r.org_id).collect::<Vec<_>>()).await?;
    Ok(runs.into_iter().find(|r| {
        orgs.get(&r.org_id)
            .is_some_and(|o| o.path.starts_with(&org.path))
    }))
}

/// What the pod shows for a ticket: `state` is one of `no_run`, `starting`, `waiting`,
/// `working`, `failed`, `timeout`, `canceled`, `succeeded`; `canRestart` says whether the
/// restart button applies; `integration` is the config's health.
pub async fn ticket_state(store: &Store, s: &PodSession, ticket_id: i64) -> AppResult<Value> {
    let (_, org) = actor(store, s).await?;
    let config = pack_configs::by_ids(store, &[s.pack_config_id])
        .await?
        .remove(&s.pack_config_id)
        .ok_or_else(|| AppError::Unauthenticated("the ConnectWise config is gone".into()))?;
    let latest_test = health::latest(store, &[config.id]).await?;
    let h = health::health(&config, latest_test.get(&config.id));
    let run = latest_run(store, s, &org, ticket_id).await?;
    let (state, run_json) = match &run {
        None => ("no_run", Value::Null),
        Some(e) => {
            let tasks = executions::tasks_of(store, &[e.id])
                .await?
                .remove(&e.id)
                .unwrap_or_default();
            let waiting: Vec<Value> = tasks
                .iter()
                .filter(|t| t.status == "pending")
                .map(|t| {
                    json!({ "id": t.id, "kind": t.kind, "label": t.label, "fields": t.fields,
                            "expiresAt": crate::graphql::rfc3339(&t.expires_at) })
                })
                .collect();
            let state = match e.status.as_str() {
                "PENDING" => "starting",
                "PAUSED" if !waiting.is_empty() => "waiting",
                "FAILED" => "failed",
                "TIMEOUT" => "timeout",
                "CANCELED" | "ABANDONED" => "canceled",
                "SUCCEEDED" => "succeeded",
                _ => "working",
            };
            (
                state,
                json!({
                    "id": e.id, "status": e.status, "message": e.message, "output": e.output,
                    "createdAt": crate::graphql::rfc3339(&e.created_at),
                    "updatedAt": crate::graphql::rfc3339(&e.updated_at),
                    "tasks": waiting,
                }),
            )
        }
    };
    let can_restart = run
        .as_ref()
        .is_none_or(|e| FINAL.contains(&e.status.as_str()));
    Ok(json!({
        "ticketId": ticket_id,
        "organization": { "id": org.id, "name": org.name },
        "member": s.member,
        "integration": { "name": config.name, "status": h.colour.as_str(), "reason": h.reason },
        "state": state,
        "canRestart": can_restart,
        "run": run_json,
    }))
}

/// Answers a waiting task of a run the session may see.
pub async fn answer(
    store: &Store,
    s: &PodSession,
    task_id: Uuid,
    values: Value,
) -> AppResult<Value> {
    let (actor, _) = actor(store, s).await?;
    executions::answer(store, &actor, None, task_id, values).await
}

/// Starts a new Toolbox run for the ticket (as the live link does).
pub async fn restart(store: &Store, s: &PodSession, ticket_id: i64) -> AppResult<Uuid> {
    let (_, org) = actor(store, s).await?;
    if !org.is_enabled {
        return Err(AppError::Conflict(format!(
            "The organization \"{}\" is disabled",
            org.name
        )));
    }
    match triggers::start_toolbox(store, org.id, s.pack_config_id, None, ticket_id, "pod").await? {
        Fired::Started(e) | Fired::AlreadyStarted(e) => Ok(e.id),
    }
}
