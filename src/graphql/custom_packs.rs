//! Custom packs (ours): an MSP's own integration — typed in (`createCustomPack`) or read
//! from an OpenAPI document (`createOpenApiPack`) — and one call to it with a config's
//! stored credentials (`customPackRequest`).
use std::collections::BTreeMap;

use async_graphql::{Context, Enum, ID, InputObject, Json, Object, Result, SimpleObject};
use serde_json::Value;

use super::packs::Pack;
use super::{actor, store};
use crate::custom::{Auth, CustomSpec, HealthCheck, KeyLocation, ListRequest, Paging};
use crate::domain::custom_packs::{self, PackInput};
use crate::domain::parse_id;
use crate::error::AppError;

#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum CustomAuthKind {
    #[graphql(name = "NONE")]
    None,
    #[graphql(name = "API_KEY")]
    ApiKey,
    #[graphql(name = "BASIC")]
    Basic,
    #[graphql(name = "BEARER")]
    Bearer,
    #[graphql(name = "OAUTH2")]
    OAuth2,
}

#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApiKeyLocation {
    #[graphql(name = "HEADER")]
    Header,
    #[graphql(name = "QUERY")]
    Query,
}

/// How the tool is signed in to. Secrets are sealed and never shown again; on update, a
/// secret left out (or sent back as `********`) keeps the kept one.
#[derive(InputObject, Clone, Debug)]
pub struct CustomAuthInput {
    pub kind: CustomAuthKind,
    /// API_KEY: the header or query parameter's name, e.g. `X-Api-Key`.
    pub name: Option<String>,
    /// API_KEY: where it goes (default HEADER).
    pub location: Option<ApiKeyLocation>,
    /// API_KEY: the key.
    pub value: Option<String>,
    /// BASIC.
    pub username: Option<String>,
    pub password: Option<String>,
    /// BEARER.
    pub token: Option<String>,
    /// OAUTH2 (client credentials).
    pub token_url: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub scopes: Option<Vec<String>>,
}

#[derive(InputObject, Clone, Debug)]
pub struct CustomHealthInput {
    /// Default GET.
    pub method: Option<String>,
    pub path: String,
    /// Default 200.
    pub expected_status: Option<i32>,
}

#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum CustomPagingStyle {
    #[graphql(name = "NONE")]
    None,
    #[graphql(name = "PAGE_SIZE")]
    PageSize,
    #[graphql(name = "OFFSET_LIMIT")]
    OffsetLimit,
    #[graphql(name = "NEXT_LINK")]
    NextLink,
}

#[derive(InputObject, Clone, Debug)]
pub struct CustomPagingInput {
    pub style: CustomPagingStyle,
    /// PAGE_SIZE: parameter names (default `page`, `pageSize`), page size (default 100),
    /// first page (default 1).
    pub page_param: Option<String>,
    pub size_param: Option<String>,
    pub size: Option<i32>,
    pub first_page: Option<i32>,
    /// OFFSET_LIMIT: parameter names (default `offset`, `limit`) and limit (default 100).
    pub offset_param: Option<String>,
    pub limit_param: Option<String>,
    pub limit: Option<i32>,
    /// NEXT_LINK: the JSON path of the next page's URL in the body; none: the `Link` header.
    pub next_path: Option<String>,
}

/// The request listing the tool's companies (clients, customers…), for the mapping.
#[derive(InputObject, Clone, Debug)]
pub struct CustomListInput {
    /// The path under the base URL; or `operationId`, an operation of the pack's OpenAPI
    /// document.
    pub path: Option<String>,
    pub operation_id: Option<String>,
    /// Fixed query parameters (filters, conditions), an object of strings.
    pub query: Option<Json<BTreeMap<String, String>>>,
    pub paging: CustomPagingInput,
    /// JSON paths: to the items (empty: the body is the list), and in each item to its id
    /// and name; optionally its website and whether it is active.
    pub items_path: String,
    pub id_path: String,
    pub name_path: String,
    pub website_path: Option<String>,
    pub active_path: Option<String>,
}

#[derive(InputObject, Clone, Debug)]
pub struct CustomPackInput {
    pub name: String,
    pub base_url: String,
    pub auth: CustomAuthInput,
    /// Headers sent with every request, an object of strings.
    pub default_headers: Option<Json<BTreeMap<String, String>>>,
    pub health: CustomHealthInput,
    pub list: Option<CustomListInput>,
    /// The org variable a mapping writes, snake_case (e.g. `acme_client_id`).
    pub mapping_variable: String,
}

fn text(v: Option<String>) -> String {
    v.unwrap_or_default()
}

