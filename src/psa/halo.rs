//! The HaloPSA REST client: OAuth2 client credentials against the authorisation server
//! (`/auth/token`, with `?tenant=` for hosted Halo), the bearer token cached until a minute
//! before it expires and renewed once when the API answers 401, `/api/Client` paged with
//! `pageinate`/`page_size`/`page_no`, and retries on 429 and 5xx.
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::autotask::{body_excerpt, decode, error_for, send_with_retries, site_url};
use super::oauth::{Token, TokenAnswer, TokenCache};
use crate::connectwise::client::CwError;

/// Clients asked per page.
pub const PAGE_SIZE: usize = 100;
/// Pages followed before the listing is taken for a loop.
const MAX_PAGES: usize = 10_000;
/// The customer types (Configuration > Customers > Customer Types).
const CUSTOMER_TYPES_PATH: &str = "CustomerType";

#[derive(Clone)]
pub struct HaloCredentials {
    /// The resource server, `acme.halopsa.com` or `https://acme.halopsa.com` (an `/api`
    /// suffix is fine).
    pub resource_server: String,
    /// The authorisation server (`https://acme.halopsa.com/auth`); empty: the resource
    /// server's `/auth`.
    pub auth_server: String,
    pub client_id: String,
    pub client_secret: String,
    /// The tenant of a Halo-hosted instance, sent as `?tenant=` to the token endpoint.
    pub tenant: Option<String>,
    /// Installed on the MSP's own server: no tenant is sent.
    pub on_premise: bool,
}

impl std::fmt::Debug for HaloCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HaloCredentials")
            .field("resource_server", &self.resource_server)
            .field("auth_server", &self.auth_server)
            .field("client_id", &self.client_id)
            .field("tenant", &self.tenant)
            .field("on_premise", &self.on_premise)
            .finish_non_exhaustive()
    }
}

/// A Halo client (customer), with the fields orghub reads.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct HaloClientRecord {
    pub id: i64,
    pub name: String,
    #[serde(default)]
    pub inactive: bool,
    #[serde(default, deserialize_with = "non_empty")]
    pub website: Option<String>,
    /// The id of the client's customer type (`customertype`); Halo's 0 means none.
    #[serde(default, rename = "customertype", deserialize_with = "positive")]
    pub customer_type: Option<i64>,
}

fn non_empty<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.filter(|s| !s.trim().is_empty()))
}

fn positive<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(Option::<i64>::deserialize(d)?.filter(|v| *v > 0))
}

#[derive(Deserialize)]
struct ClientPage {
    #[serde(default)]
    record_count: Option<u64>,
    #[serde(default)]
    clients: Vec<Value>,
}

#[derive(Deserialize)]
struct NamedId {
    id: i64,
    #[serde(default)]
    name: String,
}

pub struct HaloClient {
    http: reqwest::Client,
    creds: HaloCredentials,
    token: TokenCache,
}

impl HaloClient {
    pub fn new(http: reqwest::Client, creds: HaloCredentials) -> Self {
        HaloClient {
            http,
            creds,
            token: TokenCache::default(),
        }
    }

    /// `https://acme.halopsa.com` (`http` for loopback).
    fn resource(&self) -> String {
        let site = site_url(&self.creds.resource_server);
        let lower = site.to_ascii_lowercase();
        match lower.strip_suffix("/api") {
            Some(kept) => site[..kept.len()].to_owned(),
            None => site,
        }
    }

    /// `{auth server}/token`, the auth server being the resource server's `/auth` unless
    /// named (with or without its `/auth`).
    fn token_url(&self) -> String {
        let auth = match self.creds.auth_server.trim() {
            "" => self.resource(),
            named => site_url(named),
        };
        let lower = auth.to_ascii_lowercase();
        if lower.ends_with("/auth") {
            format!("{auth}/token")
        } else {
            format!("{auth}/auth/token")
        }
    }

