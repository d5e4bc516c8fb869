//! The PSA companies fetched by "Refresh Options", per pack config.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PsaCompanyCache {
    Table,
    PackConfigId,
    RefreshId,
    FetchedAt,
    Companies,
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
                    .table(PsaCompanyCache::Table)
                    .col(
                        ColumnDef::new(PsaCompanyCache::PackConfigId)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(PsaCompanyCache::RefreshId).uuid().not_null())
                    .col(
                        ColumnDef::new(PsaCompanyCache::FetchedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(PsaCompanyCache::Companies).json().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_psa_company_cache_pack_config_id")
                            .from(PsaCompanyCache::Table, PsaCompanyCache::PackConfigId)
                            .to(PackConfigs::Table, PackConfigs::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PsaCompanyCache::Table).to_owned())
            .await
    }
}
