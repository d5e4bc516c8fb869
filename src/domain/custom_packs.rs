//! Custom packs: an MSP's own integration — any tool with an HTTP API, typed in or read
//! from an OpenAPI document — made a pack like the catalog's: configs (which may override
//! the base URL and credentials), health, Refresh Options, Suggest Values and Save Mappings
//! through the same code, and `customPackRequest` for one call with the stored credentials.
//! The pack's own secrets are sealed like every other secret.
use std::collections::HashMap;

use entity::custom_pack as row;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::names::OrgName;
use super::organizations::{self, Org};
use super::pack_configs::{self, PackConfig};
use super::packs::{self, FieldKind, PackField, PackSpec};
use super::{Store, now, unique_violation};
use crate::auth::{Access, Actor};
use crate::custom::client::CustomClient;
use crate::custom::openapi::{self, Operation};
use crate::custom::{Auth, CustomSpec, HealthCheck};
use crate::error::{AppError, AppResult, ValidationError};

/// The prefix of every custom pack's id.
pub const PREFIX: &str = "custom-";
/// What the answers show for a secret.
const MASK: &str = "********";

/// A custom pack as kept: the spec with its secrets sealed.
#[derive(Clone, Debug, PartialEq)]
pub struct CustomPack {
    pub id: Uuid,
    pub org_id: Uuid,
    pub name: String,
    pub mapping_variable: String,
    pub spec: CustomSpec,
    pub actions: Vec<Operation>,
}

/// What `createCustomPack` and `updateCustomPack` take.
#[derive(Clone, Debug)]
pub struct PackInput {
    pub name: String,
    pub mapping_variable: String,
    pub spec: CustomSpec,
    /// The OpenAPI operation the list request calls (its path is taken from the document).
    pub list_operation_id: Option<String>,
}

/// Kept per process beside the spec: the sealed connection and the actions.
static DATA: std::sync::LazyLock<std::sync::RwLock<HashMap<String, CustomPack>>> =
    std::sync::LazyLock::new(Default::default);

fn data() -> std::sync::RwLockReadGuard<'static, HashMap<String, CustomPack>> {
    DATA.read().unwrap_or_else(|e| e.into_inner())
}

pub fn pack_id(id: Uuid) -> String {
    format!("{PREFIX}{id}")
}

fn parse_pack_id(field: &str, raw: &str) -> AppResult<Uuid> {
    raw.trim()
        .strip_prefix(PREFIX)
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or_else(|| {
            AppError::invalid(
                field,
                "INVALID_FORMAT",
                format!("`{raw}` is not a custom pack id (custom-<uuid>)"),
            )
        })
}

const BASE_URL: PackField = PackField {
    name: "base_url",
    label: "Base URL",
    kind: FieldKind::Url,
    secret: false,
    required: false,
    help: "empty: the pack's base URL",
};

const fn secret_field(name: &'static str, label: &'static str, required: bool) -> PackField {
    PackField {
        name,
        label,
        kind: FieldKind::Text,
        secret: true,
        required,
        help: "empty: the pack's own",
    }
}

const fn text_field(name: &'static str, label: &'static str, required: bool) -> PackField {
    PackField {
        name,
        label,
        kind: FieldKind::Text,
        secret: false,
        required,
        help: "empty: the pack's own",
    }
}

