//! OAuth2 client-credentials tokens kept until a minute before they expire, renewed once
//! when the API refuses one: what the HaloPSA and custom-pack clients share.
use std::future::Future;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::Value;

use crate::connectwise::client::CwError;

/// A token is renewed this long before it expires.
const MARGIN: Duration = Duration::from_secs(60);
/// When the token endpoint does not say how long its token lives.
const DEFAULT_LIFETIME: u64 = 3600;

/// The token endpoint's answer.
#[derive(Deserialize)]
pub(crate) struct TokenAnswer {
    #[serde(default)]
    access_token: String,
    #[serde(default)]
    expires_in: Option<Value>,
}

impl TokenAnswer {
    pub(crate) fn into_token(self) -> Result<Token, CwError> {
        if self.access_token.trim().is_empty() {
            return Err(CwError::Protocol("a token answer without a token".into()));
        }
        let lifetime = self
            .expires_in
            .and_then(|v| v.as_u64().or_else(|| v.as_str()?.trim().parse().ok()))
            .unwrap_or(DEFAULT_LIFETIME);
        Ok(Token {
            value: self.access_token,
            renew_at: Instant::now() + Duration::from_secs(lifetime).saturating_sub(MARGIN),
        })
    }
}

pub(crate) struct Token {
    value: String,
    renew_at: Instant,
}

/// The token of one client.
#[derive(Default)]
pub(crate) struct TokenCache(tokio::sync::Mutex<Option<Token>>);

impl TokenCache {
    /// The kept token, or a new one from `fetch` when there is none or it expires soon.
    pub(crate) async fn get<F: Future<Output = Result<Token, CwError>>>(
        &self,
        fetch: impl FnOnce() -> F,
    ) -> Result<String, CwError> {
        let mut kept = self.0.lock().await;
        if let Some(t) = kept.as_ref()
            && Instant::now() < t.renew_at
        {
            return Ok(t.value.clone());
        }
        let fresh = fetch().await?;
        let value = fresh.value.clone();
        *kept = Some(fresh);
        Ok(value)
    }

    /// A token to replace `refused`; one another call has renewed meanwhile is reused.
    pub(crate) async fn renew<F: Future<Output = Result<Token, CwError>>>(
        &self,
        refused: &str,
        fetch: impl FnOnce() -> F,
    ) -> Result<String, CwError> {
        let mut kept = self.0.lock().await;
        if let Some(t) = kept.as_ref()
            && t.value != refused
            && Instant::now() < t.renew_at
        {
            return Ok(t.value.clone());
        }
        *kept = None;
        let fresh = fetch().await?;
        let value = fresh.value.clone();
        *kept = Some(fresh);
        Ok(value)
    }
}