    /// A new token from the client credentials. The token endpoint's 400 and 401
    /// (`invalid_client`, an unknown tenant…) are refused credentials.
    async fn fetch_token(&self) -> Result<Token, CwError> {
        let c = &self.creds;
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", c.client_id.as_str()),
            ("client_secret", c.client_secret.as_str()),
            ("scope", "all"),
        ];
        let mut req = self.http.post(self.token_url()).form(&form);
        if let Some(tenant) = c
            .tenant
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty() && !c.on_premise)
        {
            req = req.query(&[("tenant", tenant)]);
        }
        let res = send_with_retries(req, || {}).await?;
        let status = res.status();
        if status == StatusCode::BAD_REQUEST || status == StatusCode::UNAUTHORIZED {
            let text = res.text().await.unwrap_or_default();
            return Err(CwError::Unauthorized(format!(
                "Halo refused the client credentials: {}",
                halo_message(status, &text)
            )));
        }
        if !status.is_success() {
            return Err(halo_error(res).await);
        }
        let answer: TokenAnswer = decode(res, "token").await?;
        answer.into_token()
    }

    /// The kept token, or a new one when there is none or it expires within a minute.
    async fn token(&self) -> Result<String, CwError> {
        self.token.get(|| self.fetch_token()).await
    }

    /// A token to replace `refused`; one already renewed by another call is reused.
    async fn renew(&self, refused: &str) -> Result<String, CwError> {
        self.token.renew(refused, || self.fetch_token()).await
    }

    /// `GET /api/{path}` as `T`, renewing the token once if it is refused.
    async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, CwError> {
        let url = format!("{}/api/{}", self.resource(), path.trim_start_matches('/'));
        let send = |token: String| {
            let req = self.http.get(&url).bearer_auth(token).query(query);
            send_with_retries(req, || {})
        };
        let token = self.token().await?;
        let mut res = send(token.clone()).await?;
        if res.status() == StatusCode::UNAUTHORIZED {
            let renewed = self.renew(&token).await?;
            res = send(renewed).await?;
        }
        if !res.status().is_success() {
            return Err(halo_error(res).await);
        }
        decode(res, path).await
    }

    /// Every client, active or not, page by page.
    pub async fn clients(&self) -> Result<Vec<HaloClientRecord>, CwError> {
        let mut out = Vec::new();
        for page_no in 1..=MAX_PAGES {
            let query = [
                ("pageinate", "true".to_owned()),
                ("page_size", PAGE_SIZE.to_string()),
                ("page_no", page_no.to_string()),
                ("includeinactive", "true".to_owned()),
            ];
            let page: ClientPage = self.get("Client", &query).await?;
            let read = page.clients.len();
            for v in page.clients {
                out.push(
                    serde_json::from_value(v)
                        .map_err(|e| CwError::Protocol(format!("client: {e}")))?,
                );
            }
            let all_read = page
                .record_count
                .is_some_and(|total| out.len() as u64 >= total);
            if read < PAGE_SIZE || all_read {
                return Ok(out);
            }
        }
        Err(CwError::Protocol(format!(
            "more than {MAX_PAGES} pages of clients"
        )))
    }

    pub async fn client(&self, id: i64) -> Result<HaloClientRecord, CwError> {
        self.get(&format!("Client/{id}"), &[]).await
    }

    /// The customer types a client can have: (id, name).
    pub async fn client_types(&self) -> Result<Vec<(String, String)>, CwError> {
        let answer: Value = self.get(CUSTOMER_TYPES_PATH, &[]).await?;
        // A bare list, or a list inside an object as Halo's paged answers have.
        let list = match answer {
            Value::Array(items) => items,
            Value::Object(map) => map
                .into_iter()
                .find_map(|(_, v)| match v {
                    Value::Array(items) => Some(items),
                    _ => None,
                })
                .unwrap_or_default(),
            other => {
                return Err(CwError::Protocol(format!(
                    "customer types: expected a list, got {other}"
                )));
            }
        };
        list.into_iter()
            .map(|v| {
                let t: NamedId = serde_json::from_value(v)
                    .map_err(|e| CwError::Protocol(format!("customer type: {e}")))?;
                Ok((t.id.to_string(), t.name))
            })
            .collect()
    }

    /// The health check: a token, then one client. Returns how long it took.
    pub async fn check(&self) -> Result<Duration, CwError> {
        let started = Instant::now();
        let query = [
            ("pageinate", "true".to_owned()),
            ("page_size", "1".to_owned()),
            ("page_no", "1".to_owned()),
        ];
        let _: Value = self.get("Client", &query).await?;
        Ok(started.elapsed())
    }
}

