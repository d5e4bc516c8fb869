//! Packs: the integration kinds orghub knows (a catalog in code), which organizations
//! installed them, and tags on packs. Uninstalling keeps configs and mappings, so a
//! reinstall finds them again.
use std::collections::{HashMap, HashSet};

use entity::{pack_installation as installation, pack_tag, tag};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder,
};
use serde_json::{Value, json};
use uuid::Uuid;

use super::filter::Cmp;
use super::organizations::{self, Org, OrgFilter};
use super::tags::{self, Tag};
use super::{Store, now};
use crate::auth::{Access, Actor};
use crate::error::{AppError, AppResult};

/// How a config field is entered and checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldKind {
    Text,
    /// A host name such as `na.myconnectwise.net` (no scheme, no path).
    Host,
    /// A URL (`https://…`).
    Url,
    /// ConnectWise `conditions` text.
    Conditions,
    /// `true` or `false`.
    Boolean,
}

#[derive(Debug)]
pub struct PackField {
    pub name: &'static str,
    pub label: &'static str,
    pub kind: FieldKind,
    /// Stored encrypted, never shown again.
    pub secret: bool,
    /// Needed for the integration to work (a config lacking one is incomplete, not invalid).
    pub required: bool,
    pub help: &'static str,
}

#[derive(Debug)]
pub struct PackSpec {
    pub id: &'static str,
    pub reference: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub pack_type: &'static str,
    pub version: &'static str,
    /// The `system` org variable a mapping to this PSA writes.
    pub mapping_variable: &'static str,
    pub categories: &'static [&'static str],
    pub fields: &'static [PackField],
    pub setup_instructions: &'static str,
    /// The organization a custom pack belongs to (none for the catalog's).
    pub owner_org: Option<Uuid>,
}

const fn field(
    name: &'static str,
    label: &'static str,
    kind: FieldKind,
    secret: bool,
    required: bool,
    help: &'static str,
) -> PackField {
    PackField {
        name,
        label,
        kind,
        secret,
        required,
        help,
    }
}

