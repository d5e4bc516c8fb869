//! Workflow executions, pending tasks and foreign object references through the API.
use chrono::Duration;
use orghub::auth::Role;
use orghub::domain::executions;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, code, rule, spawn_app};

const WF: &str = "pods-technician-toolbox";

async fn run(
    app: &TestApp,
    org: &str,
    parent: Option<&executions::Execution>,
) -> executions::Execution {
    executions::start(
        &app.state.store.db,
        Uuid::parse_str(org).unwrap(),
        WF,
        Some(json!({ "ticketId": 1001 })),
        parent,
    )
    .await
    .unwrap_or_else(|e| panic!("{}", e.client_message()))
}

async fn prompt(
    app: &TestApp,
    e: &executions::Execution,
    ttl: Duration,
) -> executions::PendingTask {
    executions::ask(
        &app.state.store.db,
        e.id,
        "prompt",
        "Add internal note",
        Some(json!([{ "name": "note", "type": "text" }])),
        ttl,
    )
    .await
    .unwrap_or_else(|e| panic!("{}", e.client_message()))
}

const ONE: &str = "query($id: ID) { workflowExecution(where: {id: $id}) { id status statusEnum workflowId numAwaitingResponseTasks numSuccessfulTasks
    organization { name } pendingTasks { id kind label status fields expiresAt } parentExecution { id } childExecutions { id } subExecutions { id } originatingExecutionId processedCompletionAt } }";

