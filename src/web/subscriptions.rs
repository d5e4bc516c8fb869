//! GraphQL subscriptions over WebSocket (`graphql-transport-ws`, and the older
//! `graphql-ws`) at `/subscriptions`. The token comes in the `connection_init` payload
//! (`{"Authorization": "Bearer …"}`, as browsers cannot set headers on a WebSocket) or in
//! the upgrade request's `Authorization` header; without one the connection is refused.
use async_graphql::Data;
use async_graphql::http::ALL_WEBSOCKET_PROTOCOLS;
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::extract::{State, WebSocketUpgrade};
use axum::http::{HeaderMap, header::AUTHORIZATION};
use axum::response::Response;
use serde_json::Value;

use crate::AppState;
use crate::auth;
use crate::graphql::{Caller, Loaders};

/// The bearer token of a `connection_init` payload, in the spellings clients use.
fn token_of(payload: &Value) -> Option<String> {
    ["Authorization", "authorization", "authToken", "token"]
        .iter()
        .find_map(|k| payload.get(*k).and_then(Value::as_str))
        .or_else(|| {
            payload
                .get("headers")
                .and_then(|h| h.get("Authorization").or_else(|| h.get("authorization")))
                .and_then(Value::as_str)
        })
        .map(|t| {
            if t.len() > 7 && t[..7].eq_ignore_ascii_case("bearer ") {
                t.to_owned()
            } else {
                format!("Bearer {t}")
            }
        })
}

pub async fn subscriptions(
    State(app): State<AppState>,
    protocol: GraphQLProtocol,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let header_token = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |stream| {
            let schema = app.schema.clone();
            GraphQLWebSocket::new(stream, schema, protocol)
                .on_connection_init(move |payload| async move {
                    let token = token_of(&payload).or(header_token).ok_or_else(|| {
                        async_graphql::Error::new(
                            "Authentication required: send {\"Authorization\": \"Bearer <token>\"} in connection_init",
                        )
                    })?;
                    let actor = auth::authenticate(&app.store, &app.auth, Some(&token))
                        .await
                        .map_err(|e| async_graphql::Error::new(e.client_message()))?;
                    let mut data = Data::default();
                    data.insert(Caller::Known(actor));
                    data.insert(Loaders::new(&app.store));
                    Ok(data)
                })
                .serve()
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tokens_in_the_spellings_clients_use() {
        assert_eq!(
            token_of(&json!({"Authorization": "Bearer abc"})).as_deref(),
            Some("Bearer abc")
        );
        assert_eq!(
            token_of(&json!({"authToken": "abc"})).as_deref(),
            Some("Bearer abc")
        );
        assert_eq!(
            token_of(&json!({"headers": {"authorization": "bearer abc"}})).as_deref(),
            Some("bearer abc")
        );
        assert_eq!(token_of(&json!({})), None);
        assert_eq!(token_of(&json!(null)), None);
    }
}
