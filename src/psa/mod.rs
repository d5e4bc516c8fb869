//! The PSAs behind one face: list companies (with status and types), list the filter
//! options, check the connection — ConnectWise PSA, Datto Autotask PSA and HaloPSA, so
//! the import, mapping and health code never names a PSA. Each has a simulator speaking
//! its wire format (`*_sim`), for the tests and the demo.
pub mod autotask;
pub mod autotask_sim;
pub mod halo;
pub mod halo_sim;
pub(crate) mod oauth;

use serde::{Deserialize, Serialize};

use crate::connectwise::client::{CwClient, CwError};
use crate::domain::Store;
use crate::domain::mapping::PsaCompany;
use crate::domain::pack_configs::{self, PackConfig};
use crate::error::{AppError, AppResult};
use autotask::{AutotaskClient, AutotaskCredentials};
use halo::{HaloClient, HaloCredentials};

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

/// What a PSA call failed with, naming the PSA in its words.
#[derive(Debug)]
pub struct PsaError {
    pub psa: &'static str,
    pub kind: CwError,
}

impl std::fmt::Display for PsaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.kind.describe(self.psa))
    }
}

/// A client for the PSA of one pack config.
pub enum Psa {
    ConnectWise {
        client: CwClient,
        /// The config's company conditions, applied to every company listing.
        conditions: Option<String>,
    },
    Autotask {
        client: AutotaskClient,
    },
    Halo {
        client: HaloClient,
    },
    /// An organization's own integration (`src/custom/`): its list request lists companies.
    Custom {
        client: Box<crate::custom::client::CustomClient>,
        name: &'static str,
    },
}

/// The PSAs orghub lists companies from (the catalog's PSA packs).
pub const PACKS: [&str; 3] = ["connectwise-psa", "datto-autotask-psa", "halopsa"];

/// Whether a pack is a PSA orghub can list companies from.
pub fn supports(pack_id: &str) -> bool {
    PACKS.contains(&pack_id) || pack_id.starts_with(crate::domain::custom_packs::PREFIX)
}

/// Autotask and HaloPSA know two states: active or not.
fn active_inactive() -> Vec<FilterOption> {
    vec![
        FilterOption {
            id: "active".into(),
            label: "Active".into(),
            inactive: false,
        },
        FilterOption {
            id: "inactive".into(),
            label: "Inactive".into(),
            inactive: true,
        },
    ]
}

fn status_id(active: bool) -> Option<String> {
    Some(if active { "active" } else { "inactive" }.to_owned())
}

fn from_connectwise(c: crate::connectwise::client::Company) -> PsaCompany {
    PsaCompany {
        id: c.id.to_string(),
        name: c.name,
        identifier: c.identifier,
        website: c.website,
        status_id: c.status.map(|s| s.id.to_string()),
        type_ids: c.types.into_iter().map(|t| t.id.to_string()).collect(),
    }
}

fn from_autotask(c: autotask::AtCompany) -> PsaCompany {
    PsaCompany {
        id: c.id.to_string(),
        name: c.company_name,
        identifier: c.company_number,
        website: c.web_address,
        status_id: status_id(c.is_active),
        type_ids: c.company_type.map(|t| t.to_string()).into_iter().collect(),
    }
}

fn from_halo(c: halo::HaloClientRecord) -> PsaCompany {
    PsaCompany {
        id: c.id.to_string(),
        name: c.name,
        identifier: None,
        website: c.website,
        status_id: status_id(!c.inactive),
        type_ids: c.customer_type.map(|t| t.to_string()).into_iter().collect(),
    }
}

fn from_custom(c: crate::custom::ListedItem) -> PsaCompany {
    PsaCompany {
        id: c.id,
        name: c.name,
        identifier: None,
        website: c.website,
        status_id: status_id(c.active),
        type_ids: Vec::new(),
    }
}

