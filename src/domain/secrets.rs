//! Encryption at rest for secret values: AES-256-GCM with a random 96-bit nonce per
//! value, stored as `v1:<hex nonce><hex ciphertext and tag>`.
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};

use crate::error::{AppError, AppResult};

const PREFIX: &str = "v1:";
const AAD: &[u8] = b"orghub secret v1";

pub struct SecretCipher(LessSafeKey);

impl std::fmt::Debug for SecretCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretCipher([redacted])")
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

impl SecretCipher {
    pub fn new(key: &[u8; 32]) -> Self {
        // A 32-byte key is always a valid AES-256 key.
        let key = UnboundKey::new(&AES_256_GCM, key).map(LessSafeKey::new);
        SecretCipher(key.unwrap_or_else(|_| unreachable!("AES-256 takes any 32-byte key")))
    }

    pub fn seal(&self, plain: &str) -> AppResult<String> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce)
            .map_err(|e| AppError::internal(anyhow::anyhow!("no randomness: {e}")))?;
        let mut buf = plain.as_bytes().to_vec();
        self.0
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(AAD),
                &mut buf,
            )
            .map_err(|_| AppError::internal(anyhow::anyhow!("encryption failed")))?;
        Ok(format!("{PREFIX}{}{}", hex(&nonce), hex(&buf)))
    }

    /// The clear value; an error (logged, never shown) when the key is not the one it was sealed with.
    pub fn open(&self, sealed: &str) -> AppResult<String> {
        let broken = || {
            AppError::internal(anyhow::anyhow!(
                "a stored secret cannot be decrypted: wrong ORGHUB_SECRET_KEY?"
            ))
        };
        let bytes = sealed
            .strip_prefix(PREFIX)
            .and_then(unhex)
            .ok_or_else(broken)?;
        if bytes.len() < NONCE_LEN {
            return Err(broken());
        }
        let (nonce, rest) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| broken())?;
        let mut rest = rest.to_vec();
        let plain = self
            .0
            .open_in_place(nonce, Aad::from(AAD), &mut rest)
            .map_err(|_| broken())?;
        String::from_utf8(plain.to_vec()).map_err(|_| broken())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_with_fresh_nonces() {
        let c = SecretCipher::new(&[7u8; 32]);
        let a = c.seal("hunter2").unwrap();
        let b = c.seal("hunter2").unwrap();
        assert_ne!(a, b, "a fresh nonce each time");
        assert!(!a.contains("hunter2"));
        assert_eq!(c.open(&a).unwrap(), "hunter2");
        assert_eq!(c.open(&c.seal("").unwrap()).unwrap(), "");
    }

    #[test]
    fn wrong_key_or_tampering_fails() {
        let a = SecretCipher::new(&[1u8; 32]).seal("x").unwrap();
        assert!(SecretCipher::new(&[2u8; 32]).open(&a).is_err());
        let mut t = a.clone();
        t.pop();
        t.push(if a.ends_with('0') { '1' } else { '0' });
        assert!(SecretCipher::new(&[1u8; 32]).open(&t).is_err());
        assert!(SecretCipher::new(&[1u8; 32]).open("plain").is_err());
    }
}
