//! Importing from the PSA: the sources, the PSA's companies and filter options
//! (Rewst-compatible), canceling a running import, and its progress as a subscription.
use std::time::Duration;

use async_graphql::{Context, ID, Object, Result, SimpleObject, Subscription};
use futures_util::Stream;

use super::imports::OrganizationImport;
use super::organizations::Organization;
use super::packs::{PackConfig, PackConfigHealth};
use super::{actor, loaders, store};
use crate::domain::{imports, parse_id, psa_import};

/// A PSA config an organization can import from.
pub struct PsaImportSource(psa_import::Source);

#[Object]
impl PsaImportSource {
    async fn pack_config_id(&self) -> ID {
        ID(self.0.config.id.to_string())
    }
    async fn pack_config(&self) -> PackConfig {
        PackConfig(self.0.config.clone())
    }
    /// The pack, e.g. `connectwise-psa`.
    async fn pack_id(&self) -> &str {
        self.0.spec.id
    }
    /// What `psaRef` takes for this source.
    async fn psa_ref(&self) -> &str {
        self.0.spec.reference
    }
    /// e.g. "ConnectWise PSA".
    async fn psa_name(&self) -> &str {
        self.0.spec.name
    }
    async fn name(&self) -> &str {
        &self.0.config.name
    }
    async fn health(&self) -> PackConfigHealth {
        self.0.health.clone().into()
    }
    /// Only GREEN sources can be imported from; `health.reason` says why not.
    async fn selectable(&self) -> bool {
        self.0.selectable()
    }
}

#[derive(SimpleObject)]
pub struct PsaStatus {
    id: String,
    label: String,
    /// Whether the PSA counts it as a former customer's status.
    inactive: bool,
}

#[derive(SimpleObject)]
pub struct PsaAccountType {
    id: String,
    label: String,
}

#[derive(SimpleObject)]
pub struct PsaFilterOptions {
    account_types: Vec<PsaAccountType>,
    statuses: Vec<PsaStatus>,
}

/// A company of the PSA, and whether it is already in orghub.
pub struct PsaOrganization(psa_import::Listed);

#[Object]
impl PsaOrganization {
    async fn id(&self) -> &str {
        &self.0.company.id
    }
    async fn name(&self) -> &str {
        &self.0.company.name
    }
    async fn status_id(&self) -> Option<&str> {
        self.0.company.status_id.as_deref()
    }
    async fn account_type_ids(&self) -> &[String] {
        &self.0.company.type_ids
    }
    async fn identifier(&self) -> Option<&str> {
        self.0.company.identifier.as_deref()
    }
    async fn website(&self) -> Option<&str> {
        self.0.company.website.as_deref()
    }
    /// True when an organization is mapped to it, or one of the tree has its name: importing
    /// it would be skipped as EXISTING.
    async fn exists_in_orghub(&self) -> bool {
        self.0.existing.is_some()
    }
    /// `MAPPED` or `SAME_NAME`.
    async fn existing_match(&self) -> Option<&str> {
        self.0.existing.as_ref().map(|e| match e {
            psa_import::Existing::Mapped(_) => "MAPPED",
            psa_import::Existing::SameName(_) => "SAME_NAME",
        })
    }
    async fn existing_organization(&self, ctx: &Context<'_>) -> Result<Option<Organization>> {
        let Some(id) = self.0.existing.as_ref().map(|e| e.org_id()) else {
            return Ok(None);
        };
        Ok(loaders(ctx).org.load_one(id).await?.map(Organization))
    }
}

#[derive(Default)]
pub struct PsaQuery;

#[Object]
impl PsaQuery {
    /// The PSA configs the organization can import from, with health: only GREEN ones are
    /// selectable.
    async fn psa_import_sources(
        &self,
        ctx: &Context<'_>,
        org_id: ID,
    ) -> Result<Vec<PsaImportSource>> {
        let org = parse_id("orgId", &org_id)?;
        Ok(psa_import::sources(store(ctx), actor(ctx)?, org)
            .await?
            .into_iter()
            .map(PsaImportSource)
            .collect())
    }

