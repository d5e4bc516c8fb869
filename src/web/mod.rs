//! HTTP routes: GraphQL (and GraphiQL), the OAuth token endpoint, health and readiness;
//! the middleware stack.
pub mod embed;
mod imports;
mod oauth;
pub mod session_store;
mod subscriptions;
pub mod triggers;
use std::time::Duration;

use async_graphql::http::GraphiQLSource;
use async_graphql_axum::GraphQLRequest;
use axum::Router;
use axum::extract::{FromRequest, State};
use axum::http::{HeaderMap, Request, StatusCode, header::AUTHORIZATION};
use axum::response::{Html, IntoResponse};
use axum::routing::{get, post};
use tower_http::request_id::{
    MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::AppState;
use crate::auth;
use crate::error::AppError;
use crate::graphql::{Caller, Loaders};

/// CORS for the configured origins only (credentials allowed); none configured, no CORS
/// headers at all, so browsers keep other sites out.
fn cors(origins: &[String]) -> Option<tower_http::cors::CorsLayer> {
    use axum::http::{HeaderName, HeaderValue, Method};
    let allowed: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    if allowed.is_empty() {
        return None;
    }
    Some(
        tower_http::cors::CorsLayer::new()
            .allow_origin(allowed)
            .allow_credentials(true)
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([
                axum::http::header::AUTHORIZATION,
                axum::http::header::CONTENT_TYPE,
                HeaderName::from_static("x-orghub-csrf"),
            ])
            .max_age(Duration::from_secs(600)),
    )
}

pub fn router(state: AppState) -> Router {
    let timeout = Duration::from_secs(state.settings.request_timeout_secs);
    let cors = cors(&state.settings.cors_origins);
    let pods = Router::new()
        .route(
            "/organizations/{org_id}/integrations/embed/ticket/{ticket}",
            get(embed::page),
        )
        .route("/api/embed/session", post(embed::sign_in))
        .route("/api/embed/logout", post(embed::logout))
        .route(
            "/api/embed/organizations/{org_id}/tickets/{ticket}",
            get(embed::state),
        )
        .route(
            "/api/embed/organizations/{org_id}/tickets/{ticket}/events",
            get(embed::events),
        )
        .route(
            "/api/embed/organizations/{org_id}/tickets/{ticket}/restart",
            post(embed::restart),
        )
        .route(
            "/api/embed/organizations/{org_id}/tasks/{task}",
            post(embed::answer),
        )
        .layer(embed::session_layer(&state.store))
        .layer(axum::middleware::map_response(embed::partitioned));
    Router::new()
        .merge(pods)
        .route("/graphql", get(graphql_get).post(graphql))
        .route("/subscriptions", get(subscriptions::subscriptions))
        .route("/oauth/token", post(oauth::token))
        .route("/api/organizations/import/template.csv", get(imports::template))
        .route("/api/organizations/import", post(imports::upload))
        .route("/api/organization-imports/{id}/log.csv", get(imports::log))
        .route(
            "/webhooks/custom/trigger/{trigger_id}/{org_id}",
            get(triggers::live_link).post(triggers::callback),
        )
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route_layer(axum::middleware::from_fn(track))
        .layer(axum::middleware::from_fn_with_state(state.clone(), gate))
        .with_state(state)
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, timeout))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
            let id = req.extensions().get::<RequestId>().and_then(|id| id.header_value().to_str().ok()).unwrap_or("-");
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
        }))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(tower::util::option_layer(cors))
}

async fn graphql(
    State(app): State<AppState>,
    headers: HeaderMap,
    request: GraphQLRequest,
) -> axum::response::Response {
    let authorization = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok());
    let caller = match auth::authenticate(&app.store, &app.auth, authorization).await {
        Ok(actor) => Caller::Known(actor),
        Err(AppError::Unauthenticated(why)) => Caller::Anonymous(why),
        Err(other) => {
            let error: async_graphql::Error = other.into();
            return respond(
                async_graphql::Response::from_errors(vec![
                    error.into_server_error(Default::default()),
                ]),
                &headers,
            );
        }
    };
    let mut request = request.into_inner();
    // Parsed once: the limits look at the document async-graphql then executes.
    let limits = &app.settings.query_limits;
    let checked = crate::graphql::limits::check_tokens(&request.query, limits).and_then(|()| {
        match request.parsed_query() {
            Ok(doc) => crate::graphql::limits::check_document(doc, limits),
            Err(e) => Err(crate::graphql::limits::syntax(
                e.locations.first().map(|p| (p.line, p.column)),
            )),
        }
    });
    if let Err(refusal) = checked {
        let error: async_graphql::Error =
            AppError::invalid("query", "QUERY_REFUSED", refusal.0).into();
        return respond(
            async_graphql::Response::from_errors(vec![error.into_server_error(Default::default())]),
            &headers,
        );
    }
    // Without a valid identity only introspection runs: every operation answers
    // UNAUTHENTICATED before its arguments are even looked at.
    if let Caller::Anonymous(why) = &caller
        && !request.parsed_query().is_ok_and(introspection_only)
    {
        let error: async_graphql::Error = AppError::Unauthenticated(why.clone()).into();
        return respond(
            async_graphql::Response::from_errors(vec![error.into_server_error(Default::default())]),
            &headers,
        );
    }
    let operation = request
        .operation_name
        .clone()
        .unwrap_or_else(|| "anonymous".to_owned());
    let request = request.data(caller).data(Loaders::new(&app.store));
    let started = std::time::Instant::now();
    let span = tracing::info_span!("graphql", operation = %operation);
    let resp = tracing::Instrument::instrument(app.schema.execute(request), span).await;
    crate::metrics::global().graphql(&operation, !resp.errors.is_empty(), started.elapsed());
    respond(resp, &headers)
}

