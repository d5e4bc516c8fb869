//! `orghub import-csv FILE --managing-org ID`: the CSV import of the API, from the command
//! line, with progress bars. The same parser, validator and row creation as
//! `processOrganizationImport`; the import is kept like one made through the API.
use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, anyhow};
use entity::{organization, user};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::auth::{self, Actor};
use crate::config::Config;
use crate::domain::imports::{self, Category, RowOutcome};

/// What was done, for the terminal.
pub struct Report {
    pub import_id: Option<Uuid>,
    pub summary: imports::Summary,
    pub text: String,
}

/// The actor the import runs as: the given user, else the earliest admin of the MSP whose
/// tree holds the managing organization.
async fn acting_user(
    store: &crate::domain::Store,
    managing_org: Uuid,
    user_email: Option<&str>,
) -> anyhow::Result<Actor> {
    let user_id = match user_email {
        Some(email) => {
            crate::domain::users::by_email(store, email)
                .await
                .map_err(|e| anyhow!(e.client_message()))?
                .ok_or_else(|| anyhow!("no user with e-mail {email}"))?
                .id
        }
        None => {
            let org = organization::Entity::find_by_id(managing_org)
                .filter(organization::Column::DeletedAt.is_null())
                .one(&store.db)
                .await?
                .ok_or_else(|| anyhow!("no organization {managing_org}"))?;
            let root = org
                .path
                .split('/')
                .find(|s| !s.is_empty())
                .and_then(|s| Uuid::parse_str(s).ok())
                .unwrap_or(org.id);
            user::Entity::find()
                .filter(user::Column::OrgId.eq(root))
                .filter(user::Column::Role.eq("admin"))
                .filter(user::Column::IsApiUser.eq(false))
                .order_by_asc(user::Column::CreatedAt)
                .one(&store.db)
                .await?
                .ok_or_else(|| {
                    anyhow!("the MSP of {managing_org} has no admin to act as; pass --user EMAIL")
                })?
                .id
        }
    };
    auth::actor_of_user(store, user_id)
        .await
        .map_err(|e| anyhow!(e.client_message()))
}

/// Reads, validates and (unless `dry_run`) imports `file` below `managing_org`.
pub async fn run(
    config: &Config,
    file: &Path,
    managing_org: &str,
    user_email: Option<&str>,
    dry_run: bool,
) -> anyhow::Result<Report> {
    let managing_org = Uuid::parse_str(managing_org.trim())
        .map_err(|_| anyhow!("--managing-org must be an organization id (a UUID)"))?;
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let rows = imports::parse_csv(&bytes, config.import_max_rows)
        .map_err(|e| anyhow!("{}: {}", file.display(), e.0))?;
    let (store, _) = crate::open_store(config).await?;
    let actor = acting_user(&store, managing_org, user_email).await?;

    let bar = crate::progress::items(rows.len() as u64, "validating", "rows");
    let on_row = |phase: &'static str, done: usize, _total: usize| {
        if bar.message() != phase {
            bar.set_message(phase);
        }
        bar.set_position(done as u64);
    };
    let (import_id, outcomes) = if dry_run {
        let outcomes = imports::validate_with(&store, &actor, managing_org, rows, Some(&on_row))
            .await
            .map_err(|e| anyhow!(e.client_message()))?;
        (None, outcomes)
    } else {
        let (import, outcomes) =
            imports::process_with(&store, &actor, managing_org, "CSV", rows, Some(&on_row))
                .await
                .map_err(|e| anyhow!(e.client_message()))?;
        (Some(import.id), outcomes)
    };
    bar.finish_and_clear();
    let summary = imports::summarize(&outcomes);
    Ok(Report {
        import_id,
        summary,
        text: report_text(&outcomes, &summary, import_id, dry_run),
    })
}

fn report_text(
    outcomes: &[RowOutcome],
    s: &imports::Summary,
    import_id: Option<Uuid>,
    dry_run: bool,
) -> String {
    let mut out = String::new();
    if dry_run {
        let _ = writeln!(
            out,
            "Checked {} rows (nothing written): {} new, {} already there, {} invalid.",
            s.total_records, s.new_organizations, s.existing_organizations, s.invalid_records
        );
    } else {
        let _ = writeln!(
            out,
            "Imported {} rows: {} created, {} skipped (already there), {} failed.",
            s.total_records, s.successful_creations, s.skipped_creations, s.failed_creations
        );
    }
    let invalid: Vec<&RowOutcome> = outcomes
        .iter()
        .filter(|o| o.category == Category::Invalid)
        .collect();
    for o in invalid.iter().take(20) {
        let problems: Vec<String> = o
            .errors
            .iter()
            .map(|e| format!("{} {}: {}", e.field, e.code, e.message))
            .collect();
        let _ = writeln!(
            out,
            "  row {} ({:?}): {}",
            o.row.row_number,
            o.row.organization_name,
            problems.join("; ")
        );
    }
    if invalid.len() > 20 {
        let _ = writeln!(out, "  … and {} more invalid rows", invalid.len() - 20);
    }
    if let Some(id) = import_id {
        let _ = writeln!(
            out,
            "Import {id}: every row's outcome is in organizationImport(id).records and at \
             GET /api/organization-imports/{id}/log.csv"
        );
    }
    out
}
