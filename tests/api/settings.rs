//! The organization settings form (well-known variables, their sources, ConnectWise's live
//! choices, validated saves) and `connectWiseRequest`, against the simulator.
use orghub::auth::Role;
use serde_json::{Value, json};

use crate::helpers::{code, rule};
use crate::toolbox::setup;

const FORM: &str = "query($o: ID!) { orgSettingsForm(orgId: $o) { orgId packConfigId sections { name fields {
    name value source sourceOrgId options { value label } optionsError definition { type label default psaList choices { value } } } } } }";
const SAVE: &str = "mutation($o: ID!, $v: JSON!, $c: Boolean) { saveOrgSettings(orgId: $o, values: $v, cascade: $c) { name value orgId cascade } }";
const REQUEST: &str = "mutation($c: ID!, $m: String!, $p: String!, $q: JSON, $b: JSON) { connectWiseRequest(packConfigId: $c, method: $m, path: $p, query: $q, body: $b) }";

fn field<'a>(form: &'a Value, name: &str) -> &'a Value {
    form["orgSettingsForm"]["sections"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["fields"].as_array().unwrap())
        .find(|f| f["name"] == name)
        .unwrap_or_else(|| panic!("no field {name}"))
}

fn labels(f: &Value) -> Vec<String> {
    f["options"]
        .as_array()
        .unwrap_or_else(|| panic!("no options: {f}"))
        .iter()
        .map(|o| o["label"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_form_shows_sources_and_live_choices_and_saves_after_checking() {
    let s = setup(&[]).await;
    let app = &s.app;
    let defs = app
        .ok(
            &app.admin,
            "{ orgVariableDefinitions { name type section } }",
            json!({}),
        )
        .await["orgVariableDefinitions"]
        .clone();
    let names: Vec<&str> = defs
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    for n in [
        "default_psa",
        "psa_default_board_id",
        "psa_vip_contact_type",
        "user_start_date_behaviour",
        "preferred_phone_number_format",
    ] {
        assert!(names.contains(&n), "{n}");
    }

    // The MSP sets values that cascade; a child sees them as inherited.
    let saved = app
        .ok(
            &app.admin,
            SAVE,
            json!({ "o": app.msp_id, "v": { "default_rmm": "ninjaone", "psa_default_board_id": 1 }, "c": true }),
        )
        .await;
    assert_eq!(saved["saveOrgSettings"].as_array().unwrap().len(), 2);
    let child = app.create_org(&app.admin, "Child Co", &app.msp_id).await;
    let form = app.ok(&app.admin, FORM, json!({ "o": child })).await;
    assert_eq!(form["orgSettingsForm"]["packConfigId"], s.config.as_str());
    let sections: Vec<&str> = form["orgSettingsForm"]["sections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["name"].as_str().unwrap())
        .collect();
    assert_eq!(sections, ["General", "PSA", "M365", "Licensing", "Other"]);
    let rmm = field(&form, "default_rmm");
    assert_eq!(
        (rmm["value"].as_str(), rmm["source"].as_str()),
        (Some("ninjaone"), Some("inherited"))
    );
    assert_eq!(rmm["sourceOrgId"], app.msp_id.as_str());
    let psa = field(&form, "default_psa");
    assert_eq!(
        (psa["value"].as_str(), psa["source"].as_str()),
        (Some("cw_manage"), Some("default"))
    );
    assert_eq!(
        field(&form, "preferred_domain_controller")["source"],
        "unset"
    );

    // Live choices from ConnectWise: boards, the chosen board's statuses, and the rest.
    assert_eq!(
        labels(field(&form, "psa_default_board_id")),
        ["Service", "Projects"]
    );
    assert_eq!(
        labels(field(&form, "psa_default_ticket_status")),
        ["New", "In Progress", "Waiting Customer", "Completed"]
    );
    assert_eq!(
        labels(field(&form, "psa_default_ticket_priority")),
        ["Critical", "High", "Medium", "Low"]
    );
    assert_eq!(
        labels(field(&form, "psa_default_tech_id")),
        ["Jane Doe (jdoe)", "Bob Smith (bsmith)"]
    );
    assert_eq!(
        labels(field(&form, "psa_vip_contact_type")),
        ["Employee", "VIP", "Vendor Contact"]
    );
    assert_eq!(
        labels(field(&form, "psa_active_customer_statuses")),
        ["Active", "Inactive", "Not Approved"]
    );
    assert_eq!(
        field(&form, "psa_default_board_id")["definition"]["psaList"],
        "boards"
    );

    // Refusals, all or nothing.
    let bad = app
        .gql(&app.admin, SAVE, json!({ "o": child, "v": { "psa_default_board_id": "99", "default_rmm": "datto_rmm" } }))
        .await;
    assert_eq!(rule(&bad), ("values.psa_default_board_id", "NOT_FOUND"));
    let bad = app
        .gql(&app.admin, SAVE, json!({ "o": child, "v": { "psa_default_board_id": "2", "psa_default_ticket_status": "11" } }))
        .await;
    assert_eq!(
        rule(&bad),
        ("values.psa_default_ticket_status", "NOT_FOUND"),
        "a status of the other board"
    );
    let bad = app
        .gql(&app.admin, SAVE, json!({ "o": child, "v": { "favourite_colour": "blue", "psa_no_ticket_time": "maybe", "new_user_approval_email": "nobody" } }))
        .await;
    let errs: Vec<(String, String)> = bad["errors"][0]["extensions"]["validationErrors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap().to_owned(),
                e["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        errs,
        [
            (
                "values.favourite_colour".to_owned(),
                "UNKNOWN_FIELD".to_owned()
            ),
            (
                "values.new_user_approval_email".to_owned(),
                "INVALID_FORMAT".to_owned()
            ),
            (
                "values.psa_no_ticket_time".to_owned(),
                "INVALID_FORMAT".to_owned()
            ),
        ]
    );
    let form = app.ok(&app.admin, FORM, json!({ "o": child })).await;
    assert_eq!(
        field(&form, "default_rmm")["source"],
        "inherited",
        "nothing was written"
    );

    // A valid save: own values, in the history.
    let saved = app
        .ok(
            &app.admin,
            SAVE,
            json!({ "o": child, "v": { "psa_default_board_id": "2", "psa_default_ticket_status": 21,
                "psa_no_ticket_time": true, "new_user_approval_email": "it@child.test",
                "psa_active_customer_statuses": [1, 3] } }),
        )
        .await["saveOrgSettings"]
        .clone();
    assert_eq!(saved.as_array().unwrap().len(), 5);
    let form = app.ok(&app.admin, FORM, json!({ "o": child })).await;
    let board = field(&form, "psa_default_board_id");
    assert_eq!(
        (board["value"].as_str(), board["source"].as_str()),
        (Some("2"), Some("own"))
    );
    assert_eq!(
        labels(field(&form, "psa_default_ticket_status")),
        ["Scheduled", "Working", "On Hold", "Done"]
    );
    assert_eq!(field(&form, "psa_active_customer_statuses")["value"], "1,3");
    let history = app
        .ok(
            &app.admin,
            "query($o: ID!) { orgVariableHistory(orgId: $o, name: \"psa_default_board_id\") { action newValue } }",
            json!({ "o": child }),
        )
        .await["orgVariableHistory"]
        .clone();
    assert_eq!(history[0]["newValue"], "2", "{history}");

    // null removes the own value: the inherited one shows again.
    app.ok(
        &app.admin,
        SAVE,
        json!({ "o": child, "v": { "psa_default_board_id": null } }),
    )
    .await;
    let form = app.ok(&app.admin, FORM, json!({ "o": child })).await;
    assert_eq!(field(&form, "psa_default_board_id")["source"], "inherited");

    // Read-only users see the form, and cannot save.
    let (_, reader) = app.user(&child, Role::ReadOnly, false).await;
    app.ok(&reader, FORM, json!({ "o": child })).await;
    assert_eq!(
        code(
            &app.gql(
                &reader,
                SAVE,
                json!({ "o": child, "v": { "default_rmm": "none" } })
            )
            .await
        ),
        "FORBIDDEN"
    );
}

#[tokio::test]
async fn connectwise_requests_go_through_the_stored_credentials_and_stay_inside_the_api() {
    let s = setup(&[]).await;
    let app = &s.app;
    let ok = |m: &str, p: &str, q: Value, b: Value| {
        let vars = json!({ "c": s.config, "m": m, "p": p, "q": q, "b": b });
        async move { app.ok(&app.admin, REQUEST, vars).await["connectWiseRequest"].clone() }
    };
    let r = ok(
        "GET",
        "company/companies",
        json!({ "conditions": "status/name = \"Inactive\"", "pageSize": 2 }),
        Value::Null,
    )
    .await;
    assert_eq!(r["status"], 200);
    let ids: Vec<i64> = r["body"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [10, 20]);
    assert!(
        r["headers"]["link"]
            .as_str()
            .unwrap()
            .contains("rel=\"next\""),
        "{r}"
    );

    // ConnectWise's own errors come back as it sent them.
    let r = ok("GET", "/company/companies/99999", Value::Null, Value::Null).await;
    assert_eq!(r["status"], 404);
    assert_eq!(r["body"]["code"], "NotFound");
    let r = ok(
        "POST",
        "service/tickets/1001/notes",
        Value::Null,
        json!({ "text": "via orghub", "internalAnalysisFlag": true }),
    )
    .await;
    assert_eq!(r["status"], 201);

    for (path, why) in [
        ("../login/companyinfo/acme", "INVALID_FORMAT"),
        ("https://evil.example/x", "INVALID_FORMAT"),
        ("company/companies?x=1", "INVALID_FORMAT"),
        ("", "REQUIRED_FIELD"),
    ] {
        let bad = app
            .gql(
                &app.admin,
                REQUEST,
                json!({ "c": s.config, "m": "GET", "p": path }),
            )
            .await;
        assert_eq!(rule(&bad), ("path", why), "{path}");
    }
    let bad = app
        .gql(
            &app.admin,
            REQUEST,
            json!({ "c": s.config, "m": "TRACE", "p": "system/info" }),
        )
        .await;
    assert_eq!(rule(&bad), ("method", "INVALID_FORMAT"));
    let (_, reader) = app.user(&app.msp_id, Role::ReadOnly, false).await;
    let refused = app
        .gql(
            &reader,
            REQUEST,
            json!({ "c": s.config, "m": "GET", "p": "system/info" }),
        )
        .await;
    assert_eq!(code(&refused), "FORBIDDEN");
    let (_, other) = app.other_msp("Elsewhere").await;
    let foreign = app
        .gql(
            &other,
            REQUEST,
            json!({ "c": s.config, "m": "GET", "p": "system/info" }),
        )
        .await;
    assert_eq!(code(&foreign), "FORBIDDEN");
}
