//! Triggers: what starts a built-in workflow from outside. A **live link** is a URL put in
//! ConnectWise's Links table (`GET /webhooks/custom/trigger/{trigger_id}/{org_id}?sig=…&ticketId=…`);
//! a **callback** is ConnectWise POSTing to such a URL when a ticket is added or deleted.
//! The URL carries an HMAC of the trigger and org ids under a key derived from the secret
//! key, so it cannot be made up; deleting the trigger revokes it.
use base64::Engine;
use entity::{callback_receipt, foreign_object_reference as reference, pending_task, trigger};
use hmac::{Hmac, Mac};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait,
    QueryFilter, QueryOrder, Statement,
};
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::executions::{self, Execution, FINAL};
use super::organizations::{self, Org};
use super::pack_configs::{self, PackConfig};
use super::{Store, now, unique_violation};
use crate::auth::{Access, Actor};
use crate::error::{AppError, AppResult};
use crate::workflows::{self, toolbox};

pub use trigger::Model as Trigger;

pub const LIVE_LINK: &str = "live_link";
pub const CW_CALLBACK: &str = "cw_callback";

/// Within this many seconds, a second start for the same ticket returns the first run.
pub const DEDUPE_SECS: i64 = 10;

type HmacSha256 = Hmac<Sha256>;

fn mac(store: &Store, trigger_id: Uuid, org_id: Uuid) -> HmacSha256 {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(store.trigger_key.as_ref())
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(format!("{trigger_id}/{org_id}").as_bytes());
    mac
}

/// The signature a trigger URL carries (`sig`).
pub fn signature(store: &Store, trigger_id: Uuid, org_id: Uuid) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(mac(store, trigger_id, org_id).finalize().into_bytes())
}

/// Whether `given` is the signature of this trigger and org (constant time).
pub fn signature_ok(store: &Store, trigger_id: Uuid, org_id: Uuid, given: &str) -> bool {
    let Ok(bytes) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(given.trim()) else {
        return false;
    };
    mac(store, trigger_id, org_id).verify_slice(&bytes).is_ok()
}

/// The trigger's URL under `base` (the public URL).
pub fn url(store: &Store, base: &str, t: &Trigger) -> String {
    format!(
        "{base}/webhooks/custom/trigger/{}/{}?sig={}",
        t.id,
        t.org_id,
        signature(store, t.id, t.org_id)
    )
}

/// A ConnectWise config `org` may use, or the error naming `packConfigId`.
async fn cw_config(store: &Store, actor: &Actor, org: &Org, id: Uuid) -> AppResult<PackConfig> {
    let (config, _) = pack_configs::get(store, actor, id).await?;
    if !pack_configs::usable_by(&store.db, org, id).await? {
        return Err(AppError::invalid(
            "packConfigId",
            "NOT_FOUND",
            "is not a config of this organization or of one above it",
        ));
    }
    if config.pack_id != "connectwise-psa" {
        return Err(AppError::invalid(
            "packConfigId",
            "NOT_SUPPORTED",
            format!(
                "is a {} config; live links and callbacks start ConnectWise pods",
                config.pack_id
            ),
        ));
    }
    Ok(config)
}

async fn get_or_create<C: ConnectionTrait>(
    conn: &C,
    org_id: Uuid,
    config_id: Uuid,
    kind: &str,
) -> AppResult<Trigger> {
    let existing = trigger::Entity::find()
        .filter(trigger::Column::OrgId.eq(org_id))
        .filter(trigger::Column::PackConfigId.eq(config_id))
        .filter(trigger::Column::Kind.eq(kind))
        .order_by_asc(trigger::Column::CreatedAt)
        .one(conn)
        .await?;
    if let Some(t) = existing {
        return Ok(t);
    }
    let at = now();
    Ok(trigger::ActiveModel {
        id: Set(Uuid::now_v7()),
        org_id: Set(org_id),
        pack_config_id: Set(config_id),
        kind: Set(kind.to_owned()),
        workflow_id: Set(toolbox::ID.to_owned()),
        is_enabled: Set(true),
        cw_callback_id: Set(None),
        cron: Set(None),
        next_run_at: Set(None),
        inputs: Set(None),
        secret_hash: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
    }
    .insert(conn)
    .await?)
}

