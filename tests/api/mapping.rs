//! Organization mapping, once per PSA (ConnectWise, Autotask, HaloPSA against their
//! simulators): refresh, suggest, save, list.
use serde_json::{Value, json};

use crate::for_each_psa;
use crate::helpers::{code, rule, spawn_app};
use crate::psas::{AnyPsa, Kind};

for_each_psa!(
    refresh_suggest_save_and_list,
    refresh_failures_are_clear,
    a_company_not_refreshed_is_asked_of_the_psa,
);

fn by_org<'a>(suggestions: &'a Value, name: &str) -> &'a Value {
    suggestions
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["orgName"] == name)
        .unwrap_or_else(|| panic!("{name} in {suggestions}"))
}

async fn refresh_suggest_save_and_list(kind: Kind) {
    let app = spawn_app().await;
    // Simulated companies include "Contoso", "Fabrikam Inc", "Northwind LLC", "Tailspin Ltd",
    // and the inactive "Blue Yonder Ltd" (not offered).
    let psa = AnyPsa::start(kind, 30).await;
    let config = psa.create_config(&app, "Main").await;
    let mut ids = std::collections::HashMap::new();
    for (name, domain) in [
        ("Contoso", None),
        ("Fabrikam", None),
        ("Northwind Holdings", Some("northwindllc.example")),
        ("Tailspn Ltd", None),
        ("Blue Yonder", None),
        ("Unrelated Corp", None),
    ] {
        let data = app
            .ok(
                &app.admin,
                "mutation($o: OrganizationInput) { createOrganization(organization: $o) { id } }",
                json!({ "o": { "name": name, "domain": domain } }),
            )
            .await;
        ids.insert(
            name,
            data["createOrganization"]["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }

    let page = "query($c: ID!, $l: Int, $o: Int) { orgMappings(packConfigId: $c, limit: $l, offset: $o) { totalCount refreshedAt mappings { organization { name } companyId companyName } } }";
    let data = app.ok(&app.admin, page, json!({ "c": config })).await;
    assert_eq!(data["orgMappings"]["refreshedAt"], Value::Null);
    assert_eq!(
        data["orgMappings"]["totalCount"], 7,
        "the MSP and its six customers"
    );

    let refresh = app
        .ok(
            &app.admin,
            "mutation($c: ID!) { refetchPackConfigRefOptions(packConfigId: $c) { executionId } }",
            json!({ "c": config }),
        )
        .await;
    assert!(refresh["refetchPackConfigRefOptions"]["executionId"].is_string());

    let data = app
        .ok(
            &app.admin,
            "mutation($c: ID!) { suggestOrgVarMatches(packConfigId: $c) }",
            json!({ "c": config }),
        )
        .await;
    let s = &data["suggestOrgVarMatches"];
    let fact = |name: &str| {
        let x = by_org(s, name);
        (
            x["reason"].as_str().unwrap().to_owned(),
            x["companyName"].as_str().map(str::to_owned),
            x["needsReview"].as_bool().unwrap(),
        )
    };
    assert_eq!(
        fact("Contoso"),
        ("name".into(), Some("Contoso".into()), false)
    );
    assert_eq!(
        fact("Fabrikam"),
        ("name".into(), Some("Fabrikam Inc".into()), false)
    );
    assert_eq!(
        fact("Northwind Holdings"),
        ("domain".into(), Some("Northwind LLC".into()), false)
    );
    assert_eq!(
        fact("Tailspn Ltd"),
        ("fuzzy".into(), Some("Tailspin Ltd".into()), true)
    );
    assert_eq!(
        fact("Blue Yonder").0,
        "no_match",
        "inactive companies are not offered"
    );
    assert_eq!(fact("Unrelated Corp").0, "no_match");

    // Save the automatic ones.
    let automatic: Vec<Value> = s
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["companyId"].is_string() && x["needsReview"] == false)
        .map(|x| json!({ "orgId": x["orgId"], "companyId": x["companyId"] }))
        .collect();
    let save = "mutation($c: ID!, $m: [OrgMappingInput!]!) { saveOrgMappings(packConfigId: $c, mappings: $m) }";
    assert_eq!(
        app.ok(&app.admin, save, json!({ "c": config, "m": automatic }))
            .await["saveOrgMappings"],
        3
    );
    let data = app
        .ok(&app.admin, page, json!({ "c": config, "l": 3, "o": 1 }))
        .await;
    let rows = data["orgMappings"]["mappings"].as_array().unwrap();
    assert_eq!(rows[0]["organization"]["name"], "Blue Yonder");
    assert_eq!(rows[0]["companyId"], Value::Null);
    assert_eq!(
        (
            rows[1]["organization"]["name"].as_str(),
            rows[1]["companyName"].as_str()
        ),
        (Some("Contoso"), Some("Contoso"))
    );
    let var = app
        .ok(&app.admin, "query($o: ID, $n: String) { orgVariables(where: {orgId: $o, name: $n}) { value category packConfig { name } } }", json!({ "o": ids["Contoso"], "n": psa.mapping_variable() }))
        .await;
    assert_eq!(var["orgVariables"][0]["category"], "system", "{var}");
    assert_eq!(var["orgVariables"][0]["packConfig"]["name"], "Main");

    // Saved ones come back as existing; clearing removes the mapping.
    let data = app
        .ok(
            &app.admin,
            "mutation($c: ID!) { suggestOrgVarMatches(packConfigId: $c) }",
            json!({ "c": config }),
        )
        .await;
    assert_eq!(
        by_org(&data["suggestOrgVarMatches"], "Contoso")["reason"],
        "existing"
    );
    app.ok(
        &app.admin,
        save,
        json!({ "c": config, "m": [{ "orgId": ids["Contoso"], "companyId": "" }] }),
    )
    .await;
    let var = app
        .ok(
            &app.admin,
            "query($o: ID) { orgVariables(where: {orgId: $o}) { name } }",
            json!({ "o": ids["Contoso"] }),
        )
        .await;
    assert_eq!(var["orgVariables"], json!([]));
    let history = app
        .ok(
            &app.admin,
            "query($o: ID!) { orgVariableHistory(orgId: $o) { action newValue } }",
            json!({ "o": ids["Contoso"] }),
        )
        .await;
    assert_eq!(history["orgVariableHistory"][0]["action"], "delete");

    // Only refreshed companies, only orgs the config serves.
    let body = app
        .gql(
            &app.admin,
            save,
            json!({ "c": config, "m": [{ "orgId": ids["Contoso"], "companyId": "999999" }] }),
        )
        .await;
    assert_eq!(rule(&body), ("mappings.0.companyId", "NOT_FOUND"));
    let (other_msp, other) = app.other_msp("Globex").await;
    let body = app
        .gql(
            &app.admin,
            save,
            json!({ "c": config, "m": [{ "orgId": other_msp, "companyId": "1" }] }),
        )
        .await;
    assert_eq!(code(&body), "FORBIDDEN");
    for (query, vars) in [
        (
            "mutation($c: ID!) { refetchPackConfigRefOptions(packConfigId: $c) { executionId } }",
            json!({ "c": config }),
        ),
        (
            "mutation($c: ID!) { suggestOrgVarMatches(packConfigId: $c) }",
            json!({ "c": config }),
        ),
        (save, json!({ "c": config, "m": [] })),
        (page, json!({ "c": config })),
    ] {
        assert_eq!(
            code(&app.gql(&other, query, vars).await),
            "FORBIDDEN",
            "{query}"
        );
    }
}

async fn refresh_failures_are_clear(kind: Kind) {
    let app = spawn_app().await;
    let psa = AnyPsa::start(kind, 3).await;
    let config = psa.create_config(&app, "Main").await;
    let mut wrong = serde_json::Map::new();
    wrong.insert(psa.secret_field().to_owned(), json!("wrong"));
    app.ok(
        &app.admin,
        "mutation($id: ID!, $c: JSON) { updatePackConfig(packConfig: {id: $id, config: $c}) { id } }",
        json!({ "id": config, "c": wrong }),
    )
    .await;
    let body = app
        .gql(
            &app.admin,
            "mutation($c: ID!) { refetchPackConfigRefOptions(packConfigId: $c) { executionId } }",
            json!({ "c": config }),
        )
        .await;
    assert_eq!(code(&body), "CONFLICT");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("refused the credentials"),
        "{body}"
    );
    let data = app.ok(&app.admin, "mutation($o: ID!, $p: ID!) { createPackConfig(packConfig: {orgId: $o, packId: $p, name: \"Empty\"}) { id } }", json!({ "o": app.msp_id, "p": psa.pack_id() })).await;
    let empty = data["createPackConfig"]["id"].as_str().unwrap();
    let body = app
        .gql(
            &app.admin,
            "mutation($c: ID!) { suggestOrgVarMatches(packConfigId: $c) }",
            json!({ "c": empty }),
        )
        .await;
    assert_eq!(rule(&body), ("packConfigId", "INCOMPLETE_CONFIG"));
}

async fn a_company_not_refreshed_is_asked_of_the_psa(kind: Kind) {
    let app = spawn_app().await;
    let psa = AnyPsa::start(kind, 12).await;
    let config = psa.create_config(&app, "Main").await;
    let org = app.create_org(&app.admin, "Litware", &app.msp_id).await;
    let save = "mutation($c: ID!, $m: [OrgMappingInput!]!) { saveOrgMappings(packConfigId: $c, mappings: $m) }";
    // Never refreshed: the PSA is asked about each company named.
    let saved = app
        .ok(
            &app.admin,
            save,
            json!({ "c": config, "m": [{ "orgId": org, "companyId": "5" }] }),
        )
        .await;
    assert_eq!(saved["saveOrgMappings"], 1);
    let var = app
        .ok(
            &app.admin,
            "query($o: ID, $n: String) { orgVariables(where: {orgId: $o, name: $n}) { value } }",
            json!({ "o": org, "n": psa.mapping_variable() }),
        )
        .await;
    assert_eq!(var["orgVariables"][0]["value"], "5");
    for missing in ["999999", "not-a-number"] {
        let body = app
            .gql(
                &app.admin,
                save,
                json!({ "c": config, "m": [{ "orgId": org, "companyId": missing }] }),
            )
            .await;
        assert_eq!(rule(&body), ("mappings.0.companyId", "NOT_FOUND"), "{body}");
    }
}
