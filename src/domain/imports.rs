//! Importing organizations (from CSV, or rows given through the API): one validator for
//! preview and process, each row created on its own (one failure never blocks the others),
//! and every import kept with every row's outcome, so its log can be downloaded any time.
use std::collections::HashMap;

use entity::{organization_import as import, organization_import_record as record};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use serde_json::json;
use uuid::Uuid;

use super::organizations::{self, NewOrg, OrgValidator, ValidOrg};
use super::{Store, now};
use crate::auth::{Access, Actor};
use crate::error::{AppError, AppResult, ValidationError};

pub use import::Model as Import;
pub use record::Model as Record;

/// The columns of the CSV template, in order.
pub const COLUMNS: [&str; 6] = [
    "organizationName",
    "managingOrgId",
    "domain",
    "orgSlug",
    "isEnabled",
    "tagNames",
];

/// The columns a log adds; ignored on upload, so a fixed log can be imported again.
pub const LOG_COLUMNS: [&str; 4] = ["rowNumber", "outcome", "errorCodes", "errorMessages"];

/// One row to import, as given.
#[derive(Clone, Debug, Default)]
pub struct ImportRow {
    /// 1 for the first data row (the header is not counted).
    pub row_number: usize,
    pub organization_name: String,
    pub managing_org_id: Option<String>,
    pub domain: Option<String>,
    pub org_slug: Option<String>,
    /// As written: true/false/yes/no/1/0, empty for true.
    pub is_enabled: Option<String>,
    pub tag_names: Vec<String>,
    pub external_id: Option<String>,
}

/// A problem with the file as a whole: nothing is imported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileError(pub String);

fn blank(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

/// Parses a CSV file: UTF-8 with or without BOM, CRLF or LF, quoted fields, headers in any
/// order and case, blank lines skipped. At most `max_rows` data rows.
pub fn parse_csv(bytes: &[u8], max_rows: usize) -> Result<Vec<ImportRow>, FileError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if std::str::from_utf8(bytes).is_err() {
        return Err(FileError(
            "the file is not UTF-8 text; save it as CSV UTF-8".into(),
        ));
    }
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::None)
        .from_reader(bytes);
    let headers = reader
        .headers()
        .map_err(|e| FileError(format!("the file is not CSV: {e}")))?
        .clone();
    let mut index: HashMap<&'static str, usize> = HashMap::new();
    for (i, h) in headers.iter().enumerate() {
        let name = h.trim();
        if name.is_empty() {
            continue;
        }
        // A PSA import's log also carries the company id.
        if LOG_COLUMNS.iter().any(|c| c.eq_ignore_ascii_case(name))
            || name.eq_ignore_ascii_case("externalId")
        {
            continue;
        }
        let Some(column) = COLUMNS.iter().find(|c| c.eq_ignore_ascii_case(name)) else {
            return Err(FileError(format!(
                "unknown column `{name}`; the columns are {}",
                COLUMNS.join(", ")
            )));
        };
        if index.insert(column, i).is_some() {
            return Err(FileError(format!("the column `{column}` appears twice")));
        }
    }
    if !index.contains_key("organizationName") {
        return Err(FileError("the file has no organizationName column".into()));
    }
    let mut rows = Vec::new();
    for result in reader.records() {
        let rec = result.map_err(|e| FileError(format!("the file is not valid CSV: {e}")))?;
        if rec.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        if rows.len() >= max_rows {
            return Err(FileError(format!(
                "the file has more than {max_rows} rows; split it"
            )));
        }
        let get = |c: &str| index.get(c).and_then(|i| rec.get(*i)).unwrap_or("");
        rows.push(ImportRow {
            row_number: rows.len() + 1,
            organization_name: get("organizationName").to_owned(),
            managing_org_id: blank(get("managingOrgId")),
            domain: blank(get("domain")),
            org_slug: blank(get("orgSlug")),
            is_enabled: blank(get("isEnabled")),
            tag_names: get("tagNames").split(',').filter_map(blank).collect(),
            external_id: None,
        });
    }
    Ok(rows)
}