/// `createLiveLink`: the org's live link for a ConnectWise config (the same one again on a
/// second call, so the URL in ConnectWise stays valid). Admins only: the link starts runs
/// without signing in.
pub async fn create_live_link(
    store: &Store,
    actor: &Actor,
    org_id: Uuid,
    config_id: Uuid,
) -> AppResult<Trigger> {
    let org = organizations::visible(store, actor, org_id).await?;
    actor.check(&org, Access::Admin)?;
    let config = cw_config(store, actor, &org, config_id).await?;
    let txn = store.begin_write().await?;
    let t = get_or_create(&txn, org.id, config.id, LIVE_LINK).await?;
    txn.commit().await?;
    Ok(t)
}

/// `liveLinks`: the live links of an org (admins: the URLs are credentials).
pub async fn live_links(store: &Store, actor: &Actor, org_id: Uuid) -> AppResult<Vec<Trigger>> {
    let org = organizations::visible(store, actor, org_id).await?;
    actor.check(&org, Access::Admin)?;
    Ok(trigger::Entity::find()
        .filter(trigger::Column::OrgId.eq(org.id))
        .filter(trigger::Column::Kind.eq(LIVE_LINK))
        .order_by_asc(trigger::Column::CreatedAt)
        .all(&store.db)
        .await?)
}

/// `deleteLiveLink`: revokes the link (its URL answers 404 from now on).
pub async fn delete_live_link(store: &Store, actor: &Actor, id: Uuid) -> AppResult<()> {
    let t = trigger::Entity::find_by_id(id)
        .one(&store.db)
        .await?
        .filter(|t| t.kind == LIVE_LINK)
        .ok_or(AppError::Forbidden)?;
    let org = organizations::visible(store, actor, t.org_id).await?;
    actor.check(&org, Access::Admin)?;
    trigger::Entity::delete_by_id(t.id).exec(&store.db).await?;
    Ok(())
}

/// What `registerConnectWiseCallbacks` did.
pub struct Registration {
    pub trigger: Trigger,
    pub callback_id: i64,
    /// False when ConnectWise already had this callback.
    pub created: bool,
}

/// `registerConnectWiseCallbacks`: registers (once) an owner-level ticket callback in
/// ConnectWise pointing at this config's callback trigger.
pub async fn register_callbacks(
    store: &Store,
    actor: &Actor,
    base: &str,
    config_id: Uuid,
) -> AppResult<Registration> {
    let (config, owner) = pack_configs::get(store, actor, config_id).await?;
    actor.check(&owner, Access::Admin)?;
    let config = cw_config(store, actor, &owner, config.id).await?;
    let missing = pack_configs::missing_fields(&config);
    if !missing.is_empty() {
        return Err(AppError::invalid(
            "packConfigId",
            "INCOMPLETE_CONFIG",
            format!("the config lacks {}", missing.join(", ")),
        ));
    }
    let txn = store.begin_write().await?;
    let t = get_or_create(&txn, owner.id, config.id, CW_CALLBACK).await?;
    txn.commit().await?;
    let target = url(store, base, &t);
    let client = pack_configs::connectwise_client(store, &config)?;
    let refused = |e| AppError::Conflict(format!("ConnectWise refused the callback: {e}"));
    let existing = client.callbacks().await.map_err(refused)?;
    let found = existing
        .iter()
        .find(|c| c["url"].as_str() == Some(target.as_str()))
        .and_then(|c| c["id"].as_i64());
    let (callback_id, created) = match found {
        Some(id) => (id, false),
        None => {
            let made = client
                .create_callback(
                    &target,
                    "Ticket",
                    "orghub: Technician Toolbox runs for new tickets",
                )
                .await
                .map_err(refused)?;
            let id = made["id"].as_i64().ok_or_else(|| {
                AppError::Conflict("ConnectWise answered without a callback id".into())
            })?;
            (id, true)
        }
    };
    let mut m: trigger::ActiveModel = t.clone().into();
    m.cw_callback_id = Set(Some(callback_id));
    m.updated_at = Set(now());
    let trigger = m.update(&store.db).await?;
    Ok(Registration {
        trigger,
        callback_id,
        created,
    })
}

