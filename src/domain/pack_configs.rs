//! Pack configs: configured instances of a pack for an organization (several per pack,
//! each named, exactly one default). Secret fields are encrypted at rest and redacted in
//! every answer; an update that omits a secret keeps it.
use std::collections::{HashMap, HashSet};

use entity::{org_variable, pack_config};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait,
    QueryFilter, QueryOrder,
};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::names::OrgName;
use super::organizations::{self, Org};
use super::packs::{FieldKind, PackSpec, require_spec};
use super::variables::MASK;
use super::{Store, now, unique_violation};
use crate::auth::{Access, Actor};
use crate::error::{AppError, AppResult, ValidationError};

pub use pack_config::Model as PackConfig;

const MAX_FIELD_LEN: usize = 2000;

/// A config as the API gives it.
#[derive(Clone, Debug, Default)]
pub struct ConfigInput {
    pub id: Option<String>,
    pub org_id: Option<String>,
    pub pack_id: Option<String>,
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub default: Option<bool>,
    pub config: Option<Value>,
    pub metadata: Option<Value>,
}

fn check_field(spec: &PackSpec, key: &str, value: &str) -> Result<(), ValidationError> {
    let field = format!("config.{key}");
    let Some(f) = spec.field(key) else {
        let known: Vec<&str> = spec.fields.iter().map(|f| f.name).collect();
        return Err(ValidationError::new(
            field,
            "INVALID_FORMAT",
            format!(
                "{} has no field `{key}`; its fields are {}",
                spec.name,
                known.join(", ")
            ),
        ));
    };
    if value.chars().count() > MAX_FIELD_LEN {
        return Err(ValidationError::new(
            field,
            "MAX_LENGTH_EXCEEDED",
            format!("at most {MAX_FIELD_LEN} characters"),
        ));
    }
    let v = value.trim();
    if v.is_empty() {
        return Ok(());
    }
    match f.kind {
        FieldKind::Text => Ok(()),
        FieldKind::Host => {
            let ok = !v.contains("://")
                && !v.contains('/')
                && v.split('.').count() >= 2
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == ':');
            if ok {
                Ok(())
            } else {
                Err(ValidationError::new(
                    field,
                    "INVALID_FORMAT",
                    format!("`{v}` is not a host name such as na.myconnectwise.net"),
                ))
            }
        }
        FieldKind::Url => {
            let ok = (v.starts_with("https://") || v.starts_with("http://"))
                && v.len() > "https://x".len()
                && !v.contains(char::is_whitespace);
            if ok {
                Ok(())
            } else {
                Err(ValidationError::new(
                    field,
                    "INVALID_FORMAT",
                    format!("`{v}` is not a URL such as https://example.halopsa.com/api"),
                ))
            }
        }
        FieldKind::Boolean => {
            if v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false") {
                Ok(())
            } else {
                Err(ValidationError::new(
                    field,
                    "INVALID_FORMAT",
                    format!("`{v}` is neither true nor false"),
                ))
            }
        }
        FieldKind::Conditions => crate::connectwise::conditions::parse(v)
            .map(|_| ())
            .map_err(|e| ValidationError::new(field, "INVALID_FORMAT", format!("conditions {e}"))),
    }
}

