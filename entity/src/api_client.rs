use sea_orm::entity::prelude::*;

/// Machine credentials of an organization. The secret is stored only as a hash;
/// `secret_generation` grows with each rotation so older tokens stop working.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_clients")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    /// The user this client acts as (`is_api_user`).
    pub user_id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub client_id: String,
    pub secret_hash: String,
    pub secret_generation: i32,
    pub secret_rotated_at: Option<DateTimeUtc>,
    pub created_by_id: Option<Uuid>,
    pub updated_by_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
