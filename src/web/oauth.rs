//! `POST /oauth/token`: the OAuth 2.0 client-credentials grant (RFC 6749 §4.4) for API
//! clients. Credentials come in the form body or as HTTP Basic; errors are RFC 6749 bodies.
use std::collections::HashMap;

use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use serde_json::json;

use crate::AppState;
use crate::domain::api_clients;

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let mut res = (
        status,
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if status == StatusCode::UNAUTHORIZED {
        res.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"orghub\""),
        );
    }
    res
}

/// `client_id:client_secret` from an `Authorization: Basic` header.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))?;
    let decoded = decode_base64(encoded.trim())?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

fn decode_base64(s: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(s).ok()
}

pub async fn token(
    State(app): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "send an application/x-www-form-urlencoded body",
        );
    };
    match form.get("grant_type").map(String::as_str) {
        Some("client_credentials") => {}
        Some(_) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "only client_credentials is supported",
            );
        }
        None => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "grant_type is required",
            );
        }
    }
    let from_body = form
        .get("client_id")
        .zip(form.get("client_secret"))
        .map(|(i, s)| (i.clone(), s.clone()));
    let from_header = basic_credentials(&headers);
    let (client_id, secret) = match (from_body, from_header) {
        (Some(_), Some(_)) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "send the credentials once: in the body or as Basic auth",
            );
        }
        (Some(c), None) | (None, Some(c)) => c,
        (None, None) => {
            return oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "client_id and client_secret are required",
            );
        }
    };
    match api_clients::exchange(&app.store, &client_id, &secret).await {
        Ok(Some((user, generation))) => {
            let ttl = app.settings.api_token_ttl;
            match app
                .auth
                .tokens
                .mint_for_client(user.id, &user.username, ttl, generation)
            {
                Ok(access_token) => {
                    let body = json!({ "access_token": access_token, "token_type": "Bearer", "expires_in": ttl.as_secs() });
                    let mut res = Json(body).into_response();
                    res.headers_mut()
                        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                    res
                }
                Err(e) => crate::error::AppError::internal(e).into_response(),
            }
        }
        Ok(None) => oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "unknown client or wrong secret",
        ),
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_decodes() {
        assert_eq!(super::decode_base64("aWQ6c2VjcmV0").unwrap(), b"id:secret");
        assert_eq!(super::decode_base64("YQ==").unwrap(), b"a");
        assert!(super::decode_base64("!!").is_none());
    }
}
