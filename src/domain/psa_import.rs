//! Importing organizations straight from the PSA, as a server-side job.
//!
//! The user picks a healthy PSA config (`psaImportSources`), lists its companies
//! (`psaFilterOptions`, `psaOrganizations`, from the refreshed cache), and sends the chosen
//! ones as records with their `externalId`. The records are validated at once (the CSV
//! validator plus the PSA rules), kept with the import in `PROCESSING`, and a job creates the
//! new organizations one by one. Each organization, its mapping variable and its row's "done"
//! mark are one transaction, so a restart in the middle (the job resumes) never creates an
//! organization twice and never leaves one unmapped; a canceled import stops between rows.
use std::collections::{HashMap, HashSet};

use entity::{
    org_variable, organization, organization_import as import, organization_import_record as record,
};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::{Value, json};
use uuid::Uuid;

use super::health::{self, Colour, Health};
use super::imports::{
    self, Category, Import, ImportRow, RowOutcome, categorize, message, parse_enabled,
    record_model, summarize,
};
use super::mapping::{self, PsaCompany};
use super::names::name_key;
use super::organizations::{self, Inserted, NewOrg, Org, OrgValidator};
use super::pack_configs::{self, PackConfig};
use super::packs::{PackSpec, require_spec, spec};
use super::{Store, now, variables};
use crate::auth::{self, Access, Actor};
use crate::error::{AppError, AppResult, ValidationError};
use crate::jobs::{self, JobContext, Outcome};
use crate::psa::{self, FilterOptions};

pub const JOB_KIND: &str = "psa_import";

/// A PSA config an organization can import from, with its health.
#[derive(Clone, Debug)]
pub struct Source {
    pub config: PackConfig,
    pub spec: &'static PackSpec,
    pub health: Health,
}

impl Source {
    pub fn selectable(&self) -> bool {
        self.health.colour == Colour::Green
    }
}

/// `psaImportSources`: the PSA configs the org can use (its own and those above it), with
/// health. Only GREEN ones can be imported from; the reason says why the others cannot.
pub async fn sources(store: &Store, actor: &Actor, org_id: Uuid) -> AppResult<Vec<Source>> {
    let psa_packs: Vec<String> = super::packs::CATALOG
        .iter()
        .filter(|p| p.pack_type == "PSA")
        .map(|p| p.id.to_owned())
        .collect();
    let configs = pack_configs::for_org(store, actor, org_id, &psa_packs).await?;
    let ids: Vec<Uuid> = configs.iter().map(|c| c.id).collect();
    let latest = health::latest(store, &ids).await?;
    Ok(configs
        .into_iter()
        .filter_map(|config| {
            let spec = spec(&config.pack_id)?;
            let mut h = health::health(&config, latest.get(&config.id));
            if !psa::supports(&config.pack_id) {
                h.colour = Colour::Orange;
                h.reason = Some(format!("importing from {} is not available yet", spec.name));
            }
            Some(Source {
                config,
                spec,
                health: h,
            })
        })
        .collect())
}

/// The source named by `config_id` for an import into `org_id`: visible, usable by the
/// org, and GREEN — otherwise a clear error naming `field`.
pub async fn source(
    store: &Store,
    actor: &Actor,
    org_id: Uuid,
    config_id: Uuid,
    field: &str,
    psa_ref: Option<&str>,
) -> AppResult<Source> {
    let org = organizations::visible(store, actor, org_id).await?;
    let (config, _) = pack_configs::get(store, actor, config_id).await?;
    if !pack_configs::usable_by(&store.db, &org, config.id).await? {
        return Err(AppError::invalid(
            field,
            "NOT_FOUND",
            "this config belongs to another organization's tree; use one of psaImportSources",
        ));
    }
    let spec = require_spec(field, &config.pack_id)?;
    if let Some(r) = psa_ref.map(str::trim) {
        let named = super::packs::spec(r).map(|s| s.id);
        if named != Some(spec.id) && !r.eq_ignore_ascii_case(spec.name) {
            return Err(AppError::invalid(
                "psaRef",
                "INVALID_FORMAT",
                format!(
                    "`{r}` does not name this config's PSA ({}: `{}`)",
                    spec.name, spec.reference
                ),
            ));
        }
    }
    let found = sources(store, actor, org_id)
        .await?
        .into_iter()
        .find(|s| s.config.id == config.id)
        .ok_or_else(|| {
            AppError::invalid(
                field,
                "NOT_SUPPORTED",
                format!("{} is not a PSA", spec.name),
            )
        })?;
    if !found.selectable() {
        return Err(AppError::invalid(
            field,
            "PSA_NOT_READY",
            format!(
                "the {} config \"{}\" is {}: {}. Fix it and run testPackConfig until it is GREEN",
                spec.name,
                found.config.name,
                found.health.colour.as_str(),
                found
                    .health
                    .reason
                    .as_deref()
                    .unwrap_or("its last test failed")
            ),
        ));
    }
    Ok(found)
}

