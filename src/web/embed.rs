//! The ConnectWise pod: the page ConnectWise frames on each ticket, its sign-in through the
//! hosted API, and its small JSON API.
//!
//! Sign-in: the page asks ConnectWise (postMessage) for the member's session, posts it to
//! `POST /api/embed/session`; we ask ConnectWise who that is (`system/myMembers/info`) and
//! open a session. The session lives in the database (every replica sees it) behind a cookie
//! `HttpOnly; Secure; SameSite=None; Partitioned`, and the same answer hands the page a
//! short-lived token it keeps in memory and sends as `X-Pod-Token`: where the browser keeps
//! no third-party cookie at all, the token carries the session.
//!
//! Every API request must carry `X-Pod-Token` or `X-Orghub-Pod: 1`: a custom header cannot be
//! sent cross-site without a CORS preflight (which we never grant), so another site cannot
//! ride on the cookie.
// Handlers answer refusals with a ready `Response`; boxing them would only add noise.
#![allow(clippy::result_large_err)]
use std::convert::Infallible;
use std::str::FromStr;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use base64::Engine;
use futures_util::stream::{self, Stream};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::{Value, json};
use tower_sessions::session::Id;
use tower_sessions::session_store::SessionStore;
use tower_sessions::{Expiry, Session, SessionManagerLayer};
use uuid::Uuid;

use super::session_store::DbSessionStore;
use crate::AppState;
use crate::domain::Store;
use crate::domain::pods::{self, MemberClaim, PodSession};
use crate::error::AppError;

pub const COOKIE: &str = "orghub_pod";
const SESSION_KEY: &str = "pod";
/// A pod session ends after this long unused.
const SESSION_IDLE: tower_sessions::cookie::time::Duration =
    tower_sessions::cookie::time::Duration::minutes(30);
/// Token-borne use renews the session once it is this old.
const RENEW_AFTER: tower_sessions::cookie::time::Duration =
    tower_sessions::cookie::time::Duration::minutes(5);
/// Lifetime of the in-memory token; every API answer hands out a fresh one.
const TOKEN_SECS: i64 = 15 * 60;
const PAGE: &str = include_str!("pod.html");

/// The session layer of the pod routes.
pub fn session_layer(store: &Store) -> SessionManagerLayer<DbSessionStore> {
    SessionManagerLayer::new(DbSessionStore::new(store.db.clone()))
        .with_name(COOKIE)
        .with_http_only(true)
        .with_secure(true)
        .with_same_site(tower_sessions::cookie::SameSite::None)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(SESSION_IDLE))
}

/// tower-sessions cannot mark a cookie `Partitioned`; this adds it (and `Secure`,
/// `SameSite=None`, which its deletion cookie lacks) to the pod cookie.
pub async fn partitioned(mut res: Response) -> Response {
    let cookies: Vec<HeaderValue> = res
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .cloned()
        .collect();
    if cookies.is_empty() {
        return res;
    }
    res.headers_mut().remove(header::SET_COOKIE);
    for c in cookies {
        let fixed = match c.to_str() {
            Ok(s) if s.starts_with(&format!("{COOKIE}=")) => {
                let mut s = s.to_owned();
                for attr in ["Secure", "SameSite=None", "Partitioned"] {
                    if !s.split(';').any(|p| {
                        p.trim().eq_ignore_ascii_case(attr)
                            || (attr.starts_with("SameSite")
                                && p.trim().to_ascii_lowercase().starts_with("samesite"))
                    }) {
                        s.push_str("; ");
                        s.push_str(attr);
                    }
                }
                HeaderValue::from_str(&s).unwrap_or(c)
            }
            _ => c,
        };
        res.headers_mut().append(header::SET_COOKIE, fixed);
    }
    res
}

fn token_mac(store: &Store, session_id: &str, exp: i64) -> Hmac<sha2::Sha256> {
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(store.trigger_key.as_ref())
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(format!("pod-token|{session_id}|{exp}").as_bytes());
    mac
}

