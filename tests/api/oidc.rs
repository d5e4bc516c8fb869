//! Sign-in through an OpenID Connect identity provider: a local provider on a loopback
//! port serves the discovery document and a JWKS the test controls.
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::helpers::{TestApp, code, fresh_database_url, spawn_with, test_config};

const AUDIENCE: &str = "orghub-app";

#[derive(Clone)]
struct Provider {
    base: String,
    keys: Arc<Mutex<Vec<Jwk>>>,
}

async fn discovery(State(p): State<Provider>) -> Json<Value> {
    Json(json!({ "issuer": p.base, "jwks_uri": format!("{}/jwks", p.base) }))
}

async fn jwks(State(p): State<Provider>) -> Json<JwkSet> {
    Json(JwkSet {
        keys: p.keys.lock().unwrap().clone(),
    })
}

struct Key {
    kid: &'static str,
    alg: Algorithm,
    encoding: EncodingKey,
}

impl Key {
    fn load(file: &str, kid: &'static str, alg: Algorithm) -> Key {
        let pem = std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/api/fixtures")
                .join(file),
        )
        .unwrap();
        let encoding = if alg == Algorithm::ES256 {
            EncodingKey::from_ec_pem(&pem)
        } else {
            EncodingKey::from_rsa_pem(&pem)
        }
        .unwrap();
        Key { kid, alg, encoding }
    }

    fn jwk(&self) -> Jwk {
        let mut jwk = Jwk::from_encoding_key(&self.encoding, self.alg).unwrap();
        jwk.common.key_id = Some(self.kid.into());
        jwk
    }

    fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(self.alg);
        header.kid = Some(self.kid.into());
        jsonwebtoken::encode(&header, claims, &self.encoding).unwrap()
    }
}

async fn start_provider(keys: Vec<Jwk>) -> Provider {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let provider = Provider {
        base: format!("http://{addr}"),
        keys: Arc::new(Mutex::new(keys)),
    };
    let router = Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/jwks", get(jwks))
        .with_state(provider.clone());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    provider
}

async fn app_with(provider: &Provider) -> TestApp {
    let mut config = test_config(fresh_database_url().await);
    config.oidc_issuer = Some(provider.base.clone());
    config.oidc_audience = Some(AUDIENCE.into());
    config.oidc_jwks_min_refresh_secs = 0;
    spawn_with(config).await
}

fn claims(provider: &Provider, sub: &str, email: &str, verified: bool) -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({ "iss": provider.base, "aud": AUDIENCE, "sub": sub, "email": email, "email_verified": verified, "iat": now, "nbf": now - 5, "exp": now + 600 })
}

const ME: &str = "{ me { username sub roleIds organization { name } } }";

#[tokio::test]
async fn invited_users_sign_in_and_are_linked_by_sub() {
    let rsa = Key::load("rs256-private.pem", "k1", Algorithm::RS256);
    let ec = Key::load("es256-private.pem", "k-ec", Algorithm::ES256);
    let provider = start_provider(vec![rsa.jwk(), ec.jwk()]).await;
    let app = app_with(&provider).await;
    app.ok(&app.admin, "mutation($o: ID!) { createUser(user: {orgId: $o, username: \"Tech@Acme.test\", roleIds: [\"member\"]}) { id } }", json!({ "o": app.msp_id }))
        .await;

    // First sign-in: matched by the verified e-mail, then linked.
    let t = rsa.sign(&claims(&provider, "idp|tech", "tech@acme.TEST", true));
    let me = app.ok(&t, ME, json!({})).await;
    assert_eq!(
        me["me"],
        json!({ "username": "Tech@Acme.test", "sub": "idp|tech", "roleIds": ["member"], "organization": { "name": "Acme MSP" } })
    );
    let log = app
        .ok(
            &app.admin,
            "query($o: ID!) { permissionAuditLog(orgId: $o, limit: 1) { action } }",
            json!({ "o": app.msp_id }),
        )
        .await;
    assert_eq!(log["permissionAuditLog"][0]["action"], "user.first_sign_in");
    // From now on by `sub`, whatever the e-mail says; ES256 keys work too.
    let t = ec.sign(&claims(
        &provider,
        "idp|tech",
        "renamed@elsewhere.test",
        false,
    ));
    assert_eq!(
        app.ok(&t, ME, json!({})).await["me"]["username"],
        "Tech@Acme.test"
    );

    // Nobody invited this person.
    let t = rsa.sign(&claims(
        &provider,
        "idp|stranger",
        "stranger@acme.test",
        true,
    ));
    let body = app.gql(&t, ME, json!({})).await;
    assert_eq!(code(&body), "UNAUTHENTICATED");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("ask an admin"),
        "{body}"
    );
    // Invited, but the provider does not vouch for the address: not linked.
    app.ok(&app.admin, "mutation($o: ID!) { createUser(user: {orgId: $o, username: \"new@acme.test\", roleIds: [\"member\"]}) { id } }", json!({ "o": app.msp_id }))
        .await;
    let t = rsa.sign(&claims(&provider, "idp|new", "new@acme.test", false));
    assert_eq!(code(&app.gql(&t, ME, json!({})).await), "UNAUTHENTICATED");

    // Operator tokens keep working beside the provider's.
    app.ok(&app.admin, ME, json!({})).await;
}

