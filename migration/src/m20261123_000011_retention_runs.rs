//! One row per run of the nightly retention job, so an operator can see what it removed and
//! when, and whether it failed.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum RetentionRuns {
    Table,
    Id,
    StartedAt,
    FinishedAt,
    AsOf,
    ExecutionsDeleted,
    OrganizationsPurged,
    Details,
    Status,
    Error,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(RetentionRuns::Table)
                    .col(
                        ColumnDef::new(RetentionRuns::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(RetentionRuns::StartedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(RetentionRuns::FinishedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(RetentionRuns::AsOf)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(RetentionRuns::ExecutionsDeleted)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .col(
                        ColumnDef::new(RetentionRuns::OrganizationsPurged)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .col(ColumnDef::new(RetentionRuns::Details).json().not_null())
                    .col(
                        ColumnDef::new(RetentionRuns::Status)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(ColumnDef::new(RetentionRuns::Error).text().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_retention_runs_started_at")
                    .table(RetentionRuns::Table)
                    .col(RetentionRuns::StartedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(RetentionRuns::Table).to_owned())
            .await
    }
}
