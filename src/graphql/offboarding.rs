//! The offboarding workflow: run it now, or set up what runs it (a webhook, a schedule, a
//! ConnectWise company callback). All ours.
use async_graphql::{Context, Enum, ID, InputObject, Json, Object, Result};
use serde_json::{Value, json};

use super::executions::WorkflowExecution;
use super::triggers::PublicUrl;
use super::{actor, rfc3339, store};
use crate::auth::Access;
use crate::domain::triggers::{self, Trigger};
use crate::domain::{organizations, pack_configs, parse_id};
use crate::error::AppError;
use crate::workflows::offboarding::{self, Params};

/// What to offboard and how (snake_case keys in webhook bodies).
#[derive(InputObject, Default)]
pub struct OffboardingInput {
    /// The ConnectWise company id; or give `clientName`.
    client_id: Option<ID>,
    /// The exact company name (an ambiguous name is refused with the candidates).
    client_name: Option<String>,
    /// Company statuses that count as offboarded; a client in another status is refused.
    /// Empty: any status.
    offboarded_statuses: Option<Vec<String>>,
    /// List what would change, change nothing (default false).
    dry_run: Option<bool>,
    /// Wait for a member or admin to approve the list (default false).
    require_approval: Option<bool>,
    /// Also list archived (inactive) configurations (default false).
    include_archived: Option<bool>,
    /// Kept in the run's log.
    reason: Option<String>,
}

impl OffboardingInput {
    fn to_json(&self) -> Value {
        json!({
            "client_id": self.client_id.as_ref().map(|i| i.to_string()),
            "client_name": self.client_name,
            "offboarded_statuses": self.offboarded_statuses,
            "dry_run": self.dry_run,
            "require_approval": self.require_approval,
            "include_archived": self.include_archived,
            "reason": self.reason,
        })
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum OffboardingTriggerKind {
    /// `POST` the inputs as JSON with the secret in `x-rewst-secret`.
    Webhook,
    /// A cron expression: every company in the offboarded statuses.
    Schedule,
    /// A ConnectWise company callback: a company whose status becomes offboarded.
    CompanyCallback,
}

impl OffboardingTriggerKind {
    fn as_str(self) -> &'static str {
        match self {
            OffboardingTriggerKind::Webhook => triggers::OFFBOARDING_WEBHOOK,
            OffboardingTriggerKind::Schedule => triggers::OFFBOARDING_SCHEDULE,
            OffboardingTriggerKind::CompanyCallback => triggers::OFFBOARDING_COMPANY,
        }
    }
}

pub struct OffboardingTrigger {
    t: Trigger,
    url: String,
    secret: Option<String>,
}

#[Object]
impl OffboardingTrigger {
    async fn id(&self) -> ID {
        ID(self.t.id.to_string())
    }
    async fn org_id(&self) -> ID {
        ID(self.t.org_id.to_string())
    }
    async fn pack_config_id(&self) -> ID {
        ID(self.t.pack_config_id.to_string())
    }
    async fn kind(&self) -> OffboardingTriggerKind {
        match self.t.kind.as_str() {
            triggers::OFFBOARDING_SCHEDULE => OffboardingTriggerKind::Schedule,
            triggers::OFFBOARDING_COMPANY => OffboardingTriggerKind::CompanyCallback,
            _ => OffboardingTriggerKind::Webhook,
        }
    }
    /// Where webhooks and ConnectWise post.
    async fn url(&self) -> &str {
        &self.url
    }
    /// The webhook's secret: shown once, at creation.
    async fn secret(&self) -> Option<&str> {
        self.secret.as_deref()
    }
    async fn cron(&self) -> Option<&str> {
        self.t.cron.as_deref()
    }
    async fn next_run_at(&self) -> Option<String> {
        self.t.next_run_at.as_ref().map(rfc3339)
    }
    /// The inputs its runs start with.
    async fn input(&self) -> Option<Json<Value>> {
        self.t.inputs.clone().map(Json)
    }
    /// The company callback's id in ConnectWise.
    async fn callback_id(&self) -> Option<String> {
        self.t.cw_callback_id.map(|i| i.to_string())
    }
    async fn created_at(&self) -> String {
        rfc3339(&self.t.created_at)
    }
}

fn base<'a>(ctx: &Context<'a>) -> &'a str {
    ctx.data_opt::<PublicUrl>()
        .map(|u| u.0.as_str())
        .unwrap_or("")
}

