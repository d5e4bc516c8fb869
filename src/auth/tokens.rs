//! JSON Web Tokens: HS256 tokens we mint for operators, and RS256 tokens signed by a
//! configured key. The algorithm is pinned per key; `exp`, `iss` and `aud` are always checked.
use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{AppError, AppResult};

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub iss: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// For API clients: the secret generation the token was issued under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgen: Option<i32>,
}

#[derive(Clone)]
pub struct TokenService {
    hs_encoding: EncodingKey,
    hs_decoding: DecodingKey,
    rs_decoding: Option<DecodingKey>,
    issuer: String,
    audience: String,
}

impl TokenService {
    pub fn new(
        hs_secret: &[u8],
        rs_public_pem: Option<&[u8]>,
        issuer: String,
        audience: String,
    ) -> anyhow::Result<Self> {
        let rs_decoding = rs_public_pem
            .map(DecodingKey::from_rsa_pem)
            .transpose()
            .map_err(|e| anyhow::anyhow!("the RS256 public key is not a valid PEM RSA key: {e}"))?;
        Ok(TokenService {
            hs_encoding: EncodingKey::from_secret(hs_secret),
            hs_decoding: DecodingKey::from_secret(hs_secret),
            rs_decoding,
            issuer,
            audience,
        })
    }

    /// An HS256 token for a user, valid for `ttl`.
    pub fn mint(&self, user_id: Uuid, email: &str, ttl: Duration) -> anyhow::Result<String> {
        self.mint_with(user_id, email, ttl, None)
    }

    /// An HS256 token for an API client's user, tied to its secret generation.
    pub fn mint_for_client(
        &self,
        user_id: Uuid,
        email: &str,
        ttl: Duration,
        generation: i32,
    ) -> anyhow::Result<String> {
        self.mint_with(user_id, email, ttl, Some(generation))
    }

    fn mint_with(
        &self,
        user_id: Uuid,
        email: &str,
        ttl: Duration,
        cgen: Option<i32>,
    ) -> anyhow::Result<String> {
        let now = chrono::Utc::now().timestamp();
        let ttl = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX / 2);
        let claims = Claims {
            sub: user_id.to_string(),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            exp: now.saturating_add(ttl),
            iat: now,
            email: Some(email.to_owned()),
            cgen,
        };
        Ok(jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &self.hs_encoding,
        )?)
    }

    pub fn verify(&self, token: &str) -> AppResult<Claims> {
        let rejected = |why: &str| AppError::Unauthenticated(format!("Invalid token: {why}"));
        let header = jsonwebtoken::decode_header(token).map_err(|_| rejected("malformed"))?;
        let key = match header.alg {
            Algorithm::HS256 => &self.hs_decoding,
            Algorithm::RS256 => self
                .rs_decoding
                .as_ref()
                .ok_or_else(|| rejected("RS256 tokens are not accepted"))?,
            _ => return Err(rejected("unsupported algorithm")),
        };
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 30;
        jsonwebtoken::decode::<Claims>(token, key, &validation)
            .map(|data| data.claims)
            .map_err(|e| {
                use jsonwebtoken::errors::ErrorKind;
                match e.kind() {
                    ErrorKind::ExpiredSignature => rejected("expired"),
                    ErrorKind::InvalidIssuer => rejected("wrong issuer"),
                    ErrorKind::InvalidAudience => rejected("wrong audience"),
                    ErrorKind::InvalidSignature => rejected("bad signature"),
                    _ => rejected("not accepted"),
                }
            })
    }
}

/// Parses `1h`, `30m`, `7d`, `45s` or plain seconds.
pub fn parse_ttl(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration such as 1h, 30m, 7d"))?;
    let secs = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        _ => return Err(format!("`{s}`: unknown unit `{unit}` (use s, m, h or d)")),
    };
    n.checked_mul(secs)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("`{s}` is too long"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service() -> TokenService {
        TokenService::new(
            b"0123456789abcdef0123456789abcdef",
            None,
            "orghub".into(),
            "orghub".into(),
        )
        .unwrap()
    }

    #[test]
    fn minted_tokens_verify() {
        let s = service();
        let id = Uuid::now_v7();
        let t = s.mint(id, "a@b.c", Duration::from_secs(60)).unwrap();
        assert_eq!(s.verify(&t).unwrap().sub, id.to_string());
    }

    #[test]
    fn wrong_audience_issuer_or_secret_rejected() {
        let s = service();
        let t = s
            .mint(Uuid::now_v7(), "a@b.c", Duration::from_secs(60))
            .unwrap();
        let other_aud = TokenService::new(
            b"0123456789abcdef0123456789abcdef",
            None,
            "orghub".into(),
            "x".into(),
        )
        .unwrap();
        assert!(other_aud.verify(&t).is_err());
        let other_iss = TokenService::new(
            b"0123456789abcdef0123456789abcdef",
            None,
            "x".into(),
            "orghub".into(),
        )
        .unwrap();
        assert!(other_iss.verify(&t).is_err());
        let other_key = TokenService::new(
            b"another secret, another secret!!",
            None,
            "orghub".into(),
            "orghub".into(),
        )
        .unwrap();
        assert!(other_key.verify(&t).is_err());
        assert!(s.verify("not.a.token").is_err());
    }

    #[test]
    fn expired_tokens_rejected() {
        let s = service();
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: "x".into(),
            iss: "orghub".into(),
            aud: "orghub".into(),
            exp: now - 3600,
            iat: now - 7200,
            email: None,
            cgen: None,
        };
        let t =
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &s.hs_encoding).unwrap();
        assert!(matches!(s.verify(&t), Err(AppError::Unauthenticated(m)) if m.contains("expired")));
    }

    #[test]
    fn alg_none_and_unsupported_algorithms_rejected() {
        let s = service();
        // {"alg":"none","typ":"JWT"} . {"sub":"x"} . (no signature)
        let t = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJ4In0.";
        assert!(s.verify(t).is_err());
        // RS256 header while no public key is configured.
        let t = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ4In0.c2ln";
        assert!(matches!(s.verify(t), Err(AppError::Unauthenticated(m)) if m.contains("RS256")));
    }

    #[test]
    fn ttl_parses() {
        assert_eq!(parse_ttl("1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(parse_ttl("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_ttl("7d").unwrap(), Duration::from_secs(7 * 86400));
        assert!(parse_ttl("1w").is_err());
        assert!(parse_ttl("h").is_err());
    }
}
