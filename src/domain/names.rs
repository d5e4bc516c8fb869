//! Organization fields parsed once into types that cannot hold an invalid value.
//! Each parse failure is a `ValidationError` with the field and an import code.
use crate::error::ValidationError;

pub const MAX_LEN: usize = 255;

/// Words no slug may be: they name routes or would confuse people.
pub const RESERVED_SLUGS: &[&str] = &[
    "admin",
    "api",
    "app",
    "auth",
    "callback",
    "embed",
    "graphiql",
    "graphql",
    "healthz",
    "login",
    "logout",
    "metrics",
    "new",
    "null",
    "oauth",
    "orghub",
    "readyz",
    "root",
    "settings",
    "static",
    "subscriptions",
    "system",
    "undefined",
    "webhooks",
    "www",
];

fn too_long(field: &str, len: usize) -> ValidationError {
    ValidationError::new(
        field,
        "MAX_LENGTH_EXCEEDED",
        format!("is {len} characters long; at most {MAX_LEN} are allowed"),
    )
}

/// The case-insensitive key of a name: trimmed and lower-cased.
pub fn name_key(name: &str) -> String {
    name.trim().to_lowercase()
}

/// A trimmed, non-empty organization name of at most 255 characters, without control characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrgName {
    name: String,
    key: String,
}

impl OrgName {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        Self::parse_field("name", raw)
    }

    pub fn parse_field(field: &str, raw: &str) -> Result<Self, ValidationError> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(ValidationError::new(field, "REQUIRED_FIELD", "is required"));
        }
        let len = name.chars().count();
        if len > MAX_LEN {
            return Err(too_long(field, len));
        }
        if name.chars().any(char::is_control) {
            return Err(ValidationError::new(
                field,
                "INVALID_FORMAT",
                "must not contain control characters",
            ));
        }
        Ok(OrgName {
            name: name.to_owned(),
            key: name_key(name),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.name
    }

    pub fn key(&self) -> &str {
        &self.key
    }
}

/// A DNS domain such as `contoso.com`: labels of letters, digits and inner dashes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrgDomain {
    domain: String,
    key: String,
}

impl OrgDomain {
    /// `None` for an empty or blank value: the domain is optional.
    pub fn parse(raw: &str) -> Result<Option<Self>, ValidationError> {
        let domain = raw.trim().trim_end_matches('.');
        if domain.is_empty() {
            return Ok(None);
        }
        let len = domain.chars().count();
        if len > MAX_LEN {
            return Err(too_long("domain", len));
        }
        let invalid = || {
            ValidationError::new(
                "domain",
                "INVALID_FORMAT",
                format!("`{domain}` is not a domain name such as contoso.com"),
            )
        };
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2 {
            return Err(invalid());
        }
        for label in &labels {
            let ok = !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-');
            if !ok {
                return Err(invalid());
            }
        }
        if labels
            .last()
            .is_some_and(|tld| tld.chars().all(|c| c.is_ascii_digit()))
        {
            return Err(invalid());
        }
        Ok(Some(OrgDomain {
            domain: domain.to_owned(),
            key: domain.to_ascii_lowercase(),
        }))
    }

    pub fn as_str(&self) -> &str {
        &self.domain
    }

    pub fn key(&self) -> &str {
        &self.key
    }
}

/// A slug: lower-case letters, digits and single inner dashes; not a reserved word.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrgSlug(String);

