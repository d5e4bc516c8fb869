//! The organization settings form: well-known organization variables (how automations treat
//! a customer: default PSA and RMM, ticket board and statuses, licence rules…), each with a
//! definition, shown with its resolved value and where it comes from, and saved after
//! validation — PSA references against ConnectWise's live lists.
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use entity::org_variable;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::Value;
use uuid::Uuid;

use super::organizations::{self, Org};
use super::pack_configs::{self, PackConfig};
use super::variables::{self, Variable};
use super::{Store, pods};
use crate::auth::{Access, Actor};
use crate::connectwise::client::CwError;
use crate::error::{AppError, AppResult, ValidationError};

/// The type of a setting's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Text,
    Boolean,
    Number,
    Email,
    /// One of `choices`.
    Choice,
    /// An id from a ConnectWise list.
    PsaReference,
    /// Several ids from a ConnectWise list, stored comma-separated.
    PsaReferenceList,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Text => "text",
            Kind::Boolean => "boolean",
            Kind::Number => "number",
            Kind::Email => "email",
            Kind::Choice => "choice",
            Kind::PsaReference => "psa_reference",
            Kind::PsaReferenceList => "psa_reference_list",
        }
    }
}

/// The ConnectWise list a PSA reference's choices come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PsaList {
    Boards,
    /// The statuses of the board chosen in `psa_default_board_id`.
    BoardStatuses,
    Priorities,
    Members,
    ContactTypes,
    CompanyStatuses,
    CompanyTypes,
}

impl PsaList {
    pub fn as_str(self) -> &'static str {
        match self {
            PsaList::Boards => "boards",
            PsaList::BoardStatuses => "board_statuses",
            PsaList::Priorities => "priorities",
            PsaList::Members => "members",
            PsaList::ContactTypes => "contact_types",
            PsaList::CompanyStatuses => "company_statuses",
            PsaList::CompanyTypes => "company_types",
        }
    }
}

/// A well-known organization variable.
#[derive(Clone, Debug)]
pub struct Definition {
    pub name: &'static str,
    pub label: &'static str,
    pub help: &'static str,
    pub section: &'static str,
    pub kind: Kind,
    pub choices: &'static [(&'static str, &'static str)],
    pub default: Option<&'static str>,
    pub psa_list: Option<PsaList>,
}

pub const SECTIONS: [&str; 5] = ["General", "PSA", "M365", "Licensing", "Other"];

const fn def(
    name: &'static str,
    label: &'static str,
    help: &'static str,
    section: &'static str,
    kind: Kind,
) -> Definition {
    Definition {
        name,
        label,
        help,
        section,
        kind,
        choices: &[],
        default: None,
        psa_list: None,
    }
}

const fn choice(
    d: Definition,
    choices: &'static [(&'static str, &'static str)],
    default: Option<&'static str>,
) -> Definition {
    Definition {
        choices,
        default,
        ..d
    }
}

const fn psa(d: Definition, list: PsaList) -> Definition {
    Definition {
        psa_list: Some(list),
        ..d
    }
}

const fn with_default(d: Definition, default: &'static str) -> Definition {
    Definition {
        default: Some(default),
        ..d
    }
}

