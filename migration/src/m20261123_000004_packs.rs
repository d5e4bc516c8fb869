//! Integrations: which orgs installed which pack, configured instances of packs, and
//! tags on packs.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PackInstallations {
    Table,
    Id,
    OrgId,
    PackId,
    Name,
    InstalledById,
    CreatedAt,
}

#[derive(DeriveIden)]
enum PackConfigs {
    Table,
    Id,
    OrgId,
    PackId,
    Name,
    NameKey,
    Description,
    IsDefault,
    Config,
    Metadata,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum PackTags {
    Table,
    PackId,
    TagId,
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Tags {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PackInstallations::Table)
                    .col(
                        ColumnDef::new(PackInstallations::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(PackInstallations::OrgId).uuid().not_null())
                    .col(
                        ColumnDef::new(PackInstallations::PackId)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(PackInstallations::Name)
                            .string_len(255)
                            .null(),
                    )
                    .col(
                        ColumnDef::new(PackInstallations::InstalledById)
                            .uuid()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(PackInstallations::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_pack_installations_org_id")
                            .from(PackInstallations::Table, PackInstallations::OrgId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_pack_installations_org_id_pack_id")
                    .table(PackInstallations::Table)
                    .col(PackInstallations::OrgId)
                    .col(PackInstallations::PackId)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(PackConfigs::Table)
                    .col(
                        ColumnDef::new(PackConfigs::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(PackConfigs::OrgId).uuid().not_null())
                    .col(
                        ColumnDef::new(PackConfigs::PackId)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(ColumnDef::new(PackConfigs::Name).string_len(255).not_null())
                    .col(
                        ColumnDef::new(PackConfigs::NameKey)
                            .string_len(255)
                            .not_null(),
                    )
                    .col(ColumnDef::new(PackConfigs::Description).text().null())
                    .col(
                        ColumnDef::new(PackConfigs::IsDefault)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .col(ColumnDef::new(PackConfigs::Config).json().not_null())
                    .col(ColumnDef::new(PackConfigs::Metadata).json().null())
                    .col(
                        ColumnDef::new(PackConfigs::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(PackConfigs::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_pack_configs_org_id")
                            .from(PackConfigs::Table, PackConfigs::OrgId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_pack_configs_org_id_pack_id_name_key")
                    .table(PackConfigs::Table)
                    .col(PackConfigs::OrgId)
                    .col(PackConfigs::PackId)
                    .col(PackConfigs::NameKey)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // At most one default per org and pack, enforced by the database.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX ux_pack_configs_default ON pack_configs (org_id, pack_id) WHERE is_default = true",
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(PackTags::Table)
                    .col(ColumnDef::new(PackTags::PackId).string_len(64).not_null())
                    .col(ColumnDef::new(PackTags::TagId).uuid().not_null())
                    .primary_key(Index::create().col(PackTags::PackId).col(PackTags::TagId))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_pack_tags_tag_id")
                            .from(PackTags::Table, PackTags::TagId)
                            .to(Tags::Table, Tags::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            PackTags::Table.into_iden(),
            PackConfigs::Table.into_iden(),
            PackInstallations::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