pub async fn find(store: &Store, id: Uuid) -> AppResult<Option<Trigger>> {
    Ok(trigger::Entity::find_by_id(id).one(&store.db).await?)
}

/// The outcome of a start.
pub enum Fired {
    Started(Execution),
    /// A run for the ticket started less than `DEDUPE_SECS` ago: that one.
    AlreadyStarted(Execution),
}

/// Serializes starts for one ticket of one config (PostgreSQL; SQLite's write lock does it).
async fn lock_ticket<C: ConnectionTrait>(
    conn: &C,
    config_id: Uuid,
    ticket_id: i64,
) -> AppResult<()> {
    if conn.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    let digest = Sha256::digest(format!("toolbox:{config_id}:{ticket_id}").as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    conn.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT pg_advisory_xact_lock($1)",
        [i64::from_be_bytes(first).into()],
    ))
    .await?;
    Ok(())
}

/// Starts a Toolbox run for a ticket, linked to it by a `cw_ticket` reference, unless one
/// started within `DEDUPE_SECS` (double clicks, a callback and a click together).
pub async fn fire(store: &Store, t: &Trigger, ticket_id: i64, source: &str) -> AppResult<Fired> {
    start_toolbox(
        store,
        t.org_id,
        t.pack_config_id,
        Some(t.id),
        ticket_id,
        source,
    )
    .await
}

/// Starts a Toolbox run for a ticket on behalf of `org_id` with a config, as `fire` does
/// (the pod's restart uses it without a trigger).
pub async fn start_toolbox(
    store: &Store,
    org_id: Uuid,
    pack_config_id: Uuid,
    trigger_id: Option<Uuid>,
    ticket_id: i64,
    source: &str,
) -> AppResult<Fired> {
    let txn = store.begin_write().await?;
    lock_ticket(&txn, pack_config_id, ticket_id).await?;
    let since = now() - chrono::Duration::seconds(DEDUPE_SECS);
    let recent = reference::Entity::find()
        .filter(reference::Column::Identifier.eq(toolbox::TICKET_REFERENCE))
        .filter(reference::Column::ReferenceId.eq(ticket_id.to_string()))
        .filter(reference::Column::PackConfigId.eq(pack_config_id))
        .filter(reference::Column::WorkflowExecutionId.is_not_null())
        .filter(reference::Column::CreatedAt.gte(since))
        .order_by_desc(reference::Column::CreatedAt)
        .one(&txn)
        .await?;
    if let Some(r) = recent
        && let Some(exec_id) = r.workflow_execution_id
        && let Some(e) = entity::workflow_execution::Entity::find_by_id(exec_id)
            .one(&txn)
            .await?
    {
        txn.commit().await?;
        return Ok(Fired::AlreadyStarted(e));
    }
    let exec = executions::queue(
        &txn,
        org_id,
        toolbox::ID,
        json!({
            "ticketId": ticket_id,
            "packConfigId": pack_config_id,
            "orgId": org_id,
            "triggerId": trigger_id,
            "source": source,
        }),
    )
    .await?;
    let at = now();
    reference::ActiveModel {
        id: Set(Uuid::now_v7()),
        org_id: Set(org_id),
        identifier: Set(toolbox::TICKET_REFERENCE.to_owned()),
        reference_id: Set(ticket_id.to_string()),
        pack_config_id: Set(Some(pack_config_id)),
        workflow_execution_id: Set(Some(exec.id)),
        action_id: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
    }
    .insert(&txn)
    .await?;
    workflows::enqueue_step(&txn, exec.id, None).await?;
    txn.commit().await?;
    store.jobs_wakeup.notify_one();
    Ok(Fired::Started(exec))
}