/// The catalog, in form order.
pub const DEFINITIONS: &[Definition] = &[
    choice(
        def(
            "default_psa",
            "Default PSA",
            "Where automations open and update tickets for this customer.",
            "General",
            Kind::Choice,
        ),
        &[
            ("cw_manage", "ConnectWise PSA"),
            ("datto_psa", "Datto Autotask PSA"),
            ("halo_psa", "HaloPSA"),
            ("mail_only", "E-mail only"),
        ],
        Some("cw_manage"),
    ),
    choice(
        def(
            "default_rmm",
            "Default RMM",
            "The remote monitoring and management tool that manages this customer's devices.",
            "General",
            Kind::Choice,
        ),
        &[
            ("cw_automate", "ConnectWise Automate"),
            ("datto_rmm", "Datto RMM"),
            ("ninjaone", "NinjaOne"),
            ("n_able", "N-able"),
            ("kaseya_vsa", "Kaseya VSA"),
            ("none", "None"),
        ],
        None,
    ),
    choice(
        def(
            "primary_identity_provider",
            "Primary identity provider",
            "Where the customer's user accounts live.",
            "General",
            Kind::Choice,
        ),
        &[
            ("entra_id", "Microsoft Entra ID"),
            ("on_prem_ad", "On-premises Active Directory"),
            ("google_workspace", "Google Workspace"),
            ("jumpcloud", "JumpCloud"),
            ("okta", "Okta"),
        ],
        None,
    ),
    psa(
        def(
            "psa_default_board_id",
            "Default ticket board",
            "The board new tickets go to.",
            "PSA",
            Kind::PsaReference,
        ),
        PsaList::Boards,
    ),
    psa(
        def(
            "psa_default_ticket_status",
            "Default ticket status",
            "The status of new tickets (a status of the default board).",
            "PSA",
            Kind::PsaReference,
        ),
        PsaList::BoardStatuses,
    ),
    psa(
        def(
            "psa_ticket_status_waiting_input",
            "Status while waiting for input",
            "Set while an automation waits for the customer.",
            "PSA",
            Kind::PsaReference,
        ),
        PsaList::BoardStatuses,
    ),
    psa(
        def(
            "psa_ticket_status_completed_task",
            "Status when a task is completed",
            "Set when an automation finished its work.",
            "PSA",
            Kind::PsaReference,
        ),
        PsaList::BoardStatuses,
    ),
    psa(
        def(
            "psa_default_ticket_priority",
            "Default ticket priority",
            "The priority of new tickets.",
            "PSA",
            Kind::PsaReference,
        ),
        PsaList::Priorities,
    ),
    psa(
        def(
            "psa_default_tech_id",
            "Default technician",
            "The member tickets are assigned to.",
            "PSA",
            Kind::PsaReference,
        ),
        PsaList::Members,
    ),
    with_default(
        def(
            "psa_no_ticket_time",
            "Do not add time to tickets",
            "When true, automations add no time entries to tickets.",
            "PSA",
            Kind::Boolean,
        ),
        "false",
    ),
    psa(
        def(
            "psa_vip_contact_type",
            "VIP contact type",
            "Contacts of this type are treated as VIPs.",
            "PSA",
            Kind::PsaReference,
        ),
        PsaList::ContactTypes,
    ),
    psa(
        def(
            "psa_active_customer_statuses",
            "Active customer statuses",
            "Company statuses that count as an active customer.",
            "PSA",
            Kind::PsaReferenceList,
        ),
        PsaList::CompanyStatuses,
    ),
    psa(
        def(
            "psa_active_customer_types",
            "Active customer types",
            "Company types that count as a customer.",
            "PSA",
            Kind::PsaReferenceList,
        ),
        PsaList::CompanyTypes,
    ),
    def(
        "new_user_approval_email",
        "New-user approval e-mail",
        "Who approves new user accounts.",
        "M365",
        Kind::Email,
    ),
    def(
        "mandatory_license_groups",
        "Mandatory licence groups",
        "Groups every new user joins (comma-separated).",
        "M365",
        Kind::Text,
    ),
    choice(
        def(
            "microsoft_license_distributor",
            "Microsoft licence distributor",
            "Where licences are bought.",
            "M365",
            Kind::Choice,
        ),
        &[
            ("pax8", "Pax8"),
            ("ingram_micro", "Ingram Micro"),
            ("td_synnex", "TD SYNNEX"),
            ("direct", "Direct (Microsoft)"),
            ("other", "Other"),
        ],
        None,
    ),
    choice(
        def(
            "user_start_date_behaviour",
            "Start-date behaviour",
            "What happens to a new user's account before their start date.",
            "M365",
            Kind::Choice,
        ),
        &[
            (
                "create_disabled",
                "Create now, disabled until the start date",
            ),
            ("create_on_start_date", "Create on the start date"),
            ("create_enabled", "Create now, enabled"),
        ],
        Some("create_disabled"),
    ),
    with_default(
        def(
            "license_purchase_requires_approval",
            "Licence purchases need approval",
            "Ask before buying a licence.",
            "Licensing",
            Kind::Boolean,
        ),
        "true",
    ),
    with_default(
        def(
            "license_purchase_new_ticket",
            "Open a ticket for licence purchases",
            "Each purchase gets its own ticket.",
            "Licensing",
            Kind::Boolean,
        ),
        "false",
    ),
    psa(
        def(
            "license_ticket_board_id",
            "Licence ticket board",
            "The board licence tickets go to.",
            "Licensing",
            Kind::PsaReference,
        ),
        PsaList::Boards,
    ),
    def(
        "preferred_domain_controller",
        "Preferred domain controller",
        "Host name automations talk to.",
        "Other",
        Kind::Text,
    ),
    def(
        "onprem_exchange_server",
        "On-premises Exchange server",
        "Host name of the Exchange server, if any.",
        "Other",
        Kind::Text,
    ),
    choice(
        def(
            "preferred_phone_number_format",
            "Phone number format",
            "How phone numbers are written.",
            "Other",
            Kind::Choice,
        ),
        &[
            ("e164", "+15551234567"),
            ("national", "(555) 123-4567"),
            ("dashed", "555-123-4567"),
            ("dotted", "555.123.4567"),
        ],
        Some("e164"),
    ),
];