fn flag(value: Option<&String>) -> bool {
    value.is_some_and(|v| {
        matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "true" | "yes" | "1" | "on"
        )
    })
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
        let http = store.http.clone();
        Ok(match config.pack_id.as_str() {
            "datto-autotask-psa" => {
                let clear = pack_configs::clear_config(store, config)?;
                let field = |k: &str| {
                    clear
                        .get(k)
                        .map(|v| v.trim().to_owned())
                        .unwrap_or_default()
                };
                Psa::Autotask {
                    client: AutotaskClient::new(
                        http,
                        AutotaskCredentials {
                            zone_url: field("zone_url"),
                            discovery_url: store.autotask_discovery_url.clone(),
                            username: field("username"),
                            secret: field("secret"),
                            integration_code: field("integration_code"),
                        },
                    ),
                }
            }
            "halopsa" => {
                let clear = pack_configs::clear_config(store, config)?;
                let field = |k: &str| {
                    clear
                        .get(k)
                        .map(|v| v.trim().to_owned())
                        .unwrap_or_default()
                };
                let tenant = field("tenant");
                Psa::Halo {
                    client: HaloClient::new(
                        http,
                        HaloCredentials {
                            resource_server: field("resource_server_url"),
                            auth_server: field("authorisation_server_url"),
                            client_id: field("client_id"),
                            client_secret: field("client_secret"),
                            tenant: (!tenant.is_empty()).then_some(tenant),
                            on_premise: flag(clear.get("on_premise")),
                        },
                    ),
                }
            }
            custom if custom.starts_with(crate::domain::custom_packs::PREFIX) => Psa::Custom {
                client: Box::new(crate::domain::custom_packs::client_for(store, config)?),
                name: crate::domain::packs::spec(custom).map_or("the custom pack", |s| s.name),
            },
            _ => {
                let (creds, conditions) = pack_configs::connectwise_credentials(store, config)?;
                Psa::ConnectWise {
                    client: CwClient::new(http, creds),
                    conditions,
                }
            }
        })
    }

    pub fn name(&self) -> &'static str {
        match self {
            Psa::ConnectWise { .. } => "ConnectWise",
            Psa::Autotask { .. } => "Autotask",
            Psa::Halo { .. } => "HaloPSA",
            Psa::Custom { name, .. } => name,
        }
    }

    fn err(&self) -> impl Fn(CwError) -> PsaError + '_ {
        move |kind| PsaError {
            psa: self.name(),
            kind,
        }
    }

    /// Every company the config may see (all pages).
    pub async fn companies(&self) -> Result<Vec<PsaCompany>, PsaError> {
        Ok(match self {
            Psa::ConnectWise { client, conditions } => client
                .companies(conditions.as_deref())
                .await
                .map_err(self.err())?
                .into_iter()
                .filter(|c| !c.deleted_flag)
                .map(from_connectwise)
                .collect(),
            Psa::Autotask { client } => client
                .companies()
                .await
                .map_err(self.err())?
                .into_iter()
                .map(from_autotask)
                .collect(),
            Psa::Halo { client } => client
                .clients()
                .await
                .map_err(self.err())?
                .into_iter()
                .map(from_halo)
                .collect(),
            Psa::Custom { client, .. } => client
                .list()
                .await
                .map_err(self.err())?
                .into_iter()
                .map(from_custom)
                .collect(),
        })
    }

    /// One company by id; `None` when the PSA has none of that id (a custom pack, having
    /// no single-item request, looks in its list).
    pub async fn company(&self, id: &str) -> Result<Option<PsaCompany>, PsaError> {
        let numeric = id.trim().parse::<i64>().ok();
        let found = match (self, numeric) {
            (Psa::Custom { .. }, _) => {
                return Ok(self
                    .companies()
                    .await?
                    .into_iter()
                    .find(|c| c.id == id.trim()));
            }
            (_, None) => return Ok(None),
            (Psa::ConnectWise { client, .. }, Some(n)) => client
                .get(&format!("company/companies/{n}"), &[])
                .await
                .and_then(|v| {
                    serde_json::from_value::<crate::connectwise::client::Company>(v)
                        .map_err(|e| CwError::Protocol(format!("company {n}: {e}")))
                })
                .map(|c| (!c.deleted_flag).then(|| from_connectwise(c))),
            (Psa::Autotask { client }, Some(n)) => {
                client.company(n).await.map(|c| Some(from_autotask(c)))
            }
            (Psa::Halo { client }, Some(n)) => client.client(n).await.map(|c| Some(from_halo(c))),
        };
        match found {
            Ok(c) => Ok(c),
            Err(CwError::NotFound(_)) => Ok(None),
            Err(e) => Err(self.err()(e)),
        }
    }

    /// The statuses and account types companies can have.
    pub async fn filter_options(&self) -> Result<FilterOptions, PsaError> {
        match self {
            Psa::ConnectWise { client, .. } => {
                let statuses = client.company_statuses().await.map_err(self.err())?;
                let types = client.company_types().await.map_err(self.err())?;
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
            Psa::Autotask { client } => {
                let types = client.company_types().await.map_err(self.err())?;
                Ok(FilterOptions {
                    statuses: active_inactive(),
                    account_types: types
                        .into_iter()
                        .map(|t| FilterOption {
                            id: t.value,
                            label: t.label,
                            inactive: !t.is_active,
                        })
                        .collect(),
                })
            }
            Psa::Custom { .. } => Ok(FilterOptions {
                statuses: active_inactive(),
                account_types: Vec::new(),
            }),
            Psa::Halo { client } => {
                let types = client.client_types().await.map_err(self.err())?;
                Ok(FilterOptions {
                    statuses: active_inactive(),
                    account_types: types
                        .into_iter()
                        .map(|(id, label)| FilterOption {
                            id,
                            label,
                            inactive: false,
                        })
                        .collect(),
                })
            }
        }
    }

    /// One authenticated call that proves the config works; how long it took.
    pub async fn check(&self) -> Result<std::time::Duration, PsaError> {
        match self {
            Psa::ConnectWise { client, .. } => client.check().await,
            Psa::Autotask { client } => client.check().await,
            Psa::Halo { client } => client.check().await,
            Psa::Custom { client, .. } => client.check().await,
        }
        .map_err(self.err())
    }
}