/// The config fields of a custom pack: the base URL and the credentials its auth takes,
/// each overriding the pack's own; one the pack lacks is required.
fn fields(auth: &Auth) -> &'static [PackField] {
    let mut auth = auth.clone();
    let missing = auth.secrets_mut().iter().any(|s| s.is_empty());
    let list: Vec<PackField> = match &auth {
        Auth::None => vec![BASE_URL],
        Auth::ApiKey { .. } => vec![BASE_URL, secret_field("api_key", "API key", missing)],
        Auth::Basic { .. } => vec![
            BASE_URL,
            text_field(
                "username",
                "User name",
                matches!(&auth, Auth::Basic { username, .. } if username.is_empty()),
            ),
            secret_field("password", "Password", missing),
        ],
        Auth::Bearer { .. } => vec![BASE_URL, secret_field("token", "Token", missing)],
        Auth::OAuth2 { .. } => vec![
            BASE_URL,
            text_field(
                "client_id",
                "Client ID",
                matches!(&auth, Auth::OAuth2 { client_id, .. } if client_id.is_empty()),
            ),
            secret_field("client_secret", "Client secret", missing),
        ],
    };
    Box::leak(list.into_boxed_slice())
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// Makes a kept custom pack known to this process.
fn register(p: CustomPack) -> &'static PackSpec {
    let id = pack_id(p.id);
    let spec = packs::register_custom(PackSpec {
        id: leak(id.clone()),
        reference: leak(format!("custom_{}", p.id.simple())),
        name: leak(p.name.clone()),
        description: leak(format!("Custom integration: {}", p.spec.base_url)),
        pack_type: if p.actions.is_empty() {
            "custom"
        } else {
            "openapi"
        },
        version: "1.0.0",
        mapping_variable: leak(p.mapping_variable.clone()),
        categories: &["Custom"],
        fields: fields(&p.spec.auth),
        setup_instructions: "A custom integration of your organization: configs may override its base URL and credentials.",
        owner_org: Some(p.org_id),
    });
    DATA.write()
        .unwrap_or_else(|e| e.into_inner())
        .insert(id, p);
    spec
}

fn from_row(r: row::Model) -> AppResult<CustomPack> {
    Ok(CustomPack {
        id: r.id,
        org_id: r.org_id,
        name: r.name,
        mapping_variable: r.mapping_variable,
        spec: serde_json::from_value(r.spec).map_err(AppError::internal)?,
        actions: match r.actions {
            Some(v) => serde_json::from_value(v).map_err(AppError::internal)?,
            None => Vec::new(),
        },
    })
}

/// Loads every custom pack into this process (on start, and each maintenance tick, so
/// replicas learn of packs made elsewhere).
pub async fn load_all(store: &Store) -> AppResult<usize> {
    let rows = row::Entity::find()
        .order_by_asc(row::Column::CreatedAt)
        .all(&store.db)
        .await?;
    let known: Vec<String> = rows.iter().map(|r| pack_id(r.id)).collect();
    let n = rows.len();
    for r in rows {
        let p = from_row(r)?;
        // Registered again only when changed (each registration keeps a new spec).
        if data().get(&pack_id(p.id)) != Some(&p) {
            register(p);
        }
    }
    let gone: Vec<String> = data()
        .keys()
        .filter(|k| !known.contains(k))
        .cloned()
        .collect();
    for id in gone {
        forget(&id);
    }
    Ok(n)
}

fn forget(id: &str) {
    packs::unregister_custom(id);
    DATA.write().unwrap_or_else(|e| e.into_inner()).remove(id);
}

/// Makes sure a custom pack named by a config or input is known here (made on another
/// replica a moment ago).
pub async fn ensure_loaded(store: &Store, id: &str) -> AppResult<()> {
    let Some(uuid) = id
        .trim()
        .strip_prefix(PREFIX)
        .and_then(|s| Uuid::parse_str(s).ok())
    else {
        return Ok(());
    };
    if data().contains_key(&pack_id(uuid)) {
        return Ok(());
    }
    if let Some(r) = row::Entity::find_by_id(uuid).one(&store.db).await? {
        register(from_row(r)?);
    }
    Ok(())
}

/// The kept pack of a spec, if it is a custom one.
pub fn get(id: &str) -> Option<CustomPack> {
    data().get(id).cloned()
}