/// A ticket was deleted in ConnectWise: its runs still going are canceled with their
/// waiting tasks. Returns how many runs.
pub async fn ticket_deleted(store: &Store, t: &Trigger, ticket_id: i64) -> AppResult<u64> {
    let refs = reference::Entity::find()
        .filter(reference::Column::Identifier.eq(toolbox::TICKET_REFERENCE))
        .filter(reference::Column::ReferenceId.eq(ticket_id.to_string()))
        .filter(reference::Column::PackConfigId.eq(t.pack_config_id))
        .all(&store.db)
        .await?;
    let ids: Vec<Uuid> = refs
        .iter()
        .filter_map(|r| r.workflow_execution_id)
        .collect();
    let runs = entity::workflow_execution::Entity::find()
        .filter(entity::workflow_execution::Column::Id.is_in(ids))
        .all(&store.db)
        .await?;
    let mut canceled = 0;
    for e in runs.iter().filter(|e| !FINAL.contains(&e.status.as_str())) {
        let txn = store.begin_write().await?;
        pending_task::Entity::update_many()
            .col_expr(pending_task::Column::Status, Expr::value("canceled"))
            .col_expr(pending_task::Column::UpdatedAt, Expr::value(now()))
            .filter(pending_task::Column::ExecutionId.eq(e.id))
            .filter(pending_task::Column::Status.eq("pending"))
            .exec(&txn)
            .await?;
        executions::set_status(
            &txn,
            e.id,
            "CANCELED",
            Some(&format!("Ticket #{ticket_id} was deleted in ConnectWise")),
        )
        .await?;
        txn.commit().await?;
        canceled += 1;
    }
    Ok(canceled)
}