/// The message of a Halo or OAuth error body: a JSON string, an OAuth `error` with its
/// `error_description`, or an object's `message`; else the body itself.
fn halo_message(status: StatusCode, text: &str) -> String {
    let field = |v: &Value, k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let found = match serde_json::from_str::<Value>(text) {
        Ok(Value::String(s)) => Some(s),
        Ok(v @ Value::Object(_)) => match (field(&v, "error"), field(&v, "error_description")) {
            (Some(e), Some(d)) => Some(format!("{e}: {d}")),
            (e, d) => d.or(e).or_else(|| {
                ["message", "Message", "title"]
                    .iter()
                    .find_map(|k| field(&v, k))
            }),
        },
        _ => None,
    };
    found
        .filter(|m| !m.trim().is_empty())
        .unwrap_or_else(|| body_excerpt(status, text))
}

async fn halo_error(res: reqwest::Response) -> CwError {
    let status = res.status();
    let text = res.text().await.unwrap_or_default();
    let message = if status == StatusCode::UNAUTHORIZED && text.trim().is_empty() {
        "Halo refused the access token".to_owned()
    } else {
        halo_message(status, &text)
    };
    error_for(status, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::psa::halo_sim::{Faults, HaloSimCredentials, HaloSimulator};

    async fn sim(clients: usize, creds: HaloSimCredentials) -> HaloSimulator {
        HaloSimulator::start(clients, creds).await.unwrap()
    }

    fn client(creds: HaloCredentials) -> HaloClient {
        HaloClient::new(crate::http_client().unwrap(), creds)
    }

    #[test]
    fn token_urls() {
        let halo = |resource: &str, auth: &str| {
            client(HaloCredentials {
                resource_server: resource.into(),
                auth_server: auth.into(),
                client_id: String::new(),
                client_secret: String::new(),
                tenant: None,
                on_premise: false,
            })
        };
        assert_eq!(
            halo("acme.halopsa.com", "").token_url(),
            "https://acme.halopsa.com/auth/token"
        );
        assert_eq!(
            halo("https://acme.halopsa.com/api/", "https://auth.example/auth").token_url(),
            "https://auth.example/auth/token"
        );
        assert_eq!(
            halo("https://acme.halopsa.com/api", "").resource(),
            "https://acme.halopsa.com"
        );
        assert_eq!(
            halo("127.0.0.1:8080", "").token_url(),
            "http://127.0.0.1:8080/auth/token"
        );
    }

    #[tokio::test]
    async fn one_token_serves_many_calls() {
        let sim = sim(30, HaloSimCredentials::default()).await;
        let halo = client(sim.client_credentials());
        let all = halo.clients().await.unwrap();
        assert_eq!(all.len(), 30);
        assert_eq!(all.iter().filter(|c| c.inactive).count(), 3);
        assert!(all[9].inactive && !all[8].inactive);
        let one = halo.client(4).await.unwrap();
        assert_eq!(one, all[3]);
        assert!(one.customer_type.is_some());
        halo.check().await.unwrap();
        assert_eq!(sim.tokens_issued(), 1);
    }

    #[tokio::test]
    async fn pages_over_250_clients() {
        let sim = sim(250, HaloSimCredentials::default()).await;
        let halo = client(sim.client_credentials());
        let before = sim.requests();
        let all = halo.clients().await.unwrap();
        assert_eq!(all.len(), 250);
        assert!(all.iter().enumerate().all(|(i, c)| c.id == i as i64 + 1));
        assert_eq!(
            sim.requests() - before,
            4,
            "a token, then pages of 100, 100 and 50"
        );
        assert!(all.iter().any(|c| c.website.is_none()));
        assert!(all.iter().any(|c| c.website.is_some()));
    }

    #[tokio::test]
    async fn client_types_and_a_missing_client() {
        let sim = sim(12, HaloSimCredentials::default()).await;
        let halo = client(sim.client_credentials());
        let types = halo.client_types().await.unwrap();
        assert!(types.contains(&("1".to_owned(), "Managed".to_owned())));
        let all = halo.clients().await.unwrap();
        assert!(all.iter().all(|c| {
            let t = c.customer_type.unwrap().to_string();
            types.iter().any(|(id, _)| *id == t)
        }));
        assert!(matches!(halo.client(999).await, Err(CwError::NotFound(_))));
    }

    #[tokio::test]
    async fn a_wrong_secret_is_unauthorized() {
        let sim = sim(3, HaloSimCredentials::default()).await;
        let mut creds = sim.client_credentials();
        creds.client_secret = "wrong".into();
        let err = client(creds).clients().await.unwrap_err();
        match &err {
            CwError::Unauthorized(m) => assert!(m.contains("invalid_client"), "{m}"),
            other => panic!("expected Unauthorized, got {other:?}"),
        }
        assert_eq!(sim.tokens_issued(), 0);
    }

    #[tokio::test]
    async fn an_expired_token_is_renewed_once() {
        let sim = sim(5, HaloSimCredentials::default()).await;
        let halo = client(sim.client_credentials());
        halo.check().await.unwrap();
        sim.expire_tokens();
        assert_eq!(halo.clients().await.unwrap().len(), 5);
        assert_eq!(sim.tokens_issued(), 2);
        // The renewed token is kept.
        halo.client(1).await.unwrap();
        assert_eq!(sim.tokens_issued(), 2);
    }

    #[tokio::test]
    async fn a_short_lived_token_is_renewed_before_it_expires() {
        let creds = HaloSimCredentials {
            expires_in: 30,
            ..HaloSimCredentials::default()
        };
        let sim = sim(5, creds).await;
        let halo = client(sim.client_credentials());
        halo.check().await.unwrap();
        halo.check().await.unwrap();
        assert_eq!(sim.tokens_issued(), 2, "under a minute left: renewed");
    }

    #[tokio::test]
    async fn the_tenant_must_match() {
        let creds = HaloSimCredentials {
            tenant: Some("acme".into()),
            ..HaloSimCredentials::default()
        };
        let sim = sim(5, creds).await;
        let good = sim.client_credentials();
        assert_eq!(good.tenant.as_deref(), Some("acme"));
        client(good.clone()).check().await.unwrap();

        let mut other = good.clone();
        other.tenant = Some("globex".into());
        let err = client(other).check().await.unwrap_err();
        assert!(matches!(err, CwError::Unauthorized(_)), "{err:?}");

        let mut none = good;
        none.on_premise = true;
        let err = client(none).check().await.unwrap_err();
        assert!(matches!(err, CwError::Unauthorized(_)), "{err:?}");
    }

    #[tokio::test]
    async fn rate_limits_are_waited_out() {
        let sim = sim(5, HaloSimCredentials::default()).await;
        let halo = client(sim.client_credentials());
        halo.check().await.unwrap();
        sim.set_faults(Faults {
            rate_limited: 1,
            ..Faults::default()
        });
        let started = Instant::now();
        assert_eq!(halo.clients().await.unwrap().len(), 5);
        assert!(
            started.elapsed() >= Duration::from_secs(1),
            "Retry-After: 1"
        );
        assert_eq!(sim.tokens_issued(), 1);
    }

    #[tokio::test]
    async fn server_errors_fail_after_retries() {
        let sim = sim(5, HaloSimCredentials::default()).await;
        let halo = client(sim.client_credentials());
        halo.check().await.unwrap();
        sim.set_faults(Faults {
            server_errors: 5,
            ..Faults::default()
        });
        let err = halo.clients().await.unwrap_err();
        assert!(
            matches!(err, CwError::Server { status: 500, .. }),
            "{err:?}"
        );
    }
}