#[tokio::test]
async fn bad_tokens_are_refused() {
    let rsa = Key::load("rs256-private.pem", "k1", Algorithm::RS256);
    let provider = start_provider(vec![rsa.jwk()]).await;
    let app = app_with(&provider).await;
    app.ok(&app.admin, "mutation($o: ID!) { createUser(user: {orgId: $o, username: \"tech@acme.test\", roleIds: [\"member\"]}) { id } }", json!({ "o": app.msp_id }))
        .await;
    let good = claims(&provider, "idp|tech", "tech@acme.test", true);
    app.ok(&rsa.sign(&good), ME, json!({})).await;

    let now = chrono::Utc::now().timestamp();
    let mut expired = good.clone();
    expired["exp"] = json!(now - 120);
    let mut wrong_aud = good.clone();
    wrong_aud["aud"] = json!("someone-else");
    let mut not_yet = good.clone();
    not_yet["nbf"] = json!(now + 600);
    for (claims, why) in [
        (expired, "expired"),
        (wrong_aud, "wrong audience"),
        (not_yet, "not valid yet"),
    ] {
        let body = app.gql(&rsa.sign(&claims), ME, json!({})).await;
        assert_eq!(code(&body), "UNAUTHENTICATED");
        assert!(
            body["errors"][0]["message"].as_str().unwrap().contains(why),
            "{why}: {body}"
        );
    }
    // Signed by a key the provider never published.
    let stranger = Key::load("rs256-other-private.pem", "k1", Algorithm::RS256);
    assert_eq!(
        code(&app.gql(&stranger.sign(&good), ME, json!({})).await),
        "UNAUTHENTICATED"
    );
    // Algorithm confusion: HS256 with the provider's issuer is not accepted.
    let hs = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &good,
        &EncodingKey::from_secret(b"whatever-whatever-whatever-1234"),
    )
    .unwrap();
    assert_eq!(code(&app.gql(&hs, ME, json!({})).await), "UNAUTHENTICATED");
}

#[tokio::test]
async fn unknown_keys_trigger_a_refetch_so_rotation_just_works() {
    let old = Key::load("rs256-private.pem", "2026-old", Algorithm::RS256);
    let new = Key::load("rs256-other-private.pem", "2026-new", Algorithm::RS256);
    let provider = start_provider(vec![old.jwk()]).await;
    let app = app_with(&provider).await;
    app.ok(&app.admin, "mutation($o: ID!) { createUser(user: {orgId: $o, username: \"tech@acme.test\", roleIds: [\"member\"]}) { id } }", json!({ "o": app.msp_id }))
        .await;
    let c = claims(&provider, "idp|tech", "tech@acme.test", true);
    app.ok(&old.sign(&c), ME, json!({})).await;

    // A key the provider has not published yet is unknown.
    let body = app.gql(&new.sign(&c), ME, json!({})).await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("unknown signing key"),
        "{body}"
    );
    // The provider rotates: the new key is fetched on first sight, the old one is gone.
    *provider.keys.lock().unwrap() = vec![new.jwk()];
    app.ok(&new.sign(&c), ME, json!({})).await;
    assert_eq!(
        code(&app.gql(&old.sign(&c), ME, json!({})).await),
        "UNAUTHENTICATED"
    );
}