impl OrgSlug {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let slug = raw.trim();
        let len = slug.chars().count();
        if len > MAX_LEN {
            return Err(too_long("orgSlug", len));
        }
        let shape_ok = !slug.is_empty()
            && slug.split('-').all(|part| {
                !part.is_empty()
                    && part
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            });
        if !shape_ok {
            return Err(ValidationError::new(
                "orgSlug",
                "INVALID_SLUG",
                format!(
                    "`{slug}` may hold only lower-case letters, digits and single dashes between them"
                ),
            ));
        }
        if RESERVED_SLUGS.contains(&slug) {
            return Err(ValidationError::new(
                "orgSlug",
                "INVALID_SLUG",
                format!("`{slug}` is a reserved word"),
            ));
        }
        Ok(OrgSlug(slug.to_owned()))
    }

    /// The slug a name suggests; never empty, never reserved. Uniqueness is the caller's.
    pub fn from_name(name: &OrgName) -> Self {
        let mut slug = String::new();
        for c in name.as_str().chars().flat_map(char::to_lowercase) {
            if c.is_ascii_alphanumeric() {
                slug.push(c);
            } else if !slug.is_empty() && !slug.ends_with('-') {
                slug.push('-');
            }
        }
        let mut slug: String = slug.trim_end_matches('-').chars().take(60).collect();
        slug = slug.trim_end_matches('-').to_owned();
        if slug.is_empty() {
            slug = "org".into();
        }
        if RESERVED_SLUGS.contains(&slug.as_str()) {
            slug.push_str("-org");
        }
        OrgSlug(slug)
    }

    /// The slug of last resort, for a stored value that no longer parses.
    pub fn fallback() -> Self {
        OrgSlug("org".into())
    }

    /// `base`, then `base-2`, `base-3`, … for the n-th attempt.
    pub fn numbered(&self, n: u32) -> Self {
        if n <= 1 {
            self.clone()
        } else {
            OrgSlug(format!("{}-{n}", self.0))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A Microsoft Entra tenant id: a GUID, stored lower-case.
pub fn parse_tenant_id(raw: &str) -> Result<Option<String>, ValidationError> {
    let tid = raw.trim();
    if tid.is_empty() {
        return Ok(None);
    }
    uuid::Uuid::parse_str(tid)
        .map(|u| Some(u.hyphenated().to_string()))
        .map_err(|_| ValidationError::new("tid", "INVALID_FORMAT", "must be a tenant id (GUID)"))
}

/// A free-text field of at most 255 characters; blank means none.
pub fn parse_short_text(field: &str, raw: &str) -> Result<Option<String>, ValidationError> {
    let text = raw.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let len = text.chars().count();
    if len > MAX_LEN {
        Err(too_long(field, len))
    } else {
        Ok(Some(text.to_owned()))
    }
}

pub fn parse_retention_days(days: i32) -> Result<i32, ValidationError> {
    if (1..=30).contains(&days) {
        Ok(days)
    } else {
        Err(ValidationError::new(
            "resultsRetentionDays",
            "OUT_OF_RANGE",
            "must be between 1 and 30 days",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_required_and_bounded() {
        let n = OrgName::parse("  Contoso Ltd ").unwrap();
        assert_eq!(n.as_str(), "Contoso Ltd");
        assert_eq!(n.key(), "contoso ltd");
        assert_eq!(OrgName::parse("   ").unwrap_err().code, "REQUIRED_FIELD");
        assert_eq!(
            OrgName::parse(&"x".repeat(256)).unwrap_err().code,
            "MAX_LENGTH_EXCEEDED"
        );
        assert!(
            OrgName::parse(&"é".repeat(255)).is_ok(),
            "length counts characters, not bytes"
        );
        assert_eq!(
            OrgName::parse("a\u{0}b").unwrap_err().code,
            "INVALID_FORMAT"
        );
        assert_eq!(OrgName::parse("ÄBC").unwrap().key(), "äbc");
    }

    #[test]
    fn domains() {
        assert_eq!(OrgDomain::parse("").unwrap(), None);
        let d = OrgDomain::parse(" Contoso.COM. ").unwrap().unwrap();
        assert_eq!((d.as_str(), d.key()), ("Contoso.COM", "contoso.com"));
        for bad in [
            "contoso",
            "https://contoso.com",
            "con_toso.com",
            "-a.com",
            "a..com",
            "1.2.3.4",
            "a b.com",
        ] {
            assert_eq!(
                OrgDomain::parse(bad).unwrap_err().code,
                "INVALID_FORMAT",
                "{bad}"
            );
        }
        let long = format!("{}.com", "a.".repeat(130));
        assert_eq!(
            OrgDomain::parse(&long).unwrap_err().code,
            "MAX_LENGTH_EXCEEDED"
        );
    }

    #[test]
    fn slugs() {
        assert_eq!(OrgSlug::parse("acme-2").unwrap().as_str(), "acme-2");
        for bad in ["Acme", "acme--x", "-acme", "acme-", "ac me", "", "acmé"] {
            assert_eq!(
                OrgSlug::parse(bad).unwrap_err().code,
                "INVALID_SLUG",
                "{bad}"
            );
        }
        assert_eq!(OrgSlug::parse("graphql").unwrap_err().code, "INVALID_SLUG");
        assert_eq!(
            OrgSlug::parse(&"a".repeat(256)).unwrap_err().code,
            "MAX_LENGTH_EXCEEDED"
        );
    }

    #[test]
    fn slugs_from_names() {
        let slug = |n: &str| {
            OrgSlug::from_name(&OrgName::parse(n).unwrap())
                .as_str()
                .to_owned()
        };
        assert_eq!(slug("Contoso, Ltd."), "contoso-ltd");
        assert_eq!(slug("Ünïcode Çorp"), "n-code-orp");
        assert_eq!(slug("日本"), "org");
        assert_eq!(slug("Admin"), "admin-org");
        assert_eq!(
            OrgSlug::parse(&slug(&"Long Name ".repeat(20)))
                .unwrap()
                .as_str()
                .len(),
            59
        );
        assert_eq!(
            OrgSlug::from_name(&OrgName::parse("a").unwrap())
                .numbered(3)
                .as_str(),
            "a-3"
        );
    }

    #[test]
    fn tenant_ids_and_retention() {
        assert_eq!(
            parse_tenant_id("6F9619FF-8B86-D011-B42D-00C04FC964FF")
                .unwrap()
                .unwrap(),
            "6f9619ff-8b86-d011-b42d-00c04fc964ff"
        );
        assert_eq!(parse_tenant_id("nope").unwrap_err().code, "INVALID_FORMAT");
        assert!(parse_retention_days(0).is_err() && parse_retention_days(31).is_err());
        assert_eq!(parse_retention_days(30).unwrap(), 30);
    }
}