/// A token for the session: `<session id>.<expiry>.<HMAC>`.
fn token(store: &Store, session_id: &str) -> (String, i64) {
    let exp = chrono::Utc::now().timestamp() + TOKEN_SECS;
    let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(token_mac(store, session_id, exp).finalize().into_bytes());
    (format!("{session_id}.{exp}.{sig}"), exp)
}

/// The session id a valid, unexpired token names.
fn token_session(store: &Store, token: &str) -> Option<String> {
    let mut parts = token.trim().split('.');
    let (id, exp, sig) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let exp: i64 = exp.parse().ok()?;
    if exp < chrono::Utc::now().timestamp() {
        return None;
    }
    let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(sig)
        .ok()?;
    token_mac(store, id, exp).verify_slice(&sig).ok()?;
    Some(id.to_owned())
}

fn csp(res: &mut Response, origin: Option<&str>) {
    let value = match origin {
        Some(o) => format!("frame-ancestors {o}"),
        None => "frame-ancestors 'none'".to_owned(),
    };
    if let Ok(v) = HeaderValue::from_str(&value) {
        res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
    }
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

fn api_error(status: StatusCode, code: &str, message: &str, origin: Option<&str>) -> Response {
    let mut res = (
        status,
        Json(json!({ "error": { "code": code, "message": message } })),
    )
        .into_response();
    csp(&mut res, origin);
    res
}

fn from_app(e: AppError, origin: Option<&str>) -> Response {
    if let AppError::Internal(cause) = &e {
        tracing::error!(error = ?cause, "pod request failed");
    }
    let mut res = api_error(e.status(), e.code(), &e.client_message(), origin);
    if let AppError::Invalid(errors) = &e
        && let Ok(v) = serde_json::to_value(errors)
    {
        res = (
            e.status(),
            Json(json!({ "error": { "code": e.code(), "message": e.client_message(), "validationErrors": v } })),
        )
            .into_response();
        csp(&mut res, origin);
    }
    res
}

/// A domain result as the pod API answers it: JSON with the CSP, or the error.
fn json_answer(result: Result<Value, AppError>, origin: &str) -> Response {
    match result {
        Ok(v) => {
            let mut res = Json(v).into_response();
            csp(&mut res, Some(origin));
            res
        }
        Err(e) => from_app(e, Some(origin)),
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A page that only says something (no config, unknown org).
fn notice_page(status: StatusCode, title: &str, text: &str) -> Response {
    let mut res = (
        status,
        Html(format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title></head>\
             <body style=\"font:14px system-ui,sans-serif;margin:12px;color:#1f2933\"><h1 style=\"font-size:15px\">{t}</h1><p>{x}</p></body></html>",
            t = escape(title),
            x = escape(text)
        )),
    )
        .into_response();
    csp(&mut res, None);
    res
}

/// `GET /organizations/{org_id}/integrations/embed/ticket/{cw_id}`: the pod page.
pub async fn page(
    State(app): State<AppState>,
    Path((org_id, ticket)): Path<(String, String)>,
) -> Response {
    let (Ok(org_id), Ok(ticket)) = (Uuid::parse_str(&org_id), ticket.parse::<i64>()) else {
        return notice_page(
            StatusCode::NOT_FOUND,
            "Not a pod address",
            "The address must name an organization id and a ticket number.",
        );
    };
    let (org, config) = match pods::pod_config(&app.store, org_id).await {
        Ok(Some(found)) => found,
        Ok(None) => {
            return notice_page(
                StatusCode::NOT_FOUND,
                "ConnectWise is not set up",
                "This organization has no ConnectWise PSA integration in orghub (or no longer exists). Install and configure it under Integrations.",
            );
        }
        Err(e) => return from_app(e, None),
    };
    let origin = match pods::cw_origin(&app.store, &config) {
        Ok(o) => o,
        Err(e) => return from_app(e, None),
    };
    let boot = json!({
        "orgId": org.id, "orgName": org.name, "ticketId": ticket, "cwOrigin": origin,
        "api": format!("/api/embed/organizations/{}", org.id),
    });
    // Safe inside <script>: no "</" can close the element.
    let boot = boot.to_string().replace("</", "<\\/");
    let mut res = Html(PAGE.replace("/*BOOT*/null", &boot)).into_response();
    csp(&mut res, Some(&origin));
    res
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignIn {
    org_id: String,
    auth: MemberClaim,
}

/// `POST /api/embed/session`: verifies the member with ConnectWise and opens a session.
pub async fn sign_in(
    State(app): State<AppState>,
    session: Session,
    body: Result<Json<SignIn>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Ok(Json(body)) = body else {
        return api_error(
            StatusCode::BAD_REQUEST,
            "BAD_USER_INPUT",
            "expected {orgId, auth: {memberid, memberHash, memberContext}}",
            None,
        );
    };
    let Ok(org_id) = Uuid::parse_str(body.org_id.trim()) else {
        return api_error(
            StatusCode::BAD_REQUEST,
            "BAD_USER_INPUT",
            "orgId: not an id",
            None,
        );
    };
    let (org, config) = match pods::pod_config(&app.store, org_id).await {
        Ok(Some(found)) => found,
        Ok(None) => {
            return api_error(
                StatusCode::NOT_FOUND,
                "NOT_FOUND",
                "no ConnectWise integration for this organization",
                None,
            );
        }
        Err(e) => return from_app(e, None),
    };
    let origin = pods::cw_origin(&app.store, &config).ok();
    let member = match app.pods.verify(&app.store, &config, &body.auth).await {
        Ok(m) => m,
        Err(e) => return from_app(e, origin.as_deref()),
    };
    let pod = PodSession {
        org_id: org.id,
        pack_config_id: config.id,
        member: member.clone(),
    };
    // A new id at sign-in (no fixation), then saved now so the token can name it.
    if let Err(e) = session.cycle_id().await {
        return from_app(
            AppError::internal(anyhow::anyhow!("{e}")),
            origin.as_deref(),
        );
    }
    if let Err(e) = session.insert(SESSION_KEY, &pod).await {
        return from_app(
            AppError::internal(anyhow::anyhow!("{e}")),
            origin.as_deref(),
        );
    }
    if let Err(e) = session.save().await {
        return from_app(
            AppError::internal(anyhow::anyhow!("{e}")),
            origin.as_deref(),
        );
    }
    let Some(id) = session.id() else {
        return from_app(
            AppError::internal(anyhow::anyhow!("the session has no id after save")),
            origin.as_deref(),
        );
    };
    let (token, exp) = token(&app.store, &id.to_string());
    tracing::info!(member = %member, org = %org.id, "pod signed in");
    let mut res = Json(json!({
        "token": token, "expiresAt": exp, "member": member,
        "organization": { "id": org.id, "name": org.name },
    }))
    .into_response();
    csp(&mut res, origin.as_deref());
    res
}

/// The pod session of a request: from `X-Pod-Token`, else from the cookie (with the
/// `X-Orghub-Pod` header); it must be for the org in the path.
async fn pod_of(
    app: &AppState,
    headers: &HeaderMap,
    session: &Session,
    org_id: &str,
) -> Result<(PodSession, String), Response> {
    let unauthenticated =
        |why: &str| api_error(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", why, None);
    let given = headers
        .get("x-pod-token")
        .and_then(|v| v.to_str().ok())
        .filter(|t| !t.is_empty());
    let pod: Option<PodSession> = match given {
        Some(t) => {
            let Some(id) = token_session(&app.store, t) else {
                return Err(unauthenticated(
                    "the pod token is not valid or expired; reopen the ticket",
                ));
            };
            let Ok(id) = Id::from_str(&id) else {
                return Err(unauthenticated("the pod token is not valid"));
            };
            let store = DbSessionStore::new(app.store.db.clone());
            match store.load(&id).await {
                Ok(Some(mut record)) => {
                    let pod = record
                        .data
                        .get(SESSION_KEY)
                        .and_then(|v| serde_json::from_value(v.clone()).ok());
                    // Renewed while used: the token path never touches the cookie session.
                    let renewed =
                        tower_sessions::cookie::time::OffsetDateTime::now_utc() + SESSION_IDLE;
                    if pod.is_some() && record.expiry_date + RENEW_AFTER < renewed {
                        record.expiry_date = renewed;
                        if let Err(e) = store.save(&record).await {
                            tracing::warn!(error = %e, "renewing a pod session failed");
                        }
                    }
                    pod
                }
                Ok(None) => None,
                Err(e) => {
                    return Err(from_app(AppError::internal(anyhow::anyhow!("{e}")), None));
                }
            }
        }
        None => {
            if headers.get("x-orghub-pod").is_none() {
                return Err(api_error(
                    StatusCode::FORBIDDEN,
                    "FORBIDDEN",
                    "pod requests carry X-Pod-Token or X-Orghub-Pod",
                    None,
                ));
            }
            let pod = session.get::<PodSession>(SESSION_KEY).await.ok().flatten();
            if pod.is_some() {
                // A change renews the session (and its cookie) for another idle period.
                let _ = session
                    .insert("seenAt", chrono::Utc::now().timestamp() / 60)
                    .await;
            }
            pod
        }
    };
    let Some(pod) = pod else {
        return Err(unauthenticated(
            "not signed in; reopen the ticket in ConnectWise",
        ));
    };
    if Uuid::parse_str(org_id).ok() != Some(pod.org_id) {
        return Err(api_error(
            StatusCode::FORBIDDEN,
            "FORBIDDEN",
            "this session is for another organization",
            None,
        ));
    }
    let origin = match pods::pod_config(&app.store, pod.org_id).await {
        Ok(Some((_, c))) if c.id == pod.pack_config_id => {
            pods::cw_origin(&app.store, &c).unwrap_or_default()
        }
        Ok(_) => {
            return Err(unauthenticated(
                "the organization's ConnectWise integration changed; reopen the ticket",
            ));
        }
        Err(e) => return Err(from_app(e, None)),
    };
    Ok((pod, origin))
}

/// Renews the token while the pod is used.
fn with_token(app: &AppState, session_hint: Option<&str>, mut body: Value) -> Value {
    if let Some(id) = session_hint {
        let (t, exp) = token(&app.store, id);
        body["token"] = json!({ "token": t, "expiresAt": exp });
    }
    body
}

fn session_id_of(app: &AppState, headers: &HeaderMap, session: &Session) -> Option<String> {
    headers
        .get("x-pod-token")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| token_session(&app.store, t))
        .or_else(|| session.id().map(|i| i.to_string()))
}

/// The pod session of a request and the ticket number of its path.
async fn pod_and_ticket(
    app: &AppState,
    headers: &HeaderMap,
    session: &Session,
    org_id: &str,
    ticket: &str,
) -> Result<(PodSession, String, i64), Response> {
    let (pod, origin) = pod_of(app, headers, session, org_id).await?;
    let ticket = ticket_number(ticket, &origin)?;
    Ok((pod, origin, ticket))
}

fn ticket_number(raw: &str, origin: &str) -> Result<i64, Response> {
    raw.parse::<i64>().ok().filter(|t| *t > 0).ok_or_else(|| {
        api_error(
            StatusCode::BAD_REQUEST,
            "BAD_USER_INPUT",
            "ticket: not a ticket number",
            Some(origin),
        )
    })
}

/// `GET /api/embed/organizations/{org}/tickets/{ticket}`: what the pod shows.
pub async fn state(
    State(app): State<AppState>,
    Path((org_id, ticket)): Path<(String, String)>,
    headers: HeaderMap,
    session: Session,
) -> Response {
    let (pod, origin, ticket) =
        match pod_and_ticket(&app, &headers, &session, &org_id, &ticket).await {
            Ok(p) => p,
            Err(r) => return r,
        };
    let hint = session_id_of(&app, &headers, &session);
    let state = pods::ticket_state(&app.store, &pod, ticket).await;
    json_answer(state.map(|v| with_token(&app, hint.as_deref(), v)), &origin)
}

/// `GET …/tickets/{ticket}/events`: server-sent events with the state each time it changes
/// (read from the database every 500 ms, so whichever replica moved the run, every replica
/// delivers it). The stream ends after ten minutes; the page reconnects.
pub async fn events(
    State(app): State<AppState>,
    Path((org_id, ticket)): Path<(String, String)>,
    headers: HeaderMap,
    session: Session,
) -> Response {
    let (pod, origin, ticket) =
        match pod_and_ticket(&app, &headers, &session, &org_id, &ticket).await {
            Ok(p) => p,
            Err(r) => return r,
        };
    let store = app.store.clone();
    let closing = app.closing.subscribe();
    let started = std::time::Instant::now();
    let updates = stream::unfold(
        (store, pod, String::new(), closing),
        move |(store, pod, last, closing)| async move {
            loop {
                if started.elapsed() > Duration::from_secs(600) || *closing.borrow() {
                    return None;
                }
                match pods::ticket_state(&store, &pod, ticket).await {
                    Ok(v) => {
                        let text = v.to_string();
                        if text != last {
                            let event = Event::default().event("state").data(text.clone());
                            return Some((
                                Ok::<Event, Infallible>(event),
                                (store, pod, text, closing),
                            ));
                        }
                    }
                    Err(e) => {
                        let event = Event::default()
                            .event("error")
                            .data(json!({ "message": e.client_message() }).to_string());
                        tokio::time::sleep(Duration::from_millis(500)).await;
                        return Some((Ok(event), (store, pod, last, closing)));
                    }
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        },
    );
    let stream: std::pin::Pin<Box<dyn Stream<Item = Result<Event, Infallible>> + Send>> =
        Box::pin(updates);
    let mut res = Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response();
    csp(&mut res, Some(&origin));
    res
}

#[derive(Deserialize)]
pub struct Answer {
    values: Value,
}

/// `POST …/tasks/{task}`: answers a waiting task (the same code as `submitPendingTaskResponse`).
pub async fn answer(
    State(app): State<AppState>,
    Path((org_id, task)): Path<(String, String)>,
    headers: HeaderMap,
    session: Session,
    body: Result<Json<Answer>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let (pod, origin) = match pod_of(&app, &headers, &session, &org_id).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let Ok(task) = Uuid::parse_str(&task) else {
        return api_error(
            StatusCode::BAD_REQUEST,
            "BAD_USER_INPUT",
            "task: not an id",
            Some(&origin),
        );
    };
    let Ok(Json(body)) = body else {
        return api_error(
            StatusCode::BAD_REQUEST,
            "BAD_USER_INPUT",
            "expected {values: {…}}",
            Some(&origin),
        );
    };
    json_answer(
        pods::answer(&app.store, &pod, task, body.values).await,
        &origin,
    )
}

/// `POST …/tickets/{ticket}/restart`: a new Toolbox run for the ticket.
pub async fn restart(
    State(app): State<AppState>,
    Path((org_id, ticket)): Path<(String, String)>,
    headers: HeaderMap,
    session: Session,
) -> Response {
    let (pod, origin, ticket) =
        match pod_and_ticket(&app, &headers, &session, &org_id, &ticket).await {
            Ok(p) => p,
            Err(r) => return r,
        };
    let started = pods::restart(&app.store, &pod, ticket).await;
    json_answer(started.map(|id| json!({ "executionId": id })), &origin)
}

/// `POST /api/embed/logout`: ends the session (its cookie is deleted, partitioned too).
pub async fn logout(session: Session) -> Response {
    let _ = session.delete().await;
    session.clear().await;
    let mut res = Json(json!({ "ok": true })).into_response();
    csp(&mut res, None);
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_pod_cookie_is_partitioned_even_when_deleted() {
        let mut res = Json(json!({})).into_response();
        res.headers_mut().append(
            header::SET_COOKIE,
            HeaderValue::from_static("orghub_pod=abc; HttpOnly; SameSite=None; Secure; Path=/"),
        );
        res.headers_mut().append(
            header::SET_COOKIE,
            HeaderValue::from_static("orghub_pod=; Max-Age=0; Path=/"),
        );
        res.headers_mut().append(
            header::SET_COOKIE,
            HeaderValue::from_static("other=1; Path=/"),
        );
        let res = partitioned(res).await;
        let all: Vec<&str> = res
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        assert_eq!(
            all,
            [
                "orghub_pod=abc; HttpOnly; SameSite=None; Secure; Path=/; Partitioned",
                "orghub_pod=; Max-Age=0; Path=/; Secure; SameSite=None; Partitioned",
                "other=1; Path=/",
            ]
        );
    }
}
