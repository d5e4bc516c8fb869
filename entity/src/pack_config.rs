use sea_orm::entity::prelude::*;

/// One configured instance of a pack for an organization. Secret fields inside `config`
/// are stored sealed (encrypted).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "pack_configs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub pack_id: String,
    pub name: String,
    pub name_key: String,
    pub description: Option<String>,
    pub is_default: bool,
    pub config: Json,
    pub metadata: Option<Json>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
