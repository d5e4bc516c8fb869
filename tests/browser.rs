//! The pod in a real browser: Debian's chromium, driven by `tests/browser/pod.mjs`
//! (playwright-core), through the simulator's ConnectWise ticket screen. The pod is served
//! from `localhost`, ConnectWise from `127.0.0.1`: two sites, so the pod is a third-party
//! frame as in production.
//!
//! Slow (three browser launches), so it runs when `ORGHUB_BROWSER_TESTS=1` (`.ci/run` sets
//! it, after installing chromium and `npm ci --prefix tests/browser`); otherwise it says it
//! was skipped. Screenshots go to `target/browser-screenshots/`.
#[allow(dead_code)]
#[path = "api/helpers.rs"]
mod helpers;

use std::process::Command;

use orghub::connectwise::client::{Credentials, CwClient};
use orghub::connectwise::simulator::{SimCredentials, Simulator};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pod_in_chromium() {
    if std::env::var("ORGHUB_BROWSER_TESTS").as_deref() != Ok("1") {
        eprintln!("browser tests skipped: set ORGHUB_BROWSER_TESTS=1 (see .ci/run)");
        return;
    }
    let root = env!("CARGO_MANIFEST_DIR");
    assert!(
        std::path::Path::new("/usr/bin/chromium").exists(),
        "install Debian's chromium: apt-get install chromium"
    );
    assert!(
        std::path::Path::new(&format!(
            "{root}/tests/browser/node_modules/playwright-core"
        ))
        .exists(),
        "run npm ci --prefix tests/browser"
    );

    let app = helpers::spawn_app().await;
    let sim = Simulator::start(30, SimCredentials::default())
        .await
        .expect("the simulator");
    let c = &sim.credentials;
    let config = app
        .ok(
            &app.admin,
            "mutation($c: PackConfigCreateInput!) { createPackConfig(packConfig: $c) { id } }",
            json!({ "c": { "orgId": app.msp_id, "packId": "connectwise-psa", "name": "Main CW", "config": {
                "hostname": sim.host(), "company_id": c.company_id, "public_key": c.public_key,
                "private_key": c.private_key, "client_id": c.client_id } } }),
        )
        .await["createPackConfig"]["id"]
        .as_str()
        .expect("a config id")
        .to_owned();
    for (query, vars) in [
        (
            "mutation($c: ID!) { testPackConfig(packConfig: {id: $c}) { executionId } }",
            json!({ "c": config }),
        ),
        (
            "mutation($c: ID!) { refetchPackConfigRefOptions(packConfigId: $c) { executionId } }",
            json!({ "c": config }),
        ),
    ] {
        app.ok(&app.admin, query, vars).await;
    }
    let client = app.create_org(&app.admin, "Client A", &app.msp_id).await;
    app.ok(
        &app.admin,
        "mutation($c: ID!, $m: [OrgMappingInput!]!) { saveOrgMappings(packConfigId: $c, mappings: $m) }",
        json!({ "c": config, "m": [{ "orgId": client, "companyId": "1" }] }),
    )
    .await;
    // A run waiting on ticket 1001, as a live link would start it.
    let link = app
        .ok(
            &app.admin,
            "mutation($o: ID!, $c: ID!) { createLiveLink(orgId: $o, packConfigId: $c) { url } }",
            json!({ "o": app.msp_id, "c": config }),
        )
        .await["createLiveLink"]["url"]
        .as_str()
        .expect("a link")
        .to_owned();
    let res = app
        .client
        .get(format!("{link}&ticketId=1001"))
        .send()
        .await
        .expect("the link answers");
    assert_eq!(res.status().as_u16(), 200);

    let pod = |ticket: i64| {
        format!(
            "http://localhost:{}/organizations/{}/integrations/embed/ticket/{ticket}",
            app.addr.port(),
            app.msp_id
        )
    };
    let screen = |ticket: i64, extra: &str| {
        format!(
            "http://{}/cw/ticket/{ticket}?pod={}{extra}",
            sim.host(),
            pod(ticket)
        )
    };
    let shots = format!("{root}/target/browser-screenshots");
    let script = format!("{root}/tests/browser/pod.mjs");
    let env = [
        ("SCREEN", screen(1001, "")),
        ("FORGED_SCREEN", screen(1001, "&hash=h-forged")),
        ("SILENT_SCREEN", screen(1001, "&silent=1")),
        ("UNMAPPED_SCREEN", screen(1002, "")),
        ("POD_URL", pod(1001)),
        ("SHOTS", shots.clone()),
    ];
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(script)
            .envs(env)
            .output()
            .expect("node runs")
    })
    .await
    .expect("the browser run");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report: Value = stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("no report from the browser run\n{stdout}\n{stderr}"));
    assert!(
        output.status.success(),
        "browser checks failed: {}\n{stderr}",
        serde_json::to_string_pretty(&report).unwrap_or_default()
    );
    eprintln!(
        "{}",
        serde_json::to_string_pretty(&report).unwrap_or_default()
    );

    // Each mode's note landed on the ticket in ConnectWise.
    let cw = CwClient::new(
        orghub::http_client().expect("a client"),
        Credentials {
            host: sim.host(),
            company_id: c.company_id.clone(),
            public_key: c.public_key.clone(),
            private_key: c.private_key.clone(),
            client_id: c.client_id.clone(),
        },
    );
    let notes = cw.ticket_notes(1001).await.expect("the ticket's notes");
    for mode in ["allowed", "partitioned", "blocked"] {
        assert!(
            notes
                .iter()
                .any(|n| n["text"] == format!("Note from {mode}").as_str()
                    && n["internalAnalysisFlag"] == true),
            "the {mode} note is on the ticket: {notes:?}"
        );
    }
}

/// `orghub demo`: its ticket page, opened in chromium, shows the pod signed in with the
/// Toolbox of ticket #1001.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_pod_in_chromium() {
    if std::env::var("ORGHUB_BROWSER_TESTS").as_deref() != Ok("1") {
        eprintln!("browser tests skipped: set ORGHUB_BROWSER_TESTS=1 (see .ci/run)");
        return;
    }
    let root = env!("CARGO_MANIFEST_DIR");
    let demo = orghub::demo::start(None, "127.0.0.1:0".parse().expect("an address"))
        .await
        .expect("the demo starts");
    let screen = demo.ticket_page.clone();
    let shots = format!("{root}/target/browser-screenshots");
    let script = format!("{root}/tests/browser/pod.mjs");
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(script)
            .env("DEMO_SCREEN", screen)
            .env("SHOTS", shots)
            .output()
            .expect("node runs")
    })
    .await
    .expect("the browser run");
    demo.stop().await;
    assert!(
        output.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
