//! Organization mapping: which PSA company each organization is.
//!
//! Refresh Options caches the PSA's companies for a pack config. Suggest Values proposes a
//! company for every organization in layers — an existing mapping, the domain (org domain vs
//! company website), the same name after normalising (case, punctuation, accents, legal
//! suffixes), then fuzzy similarity, which is always marked for review. A company is proposed
//! to at most one organization; ties are reported as ambiguous, never guessed. Save Mappings
//! writes the pack's `system` variable per organization in one transaction.
use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use entity::psa_company_cache as cache;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use super::organizations::{self, Org};
use super::pack_configs::{self, PackConfig};
use super::packs::{PackSpec, require_spec};
use super::variables;
use super::{Store, now};
use crate::auth::{Access, Actor};
use crate::error::{AppError, AppResult};
use crate::psa::{FilterOptions, Psa};

/// A company of the PSA, as cached.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct PsaCompany {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub identifier: Option<String>,
    #[serde(default)]
    pub website: Option<String>,
    /// The id of its status (see the PSA's filter options).
    #[serde(default)]
    pub status_id: Option<String>,
    /// The ids of its account types.
    #[serde(default)]
    pub type_ids: Vec<String>,
}

/// An organization as the suggester sees it.
#[derive(Clone, Debug)]
pub struct OrgFacts {
    pub id: Uuid,
    pub name: String,
    pub domain: Option<String>,
    /// The company it is mapped to now, if any.
    pub mapped_to: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    Existing,
    Domain,
    Name,
    Fuzzy,
    Ambiguous,
    NoMatch,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Suggestion {
    pub org_id: Uuid,
    pub org_name: String,
    pub company_id: Option<String>,
    pub company_name: Option<String>,
    pub reason: Reason,
    /// 1.0 for existing, domain and name; the similarity for fuzzy.
    pub score: f64,
    /// Fuzzy proposals are never saved without a person confirming them.
    pub needs_review: bool,
    /// For ambiguous ones: the companies it could be.
    pub candidates: Vec<String>,
}

const LEGAL_SUFFIXES: &[&str] = &[
    "inc",
    "incorporated",
    "llc",
    "l l c",
    "ltd",
    "limited",
    "gmbh",
    "co",
    "corp",
    "corporation",
    "company",
    "plc",
    "ag",
    "sa",
    "sas",
    "sarl",
    "bv",
    "nv",
    "pty",
    "llp",
    "lp",
    "pc",
    "pllc",
    "oy",
    "ab",
    "as",
    "srl",
    "spa",
    "kg",
];

fn fold_accent(c: char) -> char {
    match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' => 'a',
        'ç' | 'č' | 'ć' => 'c',
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ę' | 'ě' => 'e',
        'ì' | 'í' | 'î' | 'ï' | 'ī' => 'i',
        'ñ' | 'ń' | 'ň' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' => 'o',
        'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' => 'u',
        'ý' | 'ÿ' => 'y',
        'ß' => 's',
        'ž' | 'ź' | 'ż' => 'z',
        'š' | 'ś' => 's',
        'ř' => 'r',
        'ł' => 'l',
        other => other,
    }
}

/// A name reduced to what identifies it: lower case, accents folded, `&` as "and",
/// punctuation dropped, legal suffixes and a leading "the" removed.
pub fn normalize_name(name: &str) -> String {
    let lowered: String = name.to_lowercase().chars().map(fold_accent).collect();
    let spaced: String = lowered
        .replace('&', " and ")
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    let mut words: Vec<&str> = spaced.split_whitespace().collect();
    if words.first() == Some(&"the") && words.len() > 1 {
        words.remove(0);
    }
    while words.len() > 1 && words.last().is_some_and(|w| LEGAL_SUFFIXES.contains(w)) {
        words.pop();
    }
    // "l l c" spelled with dots.
    while words.len() > 3 && words[words.len() - 3..] == ["l", "l", "c"] {
        words.truncate(words.len() - 3);
    }
    words.join(" ")
}

/// The host of a website or domain: `https://www.Contoso.com/about` → `contoso.com`.
pub fn host_of(site: &str) -> Option<String> {
    let s = site.trim().to_lowercase();
    let s = s.split("://").last().unwrap_or(&s);
    let host = s
        .split(['/', '?', '#', ':'])
        .next()
        .unwrap_or("")
        .trim_end_matches('.');
    let host = host.strip_prefix("www.").unwrap_or(host);
    (host.contains('.') && !host.is_empty()).then(|| host.to_owned())
}