/// The cached companies and filter options of a source; fetched from the PSA when asked
/// (`refresh`) or when nothing is cached yet (which needs write access).
pub async fn catalog(
    store: &Store,
    actor: &Actor,
    source: &Source,
    org: &Org,
    refresh: bool,
) -> AppResult<(Vec<PsaCompany>, FilterOptions)> {
    let cached = mapping::cached(store, source.config.id).await?;
    let options = mapping::cached_filter_options(store, source.config.id).await?;
    match (refresh, cached, options) {
        (false, Some((companies, _)), Some(options)) => Ok((companies, options)),
        _ => {
            actor.check(org, Access::Write)?;
            mapping::refresh_config(store, &source.config).await?;
            let companies = mapping::cached(store, source.config.id)
                .await?
                .map(|c| c.0)
                .unwrap_or_default();
            let options = mapping::cached_filter_options(store, source.config.id)
                .await?
                .unwrap_or_default();
            Ok((companies, options))
        }
    }
}

/// How a PSA company is already in orghub.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Existing {
    /// An organization is mapped to it through this config.
    Mapped(Uuid),
    /// An organization of the tree has its name (not mapped to it).
    SameName(Uuid),
}

impl Existing {
    pub fn org_id(&self) -> Uuid {
        match self {
            Existing::Mapped(o) | Existing::SameName(o) => *o,
        }
    }
}

/// Company id → the live organization mapped to it through `config`.
pub async fn mapped_companies<C: ConnectionTrait>(
    conn: &C,
    config: &PackConfig,
    spec: &PackSpec,
    only: Option<&str>,
) -> AppResult<HashMap<String, Uuid>> {
    let mut q = org_variable::Entity::find()
        .select_only()
        .column(org_variable::Column::Value)
        .column(org_variable::Column::OrgId)
        .inner_join_on_org()
        .filter(org_variable::Column::Name.eq(spec.mapping_variable))
        .filter(org_variable::Column::PackConfigId.eq(config.id))
        .filter(organization::Column::DeletedAt.is_null());
    if let Some(v) = only {
        q = q.filter(org_variable::Column::Value.eq(v));
    }
    let rows: Vec<(Option<String>, Uuid)> = q.into_tuple().all(conn).await?;
    Ok(rows
        .into_iter()
        .filter_map(|(v, org)| v.map(|v| (v, org)))
        .collect())
}

/// Joins org variables to their organization (no relation is declared on the entities).
trait JoinOrg {
    fn inner_join_on_org(self) -> Self;
}

impl JoinOrg for sea_orm::Select<org_variable::Entity> {
    fn inner_join_on_org(self) -> Self {
        self.join(
            sea_orm::JoinType::InnerJoin,
            sea_orm::RelationDef {
                rel_type: sea_orm::RelationType::HasOne,
                from_tbl: sea_orm::sea_query::TableRef::Table(
                    sea_orm::sea_query::TableName::from(org_variable::Entity),
                    None,
                ),
                to_tbl: sea_orm::sea_query::TableRef::Table(
                    sea_orm::sea_query::TableName::from(organization::Entity),
                    None,
                ),
                from_col: sea_orm::Identity::Unary(org_variable::Column::OrgId.into()),
                to_col: sea_orm::Identity::Unary(organization::Column::Id.into()),
                is_owner: false,
                skip_fk: true,
                on_condition: None,
                fk_name: None,
                on_delete: None,
                on_update: None,
                condition_type: sea_orm::sea_query::ConditionType::All,
            },
        )
    }
}