#[derive(Default)]
pub struct OffboardingQuery;

#[Object]
impl OffboardingQuery {
    /// The offboarding triggers of an organization (admins).
    async fn offboarding_triggers(
        &self,
        ctx: &Context<'_>,
        org_id: ID,
    ) -> Result<Vec<OffboardingTrigger>> {
        let org = parse_id("orgId", &org_id)?;
        let store = store(ctx);
        Ok(triggers::offboarding_triggers(store, actor(ctx)?, org)
            .await?
            .into_iter()
            .map(|t| OffboardingTrigger {
                url: triggers::url(store, base(ctx), &t),
                t,
                secret: None,
            })
            .collect())
    }
}

#[derive(Default)]
pub struct OffboardingMutation;

#[Object]
impl OffboardingMutation {
    /// Runs "PSA: Deactivate configurations of an offboarded client" now (members and
    /// admins). The run's `output` carries the result.
    async fn run_offboarding_config_deactivation(
        &self,
        ctx: &Context<'_>,
        org_id: ID,
        pack_config_id: ID,
        input: OffboardingInput,
    ) -> Result<WorkflowExecution> {
        let org_id = parse_id("orgId", &org_id)?;
        let config_id = parse_id("packConfigId", &pack_config_id)?;
        let store = store(ctx);
        let actor = actor(ctx)?;
        let org = organizations::visible(store, actor, org_id).await?;
        actor.check(&org, Access::Write)?;
        let (config, _) = pack_configs::get(store, actor, config_id).await?;
        if !pack_configs::usable_by(&store.db, &org, config.id).await?
            || config.pack_id != "connectwise-psa"
        {
            return Err(AppError::invalid(
                "packConfigId",
                "NOT_FOUND",
                "is not a ConnectWise config of this organization or of one above it",
            )
            .into());
        }
        let params = Params::parse(&input.to_json(), true)?;
        Ok(WorkflowExecution(
            offboarding::start(store, org.id, config.id, &params, "manual", None).await?,
        ))
    }

    /// Sets up what runs the offboarding workflow (admins): a webhook (its secret is shown
    /// once), a schedule (`cron`, UTC) or a ConnectWise company callback.
    async fn create_offboarding_trigger(
        &self,
        ctx: &Context<'_>,
        org_id: ID,
        pack_config_id: ID,
        kind: OffboardingTriggerKind,
        input: Option<OffboardingInput>,
        cron: Option<String>,
    ) -> Result<OffboardingTrigger> {
        let org_id = parse_id("orgId", &org_id)?;
        let config_id = parse_id("packConfigId", &pack_config_id)?;
        let store = store(ctx);
        let inputs = input.unwrap_or_default().to_json();
        let created = triggers::create_offboarding(
            store,
            actor(ctx)?,
            base(ctx),
            triggers::OffboardingSpec {
                org_id,
                config_id,
                kind: kind.as_str(),
                cron: cron.as_deref(),
                inputs: &inputs,
            },
        )
        .await?;
        Ok(OffboardingTrigger {
            url: triggers::url(store, base(ctx), &created.trigger),
            t: created.trigger,
            secret: created.secret,
        })
    }

    async fn delete_offboarding_trigger(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        let id = parse_id("id", &id)?;
        triggers::delete_offboarding(store(ctx), actor(ctx)?, id).await?;
        Ok(true)
    }
}