/// Jaro-Winkler similarity in [0, 1].
pub fn similarity(a: &str, b: &str) -> f64 {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let window = (a.len().max(b.len()) / 2).saturating_sub(1);
    let mut a_match = vec![false; a.len()];
    let mut b_match = vec![false; b.len()];
    let mut matches = 0usize;
    for i in 0..a.len() {
        let lo = i.saturating_sub(window);
        let hi = (i + window + 1).min(b.len());
        for j in lo..hi {
            if !b_match[j] && a[i] == b[j] {
                a_match[i] = true;
                b_match[j] = true;
                matches += 1;
                break;
            }
        }
    }
    if matches == 0 {
        return 0.0;
    }
    let (mut k, mut transpositions) = (0usize, 0usize);
    for i in 0..a.len() {
        if a_match[i] {
            while !b_match[k] {
                k += 1;
            }
            if a[i] != b[k] {
                transpositions += 1;
            }
            k += 1;
        }
    }
    let m = matches as f64;
    let jaro =
        (m / a.len() as f64 + m / b.len() as f64 + (m - transpositions as f64 / 2.0) / m) / 3.0;
    let prefix = a.iter().zip(&b).take(4).take_while(|(x, y)| x == y).count() as f64;
    jaro + prefix * 0.1 * (1.0 - jaro)
}

/// Blocking keys for fuzzy candidates: the first four letters of each word of three or more,
/// so that a typo later in a word still meets its company.
fn block_keys(normalized: &str) -> HashSet<String> {
    normalized
        .split(' ')
        .filter(|t| t.chars().count() >= 3)
        .map(|t| t.chars().take(4).collect())
        .collect()
}

/// Least similarity for a fuzzy proposal, and how far ahead of the runner-up it must be.
pub const FUZZY_THRESHOLD: f64 = 0.88;
const FUZZY_MARGIN: f64 = 0.02;

