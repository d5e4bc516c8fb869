//! Importing organizations straight from a PSA — ConnectWise, Autotask and HaloPSA, each
//! against its simulator, every test once per PSA: sources and their health, filter
//! options, the company listing, preview, the import as a job with progress over
//! WebSocket, cancel, and a crash in the middle.
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use orghub::auth::Role;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};

use crate::for_each_psa;
use crate::helpers::{
    TestApp, code, fresh_database_url, rule, spawn_again, spawn_app, spawn_with, test_config,
};
use crate::psas::{AnyPsa, Kind};

for_each_psa!(
    list_filter_import_a_thousand_and_again,
    sources_that_are_not_green_are_refused,
    preview_reports_the_psa_codes,
    cancel_stops_between_rows_and_keeps_what_was_made,
    a_crash_in_the_middle_is_finished_by_the_next_start_without_duplicates,
);

const PROCESS: &str = "mutation($i: OrganizationImportInput!) { processOrganizationImport(input: $i) { import { id status importType psaPackConfigId totalRecords } summary { totalRecords newOrganizations existingOrganizations invalidRecords } } }";
const PREVIEW: &str = "mutation($i: OrganizationImportInput!) { previewOrganizationImport(input: $i) { summary { totalRecords newOrganizations existingOrganizations invalidRecords } records { rowNumber organizationName category validationErrors { field code message } } } }";
const LIST: &str = "query($o: ID!, $c: ID!, $p: String!, $s: [String!], $t: [String!], $q: String, $r: Boolean) { psaOrganizations(orgId: $o, psaPackConfigId: $c, psaRef: $p, statuses: $s, accountTypes: $t, search: $q, refresh: $r) { id name statusId accountTypeIds existsInOrghub existingMatch existingOrganization { name } } }";
const STATE: &str = "query($id: ID!) { organizationImport(id: $id) { status successfulCount skippedCount failedCount totalRecords errorMessage } }";

async fn companies(app: &TestApp, psa: &AnyPsa, config: &str, vars: Value) -> Vec<Value> {
    let mut v = json!({ "o": app.msp_id, "c": config, "p": psa.psa_ref() });
    for (k, x) in vars.as_object().unwrap() {
        v[k] = x.clone();
    }
    app.ok(&app.admin, LIST, v).await["psaOrganizations"]
        .as_array()
        .unwrap()
        .clone()
}

fn records(list: &[Value]) -> Value {
    json!(
        list.iter()
            .map(|c| json!({ "organizationName": c["name"], "externalId": c["id"] }))
            .collect::<Vec<_>>()
    )
}

fn input(app: &TestApp, config: &str, records: Value) -> Value {
    json!({ "i": { "defaultManagingOrgId": app.msp_id, "importType": "PSA", "psaPackConfigId": config, "records": records } })
}

async fn state(app: &TestApp, id: &str) -> Value {
    app.ok(&app.admin, STATE, json!({ "id": id })).await["organizationImport"].clone()
}

fn processed(s: &Value) -> i64 {
    ["successfulCount", "skippedCount", "failedCount"]
        .iter()
        .map(|k| s[k].as_i64().unwrap())
        .sum()
}