/// Whether a config of the custom pack `spec` may live in `org`: at or below the pack's org.
pub async fn usable_in(store: &Store, spec: &PackSpec, org: &Org) -> AppResult<()> {
    let Some(owner_id) = spec.owner_org else {
        return Ok(());
    };
    let owner = organizations::by_ids(store, &[owner_id])
        .await?
        .remove(&owner_id)
        .ok_or(AppError::Forbidden)?;
    if org.path.starts_with(&owner.path) {
        Ok(())
    } else {
        Err(AppError::invalid(
            "packId",
            "NOT_FOUND",
            format!(
                "the custom pack {} belongs to another organization; configs go at or below \"{}\"",
                spec.name, owner.name
            ),
        ))
    }
}

/// `snake_case`, not a catalog pack's, at most 64 characters.
fn check_variable(field: &str, name: &str) -> Result<(), ValidationError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !name.contains("__")
        && !name.ends_with('_');
    if !ok {
        return Err(ValidationError::new(
            field,
            "INVALID_FORMAT",
            format!(
                "`{name}` is not a snake_case name such as acme_tool_client_id (at most 64 characters)"
            ),
        ));
    }
    if packs::CATALOG.iter().any(|p| p.mapping_variable == name) {
        return Err(ValidationError::new(
            field,
            "RESERVED_NAME",
            format!("`{name}` is the mapping variable of a built-in pack"),
        ));
    }
    Ok(())
}

/// Seals the secrets of a spec for keeping; an empty secret stays empty, and the mask
/// (sent back from an answer) keeps the kept one.
fn seal(store: &Store, spec: &mut CustomSpec, kept: Option<&CustomSpec>) -> AppResult<()> {
    let mut kept_secrets: Vec<String> = kept
        .filter(|k| k.auth.kind() == spec.auth.kind())
        .map(|k| {
            let mut a = k.auth.clone();
            a.secrets_mut().into_iter().map(|s| s.clone()).collect()
        })
        .unwrap_or_default();
    kept_secrets.resize(spec.auth.clone().secrets_mut().len(), String::new());
    for (secret, old) in spec.auth.secrets_mut().into_iter().zip(kept_secrets) {
        if secret == MASK {
            *secret = old;
        } else if !secret.is_empty() {
            *secret = store.cipher.seal(secret)?;
        }
    }
    Ok(())
}

/// The spec as answers show it: secrets masked.
pub fn masked(spec: &CustomSpec) -> CustomSpec {
    let mut s = spec.clone();
    for secret in s.auth.secrets_mut() {
        if !secret.is_empty() {
            *secret = MASK.to_owned();
        }
    }
    s
}

fn check_input(input: &mut PackInput, actions: &[Operation]) -> Vec<ValidationError> {
    let mut errors = Vec::new();
    if let Err(e) = OrgName::parse_field("input.name", &input.name) {
        errors.push(e);
    }
    if let Err(e) = check_variable("input.mappingVariable", input.mapping_variable.trim()) {
        errors.push(e);
    }
    input.mapping_variable = input.mapping_variable.trim().to_owned();
    if let Some(op_id) = input.list_operation_id.as_deref().map(str::trim) {
        match actions.iter().find(|o| o.operation_id == op_id) {
            Some(op) if op.method == "GET" => {
                if let Some(list) = input.spec.list.as_mut() {
                    list.path = op.path.clone();
                } else {
                    errors.push(ValidationError::new(
                        "input.list",
                        "REQUIRED_FIELD",
                        "say where the items, their id and name are (itemsPath, idPath, namePath)",
                    ));
                }
            }
            Some(op) => errors.push(ValidationError::new(
                "input.listOperationId",
                "INVALID_FORMAT",
                format!(
                    "{op_id} is a {} operation; the list request is a GET",
                    op.method
                ),
            )),
            None => errors.push(ValidationError::new(
                "input.listOperationId",
                "NOT_FOUND",
                format!("the pack has no operation {op_id}; see Pack.actions"),
            )),
        }
    }
    // The pack's own secrets may be left to its configs (a document never carries them).
    let secret_fields = [
        "input.auth.value",
        "input.auth.username",
        "input.auth.password",
        "input.auth.token",
        "input.auth.clientId",
        "input.auth.clientSecret",
    ];
    errors.extend(
        input
            .spec
            .validate("input.")
            .into_iter()
            .filter(|e| !(e.code == "REQUIRED_FIELD" && secret_fields.contains(&e.field.as_str()))),
    );
    errors
}