pub(crate) fn parse_enabled(raw: Option<&str>) -> Result<bool, ValidationError> {
    match raw.map(|r| r.trim().to_ascii_lowercase()).as_deref() {
        None | Some("") | Some("true") | Some("yes") | Some("1") | Some("y") => Ok(true),
        Some("false") | Some("no") | Some("0") | Some("n") => Ok(false),
        Some(other) => Err(ValidationError::new(
            "isEnabled",
            "INVALID_FORMAT",
            format!("`{other}` is not true/false, yes/no or 1/0"),
        )),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Category {
    New,
    Existing,
    Invalid,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::New => "NEW",
            Category::Existing => "EXISTING",
            Category::Invalid => "INVALID",
        }
    }
}

/// What became of a row.
#[derive(Clone, Debug)]
pub struct RowOutcome {
    pub row: ImportRow,
    pub category: Category,
    /// `CREATED`, `SKIPPED` or `FAILED`; `None` in a preview.
    pub status: Option<&'static str>,
    pub errors: Vec<ValidationError>,
    pub tag_ids: Vec<Uuid>,
    pub created_org_id: Option<Uuid>,
    pub(crate) valid: Option<ValidOrg>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub total_records: usize,
    pub new_organizations: usize,
    pub existing_organizations: usize,
    pub invalid_records: usize,
    pub successful_creations: usize,
    pub skipped_creations: usize,
    pub failed_creations: usize,
}

pub fn summarize(outcomes: &[RowOutcome]) -> Summary {
    let count = |f: &dyn Fn(&RowOutcome) -> bool| outcomes.iter().filter(|o| f(o)).count();
    Summary {
        total_records: outcomes.len(),
        new_organizations: count(&|o| o.category == Category::New),
        existing_organizations: count(&|o| o.category == Category::Existing),
        invalid_records: count(&|o| o.category == Category::Invalid),
        successful_creations: count(&|o| o.status == Some("CREATED")),
        skipped_creations: count(&|o| o.status == Some("SKIPPED")),
        failed_creations: count(&|o| o.status == Some("FAILED")),
    }
}

/// Told of each row done: the phase (`validating`, `creating`), rows done, rows in all.
pub type OnRow<'a> = Option<&'a (dyn Fn(&'static str, usize, usize) + Sync)>;

/// Validates every row (the shared validator, in import mode).
pub async fn validate(
    store: &Store,
    actor: &Actor,
    default_managing_org: Uuid,
    rows: Vec<ImportRow>,
) -> AppResult<Vec<RowOutcome>> {
    validate_with(store, actor, default_managing_org, rows, None).await
}

/// `validate`, telling `on_row` of its progress.
pub async fn validate_with(
    store: &Store,
    actor: &Actor,
    default_managing_org: Uuid,
    rows: Vec<ImportRow>,
    on_row: OnRow<'_>,
) -> AppResult<Vec<RowOutcome>> {
    let total = rows.len();
    let org = organizations::visible(store, actor, default_managing_org).await?;
    actor.check(&org, Access::Write)?;
    let mut validator = OrgValidator::for_import(store, actor).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        validator.at_row(row.row_number);
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
            tag_names: Some(row.tag_names.clone()),
            ..Default::default()
        };
        let (valid, mut rule_errors) = match validator.check(&input, default_managing_org).await? {
            Ok(v) => (Some(v), Vec::new()),
            Err(e) => (None, e),
        };
        errors.append(&mut rule_errors);
        let category = categorize(&errors);
        let tag_ids = valid
            .as_ref()
            .map(|v| v.tag_ids.clone())
            .unwrap_or_default();
        out.push(RowOutcome {
            row,
            category,
            status: None,
            errors,
            tag_ids,
            created_org_id: None,
            valid: if category == Category::New {
                valid
            } else {
                None
            },
        });
        if let Some(f) = on_row {
            f("validating", out.len(), total);
        }
    }
    Ok(out)
}

