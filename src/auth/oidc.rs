//! Bearer tokens from the MSP's identity provider (Entra ID, Auth0, Okta, Google…):
//! keys come from the issuer's discovery document and JWKS, are cached, and are fetched
//! again when a token names a key we do not know (key rotation), at most once per
//! `min_refresh`. RS256 and ES256 only, each key pinned to its algorithm; `iss`, `aud`,
//! `exp` and `nbf` are always checked.
use std::collections::HashMap;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use tokio::sync::{Mutex, RwLock};

use crate::error::{AppError, AppResult};

/// How long fetched keys are trusted before they are fetched again anyway.
const KEYS_MAX_AGE: Duration = Duration::from_secs(3600);

#[derive(Debug, Deserialize)]
pub struct OidcClaims {
    pub sub: String,
    #[serde(default)]
    pub email: Option<String>,
    /// Some providers send `true`, some `"true"`.
    #[serde(default)]
    pub email_verified: Option<serde_json::Value>,
}

impl OidcClaims {
    /// The e-mail address, when the provider vouches for it.
    pub fn verified_email(&self) -> Option<&str> {
        let verified = matches!(&self.email_verified, Some(serde_json::Value::Bool(true)))
            || matches!(&self.email_verified, Some(serde_json::Value::String(s)) if s == "true");
        self.email.as_deref().filter(|_| verified)
    }
}

#[derive(Default)]
struct KeyCache {
    keys: HashMap<String, Jwk>,
    fetched_at: Option<Instant>,
}

pub struct OidcVerifier {
    issuer: String,
    audience: String,
    http: reqwest::Client,
    min_refresh: Duration,
    cache: RwLock<KeyCache>,
    /// One fetch at a time; others wait and then use its result.
    fetching: Mutex<()>,
}

#[derive(Deserialize)]
struct Discovery {
    jwks_uri: String,
}

impl OidcVerifier {
    pub fn new(
        issuer: String,
        audience: String,
        min_refresh: Duration,
        http: reqwest::Client,
    ) -> Self {
        OidcVerifier {
            issuer: issuer.trim_end_matches('/').to_owned(),
            audience,
            http,
            min_refresh,
            cache: RwLock::new(KeyCache::default()),
            fetching: Mutex::new(()),
        }
    }

    /// Whether `iss` names this provider (with or without a trailing slash).
    pub fn issues(&self, iss: &str) -> bool {
        iss.trim_end_matches('/') == self.issuer
    }

    async fn fetch(&self) -> anyhow::Result<HashMap<String, Jwk>> {
        let discovery_url = format!("{}/.well-known/openid-configuration", self.issuer);
        let discovery: Discovery = self
            .http
            .get(&discovery_url)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let set: JwkSet = self
            .http
            .get(&discovery.jwks_uri)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        Ok(set
            .keys
            .into_iter()
            .filter_map(|k| k.common.key_id.clone().map(|kid| (kid, k)))
            .collect())
    }

    /// The key named `kid`, fetching the key set when it is unknown or old.
    async fn key(&self, kid: &str) -> AppResult<Option<Jwk>> {
        {
            let cache = self.cache.read().await;
            let fresh = cache.fetched_at.is_some_and(|t| t.elapsed() < KEYS_MAX_AGE);
            if fresh && let Some(k) = cache.keys.get(kid) {
                return Ok(Some(k.clone()));
            }
        }
        let _one_at_a_time = self.fetching.lock().await;
        let cache = self.cache.read().await;
        let stale = cache.fetched_at.is_none_or(|t| t.elapsed() >= KEYS_MAX_AGE);
        let may_refetch = cache
            .fetched_at
            .is_none_or(|t| t.elapsed() >= self.min_refresh);
        if !(stale || (!cache.keys.contains_key(kid) && may_refetch)) {
            return Ok(cache.keys.get(kid).cloned());
        }
        drop(cache);
        match self.fetch().await {
            Ok(keys) => {
                let mut cache = self.cache.write().await;
                cache.keys = keys;
                cache.fetched_at = Some(Instant::now());
                Ok(cache.keys.get(kid).cloned())
            }
            Err(e) => {
                tracing::warn!(issuer = %self.issuer, error = %e, "cannot fetch the identity provider's keys");
                // Keep serving the keys we have; an unknown one stays unknown.
                Ok(self.cache.read().await.keys.get(kid).cloned())
            }
        }
    }

    pub async fn verify(&self, token: &str) -> AppResult<OidcClaims> {
        let rejected = |why: &str| AppError::Unauthenticated(format!("Invalid token: {why}"));
        let header = jsonwebtoken::decode_header(token).map_err(|_| rejected("malformed"))?;
        if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256) {
            return Err(rejected("unsupported algorithm"));
        }
        let kid = header.kid.as_deref().ok_or_else(|| rejected("no key id"))?;
        let jwk = self
            .key(kid)
            .await?
            .ok_or_else(|| rejected("unknown signing key"))?;
        // Each key signs with one algorithm only.
        let key_alg = match &jwk.algorithm {
            AlgorithmParameters::RSA(_) => Algorithm::RS256,
            AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P256 => {
                Algorithm::ES256
            }
            _ => return Err(rejected("unsupported key type")),
        };
        let declared_ok = match jwk.common.key_algorithm {
            None => true,
            Some(KeyAlgorithm::RS256) => key_alg == Algorithm::RS256,
            Some(KeyAlgorithm::ES256) => key_alg == Algorithm::ES256,
            Some(_) => false,
        };
        if header.alg != key_alg || !declared_ok {
            return Err(rejected("algorithm does not match the key"));
        }
        let key = DecodingKey::from_jwk(&jwk).map_err(|_| rejected("unusable signing key"))?;
        let mut validation = Validation::new(key_alg);
        validation.set_issuer(&[&self.issuer, &format!("{}/", self.issuer)]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = 30;
        jsonwebtoken::decode::<OidcClaims>(token, &key, &validation)
            .map(|d| d.claims)
            .map_err(|e| {
                use jsonwebtoken::errors::ErrorKind;
                match e.kind() {
                    ErrorKind::ExpiredSignature => rejected("expired"),
                    ErrorKind::ImmatureSignature => rejected("not valid yet"),
                    ErrorKind::InvalidIssuer => rejected("wrong issuer"),
                    ErrorKind::InvalidAudience => rejected("wrong audience"),
                    ErrorKind::InvalidSignature => rejected("bad signature"),
                    _ => rejected("not accepted"),
                }
            })
    }
}
