//! What the offboarding triggers need: a cron schedule and its next time, the inputs a
//! trigger starts its runs with, and the hash of a webhook's secret.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Triggers {
    Table,
    Cron,
    NextRunAt,
    Inputs,
    SecretHash,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for col in [
            ColumnDef::new(Triggers::Cron)
                .string_len(128)
                .null()
                .to_owned(),
            ColumnDef::new(Triggers::NextRunAt)
                .timestamp_with_time_zone()
                .null()
                .to_owned(),
            ColumnDef::new(Triggers::Inputs).json().null().to_owned(),
            ColumnDef::new(Triggers::SecretHash)
                .string_len(128)
                .null()
                .to_owned(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Triggers::Table)
                        .add_column(col)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for col in [
            Triggers::SecretHash,
            Triggers::Inputs,
            Triggers::NextRunAt,
            Triggers::Cron,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Triggers::Table)
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