/// NEW without errors; EXISTING when the only problems are that the org is already there
/// (its name taken in the tree, or — for PSA imports — its company already mapped);
/// INVALID otherwise.
pub(crate) fn categorize(errors: &[ValidationError]) -> Category {
    if errors.is_empty() {
        Category::New
    } else if errors.iter().all(|e| {
        e.code == "DUPLICATE_IN_DATABASE" && (e.field == "name" || e.field == "externalId")
    }) {
        Category::Existing
    } else {
        Category::Invalid
    }
}

/// Creates the new rows, each on its own; existing ones are skipped, invalid ones failed.
async fn create_rows(
    store: &Store,
    outcomes: &mut [RowOutcome],
    on_row: OnRow<'_>,
) -> AppResult<()> {
    let mut created = 0usize;
    let total = outcomes.len();
    for (done, o) in outcomes.iter_mut().enumerate() {
        if let Some(f) = on_row {
            f("creating", done, total);
        }
        match (o.category, &o.valid) {
            (Category::New, Some(valid)) => match organizations::insert_valid(store, valid).await {
                Ok(org) => {
                    o.status = Some("CREATED");
                    o.created_org_id = Some(org.id);
                    created += 1;
                    // A bulk load outruns autovacuum: without fresh statistics PostgreSQL
                    // plans the per-row lookups as scans of the whole tree.
                    if created.is_multiple_of(500)
                        && store.backend() == sea_orm::DbBackend::Postgres
                    {
                        sea_orm::ConnectionTrait::execute_unprepared(
                            &store.db,
                            "ANALYZE organizations",
                        )
                        .await?;
                    }
                }
                // Created meanwhile by a concurrent import: the same org, so existing.
                Err(AppError::Invalid(errs))
                    if errs
                        .iter()
                        .all(|e| e.code == "DUPLICATE_IN_DATABASE" && e.field == "name") =>
                {
                    o.category = Category::Existing;
                    o.status = Some("SKIPPED");
                    o.errors = errs;
                }
                Err(AppError::Invalid(errs)) => {
                    o.category = Category::Invalid;
                    o.status = Some("FAILED");
                    o.errors = errs;
                }
                Err(e) => return Err(e),
            },
            (Category::Existing, _) => o.status = Some("SKIPPED"),
            _ => o.status = Some("FAILED"),
        }
    }
    if let Some(f) = on_row {
        f("creating", total, total);
    }
    Ok(())
}

