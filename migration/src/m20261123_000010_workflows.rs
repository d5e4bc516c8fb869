//! What the built-in workflows need: a log line per step, the output a run shows, which step
//! a waiting task belongs to (and whether its answer was acted on), triggers (live links and
//! ConnectWise callbacks), and the callback messages already received (replays are refused).
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum WorkflowTaskLogs {
    Table,
    Id,
    ExecutionId,
    Step,
    Action,
    Status,
    DurationMs,
    Message,
    CreatedAt,
}

#[derive(DeriveIden)]
enum WorkflowExecutions {
    Table,
    Id,
    Output,
}

#[derive(DeriveIden)]
enum PendingTasks {
    Table,
    Step,
    HandledAt,
}

#[derive(DeriveIden)]
enum Triggers {
    Table,
    Id,
    OrgId,
    PackConfigId,
    Kind,
    WorkflowId,
    IsEnabled,
    CwCallbackId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum CallbackReceipts {
    Table,
    MessageId,
    TriggerId,
    ReceivedAt,
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
                    .table(WorkflowTaskLogs::Table)
                    .col(
                        ColumnDef::new(WorkflowTaskLogs::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(WorkflowTaskLogs::ExecutionId)
                            .uuid()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(WorkflowTaskLogs::Step)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(ColumnDef::new(WorkflowTaskLogs::Action).text().not_null())
                    .col(
                        ColumnDef::new(WorkflowTaskLogs::Status)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(WorkflowTaskLogs::DurationMs)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(WorkflowTaskLogs::Message).text().null())
                    .col(
                        ColumnDef::new(WorkflowTaskLogs::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_workflow_task_logs_execution_id")
                            .from(WorkflowTaskLogs::Table, WorkflowTaskLogs::ExecutionId)
                            .to(WorkflowExecutions::Table, WorkflowExecutions::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_workflow_task_logs_execution_id")
                    .table(WorkflowTaskLogs::Table)
                    .col(WorkflowTaskLogs::ExecutionId)
                    .col(WorkflowTaskLogs::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(WorkflowExecutions::Table)
                    .add_column(ColumnDef::new(WorkflowExecutions::Output).json().null())
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(PendingTasks::Table)
                    .add_column(ColumnDef::new(PendingTasks::Step).string_len(64).null())
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(PendingTasks::Table)
                    .add_column(
                        ColumnDef::new(PendingTasks::HandledAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Triggers::Table)
                    .col(ColumnDef::new(Triggers::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Triggers::OrgId).uuid().not_null())
                    .col(ColumnDef::new(Triggers::PackConfigId).uuid().not_null())
                    .col(ColumnDef::new(Triggers::Kind).string_len(32).not_null())
                    .col(
                        ColumnDef::new(Triggers::WorkflowId)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Triggers::IsEnabled)
                            .boolean()
                            .not_null()
                            .default(true),
                    )
                    .col(ColumnDef::new(Triggers::CwCallbackId).big_integer().null())
                    .col(
                        ColumnDef::new(Triggers::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Triggers::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_triggers_org_id")
                            .from(Triggers::Table, Triggers::OrgId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_triggers_pack_config_id")
                            .from(Triggers::Table, Triggers::PackConfigId)
                            .to(PackConfigs::Table, PackConfigs::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_triggers_org_id_pack_config_id")
                    .table(Triggers::Table)
                    .col(Triggers::OrgId)
                    .col(Triggers::PackConfigId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CallbackReceipts::Table)
                    .col(
                        ColumnDef::new(CallbackReceipts::MessageId)
                            .string_len(255)
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(CallbackReceipts::TriggerId)
                            .uuid()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(CallbackReceipts::ReceivedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_callback_receipts_trigger_id")
                            .from(CallbackReceipts::Table, CallbackReceipts::TriggerId)
                            .to(Triggers::Table, Triggers::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_callback_receipts_received_at")
                    .table(CallbackReceipts::Table)
                    .col(CallbackReceipts::ReceivedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(CallbackReceipts::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Triggers::Table).to_owned())
            .await?;
        for col in [PendingTasks::HandledAt, PendingTasks::Step] {
            manager
                .alter_table(
                    Table::alter()
                        .table(PendingTasks::Table)
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(WorkflowExecutions::Table)
                    .drop_column(WorkflowExecutions::Output)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(WorkflowTaskLogs::Table).to_owned())
            .await
    }
}