#[tokio::test]
async fn executions_tasks_and_answers() {
    let app = spawn_app().await;
    let client = app.create_org(&app.admin, "Client", &app.msp_id).await;
    let parent = run(&app, &client, None).await;
    let task = prompt(&app, &parent, Duration::minutes(30)).await;
    let child = run(&app, &client, Some(&parent)).await;

    let e = app.ok(&app.admin, ONE, json!({ "id": parent.id })).await["workflowExecution"].clone();
    assert_eq!(
        (e["status"].as_str(), e["statusEnum"].as_str()),
        (Some("PAUSED"), Some("PAUSED"))
    );
    assert_eq!(e["numAwaitingResponseTasks"], 1);
    assert_eq!(e["organization"]["name"], "Client");
    assert_eq!(e["pendingTasks"][0]["kind"], "prompt");
    assert_eq!(e["pendingTasks"][0]["fields"][0]["name"], "note");
    assert_eq!(
        e["childExecutions"],
        json!([{ "id": child.id.to_string() }])
    );
    assert_eq!(e["subExecutions"], e["childExecutions"]);
    let c = app.ok(&app.admin, ONE, json!({ "id": child.id })).await["workflowExecution"].clone();
    assert_eq!(c["parentExecution"]["id"], parent.id.to_string());
    assert_eq!(c["originatingExecutionId"], parent.id.to_string());

    // Lists: by org, with or without the orgs below; since; search; latest.
    let list = "query($o: ID, $s: Boolean, $since: String) { workflowExecutions(where: {orgId: $o}, includeSubOrgs: $s, createdSince: $since, order: [[\"createdAt\", \"DESC\"]]) { id } }";
    let count = |v: &Value| v["workflowExecutions"].as_array().unwrap().len();
    assert_eq!(
        count(&app.ok(&app.admin, list, json!({ "o": app.msp_id })).await),
        0
    );
    assert_eq!(
        count(
            &app.ok(&app.admin, list, json!({ "o": app.msp_id, "s": true }))
                .await
        ),
        2
    );
    assert_eq!(
        count(
            &app.ok(
                &app.admin,
                list,
                json!({ "o": client, "since": "2999-01-01T00:00:00Z" })
            )
            .await
        ),
        0
    );
    let paused = app
        .ok(
            &app.admin,
            "{ workflowExecutions(search: {status: {_eq: \"PAUSED\"}}) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(count(&paused), 1);
    let waiting = app
        .ok(
            &app.admin,
            "{ workflowExecutions(where: {numAwaitingResponseTasks: 1}) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(count(&waiting), 1);
    let latest = app
        .ok(
            &app.admin,
            "query($o: ID!, $w: ID!) { latestWorkflowExecution(orgId: $o, workflowId: $w) { id } }",
            json!({ "o": client, "w": WF }),
        )
        .await;
    assert_eq!(
        latest["latestWorkflowExecution"]["id"],
        child.id.to_string()
    );
    let org = app
        .ok(
            &app.admin,
            "query($id: ID) { organization(where: {id: $id}) { workflowExecutions { id } } }",
            json!({ "id": client }),
        )
        .await;
    assert_eq!(
        org["organization"]["workflowExecutions"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // Answering a task: the run goes on; an answered task cannot be answered again.
    let submit =
        "mutation($t: ID!, $v: JSON!) { submitPendingTaskResponse(pendingTaskId: $t, values: $v) }";
    let (_, reader) = app.user(&client, Role::ReadOnly, false).await;
    assert_eq!(
        code(
            &app.gql(
                &reader,
                submit,
                json!({ "t": task.id, "v": { "note": "x" } })
            )
            .await
        ),
        "FORBIDDEN"
    );
    app.ok(
        &app.admin,
        submit,
        json!({ "t": task.id, "v": { "note": "Rebooted the server" } }),
    )
    .await;
    let e = app.ok(&app.admin, ONE, json!({ "id": parent.id })).await["workflowExecution"].clone();
    assert_eq!(
        (
            e["status"].as_str(),
            e["numSuccessfulTasks"].as_i64(),
            e["numAwaitingResponseTasks"].as_i64()
        ),
        (Some("RUNNING"), Some(1), Some(0))
    );
    assert_eq!(
        code(
            &app.gql(&app.admin, submit, json!({ "t": task.id, "v": {} }))
                .await
        ),
        "CONFLICT"
    );
    // An expired task says so.
    let stale = prompt(&app, &child, Duration::seconds(-1)).await;
    assert_eq!(
        code(
            &app.gql(&app.admin, submit, json!({ "t": stale.id, "v": {} }))
                .await
        ),
        "CONFLICT"
    );
    let e = app.ok(&app.admin, ONE, json!({ "id": child.id })).await["workflowExecution"].clone();
    assert_eq!(e["pendingTasks"][0]["status"], "expired");

    // Kill and delete.
    let waiting_task = prompt(&app, &child, Duration::minutes(5)).await;
    let killed = app
        .ok(
            &app.admin,
            "mutation($id: ID!) { killWorkflowExecution(id: $id) }",
            json!({ "id": child.id }),
        )
        .await;
    assert_eq!(killed["killWorkflowExecution"]["status"], "CANCELED");
    let e = app.ok(&app.admin, ONE, json!({ "id": child.id })).await["workflowExecution"].clone();
    assert!(e["processedCompletionAt"].is_string());
    assert!(
        e["pendingTasks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["id"] == waiting_task.id.to_string() && t["status"] == "canceled")
    );
    assert_eq!(
        code(
            &app.gql(
                &app.admin,
                "mutation($id: ID!) { killWorkflowExecution(id: $id) }",
                json!({ "id": child.id })
            )
            .await
        ),
        "CONFLICT"
    );
    assert_eq!(
        app.ok(
            &app.admin,
            "mutation($id: ID!) { deleteWorkflowExecution(id: $id) }",
            json!({ "id": child.id })
        )
        .await["deleteWorkflowExecution"],
        true
    );
    assert_eq!(
        code(&app.gql(&app.admin, ONE, json!({ "id": child.id })).await),
        "FORBIDDEN",
        "gone"
    );
}

#[tokio::test]
async fn foreign_object_references_link_tickets_to_runs() {
    let app = spawn_app().await;
    let client = app.create_org(&app.admin, "Client", &app.msp_id).await;
    let config = app
        .ok(&app.admin, "mutation($o: ID!) { createPackConfig(packConfig: {orgId: $o, packId: \"connectwise-psa\", name: \"Main\"}) { id } }", json!({ "o": app.msp_id }))
        .await["createPackConfig"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let first = run(&app, &client, None).await;
    let second = run(&app, &client, None).await;
    let create = "mutation($r: CreateForeignObjectReferenceInput) { createForeignObjectReference(foreignObjectReference: $r) { id identifier referenceId packConfig { name } workflowExecution { id } organization { name } } }";
    let upsert = "mutation($r: CreateForeignObjectReferenceInput) { createOrUpdateForeignObjectReference(foreignObjectReference: $r) { id workflowExecutionId } }";
    let r = json!({ "orgId": client, "identifier": "cw_ticket", "referenceId": "1001", "packConfigId": config, "workflowExecutionId": first.id });
    let made =
        app.ok(&app.admin, create, json!({ "r": r })).await["createForeignObjectReference"].clone();
    assert_eq!(
        (made["identifier"].as_str(), made["referenceId"].as_str()),
        (Some("cw_ticket"), Some("1001"))
    );
    assert_eq!(made["packConfig"]["name"], "Main");
    assert_eq!(made["workflowExecution"]["id"], first.id.to_string());

    // A new run for the same ticket moves the reference.
    let mut r2 = r.clone();
    r2["workflowExecutionId"] = json!(second.id);
    let moved = app.ok(&app.admin, upsert, json!({ "r": r2 })).await["createOrUpdateForeignObjectReference"].clone();
    assert_eq!(moved["id"], made["id"]);
    assert_eq!(moved["workflowExecutionId"], second.id.to_string());
    let found = app
        .ok(&app.admin, "{ foreignObjectReferences(where: {identifier: \"cw_ticket\", referenceId: \"1001\"}) { workflowExecution { id status } } }", json!({}))
        .await;
    assert_eq!(
        found["foreignObjectReferences"],
        json!([{ "workflowExecution": { "id": second.id.to_string(), "status": "RUNNING" } }])
    );
    let by_config = app.ok(&app.admin, "query($c: ID) { packConfig(where: {id: $c}) { foreignObjectReferences { referenceId } } }", json!({ "c": config })).await;
    assert_eq!(
        by_config["packConfig"]["foreignObjectReferences"],
        json!([{ "referenceId": "1001" }])
    );
    let via_run = app.ok(&app.admin, "query($e: ID) { foreignObjectReference(where: {workflowExecution: {id: $e}}) { referenceId } }", json!({ "e": second.id })).await;
    assert_eq!(via_run["foreignObjectReference"]["referenceId"], "1001");

    for (input, expected) in [
        (
            json!({ "orgId": client, "identifier": "cw ticket", "referenceId": "1" }),
            ("identifier", "INVALID_FORMAT"),
        ),
        (
            json!({ "orgId": client, "identifier": "cw_ticket", "referenceId": " " }),
            ("referenceId", "REQUIRED_FIELD"),
        ),
        (
            json!({ "orgId": client, "identifier": "cw_ticket", "referenceId": "1", "packConfigId": Uuid::now_v7() }),
            ("packConfigId", "NOT_FOUND"),
        ),
    ] {
        assert_eq!(
            rule(&app.gql(&app.admin, create, json!({ "r": input })).await),
            expected
        );
    }
    // An execution of another org cannot be linked.
    let elsewhere = run(&app, &app.msp_id, None).await;
    let body = app.gql(&app.admin, create, json!({ "r": { "orgId": client, "identifier": "cw_ticket", "referenceId": "2", "workflowExecutionId": elsewhere.id } })).await;
    assert_eq!(rule(&body), ("workflowExecutionId", "NOT_FOUND"));

    // Deleting the run keeps the reference, unlinked.
    app.ok(
        &app.admin,
        "mutation($id: ID!) { deleteWorkflowExecution(id: $id) }",
        json!({ "id": second.id }),
    )
    .await;
    let found = app
        .ok(
            &app.admin,
            "{ foreignObjectReferences(where: {referenceId: \"1001\"}) { workflowExecutionId } }",
            json!({}),
        )
        .await;
    assert_eq!(
        found["foreignObjectReferences"],
        json!([{ "workflowExecutionId": null }])
    );
}

#[tokio::test]
async fn other_tenants_see_nothing() {
    let app = spawn_app().await;
    let client = app.create_org(&app.admin, "Client", &app.msp_id).await;
    let e = run(&app, &client, None).await;
    let t = prompt(&app, &e, Duration::minutes(5)).await;
    let (_, other) = app.other_msp("Globex").await;
    let missing = Uuid::now_v7();
    for (query, vars, none) in [
        (ONE, json!({ "id": e.id }), json!({ "id": missing })),
        (
            "query($o: ID!) { latestWorkflowExecution(orgId: $o, workflowId: \"x\") { id } }",
            json!({ "o": client }),
            json!({ "o": missing }),
        ),
        (
            "query($o: ID) { workflowExecutions(where: {orgId: $o}) { id } }",
            json!({ "o": client }),
            json!({ "o": missing }),
        ),
        (
            "mutation($id: ID!) { killWorkflowExecution(id: $id) }",
            json!({ "id": e.id }),
            json!({ "id": missing }),
        ),
        (
            "mutation($id: ID!) { deleteWorkflowExecution(id: $id) }",
            json!({ "id": e.id }),
            json!({ "id": missing }),
        ),
        (
            "mutation($t: ID!) { submitPendingTaskResponse(pendingTaskId: $t, values: {}) }",
            json!({ "t": t.id }),
            json!({ "t": missing }),
        ),
        (
            "mutation($o: ID!) { createForeignObjectReference(foreignObjectReference: {orgId: $o, identifier: \"cw_ticket\", referenceId: \"1\"}) { id } }",
            json!({ "o": client }),
            json!({ "o": missing }),
        ),
    ] {
        crate::helpers::assert_forbidden_as_missing(&app, &other, query, vars, none).await;
    }
    let data = app
        .ok(
            &other,
            "{ workflowExecutions { id } foreignObjectReferences { id } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data,
        json!({ "workflowExecutions": [], "foreignObjectReferences": [] })
    );
}
