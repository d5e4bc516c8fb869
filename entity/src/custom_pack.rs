use sea_orm::entity::prelude::*;

/// An MSP's own integration: its connection, health and list requests (`spec`, secrets
/// sealed), the operations of its OpenAPI document (`actions`), its mapping variable.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "custom_packs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub name: String,
    pub name_key: String,
    pub mapping_variable: String,
    pub spec: Json,
    pub actions: Option<Json>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