/// Another custom pack of the organization with the same name or mapping variable.
async fn clashes(
    store: &Store,
    org_id: Uuid,
    except: Option<Uuid>,
    name_key: &str,
    variable: &str,
) -> AppResult<Vec<ValidationError>> {
    let rows = row::Entity::find()
        .filter(row::Column::OrgId.eq(org_id))
        .all(&store.db)
        .await?;
    let others = rows.iter().filter(|r| Some(r.id) != except);
    let mut errors = Vec::new();
    if others.clone().any(|r| r.name_key == name_key) {
        errors.push(ValidationError::new(
            "input.name",
            "DUPLICATE_IN_DATABASE",
            "this organization has a custom pack of this name",
        ));
    }
    if others.clone().any(|r| r.mapping_variable == variable) {
        errors.push(ValidationError::new(
            "input.mappingVariable",
            "DUPLICATE_IN_DATABASE",
            "another custom pack of this organization writes this variable",
        ));
    }
    Ok(errors)
}

fn duplicate(e: sea_orm::DbErr) -> AppError {
    match unique_violation(&e) {
        Some(m) if m.contains("mapping_variable") || m.contains("org_variable") => {
            AppError::invalid(
                "input.mappingVariable",
                "DUPLICATE_IN_DATABASE",
                "another custom pack of this organization writes this variable",
            )
        }
        Some(_) => AppError::invalid(
            "input.name",
            "DUPLICATE_IN_DATABASE",
            "this organization has a custom pack of this name",
        ),
        None => e.into(),
    }
}

async fn insert(
    store: &Store,
    org: &Org,
    mut input: PackInput,
    actions: Vec<Operation>,
) -> AppResult<&'static PackSpec> {
    let errors = check_input(&mut input, &actions);
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    let name =
        OrgName::parse_field("input.name", &input.name).map_err(|e| AppError::Invalid(vec![e]))?;
    let clash = clashes(store, org.id, None, name.key(), &input.mapping_variable).await?;
    if !clash.is_empty() {
        return Err(AppError::Invalid(clash));
    }
    let mut spec = input.spec;
    seal(store, &mut spec, None)?;
    let at = now();
    let id = Uuid::now_v7();
    let saved = row::ActiveModel {
        id: Set(id),
        org_id: Set(org.id),
        name: Set(name.as_str().to_owned()),
        name_key: Set(name.key().to_owned()),
        mapping_variable: Set(input.mapping_variable),
        spec: Set(serde_json::to_value(&spec).map_err(AppError::internal)?),
        actions: Set((!actions.is_empty())
            .then(|| serde_json::to_value(&actions))
            .transpose()
            .map_err(AppError::internal)?),
        created_at: Set(at),
        updated_at: Set(at),
    }
    .insert(&store.db)
    .await
    .map_err(duplicate)?;
    Ok(register(from_row(saved)?))
}

/// `createCustomPack` (admins of the organization).
pub async fn create(
    store: &Store,
    actor: &Actor,
    org_id: Uuid,
    input: PackInput,
) -> AppResult<&'static PackSpec> {
    let org = organizations::visible(store, actor, org_id).await?;
    actor.check(&org, Access::Admin)?;
    insert(store, &org, input, Vec::new()).await
}

