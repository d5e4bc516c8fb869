//! `/webhooks/custom/trigger/{trigger_id}/{org_id}`: live links (GET, from a ConnectWise
//! ticket's Links menu; answered with a small page that closes itself) and ConnectWise
//! callbacks (POST, verified by `x-content-signature` before anything runs).
//!
//! Order of checks, cheapest first: the URL's signature (no database), the rate limit, the
//! trigger, then the work. A forged URL never costs a query.
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde_json::json;
use uuid::Uuid;

use crate::AppState;
use crate::connectwise::callbacks::{self, CallbackPayload};
use crate::domain::pack_configs;
use crate::domain::triggers::{
    self, CW_CALLBACK, Fired, LIVE_LINK, OFFBOARDING_COMPANY, OFFBOARDING_WEBHOOK, Trigger,
};
use crate::error::AppError;

/// Requests per trigger: at most `per_sec` in any second and `per_min` in any minute
/// (sliding windows, per replica).
pub struct RateLimiter {
    per_sec: usize,
    per_min: usize,
    seen: Mutex<HashMap<Uuid, VecDeque<Instant>>>,
}

impl RateLimiter {
    pub fn new(per_sec: u32, per_min: u32) -> Self {
        RateLimiter {
            per_sec: per_sec.max(1) as usize,
            per_min: per_min.max(1) as usize,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a request at `at`, or says how long to wait (whole seconds, at least one).
    pub fn check(&self, key: Uuid, at: Instant) -> Result<(), u64> {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.len() > 10_000 {
            seen.retain(|_, q| q.back().is_some_and(|t| at.duration_since(*t) < MINUTE));
        }
        let q = seen.entry(key).or_default();
        while q.front().is_some_and(|t| at.duration_since(*t) >= MINUTE) {
            q.pop_front();
        }
        if q.len() >= self.per_min {
            let free_at = q.front().map_or(at, |t| *t + MINUTE);
            return Err(wait(free_at, at));
        }
        let in_last_sec = q
            .iter()
            .rev()
            .take_while(|t| at.duration_since(**t) < SECOND)
            .count();
        if in_last_sec >= self.per_sec {
            let oldest = q[q.len() - in_last_sec];
            return Err(wait(oldest + SECOND, at));
        }
        q.push_back(at);
        Ok(())
    }
}

const SECOND: Duration = Duration::from_secs(1);
const MINUTE: Duration = Duration::from_secs(60);

fn wait(free_at: Instant, at: Instant) -> u64 {
    let d = free_at.saturating_duration_since(at);
    (d.as_secs() + u64::from(d.subsec_nanos() > 0)).max(1)
}

/// What the trigger routes share: the limiter and ConnectWise signing keys (by key URL,
/// for ten minutes: one fetch per key, not per callback).
pub struct TriggerState {
    pub limiter: RateLimiter,
    keys: Mutex<HashMap<String, (String, Instant)>>,
}

impl TriggerState {
    pub fn new(per_sec: u32, per_min: u32) -> Self {
        TriggerState {
            limiter: RateLimiter::new(per_sec, per_min),
            keys: Mutex::new(HashMap::new()),
        }
    }
}

const KEY_TTL: Duration = Duration::from_secs(600);

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The small page a live link answers: what happened, closing itself when it went well.
fn page(status: StatusCode, title: &str, text: &str, execution: Option<Uuid>) -> Response {
    let close = if status.is_success() {
        "<script>setTimeout(function () { window.close(); }, 2500);</script>"
    } else {
        ""
    };
    let meta = execution
        .map(|id| format!("<meta name=\"orghub-execution-id\" content=\"{id}\">"))
        .unwrap_or_default();
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title>{meta}\
         <style>body{{font:15px system-ui,sans-serif;margin:2rem;color:#222}}h1{{font-size:1.2rem}}</style></head>\
         <body><h1>{t}</h1><p>{x}</p>{close}</body></html>",
        t = escape(title),
        x = escape(text),
    );
    let mut res = (status, Html(body)).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

fn too_many(retry: u64, html: bool) -> Response {
    let mut res = if html {
        page(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many requests",
            &format!("This link was used too often; try again in {retry} s."),
            None,
        )
    } else {
        (
            StatusCode::TOO_MANY_REQUESTS,
            axum::Json(json!({ "error": "rate_limited", "retryAfter": retry })),
        )
            .into_response()
    };
    if let Ok(v) = HeaderValue::from_str(&retry.to_string()) {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
    res
}

fn json_error(status: StatusCode, error: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({ "error": error, "message": message })),
    )
        .into_response()
}

/// The ids of the path, if they are ids and the URL's signature is theirs.
fn verified(
    app: &AppState,
    trigger_id: &str,
    org_id: &str,
    sig: Option<&String>,
) -> Result<(Uuid, Uuid), (StatusCode, &'static str)> {
    let (Ok(t), Ok(o)) = (Uuid::parse_str(trigger_id), Uuid::parse_str(org_id)) else {
        return Err((StatusCode::NOT_FOUND, "This link is not known to orghub."));
    };
    match sig {
        Some(s) if triggers::signature_ok(&app.store, t, o, s) => Ok((t, o)),
        _ => Err((
            StatusCode::FORBIDDEN,
            "This link's signature is not valid. Copy the live link again from orghub.",
        )),
    }
}

/// The ticket id of a live link: `ticketId`, `id` or `srid`.
fn ticket_of(q: &HashMap<String, String>) -> Option<i64> {
    ["ticketId", "id", "srid"]
        .iter()
        .find_map(|k| q.get(*k))
        .and_then(|v| v.trim().parse::<i64>().ok())
        .filter(|id| *id > 0)
}

/// `GET`: a live link. Starts a Toolbox run for the ticket (or finds the one just started).
pub async fn live_link(
    State(app): State<AppState>,
    Path((trigger_id, org_id)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (tid, oid) = match verified(&app, &trigger_id, &org_id, q.get("sig")) {
        Ok(ids) => ids,
        Err((status, why)) => {
            tracing::warn!(%trigger_id, status = status.as_u16(), "live link refused");
            return page(status, "Link refused", why, None);
        }
    };
    if let Err(retry) = app.triggers.limiter.check(tid, Instant::now()) {
        return too_many(retry, true);
    }
    let t = match triggers::find(&app.store, tid).await {
        Ok(Some(t)) if t.org_id == oid => t,
        Ok(_) => {
            return page(
                StatusCode::NOT_FOUND,
                "Link not found",
                "This live link was deleted in orghub. Create a new one and update ConnectWise's Links table.",
                None,
            );
        }
        Err(e) => return internal(e),
    };
    if t.kind != LIVE_LINK {
        return page(
            StatusCode::METHOD_NOT_ALLOWED,
            "Not a live link",
            "This address takes ConnectWise callbacks (POST), not clicks.",
            None,
        );
    }
    let Some(ticket) = ticket_of(&q) else {
        return page(
            StatusCode::BAD_REQUEST,
            "No ticket",
            "The link must carry the ticket id: add ticketId=<the ticket number> to it.",
            None,
        );
    };
    if let Some(refusal) = usable(&app, &t).await {
        return refusal;
    }
    match triggers::fire(&app.store, &t, ticket, "live_link").await {
        Ok(Fired::Started(e)) => page(
            StatusCode::OK,
            "Technician Toolbox started",
            &format!("A new run for ticket #{ticket} started; the ticket's pod shows it."),
            Some(e.id),
        ),
        Ok(Fired::AlreadyStarted(e)) => page(
            StatusCode::OK,
            "Already started",
            &format!("A run for ticket #{ticket} started moments ago; the pod shows that one."),
            Some(e.id),
        ),
        Err(e) => internal(e),
    }
}

/// The page for a trigger whose org or config can no longer start runs, if so.
async fn usable(app: &AppState, t: &Trigger) -> Option<Response> {
    if !t.is_enabled {
        return Some(page(
            StatusCode::FORBIDDEN,
            "Link disabled",
            "This link is disabled in orghub.",
            None,
        ));
    }
    match triggers::org_of(&app.store, t).await {
        Ok(Some(org)) if org.is_enabled => None,
        Ok(Some(org)) => Some(page(
            StatusCode::FORBIDDEN,
            "Organization disabled",
            &format!(
                "The organization \"{}\" is disabled in orghub; enable it to use this link.",
                org.name
            ),
            None,
        )),
        Ok(None) => Some(page(
            StatusCode::NOT_FOUND,
            "Link not found",
            "The organization of this link no longer exists.",
            None,
        )),
        Err(e) => Some(internal(e)),
    }
}

fn internal(e: AppError) -> Response {
    if let AppError::Internal(cause) = &e {
        tracing::error!(error = ?cause, "trigger failed");
    }
    page(
        e.status(),
        "Something went wrong",
        &e.client_message(),
        None,
    )
}

/// `POST`: a ConnectWise callback (tickets for the Toolbox, companies for offboarding) or
/// an offboarding webhook.
pub async fn callback(
    State(app): State<AppState>,
    Path((trigger_id, org_id)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (tid, oid) = match verified(&app, &trigger_id, &org_id, q.get("sig")) {
        Ok(ids) => ids,
        Err((status, why)) => {
            tracing::warn!(%trigger_id, "callback refused: bad URL signature");
            return json_error(status, "bad_url_signature", why);
        }
    };
    if let Err(retry) = app.triggers.limiter.check(tid, Instant::now()) {
        return too_many(retry, false);
    }
    let t = match triggers::find(&app.store, tid).await {
        Ok(Some(t)) if t.org_id == oid && t.kind != LIVE_LINK => t,
        Ok(_) => {
            return json_error(
                StatusCode::NOT_FOUND,
                "unknown_trigger",
                "no such trigger (deleted?)",
            );
        }
        Err(e) => return json_internal(e),
    };
    let config = match triggers::config_of(&app.store, &t).await {
        Ok(Some(c)) => c,
        Ok(None) => {
            return json_error(
                StatusCode::NOT_FOUND,
                "unknown_trigger",
                "the config is gone",
            );
        }
        Err(e) => return json_internal(e),
    };
    if t.kind == OFFBOARDING_WEBHOOK {
        return webhook(&app, &t, &headers, &body).await;
    }
    let payload = match connectwise_payload(&app, &t, &config, &headers, &body).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let done = match (t.kind.as_str(), payload.kind.to_ascii_lowercase().as_str()) {
        (CW_CALLBACK, "ticket") => ticket_changed(&app, &t, &payload).await,
        (OFFBOARDING_COMPANY, "company") => company_changed(&app, &t, &payload).await,
        _ => Ok(json!({ "status": "ignored" })),
    };
    match done {
        Ok(v) => {
            tracing::info!(%trigger_id, id = payload.id, kind = %payload.kind, action = %payload.action, "callback handled");
            (StatusCode::OK, axum::Json(v)).into_response()
        }
        Err(e) => {
            // Let ConnectWise's retry of this message in.
            let _ = triggers::forget_receipt(&app.store, &payload.message_id).await;
            json_internal(e)
        }
    }
}

/// A ConnectWise callback, checked: signed (`x-content-signature` with the key from
/// `Metadata.key_url` on the configured host), from the configured company, never seen.
async fn connectwise_payload(
    app: &AppState,
    t: &Trigger,
    config: &crate::domain::pack_configs::PackConfig,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<CallbackPayload, Response> {
    let trigger_id = t.id;
    let Some(signature) = headers
        .get("x-content-signature")
        .and_then(|v| v.to_str().ok())
        .filter(|s| !s.trim().is_empty())
    else {
        tracing::warn!(%trigger_id, "callback refused: unsigned");
        return Err(json_error(
            StatusCode::UNAUTHORIZED,
            "unsigned",
            "x-content-signature is required",
        ));
    };
    let payload: CallbackPayload = serde_json::from_slice(body).map_err(|e| {
        json_error(
            StatusCode::BAD_REQUEST,
            "bad_payload",
            &format!("not a ConnectWise callback: {e}"),
        )
    })?;
    let (host, company) = match pack_configs::connectwise_credentials(&app.store, config) {
        Ok((c, _)) => (c.host, c.company_id),
        Err(e) => return Err(json_internal(e)),
    };
    if !payload.company_id.eq_ignore_ascii_case(company.trim()) {
        tracing::warn!(%trigger_id, company = %payload.company_id, "callback refused: another company");
        return Err(json_error(
            StatusCode::UNAUTHORIZED,
            "wrong_company",
            "the callback is not from the configured ConnectWise company",
        ));
    }
    if !signature_valid(app, &payload.metadata.key_url, &host, body, signature).await {
        tracing::warn!(%trigger_id, message_id = %payload.message_id, "callback refused: bad signature");
        return Err(json_error(
            StatusCode::UNAUTHORIZED,
            "bad_signature",
            "x-content-signature does not match the body",
        ));
    }
    match triggers::first_receipt(&app.store, t.id, &payload.message_id).await {
        Ok(true) => Ok(payload),
        Ok(false) => {
            tracing::warn!(%trigger_id, message_id = %payload.message_id, "callback refused: replayed");
            Err(json_error(
                StatusCode::UNAUTHORIZED,
                "replayed",
                "this callback message was received before",
            ))
        }
        Err(e) => Err(json_internal(e)),
    }
}

/// A ticket added (start a Toolbox run) or deleted (cancel its waiting runs).
async fn ticket_changed(
    app: &AppState,
    t: &Trigger,
    payload: &CallbackPayload,
) -> Result<serde_json::Value, AppError> {
    match payload.action.to_ascii_lowercase().as_str() {
        "added" => match usable(app, t).await {
            Some(_) => {
                Ok(json!({ "status": "ignored", "reason": "the organization cannot start runs" }))
            }
            None => triggers::fire(&app.store, t, payload.id, "callback")
                .await
                .map(|f| match f {
                    Fired::Started(e) => json!({ "status": "started", "executionId": e.id }),
                    Fired::AlreadyStarted(e) => {
                        json!({ "status": "already_started", "executionId": e.id })
                    }
                }),
        },
        "deleted" => triggers::ticket_deleted(&app.store, t, payload.id)
            .await
            .map(|n| json!({ "status": "canceled", "runs": n })),
        _ => Ok(json!({ "status": "ignored" })),
    }
}

/// A company added or updated: when its status is now an offboarded one, its
/// configurations are deactivated.
async fn company_changed(
    app: &AppState,
    t: &Trigger,
    payload: &CallbackPayload,
) -> Result<serde_json::Value, AppError> {
    use crate::workflows::offboarding::{self, Params};
    if !matches!(
        payload.action.to_ascii_lowercase().as_str(),
        "added" | "updated"
    ) {
        return Ok(json!({ "status": "ignored" }));
    }
    let params: Params = t
        .inputs
        .clone()
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default();
    let status = payload
        .entity
        .as_deref()
        .and_then(|e| serde_json::from_str::<serde_json::Value>(e).ok())
        .and_then(|e| e["status"]["name"].as_str().map(str::to_owned))
        .unwrap_or_default();
    if !params
        .offboarded_statuses
        .iter()
        .any(|s| s.eq_ignore_ascii_case(&status))
    {
        return Ok(
            json!({ "status": "ignored", "reason": format!("company status \"{status}\" is not offboarded") }),
        );
    }
    if usable(app, t).await.is_some() {
        return Ok(json!({ "status": "ignored", "reason": "the organization cannot start runs" }));
    }
    let p = Params {
        client_id: Some(payload.id),
        client_name: None,
        ..params
    };
    let e = offboarding::start(
        &app.store,
        t.org_id,
        t.pack_config_id,
        &p,
        "company_callback",
        Some(t.id),
    )
    .await?;
    Ok(json!({ "status": "started", "executionId": e.id }))
}

/// An offboarding webhook: `x-rewst-secret` must be the trigger's secret; the body's inputs
/// (over the trigger's defaults) start a run.
async fn webhook(app: &AppState, t: &Trigger, headers: &HeaderMap, body: &[u8]) -> Response {
    use crate::workflows::offboarding::{self, Params};
    let given = headers
        .get("x-rewst-secret")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !triggers::secret_ok(t, given) {
        tracing::warn!(trigger_id = %t.id, "webhook refused: wrong or missing secret");
        return json_error(
            StatusCode::UNAUTHORIZED,
            "bad_secret",
            "x-rewst-secret is missing or wrong",
        );
    }
    let sent: serde_json::Value = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(e) => {
                return json_error(
                    StatusCode::BAD_REQUEST,
                    "bad_payload",
                    &format!("the body must be JSON: {e}"),
                );
            }
        }
    };
    let Some(sent_obj) = sent.as_object() else {
        return json_error(
            StatusCode::BAD_REQUEST,
            "bad_payload",
            "the body must be a JSON object",
        );
    };
    let mut merged = t.inputs.clone().unwrap_or_else(|| json!({}));
    if let Some(m) = merged.as_object_mut() {
        m.retain(|_, v| !v.is_null() && v != &json!([]));
        for (k, v) in sent_obj {
            m.insert(k.clone(), v.clone());
        }
    }
    let params = match Params::parse(&merged, true) {
        Ok(p) => p,
        Err(AppError::Invalid(errors)) => {
            return (
                StatusCode::BAD_REQUEST,
                axum::Json(json!({ "error": "invalid_input", "validationErrors": errors })),
            )
                .into_response();
        }
        Err(e) => return json_internal(e),
    };
    if let Some(refusal) = usable(app, t).await {
        return refusal;
    }
    match offboarding::start(
        &app.store,
        t.org_id,
        t.pack_config_id,
        &params,
        "webhook",
        Some(t.id),
    )
    .await
    {
        Ok(e) => (
            StatusCode::ACCEPTED,
            axum::Json(json!({ "status": "started", "executionId": e.id })),
        )
            .into_response(),
        Err(e) => json_internal(e),
    }
}

fn json_internal(e: AppError) -> Response {
    if let AppError::Internal(cause) = &e {
        tracing::error!(error = ?cause, "callback failed");
    }
    json_error(e.status(), "failed", &e.client_message())
}

/// Checks the body's signature with the key behind `key_url`, fetched only from the
/// configured ConnectWise host and cached; a mismatch with a cached key refetches it once
/// (the key may have been rotated).
async fn signature_valid(
    app: &AppState,
    key_url: &str,
    host: &str,
    body: &[u8],
    signature: &str,
) -> bool {
    if !callbacks::key_url_allowed(key_url, host) {
        tracing::warn!(%key_url, "callback key_url is not on the configured ConnectWise host");
        return false;
    }
    let cached = {
        let keys = app.triggers.keys.lock().unwrap_or_else(|e| e.into_inner());
        keys.get(key_url)
            .filter(|(_, at)| at.elapsed() < KEY_TTL)
            .map(|(k, _)| k.clone())
    };
    if let Some(key) = &cached
        && callbacks::verify(body, signature, key)
    {
        return true;
    }
    match callbacks::fetch_signing_key(&app.store.http, key_url, host).await {
        Ok(key) => {
            let ok = callbacks::verify(body, signature, &key);
            app.triggers
                .keys
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(key_url.to_owned(), (key, Instant::now()));
            ok
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot fetch the callback signing key");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limiter_holds_both_windows() {
        let l = RateLimiter::new(3, 5);
        let key = Uuid::now_v7();
        let t0 = Instant::now();
        for i in 0..3 {
            assert_eq!(l.check(key, t0 + Duration::from_millis(i)), Ok(()));
        }
        assert_eq!(l.check(key, t0 + Duration::from_millis(10)), Err(1));
        // A second later the per-second window has room; the minute has two left.
        assert_eq!(l.check(key, t0 + Duration::from_millis(1100)), Ok(()));
        assert_eq!(l.check(key, t0 + Duration::from_millis(1200)), Ok(()));
        assert_eq!(l.check(key, t0 + Duration::from_millis(2500)), Err(58));
        // Another key is not affected.
        assert_eq!(l.check(Uuid::now_v7(), t0), Ok(()));
        // After the minute, the first ones are forgotten.
        assert_eq!(l.check(key, t0 + Duration::from_secs(61)), Ok(()));
    }

    #[test]
    fn live_link_ticket_parameters() {
        let q = |k: &str, v: &str| HashMap::from([(k.to_owned(), v.to_owned())]);
        assert_eq!(ticket_of(&q("ticketId", "1001")), Some(1001));
        assert_eq!(ticket_of(&q("id", " 7 ")), Some(7));
        assert_eq!(ticket_of(&q("srid", "12")), Some(12));
        assert_eq!(ticket_of(&q("srid", "abc")), None);
        assert_eq!(ticket_of(&q("ticketId", "-1")), None);
        assert_eq!(ticket_of(&HashMap::new()), None);
    }
}