/// Records a callback message; false when it was received before (a replay).
pub async fn first_receipt(store: &Store, trigger_id: Uuid, message_id: &str) -> AppResult<bool> {
    let res = callback_receipt::ActiveModel {
        message_id: Set(message_id.chars().take(255).collect()),
        trigger_id: Set(trigger_id),
        received_at: Set(now()),
    }
    .insert(&store.db)
    .await;
    match res {
        Ok(_) => Ok(true),
        Err(e) if unique_violation(&e).is_some() => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Forgets a receipt (the callback's work failed, so ConnectWise's retry must be let in).
pub async fn forget_receipt(store: &Store, message_id: &str) -> AppResult<()> {
    callback_receipt::Entity::delete_by_id(message_id.chars().take(255).collect::<String>())
        .exec(&store.db)
        .await?;
    Ok(())
}

/// The org a trigger starts runs for, if it still may (live, enabled).
pub async fn org_of(store: &Store, t: &Trigger) -> AppResult<Option<Org>> {
    Ok(organizations::by_ids(store, &[t.org_id])
        .await?
        .remove(&t.org_id)
        .filter(|o| o.deleted_at.is_none()))
}

/// The config a trigger belongs to.
pub async fn config_of(store: &Store, t: &Trigger) -> AppResult<Option<PackConfig>> {
    Ok(pack_configs::by_ids(store, &[t.pack_config_id])
        .await?
        .remove(&t.pack_config_id))
}

pub const OFFBOARDING_WEBHOOK: &str = "offboarding_webhook";
pub const OFFBOARDING_SCHEDULE: &str = "offboarding_schedule";
pub const OFFBOARDING_COMPANY: &str = "offboarding_company";

/// What `createOffboardingTrigger` asks for.
pub struct OffboardingSpec<'a> {
    pub org_id: Uuid,
    pub config_id: Uuid,
    /// `offboarding_webhook`, `offboarding_schedule` or `offboarding_company`.
    pub kind: &'a str,
    pub cron: Option<&'a str>,
    pub inputs: &'a serde_json::Value,
}

/// A trigger just made; a webhook's secret is shown this once.
pub struct Created {
    pub trigger: Trigger,
    pub secret: Option<String>,
}

fn sha256_hex(s: &str) -> String {
    Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether `given` is the webhook's secret (compared as hashes, in constant time).
pub fn secret_ok(t: &Trigger, given: &str) -> bool {
    let Some(stored) = t.secret_hash.as_deref() else {
        return false;
    };
    let given = sha256_hex(given);
    stored.len() == given.len()
        && stored
            .bytes()
            .zip(given.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// `createOffboardingTrigger`: a webhook (inputs per call, `x-rewst-secret`), a schedule
/// (cron; every company in the offboarded statuses) or a ConnectWise company callback (a
/// company whose status becomes offboarded). Admins only.
pub async fn create_offboarding(
    store: &Store,
    actor: &Actor,
    base: &str,
    spec: OffboardingSpec<'_>,
) -> AppResult<Created> {
    use crate::workflows::cron::Cron;
    use crate::workflows::offboarding::{self, Params};
    let OffboardingSpec {
        org_id,
        config_id,
        kind,
        cron,
        inputs,
    } = spec;
    let org = organizations::visible(store, actor, org_id).await?;
    actor.check(&org, Access::Admin)?;
    let config = cw_config(store, actor, &org, config_id).await?;
    let params = Params::parse(inputs, false)?;
    let at = now();
    let mut secret = None;
    let mut next_run_at = None;
    let mut cron_text = None;
    if kind != OFFBOARDING_WEBHOOK {
        if params.offboarded_statuses.is_empty() {
            return Err(AppError::invalid(
                "input.offboarded_statuses",
                "REQUIRED_FIELD",
                "name the company statuses that count as offboarded",
            ));
        }
        if params.client_id.is_some() || params.client_name.is_some() {
            return Err(AppError::invalid(
                "input.client_id",
                "INVALID_FORMAT",
                "a schedule or a company callback finds its clients by status; leave the client out",
            ));
        }
    }
    match kind {
        OFFBOARDING_WEBHOOK => {
            let mut bytes = [0u8; 32];
            getrandom::fill(&mut bytes).map_err(|e| AppError::internal(anyhow::anyhow!("{e}")))?;
            secret = Some(bytes.iter().map(|b| format!("{b:02x}")).collect::<String>());
        }
        OFFBOARDING_SCHEDULE => {
            let text = cron
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .ok_or_else(|| {
                    AppError::invalid(
                        "cron",
                        "REQUIRED_FIELD",
                        "a schedule needs a cron expression, e.g. \"0 2 * * *\"",
                    )
                })?;
            let parsed =
                Cron::parse(text).map_err(|e| AppError::invalid("cron", "INVALID_FORMAT", e))?;
            next_run_at = parsed.next_after(at);
            if next_run_at.is_none() {
                return Err(AppError::invalid("cron", "INVALID_FORMAT", "never fires"));
            }
            cron_text = Some(text.to_owned());
        }
        OFFBOARDING_COMPANY => {}
        other => {
            return Err(AppError::invalid(
                "kind",
                "INVALID_FORMAT",
                format!("unknown trigger kind {other}"),
            ));
        }
    }
    let mut t = trigger::ActiveModel {
        id: Set(Uuid::now_v7()),
        org_id: Set(org.id),
        pack_config_id: Set(config.id),
        kind: Set(kind.to_owned()),
        workflow_id: Set(offboarding::ID.to_owned()),
        is_enabled: Set(true),
        cw_callback_id: Set(None),
        cron: Set(cron_text),
        next_run_at: Set(next_run_at),
        inputs: Set(Some(
            serde_json::to_value(&params).map_err(AppError::internal)?,
        )),
        secret_hash: Set(secret.as_deref().map(sha256_hex)),
        created_at: Set(at),
        updated_at: Set(at),
    }
    .insert(&store.db)
    .await?;
    if kind == OFFBOARDING_COMPANY {
        let client = pack_configs::connectwise_client(store, &config)?;
        let made = client
            .create_callback(
                &url(store, base, &t),
                "Company",
                "orghub: deactivate configurations of offboarded companies",
            )
            .await;
        let id = match made.map(|m| m["id"].as_i64()) {
            Ok(Some(id)) => id,
            Ok(None) | Err(_) => {
                trigger::Entity::delete_by_id(t.id).exec(&store.db).await?;
                return Err(AppError::Conflict(
                    "ConnectWise refused the company callback; check the config with testPackConfig".into(),
                ));
            }
        };
        let mut m: trigger::ActiveModel = t.into();
        m.cw_callback_id = Set(Some(id));
        t = m.update(&store.db).await?;
    }
    Ok(Created { trigger: t, secret })
}

/// The offboarding triggers of an org (admins).
pub async fn offboarding_triggers(
    store: &Store,
    actor: &Actor,
    org_id: Uuid,
) -> AppResult<Vec<Trigger>> {
    let org = organizations::visible(store, actor, org_id).await?;
    actor.check(&org, Access::Admin)?;
    Ok(trigger::Entity::find()
        .filter(trigger::Column::OrgId.eq(org.id))
        .filter(trigger::Column::Kind.is_in([
            OFFBOARDING_WEBHOOK,
            OFFBOARDING_SCHEDULE,
            OFFBOARDING_COMPANY,
        ]))
        .order_by_asc(trigger::Column::CreatedAt)
        .all(&store.db)
        .await?)
}

/// Removes an offboarding trigger (its URL stops working; a schedule stops).
pub async fn delete_offboarding(store: &Store, actor: &Actor, id: Uuid) -> AppResult<()> {
    let t = trigger::Entity::find_by_id(id)
        .one(&store.db)
        .await?
        .filter(|t| t.kind.starts_with("offboarding_"))
        .ok_or(AppError::Forbidden)?;
    let org = organizations::visible(store, actor, t.org_id).await?;
    actor.check(&org, Access::Admin)?;
    trigger::Entity::delete_by_id(t.id).exec(&store.db).await?;
    Ok(())
}

pub const SCHEDULE_JOB: &str = "offboarding_schedule";

/// Queues the runs of the schedules whose time has come (every replica calls it each
/// minute; the conditional move of `next_run_at` and the job's unique key make one job per
/// firing). Returns how many fired.
pub async fn schedule_due(store: &Store, at: chrono::DateTime<chrono::Utc>) -> AppResult<u64> {
    use crate::workflows::cron::Cron;
    let due = trigger::Entity::find()
        .filter(trigger::Column::Kind.eq(OFFBOARDING_SCHEDULE))
        .filter(trigger::Column::IsEnabled.eq(true))
        .filter(trigger::Column::NextRunAt.lte(at))
        .all(&store.db)
        .await?;
    let mut fired = 0;
    for t in due {
        let (Some(text), Some(when)) = (t.cron.as_deref(), t.next_run_at) else {
            continue;
        };
        let next = Cron::parse(text).ok().and_then(|c| c.next_after(at));
        let txn = store.begin_write().await?;
        let moved = trigger::Entity::update_many()
            .col_expr(trigger::Column::NextRunAt, Expr::value(next))
            .filter(trigger::Column::Id.eq(t.id))
            .filter(trigger::Column::NextRunAt.eq(when))
            .exec(&txn)
            .await?;
        if moved.rows_affected == 1 {
            crate::jobs::enqueue(
                &txn,
                SCHEDULE_JOB,
                json!({ "triggerId": t.id, "fireAt": crate::graphql::rfc3339(&when) }),
                Some(format!("{SCHEDULE_JOB}:{}:{}", t.id, when.timestamp())),
                3,
            )
            .await?;
            fired += 1;
        }
        txn.commit().await?;
    }
    if fired > 0 {
        store.jobs_wakeup.notify_one();
    }
    Ok(fired)
}
