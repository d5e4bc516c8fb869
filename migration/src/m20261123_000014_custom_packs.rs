//! Custom packs: an MSP's own integration (any HTTP API, or one read from an OpenAPI
//! document), with its connection (secrets sealed), health request, list request and the
//! org variable its mapping writes.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CustomPacks {
    Table,
    Id,
    OrgId,
    Name,
    NameKey,
    MappingVariable,
    Spec,
    Actions,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CustomPacks::Table)
                    .col(
                        ColumnDef::new(CustomPacks::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(CustomPacks::OrgId).uuid().not_null())
                    .col(ColumnDef::new(CustomPacks::Name).string_len(255).not_null())
                    .col(
                        ColumnDef::new(CustomPacks::NameKey)
                            .string_len(255)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(CustomPacks::MappingVariable)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(ColumnDef::new(CustomPacks::Spec).json().not_null())
                    .col(ColumnDef::new(CustomPacks::Actions).json().null())
                    .col(
                        ColumnDef::new(CustomPacks::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(CustomPacks::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(CustomPacks::Table, CustomPacks::OrgId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("custom_packs_org_name")
                    .table(CustomPacks::Table)
                    .col(CustomPacks::OrgId)
                    .col(CustomPacks::NameKey)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("custom_packs_org_variable")
                    .table(CustomPacks::Table)
                    .col(CustomPacks::OrgId)
                    .col(CustomPacks::MappingVariable)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(CustomPacks::Table).to_owned())
            .await
    }
}
