//! Organization mapping: refresh the PSA's companies, suggest, save, list.
use async_graphql::{Context, ID, InputObject, Json, Object, Result, SimpleObject};

use super::organizations::Organization;
use super::packs::JobRequestedResponse;
use super::{actor, rfc3339, store};
use crate::domain::mapping;
use crate::domain::parse_id;
use crate::error::AppError;

#[derive(InputObject)]
pub struct OrgMappingInput {
    pub org_id: ID,
    /// The PSA company's id; empty or null removes the mapping.
    pub company_id: Option<String>,
}

#[derive(SimpleObject)]
pub struct OrgMapping {
    organization: Organization,
    company_id: Option<String>,
    /// From the last refresh of the options.
    company_name: Option<String>,
}

#[derive(SimpleObject)]
pub struct OrgMappingPage {
    mappings: Vec<OrgMapping>,
    total_count: i32,
    /// When the PSA's companies were last fetched; null before the first refresh.
    refreshed_at: Option<String>,
}

#[derive(Default)]
pub struct MappingQuery;

#[Object]
impl MappingQuery {
    /// The organizations a pack config serves (its org and below), a page at a time
    /// (10 by default), each with its current mapping.
    async fn org_mappings(
        &self,
        ctx: &Context<'_>,
        pack_config_id: ID,
        #[graphql(default = 10)] limit: Option<i32>,
        #[graphql(default = 0)] offset: Option<i32>,
    ) -> Result<OrgMappingPage> {
        let store = store(ctx);
        let id = parse_id("packConfigId", &pack_config_id)?;
        let page = store.page(limit, offset)?;
        let (rows, total) = mapping::list(store, actor(ctx)?, id, page).await?;
        let refreshed_at = mapping::cached(store, id)
            .await?
            .map(|(_, at)| rfc3339(&at));
        Ok(OrgMappingPage {
            mappings: rows
                .into_iter()
                .map(|m| OrgMapping {
                    organization: Organization(m.org),
                    company_id: m.company_id,
                    company_name: m.company_name,
                })
                .collect(),
            total_count: i32::try_from(total).unwrap_or(i32::MAX),
            refreshed_at,
        })
    }
}

#[derive(Default)]
pub struct MappingMutation;

#[Object]
impl MappingMutation {
    /// Refresh Options: fetches the PSA's companies (honouring the config's conditions).
    async fn refetch_pack_config_ref_options(
        &self,
        ctx: &Context<'_>,
        pack_config_id: ID,
        reference: Option<Json<serde_json::Value>>,
    ) -> Result<Option<JobRequestedResponse>> {
        let _ = reference;
        let id = parse_id("packConfigId", &pack_config_id)?;
        let refresh = mapping::refresh(store(ctx), actor(ctx)?, id).await?;
        Ok(Some(JobRequestedResponse::new(ID(refresh.to_string()))))
    }

    /// Suggest Values: for every organization the config serves, the proposed company with
    /// a reason (`existing`, `domain`, `name`, `fuzzy`, `ambiguous`, `no_match`) and a score.
    /// Fuzzy ones have `needsReview: true`.
    async fn suggest_org_var_matches(
        &self,
        ctx: &Context<'_>,
        pack_config_id: ID,
    ) -> Result<Option<Json<serde_json::Value>>> {
        let id = parse_id("packConfigId", &pack_config_id)?;
        let suggestions = mapping::suggest_for(store(ctx), actor(ctx)?, id).await?;
        Ok(Some(Json(
            serde_json::to_value(suggestions).map_err(AppError::internal)?,
        )))
    }

    /// Save Mappings: writes each organization's company (the pack's `system` variable,
    /// linked to the config) in one transaction. Returns how many were written.
    async fn save_org_mappings(
        &self,
        ctx: &Context<'_>,
        pack_config_id: ID,
        mappings: Vec<OrgMappingInput>,
    ) -> Result<i32> {
        let id = parse_id("packConfigId", &pack_config_id)?;
        let pairs = mappings
            .into_iter()
            .enumerate()
            .map(|(i, m)| {
                Ok((
                    parse_id(&format!("mappings.{i}.orgId"), &m.org_id)?,
                    m.company_id,
                ))
            })
            .collect::<Result<Vec<_>, AppError>>()?;
        Ok(mapping::save(store(ctx), actor(ctx)?, id, &pairs).await? as i32)
    }
}