/// Proposes a company for every organization. Pure: same input, same output.
pub fn suggest(orgs: &[OrgFacts], companies: &[PsaCompany]) -> Vec<Suggestion> {
    let by_id: HashMap<&str, &PsaCompany> = companies.iter().map(|c| (c.id.as_str(), c)).collect();
    let mut by_host: HashMap<String, Vec<&PsaCompany>> = HashMap::new();
    let mut by_name: HashMap<String, Vec<&PsaCompany>> = HashMap::new();
    let mut by_token: HashMap<String, Vec<(usize, &PsaCompany)>> = HashMap::new();
    let normalized: Vec<String> = companies.iter().map(|c| normalize_name(&c.name)).collect();
    for (i, c) in companies.iter().enumerate() {
        if let Some(h) = c.website.as_deref().and_then(host_of) {
            by_host.entry(h).or_default().push(c);
        }
        by_name.entry(normalized[i].clone()).or_default().push(c);
        for key in block_keys(&normalized[i]) {
            by_token.entry(key).or_default().push((i, c));
        }
    }

    let mut out: HashMap<Uuid, Suggestion> = HashMap::new();
    let mut claimed: HashSet<String> = HashSet::new();
    let blank = |o: &OrgFacts| Suggestion {
        org_id: o.id,
        org_name: o.name.clone(),
        company_id: None,
        company_name: None,
        reason: Reason::NoMatch,
        score: 0.0,
        needs_review: false,
        candidates: Vec::new(),
    };

    // 1. Existing mappings stand.
    for o in orgs {
        if let Some(id) = &o.mapped_to {
            let name = by_id.get(id.as_str()).map(|c| c.name.clone());
            claimed.insert(id.clone());
            out.insert(
                o.id,
                Suggestion {
                    company_id: Some(id.clone()),
                    company_name: name,
                    reason: Reason::Existing,
                    score: 1.0,
                    ..blank(o)
                },
            );
        }
    }

    // 2 and 3. Exact layers: a unique candidate, wanted by one organization only.
    type Lookup<'a> = Box<dyn Fn(&OrgFacts) -> Vec<&'a PsaCompany> + 'a>;
    let layers: [(Reason, Lookup); 2] = [
        (
            Reason::Domain,
            Box::new(|o: &OrgFacts| {
                o.domain
                    .as_deref()
                    .and_then(host_of)
                    .and_then(|h| by_host.get(&h).cloned())
                    .unwrap_or_default()
            }),
        ),
        (
            Reason::Name,
            Box::new(|o: &OrgFacts| {
                by_name
                    .get(&normalize_name(&o.name))
                    .cloned()
                    .unwrap_or_default()
            }),
        ),
    ];
    for (reason, lookup) in layers.iter() {
        let mut wanted: HashMap<&str, Vec<&OrgFacts>> = HashMap::new();
        let open: Vec<&OrgFacts> = orgs
            .iter()
            .filter(|o| out.get(&o.id).is_none_or(|s| s.reason == Reason::Ambiguous))
            .collect();
        for o in open {
            let candidates: Vec<&PsaCompany> = lookup(o)
                .into_iter()
                .filter(|c| !claimed.contains(&c.id))
                .collect();
            match candidates.as_slice() {
                [] => {}
                [one] => wanted.entry(one.id.as_str()).or_default().push(o),
                many => {
                    out.insert(
                        o.id,
                        Suggestion {
                            reason: Reason::Ambiguous,
                            candidates: many.iter().map(|c| c.id.clone()).collect(),
                            ..blank(o)
                        },
                    );
                }
            }
        }
        for (company, wanting) in wanted {
            if let [o] = wanting.as_slice() {
                let c = by_id[company];
                claimed.insert(c.id.clone());
                out.insert(
                    o.id,
                    Suggestion {
                        company_id: Some(c.id.clone()),
                        company_name: Some(c.name.clone()),
                        reason: *reason,
                        score: 1.0,
                        ..blank(o)
                    },
                );
            } else {
                for o in wanting {
                    out.insert(
                        o.id,
                        Suggestion {
                            reason: Reason::Ambiguous,
                            candidates: vec![company.to_owned()],
                            ..blank(o)
                        },
                    );
                }
            }
        }
    }

    // 4. Fuzzy, for review: candidates share a word with the org's name.
    let mut proposals: Vec<(f64, &OrgFacts, &PsaCompany)> = Vec::new();
    let open: Vec<&OrgFacts> = orgs.iter().filter(|o| !out.contains_key(&o.id)).collect();
    for o in open {
        let name = normalize_name(&o.name);
        let mut seen = HashSet::new();
        let mut scored: Vec<(f64, &PsaCompany)> = Vec::new();
        for key in block_keys(&name) {
            for (i, c) in by_token.get(&key).into_iter().flatten() {
                if seen.insert(*i) && !claimed.contains(&c.id) {
                    scored.push((similarity(&name, &normalized[*i]), c));
                }
            }
        }
        scored.sort_by(|x, y| y.0.total_cmp(&x.0));
        if let Some(&(best, c)) = scored.first()
            && best >= FUZZY_THRESHOLD
        {
            let runner_up = scored.get(1).map(|s| s.0).unwrap_or(0.0);
            if best - runner_up >= FUZZY_MARGIN {
                proposals.push((best, o, c));
            } else {
                let close: Vec<String> = scored
                    .iter()
                    .take_while(|s| best - s.0 < FUZZY_MARGIN)
                    .map(|s| s.1.id.clone())
                    .collect();
                out.insert(
                    o.id,
                    Suggestion {
                        reason: Reason::Ambiguous,
                        candidates: close,
                        ..blank(o)
                    },
                );
            }
        }
    }
    proposals.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.name.cmp(&y.1.name)));
    let mut fuzzy_taken: HashMap<String, f64> = HashMap::new();
    for (score, o, c) in &proposals {
        match fuzzy_taken.get(&c.id) {
            Some(s) if (s - score).abs() < f64::EPSILON => {
                out.insert(
                    o.id,
                    Suggestion {
                        reason: Reason::Ambiguous,
                        candidates: vec![c.id.clone()],
                        ..blank(o)
                    },
                );
            }
            Some(_) => {}
            None => {
                fuzzy_taken.insert(c.id.clone(), *score);
                out.insert(
                    o.id,
                    Suggestion {
                        company_id: Some(c.id.clone()),
                        company_name: Some(c.name.clone()),
                        reason: Reason::Fuzzy,
                        score: (*score * 1000.0).round() / 1000.0,
                        needs_review: true,
                        ..blank(o)
                    },
                );
            }
        }
    }

    orgs.iter()
        .map(|o| out.remove(&o.id).unwrap_or_else(|| blank(o)))
        .collect()
}

