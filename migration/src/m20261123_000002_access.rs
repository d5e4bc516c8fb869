//! API clients (machine credentials) and the audit log of access changes.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ApiClients {
    Table,
    Id,
    OrgId,
    UserId,
    Name,
    Description,
    ClientId,
    SecretHash,
    SecretGeneration,
    SecretRotatedAt,
    CreatedById,
    UpdatedById,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum PermissionAuditLog {
    Table,
    Id,
    OrgId,
    ActorUserId,
    ActorUsername,
    Action,
    TargetType,
    TargetId,
    Before,
    After,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ApiClients::Table)
                    .col(
                        ColumnDef::new(ApiClients::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(ApiClients::OrgId).uuid().not_null())
                    .col(
                        ColumnDef::new(ApiClients::UserId)
                            .uuid()
                            .not_null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(ApiClients::Name).string_len(255).not_null())
                    .col(ColumnDef::new(ApiClients::Description).text().null())
                    .col(
                        ColumnDef::new(ApiClients::ClientId)
                            .string_len(64)
                            .not_null()
                            .unique_key(),
                    )
                    .col(
                        ColumnDef::new(ApiClients::SecretHash)
                            .string_len(128)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ApiClients::SecretGeneration)
                            .integer()
                            .not_null()
                            .default(1),
                    )
                    .col(
                        ColumnDef::new(ApiClients::SecretRotatedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(ColumnDef::new(ApiClients::CreatedById).uuid().null())
                    .col(ColumnDef::new(ApiClients::UpdatedById).uuid().null())
                    .col(
                        ColumnDef::new(ApiClients::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ApiClients::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_api_clients_org_id")
                            .from(ApiClients::Table, ApiClients::OrgId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_api_clients_user_id")
                            .from(ApiClients::Table, ApiClients::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_api_clients_org_id")
                    .table(ApiClients::Table)
                    .col(ApiClients::OrgId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(PermissionAuditLog::Table)
                    .col(
                        ColumnDef::new(PermissionAuditLog::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(PermissionAuditLog::OrgId).uuid().not_null())
                    .col(
                        ColumnDef::new(PermissionAuditLog::ActorUserId)
                            .uuid()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(PermissionAuditLog::ActorUsername)
                            .string_len(320)
                            .null(),
                    )
                    .col(
                        ColumnDef::new(PermissionAuditLog::Action)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(PermissionAuditLog::TargetType)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(PermissionAuditLog::TargetId)
                            .uuid()
                            .not_null(),
                    )
                    .col(ColumnDef::new(PermissionAuditLog::Before).json().null())
                    .col(ColumnDef::new(PermissionAuditLog::After).json().null())
                    .col(
                        ColumnDef::new(PermissionAuditLog::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_permission_audit_log_org_id")
                            .from(PermissionAuditLog::Table, PermissionAuditLog::OrgId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_permission_audit_log_org_id_created_at")
                    .table(PermissionAuditLog::Table)
                    .col(PermissionAuditLog::OrgId)
                    .col(PermissionAuditLog::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PermissionAuditLog::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(ApiClients::Table).to_owned())
            .await
    }
}