/// Every pack orghub offers.
pub const CATALOG: &[PackSpec] = &[
    PackSpec {
        id: "connectwise-psa",
        reference: "connectwise_psa",
        name: "ConnectWise PSA",
        description: "ConnectWise PSA (Manage): companies, configurations and tickets; pods on ticket screens.",
        pack_type: "PSA",
        version: "1.0.0",
        mapping_variable: "cw_manage_company_id",
        categories: &["PSA"],
        fields: &[
            field(
                "hostname",
                "Site",
                FieldKind::Host,
                false,
                true,
                "e.g. na.myconnectwise.net or your on-premises host",
            ),
            field(
                "company_id",
                "Company ID",
                FieldKind::Text,
                false,
                true,
                "the company you sign in with",
            ),
            field(
                "member_id",
                "API member ID",
                FieldKind::Text,
                false,
                false,
                "the API member the keys belong to",
            ),
            field(
                "public_key",
                "Public key",
                FieldKind::Text,
                false,
                true,
                "of the API member's key pair",
            ),
            field(
                "private_key",
                "Private key",
                FieldKind::Text,
                true,
                true,
                "of the API member's key pair",
            ),
            field(
                "client_id",
                "Client ID",
                FieldKind::Text,
                false,
                true,
                "from developer.connectwise.com",
            ),
            field(
                "company_conditions",
                "Company query conditions",
                FieldKind::Conditions,
                false,
                false,
                "which companies to list, e.g. status/name = \"Active\"",
            ),
        ],
        owner_org: None,
        setup_instructions: "Create an API member in ConnectWise (System > Members > API Members) with a security role that can read companies, configurations and tickets, generate its API keys, and enter them here with your company id, site and client id.",
    },
    PackSpec {
        id: "datto-autotask-psa",
        reference: "datto_autotask_psa",
        name: "Datto Autotask PSA",
        description: "Datto Autotask PSA: companies (accounts) and tickets.",
        pack_type: "PSA",
        version: "1.0.0",
        mapping_variable: "datto_company_id",
        categories: &["PSA"],
        fields: &[
            field(
                "username",
                "API user name",
                FieldKind::Text,
                false,
                true,
                "an API-only user",
            ),
            field(
                "secret",
                "Secret",
                FieldKind::Text,
                true,
                true,
                "the API user's secret",
            ),
            field(
                "integration_code",
                "Tracking identifier",
                FieldKind::Text,
                true,
                true,
                "the API tracking identifier",
            ),
            field(
                "zone_url",
                "Zone URL",
                FieldKind::Url,
                false,
                false,
                "found automatically when empty",
            ),
        ],
        owner_org: None,
        setup_instructions: "Create an API-only user in Autotask (Admin > Resources/Users) with the API tracking identifier of your integration, and enter its user name, secret and tracking identifier here.",
    },
    PackSpec {
        id: "halopsa",
        reference: "halopsa",
        name: "HaloPSA",
        description: "HaloPSA: clients and tickets.",
        pack_type: "PSA",
        version: "1.0.0",
        mapping_variable: "halo_psa_client_id",
        categories: &["PSA"],
        fields: &[
            field(
                "resource_server_url",
                "Resource server",
                FieldKind::Url,
                false,
                true,
                "e.g. https://yourcompany.halopsa.com/api",
            ),
            field(
                "authorisation_server_url",
                "Authorisation server",
                FieldKind::Url,
                false,
                false,
                "e.g. https://yourcompany.halopsa.com/auth; empty: the resource server's /auth",
            ),
            field(
                "client_id",
                "Client ID",
                FieldKind::Text,
                false,
                true,
                "of an application using client credentials",
            ),
            field(
                "client_secret",
                "Client secret",
                FieldKind::Text,
                true,
                true,
                "of that application",
            ),
            field(
                "tenant",
                "Tenant",
                FieldKind::Text,
                false,
                false,
                "for hosted HaloPSA instances",
            ),
            field(
                "on_premise",
                "On-premises",
                FieldKind::Boolean,
                false,
                false,
                "true when HaloPSA runs on your own server (no tenant is sent)",
            ),
        ],
        owner_org: None,
        setup_instructions: "In HaloPSA, create an application (Configuration > Integrations > HaloPSA API > Applications) with the client-credentials flow and the read:customers and read:tickets permissions, and enter its URLs, client id and secret here.",
    },
];

pub fn spec(id: &str) -> Option<&'static PackSpec> {
    CATALOG
        .iter()
        .find(|p| p.id == id || p.reference == id)
        .or_else(|| {
            custom_registry()
                .values()
                .copied()
                .find(|p| p.id == id || p.reference == id)
        })
}

/// The custom packs this process knows, by id (`custom-<uuid>`), as specs like the
/// catalog's. A spec is leaked when registered: one small allocation per creation or change
/// of a custom pack, which keeps `&'static PackSpec` the one way every part reads a pack.
fn custom_registry() -> std::sync::RwLockReadGuard<'static, HashMap<String, &'static PackSpec>> {
    CUSTOM.read().unwrap_or_else(|e| e.into_inner())
}

static CUSTOM: std::sync::LazyLock<std::sync::RwLock<HashMap<String, &'static PackSpec>>> =
    std::sync::LazyLock::new(Default::default);

/// Makes a custom pack known (or replaces it); returns its spec.
pub(crate) fn register_custom(spec: PackSpec) -> &'static PackSpec {
    let spec: &'static PackSpec = Box::leak(Box::new(spec));
    CUSTOM
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .insert(spec.id.to_owned(), spec);
    spec
}

pub(crate) fn unregister_custom(id: &str) {
    CUSTOM.write().unwrap_or_else(|e| e.into_inner()).remove(id);
}

/// The custom packs known to this process.
pub fn custom_specs() -> Vec<&'static PackSpec> {
    let mut all: Vec<&'static PackSpec> = custom_registry().values().copied().collect();
    all.sort_by_key(|p| p.name.to_lowercase());
    all
}