    /// The statuses and account types the PSA's companies can have.
    async fn psa_filter_options(
        &self,
        ctx: &Context<'_>,
        org_id: ID,
        psa_pack_config_id: ID,
        psa_ref: String,
        refresh: Option<bool>,
    ) -> Result<PsaFilterOptions> {
        let org = parse_id("orgId", &org_id)?;
        let config = parse_id("psaPackConfigId", &psa_pack_config_id)?;
        let o = psa_import::filter_options(
            store(ctx),
            actor(ctx)?,
            org,
            config,
            &psa_ref,
            refresh.unwrap_or(false),
        )
        .await?;
        Ok(PsaFilterOptions {
            statuses: o
                .statuses
                .into_iter()
                .map(|s| PsaStatus {
                    id: s.id,
                    label: s.label,
                    inactive: s.inactive,
                })
                .collect(),
            account_types: o
                .account_types
                .into_iter()
                .map(|t| PsaAccountType {
                    id: t.id,
                    label: t.label,
                })
                .collect(),
        })
    }

    /// The PSA's companies (from the last refresh; `refresh: true` fetches them again),
    /// filtered by status ids, account type ids and a case-insensitive name search.
    #[allow(clippy::too_many_arguments)]
    async fn psa_organizations(
        &self,
        ctx: &Context<'_>,
        account_types: Option<Vec<String>>,
        org_id: ID,
        psa_pack_config_id: ID,
        psa_ref: String,
        refresh: Option<bool>,
        statuses: Option<Vec<String>>,
        search: Option<String>,
    ) -> Result<Vec<PsaOrganization>> {
        let org = parse_id("orgId", &org_id)?;
        let config = parse_id("psaPackConfigId", &psa_pack_config_id)?;
        Ok(psa_import::companies(
            store(ctx),
            actor(ctx)?,
            org,
            config,
            &psa_ref,
            refresh.unwrap_or(false),
            statuses.as_deref(),
            account_types.as_deref(),
            search.as_deref(),
        )
        .await?
        .into_iter()
        .map(PsaOrganization)
        .collect())
    }
}

#[derive(Default)]
pub struct PsaMutation;

#[Object]
impl PsaMutation {
    /// Stops a running PSA import between rows. Organizations already created stay; the rows
    /// not reached are kept as CANCELED.
    async fn cancel_organization_import(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> Result<OrganizationImport> {
        let id = parse_id("id", &id)?;
        Ok(OrganizationImport(
            psa_import::cancel(store(ctx), actor(ctx)?, id).await?,
        ))
    }
}

/// Where an import stands.
#[derive(SimpleObject, Clone, PartialEq, Eq)]
pub struct OrganizationImportProgress {
    import_id: ID,
    /// `PROCESSING`, `COMPLETED`, `FAILED` or `CANCELED`.
    status: String,
    processed: i32,
    total: i32,
    successful: i32,
    skipped: i32,
    failed: i32,
}

impl From<&imports::Import> for OrganizationImportProgress {
    fn from(i: &imports::Import) -> Self {
        OrganizationImportProgress {
            import_id: ID(i.id.to_string()),
            status: i.status.clone(),
            processed: i.successful_count + i.skipped_count + i.failed_count,
            total: i.total_records,
            successful: i.successful_count,
            skipped: i.skipped_count,
            failed: i.failed_count,
        }
    }
}

#[derive(Default)]
pub struct ImportSubscription;

#[Subscription]
impl ImportSubscription {
    /// The progress of an import: now, then at every change, ending with its final state.
    /// Read from the database, so it follows an import whichever replica runs it.
    async fn organization_import_progress(
        &self,
        ctx: &Context<'_>,
        import_id: ID,
    ) -> Result<impl Stream<Item = OrganizationImportProgress> + use<>> {
        let id = parse_id("importId", &import_id)?;
        let store = store(ctx).clone();
        let actor = actor(ctx)?.clone();
        let first = imports::get(&store, &actor, id).await?;
        let state = (
            store,
            actor,
            Some(first),
            None::<OrganizationImportProgress>,
        );
        Ok(futures_util::stream::unfold(
            state,
            move |(store, actor, mut next, last)| async move {
                loop {
                    let current = match next.take() {
                        Some(i) => i,
                        None => {
                            // The import was just reported final: the stream ends.
                            if last.as_ref().is_some_and(|l| l.status != "PROCESSING") {
                                return None;
                            }
                            tokio::time::sleep(Duration::from_millis(250)).await;
                            match imports::get(&store, &actor, id).await {
                                Ok(i) => i,
                                Err(_) => return None,
                            }
                        }
                    };
                    let progress = OrganizationImportProgress::from(&current);
                    if last.as_ref() != Some(&progress) {
                        return Some((progress.clone(), (store, actor, None, Some(progress))));
                    }
                }
            },
        ))
    }
}