/// Name key → live organization, for the whole tree of `org`.
async fn names_in_tree(store: &Store, org: &Org) -> AppResult<HashMap<String, Uuid>> {
    let rows: Vec<(String, Uuid)> = organization::Entity::find()
        .select_only()
        .column(organization::Column::NameKey)
        .column(organization::Column::Id)
        .filter(organization::Column::RootOrgId.eq(org.root_org_id))
        .filter(organization::Column::DeletedAt.is_null())
        .into_tuple()
        .all(&store.db)
        .await?;
    Ok(rows.into_iter().collect())
}

/// A company as `psaOrganizations` lists it.
#[derive(Clone, Debug)]
pub struct Listed {
    pub company: PsaCompany,
    pub existing: Option<Existing>,
}

/// `psaOrganizations`: the source's companies, filtered by status ids, account type ids and
/// a case-insensitive name search, each saying whether it is already in orghub.
#[allow(clippy::too_many_arguments)]
pub async fn companies(
    store: &Store,
    actor: &Actor,
    org_id: Uuid,
    config_id: Uuid,
    psa_ref: &str,
    refresh: bool,
    statuses: Option<&[String]>,
    account_types: Option<&[String]>,
    search: Option<&str>,
) -> AppResult<Vec<Listed>> {
    let source = source(
        store,
        actor,
        org_id,
        config_id,
        "psaPackConfigId",
        Some(psa_ref),
    )
    .await?;
    let org = organizations::visible(store, actor, org_id).await?;
    let (list, _) = catalog(store, actor, &source, &org, refresh).await?;
    let statuses: Option<HashSet<&str>> =
        statuses.map(|s| s.iter().map(|x| x.trim()).collect::<HashSet<_>>());
    let types: Option<HashSet<&str>> =
        account_types.map(|s| s.iter().map(|x| x.trim()).collect::<HashSet<_>>());
    let needle = search
        .map(|s| s.trim().to_lowercase())
        .filter(|s| !s.is_empty());
    let mapped = mapped_companies(&store.db, &source.config, source.spec, None).await?;
    let names = names_in_tree(store, &org).await?;
    Ok(list
        .into_iter()
        .filter(|c| {
            statuses
                .as_ref()
                .is_none_or(|s| c.status_id.as_deref().is_some_and(|id| s.contains(id)))
        })
        .filter(|c| {
            types
                .as_ref()
                .is_none_or(|t| c.type_ids.iter().any(|id| t.contains(id.as_str())))
        })
        .filter(|c| {
            needle
                .as_ref()
                .is_none_or(|n| c.name.to_lowercase().contains(n.as_str()))
        })
        .map(|c| {
            let existing = mapped.get(&c.id).map(|o| Existing::Mapped(*o)).or_else(|| {
                names
                    .get(&name_key(&c.name))
                    .map(|o| Existing::SameName(*o))
            });
            Listed {
                company: c,
                existing,
            }
        })
        .collect())
}

/// `psaFilterOptions`.
pub async fn filter_options(
    store: &Store,
    actor: &Actor,
    org_id: Uuid,
    config_id: Uuid,
    psa_ref: &str,
    refresh: bool,
) -> AppResult<FilterOptions> {
    let source = source(
        store,
        actor,
        org_id,
        config_id,
        "psaPackConfigId",
        Some(psa_ref),
    )
    .await?;
    let org = organizations::visible(store, actor, org_id).await?;
    Ok(catalog(store, actor, &source, &org, refresh).await?.1)
}