/// Polls until the import is no longer PROCESSING (at most a minute).
async fn finished(app: &TestApp, id: &str) -> Value {
    for _ in 0..1200 {
        let s = state(app, id).await;
        if s["status"] != "PROCESSING" {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the import {id} did not finish: {}", state(app, id).await);
}

/// Polls until the import has done at least `n` rows.
async fn reached(app: &TestApp, id: &str, n: i64) -> Value {
    for _ in 0..2000 {
        let s = state(app, id).await;
        if processed(&s) >= n || s["status"] != "PROCESSING" {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("the import {id} did not reach {n} rows");
}

/// Each company id mapped, through `config`, to how many live organizations.
async fn mappings(app: &TestApp, psa: &AnyPsa, config: &str) -> Vec<(String, i64)> {
    let db = &app.state.store.db;
    let sql = format!(
        "SELECT v.value, COUNT(*) FROM org_variables v JOIN organizations o ON o.id = v.org_id \
         WHERE v.name = '{}' AND o.deleted_at IS NULL AND v.pack_config_id = $1 \
         GROUP BY v.value",
        psa.mapping_variable()
    );
    let backend = db.get_database_backend();
    let sql = if backend == sea_orm::DbBackend::Sqlite {
        sql.replace("$1", "?")
    } else {
        sql
    };
    let id = uuid::Uuid::parse_str(config).unwrap();
    db.query_all_raw(Statement::from_sql_and_values(backend, sql, [id.into()]))
        .await
        .unwrap()
        .into_iter()
        .map(|r| {
            (
                r.try_get_by_index::<String>(0).unwrap(),
                r.try_get_by_index::<i64>(1).unwrap(),
            )
        })
        .collect()
}

async fn org_count(app: &TestApp) -> i64 {
    let data = app
        .ok(
            &app.admin,
            "query($o: ID!) { organization(where: {id: $o}) { descendantOrgCount } }",
            json!({ "o": app.msp_id }),
        )
        .await;
    data["organization"]["descendantOrgCount"].as_i64().unwrap()
}

/// Subscribes over graphql-transport-ws and collects every `next` payload until `complete`.
async fn subscribe(app: &TestApp, query: &str, variables: Value) -> Vec<Value> {
    let mut req = format!("ws://{}/subscriptions", app.addr)
        .into_client_request()
        .unwrap();
    req.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    let send = |v: Value| Message::Text(v.to_string().into());
    ws.send(send(json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {}", app.admin) } })))
        .await
        .unwrap();
    let mut out = Vec::new();
    let mut subscribed = false;
    while let Some(msg) = tokio::time::timeout(Duration::from_secs(60), ws.next())
        .await
        .expect("a message within a minute")
    {
        let Message::Text(text) = msg.unwrap() else {
            continue;
        };
        let m: Value = serde_json::from_str(&text).unwrap();
        match m["type"].as_str().unwrap() {
            "connection_ack" if !subscribed => {
                subscribed = true;
                ws.send(send(json!({ "id": "1", "type": "subscribe", "payload": { "query": query, "variables": variables } })))
                    .await
                    .unwrap();
            }
            "next" => out.push(m["payload"].clone()),
            "complete" => break,
            "ping" => ws.send(send(json!({ "type": "pong" }))).await.unwrap(),
            other => panic!("unexpected {other}: {m}"),
        }
    }
    out
}

async fn list_filter_import_a_thousand_and_again(kind: Kind) {
    let app = spawn_app().await;
    let psa = AnyPsa::start(kind, 1500).await;
    let config = psa.green_config(&app, "PSA").await;

    let sources = app
        .ok(
            &app.admin,
            "query($o: ID!) { psaImportSources(orgId: $o) { packConfigId psaRef selectable health { status reason } } }",
            json!({ "o": app.msp_id }),
        )
        .await;
    assert_eq!(
        sources["psaImportSources"],
        json!([{ "packConfigId": config, "psaRef": psa.psa_ref(), "selectable": true, "health": { "status": "GREEN", "reason": null } }])
    );

    let options = app
        .ok(
            &app.admin,
            "query($o: ID!, $c: ID!, $p: String!) { psaFilterOptions(orgId: $o, psaPackConfigId: $c, psaRef: $p, refresh: true) { statuses { id label inactive } accountTypes { id label } } }",
            json!({ "o": app.msp_id, "c": config, "p": psa.psa_ref() }),
        )
        .await["psaFilterOptions"]
        .clone();
    let labels = |k: &str| -> Vec<String> {
        options[k]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["label"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(labels("statuses"), psa.status_labels());
    assert_eq!(labels("accountTypes"), psa.type_labels());
    assert_eq!(options["statuses"][1]["inactive"], true);
    let active = options["statuses"][0]["id"].as_str().unwrap().to_owned();
    let client = options["accountTypes"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // An org already there under a company's name.
    app.create_org(&app.admin, "Contoso", &app.msp_id).await;

    let all = companies(&app, &psa, &config, json!({})).await;
    assert_eq!(all.len(), 1500);
    let active_clients =
        companies(&app, &psa, &config, json!({ "s": [active], "t": [client] })).await;
    assert!(!active_clients.is_empty() && active_clients.len() < 1500);
    let expected = all
        .iter()
        .filter(|c| {
            c["statusId"] == json!(active)
                && c["accountTypeIds"]
                    .as_array()
                    .unwrap()
                    .contains(&json!(client))
        })
        .count();
    assert_eq!(active_clients.len(), expected);
    let inactive = companies(
        &app,
        &psa,
        &config,
        json!({ "s": [options["statuses"][1]["id"]] }),
    )
    .await;
    assert!(!inactive.is_empty());
    assert_eq!(
        inactive.len(),
        all.iter()
            .filter(|c| c["statusId"] == options["statuses"][1]["id"])
            .count()
    );
    let found = companies(&app, &psa, &config, json!({ "q": "  CONTOSO " })).await;
    assert!(!found.is_empty() && found.len() < 100);
    assert!(found.iter().all(|c| {
        c["name"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("contoso")
    }));
    let contoso = all.iter().find(|c| c["name"] == "Contoso").unwrap();
    assert_eq!(contoso["existsInOrghub"], true);
    assert_eq!(contoso["existingMatch"], "SAME_NAME");
    assert_eq!(contoso["existingOrganization"]["name"], "Contoso");

    // Import 1,000 (Contoso among them: EXISTING, skipped).
    let chosen: Vec<Value> = all.iter().take(1000).cloned().collect();
    assert!(chosen.iter().any(|c| c["name"] == "Contoso"));
    let started = app
        .ok(&app.admin, PROCESS, input(&app, &config, records(&chosen)))
        .await["processOrganizationImport"]
        .clone();
    assert_eq!(started["import"]["status"], "PROCESSING", "{started}");
    assert_eq!(started["import"]["importType"], "PSA");
    assert_eq!(started["import"]["psaPackConfigId"], json!(config));
    assert_eq!(
        started["summary"],
        json!({ "totalRecords": 1000, "newOrganizations": 999, "existingOrganizations": 1, "invalidRecords": 0 })
    );
    let id = started["import"]["id"].as_str().unwrap().to_owned();

    // Progress over WebSocket, to the end.
    let progress = subscribe(
        &app,
        "subscription($i: ID!) { organizationImportProgress(importId: $i) { status processed total successful skipped failed } }",
        json!({ "i": id }),
    )
    .await;
    assert!(!progress.is_empty());
    let counts: Vec<i64> = progress
        .iter()
        .map(|p| {
            p["data"]["organizationImportProgress"]["processed"]
                .as_i64()
                .unwrap()
        })
        .collect();
    assert!(counts.windows(2).all(|w| w[0] < w[1]), "{counts:?}");
    assert_eq!(
        progress.last().unwrap()["data"]["organizationImportProgress"],
        json!({ "status": "COMPLETED", "processed": 1000, "total": 1000, "successful": 999, "skipped": 1, "failed": 0 })
    );

    // Every created org is mapped to its company, once.
    let mapped = mappings(&app, &psa, &config).await;
    assert_eq!(mapped.len(), 999);
    assert!(mapped.iter().all(|(_, n)| *n == 1));
    let created = app
        .ok(
            &app.admin,
            "query($id: ID!) { organizationImport(id: $id) { records(status: CREATED, limit: 5) { externalId createdOrganizationId organizationName } } }",
            json!({ "id": id }),
        )
        .await;
    for r in created["organizationImport"]["records"].as_array().unwrap() {
        let vars = app
            .ok(
                &app.admin,
                "query($o: ID!) { organization(where: {id: $o}) { name isEnabled variables { name value packConfigId } } }",
                json!({ "o": r["createdOrganizationId"] }),
            )
            .await;
        let org = &vars["organization"];
        assert_eq!(org["name"], r["organizationName"]);
        assert_eq!(org["isEnabled"], true);
        assert!(
            org["variables"]
                .as_array()
                .unwrap()
                .contains(&json!({ "name": psa.mapping_variable(), "value": r["externalId"], "packConfigId": config })),
            "{org}"
        );
    }
    assert_eq!(org_count(&app).await, 1000, "Contoso and the 999 created");

    // The log downloads like a CSV import's.
    let log = app
        .client
        .get(app.url(&format!("/api/organization-imports/{id}/log.csv")))
        .bearer_auth(&app.admin)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(log.lines().count(), 1001);
    assert!(log.lines().next().unwrap().ends_with(",externalId"));
    assert!(log.contains(",skipped (exists),DUPLICATE_IN_DATABASE,"));

    // Importing them again skips them all as EXISTING; the listing says they exist.
    let again = app
        .ok(&app.admin, PROCESS, input(&app, &config, records(&chosen)))
        .await["processOrganizationImport"]
        .clone();
    assert_eq!(again["summary"]["existingOrganizations"], 1000, "{again}");
    assert_eq!(again["import"]["status"], "COMPLETED");
    let s = state(&app, again["import"]["id"].as_str().unwrap()).await;
    assert_eq!(s["skippedCount"], 1000);
    assert_eq!(org_count(&app).await, 1000);
    let listed = companies(&app, &psa, &config, json!({})).await;
    assert_eq!(
        listed
            .iter()
            .filter(|c| c["existingMatch"] == "MAPPED")
            .count(),
        999
    );
}

async fn sources_that_are_not_green_are_refused(kind: Kind) {
    let app = spawn_app().await;
    let psa = AnyPsa::start(kind, 5).await;
    let config = psa.green_config(&app, "PSA").await;
    let one = json!([{ "organizationName": "Contoso", "externalId": "1" }]);

    // RED: configured, but the PSA does not answer.
    psa.server_errors(100);
    app.ok(
        &app.admin,
        "mutation($id: ID!) { testPackConfig(packConfig: {id: $id}) { executionId } }",
        json!({ "id": config }),
    )
    .await;
    let sources = app
        .ok(
            &app.admin,
            "query($o: ID!) { psaImportSources(orgId: $o) { selectable health { status reason } } }",
            json!({ "o": app.msp_id }),
        )
        .await;
    assert_eq!(sources["psaImportSources"][0]["selectable"], false);
    assert_eq!(sources["psaImportSources"][0]["health"]["status"], "RED");
    for q in [PROCESS, PREVIEW] {
        let body = app
            .gql(&app.admin, q, input(&app, &config, one.clone()))
            .await;
        assert_eq!(
            rule(&body),
            ("input.psaPackConfigId", "PSA_NOT_READY"),
            "{body}"
        );
        let msg = body["errors"][0]["message"].as_str().unwrap();
        assert!(
            msg.contains("RED") && msg.contains("testPackConfig"),
            "{msg}"
        );
    }
    let body = app
        .gql(
            &app.admin,
            LIST,
            json!({ "o": app.msp_id, "c": config, "p": psa.psa_ref() }),
        )
        .await;
    assert_eq!(rule(&body), ("psaPackConfigId", "PSA_NOT_READY"));

    // ORANGE: changed since its last test.
    psa.server_errors(0);
    app.ok(
        &app.admin,
        "mutation($c: PackConfigUpdateInput!) { updatePackConfig(packConfig: $c) { id } }",
        json!({ "c": { "id": config, "name": "CW renamed" } }),
    )
    .await;
    let body = app
        .gql(&app.admin, PROCESS, input(&app, &config, one.clone()))
        .await;
    assert_eq!(rule(&body), ("input.psaPackConfigId", "PSA_NOT_READY"));
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("ORANGE")
    );

    // A PSA import names its config; a CSV import does not.
    let mut missing = input(&app, &config, one.clone());
    missing["i"]["psaPackConfigId"] = Value::Null;
    let body = app.gql(&app.admin, PROCESS, missing).await;
    assert_eq!(rule(&body), ("input.psaPackConfigId", "REQUIRED_FIELD"));
    let mut csv = input(&app, &config, one.clone());
    csv["i"]["importType"] = json!("CSV");
    let body = app.gql(&app.admin, PROCESS, csv).await;
    assert_eq!(rule(&body), ("input.psaPackConfigId", "INVALID_FORMAT"));

    // The wrong psaRef, and another tenant's config.
    app.ok(
        &app.admin,
        "mutation($id: ID!) { testPackConfig(packConfig: {id: $id}) { executionId } }",
        json!({ "id": config }),
    )
    .await;
    let body = app
        .gql(
            &app.admin,
            "query($o: ID!, $c: ID!, $p: String!) { psaOrganizations(orgId: $o, psaPackConfigId: $c, psaRef: $p) { id } }",
            json!({ "o": app.msp_id, "c": config, "p": psa.other_ref() }),
        )
        .await;
    assert_eq!(rule(&body), ("psaRef", "INVALID_FORMAT"));
    let (other, other_admin) = app.other_msp("Other MSP").await;
    let body = app
        .gql(
            &other_admin,
            LIST,
            json!({ "o": other, "c": config, "p": psa.psa_ref() }),
        )
        .await;
    assert_eq!(code(&body), "FORBIDDEN");
    let body = app
        .gql(&other_admin, PROCESS, json!({ "i": { "defaultManagingOrgId": other, "importType": "PSA", "psaPackConfigId": config, "records": one } }))
        .await;
    assert_eq!(code(&body), "FORBIDDEN");
}

async fn preview_reports_the_psa_codes(kind: Kind) {
    let app = spawn_app().await;
    let psa = AnyPsa::start(kind, 10).await;
    let config = psa.green_config(&app, "PSA").await;
    // A non-staff admin: reserved names apply.
    let (_, admin) = app.user(&app.msp_id, Role::Admin, false).await;
    app.create_org(&app.admin, "Fabrikam Inc", &app.msp_id)
        .await;
    let long = "x".repeat(256);
    let rows = json!([
        { "organizationName": "Contoso", "externalId": "1" },
        { "organizationName": "Fabrikam Inc", "externalId": "2" },
        { "organizationName": "", "externalId": "3" },
        { "organizationName": long, "externalId": "4" },
        { "organizationName": "orghub partners", "externalId": "5" },
        { "organizationName": "No id" },
        { "organizationName": "Unknown", "externalId": "99999" },
        { "organizationName": "Twice", "externalId": "1" },
    ]);
    let data = app.ok(&admin, PREVIEW, input(&app, &config, rows)).await;
    let p = &data["previewOrganizationImport"];
    let got: Vec<(String, Vec<(String, String)>)> = p["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["category"].as_str().unwrap().to_owned(),
                r["validationErrors"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|e| {
                        (
                            e["field"].as_str().unwrap().to_owned(),
                            e["code"].as_str().unwrap().to_owned(),
                        )
                    })
                    .collect(),
            )
        })
        .collect();
    let e = |f: &str, c: &str| (f.to_owned(), c.to_owned());
    assert_eq!(got[0], ("NEW".into(), vec![]));
    assert_eq!(
        got[1],
        ("EXISTING".into(), vec![e("name", "DUPLICATE_IN_DATABASE")])
    );
    assert_eq!(
        got[2],
        ("INVALID".into(), vec![e("name", "REQUIRED_FIELD")])
    );
    assert_eq!(
        got[3],
        ("INVALID".into(), vec![e("name", "MAX_LENGTH_EXCEEDED")])
    );
    assert_eq!(got[4], ("INVALID".into(), vec![e("name", "RESERVED_NAME")]));
    assert_eq!(
        got[5],
        ("INVALID".into(), vec![e("externalId", "REQUIRED_FIELD")])
    );
    assert_eq!(
        got[6],
        ("INVALID".into(), vec![e("externalId", "NOT_FOUND")])
    );
    assert_eq!(
        got[7],
        ("INVALID".into(), vec![e("externalId", "DUPLICATE_IN_FILE")])
    );
    assert_eq!(
        p["summary"],
        json!({ "totalRecords": 8, "newOrganizations": 1, "existingOrganizations": 1, "invalidRecords": 6 })
    );
    // A preview creates nothing and keeps no import.
    assert_eq!(org_count(&app).await, 1);

    // More than the limit is refused as a whole.
    let many: Vec<Value> = (0..1001)
        .map(|i| json!({ "organizationName": format!("Org {i}"), "externalId": "1" }))
        .collect();
    let body = app
        .gql(&admin, PROCESS, input(&app, &config, json!(many)))
        .await;
    assert_eq!(rule(&body), ("records", "MAX_LENGTH_EXCEEDED"));
}

async fn cancel_stops_between_rows_and_keeps_what_was_made(kind: Kind) {
    let app = spawn_app().await;
    let psa = AnyPsa::start(kind, 1000).await;
    let config = psa.green_config(&app, "PSA").await;
    let all = companies(&app, &psa, &config, json!({})).await;
    let started = app
        .ok(&app.admin, PROCESS, input(&app, &config, records(&all)))
        .await;
    let id = started["processOrganizationImport"]["import"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = reached(&app, &id, 20).await;
    assert_eq!(
        before["status"], "PROCESSING",
        "the import ended too soon to cancel: {before}"
    );
    let canceled = app
        .ok(
            &app.admin,
            "mutation($id: ID!) { cancelOrganizationImport(id: $id) { status errorMessage } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(canceled["cancelOrganizationImport"]["status"], "CANCELED");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = state(&app, &id).await;
    assert_eq!(processed(&after), 1000, "{after}");
    let made = after["successfulCount"].as_i64().unwrap();
    assert!((20..1000).contains(&made), "{after}");
    assert_eq!(
        org_count(&app).await,
        made,
        "nothing created after the cancel"
    );
    assert_eq!(mappings(&app, &psa, &config).await.len() as i64, made);
    let rows = app
        .ok(
            &app.admin,
            "query($id: ID!) { organizationImport(id: $id) { records(status: CANCELED, limit: 1) { status errorMessage } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        rows["organizationImport"]["records"][0]["status"],
        "CANCELED"
    );
    let body = app
        .gql(
            &app.admin,
            "mutation($id: ID!) { cancelOrganizationImport(id: $id) { status } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(code(&body), "CONFLICT");
}

async fn a_crash_in_the_middle_is_finished_by_the_next_start_without_duplicates(kind: Kind) {
    let mut config = test_config(fresh_database_url().await);
    config.job_lease_secs = 2;
    let first = spawn_with(config.clone()).await;
    let psa = AnyPsa::start(kind, 1000).await;
    let source = psa.green_config(&first, "PSA").await;
    let all = companies(&first, &psa, &source, json!({})).await;
    let started = first
        .ok(&first.admin, PROCESS, input(&first, &source, records(&all)))
        .await;
    let id = started["processOrganizationImport"]["import"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let at_crash = reached(&first, &id, 30).await;
    first.kill_runner();
    assert_eq!(
        at_crash["status"], "PROCESSING",
        "finished before the crash: {at_crash}"
    );
    // Nothing moves while no runner holds the job.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let stalled = state(&first, &id).await;
    assert!(processed(&stalled) < 1000);

    // The next start takes the job over once the dead runner's lease has expired.
    let second = spawn_again(config).await;
    let done = finished(&second, &id).await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    assert_eq!(done["successfulCount"], 1000, "{done}");
    assert_eq!(done["skippedCount"], 0);
    assert_eq!(org_count(&second).await, 1000);
    let mapped = mappings(&second, &psa, &source).await;
    assert_eq!(mapped.len(), 1000);
    assert!(mapped.iter().all(|(_, n)| *n == 1));
}