/// The stored config after applying `given` on top of `stored`: unknown fields refused,
/// values must be text (null clears), secrets sealed; an omitted secret (or the mask sent
/// back) keeps the stored one.
fn merged(
    store: &Store,
    spec: &PackSpec,
    stored: &Map<String, Value>,
    given: Option<&Value>,
) -> AppResult<Map<String, Value>> {
    let mut out = stored.clone();
    let Some(given) = given else { return Ok(out) };
    let given = match given {
        Value::Object(m) => m,
        Value::Null => return Ok(out),
        _ => {
            return Err(AppError::invalid(
                "config",
                "INVALID_FORMAT",
                "must be an object of field names to text values",
            ));
        }
    };
    let mut errors = Vec::new();
    for (key, value) in given {
        match value {
            Value::Null => {
                out.remove(key);
            }
            Value::String(s) => match check_field(spec, key, s) {
                Err(e) => errors.push(e),
                Ok(()) if spec.field(key).is_some_and(|f| f.secret) => {
                    if s != MASK {
                        out.insert(key.clone(), Value::String(store.cipher.seal(s)?));
                    }
                }
                Ok(()) => {
                    out.insert(key.clone(), Value::String(s.trim().to_owned()));
                }
            },
            _ => errors.push(ValidationError::new(
                format!("config.{key}"),
                "INVALID_FORMAT",
                "must be text",
            )),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(AppError::Invalid(errors))
    }
}

/// The config as answers show it: secrets replaced by the mask.
pub fn redacted(c: &PackConfig) -> Value {
    let Some(spec) = super::packs::spec(&c.pack_id) else {
        return Value::Object(Map::new());
    };
    let mut m = c.config.as_object().cloned().unwrap_or_default();
    for f in spec.fields.iter().filter(|f| f.secret) {
        if m.contains_key(f.name) {
            m.insert(f.name.to_owned(), Value::String(MASK.to_owned()));
        }
    }
    Value::Object(m)
}

/// Clear text of every field, secrets decrypted: for the integration clients, never for answers.
pub fn clear_config(store: &Store, c: &PackConfig) -> AppResult<HashMap<String, String>> {
    let spec = require_spec("packId", &c.pack_id)?;
    let mut out = HashMap::new();
    for (k, v) in c.config.as_object().into_iter().flatten() {
        if let Value::String(s) = v {
            let clear = if spec.field(k).is_some_and(|f| f.secret) {
                store.cipher.open(s)?
            } else {
                s.clone()
            };
            out.insert(k.clone(), clear);
        }
    }
    Ok(out)
}

/// The ConnectWise credentials of a ConnectWise config (secrets decrypted), and its company
/// conditions, for the client. Never for answers.
pub fn connectwise_credentials(
    store: &Store,
    c: &PackConfig,
) -> AppResult<(crate::connectwise::client::Credentials, Option<String>)> {
    let clear = clear_config(store, c)?;
    let field = |k: &str| clear.get(k).cloned().unwrap_or_default();
    let creds = crate::connectwise::client::Credentials {
        host: field("hostname"),
        company_id: field("company_id"),
        public_key: field("public_key"),
        private_key: field("private_key"),
        client_id: field("client_id"),
    };
    Ok((
        creds,
        clear
            .get("company_conditions")
            .filter(|c| !c.trim().is_empty())
            .cloned(),
    ))
}

/// A ConnectWise client for a config (its stored credentials), for calls that need nothing
/// else of the config.
pub fn connectwise_client(
    store: &Store,
    c: &PackConfig,
) -> AppResult<crate::connectwise::client::CwClient> {
    let (creds, _) = connectwise_credentials(store, c)?;
    Ok(crate::connectwise::client::CwClient::new(
        store.http.clone(),
        creds,
    ))
}

/// Required fields a config still lacks (an incomplete config is saved, and shows orange).
pub fn missing_fields(c: &PackConfig) -> Vec<&'static str> {
    let Some(spec) = super::packs::spec(&c.pack_id) else {
        return Vec::new();
    };
    let m = c.config.as_object();
    spec.fields
        .iter()
        .filter(|f| {
            f.required
                && m.and_then(|m| m.get(f.name))
                    .and_then(Value::as_str)
                    .is_none_or(|s| s.trim().is_empty())
        })
        .map(|f| f.name)
        .collect()
}

fn duplicate(e: sea_orm::DbErr) -> AppError {
    match unique_violation(&e) {
        Some(_) => AppError::invalid(
            "name",
            "DUPLICATE_IN_DATABASE",
            "this organization has a config of that pack with that name",
        ),
        None => e.into(),
    }
}

/// Configs the caller may see: of the orgs they reach, and of the orgs above their own
/// (which their orgs use).
fn visible_to(actor: &Actor, c: &PackConfig, owner: Option<&Org>) -> bool {
    owner.is_some_and(|o| actor.sees(o) || actor.org_path.contains(&format!("/{}/", c.org_id)))
}

pub async fn get(store: &Store, actor: &Actor, id: Uuid) -> AppResult<(PackConfig, Org)> {
    let c = pack_config::Entity::find_by_id(id)
        .one(&store.db)
        .await?
        .ok_or(AppError::Forbidden)?;
    let owner = organizations::by_ids(store, &[c.org_id])
        .await?
        .remove(&c.org_id);
    if !visible_to(actor, &c, owner.as_ref()) {
        return Err(AppError::Forbidden);
    }
    super::custom_packs::ensure_loaded(store, &c.pack_id).await?;
    owner.map(|o| (c, o)).ok_or(AppError::Forbidden)
}

