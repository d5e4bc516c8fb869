//! Health checks of pack configs, kept as data.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PackTestRuns {
    Table,
    Id,
    PackConfigId,
    IsPassing,
    Status,
    ResponseTimeMs,
    ErrorMsg,
    CreatedAt,
}

#[derive(DeriveIden)]
enum PackConfigs {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PackTestRuns::Table)
                    .col(
                        ColumnDef::new(PackTestRuns::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(PackTestRuns::PackConfigId).uuid().not_null())
                    .col(ColumnDef::new(PackTestRuns::IsPassing).boolean().not_null())
                    .col(
                        ColumnDef::new(PackTestRuns::Status)
                            .string_len(8)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(PackTestRuns::ResponseTimeMs)
                            .integer()
                            .null(),
                    )
                    .col(ColumnDef::new(PackTestRuns::ErrorMsg).text().null())
                    .col(
                        ColumnDef::new(PackTestRuns::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_pack_test_runs_pack_config_id")
                            .from(PackTestRuns::Table, PackTestRuns::PackConfigId)
                            .to(PackConfigs::Table, PackConfigs::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_pack_test_runs_pack_config_id_created_at")
                    .table(PackTestRuns::Table)
                    .col(PackTestRuns::PackConfigId)
                    .col(PackTestRuns::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PackTestRuns::Table).to_owned())
            .await
    }
}