// ---------------------------------------------------------------------------------------
// Around the engine: the cache, the org tree of a config, and saving.
// ---------------------------------------------------------------------------------------

async fn writable_config(
    store: &Store,
    actor: &Actor,
    id: Uuid,
) -> AppResult<(PackConfig, Org, &'static PackSpec)> {
    let (config, org) = pack_configs::get(store, actor, id).await?;
    actor.check(&org, Access::Write)?;
    let spec = require_spec("packId", &config.pack_id)?;
    Ok((config, org, spec))
}

/// Refresh Options: fetches the PSA's companies (honouring the config's conditions) into the
/// cache. Returns the refresh's id.
pub async fn refresh(store: &Store, actor: &Actor, config_id: Uuid) -> AppResult<Uuid> {
    let (config, _, _) = writable_config(store, actor, config_id).await?;
    refresh_config(store, &config).await
}

/// Fetches the config's companies and filter options into the cache (no access check: the
/// caller has done it).
pub(crate) async fn refresh_config(store: &Store, config: &PackConfig) -> AppResult<Uuid> {
    let psa = Psa::for_config(store, config)?;
    let failed = |e: crate::psa::PsaError| {
        AppError::Conflict(format!("Refreshing from {} failed: {e}", psa.name()))
    };
    let companies = psa.companies().await.map_err(failed)?;
    let options = psa.filter_options().await.map_err(failed)?;
    let refresh_id = Uuid::now_v7();
    let row = cache::ActiveModel {
        pack_config_id: Set(config.id),
        refresh_id: Set(refresh_id),
        fetched_at: Set(now()),
        companies: Set(json!(companies)),
        filter_options: Set(Some(json!(options))),
    };
    let txn = store.begin_write().await?;
    cache::Entity::delete_by_id(config.id).exec(&txn).await?;
    row.insert(&txn).await?;
    txn.commit().await?;
    Ok(refresh_id)
}

/// The cached filter options of a config.
pub async fn cached_filter_options(
    store: &Store,
    config_id: Uuid,
) -> AppResult<Option<FilterOptions>> {
    let Some(row) = cache::Entity::find_by_id(config_id).one(&store.db).await? else {
        return Ok(None);
    };
    row.filter_options
        .map(|v| serde_json::from_value(v).map_err(AppError::internal))
        .transpose()
}

/// The cached companies of a config and when they were fetched.
pub async fn cached(
    store: &Store,
    config_id: Uuid,
) -> AppResult<Option<(Vec<PsaCompany>, DateTime<Utc>)>> {
    let Some(row) = cache::Entity::find_by_id(config_id).one(&store.db).await? else {
        return Ok(None);
    };
    let list: Vec<PsaCompany> =
        serde_json::from_value(row.companies).map_err(AppError::internal)?;
    Ok(Some((list, row.fetched_at)))
}

/// The config's organization and everything below it the caller may see, by name.
async fn tree(store: &Store, actor: &Actor, org: &Org) -> AppResult<Vec<Org>> {
    let mut all = vec![org.clone()];
    let page = (u64::MAX >> 1, 0);
    let order = [(organizations::OrgField::Name, sea_orm::Order::Asc)];
    all.extend(
        organizations::managed_and_sub(
            store,
            actor,
            org.id,
            &[],
            &Default::default(),
            &order,
            page,
        )
        .await?,
    );
    Ok(all)
}

/// Current mappings of `orgs` for this pack: org → company id.
async fn current(
    store: &Store,
    spec: &PackSpec,
    orgs: &[Org],
) -> AppResult<HashMap<Uuid, (String, Option<Uuid>)>> {
    let ids: Vec<Uuid> = orgs.iter().map(|o| o.id).collect();
    let vars = variables::of_orgs(store, &ids).await?;
    Ok(vars
        .into_iter()
        .filter_map(|(org, list)| {
            list.into_iter()
                .find(|v| v.name == spec.mapping_variable)
                .and_then(|v| v.value.map(|value| (org, (value, v.pack_config_id))))
        })
        .collect())
}

