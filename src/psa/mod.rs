//! The PSAs behind one face: list companies (with status and types), list the filter
//! options, check the connection. ConnectWise PSA today; Autotask and HaloPSA join as
//! further variants, so the import, mapping and health code never names a PSA.
use serde::{Deserialize, Serialize};

use crate::connectwise::client::{CwClient, CwError};
use crate::domain::Store;
use crate::domain::mapping::PsaCompany;
use crate::domain::pack_configs::{self, PackConfig};
use crate::error::{AppError, AppResult};

/// One choice of a filter: a company status or an account (company) type.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilterOption {
    pub id: String,
    pub label: String,
    /// For statuses: whether the PSA counts it as inactive.
    #[serde(default)]
    pub inactive: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FilterOptions {
    pub statuses: Vec<FilterOption>,
    pub account_types: Vec<FilterOption>,
}

/// A client for the PSA of one pack config.
pub enum Psa {
    ConnectWise {
        client: CwClient,
        /// The config's company conditions, applied to every company listing.
        conditions: Option<String>,
    },
}

/// Whether a pack is a PSA orghub can list companies from.
pub fn supports(pack_id: &str) -> bool {
    pack_id == "connectwise-psa"
}

impl Psa {
    /// The client for a config: `NOT_SUPPORTED` for a pack that is no PSA we speak,
    /// `INCOMPLETE_CONFIG` when fields are missing.
    pub fn for_config(store: &Store, config: &PackConfig) -> AppResult<Psa> {
        if !supports(&config.pack_id) {
            return Err(AppError::invalid(
                "packConfigId",
                "NOT_SUPPORTED",
                format!(
                    "{} is not a PSA orghub lists companies from",
                    config.pack_id
                ),
            ));
        }
        let missing = pack_configs::missing_fields(config);
        if !missing.is_empty() {
            return Err(AppError::invalid(
                "packConfigId",
                "INCOMPLETE_CONFIG",
                format!("the config lacks {}", missing.join(", ")),
            ));
        }
        let (creds, conditions) = pack_configs::connectwise_credentials(store, config)?;
        Ok(Psa::ConnectWise {
            client: CwClient::new(store.http.clone(), creds),
            conditions,
        })
    }

    pub fn name(&self) -> &'static str {
        match self {
            Psa::ConnectWise { .. } => "ConnectWise",
        }
    }

    /// Every company the config may see (all pages).
    pub async fn companies(&self) -> Result<Vec<PsaCompany>, CwError> {
        match self {
            Psa::ConnectWise { client, conditions } => {
                let list = client.companies(conditions.as_deref()).await?;
                Ok(list
                    .into_iter()
                    .filter(|c| !c.deleted_flag)
                    .map(|c| PsaCompany {
                        id: c.id.to_string(),
                        name: c.name,
                        identifier: c.identifier,
                        website: c.website,
                        status_id: c.status.map(|s| s.id.to_string()),
                        type_ids: c.types.into_iter().map(|t| t.id.to_string()).collect(),
                    })
                    .collect())
            }
        }
    }

    /// The statuses and account types companies can have.
    pub async fn filter_options(&self) -> Result<FilterOptions, CwError> {
        match self {
            Psa::ConnectWise { client, .. } => {
                let statuses = client.company_statuses().await?;
                let types = client.company_types().await?;
                Ok(FilterOptions {
                    statuses: statuses
                        .into_iter()
                        .map(|s| FilterOption {
                            id: s.id.to_string(),
                            inactive: s.inactive_flag,
                            label: s.name,
                        })
                        .collect(),
                    account_types: types
                        .into_iter()
                        .map(|t| FilterOption {
                            label: t.name.unwrap_or_else(|| format!("Type {}", t.id)),
                            id: t.id.to_string(),
                            inactive: false,
                        })
                        .collect(),
                })
            }
        }
    }
}
