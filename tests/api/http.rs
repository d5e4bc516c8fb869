//! The HTTP surface around GraphQL: health, readiness, GraphiQL, request ids, limits.
use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn health_readiness_and_graphiql() {
    let app = spawn_app().await;
    let res = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let res = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let res = app.client.get(app.url("/graphql")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("graphiql"));
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = spawn_app().await;
    let res = app.client.get(app.url("/healthz")).send().await.unwrap();
    let generated = res
        .headers()
        .get("x-request-id")
        .expect("a generated id")
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(generated.len(), 36);
    let res = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "trace-me-42")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers().get("x-request-id").unwrap(), "trace-me-42");
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let app = spawn_app().await;
    let big = "x".repeat(app.config.max_body_bytes + 1);
    let res = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(&app.admin)
        .json(&json!({ "query": "{ me { id } }", "variables": { "pad": big } }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
}

#[tokio::test]
async fn malformed_requests_get_a_client_error_not_a_crash() {
    let app = spawn_app().await;
    let res = app
        .client
        .post(app.url("/graphql"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert!(res.status().is_client_error(), "{}", res.status());
    let body = app
        .gql(
            &app.admin,
            "{ organizations(limit: \"ten\") { id } }",
            json!({}),
        )
        .await;
    assert!(body["errors"].is_array());
    let body = app.gql(&app.admin, "{ nope }", json!({})).await;
    assert!(body["errors"].is_array());
}

#[tokio::test]
async fn query_limits_hold_and_errors_say_little() {
    let app = spawn_app().await;
    let aliases: String = (0..16).map(|i| format!("a{i}: __typename ")).collect();
    let body = app
        .gql(&app.admin, &format!("{{ {aliases} }}"), json!({}))
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["validationCode"],
        "QUERY_REFUSED"
    );
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("16 aliases")
    );
    let tokens = format!("{{ {} }}", "me { id } ".repeat(700));
    let body = app.gql(&app.admin, &tokens, json!({})).await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("tokens"),
        "{body}"
    );
    let deep = "{ organizations { managingOrg { managingOrg { managingOrg { managingOrg { managingOrg { managingOrg { managingOrg { managingOrg { managingOrg { managingOrg { id } } } } } } } } } } } }";
    let body = app.gql(&app.admin, deep, json!({})).await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("levels deep"),
        "{body}"
    );
    // Introspection is deeper than 10 and still works (GraphiQL's query).
    let intro = "{ __schema { types { fields { type { ofType { ofType { ofType { ofType { ofType { ofType { ofType { name } } } } } } } } } } } }";
    assert!(
        app.gql(&app.admin, intro, json!({}))
            .await
            .get("errors")
            .is_none()
    );
    // No "did you mean", no parser internals.
    let body = app
        .gql(&app.admin, "{ organisations { id } }", json!({}))
        .await;
    let msg = body["errors"][0]["message"].as_str().unwrap();
    assert!(!msg.contains("Did you mean"), "{msg}");
    let body = app.gql(&app.admin, "{ me { id }", json!({})).await;
    let msg = body["errors"][0]["message"].as_str().unwrap();
    assert!(
        msg.contains("The query is not valid GraphQL at line 1") && !msg.contains('\n'),
        "{msg}"
    );
}

#[tokio::test]
async fn cross_site_shapes_are_refused() {
    let app = spawn_app().await;
    let post = |ct: &'static str, body: &'static str| {
        app.client
            .post(app.url("/graphql"))
            .bearer_auth(&app.admin)
            .header("content-type", ct)
            .body(body)
            .send()
    };
    // What a form or a fetch without preflight can send.
    for ct in ["text/plain", "application/x-www-form-urlencoded"] {
        let res = post(ct, "{\"query\":\"{ me { id } }\"}").await.unwrap();
        assert_eq!(res.status(), 415, "{ct}");
    }
    // A mutation over GET: 405; a query over GET runs.
    let q = "mutation { createTag(tag: {name: \"x\"}) { id } }";
    let res = app
        .client
        .get(app.url("/graphql"))
        .query(&[("query", q)])
        .bearer_auth(&app.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
    assert_eq!(res.headers()["allow"], "POST");
    let res = app
        .client
        .get(app.url("/graphql"))
        .query(&[("query", "{ me { username } }")])
        .bearer_auth(&app.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["data"]["me"]["username"], "admin@acme.test");
    // GET without a query is GraphiQL.
    let html = app
        .client
        .get(app.url("/graphql"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("GraphiQL") || html.contains("graphiql"));
    // With our session cookie: multipart needs the custom header.
    let boundary = "----orghubcsrf";
    let form = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"operations\"\r\n\r\n{{\"query\":\"{{ __typename }}\"}}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"map\"\r\n\r\n{{}}\r\n--{boundary}--\r\n"
    );
    let send = |csrf: bool| {
        let mut req = app
            .client
            .post(app.url("/graphql"))
            .header("cookie", "orghub_pod=abc")
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(form.clone());
        if csrf {
            req = req.header("x-orghub-csrf", "1");
        }
        req.send()
    };
    assert_eq!(send(false).await.unwrap().status(), 403);
    let res = send(true).await.unwrap();
    assert_eq!(res.status(), 200, "{:?}", res.text().await);
}

#[tokio::test]
async fn metrics_in_prometheus_format() {
    let app = spawn_app().await;
    let res = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(&app.admin)
        .json(&json!({ "query": "query MetricsProbe { me { id } }", "operationName": "MetricsProbe" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let text = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("orghub_graphql_operation_duration_seconds_count{operation=\"MetricsProbe\",outcome=\"ok\"}"),
        "{text}"
    );
    assert!(text.contains("orghub_http_request_duration_seconds_bucket{method=\"POST\",route=\"/graphql\",status=\"200\",le=\"+Inf\"}"));
    assert!(text.contains("# TYPE orghub_jobs gauge"));
}

#[tokio::test]
async fn credentialed_cors_only_for_configured_origins() {
    let preflight = |app: &crate::helpers::TestApp, origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/graphql"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization, content-type",
            )
            .send()
    };
    let plain = spawn_app().await;
    let res = preflight(&plain, "https://tools.example.com")
        .await
        .unwrap();
    assert!(
        res.headers().get("access-control-allow-origin").is_none(),
        "no CORS by default"
    );

    let mut config = crate::helpers::test_config(crate::helpers::fresh_database_url().await);
    config.cors_origins = vec!["https://tools.example.com".into()];
    let app = crate::helpers::spawn_with(config).await;
    let res = preflight(&app, "https://tools.example.com").await.unwrap();
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "https://tools.example.com"
    );
    assert_eq!(res.headers()["access-control-allow-credentials"], "true");
    let res = preflight(&app, "https://evil.example").await.unwrap();
    assert!(res.headers().get("access-control-allow-origin").is_none());
}
