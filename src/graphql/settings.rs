//! The organization settings form and ConnectWise requests through stored credentials (ours).
use async_graphql::{Context, ID, Json, Object, Result};
use serde_json::Value;

use super::variables::OrgVariable;
use super::{actor, store};
use crate::domain::parse_id;
use crate::domain::settings::{self, Choice, Definition, Field, Form};

/// A well-known organization variable.
pub struct OrgVariableDefinition(&'static Definition);

#[Object]
impl OrgVariableDefinition {
    async fn name(&self) -> &'static str {
        self.0.name
    }
    async fn label(&self) -> &'static str {
        self.0.label
    }
    async fn help(&self) -> &'static str {
        self.0.help
    }
    /// General, PSA, M365, Licensing or Other.
    async fn section(&self) -> &'static str {
        self.0.section
    }
    /// `text`, `boolean`, `number`, `email`, `choice`, `psa_reference` or
    /// `psa_reference_list` (comma-separated ids).
    #[graphql(name = "type")]
    async fn kind(&self) -> &'static str {
        self.0.kind.as_str()
    }
    /// For `choice`: the allowed values.
    async fn choices(&self) -> Vec<SettingChoice> {
        self.0
            .choices
            .iter()
            .map(|(v, l)| {
                SettingChoice(Choice {
                    value: (*v).to_owned(),
                    label: (*l).to_owned(),
                })
            })
            .collect()
    }
    #[graphql(name = "default")]
    async fn default_value(&self) -> Option<&'static str> {
        self.0.default
    }
    /// For PSA references: the ConnectWise list the choices come from (`boards`,
    /// `board_statuses`, `priorities`, `members`, `contact_types`, `company_statuses`,
    /// `company_types`).
    async fn psa_list(&self) -> Option<&'static str> {
        self.0.psa_list.map(|l| l.as_str())
    }
}

pub struct SettingChoice(Choice);

#[Object]
impl SettingChoice {
    async fn value(&self) -> &str {
        &self.0.value
    }
    async fn label(&self) -> &str {
        &self.0.label
    }
}

pub struct OrgSettingsField(Field);

#[Object]
impl OrgSettingsField {
    async fn definition(&self) -> OrgVariableDefinition {
        OrgVariableDefinition(self.0.definition)
    }
    async fn name(&self) -> &'static str {
        self.0.definition.name
    }
    /// The resolved value.
    async fn value(&self) -> Option<&str> {
        self.0.value.as_deref()
    }
    /// `own`, `inherited` (from `sourceOrgId`), `default` or `unset`.
    async fn source(&self) -> &'static str {
        self.0.source.as_str()
    }
    async fn source_org_id(&self) -> Option<ID> {
        match &self.0.source {
            settings::Source::Inherited(id) => Some(ID(id.to_string())),
            _ => None,
        }
    }
    /// For PSA references: ConnectWise's live choices.
    async fn options(&self) -> Option<Vec<SettingChoice>> {
        match &self.0.options {
            Some(Ok(list)) => Some(list.iter().cloned().map(SettingChoice).collect()),
            _ => None,
        }
    }
    /// Why there are no options (no integration, ConnectWise failing, no board chosen).
    async fn options_error(&self) -> Option<&str> {
        match &self.0.options {
            Some(Err(e)) => Some(e.as_str()),
            _ => None,
        }
    }
}

pub struct OrgSettingsSection(&'static str, Vec<Field>);

#[Object]
impl OrgSettingsSection {
    async fn name(&self) -> &'static str {
        self.0
    }
    async fn fields(&self) -> Vec<OrgSettingsField> {
        self.1
            .iter()
            .map(|f| {
                OrgSettingsField(Field {
                    definition: f.definition,
                    value: f.value.clone(),
                    source: f.source.clone(),
                    options: f.options.clone(),
                })
            })
            .collect()
    }
}

pub struct OrgSettingsForm(Form);

#[Object]
impl OrgSettingsForm {
    async fn org_id(&self) -> ID {
        ID(self.0.org.id.to_string())
    }
    /// The ConnectWise config the PSA choices come from.
    async fn pack_config_id(&self) -> Option<ID> {
        self.0.config.as_ref().map(|c| ID(c.id.to_string()))
    }
    async fn sections(&self) -> Vec<OrgSettingsSection> {
        self.0
            .sections
            .iter()
            .map(|(name, fields)| {
                OrgSettingsSection(
                    name,
                    fields
                        .iter()
                        .map(|f| Field {
                            definition: f.definition,
                            value: f.value.clone(),
                            source: f.source.clone(),
                            options: f.options.clone(),
                        })
                        .collect(),
                )
            })
            .collect()
    }
}

#[derive(Default)]
pub struct SettingsQuery;

#[Object]
impl SettingsQuery {
    /// The well-known organization variables the settings form edits.
    async fn org_variable_definitions(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Vec<OrgVariableDefinition>> {
        actor(ctx)?;
        Ok(settings::DEFINITIONS
            .iter()
            .map(OrgVariableDefinition)
            .collect())
    }

    /// The settings form of an organization: each field's resolved value and its source, and
    /// for PSA references ConnectWise's live choices (kept a minute).
    async fn org_settings_form(
        &self,
        ctx: &Context<'_>,
        org_id: ID,
        pack_config_id: Option<ID>,
    ) -> Result<OrgSettingsForm> {
        let org = parse_id("orgId", &org_id)?;
        let config = pack_config_id
            .map(|c| parse_id("packConfigId", &c))
            .transpose()?;
        Ok(OrgSettingsForm(
            settings::form(store(ctx), actor(ctx)?, org, config).await?,
        ))
    }
}

#[derive(Default)]
pub struct SettingsMutation;

#[Object]
impl SettingsMutation {
    /// Saves settings (`{"psa_default_board_id": "1", …}`; `null` removes the org's own
    /// value): every value checked, all written in one transaction, recorded in the history.
    async fn save_org_settings(
        &self,
        ctx: &Context<'_>,
        org_id: ID,
        values: Json<Value>,
        cascade: Option<bool>,
    ) -> Result<Vec<OrgVariable>> {
        let org = parse_id("orgId", &org_id)?;
        Ok(
            settings::save(store(ctx), actor(ctx)?, org, &values.0, cascade)
                .await?
                .into_iter()
                .map(OrgVariable)
                .collect(),
        )
    }

    /// Any ConnectWise endpoint with a config's stored credentials (members and admins):
    /// `path` under the API base (e.g. `company/companies`), `query` and `body` as JSON.
    /// Answers `{status, headers: {link}, body}`, ConnectWise's error bodies included.
    async fn connect_wise_request(
        &self,
        ctx: &Context<'_>,
        pack_config_id: ID,
        method: String,
        path: String,
        query: Option<Json<Value>>,
        body: Option<Json<Value>>,
    ) -> Result<Json<Value>> {
        let config = parse_id("packConfigId", &pack_config_id)?;
        Ok(Json(
            settings::connectwise_request(
                store(ctx),
                actor(ctx)?,
                config,
                &method,
                &path,
                query.as_ref().map(|q| &q.0),
                body.as_ref().map(|b| &b.0),
            )
            .await?,
        ))
    }
}
