use sea_orm::entity::prelude::*;

/// A person (or API identity) who belongs to one organization with one role.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub username: String,
    pub username_key: String,
    pub sub: Option<String>,
    pub role: String,
    pub is_staff: bool,
    pub is_api_user: bool,
    pub is_test_user: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