async fn writable(store: &Store, actor: &Actor, id: Uuid) -> AppResult<(PackConfig, Org)> {
    let (c, org) = get(store, actor, id).await?;
    actor.check(&org, Access::Write)?;
    Ok((c, org))
}

async fn set_default<C: ConnectionTrait>(conn: &C, c: &PackConfig) -> AppResult<()> {
    pack_config::Entity::update_many()
        .col_expr(pack_config::Column::IsDefault, Expr::value(false))
        .filter(pack_config::Column::OrgId.eq(c.org_id))
        .filter(pack_config::Column::PackId.eq(&c.pack_id))
        .filter(pack_config::Column::Id.ne(c.id))
        .exec(conn)
        .await?;
    pack_config::Entity::update_many()
        .col_expr(pack_config::Column::IsDefault, Expr::value(true))
        .filter(pack_config::Column::Id.eq(c.id))
        .exec(conn)
        .await?;
    Ok(())
}

/// `createPackConfig`. The first config of a pack for an org becomes its default.
pub async fn create(store: &Store, actor: &Actor, input: &ConfigInput) -> AppResult<PackConfig> {
    let org_raw = input
        .org_id
        .as_deref()
        .ok_or_else(|| AppError::invalid("orgId", "REQUIRED_FIELD", "is required"))?;
    let org = organizations::visible(store, actor, super::parse_id("orgId", org_raw)?).await?;
    actor.check(&org, Access::Write)?;
    super::custom_packs::ensure_loaded(store, input.pack_id.as_deref().unwrap_or("")).await?;
    let spec = require_spec("packId", input.pack_id.as_deref().unwrap_or(""))?;
    super::custom_packs::usable_in(store, spec, &org).await?;
    let name = OrgName::parse(input.name.as_deref().unwrap_or(""))
        .map_err(|e| AppError::Invalid(vec![e]))?;
    let config = merged(store, spec, &Map::new(), input.config.as_ref())?;
    let id = match input.id.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(raw) => super::parse_id("id", raw)?,
        None => Uuid::now_v7(),
    };
    let txn = store.begin_write().await?;
    let others = pack_config::Entity::find()
        .filter(pack_config::Column::OrgId.eq(org.id))
        .filter(pack_config::Column::PackId.eq(spec.id))
        .all(&txn)
        .await?;
    let at = now();
    let created = pack_config::ActiveModel {
        id: Set(id),
        org_id: Set(org.id),
        pack_id: Set(spec.id.to_owned()),
        name: Set(name.as_str().to_owned()),
        name_key: Set(name.key().to_owned()),
        description: Set(input
            .description
            .clone()
            .flatten()
            .filter(|d| !d.trim().is_empty())),
        is_default: Set(false),
        config: Set(Value::Object(config)),
        metadata: Set(input.metadata.clone().filter(|m| !m.is_null())),
        created_at: Set(at),
        updated_at: Set(at),
    }
    .insert(&txn)
    .await
    .map_err(duplicate)?;
    if others.is_empty() || input.default == Some(true) {
        set_default(&txn, &created).await?;
    }
    txn.commit().await?;
    Ok(pack_config::Entity::find_by_id(created.id)
        .one(&store.db)
        .await?
        .unwrap_or(created))
}

