use sea_orm::entity::prelude::*;

/// A step of an execution waiting for a person: a text, a button or a prompt with fields.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "pending_tasks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub execution_id: Uuid,
    /// `text`, `button` or `prompt`.
    pub kind: String,
    pub label: String,
    pub fields: Option<Json>,
    /// `pending`, `success`, `expired`, `canceled`, `delayed`.
    pub status: String,
    pub response: Option<Json>,
    pub expires_at: DateTimeUtc,
    /// The workflow step that asked (`menu`, `add_note`…), so the answer goes to it.
    pub step: Option<String>,
    /// When the workflow acted on the answer (an answer is acted on once).
    pub handled_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