/// The pack or `NOT_FOUND` naming the field.
pub fn require_spec(field: &str, id: &str) -> AppResult<&'static PackSpec> {
    spec(id.trim()).ok_or_else(|| {
        AppError::invalid(field, "NOT_FOUND", format!("no pack `{id}`; see `packs`"))
    })
}

impl PackSpec {
    /// JSON Schema of the config: field types, which are required, which are secret.
    pub fn config_schema(&self) -> Value {
        let properties: serde_json::Map<String, Value> = self
            .fields
            .iter()
            .map(|f| {
                let format = match f.kind {
                    FieldKind::Text => None,
                    FieldKind::Host => Some("hostname"),
                    FieldKind::Url => Some("uri"),
                    FieldKind::Conditions => Some("connectwise-conditions"),
                    FieldKind::Boolean => None,
                };
                let mut p = json!({ "type": "string", "title": f.label, "description": f.help, "maxLength": 2000 });
                if let Some(fmt) = format {
                    p["format"] = json!(fmt);
                }
                if f.kind == FieldKind::Boolean {
                    p["enum"] = json!(["true", "false"]);
                }
                if f.secret {
                    p["writeOnly"] = json!(true);
                    p["x-secret"] = json!(true);
                }
                (f.name.to_owned(), p)
            })
            .collect();
        let required: Vec<&str> = self
            .fields
            .iter()
            .filter(|f| f.required)
            .map(|f| f.name)
            .collect();
        json!({ "type": "object", "properties": properties, "required": required, "additionalProperties": false })
    }

    /// What a form needs to draw the config: the fields in order.
    pub fn config_form_schema(&self) -> Value {
        json!({
            "fields": self.fields.iter().map(|f| json!({
                "name": f.name, "label": f.label, "help": f.help, "secret": f.secret, "required": f.required,
                "input": if f.secret { "password" } else if f.kind == FieldKind::Conditions { "textarea" } else if f.kind == FieldKind::Boolean { "checkbox" } else { "text" },
            })).collect::<Vec<_>>()
        })
    }

    pub fn org_variables(&self) -> Value {
        json!([{ "name": self.mapping_variable, "category": "system", "description": format!("the org's company in {}", self.name) }])
    }

    pub fn field(&self, name: &str) -> Option<&PackField> {
        self.fields.iter().find(|f| f.name == name)
    }
}

/// Text fields of a pack a filter can compare.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PackAttr {
    Id,
    Name,
    Ref,
    Description,
    PackType,
    Status,
    Uid,
    Version,
}

/// Conditions on packs of the catalog.
#[derive(Clone, Debug, Default)]
pub struct PackFilter {
    pub preds: Vec<(PackAttr, Cmp)>,
    /// `isOauthConfiguration`: none of ours are OAuth configurations.
    pub oauth: Option<bool>,
    /// Packs installed by at least one org that matches.
    pub installed_by: Option<Box<OrgFilter>>,
}

impl PackFilter {
    /// Whether a catalog pack meets the plain conditions (not `installedBy`).
    pub fn matches(&self, p: &PackSpec) -> bool {
        let value = |f: PackAttr| -> &str {
            match f {
                PackAttr::Id | PackAttr::Uid => p.id,
                PackAttr::Name => p.name,
                PackAttr::Ref => p.reference,
                PackAttr::Description => p.description,
                PackAttr::PackType => p.pack_type,
                PackAttr::Status => "published",
                PackAttr::Version => p.version,
            }
        };
        self.preds
            .iter()
            .all(|(f, c)| c.matches_text(Some(value(*f))))
            && self.oauth.is_none_or(|o| !o)
    }
}

/// Catalog packs matching `filter`, by name (installedBy resolved in the caller's reach).
pub async fn list(
    store: &Store,
    actor: &Actor,
    filter: &PackFilter,
) -> AppResult<Vec<&'static PackSpec>> {
    let installed: Option<HashSet<String>> = match &filter.installed_by {
        None => None,
        Some(orgs) => {
            let page = (store.max_page_size, 0);
            let ids: Vec<Uuid> = organizations::list(store, actor, orgs, &[], page)
                .await?
                .into_iter()
                .map(|o| o.id)
                .collect();
            Some(
                installed_on(store, &ids)
                    .await?
                    .into_values()
                    .flatten()
                    .collect(),
            )
        }
    };
    let mut out: Vec<&PackSpec> = CATALOG
        .iter()
        .filter(|p| filter.matches(p) && installed.as_ref().is_none_or(|set| set.contains(p.id)))
        .collect();
    out.sort_by_key(|p| p.name);
    Ok(out)
}

