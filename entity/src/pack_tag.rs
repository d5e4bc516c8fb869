use sea_orm::entity::prelude::*;

/// A pack carries a tag.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "pack_tags")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub pack_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub tag_id: Uuid,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
