//! Faults: the database going away under the server (PostgreSQL only: connections are cut
//! and refused, as during a restart) — requests fail fast with 503 and `Retry-After`, and
//! the server recovers by itself with every committed write there.
use std::time::Duration;

use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::helpers::{fresh_database_url, spawn_with, test_config};

#[tokio::test]
async fn a_database_outage_is_503_and_the_server_recovers_by_itself() {
    let Ok(base) = std::env::var("ORGHUB_TEST_DATABASE_URL") else {
        eprintln!("PostgreSQL only (ORGHUB_TEST_DATABASE_URL)");
        return;
    };
    if base.is_empty() {
        return;
    }
    let mut config = test_config(fresh_database_url().await);
    config.database_acquire_timeout_secs = 2;
    let db_name = config
        .database_url
        .rsplit('/')
        .next()
        .and_then(|s| s.split('?').next())
        .unwrap()
        .to_owned();
    let app = spawn_with(config).await;
    app.kill_runner();
    let org = app
        .create_org(&app.admin, "Committed Before", &app.msp_id)
        .await;

    let admin = sea_orm::Database::connect(&base).await.unwrap();
    let cut = |allow: bool| {
        let admin = &admin;
        let db_name = db_name.clone();
        async move {
            admin
                .execute_unprepared(&format!(
                    "ALTER DATABASE {db_name} ALLOW_CONNECTIONS {allow}"
                ))
                .await
                .unwrap();
            if !allow {
                admin
                    .execute_unprepared(&format!(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{db_name}' AND pid <> pg_backend_pid()"
                    ))
                    .await
                    .unwrap();
            }
        }
    };
    let ask = || async {
        let res = app
            .client
            .post(app.url("/graphql"))
            .bearer_auth(&app.admin)
            .json(&json!({ "query": "{ organizations(limit: 50) { id name } }" }))
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let retry = res.headers().get("retry-after").is_some();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        (status, retry, body)
    };

    cut(false).await;
    let mut saw_503 = false;
    for _ in 0..5 {
        let (status, retry, body) = ask().await;
        assert_ne!(status, 500, "never a 500: {body}");
        if status == 503 {
            assert!(retry, "503 says when to retry");
            assert_eq!(
                body["errors"][0]["extensions"]["code"], "SERVICE_UNAVAILABLE",
                "{body}"
            );
            saw_503 = true;
            break;
        }
    }
    assert!(saw_503, "the outage was reported as 503");
    let (status, _, _) = ask().await;
    assert_eq!(status, 503, "still down");

    cut(true).await;
    let mut recovered = None;
    for _ in 0..60 {
        let (status, _, body) = ask().await;
        if status == 200 && body.get("errors").is_none() {
            recovered = Some(body);
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let body = recovered.expect("the server recovers by itself");
    let names: Vec<&str> = body["data"]["organizations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"Committed Before"), "{names:?}");
    let _ = org;
}