pub fn definition(name: &str) -> Option<&'static Definition> {
    DEFINITIONS.iter().find(|d| d.name == name)
}

/// One choice of a list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Choice {
    pub value: String,
    pub label: String,
}

/// ConnectWise lists, kept a minute per config (a form is opened, changed, saved).
#[derive(Default, Debug)]
pub struct OptionsCache {
    lists: Mutex<HashMap<ListKey, (Vec<Choice>, Instant)>>,
}

/// (config, the list's path).
type ListKey = (Uuid, String);

const OPTIONS_TTL: Duration = Duration::from_secs(60);

fn choices_of(items: &[Value], label: impl Fn(&Value) -> String) -> Vec<Choice> {
    items
        .iter()
        .filter_map(|v| {
            Some(Choice {
                value: v["id"].as_i64()?.to_string(),
                label: label(v),
            })
        })
        .collect()
}

fn name_or(v: &Value, key: &str) -> String {
    v[key]
        .as_str()
        .or_else(|| v["name"].as_str())
        .unwrap_or("")
        .to_owned()
}

/// The choices of a ConnectWise list (`board`: for board statuses).
async fn psa_options(
    store: &Store,
    config: &PackConfig,
    list: PsaList,
    board: Option<&str>,
) -> Result<Vec<Choice>, String> {
    let path = match list {
        PsaList::Boards => "service/boards".to_owned(),
        PsaList::BoardStatuses => match board.and_then(|b| b.trim().parse::<i64>().ok()) {
            Some(b) => format!("service/boards/{b}/statuses"),
            None => return Err("choose the default ticket board first".into()),
        },
        PsaList::Priorities => "service/priorities".to_owned(),
        PsaList::Members => "system/members".to_owned(),
        PsaList::ContactTypes => "company/contacts/types".to_owned(),
        PsaList::CompanyStatuses => "company/companies/statuses".to_owned(),
        PsaList::CompanyTypes => "company/companies/types".to_owned(),
    };
    let key = (config.id, path.clone());
    if let Some((cached, at)) = store
        .settings_cache
        .lists
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&key)
        .cloned()
        && at.elapsed() < OPTIONS_TTL
    {
        return Ok(cached);
    }
    let client = pack_configs::connectwise_client(store, config).map_err(|e| e.client_message())?;
    let items = client
        .get_all(&path, None, 1000)
        .await
        .map_err(|e: CwError| format!("ConnectWise: {e}"))?;
    let choices = match list {
        PsaList::Members => choices_of(&items, |v| {
            format!(
                "{} {} ({})",
                v["firstName"].as_str().unwrap_or(""),
                v["lastName"].as_str().unwrap_or(""),
                v["identifier"].as_str().unwrap_or("")
            )
            .trim()
            .to_owned()
        }),
        PsaList::ContactTypes => choices_of(&items, |v| name_or(v, "description")),
        _ => choices_of(&items, |v| name_or(v, "name")),
    };
    store
        .settings_cache
        .lists
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(key, (choices.clone(), Instant::now()));
    Ok(choices)
}