/// The row of an import as kept.
pub(crate) fn record_model(
    import_id: Uuid,
    o: &RowOutcome,
    status: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> record::ActiveModel {
    record::ActiveModel {
        id: Set(Uuid::now_v7()),
        import_id: Set(import_id),
        row_number: Set(o.row.row_number as i32),
        organization_name: Set(o.row.organization_name.clone()),
        domain: Set(o.row.domain.clone()),
        org_slug: Set(o.row.org_slug.clone()),
        managing_org_id: Set(o.row.managing_org_id.clone()),
        is_enabled: Set(o.row.is_enabled.clone()),
        external_id: Set(o.row.external_id.clone()),
        tag_names: Set(json!(o.row.tag_names)),
        tag_ids: Set(json!(o.tag_ids)),
        category: Set(o.category.as_str().to_owned()),
        status: Set(status.to_owned()),
        created_org_id: Set(o.created_org_id),
        error_message: Set(message(&o.errors)),
        validation_errors: Set(json!(o.errors)),
        created_at: Set(at),
        updated_at: Set(at),
    }
}

pub(crate) fn message(errors: &[ValidationError]) -> Option<String> {
    (!errors.is_empty()).then(|| {
        errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; ")
    })
}

/// Processes rows: creates what is new and keeps the import with every row's outcome.
pub async fn process(
    store: &Store,
    actor: &Actor,
    default_managing_org: Uuid,
    import_type: &str,
    rows: Vec<ImportRow>,
) -> AppResult<(Import, Vec<RowOutcome>)> {
    process_with(store, actor, default_managing_org, import_type, rows, None).await
}

/// `process`, telling `on_row` of its progress (the command line's bars).
pub async fn process_with(
    store: &Store,
    actor: &Actor,
    default_managing_org: Uuid,
    import_type: &str,
    rows: Vec<ImportRow>,
    on_row: OnRow<'_>,
) -> AppResult<(Import, Vec<RowOutcome>)> {
    let started = now();
    let mut outcomes = validate_with(store, actor, default_managing_org, rows, on_row).await?;
    create_rows(store, &mut outcomes, on_row).await?;
    let s = summarize(&outcomes);
    let at = now();
    let id = Uuid::now_v7();
    let txn = store.begin_write().await?;
    let saved = import::ActiveModel {
        id: Set(id),
        org_id: Set(default_managing_org),
        import_type: Set(import_type.to_owned()),
        status: Set("COMPLETED".into()),
        total_records: Set(s.total_records as i32),
        successful_count: Set(s.successful_creations as i32),
        skipped_count: Set(s.skipped_creations as i32),
        failed_count: Set(s.failed_creations as i32),
        error_message: Set(None),
        created_by_id: Set(Some(actor.user_id)),
        pack_config_id: Set(None),
        started_at: Set(Some(started)),
        completed_at: Set(Some(at)),
        created_at: Set(started),
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
    txn.commit().await?;
    Ok((saved, outcomes))
}

/// An import the caller may see (its default managing org is theirs).
pub async fn get(store: &Store, actor: &Actor, id: Uuid) -> AppResult<Import> {
    let i = import::Entity::find_by_id(id)
        .one(&store.db)
        .await?
        .ok_or(AppError::Forbidden)?;
    organizations::visible(store, actor, i.org_id).await?;
    Ok(i)
}

pub async fn list(
    store: &Store,
    actor: &Actor,
    org_id: Uuid,
    import_type: Option<&str>,
    status: Option<&str>,
    newest_first: bool,
    page: (u64, u64),
) -> AppResult<Vec<Import>> {
    organizations::visible(store, actor, org_id).await?;
    let mut q = import::Entity::find().filter(import::Column::OrgId.eq(org_id));
    if let Some(t) = import_type {
        q = q.filter(import::Column::ImportType.eq(t));
    }
    if let Some(s) = status {
        q = q.filter(import::Column::Status.eq(s));
    }
    q = if newest_first {
        q.order_by_desc(import::Column::CreatedAt)
    } else {
        q.order_by_asc(import::Column::CreatedAt)
    };
    Ok(q.order_by_desc(import::Column::Id)
        .limit(page.0)
        .offset(page.1)
        .all(&store.db)
        .await?)
}

pub async fn records(
    store: &Store,
    import_id: Uuid,
    category: Option<&str>,
    status: Option<&str>,
    page: (u64, u64),
) -> AppResult<Vec<Record>> {
    let mut q = record::Entity::find().filter(record::Column::ImportId.eq(import_id));
    if let Some(c) = category {
        q = q.filter(record::Column::Category.eq(c));
    }
    if let Some(s) = status {
        q = q.filter(record::Column::Status.eq(s));
    }
    Ok(q.order_by_asc(record::Column::RowNumber)
        .limit(page.0)
        .offset(page.1)
        .all(&store.db)
        .await?)
}

/// The import's log as CSV: the template's columns, then `rowNumber,outcome,errorCodes,errorMessages`.
pub async fn log_csv(store: &Store, actor: &Actor, id: Uuid) -> AppResult<String> {
    let i = get(store, actor, id).await?;
    let rows = records(store, i.id, None, None, (u64::MAX >> 1, 0)).await?;
    let mut w = csv::Writer::from_writer(Vec::new());
    let psa = i.import_type == "PSA";
    let mut header: Vec<&str> = COLUMNS.to_vec();
    header.extend(LOG_COLUMNS);
    if psa {
        header.push("externalId");
    }
    w.write_record(&header).map_err(AppError::internal)?;
    for r in rows {
        let errors: Vec<serde_json::Value> =
            serde_json::from_value(r.validation_errors).unwrap_or_default();
        let codes: Vec<&str> = errors.iter().filter_map(|e| e["code"].as_str()).collect();
        let messages: Vec<String> = errors
            .iter()
            .map(|e| {
                format!(
                    "{}: {}",
                    e["field"].as_str().unwrap_or(""),
                    e["message"].as_str().unwrap_or("")
                )
            })
            .collect();
        let tags: Vec<String> = serde_json::from_value(r.tag_names).unwrap_or_default();
        let outcome = match r.status.as_str() {
            "CREATED" => "created",
            "SKIPPED" => "skipped (exists)",
            "PENDING" => "pending",
            "CANCELED" => "canceled",
            _ => "failed",
        };
        let mut fields: Vec<String> = vec![
            r.organization_name.clone(),
            r.managing_org_id.clone().unwrap_or_default(),
            r.domain.clone().unwrap_or_default(),
            r.org_slug.clone().unwrap_or_default(),
            r.is_enabled.clone().unwrap_or_default(),
            tags.join(","),
            r.row_number.to_string(),
            outcome.to_owned(),
            codes.join(";"),
            messages.join("; "),
        ];
        if psa {
            fields.push(r.external_id.clone().unwrap_or_default());
        }
        w.write_record(&fields).map_err(AppError::internal)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| AppError::internal(anyhow::anyhow!("{e}")))?;
    String::from_utf8(bytes).map_err(AppError::internal)
}

/// The template: the header and one example row.
pub fn template_csv() -> String {
    format!(
        "{}\nContoso Ltd,,contoso.com,contoso,true,\"Managed,VIP\"\n",
        COLUMNS.join(",")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_cases_people_send() {
        let file = "\u{FEFF}OrganizationName,TAGNAMES,domain\r\n\"Contoso, Ltd\",\"Managed,VIP\",contoso.com\r\n\r\n\"Say \"\"Hi\"\" Inc\",,\n\"Multi\nLine\",,\n";
        let rows = parse_csv(file.as_bytes(), 10).unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].organization_name, "Contoso, Ltd");
        assert_eq!(rows[0].tag_names, ["Managed", "VIP"]);
        assert_eq!(rows[0].domain.as_deref(), Some("contoso.com"));
        assert_eq!(rows[1].organization_name, "Say \"Hi\" Inc");
        assert_eq!(rows[1].row_number, 2, "blank lines are not rows");
        assert_eq!(rows[2].organization_name, "Multi\nLine");
    }

    #[test]
    fn file_level_problems_refuse_the_file() {
        assert!(
            parse_csv(b"name,domain\nA,a.com\n", 10)
                .unwrap_err()
                .0
                .contains("unknown column `name`")
        );
        assert!(
            parse_csv(b"domain\na.com\n", 10)
                .unwrap_err()
                .0
                .contains("unknown column")
                || parse_csv(b"domain\na.com\n", 10)
                    .unwrap_err()
                    .0
                    .contains("organizationName")
        );
        assert!(
            parse_csv(b"organizationName\n\xff\xfe\n", 10)
                .unwrap_err()
                .0
                .contains("UTF-8")
        );
        assert!(
            parse_csv(b"organizationName\nA\nB\nC\n", 2)
                .unwrap_err()
                .0
                .contains("more than 2")
        );
        assert!(
            parse_csv(b"organizationName,organizationname\nA,B\n", 2)
                .unwrap_err()
                .0
                .contains("twice")
        );
        assert_eq!(parse_csv(b"organizationName\n", 2).unwrap().len(), 0);
    }

    #[test]
    fn booleans() {
        for yes in [None, Some(""), Some("TRUE"), Some("yes"), Some("1")] {
            assert!(parse_enabled(yes).unwrap());
        }
        for no in ["false", "No", "0"] {
            assert!(!parse_enabled(Some(no)).unwrap());
        }
        assert_eq!(
            parse_enabled(Some("maybe")).unwrap_err().code,
            "INVALID_FORMAT"
        );
    }
}