/// Whether a document selects nothing but introspection at its roots (`__schema`,
/// `__type`, `__typename`). Unparsable: false (the caller is told to sign in first).
fn introspection_only(doc: &async_graphql::parser::types::ExecutableDocument) -> bool {
    use async_graphql::parser::types::{DocumentOperations, Selection, SelectionSet};
    fn roots_ok(
        set: &SelectionSet,
        doc: &async_graphql::parser::types::ExecutableDocument,
        depth: usize,
    ) -> bool {
        depth < 8
            && set.items.iter().all(|item| match &item.node {
                Selection::Field(f) => f.node.name.node.starts_with("__"),
                Selection::InlineFragment(f) => {
                    roots_ok(&f.node.selection_set.node, doc, depth + 1)
                }
                Selection::FragmentSpread(s) => doc
                    .fragments
                    .get(&s.node.fragment_name.node)
                    .is_some_and(|d| roots_ok(&d.node.selection_set.node, doc, depth + 1)),
            })
    }
    match &doc.operations {
        DocumentOperations::Single(op) => roots_ok(&op.node.selection_set.node, doc, 0),
        DocumentOperations::Multiple(ops) => ops
            .values()
            .all(|op| roots_ok(&op.node.selection_set.node, doc, 0)),
    }
}

/// Times every routed request for `/metrics` (by route, never by raw path).
async fn track(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = req.method().clone();
    let started = std::time::Instant::now();
    let res = next.run(req).await;
    crate::metrics::global().http(
        method.as_str(),
        &route,
        res.status().as_u16(),
        started.elapsed(),
    );
    res
}

/// `GET /metrics`: Prometheus text format.
async fn metrics(State(app): State<AppState>) -> axum::response::Response {
    let jobs = crate::jobs::counts(&app.store).await.unwrap_or_else(|e| {
        tracing::warn!(error = %e.client_message(), "counting jobs for /metrics failed");
        Vec::new()
    });
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        crate::metrics::global().render(&jobs),
    )
        .into_response()
}

/// The response in the media type the client asked for (GraphQL over HTTP):
/// `application/graphql-response+json` only when it accepts that, else `application/json`.
/// With the former, a request that failed before execution (syntax, validation, variables,
/// limits: errors without a path, no data) is a 400 without `data`.
fn respond(resp: async_graphql::Response, headers: &HeaderMap) -> axum::response::Response {
    use axum::http::header::{ACCEPT, CONTENT_TYPE};
    let accept = headers
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let graphql_response = accept.contains("application/graphql-response+json")
        && !accept
            .split(',')
            .next()
            .is_some_and(|first| first.trim().starts_with("application/json"));
    let request_error = resp.data == async_graphql::Value::Null
        && !resp.errors.is_empty()
        && resp.errors.iter().all(|e| e.path.is_empty());
    let mut body = match serde_json::to_value(&resp) {
        Ok(v) => v,
        Err(e) => {
            tracing::error!(error = %e, "cannot serialize a GraphQL response");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let has_code = |code: &str| {
        resp.errors.iter().any(|e| {
            matches!(e.extensions.as_ref().and_then(|x| x.get("code")), Some(async_graphql::Value::String(c)) if c == code)
        })
    };
    let status = if has_code("SERVICE_UNAVAILABLE") {
        StatusCode::SERVICE_UNAVAILABLE
    } else if has_code("STORAGE_FULL") {
        StatusCode::INSUFFICIENT_STORAGE
    } else if graphql_response && request_error {
        if let Some(obj) = body.as_object_mut() {
            obj.remove("data");
        }
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let media = if graphql_response {
        "application/graphql-response+json; charset=utf-8"
    } else {
        "application/json; charset=utf-8"
    };
    let mut res = (status, axum::Json(body)).into_response();
    res.headers_mut()
        .insert(CONTENT_TYPE, axum::http::HeaderValue::from_static(media));
    if status == StatusCode::SERVICE_UNAVAILABLE {
        res.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from_static("5"),
        );
    }
    res
}

/// `GET /graphql`: GraphiQL for a browser; with `?query=` a GraphQL request (queries only:
/// a mutation over GET is 405, as GraphQL over HTTP requires).
async fn graphql_get(
    State(app): State<AppState>,
    headers: HeaderMap,
    req: axum::extract::Request,
) -> axum::response::Response {
    let query = req.uri().query().unwrap_or("");
    let has_query = query
        .split('&')
        .any(|kv| kv == "query" || kv.starts_with("query="));
    if !has_query {
        return graphiql().await.into_response();
    }
    let parsed = match async_graphql::http::parse_query_string(query) {
        Ok(r) => r,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                format!("bad GraphQL GET request: {e}"),
            )
                .into_response();
        }
    };
    if is_mutation(&parsed.query, parsed.operation_name.as_deref()) {
        let mut res = (
            StatusCode::METHOD_NOT_ALLOWED,
            "mutations are sent with POST",
        )
            .into_response();
        res.headers_mut().insert(
            axum::http::header::ALLOW,
            axum::http::HeaderValue::from_static("POST"),
        );
        return res;
    }
    match GraphQLRequest::<async_graphql_axum::rejection::GraphQLRejection>::from_request(req, &())
        .await
    {
        Ok(r) => graphql(State(app), headers, r).await.into_response(),
        Err(e) => e.into_response(),
    }
}