/// Where a setting's value comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    Own,
    /// From an organization above (a cascading variable).
    Inherited(Uuid),
    Default,
    Unset,
}

impl Source {
    pub fn as_str(&self) -> &'static str {
        match self {
            Source::Own => "own",
            Source::Inherited(_) => "inherited",
            Source::Default => "default",
            Source::Unset => "unset",
        }
    }
}

#[derive(Clone)]
pub struct Field {
    pub definition: &'static Definition,
    pub value: Option<String>,
    pub source: Source,
    /// PSA references: the live choices, or why there are none.
    pub options: Option<Result<Vec<Choice>, String>>,
}

pub struct Form {
    pub org: Org,
    pub config: Option<PackConfig>,
    pub sections: Vec<(&'static str, Vec<Field>)>,
}

/// The ConnectWise config of the form: the given one (usable by the org), else the org's.
async fn form_config(
    store: &Store,
    actor: &Actor,
    org: &Org,
    config_id: Option<Uuid>,
) -> AppResult<Option<PackConfig>> {
    match config_id {
        Some(id) => {
            let (c, _) = pack_configs::get(store, actor, id).await?;
            if !pack_configs::usable_by(&store.db, org, id).await? || c.pack_id != "connectwise-psa"
            {
                return Err(AppError::invalid(
                    "packConfigId",
                    "NOT_FOUND",
                    "is not a ConnectWise config of this organization or of one above it",
                ));
            }
            Ok(Some(c))
        }
        None => Ok(pods::pod_config(store, org.id).await?.map(|(_, c)| c)),
    }
}

/// The resolved well-known variables of an org, by name.
async fn resolved(store: &Store, org: &Org) -> AppResult<HashMap<String, Variable>> {
    let ids = variables::resolved_ids(store, org).await?;
    let names: Vec<&str> = DEFINITIONS.iter().map(|d| d.name).collect();
    Ok(org_variable::Entity::find()
        .filter(org_variable::Column::Id.is_in(ids))
        .filter(org_variable::Column::Name.is_in(names))
        .all(&store.db)
        .await?
        .into_iter()
        .map(|v| (v.name.clone(), v))
        .collect())
}

/// `orgSettingsForm`.
pub async fn form(
    store: &Store,
    actor: &Actor,
    org_id: Uuid,
    config_id: Option<Uuid>,
) -> AppResult<Form> {
    let org = organizations::visible(store, actor, org_id).await?;
    let config = form_config(store, actor, &org, config_id).await?;
    let values = resolved(store, &org).await?;
    let value_of = |name: &str| -> (Option<String>, Source) {
        match values.get(name) {
            Some(v) if variables::is_secret(v) => (Some("********".into()), Source::Own),
            Some(v) if v.org_id == org.id => (v.value.clone(), Source::Own),
            Some(v) => (v.value.clone(), Source::Inherited(v.org_id)),
            None => match definition(name).and_then(|d| d.default) {
                Some(d) => (Some(d.to_owned()), Source::Default),
                None => (None, Source::Unset),
            },
        }
    };
    let board = value_of("psa_default_board_id").0;
    let mut sections = Vec::new();
    for section in SECTIONS {
        let mut fields = Vec::new();
        for d in DEFINITIONS.iter().filter(|d| d.section == section) {
            let (value, source) = value_of(d.name);
            let options = match (d.psa_list, &config) {
                (None, _) => None,
                (Some(_), None) => Some(Err(
                    "no ConnectWise integration for this organization".to_owned()
                )),
                (Some(list), Some(c)) => Some(psa_options(store, c, list, board.as_deref()).await),
            };
            fields.push(Field {
                definition: d,
                value,
                source,
                options,
            });
        }
        sections.push((section, fields));
    }
    Ok(Form {
        org,
        config,
        sections,
    })
}

fn invalid(name: &str, code: &'static str, message: impl Into<String>) -> ValidationError {
    ValidationError::new(format!("values.{name}"), code, message)
}

/// A value as stored (text), or why it is not one.
fn normalized(d: &Definition, v: &Value) -> Result<Option<String>, ValidationError> {
    let text = |v: &Value| -> Option<String> {
        match v {
            Value::String(s) => Some(s.trim().to_owned()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    };
    if v.is_null() {
        return Ok(None);
    }
    match d.kind {
        Kind::Boolean => match v {
            Value::Bool(b) => Ok(Some(b.to_string())),
            Value::String(s) if s == "true" || s == "false" => Ok(Some(s.clone())),
            _ => Err(invalid(d.name, "INVALID_FORMAT", "must be true or false")),
        },
        Kind::Number => text(v)
            .filter(|s| s.parse::<f64>().is_ok_and(f64::is_finite))
            .map(Some)
            .ok_or_else(|| invalid(d.name, "INVALID_FORMAT", "must be a number")),
        Kind::Email => {
            let s = text(v).unwrap_or_default();
            let ok = s.split_once('@').is_some_and(|(user, host)| {
                !user.is_empty()
                    && host.contains('.')
                    && !host.starts_with('.')
                    && !s.contains(char::is_whitespace)
            });
            if ok && s.len() <= 254 {
                Ok(Some(s))
            } else {
                Err(invalid(
                    d.name,
                    "INVALID_FORMAT",
                    "must be an e-mail address",
                ))
            }
        }
        Kind::Choice => {
            let s = text(v).unwrap_or_default();
            if d.choices.iter().any(|(c, _)| *c == s) {
                Ok(Some(s))
            } else {
                let all: Vec<&str> = d.choices.iter().map(|(c, _)| *c).collect();
                Err(invalid(
                    d.name,
                    "INVALID_FORMAT",
                    format!("must be one of {}", all.join(", ")),
                ))
            }
        }
        Kind::PsaReference => text(v)
            .filter(|s| s.parse::<i64>().is_ok_and(|i| i > 0))
            .map(Some)
            .ok_or_else(|| invalid(d.name, "INVALID_FORMAT", "must be a ConnectWise id")),
        Kind::PsaReferenceList => {
            let items: Vec<String> = match v {
                Value::Array(a) => a.iter().filter_map(text).collect(),
                other => text(other)
                    .unwrap_or_default()
                    .split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect(),
            };
            if items.iter().all(|s| s.parse::<i64>().is_ok_and(|i| i > 0)) {
                Ok(Some(items.join(",")))
            } else {
                Err(invalid(
                    d.name,
                    "INVALID_FORMAT",
                    "must be a list of ConnectWise ids",
                ))
            }
        }
        Kind::Text => match text(v) {
            Some(s) if s.chars().count() <= 1000 => Ok(Some(s)),
            Some(_) => Err(invalid(
                d.name,
                "MAX_LENGTH_EXCEEDED",
                "must be at most 1000 characters",
            )),
            None => Err(invalid(d.name, "INVALID_FORMAT", "must be text")),
        },
    }
}

/// `saveOrgSettings`: every value checked against its definition (PSA references against
/// ConnectWise's lists); then all written in one transaction. `null` removes the org's own
/// value (the inherited or default one shows again).
pub async fn save(
    store: &Store,
    actor: &Actor,
    org_id: Uuid,
    values: &Value,
    cascade: Option<bool>,
) -> AppResult<Vec<Variable>> {
    let org = organizations::visible(store, actor, org_id).await?;
    actor.check(&org, Access::Write)?;
    let Some(obj) = values.as_object() else {
        return Err(AppError::invalid(
            "values",
            "INVALID_FORMAT",
            "must be an object of name: value",
        ));
    };
    let mut errors = Vec::new();
    let mut entries: Vec<(&'static Definition, Option<String>)> = Vec::new();
    for (name, v) in obj {
        match definition(name) {
            None => errors.push(invalid(
                name,
                "UNKNOWN_FIELD",
                "is not a setting (see orgVariableDefinitions)",
            )),
            Some(d) => match normalized(d, v) {
                Ok(value) => entries.push((d, value)),
                Err(e) => errors.push(e),
            },
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    // PSA references must exist in ConnectWise.
    if entries
        .iter()
        .any(|(d, v)| d.psa_list.is_some() && v.is_some())
    {
        let config = form_config(store, actor, &org, None)
            .await?
            .ok_or_else(|| {
                AppError::invalid(
                    "values",
                    "NOT_FOUND",
                    "PSA settings need a ConnectWise integration for this organization",
                )
            })?;
        let current = resolved(store, &org).await?;
        let board = entries
            .iter()
            .find(|(d, _)| d.name == "psa_default_board_id")
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| {
                current
                    .get("psa_default_board_id")
                    .and_then(|v| v.value.clone())
            });
        for (d, value) in &entries {
            let (Some(list), Some(value)) = (d.psa_list, value) else {
                continue;
            };
            let options = psa_options(store, &config, list, board.as_deref())
                .await
                .map_err(|e| AppError::invalid(format!("values.{}", d.name), "NOT_FOUND", e))?;
            for id in value.split(',') {
                if !options.iter().any(|o| o.value == id) {
                    errors.push(invalid(
                        d.name,
                        "NOT_FOUND",
                        format!(
                            "ConnectWise has no {} with id {id}",
                            list.as_str().trim_end_matches('s').replace('_', " ")
                        ),
                    ));
                }
            }
        }
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
    }
    let entries: Vec<(String, Option<String>)> = entries
        .into_iter()
        .map(|(d, v)| (d.name.to_owned(), v))
        .collect();
    variables::save_settings(store, actor, &org, &entries, cascade).await
}

/// A path under the API base, or why not: relative, no `..`, no scheme or host, no query.
fn confined(path: &str) -> Result<String, ValidationError> {
    let p = path.trim();
    let bad = |why: &str| ValidationError::new("path", "INVALID_FORMAT", why.to_owned());
    if p.is_empty() {
        return Err(ValidationError::new(
            "path",
            "REQUIRED_FIELD",
            "is required",
        ));
    }
    if p.contains("://") || p.starts_with("//") || p.contains('\\') {
        return Err(bad("must be a path under the API base, not a URL"));
    }
    if p.contains(['?', '#']) {
        return Err(bad("put the query in `query`"));
    }
    if p.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(bad("must not contain spaces or control characters"));
    }
    let p = p.trim_start_matches('/');
    if p.split('/').any(|seg| {
        seg == ".."
            || seg == "."
            || seg.contains("%2e")
            || seg.contains("%2E")
            || seg.contains("%2f")
            || seg.contains("%2F")
    }) {
        return Err(bad("must not leave the API base"));
    }
    Ok(p.to_owned())
}

/// `connectWiseRequest`: any ConnectWise endpoint with a config's stored credentials
/// (members and admins; the keys never leave the server). Logged with who made it.
pub async fn connectwise_request(
    store: &Store,
    actor: &Actor,
    config_id: Uuid,
    method: &str,
    path: &str,
    query: Option<&Value>,
    body: Option<&Value>,
) -> AppResult<Value> {
    let (config, _) = pack_configs::get(store, actor, config_id).await?;
    if !actor.has(Access::Write) {
        return Err(AppError::Forbidden);
    }
    if config.pack_id != "connectwise-psa" {
        return Err(AppError::invalid(
            "packConfigId",
            "NOT_SUPPORTED",
            "is not a ConnectWise config",
        ));
    }
    let mut errors = Vec::new();
    let method = match method.trim().to_ascii_uppercase().as_str() {
        "GET" => Some(reqwest::Method::GET),
        "POST" => Some(reqwest::Method::POST),
        "PUT" => Some(reqwest::Method::PUT),
        "PATCH" => Some(reqwest::Method::PATCH),
        "DELETE" => Some(reqwest::Method::DELETE),
        _ => {
            errors.push(ValidationError::new(
                "method",
                "INVALID_FORMAT",
                "must be GET, POST, PUT, PATCH or DELETE",
            ));
            None
        }
    };
    let path = confined(path).map_err(|e| errors.push(e)).ok();
    let mut pairs = Vec::new();
    match query {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => {
            for (k, v) in m {
                match v {
                    Value::String(s) => pairs.push((k.clone(), s.clone())),
                    Value::Number(n) => pairs.push((k.clone(), n.to_string())),
                    Value::Bool(b) => pairs.push((k.clone(), b.to_string())),
                    _ => errors.push(ValidationError::new(
                        format!("query.{k}"),
                        "INVALID_FORMAT",
                        "must be text, a number or a boolean",
                    )),
                }
            }
        }
        Some(_) => errors.push(ValidationError::new(
            "query",
            "INVALID_FORMAT",
            "must be an object",
        )),
    }
    let (Some(method), Some(path)) = (method, path) else {
        return Err(AppError::Invalid(errors));
    };
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    if !pack_configs::missing_fields(&config).is_empty() {
        return Err(AppError::invalid(
            "packConfigId",
            "INCOMPLETE_CONFIG",
            "the config is not complete",
        ));
    }
    let client = pack_configs::connectwise_client(store, &config)?;
    let answer = client
        .raw(method.clone(), &path, &pairs, body.filter(|b| !b.is_null()))
        .await
        .map_err(|e| AppError::Conflict(format!("ConnectWise did not answer: {e}")))?;
    tracing::info!(
        target: "orghub::audit",
        user = %actor.username, user_id = %actor.user_id, pack_config = %config.id,
        %method, %path, status = answer.status,
        "connectWiseRequest"
    );
    Ok(serde_json::json!({
        "status": answer.status,
        "headers": { "link": answer.link },
        "body": answer.body,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_under_the_api_base() {
        assert_eq!(confined("/company/companies").unwrap(), "company/companies");
        assert_eq!(
            confined("service/tickets/5/notes").unwrap(),
            "service/tickets/5/notes"
        );
        for bad in [
            "",
            "../login",
            "company/../../x",
            "https://evil/x",
            "//evil/x",
            "a?b=1",
            "a b",
            "a/%2e%2e/b",
            "a\\b",
        ] {
            assert!(confined(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn values_are_checked_against_their_definition() {
        let d = |n: &str| definition(n).unwrap();
        assert_eq!(
            normalized(d("psa_no_ticket_time"), &serde_json::json!(true)).unwrap(),
            Some("true".into())
        );
        assert!(normalized(d("psa_no_ticket_time"), &serde_json::json!("yes")).is_err());
        assert!(normalized(d("default_psa"), &serde_json::json!("excel")).is_err());
        assert_eq!(
            normalized(d("default_psa"), &serde_json::json!("halo_psa")).unwrap(),
            Some("halo_psa".into())
        );
        assert!(normalized(d("new_user_approval_email"), &serde_json::json!("nobody")).is_err());
        assert_eq!(
            normalized(
                d("psa_active_customer_statuses"),
                &serde_json::json!([1, "2"])
            )
            .unwrap(),
            Some("1,2".into())
        );
        assert!(normalized(d("psa_default_board_id"), &serde_json::json!("abc")).is_err());
        assert_eq!(
            normalized(d("default_rmm"), &serde_json::Value::Null).unwrap(),
            None
        );
        assert!(DEFINITIONS.iter().all(|d| SECTIONS.contains(&d.section)));
    }
}
