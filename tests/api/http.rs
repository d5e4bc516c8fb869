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
