//! ConnectWise callbacks: the payload ConnectWise POSTs when a record changes, and the check
//! of its `x-content-signature` — `base64(HMAC-SHA256(key = SHA256(signing_key), raw body))`,
//! with the signing key fetched from `Metadata.key_url`, and only from the configured host.
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct CallbackMetadata {
    pub key_url: String,
}

/// What ConnectWise sends.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct CallbackPayload {
    pub message_id: String,
    pub from_url: String,
    pub company_id: String,
    pub member_id: String,
    /// `added`, `updated` or `deleted`.
    pub action: String,
    /// Lower case: `ticket`, `company`, `configuration`…
    #[serde(rename = "Type")]
    pub kind: String,
    #[serde(rename = "ID")]
    pub id: i64,
    /// The record as a JSON string; null on delete.
    pub entity: Option<String>,
    pub metadata: CallbackMetadata,
    pub callback_object_rec_id: i64,
}

/// The signature ConnectWise puts in `x-content-signature` for `body`.
pub fn sign(body: &[u8], signing_key: &str) -> String {
    let key = Sha256::digest(signing_key.as_bytes());
    // HMAC accepts keys of any length.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(body);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Whether `signature` is ConnectWise's for `body` (constant time).
pub fn verify(body: &[u8], signature: &str, signing_key: &str) -> bool {
    let Ok(given) = base64::engine::general_purpose::STANDARD.decode(signature.trim()) else {
        return false;
    };
    let key = Sha256::digest(signing_key.as_bytes());
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(&key) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

/// Whether `key_url` points at the configured ConnectWise host (any other host could serve
/// a key of its choosing and forge callbacks).
pub fn key_url_allowed(key_url: &str, configured_host: &str) -> bool {
    let rest = key_url.strip_prefix("https://").or_else(|| {
        key_url.strip_prefix("http://").filter(|_| {
            configured_host.starts_with("127.") || configured_host.starts_with("localhost")
        })
    });
    let Some(rest) = rest else { return false };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    !host.contains('@') && host.eq_ignore_ascii_case(configured_host.trim().trim_end_matches('/'))
}

#[derive(Deserialize)]
struct SigningKey {
    signing_key: String,
}

/// Fetches the signing key behind `key_url`, refusing any host but the configured one.
pub async fn fetch_signing_key(
    http: &reqwest::Client,
    key_url: &str,
    configured_host: &str,
) -> Result<String, String> {
    if !key_url_allowed(key_url, configured_host) {
        return Err(format!(
            "key_url {key_url} is not on the configured ConnectWise host {configured_host}"
        ));
    }
    let res = http
        .get(key_url)
        .send()
        .await
        .map_err(|e| format!("cannot fetch the signing key: {e}"))?;
    if !res.status().is_success() {
        return Err(format!("the signing key URL answered {}", res.status()));
    }
    res.json::<SigningKey>()
        .await
        .map(|k| k.signing_key)
        .map_err(|e| format!("unreadable signing key: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_round_trip_and_tampering_fails() {
        let body = br#"{"Action":"updated","Type":"ticket","ID":1001}"#;
        let sig = sign(body, "k3y");
        assert!(verify(body, &sig, "k3y"));
        assert!(!verify(body, &sig, "other"));
        assert!(!verify(
            br#"{"Action":"deleted","Type":"ticket","ID":1001}"#,
            &sig,
            "k3y"
        ));
        assert!(!verify(body, "not base64!", "k3y"));
    }

    #[test]
    fn key_urls_only_from_the_configured_host() {
        assert!(key_url_allowed(
            "https://na.myconnectwise.net/v4_6_release/apis/3.0/system/callbackkeys/1",
            "na.myconnectwise.net"
        ));
        assert!(!key_url_allowed(
            "https://evil.example/key",
            "na.myconnectwise.net"
        ));
        assert!(!key_url_allowed(
            "https://na.myconnectwise.net@evil.example/key",
            "na.myconnectwise.net"
        ));
        assert!(
            !key_url_allowed("http://na.myconnectwise.net/key", "na.myconnectwise.net"),
            "plain http only for loopback"
        );
        assert!(key_url_allowed(
            "http://127.0.0.1:4000/key",
            "127.0.0.1:4000"
        ));
    }
}
