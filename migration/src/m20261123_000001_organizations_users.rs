//! The organization tree, its users, and the reserved organization names.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
    Name,
    NameKey,
    Domain,
    DomainKey,
    OrgSlug,
    ManagingOrgId,
    RootOrgId,
    Path,
    IsEnabled,
    IsInternal,
    IsOnboarding,
    IsMsp,
    IsStaff,
    Tid,
    RocSiteId,
    ResultsRetentionDays,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    OrgId,
    Username,
    UsernameKey,
    Sub,
    Role,
    IsStaff,
    IsApiUser,
    IsTestUser,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ReservedOrganizationNames {
    Table,
    Id,
    Name,
    NameKey,
    CreatedById,
    UpdatedById,
    CreatedAt,
    UpdatedAt,
}

/// Partial unique indexes: the same SQL on SQLite and PostgreSQL. Uniqueness
/// holds among live organizations only, so a soft-deleted name can be reused.
const LIVE_UNIQUE_INDEXES: [(&str, &str); 3] = [
    (
        "ux_organizations_root_org_id_name_key",
        "root_org_id, name_key",
    ),
    (
        "ux_organizations_root_org_id_domain_key",
        "root_org_id, domain_key",
    ),
    (
        "ux_organizations_root_org_id_org_slug",
        "root_org_id, org_slug",
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Organizations::Table)
                    .col(
                        ColumnDef::new(Organizations::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(Organizations::Name)
                            .string_len(255)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Organizations::NameKey)
                            .string_len(255)
                            .not_null(),
                    )
                    .col(ColumnDef::new(Organizations::Domain).string_len(255).null())
                    .col(
                        ColumnDef::new(Organizations::DomainKey)
                            .string_len(255)
                            .null(),
                    )
                    .col(
                        ColumnDef::new(Organizations::OrgSlug)
                            .string_len(255)
                            .not_null(),
                    )
                    .col(ColumnDef::new(Organizations::ManagingOrgId).uuid().null())
                    .col(ColumnDef::new(Organizations::RootOrgId).uuid().not_null())
                    .col(ColumnDef::new(Organizations::Path).text().not_null())
                    .col(
                        ColumnDef::new(Organizations::IsEnabled)
                            .boolean()
                            .not_null()
                            .default(true),
                    )
                    .col(
                        ColumnDef::new(Organizations::IsInternal)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .col(
                        ColumnDef::new(Organizations::IsOnboarding)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .col(
                        ColumnDef::new(Organizations::IsMsp)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .col(
                        ColumnDef::new(Organizations::IsStaff)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .col(ColumnDef::new(Organizations::Tid).string_len(64).null())
                    .col(
                        ColumnDef::new(Organizations::RocSiteId)
                            .string_len(255)
                            .null(),
                    )
                    .col(
                        ColumnDef::new(Organizations::ResultsRetentionDays)
                            .integer()
                            .not_null()
                            .default(21),
                    )
                    .col(
                        ColumnDef::new(Organizations::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Organizations::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Organizations::DeletedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_organizations_managing_org_id")
                            .from(Organizations::Table, Organizations::ManagingOrgId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_organizations_path")
                    .table(Organizations::Table)
                    .col(Organizations::Path)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_organizations_managing_org_id")
                    .table(Organizations::Table)
                    .col(Organizations::ManagingOrgId)
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        for (name, cols) in LIVE_UNIQUE_INDEXES {
            db.execute_unprepared(&format!(
                "CREATE UNIQUE INDEX {name} ON organizations ({cols}) WHERE deleted_at IS NULL"
            ))
            .await?;
        }
        if manager.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
            // Prefix scans over the materialized path ("all descendants of X")
            // need the C collation operator class to use the index on PostgreSQL.
            db.execute_unprepared(
                "CREATE INDEX ix_organizations_path_prefix ON organizations (path text_pattern_ops)",
            )
            .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(ColumnDef::new(Users::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Users::OrgId).uuid().not_null())
                    .col(ColumnDef::new(Users::Username).string_len(320).not_null())
                    .col(
                        ColumnDef::new(Users::UsernameKey)
                            .string_len(320)
                            .not_null()
                            .unique_key(),
                    )
                    .col(
                        ColumnDef::new(Users::Sub)
                            .string_len(255)
                            .null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(Users::Role).string_len(32).not_null())
                    .col(
                        ColumnDef::new(Users::IsStaff)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .col(
                        ColumnDef::new(Users::IsApiUser)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .col(
                        ColumnDef::new(Users::IsTestUser)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .col(
                        ColumnDef::new(Users::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Users::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_users_org_id")
                            .from(Users::Table, Users::OrgId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_users_org_id")
                    .table(Users::Table)
                    .col(Users::OrgId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ReservedOrganizationNames::Table)
                    .col(
                        ColumnDef::new(ReservedOrganizationNames::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(ReservedOrganizationNames::Name)
                            .string_len(255)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ReservedOrganizationNames::NameKey)
                            .string_len(255)
                            .not_null()
                            .unique_key(),
                    )
                    .col(
                        ColumnDef::new(ReservedOrganizationNames::CreatedById)
                            .uuid()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(ReservedOrganizationNames::UpdatedById)
                            .uuid()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(ReservedOrganizationNames::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ReservedOrganizationNames::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_reserved_names_created_by")
                            .from(
                                ReservedOrganizationNames::Table,
                                ReservedOrganizationNames::CreatedById,
                            )
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_reserved_names_updated_by")
                            .from(
                                ReservedOrganizationNames::Table,
                                ReservedOrganizationNames::UpdatedById,
                            )
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(
                Table::drop()
                    .table(ReservedOrganizationNames::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(Users::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Organizations::Table).to_owned())
            .await
    }
}
