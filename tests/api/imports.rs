//! Organization import from CSV through the HTTP upload: parsing cases, every documented
//! error code, kept history and log, idempotence and concurrency; and the GraphQL import API.
use orghub::auth::Role;
use serde_json::{Value, json};

use crate::helpers::{
    TestApp, code, fresh_database_url, names, spawn_app, spawn_with, test_config,
};

const HEADER: &str = "organizationName,managingOrgId,domain,orgSlug,isEnabled,tagNames";

/// POSTs a multipart form with `file` (and `defaultManagingOrgId`, `preview`).
async fn upload(
    app: &TestApp,
    token: &str,
    csv: &[u8],
    managing: Option<&str>,
    preview: bool,
) -> (u16, Value) {
    let boundary = "----orghubtestboundary";
    let mut body = Vec::new();
    let mut field = |name: &str, value: &[u8], file: bool| {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        if file {
            body.extend_from_slice(format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"orgs.csv\"\r\nContent-Type: text/csv\r\n\r\n").as_bytes());
        } else {
            body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            );
        }
        body.extend_from_slice(value);
        body.extend_from_slice(b"\r\n");
    };
    field("file", csv, true);
    if let Some(m) = managing {
        field("defaultManagingOrgId", m.as_bytes(), false);
    }
    if preview {
        field("preview", b"true", false);
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    let res = app
        .client
        .post(app.url("/api/organizations/import"))
        .bearer_auth(token)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap())
}

