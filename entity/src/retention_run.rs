use sea_orm::entity::prelude::*;

/// One run of the nightly retention job: what it removed, judged as of which instant.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "retention_runs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub started_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
    /// The instant ages were measured from (the night's scheduled time, not the clock).
    pub as_of: DateTimeUtc,
    pub executions_deleted: i64,
    pub organizations_purged: i64,
    /// `{"executionsByOrg": {"<org id>": n}, "purgedOrganizations": ["<org id>"]}`.
    pub details: Json,
    /// `running`, `succeeded` or `failed`.
    pub status: String,
    pub error: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