/// Whether the operation to run is a mutation (unparsable: no; execution reports it).
fn is_mutation(query: &str, operation: Option<&str>) -> bool {
    use async_graphql::parser::types::{DocumentOperations, OperationType};
    let Ok(doc) = async_graphql::parser::parse_query(query) else {
        return false;
    };
    match (&doc.operations, operation) {
        (DocumentOperations::Single(op), _) => op.node.ty == OperationType::Mutation,
        (DocumentOperations::Multiple(ops), Some(name)) => ops
            .iter()
            .any(|(n, op)| n.as_str() == name && op.node.ty == OperationType::Mutation),
        (DocumentOperations::Multiple(ops), None) => {
            ops.values().any(|op| op.node.ty == OperationType::Mutation)
        }
    }
}

/// Refuses what a browser could send cross-site without a preflight, and applies the body
/// limits: POST must be JSON or (for uploads) multipart; a request carrying our session
/// cookie must be JSON, or multipart with `x-orghub-csrf` (or `apollo-require-preflight`).
/// JSON bodies are held to `--max-body-bytes`, multipart ones to `--max-upload-bytes`.
async fn gate(
    State(app): State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE, COOKIE};
    let headers = req.headers();
    let ct = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let multipart = ct.starts_with("multipart/form-data");
    let json =
        ct.starts_with("application/json") || ct.starts_with("application/graphql-response+json");
    let limit = if multipart {
        app.settings.max_upload_bytes
    } else {
        app.settings.max_body_bytes
    };
    let path = req.uri().path();
    let checked = path == "/graphql" || path.starts_with("/api/organizations/import");
    if checked && req.method() == axum::http::Method::POST {
        let graphql = path == "/graphql";
        if graphql && !json && !multipart {
            return (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "send GraphQL as application/json (or multipart/form-data for uploads)",
            )
                .into_response();
        }
        let session_cookie = headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|c| c.contains(&format!("{}=", embed::COOKIE)));
        let preflighted = headers.contains_key("x-orghub-csrf")
            || headers.contains_key("apollo-require-preflight");
        if session_cookie && !json && !preflighted {
            return (
                StatusCode::FORBIDDEN,
                "a request with a session cookie must be JSON, or carry x-orghub-csrf",
            )
                .into_response();
        }
    }
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return (
            StatusCode::PAYLOAD_TOO_LARGE,
            "the request body is too large",
        )
            .into_response();
    }
    let req = req.map(|b| axum::body::Body::new(http_body_util::Limited::new(b, limit)));
    next.run(req).await
}

async fn graphiql() -> impl IntoResponse {
    Html(
        GraphiQLSource::build()
            .endpoint("/graphql")
            .subscription_endpoint("/subscriptions")
            .title("orghub GraphiQL")
            .finish(),
    )
}

/// The process is up.
async fn healthz() -> &'static str {
    "ok"
}

/// The database answers.
async fn readyz(State(app): State<AppState>) -> impl IntoResponse {
    match app.store.db.ping().await {
        Ok(()) => (StatusCode::OK, "ready"),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable")
        }
    }
}