/// Suggest Values for every organization of the config's tree (refreshing first when
/// nothing is cached yet).
pub async fn suggest_for(
    store: &Store,
    actor: &Actor,
    config_id: Uuid,
) -> AppResult<Vec<Suggestion>> {
    let (config, org, spec) = writable_config(store, actor, config_id).await?;
    if cached(store, config.id).await?.is_none() {
        refresh(store, actor, config.id).await?;
    }
    let (mut companies, _) = cached(store, config.id).await?.unwrap_or_default();
    // Inactive companies are not offered (they can still be mapped by hand).
    if let Some(options) = cached_filter_options(store, config.id).await? {
        let inactive: std::collections::HashSet<String> = options
            .statuses
            .into_iter()
            .filter(|s| s.inactive)
            .map(|s| s.id)
            .collect();
        companies.retain(|c| c.status_id.as_ref().is_none_or(|s| !inactive.contains(s)));
    }
    let orgs = tree(store, actor, &org).await?;
    let mapped = current(store, spec, &orgs).await?;
    let facts: Vec<OrgFacts> = orgs
        .iter()
        .map(|o| OrgFacts {
            id: o.id,
            name: o.name.clone(),
            domain: o.domain.clone(),
            mapped_to: mapped.get(&o.id).map(|m| m.0.clone()),
        })
        .collect();
    Ok(suggest(&facts, &companies))
}

/// Companies outside the refreshed options one Save Mappings asks the PSA about.
const MAX_LOOKUPS: usize = 20;

/// Save Mappings: per organization, the company id (empty: no mapping). One transaction.
pub async fn save(
    store: &Store,
    actor: &Actor,
    config_id: Uuid,
    mappings: &[(Uuid, Option<String>)],
) -> AppResult<usize> {
    let (config, org, spec) = writable_config(store, actor, config_id).await?;
    let known: HashSet<String> = cached(store, config.id)
        .await?
        .map(|(c, _)| c.into_iter().map(|c| c.id).collect())
        .unwrap_or_default();
    let in_tree: HashMap<Uuid, Org> = tree(store, actor, &org)
        .await?
        .into_iter()
        .map(|o| (o.id, o))
        .collect();
    let mut errors = Vec::new();
    // Companies not in the refreshed options (made since, or never refreshed) are asked
    // of the PSA one by one, a few at most.
    let mut psa = None;
    let mut asked = 0;
    for (i, (org_id, company)) in mappings.iter().enumerate() {
        if !in_tree.contains_key(org_id) {
            errors.push(crate::error::ValidationError::new(
                format!("mappings.{i}.orgId"),
                "UNAUTHORIZED",
                "not an organization this config serves",
            ));
        }
        let Some(c) = company
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty() && !known.contains(*c))
        else {
            continue;
        };
        let field = format!("mappings.{i}.companyId");
        if asked >= MAX_LOOKUPS {
            errors.push(crate::error::ValidationError::new(
                field,
                "NOT_FOUND",
                format!("company {c} is not in the refreshed options; refresh them first"),
            ));
            continue;
        }
        asked += 1;
        if psa.is_none() {
            psa = Some(Psa::for_config(store, &config)?);
        }
        let Some(p) = psa.as_ref() else { continue };
        match p.company(c).await {
            Ok(Some(_)) => {}
            Ok(None) => errors.push(crate::error::ValidationError::new(
                field,
                "NOT_FOUND",
                format!("{} has no company {c}", p.name()),
            )),
            Err(e) => errors.push(crate::error::ValidationError::new(
                field,
                "NOT_FOUND",
                format!("company {c} is not in the refreshed options, and asking failed: {e}"),
            )),
        }
    }
    if errors.iter().any(|e| e.code == "UNAUTHORIZED") {
        return Err(AppError::Forbidden);
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    let txn = store.begin_write().await?;
    for (org_id, company) in mappings {
        let value = company.as_deref().map(str::trim).filter(|c| !c.is_empty());
        variables::set_system(
            &txn,
            store,
            actor,
            &in_tree[org_id],
            spec.mapping_variable,
            value,
            Some(config.id),
        )
        .await?;
    }
    txn.commit().await?;
    Ok(mappings.len())
}

/// One organization and its mapping.
#[derive(Clone, Debug)]
pub struct OrgMapping {
    pub org: Org,
    pub company_id: Option<String>,
    pub company_name: Option<String>,
}

