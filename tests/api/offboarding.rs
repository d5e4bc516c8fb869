//! "PSA: Deactivate configurations of an offboarded client" against the simulator: dry run,
//! a real run, approval and rejection, every error code from its cause, and the webhook, the
//! schedule and the company callback that start it.
use std::time::Duration;

use orghub::auth::Role;
use orghub::connectwise::simulator::Faults;
use serde_json::{Value, json};

use crate::helpers::{TestApp, code, rule};
use crate::toolbox::{Setup, cw, setup};

const RUN: &str = "mutation($o: ID!, $c: ID!, $i: OffboardingInput!) { runOffboardingConfigDeactivation(orgId: $o, packConfigId: $c, input: $i) { id status } }";
const ONE: &str = "query($id: ID) { workflowExecution(where: {id: $id}) { id status message output input workflowName pendingTasks { id kind status fields label } taskLogs { step action status message } } }";

async fn start(s: &Setup, input: Value) -> String {
    s.app
        .ok(
            &s.app.admin,
            RUN,
            json!({ "o": s.app.msp_id, "c": s.config, "i": input }),
        )
        .await["runOffboardingConfigDeactivation"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Polls until the run reaches a status in `statuses` (at most 30 s).
async fn settled(app: &TestApp, id: &str, statuses: &[&str]) -> Value {
    let mut last = Value::Null;
    for _ in 0..600 {
        last = app.ok(&app.admin, ONE, json!({ "id": id })).await["workflowExecution"].clone();
        if statuses.iter().any(|s| last["status"] == *s) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("run {id} never reached {statuses:?}: {last}");
}

async fn config_state(s: &Setup, id: i64) -> (bool, String) {
    let c = cw(&s.sim)
        .get(&format!("company/configurations/{id}"), &[])
        .await
        .unwrap();
    (
        c["activeFlag"].as_bool().unwrap(),
        c["status"]["name"].as_str().unwrap().to_owned(),
    )
}

async fn archive(s: &Setup, id: i64) {
    cw(&s.sim)
        .update_configuration(
            id,
            &json!([{ "op": "replace", "path": "status", "value": { "id": 2, "name": "Inactive" } },
                    { "op": "replace", "path": "activeFlag", "value": false }]),
        )
        .await
        .unwrap();
}

fn codes(out: &Value) -> Vec<String> {
    out["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_dry_run_lists_and_a_real_run_deactivates_exactly_the_active_ones() {
    let s = setup(&[]).await;
    // Company 10 ("Blue Yonder Ltd") is Inactive in the simulator; one of its two
    // configurations is archived already.
    archive(&s, 101).await;

    let id = start(
        &s,
        json!({ "clientName": "Blue Yonder Ltd", "offboardedStatuses": ["Inactive"], "dryRun": true,
                "includeArchived": true, "reason": "contract ended" }),
    )
    .await;
    let e = settled(&s.app, &id, &["SUCCEEDED", "FAILED"]).await;
    assert_eq!(e["status"], "SUCCEEDED", "{e}");
    let out = &e["output"];
    let keys: Vec<&str> = out
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for k in [
        "success",
        "client_id",
        "client_name",
        "timestamp",
        "statistics",
        "configs",
        "warnings",
        "errors",
    ] {
        assert!(keys.contains(&k), "{k} in {out}");
    }
    assert_eq!(out["success"], true);
    assert_eq!(out["client_id"], 10);
    assert_eq!(out["client_name"], "Blue Yonder Ltd");
    assert!(chrono::DateTime::parse_from_rfc3339(out["timestamp"].as_str().unwrap()).is_ok());
    assert_eq!(
        out["statistics"],
        json!({ "configs_found": 2, "configs_deactivated": 0, "configs_skipped": 1, "errors": 0 })
    );
    assert_eq!(
        out["configs"],
        json!([
            { "config_id": 100, "config_name": "Blue Yonder Ltd device 0", "status": "would_deactivate", "previous_status": "Active" },
            { "config_id": 101, "config_name": "Blue Yonder Ltd device 1", "status": "skipped", "previous_status": "Inactive" },
        ])
    );
    assert_eq!(
        config_state(&s, 100).await,
        (true, "Active".into()),
        "a dry run changes nothing"
    );
    let logs = e["taskLogs"].to_string();
    assert!(logs.contains("reason: contract ended"), "{logs}");

    // The real run: exactly the active one.
    let id = start(
        &s,
        json!({ "clientId": "10", "offboardedStatuses": ["inactive"] }),
    )
    .await;
    let e = settled(&s.app, &id, &["SUCCEEDED", "FAILED"]).await;
    assert_eq!(e["status"], "SUCCEEDED", "{e}");
    assert_eq!(
        e["output"]["statistics"],
        json!({ "configs_found": 1, "configs_deactivated": 1, "configs_skipped": 0, "errors": 0 })
    );
    assert_eq!(e["output"]["configs"][0]["status"], "deactivated");
    assert_eq!(e["output"]["configs"][0]["previous_status"], "Active");
    assert_eq!(config_state(&s, 100).await, (false, "Inactive".into()));
    // Another company's configurations are untouched.
    assert_eq!(config_state(&s, 110).await, (true, "Active".into()));

    // A client that is not offboarded is refused, nothing changes.
    let id = start(
        &s,
        json!({ "clientId": 1, "offboardedStatuses": ["Inactive"] }),
    )
    .await;
    let e = settled(&s.app, &id, &["SUCCEEDED", "FAILED"]).await;
    assert_eq!(e["status"], "FAILED");
    assert_eq!(codes(&e["output"]), ["ClientNotOffboarded"]);
    assert_eq!(config_state(&s, 10).await, (true, "Active".into()));

    // Inputs are checked before anything runs.
    let bad = s
        .app
        .gql(
            &s.app.admin,
            RUN,
            json!({ "o": s.app.msp_id, "c": s.config, "i": { "dryRun": true } }),
        )
        .await;
    assert_eq!(rule(&bad), ("client_id", "REQUIRED_FIELD"));
    let bad = s
        .app
        .gql(
            &s.app.admin,
            RUN,
            json!({ "o": s.app.msp_id, "c": s.config, "i": { "clientId": "ten" } }),
        )
        .await;
    assert_eq!(rule(&bad), ("client_id", "INVALID_FORMAT"));
    let (_, reader) = s.app.user(&s.app.msp_id, Role::ReadOnly, false).await;
    let refused = s
        .app
        .gql(
            &reader,
            RUN,
            json!({ "o": s.app.msp_id, "c": s.config, "i": { "clientId": "10" } }),
        )
        .await;
    assert_eq!(code(&refused), "FORBIDDEN");
}

#[tokio::test]
async fn approval_pauses_and_resumes_and_a_rejection_cancels() {
    let s = setup(&[]).await;
    let submit =
        "mutation($t: ID!, $v: JSON!) { submitPendingTaskResponse(pendingTaskId: $t, values: $v) }";

    let id = start(
        &s,
        json!({ "clientId": "20", "offboardedStatuses": ["Inactive"], "requireApproval": true }),
    )
    .await;
    let e = settled(&s.app, &id, &["PAUSED"]).await;
    assert_eq!(e["output"]["configs"][0]["status"], "pending_approval");
    let task = e["pendingTasks"][0].clone();
    assert_eq!(task["kind"], "button");
    assert!(
        task["label"]
            .as_str()
            .unwrap()
            .contains("2 configuration(s)"),
        "{task}"
    );
    assert!(
        config_state(&s, 200).await.0,
        "nothing changes before the approval"
    );
    let (_, reader) = s.app.user(&s.app.msp_id, Role::ReadOnly, false).await;
    let refused = s
        .app
        .gql(
            &reader,
            submit,
            json!({ "t": task["id"], "v": { "value": "approve" } }),
        )
        .await;
    assert_eq!(
        code(&refused),
        "FORBIDDEN",
        "a read-only user cannot approve"
    );
    let (_, member) = s.app.user(&s.app.msp_id, Role::Member, false).await;
    s.app
        .ok(
            &member,
            submit,
            json!({ "t": task["id"], "v": { "value": "approve" } }),
        )
        .await;
    let e = settled(&s.app, &id, &["SUCCEEDED", "FAILED"]).await;
    assert_eq!(e["status"], "SUCCEEDED", "{e}");
    assert_eq!(e["output"]["statistics"]["configs_deactivated"], 2);
    assert!(!config_state(&s, 200).await.0);
    assert!(!config_state(&s, 201).await.0);

    let id = start(
        &s,
        json!({ "clientId": "30", "offboardedStatuses": ["Inactive"], "requireApproval": true }),
    )
    .await;
    let e = settled(&s.app, &id, &["PAUSED"]).await;
    s.app
        .ok(
            &s.app.admin,
            submit,
            json!({ "t": e["pendingTasks"][0]["id"], "v": { "value": "reject" } }),
        )
        .await;
    let e = settled(&s.app, &id, &["CANCELED"]).await;
    assert_eq!(e["output"]["success"], false);
    assert_eq!(e["output"]["warnings"][0]["code"], "Rejected");
    assert!(config_state(&s, 300).await.0, "a rejection changes nothing");
}

#[tokio::test]
async fn each_error_code_comes_from_its_cause() {
    let s = setup(&[]).await;
    let run = |input: Value| {
        let s = &s;
        async move {
            let id = start(s, input).await;
            settled(&s.app, &id, &["SUCCEEDED", "FAILED"]).await
        }
    };

    // Unknown client, by id and by name.
    let e = run(json!({ "clientId": "99999" })).await;
    assert_eq!(
        (e["status"].as_str(), codes(&e["output"])),
        (Some("FAILED"), vec!["ClientNotFound".to_owned()])
    );
    let e = run(json!({ "clientName": "Nobody Ltd" })).await;
    assert_eq!(codes(&e["output"]), ["ClientNotFound"]);

    // An ambiguous name lists the candidates.
    cw(&s.sim)
        .patch(
            "company/companies/2",
            &json!([{ "op": "replace", "path": "name", "value": "Contoso" }]),
        )
        .await
        .unwrap();
    let e = run(json!({ "clientName": "contoso" })).await;
    assert_eq!(codes(&e["output"]), ["ClientAmbiguous"]);
    let msg = e["output"]["errors"][0]["message"].as_str().unwrap();
    assert!(msg.contains("(id 1)") && msg.contains("(id 2)"), "{msg}");

    // No configurations: a warning, not a failure.
    for id in [30, 31] {
        s.app
            .client
            .delete(format!(
                "http://{}/v4_6_release/apis/3.0/company/configurations/{id}",
                s.sim.host()
            ))
            .basic_auth("acme+sim-public", Some("sim-private"))
            .header("clientId", "sim-client")
            .send()
            .await
            .unwrap();
    }
    let e = run(json!({ "clientId": 3 })).await;
    assert_eq!(e["status"], "SUCCEEDED", "{e}");
    assert_eq!(e["output"]["success"], true);
    assert_eq!(e["output"]["warnings"][0]["code"], "ConfigNotFound");
    assert_eq!(e["output"]["statistics"]["configs_found"], 0);

    // A 500 on one configuration: that one fails, the other is deactivated.
    s.sim.set_faults(Faults {
        failing_configurations: vec![40],
        ..Default::default()
    });
    let e = run(json!({ "clientId": 4 })).await;
    assert_eq!(e["status"], "FAILED");
    assert_eq!(codes(&e["output"]), ["ConfigUpdateFailed"]);
    assert_eq!(e["output"]["errors"][0]["config_id"], 40);
    assert_eq!(e["output"]["statistics"]["configs_deactivated"], 1);
    assert!(!config_state(&s, 41).await.0);
    assert!(config_state(&s, 40).await.0);

    // A 403: PermissionDenied, for each configuration.
    s.sim.set_faults(Faults {
        forbid_configuration_updates: true,
        ..Default::default()
    });
    let e = run(json!({ "clientId": 5 })).await;
    assert_eq!(
        codes(&e["output"]),
        ["PermissionDenied", "PermissionDenied"]
    );
    s.sim.set_faults(Faults::default());

    // ConnectWise down: a config whose host answers nothing.
    let c = &s.sim.credentials;
    let dead = s
        .app
        .ok(
            &s.app.admin,
            "mutation($c: PackConfigCreateInput!) { createPackConfig(packConfig: $c) { id } }",
            json!({ "c": { "orgId": s.app.msp_id, "packId": "connectwise-psa", "name": "Down", "config": {
                "hostname": "127.0.0.1:9", "company_id": c.company_id, "public_key": c.public_key,
                "private_key": c.private_key, "client_id": c.client_id } } }),
        )
        .await["createPackConfig"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let id = s
        .app
        .ok(
            &s.app.admin,
            RUN,
            json!({ "o": s.app.msp_id, "c": dead, "i": { "clientId": 6 } }),
        )
        .await["runOffboardingConfigDeactivation"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let e = settled(&s.app, &id, &["SUCCEEDED", "FAILED"]).await;
    assert_eq!(codes(&e["output"]), ["PSAConnectionError"]);
}

#[tokio::test]
async fn a_webhook_a_schedule_and_a_company_callback_each_start_runs() {
    let s = setup(&[]).await;
    let create = "mutation($o: ID!, $c: ID!, $k: OffboardingTriggerKind!, $i: OffboardingInput, $cron: String) {
        createOffboardingTrigger(orgId: $o, packConfigId: $c, kind: $k, input: $i, cron: $cron) { id url secret cron nextRunAt callbackId } }";
    let make = |kind: &str, input: Value, cron: Option<&str>| {
        let vars = json!({ "o": s.app.msp_id, "c": s.config, "k": kind, "i": input, "cron": cron });
        let app = &s.app;
        async move { app.gql(&app.admin, create, vars).await }
    };

    // Webhook: the secret is required; the body's inputs start a run.
    let hook = make(
        "WEBHOOK",
        json!({ "offboardedStatuses": ["Inactive"] }),
        None,
    )
    .await["data"]["createOffboardingTrigger"]
        .clone();
    let secret = hook["secret"]
        .as_str()
        .expect("the secret, once")
        .to_owned();
    let url = hook["url"].as_str().unwrap().to_owned();
    let post = |body: Value, secret: Option<&str>| {
        let mut req = s.app.client.post(&url).json(&body);
        if let Some(sec) = secret {
            req = req.header("x-rewst-secret", sec);
        }
        req.send()
    };
    assert_eq!(
        post(json!({ "client_id": 10 }), None)
            .await
            .unwrap()
            .status()
            .as_u16(),
        401
    );
    assert_eq!(
        post(json!({ "client_id": 10 }), Some("wrong"))
            .await
            .unwrap()
            .status()
            .as_u16(),
        401
    );
    let bad = post(json!({ "client_id": "x", "dry_run": "yes" }), Some(&secret))
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 400);
    let body: Value = bad.json().await.unwrap();
    let fields: Vec<&str> = body["validationErrors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["client_id", "dry_run"]);
    let ok = post(json!({ "client_id": 10, "dry_run": true }), Some(&secret))
        .await
        .unwrap();
    assert_eq!(ok.status().as_u16(), 202);
    let started: Value = ok.json().await.unwrap();
    let e = settled(
        &s.app,
        started["executionId"].as_str().unwrap(),
        &["SUCCEEDED", "FAILED"],
    )
    .await;
    assert_eq!(e["status"], "SUCCEEDED", "{e}");
    assert_eq!(e["input"]["source"], "webhook");
    let listed = s
        .app
        .ok(
            &s.app.admin,
            "query($o: ID!) { offboardingTriggers(orgId: $o) { id secret } }",
            json!({ "o": s.app.msp_id }),
        )
        .await;
    assert_eq!(
        listed["offboardingTriggers"][0]["secret"],
        Value::Null,
        "the secret is shown once"
    );

    // Schedule: a bad cron is refused; at its time it runs every offboarded company.
    let bad = make(
        "SCHEDULE",
        json!({ "offboardedStatuses": ["Inactive"] }),
        Some("61 * * * *"),
    )
    .await;
    assert_eq!(rule(&bad), ("cron", "INVALID_FORMAT"));
    let sched = make(
        "SCHEDULE",
        json!({ "offboardedStatuses": ["Inactive"], "dryRun": true }),
        Some("0 2 * * *"),
    )
    .await["data"]["createOffboardingTrigger"]
        .clone();
    let next = chrono::DateTime::parse_from_rfc3339(sched["nextRunAt"].as_str().unwrap())
        .unwrap()
        .with_timezone(&chrono::Utc);
    let store = &s.app.state.store;
    assert_eq!(
        orghub::domain::triggers::schedule_due(store, next - chrono::Duration::minutes(1))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        orghub::domain::triggers::schedule_due(store, next)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        orghub::domain::triggers::schedule_due(store, next)
            .await
            .unwrap(),
        0,
        "once per firing"
    );
    let runs = |source: &'static str| {
        let app = &s.app;
        async move {
            let all = app
                .ok(
                    &app.admin,
                    "query($o: ID!) { workflowExecutions(where: {orgId: $o}) { id status input } }",
                    json!({ "o": app.msp_id }),
                )
                .await["workflowExecutions"]
                .clone();
            all.as_array()
                .unwrap()
                .iter()
                .filter(|e| e["input"]["source"] == source)
                .cloned()
                .collect::<Vec<Value>>()
        }
    };
    let mut scheduled = Vec::new();
    for _ in 0..200 {
        scheduled = runs("schedule").await;
        if scheduled.len() == 3 && scheduled.iter().all(|e| e["status"] == "SUCCEEDED") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut clients: Vec<i64> = scheduled
        .iter()
        .map(|e| e["input"]["params"]["client_id"].as_i64().unwrap())
        .collect();
    clients.sort();
    assert_eq!(clients, [10, 20, 30], "{scheduled:?}");

    // Company callback: registered in ConnectWise; a company turning Inactive is offboarded.
    let cb = make(
        "COMPANY_CALLBACK",
        json!({ "offboardedStatuses": ["Inactive"] }),
        None,
    )
    .await["data"]["createOffboardingTrigger"]
        .clone();
    assert!(cb["callbackId"].is_string(), "{cb}");
    let registered = cw(&s.sim).callbacks().await.unwrap();
    assert!(
        registered
            .iter()
            .any(|c| c["url"] == cb["url"] && c["type"] == "Company")
    );
    // An update that leaves the company active starts nothing.
    assert_eq!(s.sim.emit("company", "updated", 5).await[0].1, 200);
    cw(&s.sim)
        .patch("company/companies/5", &json!([{ "op": "replace", "path": "status", "value": { "id": 2, "name": "Inactive" } }]))
        .await
        .unwrap();
    assert_eq!(s.sim.emit("company", "updated", 5).await[0].1, 200);
    let mut from_cb = Vec::new();
    for _ in 0..200 {
        from_cb = runs("company_callback").await;
        if from_cb.len() == 1 && from_cb[0]["status"] == "SUCCEEDED" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(from_cb.len(), 1, "{from_cb:?}");
    assert_eq!(from_cb[0]["input"]["params"]["client_id"], 5);
    assert!(!config_state(&s, 50).await.0);
    assert!(!config_state(&s, 51).await.0);
}
