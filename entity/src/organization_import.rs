use sea_orm::entity::prelude::*;

/// One import of organizations (from a CSV file or the PSA), kept with its outcome.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "organization_imports")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The default managing org of the import.
    pub org_id: Uuid,
    /// `CSV` or `PSA`.
    pub import_type: String,
    /// `PROCESSING`, `COMPLETED`, `FAILED` or `CANCELED`.
    pub status: String,
    pub total_records: i32,
    pub successful_count: i32,
    pub skipped_count: i32,
    pub failed_count: i32,
    pub error_message: Option<String>,
    pub created_by_id: Option<Uuid>,
    /// The PSA pack config a PSA import reads from.
    pub pack_config_id: Option<Uuid>,
    pub started_at: Option<DateTimeUtc>,
    pub completed_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