/// `createOpenApiPack`: base URL from `servers`, auth from the first supported security
/// scheme (its secrets left to the configs), the operations as the pack's actions; the
/// health request is a `health`/`ping`/`status` operation, else the first GET without
/// required parameters. The list request is chosen afterwards (`updateCustomPack`).
pub async fn create_from_openapi(
    store: &Store,
    actor: &Actor,
    org_id: Uuid,
    document: &[u8],
    name: Option<String>,
    mapping_variable: Option<String>,
) -> AppResult<&'static PackSpec> {
    let org = organizations::visible(store, actor, org_id).await?;
    actor.check(&org, Access::Admin)?;
    let doc = openapi::parse(document).map_err(AppError::Invalid)?;
    let gets = || doc.operations.iter().filter(|o| o.method == "GET");
    let health = gets()
        .find(|o| {
            let p = o.path.to_lowercase();
            ["health", "ping", "status"].iter().any(|w| p.contains(w))
        })
        .or_else(|| gets().find(|o| !o.parameters.iter().any(|p| p.required)))
        .ok_or_else(|| {
            AppError::invalid(
                "document",
                "UNSUPPORTED",
                "the document has no GET operation without required parameters to check health with",
            )
        })?;
    let name = name
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| doc.title.clone());
    let variable = mapping_variable.unwrap_or_else(|| {
        let slug: String = name
            .to_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        let slug = slug
            .split('_')
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("_");
        let slug = slug
            .trim_start_matches(|c: char| c.is_ascii_digit())
            .to_owned();
        let mut v = format!("{}_id", if slug.is_empty() { "custom" } else { &slug });
        v.truncate(64);
        v.trim_end_matches('_').to_owned()
    });
    let auth = doc
        .security_schemes
        .first()
        .map(|s| s.auth.clone())
        .unwrap_or(Auth::None);
    let spec = CustomSpec {
        base_url: doc.base_url.clone(),
        auth,
        default_headers: Default::default(),
        health: HealthCheck {
            method: "GET".into(),
            path: health.path.clone(),
            expected_status: 200,
        },
        list: None,
    };
    let input = PackInput {
        name,
        mapping_variable: variable,
        spec,
        list_operation_id: None,
    };
    insert(store, &org, input, doc.operations).await
}

async fn writable(store: &Store, actor: &Actor, id: &str) -> AppResult<CustomPack> {
    ensure_loaded(store, id).await?;
    let uuid = parse_pack_id("packId", id)?;
    let p = get(&pack_id(uuid)).ok_or(AppError::Forbidden)?;
    let org = organizations::visible(store, actor, p.org_id).await?;
    actor.check(&org, Access::Admin)?;
    Ok(p)
}

/// `updateCustomPack`: replaces the pack's definition (secrets sent as `********` or left
/// empty keep the kept ones; the actions of its OpenAPI document stay).
pub async fn update(
    store: &Store,
    actor: &Actor,
    id: &str,
    mut input: PackInput,
) -> AppResult<&'static PackSpec> {
    let p = writable(store, actor, id).await?;
    let errors = check_input(&mut input, &p.actions);
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    let mut spec = input.spec;
    // An empty secret means "keep" here.
    for s in spec.auth.secrets_mut() {
        if s.is_empty() {
            *s = MASK.to_owned();
        }
    }
    seal(store, &mut spec, Some(&p.spec))?;
    let name =
        OrgName::parse_field("input.name", &input.name).map_err(|e| AppError::Invalid(vec![e]))?;
    let clash = clashes(
        store,
        p.org_id,
        Some(p.id),
        name.key(),
        &input.mapping_variable,
    )
    .await?;
    if !clash.is_empty() {
        return Err(AppError::Invalid(clash));
    }
    let saved = row::ActiveModel {
        id: Set(p.id),
        name: Set(name.as_str().to_owned()),
        name_key: Set(name.key().to_owned()),
        mapping_variable: Set(input.mapping_variable),
        spec: Set(serde_json::to_value(&spec).map_err(AppError::internal)?),
        updated_at: Set(now()),
        ..Default::default()
    }
    .update(&store.db)
    .await
    .map_err(duplicate)?;
    Ok(register(from_row(saved)?))
}

