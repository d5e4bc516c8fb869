//! The Technician Toolbox behind the pod, against the ConnectWise simulator: live links
//! (signed, deduplicated, rate limited), the run's overview and buttons doing real
//! ConnectWise work, the unmapped-company failure, ConnectWise callbacks (signed, replays
//! refused), expiry, and the job runner across two instances and a crash.
use std::time::Duration;

use orghub::connectwise::callbacks::{CallbackMetadata, CallbackPayload, sign};
use orghub::connectwise::client::{Credentials, CwClient};
use orghub::connectwise::simulator::{CODEBASE, SIGNING_KEY, SimCredentials, Simulator};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use crate::helpers::{TestApp, code, rule, spawn_again, spawn_app, spawn_with, test_config};

const RUN: &str = "query($id: ID) { workflowExecution(where: {id: $id}) { id status message orgId workflowId workflowName output input
    organization { name } pendingTasks { id kind label status fields } taskLogs { step action status durationMs message } } }";
const SUBMIT: &str =
    "mutation($t: ID!, $v: JSON!) { submitPendingTaskResponse(pendingTaskId: $t, values: $v) }";

pub struct Setup {
    pub app: TestApp,
    pub sim: Simulator,
    pub config: String,
    pub client_org: String,
}

/// The MSP with a ConnectWise config on the simulator; companies `mapped` (ids) mapped to
/// new client orgs, the first one named "Client A" with a tag and two variables.
pub async fn setup_on(app: TestApp, mapped: &[i64]) -> Setup {
    let sim = Simulator::start(30, SimCredentials::default())
        .await
        .expect("the simulator");
    let c = &sim.credentials;
    let data = app
        .ok(
            &app.admin,
            "mutation($c: PackConfigCreateInput!) { createPackConfig(packConfig: $c) { id } }",
            json!({ "c": { "orgId": app.msp_id, "packId": "connectwise-psa", "name": "Main CW", "config": {
                "hostname": sim.host(), "company_id": c.company_id, "public_key": c.public_key,
                "private_key": c.private_key, "client_id": c.client_id } } }),
        )
        .await;
    let config = data["createPackConfig"]["id"].as_str().unwrap().to_owned();
    app.ok(
        &app.admin,
        "mutation($c: ID!) { refetchPackConfigRefOptions(packConfigId: $c) { executionId } }",
        json!({ "c": config }),
    )
    .await;
    let mut mappings = Vec::new();
    let mut client_org = String::new();
    for (i, company) in mapped.iter().enumerate() {
        let name = if i == 0 {
            "Client A".to_owned()
        } else {
            format!("Client {company}")
        };
        let org = app.create_org(&app.admin, &name, &app.msp_id).await;
        if i == 0 {
            client_org = org.clone();
        }
        mappings.push(json!({ "orgId": org, "companyId": company.to_string() }));
    }
    app.ok(
        &app.admin,
        "mutation($c: ID!, $m: [OrgMappingInput!]!) { saveOrgMappings(packConfigId: $c, mappings: $m) }",
        json!({ "c": config, "m": mappings }),
    )
    .await;
    if !client_org.is_empty() {
        let tag = app
            .ok(
                &app.admin,
                "mutation($o: ID!) { createTag(tag: {name: \"VIP\", orgId: $o}) { id } }",
                json!({ "o": app.msp_id }),
            )
            .await["createTag"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        app.ok(
            &app.admin,
            "mutation($o: ID!, $t: [ID!]!) { setOrganizationTags(orgId: $o, tagIds: $t) { id } }",
            json!({ "o": client_org, "t": [tag] }),
        )
        .await;
        for (name, value, category) in [
            ("site_code", "AC-01", "general"),
            ("admin_password", "hunter2-secret", "secret"),
        ] {
            app.ok(
                &app.admin,
                "mutation($v: OrgVariableCreateInput!) { createOrgVariable(orgVariable: $v) { id } }",
                json!({ "v": { "orgId": client_org, "name": name, "value": value, "category": category, "cascade": false } }),
            )
            .await;
        }
    }
    Setup {
        app,
        sim,
        config,
        client_org,
    }
}

pub async fn setup(mapped: &[i64]) -> Setup {
    setup_on(spawn_app().await, mapped).await
}

pub async fn live_link(s: &Setup, org: &str) -> String {
    s.app
        .ok(
            &s.app.admin,
            "mutation($o: ID!, $c: ID!) { createLiveLink(orgId: $o, packConfigId: $c) { id url ticketParameter } }",
            json!({ "o": org, "c": s.config }),
        )
        .await["createLiveLink"]["url"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// GETs a link (as a browser would); returns status, body and the execution id on the page.
pub async fn click(app: &TestApp, url: &str) -> (u16, String, Option<String>) {
    let res = app.client.get(url).send().await.expect("an answer");
    let status = res.status().as_u16();
    let body = res.text().await.unwrap_or_default();
    let id = body
        .split("name=\"orghub-execution-id\" content=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .map(str::to_owned);
    (status, body, id)
}

async fn run(app: &TestApp, id: &str) -> Value {
    app.ok(&app.admin, RUN, json!({ "id": id })).await["workflowExecution"].clone()
}

/// Polls until the run is in `status` and `ready` holds (at most 20 s).
async fn until(app: &TestApp, id: &str, status: &str, ready: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    for _ in 0..400 {
        last = run(app, id).await;
        if last["status"] == status && ready(&last) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("run {id} never reached {status}: {last}");
}

fn waiting(e: &Value) -> Option<Value> {
    e["pendingTasks"]
        .as_array()?
        .iter()
        .find(|t| t["status"] == "pending")
        .cloned()
}

/// Presses a button of the waiting menu and waits for the next question.
async fn press(app: &TestApp, id: &str, value: &str) -> Value {
    let e = until(app, id, "PAUSED", |e| waiting(e).is_some()).await;
    let task = waiting(&e).unwrap();
    app.ok(
        &app.admin,
        SUBMIT,
        json!({ "t": task["id"], "v": { "value": value } }),
    )
    .await;
    until(app, id, "PAUSED", |e| {
        waiting(e).is_some_and(|t| t["id"] != task["id"])
    })
    .await
}

pub fn cw(sim: &Simulator) -> CwClient {
    let c = &sim.credentials;
    CwClient::new(
        orghub::http_client().unwrap(),
        Credentials {
            host: sim.host(),
            company_id: c.company_id.clone(),
            public_key: c.public_key.clone(),
            private_key: c.private_key.clone(),
            client_id: c.client_id.clone(),
        },
    )
}

#[tokio::test]
async fn a_live_link_runs_the_toolbox_and_its_buttons_work() {
    let s = setup(&[1]).await;
    let app = &s.app;
    let url = live_link(&s, &app.msp_id).await;
    assert!(
        url.contains("/webhooks/custom/trigger/") && url.contains("sig="),
        "{url}"
    );
    // The same link again.
    assert_eq!(live_link(&s, &app.msp_id).await, url);

    let (status, page, id) = click(app, &format!("{url}&ticketId=1001")).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("window.close"), "{page}");
    let id = id.expect("the page names the run");

    let e = until(app, &id, "PAUSED", |e| waiting(e).is_some()).await;
    assert_eq!(e["workflowName"], "Pods: Technician Toolbox");
    assert_eq!(
        e["organization"]["name"], "Client A",
        "moved to the mapped org"
    );
    let o = &e["output"]["overview"];
    assert_eq!(o["organization"]["name"], "Client A");
    assert_eq!(o["ticket"]["id"], 1001);
    assert_eq!(o["ticket"]["summary"], "Onboarding for Contoso");
    assert_eq!(o["ticket"]["status"], "New");
    assert_eq!(o["ticket"]["priority"], "Medium");
    assert_eq!(o["tags"][0]["name"], "VIP");
    let vars = o["variables"].as_array().unwrap();
    assert!(
        vars.iter()
            .any(|v| v["name"] == "site_code" && v["value"] == "AC-01")
    );
    assert!(
        !e.to_string().contains("hunter2") && !vars.iter().any(|v| v["name"] == "admin_password"),
        "no secret in the overview: {e}"
    );
    let menu = waiting(&e).unwrap();
    assert_eq!(menu["kind"], "button");
    let values: Vec<&str> = menu["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["value"].as_str().unwrap())
        .collect();
    assert_eq!(values, ["add_note", "show_configurations", "refresh"]);

    // The run is linked to the ticket.
    let refs = app
        .ok(
            &app.admin,
            "query($c: ID) { foreignObjectReferences(where: {identifier: \"cw_ticket\", referenceId: \"1001\", packConfigId: $c}) { orgId workflowExecutionId } }",
            json!({ "c": s.config }),
        )
        .await["foreignObjectReferences"]
        .clone();
    assert_eq!(refs.as_array().unwrap().len(), 1, "{refs}");
    assert_eq!(refs[0]["workflowExecutionId"], id.as_str());
    assert_eq!(refs[0]["orgId"], s.client_org.as_str());

    // Each step is logged, timed, without secrets.
    let logs = e["taskLogs"].as_array().unwrap();
    let fetch = logs
        .iter()
        .find(|l| l["action"] == "GET service/tickets/1001")
        .expect("the ticket fetch is logged");
    assert_eq!(fetch["status"], "succeeded");
    assert!(fetch["durationMs"].as_i64().unwrap() >= 0);
    assert!(!e["taskLogs"].to_string().contains("sim-private"));

    // The ConnectWise calls are measured.
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("orghub_connectwise_call_duration_seconds_count{method=\"GET\",endpoint=\"service/tickets/:id\",outcome=\"200\"}"),
        "{metrics}"
    );

    // A wrong button is refused with its field.
    let bad = app
        .gql(
            &app.admin,
            SUBMIT,
            json!({ "t": menu["id"], "v": { "value": "format_c" } }),
        )
        .await;
    assert_eq!(rule(&bad), ("values.value", "INVALID_FORMAT"));

    // Add internal note: a prompt, then a real note on the simulator's ticket.
    let e = press(app, &id, "add_note").await;
    let prompt = waiting(&e).unwrap();
    assert_eq!(prompt["kind"], "prompt");
    let empty = app
        .gql(
            &app.admin,
            SUBMIT,
            json!({ "t": prompt["id"], "v": { "text": "  " } }),
        )
        .await;
    assert_eq!(rule(&empty), ("values.text", "REQUIRED_FIELD"));
    let long = app
        .gql(
            &app.admin,
            SUBMIT,
            json!({ "t": prompt["id"], "v": { "text": "x".repeat(4001) } }),
        )
        .await;
    assert_eq!(rule(&long), ("values.text", "MAX_LENGTH_EXCEEDED"));
    app.ok(
        &app.admin,
        SUBMIT,
        json!({ "t": prompt["id"], "v": { "text": "Rebooted the server" } }),
    )
    .await;
    let e = until(app, &id, "PAUSED", |e| {
        waiting(e).is_some_and(|t| t["kind"] == "button")
    })
    .await;
    assert_eq!(e["output"]["notes"][0]["text"], "Rebooted the server");
    assert_eq!(e["output"]["notice"]["text"], "Note added to ticket #1001");
    let notes = cw(&s.sim).ticket_notes(1001).await.unwrap();
    assert!(
        notes
            .iter()
            .any(|n| n["text"] == "Rebooted the server" && n["internalAnalysisFlag"] == true),
        "{notes:?}"
    );

    // Show configurations: the company's, with their status.
    let e = press(app, &id, "show_configurations").await;
    let items = e["output"]["configurations"]["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{e}");
    assert!(
        items.iter().all(|c| c["status"] == "Active"
            && c["name"].as_str().unwrap().starts_with("Contoso device"))
    );

    // Refresh: the ticket changed in ConnectWise, the overview follows.
    cw(&s.sim)
        .patch(
            "service/tickets/1001",
            &json!([{ "op": "replace", "path": "summary", "value": "Printer on fire" }]),
        )
        .await
        .unwrap();
    let e = press(app, &id, "refresh").await;
    assert_eq!(
        e["output"]["overview"]["ticket"]["summary"],
        "Printer on fire"
    );
    assert_eq!(e["output"]["notice"]["text"], "Refreshed");

    // Nobody answers: the menu expires and the run ends in TIMEOUT.
    app.state
        .store
        .db
        .execute_unprepared(
            "UPDATE pending_tasks SET expires_at = '2020-01-01T00:00:00Z' WHERE status = 'pending'",
        )
        .await
        .unwrap();
    let expired = orghub::domain::executions::expire_due(&app.state.store, chrono::Utc::now())
        .await
        .unwrap();
    assert_eq!(expired, 1);
    let e = run(app, &id).await;
    assert_eq!(e["status"], "TIMEOUT");
    assert!(waiting(&e).is_none());
}

#[tokio::test]
async fn an_unmapped_company_fails_with_what_to_do() {
    let s = setup(&[1]).await;
    let url = live_link(&s, &s.app.msp_id).await;
    // Ticket 1002 belongs to company 2 (Fabrikam Inc), mapped to nothing.
    let (status, _, id) = click(&s.app, &format!("{url}&id=1002")).await;
    assert_eq!(status, 200);
    let e = until(&s.app, &id.unwrap(), "FAILED", |_| true).await;
    let msg = e["message"].as_str().unwrap();
    assert!(
        msg.contains("\"Fabrikam Inc\" (id 2) is not mapped")
            && msg.contains("Main CW")
            && msg.contains("Organization mapping"),
        "{msg}"
    );
    assert!(waiting(&e).is_none());
    // A ticket ConnectWise does not know.
    let (_, _, id) = click(&s.app, &format!("{url}&srid=999999")).await;
    let e = until(&s.app, &id.unwrap(), "FAILED", |_| true).await;
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("#999999 was not found"),
        "{e}"
    );
}

#[tokio::test]
async fn double_clicks_forged_links_and_refusals() {
    let s = setup(&[1]).await;
    let app = &s.app;
    let url = live_link(&s, &app.msp_id).await;
    let ticket = format!("{url}&ticketId=1001");

    // Two clicks at once: one run.
    let (a, b) = tokio::join!(click(app, &ticket), click(app, &ticket));
    assert_eq!((a.0, b.0), (200, 200));
    assert_eq!(a.2, b.2, "both clicks name the same run");
    let third = click(app, &ticket).await;
    assert_eq!(third.2, a.2);
    assert!(third.1.contains("Already started"), "{}", third.1);
    let count = app
        .ok(
            &app.admin,
            "query($o: ID!) { workflowExecutions(where: {orgId: $o}, includeSubOrgs: true) { id } }",
            json!({ "o": app.msp_id }),
        )
        .await["workflowExecutions"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(count, 1);

    // Forged: another signature, another org in the path, no signature.
    let sig = url.split("sig=").nth(1).unwrap();
    let flipped: String = sig
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if i == 3 {
                if c == 'A' { 'B' } else { 'A' }
            } else {
                c
            }
        })
        .collect();
    let forged = ticket.replace(sig, &flipped);
    let (status, page, _) = click(app, &forged).await;
    assert_eq!(status, 403, "{page}");
    assert!(page.contains("signature is not valid"));
    let other_org = ticket.replace(&app.msp_id, &s.client_org);
    assert_eq!(click(app, &other_org).await.0, 403);
    let unsigned = format!("{}?ticketId=1001", url.split('?').next().unwrap());
    assert_eq!(click(app, &unsigned).await.0, 403);
    assert_eq!(
        click(app, &app.url("/webhooks/custom/trigger/nope/nope?sig=x"))
            .await
            .0,
        404
    );

    // No ticket in the link.
    let (status, page, _) = click(app, &url).await;
    assert_eq!(status, 400);
    assert!(page.contains("ticketId"), "{page}");

    // A disabled org.
    app.ok(
        &app.admin,
        "mutation($o: ID!) { updateOrganization(organization: {id: $o, isEnabled: false}) { id } }",
        json!({ "o": s.client_org }),
    )
    .await;
    let client_link = live_link(&s, &s.client_org).await;
    let (status, page, _) = click(app, &format!("{client_link}&ticketId=1001")).await;
    assert_eq!(status, 403, "{page}");
    assert!(page.contains("disabled"), "{page}");

    // Only admins make links; a deleted link answers 404.
    let (_, member) = app
        .user(&app.msp_id, orghub::auth::Role::Member, false)
        .await;
    let refused = app
        .gql(
            &member,
            "mutation($o: ID!, $c: ID!) { createLiveLink(orgId: $o, packConfigId: $c) { id } }",
            json!({ "o": app.msp_id, "c": s.config }),
        )
        .await;
    assert_eq!(code(&refused), "FORBIDDEN");
    let links = app
        .ok(
            &app.admin,
            "query($o: ID!) { liveLinks(orgId: $o) { id url } }",
            json!({ "o": app.msp_id }),
        )
        .await["liveLinks"]
        .clone();
    assert_eq!(links[0]["url"], url.as_str());
    app.ok(
        &app.admin,
        "mutation($id: ID!) { deleteLiveLink(id: $id) }",
        json!({ "id": links[0]["id"] }),
    )
    .await;
    assert_eq!(click(app, &ticket).await.0, 404);
}

#[tokio::test]
async fn live_links_are_rate_limited() {
    let mut config = test_config(crate::helpers::fresh_database_url().await);
    config.trigger_rate_per_min = 3;
    let s = setup_on(spawn_with(config).await, &[1]).await;
    let url = live_link(&s, &s.app.msp_id).await;
    for _ in 0..3 {
        assert_eq!(click(&s.app, &format!("{url}&ticketId=1001")).await.0, 200);
    }
    let res = s
        .app
        .client
        .get(format!("{url}&ticketId=1001"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 429);
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
}

fn payload(
    sim: &Simulator,
    action: &str,
    id: i64,
    message_id: &str,
    key_url: Option<String>,
) -> Vec<u8> {
    serde_json::to_vec(&CallbackPayload {
        message_id: message_id.to_owned(),
        from_url: format!("http://{}", sim.host()),
        company_id: sim.credentials.company_id.clone(),
        member_id: "jdoe".into(),
        action: action.into(),
        kind: "ticket".into(),
        id,
        entity: None,
        metadata: CallbackMetadata {
            key_url: key_url.unwrap_or_else(|| {
                format!(
                    "http://{}/{CODEBASE}apis/3.0/system/callbackkeys/1",
                    sim.host()
                )
            }),
        },
        callback_object_rec_id: 1,
    })
    .unwrap()
}

#[tokio::test]
async fn signed_callbacks_start_runs_and_forged_ones_do_not() {
    let s = setup(&[1, 3]).await;
    let app = &s.app;
    let register = "mutation($c: ID!) { registerConnectWiseCallbacks(packConfigId: $c) { triggerId url callbackId created } }";
    let r = app.ok(&app.admin, register, json!({ "c": s.config })).await
        ["registerConnectWiseCallbacks"]
        .clone();
    assert_eq!(r["created"], true);
    let again = app.ok(&app.admin, register, json!({ "c": s.config })).await
        ["registerConnectWiseCallbacks"]
        .clone();
    assert_eq!(
        (again["created"].clone(), again["callbackId"].clone()),
        (json!(false), r["callbackId"].clone())
    );
    let registered = cw(&s.sim).callbacks().await.unwrap();
    assert_eq!(registered.len(), 1);
    assert_eq!(registered[0]["url"], r["url"]);
    assert_eq!(registered[0]["level"], "owner");

    // ConnectWise says ticket 1001 was added: a run starts and gets ready.
    let sent = s.sim.emit("ticket", "added", 1001).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].1, 200);
    let refs = app
        .ok(
            &app.admin,
            "query { foreignObjectReferences(where: {identifier: \"cw_ticket\", referenceId: \"1001\"}) { workflowExecutionId } }",
            json!({}),
        )
        .await["foreignObjectReferences"]
        .clone();
    let id = refs[0]["workflowExecutionId"].as_str().unwrap().to_owned();
    let e = until(app, &id, "PAUSED", |e| waiting(e).is_some()).await;
    assert_eq!(e["input"]["source"], "callback");

    let post = |body: Vec<u8>, signature: Option<String>| {
        let mut req = app
            .client
            .post(r["url"].as_str().unwrap())
            .header("content-type", "application/json")
            .body(body);
        if let Some(sig) = signature {
            req = req.header("x-content-signature", sig);
        }
        req.send()
    };
    let status = |r: reqwest::Response| r.status().as_u16();

    // Unsigned, tampered, signed with another key, key from another host: 401, nothing runs.
    let body = payload(&s.sim, "added", 1003, "m-1", None);
    assert_eq!(status(post(body.clone(), None).await.unwrap()), 401);
    let good_sig = sign(&body, SIGNING_KEY);
    let tampered = payload(&s.sim, "added", 1005, "m-1", None);
    assert_eq!(
        status(post(tampered, Some(good_sig.clone())).await.unwrap()),
        401
    );
    assert_eq!(
        status(
            post(body.clone(), Some(sign(&body, "not-the-key")))
                .await
                .unwrap()
        ),
        401
    );
    let elsewhere = payload(
        &s.sim,
        "added",
        1003,
        "m-2",
        Some("http://127.0.0.2:9/key".into()),
    );
    let elsewhere_sig = sign(&elsewhere, SIGNING_KEY);
    assert_eq!(
        status(post(elsewhere, Some(elsewhere_sig)).await.unwrap()),
        401
    );
    let none = app
        .ok(
            &app.admin,
            "query { foreignObjectReferences(where: {referenceId: \"1003\"}) { id } }",
            json!({}),
        )
        .await["foreignObjectReferences"]
        .clone();
    assert_eq!(none, json!([]), "no forged callback started a run");

    // Signed: accepted once; the same message again is a replay.
    let res = post(body.clone(), Some(good_sig.clone())).await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let answer: Value = res.json().await.unwrap();
    assert_eq!(answer["status"], "started");
    assert_eq!(status(post(body, Some(good_sig)).await.unwrap()), 401);

    // Ticket 1001 deleted in ConnectWise: its waiting run is canceled.
    let sent = s.sim.emit("ticket", "deleted", 1001).await;
    assert_eq!(sent[0].1, 200);
    let e = run(app, &id).await;
    assert_eq!(e["status"], "CANCELED", "{e}");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("deleted in ConnectWise")
    );
    assert!(
        e["pendingTasks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["status"] != "pending")
    );
}

/// Counts the ticket fetches of each run's first step: a job run twice would fetch twice.
async fn fetches(app: &TestApp) -> Vec<i64> {
    let rows = app
        .state
        .store
        .db
        .query_all_raw(Statement::from_string(
            app.state.store.backend(),
            "SELECT COUNT(*) FROM workflow_task_logs WHERE step = 'start' AND action LIKE 'GET service/tickets/%' GROUP BY execution_id",
        ))
        .await
        .unwrap();
    rows.iter()
        .map(|r| r.try_get_by_index(0).unwrap())
        .collect()
}

#[tokio::test]
async fn two_instances_never_run_a_job_twice_and_a_killed_one_is_taken_over() {
    let companies: Vec<i64> = (1..=16).collect();
    let s = setup(&companies).await;
    let first = &s.app;
    let mut config = first.config.clone();
    config.job_lease_secs = 2;
    let second = spawn_again(config).await;
    let url = live_link(&s, &first.msp_id).await;
    let path = url.split_once("/webhooks").unwrap().1.to_owned();

    // Sixteen tickets, clicked through both instances at once.
    let clicks = companies.iter().map(|c| {
        let app = if c % 2 == 0 { first } else { &second };
        let u = app.url(&format!("/webhooks{path}&ticketId={}", 1000 + c));
        async move { click(app, &u).await }
    });
    let results = futures::future::join_all(clicks).await;
    let ids: Vec<String> = results.into_iter().map(|r| r.2.unwrap()).collect();
    for id in &ids {
        until(first, id, "PAUSED", |e| waiting(e).is_some()).await;
    }
    let counts = fetches(first).await;
    assert_eq!(counts.len(), 16);
    assert!(counts.iter().all(|n| *n == 1), "{counts:?}");
    let jobs = first
        .state
        .store
        .db
        .query_all_raw(Statement::from_string(
            first.state.store.backend(),
            "SELECT status, attempts FROM jobs WHERE kind = 'workflow'",
        ))
        .await
        .unwrap();
    assert_eq!(jobs.len(), 16);
    for j in &jobs {
        let status: String = j.try_get_by_index(0).unwrap();
        let attempts: i32 = j.try_get_by_index(1).unwrap();
        assert_eq!((status.as_str(), attempts), ("succeeded", 1));
    }

    // The first instance's runner dies; a click on it still queues the run, and the
    // second instance runs it (ticket 1017's company is not mapped: the run fails, which
    // only a runner can decide).
    first.kill_runner();
    let (_, _, id) = click(first, &first.url(&format!("/webhooks{path}&ticketId=1017"))).await;
    let e = until(first, &id.unwrap(), "FAILED", |_| true).await;
    assert!(e["message"].as_str().unwrap().contains("not mapped"), "{e}");
}
