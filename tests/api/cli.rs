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

#[tokio::test]
async fn first_start_prints_a_working_token_and_sigterm_stops_cleanly() {
    use std::io::{BufRead, BufReader};
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("first-start-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    // Exactly as the README says, in an empty directory, on a free port.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_orghub"))
        .arg("serve")
        .arg("--bind")
        .arg(format!("127.0.0.1:{port}"))
        .current_dir(&dir)
        .env_remove("ORGHUB_DATABASE_URL")
        .env_remove("ORGHUB_JWT_SECRET")
        .env_remove("ORGHUB_SECRET_KEY")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("orghub serve starts");
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let lines: Vec<String> = stdout.lines().take(4).map(|l| l.unwrap()).collect();
    assert!(
        lines[0].contains("created the organization \"My MSP\""),
        "{lines:?}"
    );
    let token = lines[2].trim().to_owned();
    assert_eq!(
        lines[3],
        format!("GraphiQL: http://127.0.0.1:{port}/graphql")
    );
    assert!(dir.join("orghub.db").exists() && dir.join("orghub.db.keys").exists());

    let client = orghub::http_client().unwrap();
    let body: serde_json::Value = client
        .post(format!("http://127.0.0.1:{port}/graphql"))
        .bearer_auth(&token)
        .json(&json!({ "query": "{ me { username organization { name } } }" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        body["data"]["me"],
        json!({ "username": "admin@example.com", "organization": { "name": "My MSP" } })
    );

    let killed = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(killed.success());
    let output = child.wait_with_output().expect("orghub exits");
    assert!(output.status.success(), "exit: {:?}", output.status);
    assert!(String::from_utf8_lossy(&output.stderr).contains("orghub stopped"));

    // The CLI finds the same database and keys and mints more tokens.
    let out = Command::new(env!("CARGO_BIN_EXE_orghub"))
        .args(["token", "--user", "admin@example.com"])
        .current_dir(&dir)
        .env_remove("ORGHUB_DATABASE_URL")
        .env_remove("ORGHUB_JWT_SECRET")
        .env_remove("ORGHUB_SECRET_KEY")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn msp_create_command_onboards_an_msp() {
    let url = fresh_database_url().await;
    let config = test_config(url.clone());
    let app = spawn_with(config.clone()).await;
    let secret = config.jwt_secret.as_ref().unwrap().expose().to_owned();
    let key = config.secret_key.as_ref().unwrap().expose().to_owned();
    let env = [
        ("ORGHUB_JWT_SECRET", secret.as_str()),
        ("ORGHUB_SECRET_KEY", key.as_str()),
    ];
    let out = orghub(
        &[
            "msp",
            "create",
            "--name",
            "Umbrella",
            "--admin-email",
            "boss@umbrella.test",
            "--database-url",
            &url,
        ],
        &env,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("Created the MSP \"Umbrella\""));
    let out = orghub(
        &[
            "msp",
            "create",
            "--name",
            "umbrella",
            "--admin-email",
            "other@umbrella.test",
            "--database-url",
            &url,
        ],
        &env,
    );
    assert!(
        !out.status.success(),
        "a second MSP of the same name is refused"
    );

    let out = orghub(
        &[
            "token",
            "--user",
            "boss@umbrella.test",
            "--database-url",
            &url,
        ],
        &env,
    );
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let data = app
        .ok(
            &token,
            "{ userOrganization { name isMsp } me { roleIds } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data["userOrganization"],
        json!({ "name": "Umbrella", "isMsp": true })
    );
    assert_eq!(data["me"]["roleIds"], json!(["admin"]));
}

#[tokio::test]
async fn import_csv_command_imports_like_the_api() {
    let url = fresh_database_url().await;
    let config = test_config(url.clone());
    let app = spawn_with(config.clone()).await;
    app.create_org(&app.admin, "Already There", &app.msp_id)
        .await;
    app.ok(
        &app.admin,
        "mutation($o: ID!) { createTag(tag: {name: \"Managed\", orgId: $o}) { id } }",
        json!({ "o": app.msp_id }),
    )
    .await;
    let secret = config.jwt_secret.as_ref().unwrap().expose().to_owned();
    let key = config.secret_key.as_ref().unwrap().expose().to_owned();
    let env = [
        ("ORGHUB_JWT_SECRET", secret.as_str()),
        ("ORGHUB_SECRET_KEY", key.as_str()),
        ("ORGHUB_DATABASE_URL", url.as_str()),
    ];
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("import-csv-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("orgs.csv");
    std::fs::write(
        &file,
        "organizationName,domain,tagNames\n\
         Globex,globex.com,Managed\n\
         Initech,initech.com,\n\
         Already There,,\n\
         Bad Domain,not a domain,\n",
    )
    .unwrap();
    let file = file.to_str().unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec!["import-csv", file, "--managing-org", app.msp_id.as_str()];
        args.extend_from_slice(extra);
        orghub(&args, &env)
    };
    let listed = || async {
        let data = app
            .ok(
                &app.admin,
                "{ organizations(order: [[\"name\"]], limit: 50) { name domain tags { name } } }",
                json!({}),
            )
            .await;
        data["organizations"].clone()
    };

    let out = run(&["--dry-run"]);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("Checked 4 rows (nothing written): 2 new, 1 already there, 1 invalid"),
        "{stdout}"
    );
    assert!(
        stdout.contains("row 4 (\"Bad Domain\"): domain"),
        "{stdout}"
    );
    let names = crate::helpers::names(&listed().await);
    assert!(
        !names.contains(&"Globex".to_owned()),
        "a dry run writes nothing"
    );

    let out = run(&[]);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("Imported 4 rows: 2 created, 1 skipped (already there), 1 failed"),
        "{stdout}"
    );
    let list = listed().await;
    let globex = list
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == "Globex")
        .expect("Globex imported");
    assert_eq!(globex["domain"], "globex.com");
    assert_eq!(globex["tags"], json!([{ "name": "Managed" }]));
    // Kept as an import of the MSP, like one made through the API.
    let imports = app
        .ok(
            &app.admin,
            "query($o: ID!) { organizationImports(orgId: $o) { importType status successfulCount failedCount } }",
            json!({ "o": app.msp_id }),
        )
        .await;
    assert_eq!(
        imports["organizationImports"],
        json!([{ "importType": "CSV", "status": "COMPLETED", "successfulCount": 2, "failedCount": 1 }])
    );

    // Mistakes are told plainly, never a panic.
    let out = orghub(&["import-csv", file, "--managing-org", "not-an-id"], &env);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--managing-org must be an organization id")
    );
    let out = orghub(
        &[
            "import-csv",
            "/nonexistent.csv",
            "--managing-org",
            &app.msp_id,
        ],
        &env,
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read /nonexistent.csv"));
    let out = run(&["--user", "nobody@acme.test"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no user with e-mail nobody@acme.test"));
}