/// `deleteCustomPack`: only when no config uses it.
pub async fn delete(store: &Store, actor: &Actor, id: &str) -> AppResult<()> {
    let p = writable(store, actor, id).await?;
    let used = entity::pack_config::Entity::find()
        .filter(entity::pack_config::Column::PackId.eq(pack_id(p.id)))
        .one(&store.db)
        .await?;
    if let Some(c) = used {
        return Err(AppError::Conflict(format!(
            "the config \"{}\" uses this pack; delete its configs first",
            c.name
        )));
    }
    row::Entity::delete_by_id(p.id).exec(&store.db).await?;
    forget(&pack_id(p.id));
    Ok(())
}

/// `customPacks(orgId)`: the custom packs the organization may use (its own and those of
/// the organizations above it).
pub async fn for_org(
    store: &Store,
    actor: &Actor,
    org_id: Uuid,
) -> AppResult<Vec<&'static PackSpec>> {
    let org = organizations::visible(store, actor, org_id).await?;
    load_all(store).await?;
    let ancestors: Vec<Uuid> = org
        .path
        .split('/')
        .filter_map(|s| Uuid::parse_str(s).ok())
        .collect();
    Ok(packs::custom_specs()
        .into_iter()
        .filter(|s| {
            s.owner_org
                .is_some_and(|o| o == org.id || ancestors.contains(&o))
        })
        .collect())
}

/// A client for a config of a custom pack: the pack's connection with the config's
/// overrides, secrets opened.
pub fn client_for(store: &Store, config: &PackConfig) -> AppResult<CustomClient> {
    let p = get(&config.pack_id).ok_or_else(|| {
        AppError::invalid(
            "packConfigId",
            "NOT_FOUND",
            "this config's custom pack no longer exists",
        )
    })?;
    let mut spec = p.spec.clone();
    for secret in spec.auth.secrets_mut() {
        if !secret.is_empty() {
            *secret = store.cipher.open(secret)?;
        }
    }
    let clear = pack_configs::clear_config(store, config)?;
    let given = |k: &str| {
        clear
            .get(k)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    if let Some(url) = given("base_url") {
        spec.base_url = url;
    }
    match &mut spec.auth {
        Auth::None => {}
        Auth::ApiKey { value, .. } => {
            if let Some(v) = given("api_key") {
                *value = v;
            }
        }
        Auth::Basic { username, password } => {
            if let Some(v) = given("username") {
                *username = v;
            }
            if let Some(v) = given("password") {
                *password = v;
            }
        }
        Auth::Bearer { token } => {
            if let Some(v) = given("token") {
                *token = v;
            }
        }
        Auth::OAuth2 {
            client_id,
            client_secret,
            ..
        } => {
            if let Some(v) = given("client_id") {
                *client_id = v;
            }
            if let Some(v) = given("client_secret") {
                *client_secret = v;
            }
        }
    }
    let errors = spec.validate("config.");
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    Ok(CustomClient::new(http()?, spec))
}

/// The HTTP client of custom packs: like the others, but it never follows a redirect (a
/// redirect to another host would carry the tool's key along).
fn http() -> AppResult<reqwest::Client> {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    if let Some(c) = CLIENT.get() {
        return Ok(c.clone());
    }
    let c = crate::custom::client::http_client().map_err(AppError::internal)?;
    Ok(CLIENT.get_or_init(|| c).clone())
}

/// What `customPackRequest` answered.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Answer {
    pub status: u16,
    pub link: Option<String>,
    pub body: Value,
}

/// `customPackRequest`: one call to the tool with the config's credentials, by operation
/// (path parameters filled from `params`, the rest sent as query parameters) or by method
/// and path; confined to the base URL.
/// One call of `customPackRequest`: an operation, or a method and a path.
#[derive(Clone, Debug, Default)]
pub struct Call {
    pub operation_id: Option<String>,
    pub method: Option<String>,
    pub path: Option<String>,
    pub params: Option<serde_json::Map<String, Value>>,
    pub body: Option<Value>,
}