fn number(field: &str, v: Option<i32>, default: u32) -> Result<u32, AppError> {
    match v {
        None => Ok(default),
        Some(n) => u32::try_from(n)
            .map_err(|_| AppError::invalid(field, "INVALID_FORMAT", "must not be negative")),
    }
}

fn auth(a: CustomAuthInput) -> Auth {
    match a.kind {
        CustomAuthKind::None => Auth::None,
        CustomAuthKind::ApiKey => Auth::ApiKey {
            name: text(a.name),
            location: match a.location {
                Some(ApiKeyLocation::Query) => KeyLocation::Query,
                _ => KeyLocation::Header,
            },
            value: text(a.value),
        },
        CustomAuthKind::Basic => Auth::Basic {
            username: text(a.username),
            password: text(a.password),
        },
        CustomAuthKind::Bearer => Auth::Bearer {
            token: text(a.token),
        },
        CustomAuthKind::OAuth2 => Auth::OAuth2 {
            token_url: text(a.token_url),
            client_id: text(a.client_id),
            client_secret: text(a.client_secret),
            scopes: a.scopes.unwrap_or_default(),
        },
    }
}

impl CustomPackInput {
    fn into_domain(self) -> Result<PackInput, AppError> {
        let (list, list_operation_id) = match self.list {
            None => (None, None),
            Some(l) => {
                let p = l.paging;
                let paging = match p.style {
                    CustomPagingStyle::None => Paging::None,
                    CustomPagingStyle::PageSize => Paging::PageSize {
                        page_param: p.page_param.unwrap_or_else(|| "page".into()),
                        size_param: p.size_param.unwrap_or_else(|| "pageSize".into()),
                        size: number("input.list.paging.size", p.size, 100)?,
                        first_page: number("input.list.paging.firstPage", p.first_page, 1)?,
                    },
                    CustomPagingStyle::OffsetLimit => Paging::OffsetLimit {
                        offset_param: p.offset_param.unwrap_or_else(|| "offset".into()),
                        limit_param: p.limit_param.unwrap_or_else(|| "limit".into()),
                        limit: number("input.list.paging.limit", p.limit, 100)?,
                    },
                    CustomPagingStyle::NextLink => Paging::NextLink {
                        next_path: p.next_path.filter(|s| !s.trim().is_empty()),
                    },
                };
                if l.path.is_none() && l.operation_id.is_none() {
                    return Err(AppError::invalid(
                        "input.list.path",
                        "REQUIRED_FIELD",
                        "give the list request's path or operationId",
                    ));
                }
                (
                    Some(ListRequest {
                        path: l.path.unwrap_or_default(),
                        query: l.query.map(|q| q.0).unwrap_or_default(),
                        paging,
                        items_path: l.items_path,
                        id_path: l.id_path,
                        name_path: l.name_path,
                        website_path: l.website_path.filter(|s| !s.trim().is_empty()),
                        active_path: l.active_path.filter(|s| !s.trim().is_empty()),
                    }),
                    l.operation_id,
                )
            }
        };
        let expected = self.health.expected_status.unwrap_or(200);
        Ok(PackInput {
            name: self.name,
            mapping_variable: self.mapping_variable,
            list_operation_id,
            spec: CustomSpec {
                base_url: self.base_url.trim().to_owned(),
                auth: auth(self.auth),
                default_headers: self.default_headers.map(|h| h.0).unwrap_or_default(),
                health: HealthCheck {
                    method: self
                        .health
                        .method
                        .unwrap_or_else(|| "GET".into())
                        .trim()
                        .to_uppercase(),
                    path: self.health.path,
                    expected_status: u16::try_from(expected).unwrap_or(0),
                },
                list,
            },
        })
    }
}

/// An operation of a pack's OpenAPI document.
#[derive(SimpleObject, Clone, Debug)]
pub struct PackAction {
    pub operation_id: String,
    pub method: String,
    pub path: String,
    pub summary: Option<String>,
    pub parameters: Vec<PackActionParameter>,
    /// Its answer is (or holds) a list: a candidate for the mapping's list request.
    pub returns_list: bool,
}

#[derive(SimpleObject, Clone, Debug)]
pub struct PackActionParameter {
    pub name: String,
    /// `path`, `query` or `header`.
    #[graphql(name = "in")]
    pub location: String,
    pub required: bool,
}