/// Validates PSA records: the CSV rules, then the PSA's own — an `externalId` is required,
/// names a company of the source, appears once, and a company already mapped is EXISTING.
pub async fn validate(
    store: &Store,
    actor: &Actor,
    managing: Uuid,
    source: &Source,
    rows: Vec<ImportRow>,
) -> AppResult<Vec<RowOutcome>> {
    let org = organizations::visible(store, actor, managing).await?;
    let (companies, _) = catalog(store, actor, source, &org, false).await?;
    let known: HashSet<&str> = companies.iter().map(|c| c.id.as_str()).collect();
    let mapped = mapped_companies(&store.db, &source.config, source.spec, None).await?;
    let mut outcomes = imports::validate(store, actor, managing, rows).await?;
    let mut seen: HashMap<String, usize> = HashMap::new();
    for o in &mut outcomes {
        let ext = o
            .row
            .external_id
            .as_deref()
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(str::to_owned);
        o.row.external_id = ext.clone();
        match ext {
            None => o.errors.push(ValidationError::new(
                "externalId",
                "REQUIRED_FIELD",
                format!("the {} company id is required", source.spec.name),
            )),
            Some(e) => {
                if let Some(first) = seen.get(&e) {
                    o.errors.push(ValidationError::new(
                        "externalId",
                        "DUPLICATE_IN_FILE",
                        format!("company {e} is also on row {first}"),
                    ));
                } else {
                    seen.insert(e.clone(), o.row.row_number);
                }
                if !known.contains(e.as_str()) {
                    o.errors.push(ValidationError::new(
                        "externalId",
                        "NOT_FOUND",
                        format!(
                            "{} has no company {e} (refresh the list with psaOrganizations(refresh: true))",
                            source.spec.name
                        ),
                    ));
                } else if let Some(org) = mapped.get(&e) {
                    o.errors.push(ValidationError::new(
                        "externalId",
                        "DUPLICATE_IN_DATABASE",
                        format!("company {e} is already mapped to organization {org}"),
                    ));
                }
            }
        }
        o.category = categorize(&o.errors);
        if o.category != Category::New {
            o.valid = None;
        }
    }
    Ok(outcomes)
}

/// `previewOrganizationImport` with `importType: PSA`.
pub async fn preview(
    store: &Store,
    actor: &Actor,
    managing: Uuid,
    config_id: Uuid,
    rows: Vec<ImportRow>,
) -> AppResult<Vec<RowOutcome>> {
    let source = source(
        store,
        actor,
        managing,
        config_id,
        "input.psaPackConfigId",
        None,
    )
    .await?;
    validate(store, actor, managing, &source, rows).await
}

/// `processOrganizationImport` with `importType: PSA`: validates, keeps the import in
/// `PROCESSING` with every row, and queues the job that creates the organizations.
pub async fn start(
    store: &Store,
    actor: &Actor,
    managing: Uuid,
    config_id: Uuid,
    rows: Vec<ImportRow>,
) -> AppResult<(Import, Vec<RowOutcome>)> {
    let org = organizations::visible(store, actor, managing).await?;
    actor.check(&org, Access::Write)?;
    let source = source(
        store,
        actor,
        managing,
        config_id,
        "input.psaPackConfigId",
        None,
    )
    .await?;
    let mut outcomes = validate(store, actor, managing, &source, rows).await?;
    for o in &mut outcomes {
        o.status = Some(match o.category {
            Category::New => "PENDING",
            Category::Existing => "SKIPPED",
            Category::Invalid => "FAILED",
        });
    }
    let s = summarize(&outcomes);
    let at = now();
    let id = Uuid::now_v7();
    let pending = outcomes
        .iter()
        .filter(|o| o.category == Category::New)
        .count();
    let txn = store.begin_write().await?;
    let saved = import::ActiveModel {
        id: Set(id),
        org_id: Set(managing),
        import_type: Set("PSA".into()),
        status: Set(if pending == 0 {
            "COMPLETED"
        } else {
            "PROCESSING"
        }
        .into()),
        total_records: Set(s.total_records as i32),
        successful_count: Set(0),
        skipped_count: Set(s.existing_organizations as i32),
        failed_count: Set(s.invalid_records as i32),
        error_message: Set(None),
        created_by_id: Set(Some(actor.user_id)),
        pack_config_id: Set(Some(source.config.id)),
        started_at: Set(Some(at)),
        completed_at: Set((pending == 0).then_some(at)),
        created_at: Set(at),
        updated_at: Set(at),
    }
    .insert(&txn)
    .await?;
    for chunk in outcomes.chunks(500) {
        let models: Vec<record::ActiveModel> = chunk
            .iter()
            .map(|o| record_model(id, o, o.status.unwrap_or("FAILED"), at))
            .collect();
        if !models.is_empty() {
            record::Entity::insert_many(models).exec(&txn).await?;
        }
    }
    if pending > 0 {
        jobs::enqueue(
            &txn,
            JOB_KIND,
            json!({ "importId": id }),
            Some(format!("{JOB_KIND}:{id}")),
            5,
        )
        .await?;
    }
    txn.commit().await?;
    store.jobs_wakeup.notify_one();
    Ok((saved, outcomes))
}

