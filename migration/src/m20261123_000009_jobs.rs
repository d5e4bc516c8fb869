//! Jobs as rows (claimed under a lease, so a crashed replica's work is retried), and what
//! the PSA import needs: the import's pack config, each row's external id, and the PSA's
//! filter options beside its cached companies.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Jobs {
    Table,
    Id,
    Kind,
    Payload,
    UniqueKey,
    Status,
    Attempts,
    MaxAttempts,
    RunAfter,
    LeaseOwner,
    LeaseExpiresAt,
    LastError,
    CreatedAt,
    UpdatedAt,
    FinishedAt,
}

#[derive(DeriveIden)]
enum OrganizationImports {
    Table,
    PackConfigId,
}

#[derive(DeriveIden)]
enum OrganizationImportRecords {
    Table,
    ExternalId,
}

#[derive(DeriveIden)]
enum PsaCompanyCache {
    Table,
    FilterOptions,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Jobs::Table)
                    .col(ColumnDef::new(Jobs::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Jobs::Kind).string_len(64).not_null())
                    .col(ColumnDef::new(Jobs::Payload).json().not_null())
                    .col(ColumnDef::new(Jobs::UniqueKey).string_len(255).null())
                    .col(ColumnDef::new(Jobs::Status).string_len(16).not_null())
                    .col(ColumnDef::new(Jobs::Attempts).integer().not_null())
                    .col(ColumnDef::new(Jobs::MaxAttempts).integer().not_null())
                    .col(
                        ColumnDef::new(Jobs::RunAfter)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Jobs::LeaseOwner).string_len(128).null())
                    .col(
                        ColumnDef::new(Jobs::LeaseExpiresAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(ColumnDef::new(Jobs::LastError).text().null())
                    .col(
                        ColumnDef::new(Jobs::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Jobs::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Jobs::FinishedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_jobs_status_run_after")
                    .table(Jobs::Table)
                    .col(Jobs::Status)
                    .col(Jobs::RunAfter)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_jobs_unique_key")
                    .table(Jobs::Table)
                    .col(Jobs::UniqueKey)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(OrganizationImports::Table)
                    .add_column(
                        ColumnDef::new(OrganizationImports::PackConfigId)
                            .uuid()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(OrganizationImportRecords::Table)
                    .add_column(
                        ColumnDef::new(OrganizationImportRecords::ExternalId)
                            .string_len(255)
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(PsaCompanyCache::Table)
                    .add_column(ColumnDef::new(PsaCompanyCache::FilterOptions).json().null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(PsaCompanyCache::Table)
                    .drop_column(PsaCompanyCache::FilterOptions)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(OrganizationImportRecords::Table)
                    .drop_column(OrganizationImportRecords::ExternalId)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(OrganizationImports::Table)
                    .drop_column(OrganizationImports::PackConfigId)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(Jobs::Table).to_owned())
            .await
    }
}
