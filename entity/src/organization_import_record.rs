use sea_orm::entity::prelude::*;

/// One row of an import: what it said, what became of it, and why.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "organization_import_records")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub import_id: Uuid,
    pub row_number: i32,
    pub organization_name: String,
    pub domain: Option<String>,
    pub org_slug: Option<String>,
    /// As written in the file (it may not be a valid id).
    pub managing_org_id: Option<String>,
    pub is_enabled: Option<String>,
    /// The PSA's id of the company (PSA imports).
    pub external_id: Option<String>,
    pub tag_names: Json,
    pub tag_ids: Json,
    /// `NEW`, `EXISTING`, `INVALID`.
    pub category: String,
    /// `CREATED`, `SKIPPED`, `FAILED`; `PENDING` while a PSA import runs, `CANCELED` when
    /// the import was stopped before the row.
    pub status: String,
    pub created_org_id: Option<Uuid>,
    pub error_message: Option<String>,
    /// `[{field, code, message}]`
    pub validation_errors: Json,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