/// `orgMappings`: the organizations of the config's tree, a page at a time, with their mapping.
pub async fn list(
    store: &Store,
    actor: &Actor,
    config_id: Uuid,
    page: (u64, u64),
) -> AppResult<(Vec<OrgMapping>, usize)> {
    let (config, org) = pack_configs::get(store, actor, config_id).await?;
    let spec = require_spec("packId", &config.pack_id)?;
    let orgs = tree(store, actor, &org).await?;
    let total = orgs.len();
    let slice: Vec<Org> = orgs
        .into_iter()
        .skip(page.1 as usize)
        .take(page.0 as usize)
        .collect();
    let mapped = current(store, spec, &slice).await?;
    let names: HashMap<String, String> = cached(store, config.id)
        .await?
        .map(|(c, _)| c.into_iter().map(|c| (c.id, c.name)).collect())
        .unwrap_or_default();
    Ok((
        slice
            .into_iter()
            .map(|o| {
                let company_id = mapped.get(&o.id).map(|m| m.0.clone());
                let company_name = company_id.as_ref().and_then(|c| names.get(c).cloned());
                OrgMapping {
                    org: o,
                    company_id,
                    company_name,
                }
            })
            .collect(),
        total,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn company(id: u32, name: &str, site: Option<&str>) -> PsaCompany {
        PsaCompany {
            id: id.to_string(),
            name: name.into(),
            identifier: None,
            website: site.map(str::to_owned),
            ..Default::default()
        }
    }

    fn org(name: &str, domain: Option<&str>) -> OrgFacts {
        OrgFacts {
            id: Uuid::now_v7(),
            name: name.into(),
            domain: domain.map(str::to_owned),
            mapped_to: None,
        }
    }

    #[test]
    fn names_normalize() {
        assert_eq!(normalize_name("Contoso, Ltd."), "contoso");
        assert_eq!(normalize_name("The Fabrikam Company, Inc"), "fabrikam");
        assert_eq!(normalize_name("Müller & Söhne GmbH"), "muller and sohne");
        assert_eq!(normalize_name("A.B.C. L.L.C."), "a b c");
        assert_eq!(normalize_name("Inc"), "inc", "a suffix alone stays");
        assert_eq!(
            host_of("https://www.Contoso.com/about").as_deref(),
            Some("contoso.com")
        );
        assert_eq!(host_of("contoso"), None);
        assert!(similarity("northwind traders", "northwind trader") > 0.95);
        assert!(similarity("contoso", "fabrikam") < 0.6);
        assert_eq!(similarity("same", "same"), 1.0);
    }

    #[test]
    fn layers_in_order_and_no_company_twice() {
        let companies = vec![
            company(1, "Contoso Ltd", Some("www.contoso.com")),
            company(2, "Fabrikam, Inc.", None),
            company(3, "Northwind Traders", None),
            company(4, "Tailspin Toys", None),
            company(5, "Tailspin Toys LLC", None),
            company(6, "Litware", None),
        ];
        let mut existing = org("Old Name", None);
        existing.mapped_to = Some("6".into());
        let orgs = vec![
            org("Contoso Holdings", Some("contoso.com")),
            org("FABRIKAM", None),
            org("Northwind Trader", None),
            org("Tailspin Toys", None),
            existing,
            org("Nothing Alike", None),
        ];
        let s = suggest(&orgs, &companies);
        let r: Vec<(Reason, Option<&str>, bool)> = s
            .iter()
            .map(|x| (x.reason, x.company_id.as_deref(), x.needs_review))
            .collect();
        assert_eq!(r[0], (Reason::Domain, Some("1"), false));
        assert_eq!(r[1], (Reason::Name, Some("2"), false));
        assert_eq!(r[2], (Reason::Fuzzy, Some("3"), true));
        assert_eq!(
            r[3].0,
            Reason::Ambiguous,
            "two companies normalise to the same name"
        );
        assert_eq!(s[3].candidates.len(), 2);
        assert_eq!(r[4], (Reason::Existing, Some("6"), false));
        assert_eq!(r[5], (Reason::NoMatch, None, false));
    }

    #[test]
    fn one_company_wanted_by_two_orgs_is_ambiguous_for_both() {
        let companies = vec![company(1, "Contoso", None)];
        let s = suggest(
            &[org("Contoso Inc", None), org("contoso", None)],
            &companies,
        );
        assert!(
            s.iter()
                .all(|x| x.reason == Reason::Ambiguous && x.company_id.is_none())
        );
    }
}
