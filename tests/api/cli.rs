//! The command line as an operator uses it: `schema`, `migrate` and `token`.
use std::process::Command;

use serde_json::json;

use crate::helpers::{fresh_database_url, spawn_with, test_config};

fn orghub(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_orghub"));
    cmd.args(args)
        .env_remove("ORGHUB_JWT_SECRET")
        .env_remove("ORGHUB_SECRET_KEY");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("orghub runs")
}

#[test]
fn schema_command_prints_the_sdl() {
    let out = orghub(&["schema"], &[]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        orghub::graphql::sdl()
    );
}

#[tokio::test]
async fn token_command_mints_a_working_token_with_the_generated_keys() {
    // SQLite with no keys configured: the app generates them beside the file, and the
    // CLI finds the same ones.
    let url = fresh_database_url().await;
    if !url.starts_with("sqlite:") {
        return; // the generated key file is a SQLite feature; PostgreSQL needs configured keys
    }
    let mut config = test_config(url.clone());
    config.jwt_secret = None;
    config.secret_key = None;
    let app = spawn_with(config).await;

    let out = orghub(&["migrate", "--database-url", &url], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = orghub(
        &[
            "token",
            "--user",
            "ADMIN@acme.test",
            "--ttl",
            "5m",
            "--database-url",
            &url,
        ],
        &[],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let data = app.ok(&token, "{ me { username } }", json!({})).await;
    assert_eq!(data["me"]["username"], "admin@acme.test");

    let out = orghub(
        &[
            "token",
            "--user",
            "nobody@acme.test",
            "--database-url",
            &url,
        ],
        &[],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no user with e-mail nobody@acme.test"));
    let out = orghub(
        &[
            "token",
            "--user",
            "admin@acme.test",
            "--ttl",
            "forever",
            "--database-url",
            &url,
        ],
        &[],
    );
    assert!(!out.status.success());
}

#[test]
fn postgres_without_keys_refuses_to_start() {
    let out = orghub(
        &[
            "token",
            "--user",
            "a@b.c",
            "--database-url",
            "postgres://nobody@127.0.0.1:1/none",
        ],
        &[],
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("ORGHUB_JWT_SECRET"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