/// `updatePackConfig`: given config fields overwrite, omitted ones stay.
pub async fn update(
    store: &Store,
    actor: &Actor,
    id: Uuid,
    input: &ConfigInput,
) -> AppResult<PackConfig> {
    let (c, _) = writable(store, actor, id).await?;
    let spec = require_spec("packId", &c.pack_id)?;
    if let Some(p) = input
        .pack_id
        .as_deref()
        .filter(|p| spec.id != *p && spec.reference != *p)
    {
        return Err(AppError::invalid(
            "packId",
            "NOT_UPDATABLE",
            format!("a config keeps its pack ({}), not {p}", spec.id),
        ));
    }
    if let Some(o) = input
        .org_id
        .as_deref()
        .filter(|o| super::parse_id("orgId", o).ok() != Some(c.org_id))
    {
        return Err(AppError::invalid(
            "orgId",
            "NOT_UPDATABLE",
            format!("a config keeps its organization, not {o}"),
        ));
    }
    if input.default == Some(false) && c.is_default {
        return Err(AppError::invalid(
            "default",
            "NOT_UPDATABLE",
            "make another config the default instead",
        ));
    }
    let config = merged(
        store,
        spec,
        &c.config.as_object().cloned().unwrap_or_default(),
        input.config.as_ref(),
    )?;
    let mut model: pack_config::ActiveModel = c.clone().into();
    if let Some(n) = &input.name {
        let name = OrgName::parse(n).map_err(|e| AppError::Invalid(vec![e]))?;
        model.name = Set(name.as_str().to_owned());
        model.name_key = Set(name.key().to_owned());
    }
    if let Some(d) = &input.description {
        model.description = Set(d.clone().filter(|d| !d.trim().is_empty()));
    }
    if let Some(m) = &input.metadata {
        model.metadata = Set(Some(m.clone()).filter(|m| !m.is_null()));
    }
    model.config = Set(Value::Object(config));
    model.updated_at = Set(now());
    let txn = store.begin_write().await?;
    let updated = model.update(&txn).await.map_err(duplicate)?;
    if input.default == Some(true) && !c.is_default {
        set_default(&txn, &updated).await?;
    }
    txn.commit().await?;
    Ok(pack_config::Entity::find_by_id(id)
        .one(&store.db)
        .await?
        .unwrap_or(updated))
}