/// Pack ids installed on each org.
pub async fn installed_on(
    store: &Store,
    org_ids: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<String>>> {
    let rows = installation::Entity::find()
        .filter(installation::Column::OrgId.is_in(org_ids.iter().copied()))
        .order_by_asc(installation::Column::PackId)
        .all(&store.db)
        .await?;
    let mut out: HashMap<Uuid, Vec<String>> = HashMap::new();
    for r in rows {
        out.entry(r.org_id).or_default().push(r.pack_id);
    }
    Ok(out)
}

/// Packs usable by an org: installed on it or on an org above it.
pub async fn for_org(
    store: &Store,
    actor: &Actor,
    org_id: Uuid,
) -> AppResult<Vec<&'static PackSpec>> {
    let org = organizations::visible(store, actor, org_id).await?;
    let lineage: Vec<Uuid> = organizations::lineage(&org.path);
    let ids: HashSet<String> = installed_on(store, &lineage)
        .await?
        .into_values()
        .flatten()
        .collect();
    let mut out: Vec<&PackSpec> = CATALOG.iter().filter(|p| ids.contains(p.id)).collect();
    out.sort_by_key(|p| p.name);
    Ok(out)
}

/// Orgs within the caller's reach that installed `pack_id`.
pub async fn installers(store: &Store, actor: &Actor, pack_id: &str) -> AppResult<Vec<Org>> {
    let rows = installation::Entity::find()
        .filter(installation::Column::PackId.eq(pack_id))
        .all(&store.db)
        .await?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.org_id).collect();
    let mut orgs: Vec<Org> = organizations::by_ids(store, &ids)
        .await?
        .into_values()
        .filter(|o| o.deleted_at.is_none() && actor.sees(o))
        .collect();
    orgs.sort_by(|a, b| a.name_key.cmp(&b.name_key));
    Ok(orgs)
}

/// `installPack`: idempotent.
pub async fn install(
    store: &Store,
    actor: &Actor,
    org_id: Uuid,
    pack_id: &str,
    name: Option<&str>,
) -> AppResult<Org> {
    let spec = require_spec("packId", pack_id)?;
    let org = organizations::visible(store, actor, org_id).await?;
    actor.check(&org, Access::Write)?;
    let existing = installation::Entity::find()
        .filter(installation::Column::OrgId.eq(org.id))
        .filter(installation::Column::PackId.eq(spec.id))
        .one(&store.db)
        .await?;
    if existing.is_none() {
        let res = installation::ActiveModel {
            id: Set(Uuid::now_v7()),
            org_id: Set(org.id),
            pack_id: Set(spec.id.to_owned()),
            name: Set(name
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_owned)),
            installed_by_id: Set(Some(actor.user_id)),
            created_at: Set(now()),
        }
        .insert(&store.db)
        .await;
        // A concurrent install of the same pack is the same outcome.
        if let Err(e) = res
            && super::unique_violation(&e).is_none()
        {
            return Err(e.into());
        }
    }
    Ok(org)
}

/// `uninstallPack`: the orgs (default: the caller's) no longer list the pack; their configs
/// and mappings stay for a reinstall.
pub async fn uninstall(
    store: &Store,
    actor: &Actor,
    pack_id: &str,
    org_ids: &[Uuid],
) -> AppResult<()> {
    let spec = require_spec("packId", pack_id)?;
    let ids = if org_ids.is_empty() {
        vec![actor.org_id]
    } else {
        org_ids.to_vec()
    };
    for id in &ids {
        let org = organizations::visible(store, actor, *id).await?;
        actor.check(&org, Access::Write)?;
    }
    installation::Entity::delete_many()
        .filter(installation::Column::PackId.eq(spec.id))
        .filter(installation::Column::OrgId.is_in(ids))
        .exec(&store.db)
        .await?;
    Ok(())
}

