use sea_orm::entity::prelude::*;

/// One step of a workflow run: what was called, how long it took, how it ended (secrets
/// redacted before they get here).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "workflow_task_logs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub execution_id: Uuid,
    pub step: String,
    pub action: String,
    /// `succeeded` or `failed`.
    pub status: String,
    pub duration_ms: i64,
    pub message: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
