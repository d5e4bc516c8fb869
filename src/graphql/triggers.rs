//! Live links, ConnectWise callback registration, and the catalog of built-in workflows
//! (all ours; Rewst has no equivalent in the subset).
use async_graphql::{Context, ID, Object, Result};

use super::{actor, rfc3339, store};
use crate::domain::parse_id;
use crate::domain::triggers::{self, Trigger};
use crate::workflows;

/// The public base URL links are built on.
pub struct PublicUrl(pub String);

fn base<'a>(ctx: &Context<'a>) -> &'a str {
    ctx.data_opt::<PublicUrl>()
        .map(|u| u.0.as_str())
        .unwrap_or("")
}

/// A URL for ConnectWise's Links table: a click on a ticket starts a new Technician
/// Toolbox run for it. Append the ticket id as `ticketId` (or `id`, `srid`).
pub struct LiveLink {
    trigger: Trigger,
    url: String,
}

#[Object]
impl LiveLink {
    async fn id(&self) -> ID {
        ID(self.trigger.id.to_string())
    }
    async fn org_id(&self) -> ID {
        ID(self.trigger.org_id.to_string())
    }
    async fn pack_config_id(&self) -> ID {
        ID(self.trigger.pack_config_id.to_string())
    }
    async fn workflow_id(&self) -> &str {
        &self.trigger.workflow_id
    }
    /// Signed: it cannot be altered to reach another org; deleting the link revokes it.
    async fn url(&self) -> &str {
        &self.url
    }
    /// The name of the query parameter that carries the ticket id.
    async fn ticket_parameter(&self) -> &'static str {
        "ticketId"
    }
    async fn created_at(&self) -> String {
        rfc3339(&self.trigger.created_at)
    }
}

/// The result of `registerConnectWiseCallbacks`.
pub struct CallbackRegistration(triggers::Registration, String);

#[Object]
impl CallbackRegistration {
    async fn pack_config_id(&self) -> ID {
        ID(self.0.trigger.pack_config_id.to_string())
    }
    async fn trigger_id(&self) -> ID {
        ID(self.0.trigger.id.to_string())
    }
    /// Where ConnectWise posts ticket changes.
    async fn url(&self) -> &str {
        &self.1
    }
    /// The callback's id in ConnectWise.
    async fn callback_id(&self) -> String {
        self.0.callback_id.to_string()
    }
    /// False when ConnectWise already had it (registering again changes nothing).
    async fn created(&self) -> bool {
        self.0.created
    }
}

/// A built-in workflow.
pub struct Workflow(&'static workflows::Workflow);

#[Object]
impl Workflow {
    async fn id(&self) -> &'static str {
        self.0.id
    }
    async fn name(&self) -> &'static str {
        self.0.name
    }
    async fn description(&self) -> &'static str {
        self.0.description
    }
}

#[derive(Default)]
pub struct TriggerQuery;

#[Object]
impl TriggerQuery {
    /// The live links of an organization (admins).
    async fn live_links(&self, ctx: &Context<'_>, org_id: ID) -> Result<Vec<LiveLink>> {
        let org = parse_id("orgId", &org_id)?;
        let store = store(ctx);
        Ok(triggers::live_links(store, actor(ctx)?, org)
            .await?
            .into_iter()
            .map(|t| LiveLink {
                url: triggers::url(store, base(ctx), &t),
                trigger: t,
            })
            .collect())
    }

    /// orghub's built-in workflows.
    async fn builtin_workflows(&self, ctx: &Context<'_>) -> Result<Vec<Workflow>> {
        actor(ctx)?;
        Ok(workflows::ALL.iter().map(Workflow).collect())
    }
}

#[derive(Default)]
pub struct TriggerMutation;

#[Object]
impl TriggerMutation {
    /// The live link of an organization for a ConnectWise config (admins). Calling it again
    /// returns the same link.
    async fn create_live_link(
        &self,
        ctx: &Context<'_>,
        org_id: ID,
        pack_config_id: ID,
    ) -> Result<LiveLink> {
        let org = parse_id("orgId", &org_id)?;
        let config = parse_id("packConfigId", &pack_config_id)?;
        let store = store(ctx);
        let t = triggers::create_live_link(store, actor(ctx)?, org, config).await?;
        Ok(LiveLink {
            url: triggers::url(store, base(ctx), &t),
            trigger: t,
        })
    }

    /// Revokes a live link: its URL stops working at once.
    async fn delete_live_link(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        let id = parse_id("id", &id)?;
        triggers::delete_live_link(store(ctx), actor(ctx)?, id).await?;
        Ok(true)
    }

    /// Registers an owner-level ticket callback in ConnectWise (admins of the config's
    /// org): a new ticket starts a Toolbox run so the pod is ready when it is opened; a
    /// deleted ticket cancels its waiting runs. Idempotent.
    async fn register_connect_wise_callbacks(
        &self,
        ctx: &Context<'_>,
        pack_config_id: ID,
    ) -> Result<CallbackRegistration> {
        let config = parse_id("packConfigId", &pack_config_id)?;
        let store = store(ctx);
        let r = triggers::register_callbacks(store, actor(ctx)?, base(ctx), config).await?;
        let url = triggers::url(store, base(ctx), &r.trigger);
        Ok(CallbackRegistration(r, url))
    }
}