fn import_id_of(payload: &Value) -> AppResult<Uuid> {
    payload["importId"]
        .as_str()
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("a psa_import job without importId")))
}

/// Adds to an import's counters.
async fn bump<C: ConnectionTrait>(
    conn: &C,
    import_id: Uuid,
    column: import::Column,
    by: i32,
) -> AppResult<()> {
    import::Entity::update_many()
        .col_expr(column, Expr::col(column).add(by))
        .col_expr(import::Column::UpdatedAt, Expr::value(now()))
        .filter(import::Column::Id.eq(import_id))
        .exec(conn)
        .await?;
    Ok(())
}

/// Marks a pending row; false when it was not pending any more (canceled, or done by
/// another run), in which case the caller must roll back what it did for the row.
async fn settle_row<C: ConnectionTrait>(
    conn: &C,
    row: &record::Model,
    category: Category,
    status: &str,
    errors: &[ValidationError],
    created: Option<Uuid>,
) -> AppResult<bool> {
    let res = record::Entity::update_many()
        .col_expr(record::Column::Category, Expr::value(category.as_str()))
        .col_expr(record::Column::Status, Expr::value(status))
        .col_expr(record::Column::CreatedOrgId, Expr::value(created))
        .col_expr(record::Column::ErrorMessage, Expr::value(message(errors)))
        .col_expr(record::Column::ValidationErrors, Expr::value(json!(errors)))
        .col_expr(record::Column::UpdatedAt, Expr::value(now()))
        .filter(record::Column::Id.eq(row.id))
        .filter(record::Column::Status.eq("PENDING"))
        .exec(conn)
        .await?;
    Ok(res.rows_affected == 1)
}

/// A row that will not be created after all (it became EXISTING or INVALID meanwhile).
async fn settle_unmade(
    store: &Store,
    import_id: Uuid,
    row: &record::Model,
    errors: Vec<ValidationError>,
) -> AppResult<()> {
    let category = categorize(&errors);
    let (status, counter) = if category == Category::Existing {
        ("SKIPPED", import::Column::SkippedCount)
    } else {
        ("FAILED", import::Column::FailedCount)
    };
    let txn = store.begin_write().await?;
    // The import row before the record, in the order `cancel` takes them: never a deadlock.
    bump(&txn, import_id, counter, 1).await?;
    if settle_row(&txn, row, category, status, &errors, None).await? {
        txn.commit().await?;
    }
    Ok(())
}

