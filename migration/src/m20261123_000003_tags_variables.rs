//! Tags (owned by an org, or global) and which orgs carry them; organization variables
//! and their history.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Tags {
    Table,
    Id,
    OrgId,
    /// The owner's id as text, or "" for a global tag: one unique index covers both.
    OwnerKey,
    Name,
    NameKey,
    Color,
    Description,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum OrganizationTags {
    Table,
    OrgId,
    TagId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum OrgVariables {
    Table,
    Id,
    OrgId,
    Name,
    Value,
    Category,
    Cascade,
    PackConfigId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum OrgVariableHistory {
    Table,
    Id,
    OrgId,
    VariableId,
    Name,
    Action,
    OldValue,
    NewValue,
    OldCategory,
    NewCategory,
    ActorUserId,
    ActorUsername,
    CreatedAt,
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
                    .table(Tags::Table)
                    .col(ColumnDef::new(Tags::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Tags::OrgId).uuid().null())
                    .col(ColumnDef::new(Tags::OwnerKey).string_len(36).not_null())
                    .col(ColumnDef::new(Tags::Name).string_len(255).not_null())
                    .col(ColumnDef::new(Tags::NameKey).string_len(255).not_null())
                    .col(ColumnDef::new(Tags::Color).string_len(7).not_null())
                    .col(ColumnDef::new(Tags::Description).text().null())
                    .col(
                        ColumnDef::new(Tags::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Tags::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_tags_org_id")
                            .from(Tags::Table, Tags::OrgId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_tags_owner_key_name_key")
                    .table(Tags::Table)
                    .col(Tags::OwnerKey)
                    .col(Tags::NameKey)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_tags_org_id")
                    .table(Tags::Table)
                    .col(Tags::OrgId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(OrganizationTags::Table)
                    .col(ColumnDef::new(OrganizationTags::OrgId).uuid().not_null())
                    .col(ColumnDef::new(OrganizationTags::TagId).uuid().not_null())
                    .col(
                        ColumnDef::new(OrganizationTags::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(OrganizationTags::OrgId)
                            .col(OrganizationTags::TagId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_organization_tags_org_id")
                            .from(OrganizationTags::Table, OrganizationTags::OrgId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_organization_tags_tag_id")
                            .from(OrganizationTags::Table, OrganizationTags::TagId)
                            .to(Tags::Table, Tags::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_organization_tags_tag_id")
                    .table(OrganizationTags::Table)
                    .col(OrganizationTags::TagId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(OrgVariables::Table)
                    .col(
                        ColumnDef::new(OrgVariables::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(OrgVariables::OrgId).uuid().not_null())
                    .col(
                        ColumnDef::new(OrgVariables::Name)
                            .string_len(255)
                            .not_null(),
                    )
                    .col(ColumnDef::new(OrgVariables::Value).text().null())
                    .col(
                        ColumnDef::new(OrgVariables::Category)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(OrgVariables::Cascade)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .col(ColumnDef::new(OrgVariables::PackConfigId).uuid().null())
                    .col(
                        ColumnDef::new(OrgVariables::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(OrgVariables::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_org_variables_org_id")
                            .from(OrgVariables::Table, OrgVariables::OrgId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_org_variables_org_id_name")
                    .table(OrgVariables::Table)
                    .col(OrgVariables::OrgId)
                    .col(OrgVariables::Name)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(OrgVariableHistory::Table)
                    .col(
                        ColumnDef::new(OrgVariableHistory::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(OrgVariableHistory::OrgId).uuid().not_null())
                    .col(
                        ColumnDef::new(OrgVariableHistory::VariableId)
                            .uuid()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(OrgVariableHistory::Name)
                            .string_len(255)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(OrgVariableHistory::Action)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(ColumnDef::new(OrgVariableHistory::OldValue).text().null())
                    .col(ColumnDef::new(OrgVariableHistory::NewValue).text().null())
                    .col(
                        ColumnDef::new(OrgVariableHistory::OldCategory)
                            .string_len(16)
                            .null(),
                    )
                    .col(
                        ColumnDef::new(OrgVariableHistory::NewCategory)
                            .string_len(16)
                            .null(),
                    )
                    .col(
                        ColumnDef::new(OrgVariableHistory::ActorUserId)
                            .uuid()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(OrgVariableHistory::ActorUsername)
                            .string_len(320)
                            .null(),
                    )
                    .col(
                        ColumnDef::new(OrgVariableHistory::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_org_variable_history_org_id")
                            .from(OrgVariableHistory::Table, OrgVariableHistory::OrgId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_org_variable_history_org_id_created_at")
                    .table(OrgVariableHistory::Table)
                    .col(OrgVariableHistory::OrgId)
                    .col(OrgVariableHistory::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            OrgVariableHistory::Table.into_iden(),
            OrgVariables::Table.into_iden(),
            OrganizationTags::Table.into_iden(),
            Tags::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
