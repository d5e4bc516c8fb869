//! The instance's keys: the HS256 token secret and the 32-byte key that encrypts
//! secrets at rest. Taken from the configuration, or generated once and kept in
//! `<sqlite file>.keys` (mode 0600) so restarts keep tokens and secrets valid.
use std::path::Path;

use anyhow::{Context, bail};

use crate::config::Config;

pub struct Keys {
    pub jwt_secret: Vec<u8>,
    pub secret_key: [u8; 32],
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    let s = s.trim();
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

fn random<const N: usize>() -> anyhow::Result<[u8; N]> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).map_err(|e| anyhow::anyhow!("no randomness available: {e}"))?;
    Ok(buf)
}

fn parse_secret_key(raw: &str) -> anyhow::Result<[u8; 32]> {
    unhex(raw)
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .context("ORGHUB_SECRET_KEY must be 64 hex digits (32 bytes); make one with `openssl rand -hex 32`")
}

pub fn load(config: &Config) -> anyhow::Result<Keys> {
    let configured_jwt = config
        .jwt_secret
        .as_ref()
        .map(|s| s.expose().as_bytes().to_vec());
    let configured_key = config
        .secret_key
        .as_ref()
        .map(|s| parse_secret_key(s.expose()))
        .transpose()?;
    if let Some(jwt) = &configured_jwt
        && jwt.len() < 32
    {
        bail!("ORGHUB_JWT_SECRET must be at least 32 characters long");
    }
    if let (Some(jwt_secret), Some(secret_key)) = (configured_jwt.clone(), configured_key) {
        return Ok(Keys {
            jwt_secret,
            secret_key,
        });
    }
    let Some(db_file) = config.sqlite_file() else {
        bail!(
            "set ORGHUB_JWT_SECRET and ORGHUB_SECRET_KEY: with a server database every replica must share the same keys"
        );
    };
    let stored = stored_keys(&keys_path(&db_file))?;
    Ok(Keys {
        jwt_secret: configured_jwt.unwrap_or(stored.jwt_secret),
        secret_key: configured_key.unwrap_or(stored.secret_key),
    })
}

fn keys_path(db_file: &Path) -> std::path::PathBuf {
    let mut name = db_file
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "orghub.db".into());
    name.push(".keys");
    db_file.with_file_name(name)
}

fn stored_keys(path: &Path) -> anyhow::Result<Keys> {
    if let Ok(text) = std::fs::read_to_string(path) {
        let mut jwt = None;
        let mut key = None;
        for line in text.lines() {
            match line.split_once('=') {
                Some(("jwt_secret", v)) => jwt = unhex(v),
                Some(("secret_key", v)) => key = Some(parse_secret_key(v)?),
                _ => {}
            }
        }
        return match (jwt, key) {
            (Some(jwt_secret), Some(secret_key)) => Ok(Keys {
                jwt_secret,
                secret_key,
            }),
            _ => bail!(
                "{} is damaged: it needs jwt_secret= and secret_key= lines",
                path.display()
            ),
        };
    }
    let keys = Keys {
        jwt_secret: random::<32>()?.to_vec(),
        secret_key: random::<32>()?,
    };
    let text = format!(
        "jwt_secret={}\nsecret_key={}\n",
        hex(&keys.jwt_secret),
        hex(&keys.secret_key)
    );
    write_private(path, &text)
        .with_context(|| format!("cannot write the generated keys to {}", path.display()))?;
    tracing::info!(path = %path.display(), "generated the instance keys");
    Ok(keys)
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(text.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips() {
        let b = [0u8, 1, 171, 255];
        assert_eq!(unhex(&hex(&b)).unwrap(), b);
        assert!(unhex("abc").is_none());
        assert!(unhex("zz").is_none());
        assert!(parse_secret_key(&"ab".repeat(31)).is_err());
    }

    #[test]
    fn keys_path_sits_beside_the_database() {
        assert_eq!(
            keys_path(Path::new("data/orghub.db")),
            Path::new("data/orghub.db.keys")
        );
    }
}
