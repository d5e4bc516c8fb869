//! Workflow executions, their pending tasks, and foreign object references (links between
//! an outside object such as a ConnectWise ticket and orghub's orgs, configs, executions).
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum WorkflowExecutions {
    Table,
    Id,
    OrgId,
    WorkflowId,
    Status,
    Message,
    Input,
    ParentExecutionId,
    OriginatingExecutionId,
    ParentTaskExecutionId,
    CompletionHandledExecutionId,
    NumSuccessfulTasks,
    ProcessedCompletionAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum PendingTasks {
    Table,
    Id,
    ExecutionId,
    Kind,
    Label,
    Fields,
    Status,
    Response,
    ExpiresAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ForeignObjectReferences {
    Table,
    Id,
    OrgId,
    Identifier,
    ReferenceId,
    PackConfigId,
    WorkflowExecutionId,
    ActionId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
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
                    .table(WorkflowExecutions::Table)
                    .col(
                        ColumnDef::new(WorkflowExecutions::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(WorkflowExecutions::OrgId).uuid().not_null())
                    .col(
                        ColumnDef::new(WorkflowExecutions::WorkflowId)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(WorkflowExecutions::Status)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(ColumnDef::new(WorkflowExecutions::Message).text().null())
                    .col(ColumnDef::new(WorkflowExecutions::Input).json().null())
                    .col(
                        ColumnDef::new(WorkflowExecutions::ParentExecutionId)
                            .uuid()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(WorkflowExecutions::OriginatingExecutionId)
                            .uuid()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(WorkflowExecutions::ParentTaskExecutionId)
                            .uuid()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(WorkflowExecutions::CompletionHandledExecutionId)
                            .uuid()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(WorkflowExecutions::NumSuccessfulTasks)
                            .integer()
                            .not_null()
                            .default(0),
                    )
                    .col(
                        ColumnDef::new(WorkflowExecutions::ProcessedCompletionAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(WorkflowExecutions::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(WorkflowExecutions::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_workflow_executions_org_id")
                            .from(WorkflowExecutions::Table, WorkflowExecutions::OrgId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_workflow_executions_parent")
                            .from(
                                WorkflowExecutions::Table,
                                WorkflowExecutions::ParentExecutionId,
                            )
                            .to(WorkflowExecutions::Table, WorkflowExecutions::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            (
                "ix_workflow_executions_org_id_created_at",
                vec![WorkflowExecutions::OrgId, WorkflowExecutions::CreatedAt],
            ),
            (
                "ix_workflow_executions_workflow_id",
                vec![WorkflowExecutions::WorkflowId],
            ),
            (
                "ix_workflow_executions_parent",
                vec![WorkflowExecutions::ParentExecutionId],
            ),
        ] {
            let mut idx = Index::create()
                .name(name)
                .table(WorkflowExecutions::Table)
                .to_owned();
            for c in cols {
                idx.col(c);
            }
            manager.create_index(idx).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(PendingTasks::Table)
                    .col(
                        ColumnDef::new(PendingTasks::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(PendingTasks::ExecutionId).uuid().not_null())
                    .col(ColumnDef::new(PendingTasks::Kind).string_len(16).not_null())
                    .col(ColumnDef::new(PendingTasks::Label).text().not_null())
                    .col(ColumnDef::new(PendingTasks::Fields).json().null())
                    .col(
                        ColumnDef::new(PendingTasks::Status)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(ColumnDef::new(PendingTasks::Response).json().null())
                    .col(
                        ColumnDef::new(PendingTasks::ExpiresAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(PendingTasks::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(PendingTasks::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_pending_tasks_execution_id")
                            .from(PendingTasks::Table, PendingTasks::ExecutionId)
                            .to(WorkflowExecutions::Table, WorkflowExecutions::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_pending_tasks_execution_id")
                    .table(PendingTasks::Table)
                    .col(PendingTasks::ExecutionId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ForeignObjectReferences::Table)
                    .col(
                        ColumnDef::new(ForeignObjectReferences::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(ForeignObjectReferences::OrgId)
                            .uuid()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ForeignObjectReferences::Identifier)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ForeignObjectReferences::ReferenceId)
                            .string_len(255)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ForeignObjectReferences::PackConfigId)
                            .uuid()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(ForeignObjectReferences::WorkflowExecutionId)
                            .uuid()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(ForeignObjectReferences::ActionId)
                            .uuid()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(ForeignObjectReferences::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ForeignObjectReferences::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_foreign_object_references_org_id")
                            .from(
                                ForeignObjectReferences::Table,
                                ForeignObjectReferences::OrgId,
                            )
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_foreign_object_references_pack_config_id")
                            .from(
                                ForeignObjectReferences::Table,
                                ForeignObjectReferences::PackConfigId,
                            )
                            .to(PackConfigs::Table, PackConfigs::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_foreign_object_references_execution_id")
                            .from(
                                ForeignObjectReferences::Table,
                                ForeignObjectReferences::WorkflowExecutionId,
                            )
                            .to(WorkflowExecutions::Table, WorkflowExecutions::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_foreign_object_references_lookup")
                    .table(ForeignObjectReferences::Table)
                    .col(ForeignObjectReferences::OrgId)
                    .col(ForeignObjectReferences::Identifier)
                    .col(ForeignObjectReferences::ReferenceId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ForeignObjectReferences::Table.into_iden(),
            PendingTasks::Table.into_iden(),
            WorkflowExecutions::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
