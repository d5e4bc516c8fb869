//! Organization imports: preview, process, and the kept history with every row.
use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject};

use super::organizations::Organization;
use super::users::User;
use super::{actor, loaders, rfc3339, store};
use crate::domain::imports::{self, Import, ImportRow, Record, RowOutcome, Summary};
use crate::domain::parse_id;
use crate::error::AppError;

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum OrganizationImportType {
    #[graphql(name = "CSV")]
    Csv,
    #[graphql(name = "PSA")]
    Psa,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum OrganizationImportStatus {
    #[graphql(name = "COMPLETED")]
    Completed,
    #[graphql(name = "FAILED")]
    Failed,
    #[graphql(name = "PROCESSING")]
    Processing,
    /// Stopped by `cancelOrganizationImport` (ours).
    #[graphql(name = "CANCELED")]
    Canceled,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum OrganizationImportRecordCategory {
    #[graphql(name = "EXISTING")]
    Existing,
    #[graphql(name = "INVALID")]
    Invalid,
    #[graphql(name = "NEW")]
    New,
    #[graphql(name = "PENDING")]
    Pending,
}

/// What became of a row. `CREATED` is ours (Rewst keeps only failed and skipped rows).
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum OrganizationImportRecordStatus {
    #[graphql(name = "CREATED")]
    Created,
    #[graphql(name = "FAILED")]
    Failed,
    #[graphql(name = "SKIPPED")]
    Skipped,
    /// Waiting for a running PSA import to reach it (ours).
    #[graphql(name = "PENDING")]
    Pending,
    /// Not reached: the import was canceled first (ours).
    #[graphql(name = "CANCELED")]
    Canceled,
}

fn category(s: &str) -> OrganizationImportRecordCategory {
    match s {
        "NEW" => OrganizationImportRecordCategory::New,
        "EXISTING" => OrganizationImportRecordCategory::Existing,
        "PENDING" => OrganizationImportRecordCategory::Pending,
        _ => OrganizationImportRecordCategory::Invalid,
    }
}

fn record_status(s: &str) -> OrganizationImportRecordStatus {
    match s {
        "CREATED" => OrganizationImportRecordStatus::Created,
        "SKIPPED" => OrganizationImportRecordStatus::Skipped,
        "PENDING" => OrganizationImportRecordStatus::Pending,
        "CANCELED" => OrganizationImportRecordStatus::Canceled,
        _ => OrganizationImportRecordStatus::Failed,
    }
}

#[derive(SimpleObject, Clone)]
pub struct ValidationError {
    code: Option<String>,
    field: String,
    message: String,
}

fn errors_of(list: &[crate::error::ValidationError]) -> Vec<ValidationError> {
    list.iter()
        .map(|e| ValidationError {
            code: Some(e.code.to_owned()),
            field: e.field.clone(),
            message: e.message.clone(),
        })
        .collect()
}

#[derive(SimpleObject)]
pub struct OrganizationImportSummary {
    existing_organizations: i32,
    failed_creations: i32,
    invalid_records: i32,
    new_organizations: i32,
    skipped_creations: i32,
    successful_creations: i32,
    total_records: i32,
}

impl From<Summary> for OrganizationImportSummary {
    fn from(s: Summary) -> Self {
        OrganizationImportSummary {
            existing_organizations: s.existing_organizations as i32,
            failed_creations: s.failed_creations as i32,
            invalid_records: s.invalid_records as i32,
            new_organizations: s.new_organizations as i32,
            skipped_creations: s.skipped_creations as i32,
            successful_creations: s.successful_creations as i32,
            total_records: s.total_records as i32,
        }
    }
}

#[derive(SimpleObject)]
pub struct OrganizationImportPreviewRecord {
    category: OrganizationImportRecordCategory,
    domain: Option<String>,
    is_enabled: Option<bool>,
    managing_org_id: Option<ID>,
    org_slug: Option<String>,
    organization_name: String,
    resolved_tag_ids: Option<Vec<ID>>,
    row_number: i32,
    tag_names: Option<Vec<String>>,
    validation_errors: Option<Vec<ValidationError>>,
}

impl From<&RowOutcome> for OrganizationImportPreviewRecord {
    fn from(o: &RowOutcome) -> Self {
        OrganizationImportPreviewRecord {
            category: category(o.category.as_str()),
            domain: o.row.domain.clone(),
            is_enabled: o
                .row
                .is_enabled
                .as_deref()
                .map(|v| !matches!(v.to_ascii_lowercase().as_str(), "false" | "no" | "0" | "n")),
            managing_org_id: o.row.managing_org_id.clone().map(ID),
            org_slug: o.row.org_slug.clone(),
            organization_name: o.row.organization_name.clone(),
            resolved_tag_ids: Some(o.tag_ids.iter().map(|t| ID(t.to_string())).collect()),
            row_number: o.row.row_number as i32,
            tag_names: Some(o.row.tag_names.clone()),
            validation_errors: Some(errors_of(&o.errors)),
        }
    }
}

#[derive(SimpleObject)]
pub struct OrganizationImportPreviewResult {
    records: Vec<OrganizationImportPreviewRecord>,
    summary: OrganizationImportSummary,
}

#[derive(SimpleObject)]
pub struct OrganizationImportResult {
    import: OrganizationImport,
    summary: OrganizationImportSummary,
}

pub struct OrganizationImportRecord(Record);

#[Object]
impl OrganizationImportRecord {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn import_id(&self) -> ID {
        ID(self.0.import_id.to_string())
    }
    async fn row_number(&self) -> i32 {
        self.0.row_number
    }
    async fn organization_name(&self) -> &str {
        &self.0.organization_name
    }
    async fn domain(&self) -> Option<&str> {
        self.0.domain.as_deref()
    }
    async fn org_slug(&self) -> Option<&str> {
        self.0.org_slug.as_deref()
    }
    /// The PSA's id of the company (PSA imports).
    async fn external_id(&self) -> Option<&str> {
        self.0.external_id.as_deref()
    }
    async fn managing_org_id(&self) -> Option<ID> {
        self.0.managing_org_id.clone().map(ID)
    }
    async fn is_enabled(&self) -> Option<bool> {
        self.0
            .is_enabled
            .as_deref()
            .map(|v| !matches!(v.to_ascii_lowercase().as_str(), "false" | "no" | "0" | "n"))
    }
    async fn tag_ids(&self) -> Option<Vec<ID>> {
        let ids: Vec<String> = serde_json::from_value(self.0.tag_ids.clone()).unwrap_or_default();
        Some(ids.into_iter().map(ID).collect())
    }
    async fn category(&self) -> OrganizationImportRecordCategory {
        category(&self.0.category)
    }
    async fn status(&self) -> OrganizationImportRecordStatus {
        record_status(&self.0.status)
    }
    /// The organization this row created.
    async fn created_organization_id(&self) -> Option<ID> {
        self.0.created_org_id.map(|i| ID(i.to_string()))
    }
    async fn error_message(&self) -> Option<&str> {
        self.0.error_message.as_deref()
    }
    async fn validation_errors(&self) -> Option<Vec<ValidationError>> {
        let list: Vec<serde_json::Value> =
            serde_json::from_value(self.0.validation_errors.clone()).unwrap_or_default();
        Some(
            list.into_iter()
                .map(|e| ValidationError {
                    code: e["code"].as_str().map(str::to_owned),
                    field: e["field"].as_str().unwrap_or("").to_owned(),
                    message: e["message"].as_str().unwrap_or("").to_owned(),
                })
                .collect(),
        )
    }
    async fn created_at(&self) -> String {
        rfc3339(&self.0.created_at)
    }
    async fn updated_at(&self) -> String {
        rfc3339(&self.0.updated_at)
    }
}

pub struct OrganizationImport(pub Import);

#[Object]
impl OrganizationImport {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn import_type(&self) -> OrganizationImportType {
        if self.0.import_type == "PSA" {
            OrganizationImportType::Psa
        } else {
            OrganizationImportType::Csv
        }
    }
    async fn status(&self) -> OrganizationImportStatus {
        match self.0.status.as_str() {
            "PROCESSING" => OrganizationImportStatus::Processing,
            "FAILED" => OrganizationImportStatus::Failed,
            "CANCELED" => OrganizationImportStatus::Canceled,
            _ => OrganizationImportStatus::Completed,
        }
    }
    async fn org_id(&self) -> ID {
        ID(self.0.org_id.to_string())
    }
    async fn organization(&self, ctx: &Context<'_>) -> Result<Option<Organization>> {
        Ok(loaders(ctx)
            .org
            .load_one(self.0.org_id)
            .await?
            .map(Organization))
    }
    /// The PSA config a PSA import reads from.
    async fn psa_pack_config_id(&self) -> Option<ID> {
        self.0.pack_config_id.map(|i| ID(i.to_string()))
    }
    async fn total_records(&self) -> i32 {
        self.0.total_records
    }
    async fn successful_count(&self) -> i32 {
        self.0.successful_count
    }
    async fn skipped_count(&self) -> i32 {
        self.0.skipped_count
    }
    async fn failed_count(&self) -> i32 {
        self.0.failed_count
    }
    async fn error_message(&self) -> Option<&str> {
        self.0.error_message.as_deref()
    }
    async fn created_by_id(&self) -> Option<ID> {
        self.0.created_by_id.map(|i| ID(i.to_string()))
    }
    async fn created_by(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let Some(id) = self.0.created_by_id else {
            return Ok(None);
        };
        Ok(loaders(ctx).user.load_one(id).await?.map(User))
    }
    /// The rows, by row number; filter by category or status.
    async fn records(
        &self,
        ctx: &Context<'_>,
        category: Option<OrganizationImportRecordCategory>,
        limit: Option<i32>,
        offset: Option<i32>,
        status: Option<OrganizationImportRecordStatus>,
    ) -> Result<Vec<OrganizationImportRecord>> {
        let store = store(ctx);
        let page = store.page(limit, offset)?;
        let cat = category.map(|c| match c {
            OrganizationImportRecordCategory::New => "NEW",
            OrganizationImportRecordCategory::Existing => "EXISTING",
            OrganizationImportRecordCategory::Invalid => "INVALID",
            OrganizationImportRecordCategory::Pending => "PENDING",
        });
        let st = status.map(|s| match s {
            OrganizationImportRecordStatus::Created => "CREATED",
            OrganizationImportRecordStatus::Failed => "FAILED",
            OrganizationImportRecordStatus::Skipped => "SKIPPED",
            OrganizationImportRecordStatus::Pending => "PENDING",
            OrganizationImportRecordStatus::Canceled => "CANCELED",
        });
        Ok(imports::records(store, self.0.id, cat, st, page)
            .await?
            .into_iter()
            .map(OrganizationImportRecord)
            .collect())
    }
    /// Where its log downloads as CSV.
    async fn log_url(&self) -> String {
        format!("/api/organization-imports/{}/log.csv", self.0.id)
    }
    async fn started_at(&self) -> Option<String> {
        self.0.started_at.as_ref().map(rfc3339)
    }
    async fn completed_at(&self) -> Option<String> {
        self.0.completed_at.as_ref().map(rfc3339)
    }
    async fn created_at(&self) -> String {
        rfc3339(&self.0.created_at)
    }
    async fn updated_at(&self) -> String {
        rfc3339(&self.0.updated_at)
    }
}

#[derive(InputObject)]
pub struct OrganizationImportRecordInput {
    pub domain: Option<String>,
    pub external_id: Option<String>,
    pub is_enabled: Option<bool>,
    pub managing_org_id: Option<ID>,
    pub org_slug: Option<String>,
    pub organization_name: String,
    pub tag_names: Option<Vec<String>>,
}

#[derive(InputObject)]
pub struct OrganizationImportInput {
    pub default_managing_org_id: ID,
    pub import_type: Option<OrganizationImportType>,
    pub psa_pack_config_id: Option<ID>,
    pub records: Vec<OrganizationImportRecordInput>,
}

fn rows(input: &OrganizationImportInput, max: usize) -> Result<Vec<ImportRow>, AppError> {
    if input.records.len() > max {
        return Err(AppError::invalid(
            "records",
            "MAX_LENGTH_EXCEEDED",
            format!("at most {max} records per import"),
        ));
    }
    Ok(input
        .records
        .iter()
        .enumerate()
        .map(|(i, r)| ImportRow {
            row_number: i + 1,
            organization_name: r.organization_name.clone(),
            managing_org_id: r.managing_org_id.clone().map(|m| m.0),
            domain: r.domain.clone(),
            org_slug: r.org_slug.clone(),
            is_enabled: r.is_enabled.map(|b| b.to_string()),
            tag_names: r.tag_names.clone().unwrap_or_default(),
            external_id: r.external_id.clone(),
        })
        .collect())
}

/// The PSA config of a PSA import (required with `importType: PSA`, refused otherwise).
fn psa_config(input: &OrganizationImportInput) -> Result<Option<uuid::Uuid>, AppError> {
    match (input.import_type, &input.psa_pack_config_id) {
        (Some(OrganizationImportType::Psa), Some(id)) => {
            Ok(Some(parse_id("input.psaPackConfigId", id)?))
        }
        (Some(OrganizationImportType::Psa), None) => Err(AppError::invalid(
            "input.psaPackConfigId",
            "REQUIRED_FIELD",
            "a PSA import names its PSA config; see psaImportSources",
        )),
        (_, Some(_)) => Err(AppError::invalid(
            "input.psaPackConfigId",
            "INVALID_FORMAT",
            "psaPackConfigId goes with importType: PSA",
        )),
        _ => Ok(None),
    }
}

fn default_order() -> Option<Vec<Vec<String>>> {
    Some(vec![vec!["createdAt".to_owned(), "DESC".to_owned()]])
}

#[derive(Default)]
pub struct ImportQuery;

#[Object]
impl ImportQuery {
    async fn organization_import(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> Result<Option<OrganizationImport>> {
        let id = parse_id("id", &id)?;
        Ok(Some(OrganizationImport(
            imports::get(store(ctx), actor(ctx)?, id).await?,
        )))
    }

    /// The imports into an organization, newest first by default.
    #[allow(clippy::too_many_arguments)]
    async fn organization_imports(
        &self,
        ctx: &Context<'_>,
        import_type: Option<OrganizationImportType>,
        #[graphql(default = 20)] limit: Option<i32>,
        #[graphql(default = 0)] offset: Option<i32>,
        #[graphql(default_with = "default_order()")] order: Option<Vec<Vec<String>>>,
        org_id: ID,
        status: Option<OrganizationImportStatus>,
    ) -> Result<Vec<OrganizationImport>> {
        let store = store(ctx);
        let org = parse_id("orgId", &org_id)?;
        let page = store.page(limit, offset)?;
        let newest_first = match order.as_deref() {
            None | Some([]) => true,
            Some([first, ..]) if first.first().map(String::as_str) == Some("createdAt") => {
                first.get(1).is_none_or(|d| d.eq_ignore_ascii_case("desc"))
            }
            Some(_) => {
                return Err(AppError::invalid(
                    "order.0",
                    "INVALID_FORMAT",
                    "imports are ordered by createdAt",
                )
                .into());
            }
        };
        let t = import_type.map(|t| {
            if t == OrganizationImportType::Psa {
                "PSA"
            } else {
                "CSV"
            }
        });
        let s = status.map(|s| match s {
            OrganizationImportStatus::Completed => "COMPLETED",
            OrganizationImportStatus::Failed => "FAILED",
            OrganizationImportStatus::Processing => "PROCESSING",
            OrganizationImportStatus::Canceled => "CANCELED",
        });
        Ok(
            imports::list(store, actor(ctx)?, org, t, s, newest_first, page)
                .await?
                .into_iter()
                .map(OrganizationImport)
                .collect(),
        )
    }
}

#[derive(Default)]
pub struct ImportMutation;

#[Object]
impl ImportMutation {
    /// Validates the records as an import would, creating nothing.
    async fn preview_organization_import(
        &self,
        ctx: &Context<'_>,
        input: OrganizationImportInput,
    ) -> Result<OrganizationImportPreviewResult> {
        let store = store(ctx);
        let managing = parse_id("input.defaultManagingOrgId", &input.default_managing_org_id)?;
        let rows = rows(&input, max_rows(ctx))?;
        let outcomes = match psa_config(&input)? {
            Some(config) => {
                crate::domain::psa_import::preview(store, actor(ctx)?, managing, config, rows)
                    .await?
            }
            None => imports::validate(store, actor(ctx)?, managing, rows).await?,
        };
        Ok(OrganizationImportPreviewResult {
            summary: imports::summarize(&outcomes).into(),
            records: outcomes.iter().map(Into::into).collect(),
        })
    }

    /// Creates the new organizations (each row on its own), skips the existing ones, and keeps
    /// the import with every row's outcome.
    async fn process_organization_import(
        &self,
        ctx: &Context<'_>,
        input: OrganizationImportInput,
    ) -> Result<OrganizationImportResult> {
        let store = store(ctx);
        let managing = parse_id("input.defaultManagingOrgId", &input.default_managing_org_id)?;
        let rows = rows(&input, max_rows(ctx))?;
        let (import, outcomes) = match psa_config(&input)? {
            Some(config) => {
                crate::domain::psa_import::start(store, actor(ctx)?, managing, config, rows).await?
            }
            None => imports::process(store, actor(ctx)?, managing, "CSV", rows).await?,
        };
        Ok(OrganizationImportResult {
            import: OrganizationImport(import),
            summary: imports::summarize(&outcomes).into(),
        })
    }

    /// Imports a CSV file sent with the GraphQL multipart request spec. A preview is
    /// `previewOrganizationImportCsv`: it keeps no import, and this result always has one.
    async fn upload_organization_import_csv(
        &self,
        ctx: &Context<'_>,
        file: async_graphql::Upload,
        default_managing_org_id: ID,
        preview: Option<bool>,
    ) -> Result<OrganizationImportResult> {
        if preview == Some(true) {
            return Err(AppError::invalid(
                "preview",
                "NOT_SUPPORTED",
                "for a preview use previewOrganizationImportCsv with the same arguments",
            )
            .into());
        }
        let managing = parse_id("defaultManagingOrgId", &default_managing_org_id)?;
        let rows = csv_rows(ctx, &file)?;
        let (import, outcomes) =
            imports::process(store(ctx), actor(ctx)?, managing, "CSV", rows).await?;
        Ok(OrganizationImportResult {
            import: OrganizationImport(import),
            summary: imports::summarize(&outcomes).into(),
        })
    }

    /// Validates a CSV file as an import would, creating nothing.
    async fn preview_organization_import_csv(
        &self,
        ctx: &Context<'_>,
        file: async_graphql::Upload,
        default_managing_org_id: ID,
    ) -> Result<OrganizationImportPreviewResult> {
        let managing = parse_id("defaultManagingOrgId", &default_managing_org_id)?;
        let rows = csv_rows(ctx, &file)?;
        let outcomes = imports::validate(store(ctx), actor(ctx)?, managing, rows).await?;
        Ok(OrganizationImportPreviewResult {
            summary: imports::summarize(&outcomes).into(),
            records: outcomes.iter().map(Into::into).collect(),
        })
    }
}

fn csv_rows(ctx: &Context<'_>, file: &async_graphql::Upload) -> Result<Vec<ImportRow>, AppError> {
    let mut bytes = Vec::new();
    let mut reader = file
        .value(ctx)
        .map_err(|e| {
            AppError::invalid(
                "file",
                "INVALID_FILE",
                format!("the upload could not be read: {e}"),
            )
        })?
        .into_read();
    std::io::Read::read_to_end(&mut reader, &mut bytes).map_err(|e| {
        AppError::invalid(
            "file",
            "INVALID_FILE",
            format!("the upload could not be read: {e}"),
        )
    })?;
    imports::parse_csv(&bytes, max_rows(ctx))
        .map_err(|e| AppError::invalid("file", "INVALID_FILE", e.0))
}

fn max_rows(ctx: &Context<'_>) -> usize {
    ctx.data_opt::<ImportLimit>().map(|l| l.0).unwrap_or(1000)
}

/// The most rows one import may have (from the configuration).
pub struct ImportLimit(pub usize);
