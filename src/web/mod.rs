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
use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, Request, StatusCode, header::AUTHORIZATION};
use axum::response::{Html, IntoResponse};
use axum::routing::{get, post};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{
    MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::AppState;
use crate::auth;
use crate::error::AppError;
use crate::graphql::{Caller, Loaders};

pub fn router(state: AppState) -> Router {
    let timeout = Duration::from_secs(state.settings.request_timeout_secs);
    let body_limit = state.settings.max_body_bytes;
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
        .route("/graphql", get(graphiql).post(graphql))
        .route("/subscriptions", get(subscriptions::subscriptions))
        .route("/oauth/token", post(oauth::token))
        .route("/api/organizations/import/template.csv", get(imports::template))
        .route("/api/organizations/import", post(imports::upload))
        .route("/api/organization-imports/{id}/log.csv", get(imports::log))
        .route(
            "/webhooks/custom/trigger/{trigger_id}/{org_id}",
            get(triggers::live_link).post(triggers::callback),
        )
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(state)
        .layer(RequestBodyLimitLayer::new(body_limit))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, timeout))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
            let id = req.extensions().get::<RequestId>().and_then(|id| id.header_value().to_str().ok()).unwrap_or("-");
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
        }))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

async fn graphql(
    State(app): State<AppState>,
    headers: HeaderMap,
    request: GraphQLRequest,
) -> GraphQLResponse {
    let authorization = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok());
    let caller = match auth::authenticate(&app.store, &app.auth, authorization).await {
        Ok(actor) => Caller::Known(actor),
        Err(AppError::Unauthenticated(why)) => Caller::Anonymous(why),
        Err(other) => {
            let error: async_graphql::Error = other.into();
            return async_graphql::Response::from_errors(vec![
                error.into_server_error(Default::default()),
            ])
            .into();
        }
    };
    let request = request
        .into_inner()
        .data(caller)
        .data(Loaders::new(&app.store));
    app.schema.execute(request).await.into()
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
