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

/// Unmounts the test's tmpfs however the test ends.
struct Mounted(std::path::PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

/// A small tmpfs of its own, or `None` where mounting is not allowed (not root). With
/// `ORGHUB_DISKFULL_TESTS=1` (as `.ci/run` sets) a failed mount fails the test.
fn small_disk(size: &str) -> Option<Mounted> {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("diskfull-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(&dir)
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        assert!(
            std::env::var("ORGHUB_DISKFULL_TESTS").is_err(),
            "ORGHUB_DISKFULL_TESTS is set but a tmpfs cannot be mounted (needs root)"
        );
        eprintln!("skipped: mounting a tmpfs needs root (ORGHUB_DISKFULL_TESTS=1 requires it)");
        return None;
    }
    Some(Mounted(dir))
}

/// Fills the disk with a file until the file system refuses more.
fn fill(path: &std::path::Path) {
    use std::io::Write;
    let mut file = std::fs::File::create(path).unwrap();
    let chunk = vec![0u8; 16 * 1024];
    while file.write_all(&chunk).is_ok() {}
    // Whatever is left is smaller than a chunk: take it byte by byte.
    while file.write_all(&[0]).is_ok() && file.flush().is_ok() {}
}

#[tokio::test]
async fn a_full_disk_under_sqlite_is_a_clear_error_and_nothing_is_lost() {
    if std::env::var("ORGHUB_TEST_DATABASE_URL").is_ok_and(|u| !u.is_empty()) {
        return; // SQLite's file system; the PostgreSQL run has nothing to add here.
    }
    let Some(disk) = small_disk("24m") else {
        return;
    };
    let config = test_config(format!("sqlite://{}", disk.0.join("orghub.db").display()));
    let app = spawn_with(config).await;
    app.kill_runner();
    let create = |i: usize| {
        let app = &app;
        async move {
            let res = app
                .client
                .post(app.url("/graphql"))
                .bearer_auth(&app.admin)
                .json(&json!({
                    "query": "mutation($n: String!) { createOrganization(organization: {name: $n}) { id } }",
                    "variables": { "n": format!("Customer {i:05}") },
                }))
                .send()
                .await
                .unwrap();
            let status = res.status().as_u16();
            let body: Value = res.json().await.unwrap_or(Value::Null);
            (status, body)
        }
    };
    let mut acknowledged = Vec::new();
    for i in 0..20 {
        let (status, body) = create(i).await;
        assert_eq!(status, 200, "{body}");
        acknowledged.push(format!("Customer {i:05}"));
    }

    let filler = disk.0.join("filler");
    fill(&filler);
    // The WAL may hold reusable room: write until SQLite meets the full disk.
    let mut refused = None;
    for i in 20..5_000 {
        let (status, body) = create(i).await;
        assert_ne!(status, 500, "never a 500: {body}");
        if body["data"]["createOrganization"]["id"].is_string() {
            acknowledged.push(format!("Customer {i:05}"));
            continue;
        }
        refused = Some((status, body));
        break;
    }
    let (status, body) = refused.expect("a full disk refuses writes");
    assert_eq!(status, 507, "{body}");
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "STORAGE_FULL",
        "{body}"
    );
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("disk is full"), "{message}");

    // Reads go on while the disk is full, with every acknowledged write there.
    let body = app
        .ok(
            &app.admin,
            "{ organizations(search: {name: {_like: \"Customer %\"}}, limit: 100, order: [[\"name\"]]) { name } }",
            json!({}),
        )
        .await;
    let before = crate::helpers::names(&body["organizations"]);
    let expected: Vec<String> = acknowledged.iter().take(100).cloned().collect();
    assert_eq!(before, expected);

    // Space comes back: writes succeed again without a restart.
    std::fs::remove_file(&filler).unwrap();
    let mut healed = false;
    for attempt in 0..20 {
        let (status, body) = create(10_000 + attempt).await;
        if status == 200 && body["data"]["createOrganization"]["id"].is_string() {
            acknowledged.push(format!("Customer {:05}", 10_000 + attempt));
            healed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(healed, "writes succeed once space is freed");

    // The file is intact, and holds exactly the acknowledged organizations.
    let db = &app.state.store.db;
    let check = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "PRAGMA integrity_check",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(check.try_get_by_index::<String>(0).unwrap(), "ok");
    let rows = db
        .query_all_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT name FROM organizations WHERE name LIKE 'Customer %' ORDER BY name",
        ))
        .await
        .unwrap();
    let stored: Vec<String> = rows
        .iter()
        .map(|r| r.try_get_by_index::<String>(0).unwrap())
        .collect();
    assert_eq!(stored, acknowledged);
}