/// `setPackTags`: the tags (the caller may see) a pack carries.
pub async fn set_tags(
    store: &Store,
    actor: &Actor,
    pack_id: &str,
    tag_ids: &[Uuid],
) -> AppResult<&'static PackSpec> {
    let spec = require_spec("packId", pack_id)?;
    actor.require(Access::Write)?;
    let visible: HashSet<Uuid> = tags::list(
        store,
        actor,
        &tags::TagFilter::default().with_ids(tag_ids),
        true,
        &[],
        (store.max_page_size, 0),
    )
    .await?
    .into_iter()
    .map(|t| t.id)
    .collect();
    if let Some(bad) = tag_ids.iter().find(|t| !visible.contains(t)) {
        return Err(AppError::invalid(
            "tagIds",
            "INVALID_TAGS",
            format!("unknown tag {bad}"),
        ));
    }
    let txn = store.begin_write().await?;
    // Only the caller's visible tags are replaced; other tenants' tags on the pack stay.
    let mine = tags::list(
        store,
        actor,
        &tags::TagFilter::default(),
        true,
        &[],
        (u64::MAX >> 1, 0),
    )
    .await?;
    pack_tag::Entity::delete_many()
        .filter(pack_tag::Column::PackId.eq(spec.id))
        .filter(pack_tag::Column::TagId.is_in(mine.iter().map(|t| t.id)))
        .exec(&txn)
        .await?;
    for t in tag_ids.iter().collect::<HashSet<_>>() {
        pack_tag::ActiveModel {
            pack_id: Set(spec.id.to_owned()),
            tag_id: Set(*t),
        }
        .insert(&txn)
        .await?;
    }
    txn.commit().await?;
    Ok(spec)
}

/// Tags on each pack (all of them; the caller filters to what it may see).
pub async fn tags_of(store: &Store, pack_ids: &[String]) -> AppResult<HashMap<String, Vec<Tag>>> {
    let links = pack_tag::Entity::find()
        .filter(pack_tag::Column::PackId.is_in(pack_ids.iter().cloned()))
        .all(&store.db)
        .await?;
    let tags: HashMap<Uuid, Tag> = tag::Entity::find()
        .filter(tag::Column::Id.is_in(links.iter().map(|l| l.tag_id)))
        .order_by_asc(tag::Column::NameKey)
        .all(&store.db)
        .await?
        .into_iter()
        .map(|t| (t.id, t))
        .collect();
    let mut out: HashMap<String, Vec<Tag>> = HashMap::new();
    for l in links {
        if let Some(t) = tags.get(&l.tag_id) {
            out.entry(l.pack_id).or_default().push(t.clone());
        }
    }
    Ok(out)
}

/// Packs carrying each tag.
pub async fn packs_tagged(
    store: &Store,
    tag_ids: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<&'static PackSpec>>> {
    let links = pack_tag::Entity::find()
        .filter(pack_tag::Column::TagId.is_in(tag_ids.iter().copied()))
        .all(&store.db)
        .await?;
    let mut out: HashMap<Uuid, Vec<&PackSpec>> = HashMap::new();
    for l in links {
        if let Some(p) = spec(&l.pack_id) {
            out.entry(l.tag_id).or_default().push(p);
        }
    }
    Ok(out)
}

/// How many orgs within the caller's reach installed each pack.
pub async fn install_counts(store: &Store, actor: &Actor) -> AppResult<HashMap<String, i64>> {
    let rows = installation::Entity::find().all(&store.db).await?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.org_id).collect();
    let orgs = organizations::by_ids(store, &ids).await?;
    let mut out: HashMap<String, i64> = HashMap::new();
    for r in rows {
        if orgs
            .get(&r.org_id)
            .is_some_and(|o| o.deleted_at.is_none() && actor.sees(o))
        {
            *out.entry(r.pack_id).or_default() += 1;
        }
    }
    Ok(out)
}