pub async fn request(
    store: &Store,
    actor: &Actor,
    config_id: Uuid,
    call: Call,
) -> AppResult<Answer> {
    let Call {
        operation_id,
        method,
        path,
        params,
        body,
    } = call;
    let (operation_id, method, path) =
        (operation_id.as_deref(), method.as_deref(), path.as_deref());
    let (config, org) = pack_configs::get(store, actor, config_id).await?;
    actor.check(&org, Access::Write)?;
    let p = get(&config.pack_id).ok_or_else(|| {
        AppError::invalid(
            "packConfigId",
            "NOT_SUPPORTED",
            "this config is not of a custom pack",
        )
    })?;
    let mut params: serde_json::Map<String, Value> = params.unwrap_or_default();
    let text = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    let (method, path) = match (operation_id.map(str::trim), method, path) {
        (Some(op_id), None, None) => {
            let op = p
                .actions
                .iter()
                .find(|o| o.operation_id == op_id)
                .ok_or_else(|| {
                    AppError::invalid(
                        "operationId",
                        "NOT_FOUND",
                        format!("the pack has no operation {op_id}; see Pack.actions"),
                    )
                })?;
            let mut path = op.path.clone();
            for param in op.parameters.iter().filter(|x| x.location == "path") {
                let value = params
                    .remove(&param.name)
                    .as_ref()
                    .and_then(text)
                    .ok_or_else(|| {
                        AppError::invalid(
                            format!("params.{}", param.name),
                            "REQUIRED_FIELD",
                            format!("{op_id} needs the path parameter {}", param.name),
                        )
                    })?;
                let encoded = encode_segment(&value);
                path = path.replace(&format!("{{{}}}", param.name), &encoded);
            }
            for param in op
                .parameters
                .iter()
                .filter(|x| x.required && x.location == "query")
            {
                if !params.contains_key(&param.name) {
                    return Err(AppError::invalid(
                        format!("params.{}", param.name),
                        "REQUIRED_FIELD",
                        format!("{op_id} needs the query parameter {}", param.name),
                    ));
                }
            }
            (op.method.clone(), path)
        }
        (None, Some(m), Some(pth)) => (m.trim().to_uppercase(), pth.trim().to_owned()),
        _ => {
            return Err(AppError::invalid(
                "operationId",
                "REQUIRED_FIELD",
                "name an operationId, or a method and a path (not both)",
            ));
        }
    };
    if !["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&method.as_str()) {
        return Err(AppError::invalid(
            "method",
            "INVALID_FORMAT",
            "one of GET, POST, PUT, PATCH, DELETE",
        ));
    }
    let mut query = Vec::new();
    for (k, v) in &params {
        let v = text(v).ok_or_else(|| {
            AppError::invalid(
                format!("params.{k}"),
                "INVALID_FORMAT",
                "a string, number or boolean",
            )
        })?;
        query.push((k.clone(), v));
    }
    let client = client_for(store, &config)?;
    let started = std::time::Instant::now();
    let result = client.request(&method, &path, &query, body).await;
    tracing::info!(target: "orghub::audit", user = %actor.username, config = %config.id, method = %method, path = %path, ok = result.is_ok(), ms = started.elapsed().as_millis() as u64, "custom pack request");
    match result {
        Ok((status, link, body)) => Ok(Answer { status, link, body }),
        Err(crate::connectwise::client::CwError::Rejected {
            status: 400,
            code,
            message,
            ..
        }) if code == "INVALID_PATH" => Err(AppError::invalid("path", "INVALID_FORMAT", message)),
        Err(e) => Err(AppError::Conflict(format!(
            "The call to {} failed: {}",
            p.name,
            e.describe(&p.name)
        ))),
    }
}

/// A path parameter, percent-encoded: only unreserved characters stay as they are.
fn encode_segment(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