/// `deletePackConfig`: another config of the pack (the oldest) becomes the default;
/// variables that named it keep their values but no longer point at it.
pub async fn delete(store: &Store, actor: &Actor, id: Uuid, org_id: Uuid) -> AppResult<()> {
    let (c, _) = writable(store, actor, id).await?;
    if c.org_id != org_id {
        return Err(AppError::Forbidden);
    }
    let txn = store.begin_write().await?;
    org_variable::Entity::update_many()
        .col_expr(
            org_variable::Column::PackConfigId,
            Expr::value(Option::<Uuid>::None),
        )
        .filter(org_variable::Column::PackConfigId.eq(c.id))
        .exec(&txn)
        .await?;
    pack_config::Entity::delete_by_id(c.id).exec(&txn).await?;
    if c.is_default
        && let Some(next) = pack_config::Entity::find()
            .filter(pack_config::Column::OrgId.eq(c.org_id))
            .filter(pack_config::Column::PackId.eq(&c.pack_id))
            .order_by_asc(pack_config::Column::CreatedAt)
            .one(&txn)
            .await?
    {
        set_default(&txn, &next).await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Columns of configs a filter can compare.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigField {
    Id,
    Name,
    OrgId,
    PackId,
    IsDefault,
    Description,
}

/// Comparisons on configs, for filters that reach them through a relation.
#[derive(Clone, Debug, Default)]
pub struct ConfigConditions {
    pub preds: Vec<(ConfigField, super::filter::Cmp)>,
}

impl ConfigConditions {
    pub(crate) fn condition(&self) -> Condition {
        let mut cond = Condition::all();
        for (field, cmp) in &self.preds {
            let col = match field {
                ConfigField::Id => pack_config::Column::Id,
                ConfigField::Name => pack_config::Column::Name,
                ConfigField::OrgId => pack_config::Column::OrgId,
                ConfigField::PackId => pack_config::Column::PackId,
                ConfigField::IsDefault => pack_config::Column::IsDefault,
                ConfigField::Description => pack_config::Column::Description,
            };
            cond = cond.add(cmp.apply(Expr::col(col)));
        }
        cond
    }

    /// Ids of the configs that match, as a subquery.
    pub(crate) fn ids(&self) -> sea_orm::sea_query::SelectStatement {
        sea_orm::sea_query::Query::select()
            .column(pack_config::Column::Id)
            .from(pack_config::Entity)
            .cond_where(self.condition())
            .to_owned()
    }
}

/// Conditions on configs.
#[derive(Clone, Debug, Default)]
pub struct ConfigFilter {
    pub id: Option<Uuid>,
    pub org_id: Option<Uuid>,
    pub pack_ids: Option<Vec<String>>,
    pub name: Option<String>,
    pub default: Option<bool>,
    /// Further comparisons (`where`/`search` of `packConfigs`).
    pub conditions: Option<ConfigConditions>,
}

/// Configs the caller may see that match, by pack and name.
pub async fn list(
    store: &Store,
    actor: &Actor,
    filter: &ConfigFilter,
) -> AppResult<Vec<PackConfig>> {
    if let Some(id) = filter.id {
        get(store, actor, id).await?;
    }
    let mut cond = Condition::all();
    if let Some(id) = filter.id {
        cond = cond.add(pack_config::Column::Id.eq(id));
    }
    if let Some(o) = filter.org_id {
        cond = cond.add(pack_config::Column::OrgId.eq(o));
    }
    if let Some(p) = &filter.pack_ids {
        let ids: Vec<String> = p
            .iter()
            .filter_map(|p| super::packs::spec(p))
            .map(|s| s.id.to_owned())
            .collect();
        cond = cond.add(pack_config::Column::PackId.is_in(ids));
    }
    if let Some(n) = &filter.name {
        cond = cond.add(pack_config::Column::NameKey.eq(super::names::name_key(n)));
    }
    if let Some(d) = filter.default {
        cond = cond.add(pack_config::Column::IsDefault.eq(d));
    }
    if let Some(c) = &filter.conditions {
        cond = cond.add(c.condition());
    }
    let rows = pack_config::Entity::find()
        .filter(cond)
        .order_by_asc(pack_config::Column::PackId)
        .order_by_asc(pack_config::Column::NameKey)
        .all(&store.db)
        .await?;
    let owners =
        organizations::by_ids(store, &rows.iter().map(|c| c.org_id).collect::<Vec<_>>()).await?;
    Ok(rows
        .into_iter()
        .filter(|c| visible_to(actor, c, owners.get(&c.org_id)))
        .take(store.max_page_size as usize)
        .collect())
}

/// `packConfigsForOrg`: configs an org can use — its own and those of the orgs above it.
pub async fn for_org(
    store: &Store,
    actor: &Actor,
    org_id: Uuid,
    pack_ids: &[String],
) -> AppResult<Vec<PackConfig>> {
    let org = organizations::visible(store, actor, org_id).await?;
    let lineage: Vec<Uuid> = organizations::lineage(&org.path);
    let ids: Vec<String> = pack_ids
        .iter()
        .filter_map(|p| super::packs::spec(p))
        .map(|s| s.id.to_owned())
        .collect();
    Ok(pack_config::Entity::find()
        .filter(pack_config::Column::OrgId.is_in(lineage))
        .filter(pack_config::Column::PackId.is_in(ids))
        .order_by_asc(pack_config::Column::PackId)
        .order_by_asc(pack_config::Column::NameKey)
        .all(&store.db)
        .await?)
}

/// Each org's own configs.
pub async fn of_orgs(store: &Store, org_ids: &[Uuid]) -> AppResult<HashMap<Uuid, Vec<PackConfig>>> {
    let rows = pack_config::Entity::find()
        .filter(pack_config::Column::OrgId.is_in(org_ids.iter().copied()))
        .order_by_asc(pack_config::Column::PackId)
        .order_by_asc(pack_config::Column::NameKey)
        .all(&store.db)
        .await?;
    let mut out: HashMap<Uuid, Vec<PackConfig>> = HashMap::new();
    for c in rows {
        out.entry(c.org_id).or_default().push(c);
    }
    Ok(out)
}

pub async fn by_ids(store: &Store, ids: &[Uuid]) -> AppResult<HashMap<Uuid, PackConfig>> {
    let rows = pack_config::Entity::find()
        .filter(pack_config::Column::Id.is_in(ids.iter().copied()))
        .all(&store.db)
        .await?;
    Ok(rows.into_iter().map(|c| (c.id, c)).collect())
}

/// Whether a variable of `org` may point at config `id`: it belongs to the org or one above.
pub async fn usable_by<C: ConnectionTrait>(conn: &C, org: &Org, id: Uuid) -> AppResult<bool> {
    let lineage: HashSet<Uuid> = organizations::lineage(&org.path).into_iter().collect();
    Ok(pack_config::Entity::find_by_id(id)
        .one(conn)
        .await?
        .is_some_and(|c| lineage.contains(&c.org_id)))
}