/// The job: creates the import's pending rows in order, each with its mapping, stopping
/// between rows when the import is canceled or the replica stops.
pub async fn run(store: &Store, payload: &Value, ctx: &JobContext) -> AppResult<Outcome> {
    let import_id = import_id_of(payload)?;
    let Some(imp) = import::Entity::find_by_id(import_id).one(&store.db).await? else {
        return Ok(Outcome::Done);
    };
    if imp.status != "PROCESSING" {
        return Ok(Outcome::Done);
    }
    let gone = |what: &str| format!("{what}; the remaining rows were not imported");
    let Some(user_id) = imp.created_by_id else {
        fail(store, import_id, &gone("the import has no user to act as")).await?;
        return Ok(Outcome::Done);
    };
    let actor = match auth::actor_of_user(store, user_id).await {
        Ok(a) => a,
        Err(AppError::Unauthenticated(_)) => {
            fail(
                store,
                import_id,
                &gone("the user who started the import no longer exists"),
            )
            .await?;
            return Ok(Outcome::Done);
        }
        Err(e) => return Err(e),
    };
    let config = match imp.pack_config_id {
        Some(id) => {
            entity::pack_config::Entity::find_by_id(id)
                .one(&store.db)
                .await?
        }
        None => None,
    };
    let Some(config) = config else {
        fail(store, import_id, &gone("its PSA config was deleted")).await?;
        return Ok(Outcome::Done);
    };
    let spec = require_spec("packId", &config.pack_id)?;
    let rows = record::Entity::find()
        .filter(record::Column::ImportId.eq(import_id))
        .filter(record::Column::Status.eq("PENDING"))
        .order_by_asc(record::Column::RowNumber)
        .all(&store.db)
        .await?;
    let mut validator = OrgValidator::for_import(store, &actor).await?;
    let mut created = 0usize;
    for row in rows {
        if ctx.should_stop() {
            return Ok(Outcome::Interrupted);
        }
        let status: Option<String> = import::Entity::find_by_id(import_id)
            .select_only()
            .column(import::Column::Status)
            .into_tuple()
            .one(&store.db)
            .await?;
        if status.as_deref() != Some("PROCESSING") {
            // Canceled (the cancel marked the remaining rows) or deleted.
            return Ok(Outcome::Done);
        }
        let Some(ext) = row.external_id.clone() else {
            settle_unmade(
                store,
                import_id,
                &row,
                vec![ValidationError::new(
                    "externalId",
                    "REQUIRED_FIELD",
                    "the company id is required",
                )],
            )
            .await?;
            continue;
        };
        // Mapped meanwhile (by a user, or an import running at the same time).
        if let Some(org) = mapped_companies(&store.db, &config, spec, Some(&ext))
            .await?
            .get(&ext)
        {
            settle_unmade(
                store,
                import_id,
                &row,
                vec![ValidationError::new(
                    "externalId",
                    "DUPLICATE_IN_DATABASE",
                    format!("company {ext} is already mapped to organization {org}"),
                )],
            )
            .await?;
            continue;
        }
        validator.at_row(row.row_number as usize);
        let mut errors = Vec::new();
        let enabled = parse_enabled(row.is_enabled.as_deref())
            .map_err(|e| errors.push(e))
            .unwrap_or(true);
        let input = NewOrg {
            name: row.organization_name.clone(),
            domain: row.domain.clone(),
            org_slug: row.org_slug.clone(),
            managing_org_id: row.managing_org_id.clone(),
            is_enabled: Some(enabled),
            tag_names: Some(serde_json::from_value(row.tag_names.clone()).unwrap_or_default()),
            ..Default::default()
        };
        let valid = match validator.check(&input, imp.org_id).await? {
            Ok(v) if errors.is_empty() => v,
            Ok(_) => {
                settle_unmade(store, import_id, &row, errors).await?;
                continue;
            }
            Err(mut e) => {
                errors.append(&mut e);
                settle_unmade(store, import_id, &row, errors).await?;
                continue;
            }
        };
        let mut done = false;
        for attempt in 0..organizations::SLUG_ATTEMPTS {
            let txn = store.begin_write().await?;
            let org = match organizations::try_insert(&txn, &valid, attempt).await {
                Ok(Inserted::Created(org)) => org,
                Ok(Inserted::SlugTaken) => continue,
                Err(AppError::Invalid(errs)) => {
                    drop(txn);
                    settle_unmade(store, import_id, &row, errs).await?;
                    done = true;
                    break;
                }
                Err(e) => return Err(e),
            };
            variables::set_system(
                &txn,
                store,
                &actor,
                &org,
                spec.mapping_variable,
                Some(&ext),
                Some(config.id),
            )
            .await?;
            // The import row before the record, in the order `cancel` takes them (a
            // PostgreSQL deadlock otherwise, found by CI).
            bump(&txn, import_id, import::Column::SuccessfulCount, 1).await?;
            if settle_row(&txn, &row, Category::New, "CREATED", &[], Some(org.id)).await? {
                txn.commit().await?;
                created += 1;
            }
            // Otherwise the row was canceled meanwhile: dropping the transaction undoes it.
            done = true;
            break;
        }
        if !done {
            settle_unmade(
                store,
                import_id,
                &row,
                vec![ValidationError::new(
                    "orgSlug",
                    "CONFLICT",
                    "no free slug was found; give orgSlug",
                )],
            )
            .await?;
        }
        if created > 0 && created.is_multiple_of(500) && store.backend() == DbBackend::Postgres {
            store.db.execute_unprepared("ANALYZE organizations").await?;
        }
    }
    let at = now();
    import::Entity::update_many()
        .col_expr(import::Column::Status, Expr::value("COMPLETED"))
        .col_expr(import::Column::CompletedAt, Expr::value(Some(at)))
        .col_expr(import::Column::UpdatedAt, Expr::value(at))
        .filter(import::Column::Id.eq(import_id))
        .filter(import::Column::Status.eq("PROCESSING"))
        .exec(&store.db)
        .await?;
    Ok(Outcome::Done)
}

