//! `cargo bench --bench import`: imports 1,000 and 100,000 generated rows through the import
//! engine (the same code as the upload), on SQLite, and on PostgreSQL when
//! `ORGHUB_BENCH_DATABASE_URL` names a server (a fresh database is created there).
//! Reports rows per second and the process's peak memory.
use std::time::Instant;

use orghub::auth::{Actor, Role};
use orghub::config::Secret;
use orghub::domain::imports::{self, ImportRow};
use orghub::domain::users;
use sea_orm::ConnectionTrait;

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

async fn database_urls() -> Vec<(&'static str, String)> {
    let dir = std::env::temp_dir().join(format!("orghub-bench-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let mut out = vec![(
        "SQLite",
        format!("sqlite://{}", dir.join("bench.db").display()),
    )];
    if let Ok(base) = std::env::var("ORGHUB_BENCH_DATABASE_URL") {
        let name = format!("orghub_bench_{}", uuid::Uuid::now_v7().simple());
        let admin = sea_orm::Database::connect(&base)
            .await
            .expect("the PostgreSQL server");
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create database");
        let (head, _) = base.split_at(base.rfind('/').expect("a /database part"));
        out.push(("PostgreSQL", format!("{head}/{name}")));
    }
    out
}

fn rows(n: usize, offset: usize) -> Vec<ImportRow> {
    (0..n)
        .map(|i| ImportRow {
            row_number: i + 1,
            organization_name: format!("Bench Client {:06}", offset + i),
            domain: Some(format!("client{}.bench.example", offset + i)),
            ..Default::default()
        })
        .collect()
}

#[tokio::main]
async fn main() {
    for (label, url) in database_urls().await {
        let mut config = orghub::Config::defaults();
        config.database_url = url;
        config.jwt_secret = Some(Secret::new("bench-secret-bench-secret-bench-secret"));
        config.secret_key = Some(Secret::new(
            "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
        ));
        let (store, _) = orghub::open_store(&config).await.expect("the database");
        let (msp, admin) = users::bootstrap(&store, "Bench MSP", "bench@example.com")
            .await
            .ok()
            .flatten()
            .expect("a fresh database");
        let actor = Actor {
            user_id: admin.id,
            username: admin.username.clone(),
            org_id: msp.id,
            org_path: msp.path,
            role: Role::Admin,
            is_staff: true,
            user: Some(admin.into()),
        };
        let mut offset = 0;
        for n in [1_000usize, 100_000] {
            let batch = rows(n, offset);
            offset += n;
            let started = Instant::now();
            let statements = store.statement_count();
            let (_, outcomes) = imports::process(&store, &actor, msp.id, "CSV", batch)
                .await
                .expect("the import");
            let secs = started.elapsed().as_secs_f64();
            let created = imports::summarize(&outcomes).successful_creations;
            println!(
                "{label}: {n} rows -> {created} created in {secs:.2} s = {:.0} rows/s, {:.1} SQL statements per row, peak RSS {:.0} MB",
                n as f64 / secs,
                (store.statement_count() - statements) as f64 / n as f64,
                peak_rss_mb()
            );
        }
    }
}