/// The actions of a pack (empty for the catalog's and typed-in custom packs).
pub fn actions_of(pack_id: &str) -> Vec<PackAction> {
    custom_packs::get(pack_id)
        .map(|p| {
            p.actions
                .into_iter()
                .map(|o| PackAction {
                    operation_id: o.operation_id,
                    method: o.method,
                    path: o.path,
                    summary: o.summary,
                    returns_list: o.returns_array,
                    parameters: o
                        .parameters
                        .into_iter()
                        .map(|x| PackActionParameter {
                            name: x.name,
                            location: x.location,
                            required: x.required,
                        })
                        .collect(),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// What the tool answered to `customPackRequest`.
#[derive(SimpleObject, Clone, Debug)]
pub struct CustomPackResponse {
    pub status: i32,
    /// Its `Link` header, if any.
    pub link: Option<String>,
    pub body: Json<Value>,
}

#[derive(Default)]
pub struct CustomPackQuery;

#[Object]
impl CustomPackQuery {
    /// The custom packs an organization may use: its own and those of the organizations
    /// above it (ours).
    async fn custom_packs(&self, ctx: &Context<'_>, org_id: ID) -> Result<Vec<Pack>> {
        let org = parse_id("orgId", &org_id)?;
        Ok(custom_packs::for_org(store(ctx), actor(ctx)?, org)
            .await?
            .into_iter()
            .map(Pack)
            .collect())
    }
}

#[derive(Default)]
pub struct CustomPackMutation;

#[Object]
impl CustomPackMutation {
    /// A custom integration for an organization (admins): any tool with an HTTP API, its
    /// authentication, health request and the list request its mapping uses (ours).
    async fn create_custom_pack(
        &self,
        ctx: &Context<'_>,
        org_id: ID,
        input: CustomPackInput,
    ) -> Result<Pack> {
        let org = parse_id("orgId", &org_id)?;
        let input = input.into_domain()?;
        Ok(Pack(
            custom_packs::create(store(ctx), actor(ctx)?, org, input).await?,
        ))
    }

    /// A custom integration read from an OpenAPI 3.0/3.1 document (JSON or YAML): base URL
    /// from `servers`, authentication from `securitySchemes`, its operations as the pack's
    /// `actions`; pick the list operation with `updateCustomPack` (ours).
    async fn create_open_api_pack(
        &self,
        ctx: &Context<'_>,
        org_id: ID,
        document: async_graphql::Upload,
        name: Option<String>,
        mapping_variable: Option<String>,
    ) -> Result<Pack> {
        let org = parse_id("orgId", &org_id)?;
        let mut bytes = Vec::new();
        let mut reader = document
            .value(ctx)
            .map_err(|e| {
                AppError::invalid(
                    "document",
                    "INVALID_FILE",
                    format!("the upload could not be read: {e}"),
                )
            })?
            .into_read();
        std::io::Read::read_to_end(&mut reader, &mut bytes).map_err(|e| {
            AppError::invalid(
                "document",
                "INVALID_FILE",
                format!("the upload could not be read: {e}"),
            )
        })?;
        Ok(Pack(
            custom_packs::create_from_openapi(
                store(ctx),
                actor(ctx)?,
                org,
                &bytes,
                name,
                mapping_variable,
            )
            .await?,
        ))
    }

    /// Replaces a custom pack's definition (admins of its organization); secrets left out
    /// are kept (ours).
    async fn update_custom_pack(
        &self,
        ctx: &Context<'_>,
        pack_id: ID,
        input: CustomPackInput,
    ) -> Result<Pack> {
        let input = input.into_domain()?;
        Ok(Pack(
            custom_packs::update(store(ctx), actor(ctx)?, &pack_id, input).await?,
        ))
    }

    /// Deletes a custom pack no config uses (ours).
    async fn delete_custom_pack(&self, ctx: &Context<'_>, pack_id: ID) -> Result<bool> {
        custom_packs::delete(store(ctx), actor(ctx)?, &pack_id).await?;
        Ok(true)
    }

    /// One call to a custom pack's tool with a config's credentials (members and admins):
    /// an `operationId` of its actions (path parameters from `params`, the rest as query
    /// parameters), or a `method` and `path` under the base URL (ours).
    #[allow(clippy::too_many_arguments)]
    async fn custom_pack_request(
        &self,
        ctx: &Context<'_>,
        pack_config_id: ID,
        operation_id: Option<String>,
        method: Option<String>,
        path: Option<String>,
        params: Option<Json<serde_json::Map<String, Value>>>,
        body: Option<Json<Value>>,
    ) -> Result<CustomPackResponse> {
        let config = parse_id("packConfigId", &pack_config_id)?;
        let call = custom_packs::Call {
            operation_id,
            method,
            path,
            params: params.map(|p| p.0),
            body: body.map(|b| b.0),
        };
        let a = custom_packs::request(store(ctx), actor(ctx)?, config, call).await?;
        Ok(CustomPackResponse {
            status: i32::from(a.status),
            link: a.link,
            body: Json(a.body),
        })
    }
}