fn codes(record: &Value) -> Vec<String> {
    record["validationErrors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap().to_owned())
        .collect()
}

async fn org_count(app: &TestApp) -> usize {
    app.ok(
        &app.admin,
        "{ organizations(limit: 100) { id } }",
        json!({}),
    )
    .await["organizations"]
        .as_array()
        .unwrap()
        .len()
}

#[tokio::test]
async fn the_template_and_the_parsing_cases() {
    let app = spawn_app().await;
    let res = app
        .client
        .get(app.url("/api/organizations/import/template.csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
    let template = res.text().await.unwrap();
    assert!(template.starts_with(HEADER));
    let tag = |name: &str| json!({ "t": { "orgId": app.msp_id, "name": name } });
    for n in ["Managed", "VIP"] {
        app.ok(
            &app.admin,
            "mutation($t: TagCreateInput!) { createTag(tag: $t) { id } }",
            tag(n),
        )
        .await;
    }
    let (status, body) = upload(&app, &app.admin, template.as_bytes(), None, true).await;
    assert_eq!(status, 200);
    assert_eq!(
        body["records"][0]["category"], "NEW",
        "the template's example is valid: {body}"
    );
    assert_eq!(body["importId"], Value::Null, "a preview keeps nothing");

    // BOM, CRLF, headers in another order and case, quoted commas/quotes/newlines, blank
    // lines, a tag list in one cell, every spelling of isEnabled.
    let file = "\u{FEFF}TAGNAMES,isenabled,OrganizationName,Domain\r\n\
                \"Managed,VIP\",yes,\"Contoso, Ltd\",contoso.com\r\n\
                \r\n\
                ,0,\"Say \"\"Hi\"\" Inc\",\r\n\
                ,FALSE,\"Multi\r\nLine Co\",\r\n\
                ,,Plain Org,\r\n";
    let (status, body) = upload(&app, &app.admin, file.as_bytes(), Some(&app.msp_id), false).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["summary"]["successfulCreations"], 3, "{body}");
    // The quoted newline is read as part of the name, and a name may not hold one.
    assert_eq!(
        body["records"][2]["validationErrors"][0]["code"],
        "INVALID_FORMAT"
    );
    let rows: Vec<(i64, String)> = body["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["rowNumber"].as_i64().unwrap(),
                r["organizationName"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (1, "Contoso, Ltd".into()),
            (2, "Say \"Hi\" Inc".into()),
            (3, "Multi\r\nLine Co".into()),
            (4, "Plain Org".into())
        ]
    );
    let orgs = app.ok(&app.admin, "{ organizations(search: {name: {_neq: \"Acme MSP\"}}) { name isEnabled domain tags { name } } }", json!({})).await;
    let contoso = orgs["organizations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == "Contoso, Ltd")
        .unwrap()
        .clone();
    assert_eq!(
        contoso,
        json!({ "name": "Contoso, Ltd", "isEnabled": true, "domain": "contoso.com", "tags": [{ "name": "Managed" }, { "name": "VIP" }] })
    );
    let disabled: Vec<&str> = orgs["organizations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["isEnabled"] == false)
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(disabled, ["Say \"Hi\" Inc"], "0 means disabled");
}

#[tokio::test]
async fn file_level_problems_import_nothing() {
    let mut config = test_config(fresh_database_url().await);
    config.import_max_rows = 3;
    let app = spawn_with(config).await;
    let before = org_count(&app).await;
    for (file, needle) in [
        (b"name,domain\nA,a.com\n".to_vec(), "unknown column"),
        (b"domain\na.com\n".to_vec(), "no organizationName column"),
        (
            b"organizationName,domain\nA,a.com\n\xff\xfe,b.com\n".to_vec(),
            "UTF-8",
        ),
        (
            b"organizationName\nA\nB\nC\nD\n".to_vec(),
            "more than 3 rows",
        ),
    ] {
        let (status, body) = upload(&app, &app.admin, &file, Some(&app.msp_id), false).await;
        assert_eq!(status, 400, "{body}");
        assert!(
            body["error"]["message"].as_str().unwrap().contains(needle),
            "{needle}: {body}"
        );
    }
    let (status, _) = upload(
        &app,
        &app.admin,
        b"domain,organizationName\n",
        Some(&app.msp_id),
        false,
    )
    .await;
    assert_eq!(status, 201, "a header alone is an empty import");
    assert_eq!(org_count(&app).await, before);
}

#[tokio::test]
async fn every_documented_code() {
    let app = spawn_app().await;
    let (other_msp, _) = app.other_msp("Globex").await;
    let sibling = app.create_org(&app.admin, "Sibling", &app.msp_id).await;
    app.ok(
        &app.admin,
        "mutation($o: OrganizationInput) { createOrganization(organization: $o) { id } }",
        json!({ "o": { "name": "Existing Co", "domain": "taken.com" } }),
    )
    .await;
    app.ok(
        &app.admin,
        "mutation($t: TagCreateInput!) { createTag(tag: $t) { id } }",
        json!({ "t": { "orgId": app.msp_id, "name": "Managed" } }),
    )
    .await;
    app.ok(
        &app.admin,
        "mutation($t: TagCreateInput!) { createTag(tag: $t) { id } }",
        json!({ "t": { "orgId": sibling, "name": "Sibling Tag" } }),
    )
    .await;
    app.ok(
        &app.admin,
        "mutation { createGlobalTag(name: \"Global\") { id } }",
        json!({}),
    )
    .await;
    let (_, member) = app.user(&app.msp_id, Role::Member, false).await;
    let long = "x".repeat(256);
    let missing = uuid::Uuid::now_v7();
    let file = format!(
        "{HEADER}\n\
         Good One,,good1.com,,,\"Managed,Global\"\n\
         \x20  ,,,,yes,\n\
         {long},,,,,\n\
         Long Domain,,{long}.com,,,\n\
         Long Slug,,,{long},,\n\
         Bad Parent,abc,,,,\n\
         Bad Bool,,,,maybe,\n\
         No Parent,{missing},,,,\n\
         Not Yours,{other_msp},,,,\n\
         good one,,,,,\n\
         existing co,,,,,\n\
         OrgHub Fans,,,,,\n\
         Bad Slug Co,,,Bad Slug,,\n\
         Bad Tags,,,,,\"Nope,Sibling Tag\"\n\
         Dup Domain,,GOOD1.com,,,\n\
         Taken Domain,,taken.com,,,\n\
         Many Problems,abc,not a domain,Bad!,maybe,\n\
         Good Two,{sibling},good2.com,good-two,no,Global\n"
    );
    let (status, body) = upload(&app, &member, file.as_bytes(), Some(&app.msp_id), false).await;
    assert_eq!(status, 201, "{body}");
    let r = body["records"].as_array().unwrap();
    let expect = [
        (1, vec![]),
        (2, vec!["REQUIRED_FIELD"]),
        (3, vec!["MAX_LENGTH_EXCEEDED"]),
        (4, vec!["MAX_LENGTH_EXCEEDED"]),
        (5, vec!["MAX_LENGTH_EXCEEDED"]),
        (6, vec!["INVALID_FORMAT"]),
        (7, vec!["INVALID_FORMAT"]),
        (8, vec!["NOT_FOUND"]),
        (9, vec!["UNAUTHORIZED"]),
        (10, vec!["DUPLICATE_IN_FILE"]),
        (11, vec!["DUPLICATE_IN_DATABASE"]),
        (12, vec!["RESERVED_NAME"]),
        (13, vec!["INVALID_SLUG"]),
        (14, vec!["INVALID_TAGS"]),
        (15, vec!["DUPLICATE_DOMAIN_IN_FILE"]),
        (16, vec!["DUPLICATE_DOMAIN_IN_DATABASE"]),
        (
            17,
            vec![
                "INVALID_FORMAT",
                "INVALID_FORMAT",
                "INVALID_SLUG",
                "INVALID_FORMAT",
            ],
        ),
        (18, vec![]),
    ];
    for (row, want) in expect {
        let rec = &r[row - 1];
        let mut got = codes(rec);
        let mut want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
        got.sort();
        want.sort();
        assert_eq!(got, want, "row {row}: {rec}");
    }
    assert!(
        r[9]["validationErrors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("row 1"),
        "names the earlier row: {}",
        r[9]
    );
    assert!(
        r[14]["validationErrors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("row 1")
    );
    assert_eq!(
        (r[10]["category"].as_str(), r[10]["status"].as_str()),
        (Some("EXISTING"), Some("SKIPPED"))
    );
    assert_eq!(
        (r[0]["category"].as_str(), r[0]["status"].as_str()),
        (Some("NEW"), Some("CREATED"))
    );
    assert_eq!(
        (r[2]["category"].as_str(), r[2]["status"].as_str()),
        (Some("INVALID"), Some("FAILED"))
    );
    assert_eq!(
        body["summary"],
        json!({ "totalRecords": 18, "newOrganizations": 2, "existingOrganizations": 1, "invalidRecords": 15, "successfulCreations": 2, "skippedCreations": 1, "failedCreations": 15 })
    );
    let good2 = app.ok(&app.admin, "{ organization(where: {name: \"Good Two\"}) { managingOrg { name } orgSlug isEnabled tags { name } } }", json!({})).await;
    assert_eq!(
        good2["organization"],
        json!({ "managingOrg": { "name": "Sibling" }, "orgSlug": "good-two", "isEnabled": false, "tags": [{ "name": "Global" }] })
    );

    // The log: the template's columns and the outcome, downloadable any time.
    let id = body["importId"].as_str().unwrap();
    let res = app
        .client
        .get(app.url(&format!("/api/organization-imports/{id}/log.csv")))
        .bearer_auth(&member)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let log = res.text().await.unwrap();
    let mut lines = csv::Reader::from_reader(log.as_bytes());
    let header: Vec<String> = lines.headers().unwrap().iter().map(str::to_owned).collect();
    assert_eq!(
        header,
        [
            "organizationName",
            "managingOrgId",
            "domain",
            "orgSlug",
            "isEnabled",
            "tagNames",
            "rowNumber",
            "outcome",
            "errorCodes",
            "errorMessages"
        ]
    );
    let rows: Vec<csv::StringRecord> = lines.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 18);
    assert_eq!(&rows[0][7], "created");
    assert_eq!(&rows[10][7], "skipped (exists)");
    assert_eq!(&rows[11][8], "RESERVED_NAME");
    assert_eq!(
        &rows[13][5], "Nope,Sibling Tag",
        "the row as it was, ready to fix"
    );
}

#[tokio::test]
async fn imports_are_idempotent_and_safe_under_concurrency() {
    let app = spawn_app().await;
    let file = format!("{HEADER}\nAlpha,,,,,\nBeta,,,,,\nGamma,,,,,\n");
    let (_, first) = upload(&app, &app.admin, file.as_bytes(), Some(&app.msp_id), false).await;
    assert_eq!(first["summary"]["successfulCreations"], 3);
    let (_, second) = upload(&app, &app.admin, file.as_bytes(), Some(&app.msp_id), false).await;
    assert_eq!(second["summary"]["existingOrganizations"], 3, "{second}");
    assert_eq!(second["summary"]["successfulCreations"], 0);

    // Two overlapping files at once: each org once.
    let a = format!("{HEADER}\nShared One,,,,,\nShared Two,,,,,\nOnly A,,,,,\n");
    let b = format!("{HEADER}\nshared two,,,,,\nSHARED ONE,,,,,\nOnly B,,,,,\n");
    let (ra, rb) = tokio::join!(
        upload(&app, &app.admin, a.as_bytes(), Some(&app.msp_id), false),
        upload(&app, &app.admin, b.as_bytes(), Some(&app.msp_id), false)
    );
    let created = ra.1["summary"]["successfulCreations"].as_i64().unwrap()
        + rb.1["summary"]["successfulCreations"].as_i64().unwrap();
    assert_eq!(created, 4, "{} {}", ra.1, rb.1);
    let data = app
        .ok(
            &app.admin,
            "{ organizations(search: {name: {_ilike: \"shared%\"}}) { name } }",
            json!({}),
        )
        .await;
    assert_eq!(names(&data["organizations"]).len(), 2);
}

#[tokio::test]
async fn the_graphql_import_api_and_its_history() {
    let app = spawn_app().await;
    let input = json!({ "defaultManagingOrgId": app.msp_id, "importType": "CSV", "records": [
        { "organizationName": "Acme Client", "domain": "client.example", "isEnabled": true },
        { "organizationName": "" }
    ] });
    let preview = app
        .ok(&app.admin, "mutation($i: OrganizationImportInput!) { previewOrganizationImport(input: $i) { summary { newOrganizations invalidRecords } records { rowNumber category validationErrors { code field } } } }", json!({ "i": input }))
        .await;
    assert_eq!(
        preview["previewOrganizationImport"]["summary"],
        json!({ "newOrganizations": 1, "invalidRecords": 1 })
    );
    assert_eq!(
        preview["previewOrganizationImport"]["records"][1]["validationErrors"],
        json!([{ "code": "REQUIRED_FIELD", "field": "name" }])
    );
    let done = app
        .ok(&app.admin, "mutation($i: OrganizationImportInput!) { processOrganizationImport(input: $i) { import { id status totalRecords successfulCount failedCount createdBy { username } } summary { successfulCreations } } }", json!({ "i": input }))
        .await;
    let import = &done["processOrganizationImport"]["import"];
    assert_eq!(
        (
            import["status"].as_str(),
            import["successfulCount"].as_i64(),
            import["failedCount"].as_i64()
        ),
        (Some("COMPLETED"), Some(1), Some(1))
    );
    assert_eq!(import["createdBy"]["username"], "admin@acme.test");
    let id = import["id"].as_str().unwrap();
    let history = app
        .ok(&app.admin, "query($o: ID!, $id: ID!) { organizationImports(orgId: $o) { id } organizationImport(id: $id) { records(status: FAILED) { rowNumber errorMessage } } }", json!({ "o": app.msp_id, "id": id }))
        .await;
    assert_eq!(history["organizationImports"], json!([{ "id": id }]));
    assert_eq!(history["organizationImport"]["records"][0]["rowNumber"], 2);

    let (_, other) = app.other_msp("Globex").await;
    assert_eq!(
        code(
            &app.gql(
                &other,
                "query($id: ID!) { organizationImport(id: $id) { id } }",
                json!({ "id": id })
            )
            .await
        ),
        "FORBIDDEN"
    );
    let res = app
        .client
        .get(app.url(&format!("/api/organization-imports/{id}/log.csv")))
        .bearer_auth(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let (status, _) = upload(
        &app,
        &other,
        format!("{HEADER}\nSneaky,,,,,\n").as_bytes(),
        Some(&app.msp_id),
        false,
    )
    .await;
    assert_eq!(status, 403);
    let (_, reader) = app.user(&app.msp_id, Role::ReadOnly, false).await;
    let (status, _) = upload(
        &app,
        &reader,
        format!("{HEADER}\nNope,,,,,\n").as_bytes(),
        Some(&app.msp_id),
        true,
    )
    .await;
    assert_eq!(status, 403, "read_only cannot import, not even a preview");
}

#[tokio::test]
async fn graphql_multipart_upload() {
    let app = spawn_app().await;
    let boundary = "----orghubgql";
    let operations = json!({
        "query": "mutation($f: Upload!, $o: ID!) { uploadOrganizationImportCsv(file: $f, defaultManagingOrgId: $o) { import { id totalRecords } summary { successfulCreations } } }",
        "variables": { "f": null, "o": app.msp_id }
    });
    let csv = format!("{HEADER}\nUploaded Org,,,,,\n");
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"operations\"\r\n\r\n{operations}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"map\"\r\n\r\n{{\"0\": [\"variables.f\"]}}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"0\"; filename=\"orgs.csv\"\r\nContent-Type: text/csv\r\n\r\n{csv}\r\n\
         --{boundary}--\r\n"
    );
    let res = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(&app.admin)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    let data: Value = res.json().await.unwrap();
    assert_eq!(
        data["data"]["uploadOrganizationImportCsv"]["summary"]["successfulCreations"], 1,
        "{data}"
    );
    assert_eq!(
        data["data"]["uploadOrganizationImportCsv"]["import"]["totalRecords"],
        1
    );
}