/// Ends an import whose job failed for good: the remaining rows are failed with the reason.
pub async fn fail(store: &Store, import_id: Uuid, reason: &str) -> AppResult<()> {
    end(
        store,
        import_id,
        "FAILED",
        reason,
        "FAILED",
        import::Column::FailedCount,
    )
    .await
}

/// Called by the runner when the job gave up.
pub async fn job_failed(store: &Store, payload: &Value, reason: &str) -> AppResult<()> {
    fail(store, import_id_of(payload)?, reason).await
}

async fn end(
    store: &Store,
    import_id: Uuid,
    status: &str,
    reason: &str,
    row_status: &str,
    counter: import::Column,
) -> AppResult<()> {
    let at = now();
    let txn = store.begin_write().await?;
    let res = import::Entity::update_many()
        .col_expr(import::Column::Status, Expr::value(status))
        .col_expr(import::Column::ErrorMessage, Expr::value(reason))
        .col_expr(import::Column::CompletedAt, Expr::value(Some(at)))
        .col_expr(import::Column::UpdatedAt, Expr::value(at))
        .filter(import::Column::Id.eq(import_id))
        .filter(import::Column::Status.eq("PROCESSING"))
        .exec(&txn)
        .await?;
    if res.rows_affected == 0 {
        return Ok(());
    }
    let note = format!("not imported: {reason}");
    let rows = record::Entity::update_many()
        .col_expr(record::Column::Status, Expr::value(row_status))
        .col_expr(record::Column::ErrorMessage, Expr::value(note))
        .col_expr(record::Column::UpdatedAt, Expr::value(at))
        .filter(record::Column::ImportId.eq(import_id))
        .filter(record::Column::Status.eq("PENDING"))
        .exec(&txn)
        .await?;
    bump(&txn, import_id, counter, rows.rows_affected as i32).await?;
    txn.commit().await?;
    Ok(())
}

/// `cancelOrganizationImport`: stops a running import between rows. The rows not reached
/// are kept as `CANCELED` (counted as skipped); what was created stays.
pub async fn cancel(store: &Store, actor: &Actor, id: Uuid) -> AppResult<Import> {
    let imp = imports::get(store, actor, id).await?;
    let org = organizations::visible(store, actor, imp.org_id).await?;
    actor.check(&org, Access::Write)?;
    if imp.status != "PROCESSING" {
        return Err(AppError::Conflict(format!(
            "The import is {}; only a PROCESSING import can be canceled",
            imp.status
        )));
    }
    end(
        store,
        id,
        "CANCELED",
        &format!("canceled by {}", actor.username),
        "CANCELED",
        import::Column::SkippedCount,
    )
    .await?;
    imports::get(store, actor, id).await
}
