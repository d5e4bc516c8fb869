//! A labelled data set for the mapping suggester, generated deterministically: PSA companies
//! and organizations with the variations real MSPs have — legal suffixes and punctuation,
//! `&`/and, abbreviations, typos, renamed companies known by their domain, near-duplicate
//! companies, and organizations with no company at all. Used by the quality test, the
//! benchmark and the demo.
use std::collections::HashMap;

use uuid::Uuid;

use super::mapping::{OrgFacts, PsaCompany};

const FIRST: &[&str] = &[
    "Contoso",
    "Fabrikam",
    "Northwind",
    "Tailspin",
    "Litware",
    "Adatum",
    "Wingtip",
    "Proseware",
    "Alpine",
    "Bluebird",
    "Coho",
    "Lucerne",
    "Relecloud",
    "Trey",
    "Woodgrove",
    "Humongous",
    "Graphic",
    "Wideworld",
    "Vanarsdel",
    "Bellows",
    "Southridge",
    "Fourthcoffee",
    "Margies",
    "Cascade",
    "Summit",
    "Harbor",
    "Redwood",
    "Granite",
    "Pioneer",
    "Keystone",
    "Evergreen",
    "Lakeside",
    "Riverbend",
    "Silverline",
    "Ironwood",
    "Maplewood",
    "Crescent",
    "Sterling",
    "Oakridge",
    "Bayview",
    "Highland",
    "Meridian",
    "Beacon",
    "Cobalt",
    "Juniper",
    "Sequoia",
    "Aspen",
    "Willow",
    "Falcon",
    "Orion",
    "Vertex",
    "Apex",
    "Nimbus",
    "Zephyr",
    "Quantum",
    "Catalyst",
    "Horizon",
    "Lumen",
    "Polaris",
    "Sapphire",
];
const SECOND: &[&str] = &[
    "Dental",
    "Logistics",
    "Legal",
    "Medical",
    "Accounting",
    "Construction",
    "Realty",
    "Insurance",
    "Consulting",
    "Engineering",
    "Manufacturing",
    "Foods",
    "Design",
    "Architecture",
    "Veterinary",
    "Pharmacy",
    "Trucking",
    "Roofing",
    "Plumbing",
    "Electric",
];
const TAILS: &[&str] = &[
    "",
    "",
    "",
    " Group",
    " Partners",
    " & Associates",
    " Services",
    " Holdings",
];
const SUFFIXES: &[&str] = &[
    "", " Inc", " Inc.", ", Inc.", " LLC", " L.L.C.", " Ltd", " Ltd.", " Corp", " Co.", " GmbH",
    " Limited",
];

/// The generator's own tiny PRNG (xorshift), so the data set never changes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// What kind of variation an organization's name is of its company's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Variation {
    Same,
    SuffixOrPunctuation,
    AndAmpersand,
    Abbreviation,
    Typo,
    Renamed,
    NoCompany,
}

pub struct Dataset {
    pub orgs: Vec<OrgFacts>,
    pub companies: Vec<PsaCompany>,
    /// The right company for each org (`None`: it has none).
    pub truth: HashMap<Uuid, Option<String>>,
    pub variation: HashMap<Uuid, Variation>,
}

fn typo(rng: &mut Rng, name: &str) -> String {
    let mut chars: Vec<char> = name.chars().collect();
    // Never the first four letters: people rarely mistype those.
    let at = 4 + rng.below(chars.len().saturating_sub(5).max(1));
    if at + 1 < chars.len() && chars[at].is_alphabetic() && chars[at + 1].is_alphabetic() {
        match rng.below(3) {
            0 => chars.swap(at, at + 1),
            1 => {
                chars.remove(at);
            }
            _ => chars.insert(at, chars[at]),
        }
    }
    chars.into_iter().collect()
}

fn abbreviate(name: &str) -> String {
    name.replace("Associates", "Assoc")
        .replace("Services", "Svcs")
        .replace("Engineering", "Eng")
        .replace("Manufacturing", "Mfg")
        .replace("Construction", "Constr")
        .replace("Consulting", "Consult")
}

/// `orgs` organizations and `companies` companies (companies ≥ orgs); about one org in ten has
/// no company, and every fifth company has a near-duplicate sibling.
pub fn generate(orgs: usize, companies: usize, seed: u64) -> Dataset {
    let mut rng = Rng(seed | 1);
    let mut used = std::collections::HashSet::new();
    let mut bases = Vec::new();
    while bases.len() < companies {
        let round = bases.len() / (FIRST.len() * SECOND.len() * 4);
        let mut base = format!(
            "{} {}{}",
            rng.pick(FIRST),
            rng.pick(SECOND),
            rng.pick(TAILS)
        );
        if round > 0 {
            base = format!("{base} {}", round + 1);
        }
        if used.insert(base.to_lowercase()) {
            bases.push(base);
        }
    }
    let mut list = Vec::with_capacity(companies);
    for (i, base) in bases.iter().enumerate() {
        let name = format!("{base}{}", rng.pick(SUFFIXES));
        let slug: String = base
            .to_lowercase()
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect();
        let website = (rng.below(10) < 6).then(|| format!("https://www.{slug}.com"));
        list.push(PsaCompany {
            id: (i + 1).to_string(),
            name,
            identifier: Some(slug.chars().take(20).collect()),
            website,
            ..Default::default()
        });
    }
    // Near-duplicates: a sibling whose name differs by a word ("Contoso Dental" / "Contoso Dental East").
    let dup_count = companies / 5;
    for k in 0..dup_count {
        let i = k * 5;
        if let Some(idx) = list.len().checked_sub(dup_count - k)
            && idx > i
        {
            let sibling = format!(
                "{} {}",
                bases[i],
                ["East", "West", "North", "South", "Labs"][k % 5]
            );
            list[idx].name = sibling;
            list[idx].website = None;
        }
    }

    let mut out = Dataset {
        orgs: Vec::new(),
        companies: list.clone(),
        truth: HashMap::new(),
        variation: HashMap::new(),
    };
    for n in 0..orgs {
        let id = Uuid::from_u128(0x0001_0000_0000_0000_0000_0000_0000_0000 + n as u128);
        let roll = rng.below(100);
        let variation = match roll {
            0..20 => Variation::Same,
            20..45 => Variation::SuffixOrPunctuation,
            45..52 => Variation::AndAmpersand,
            52..60 => Variation::Abbreviation,
            60..75 => Variation::Typo,
            75..88 => Variation::Renamed,
            _ => Variation::NoCompany,
        };
        // Each org its own company (the first `orgs` companies).
        let c = &list[n % list.len()];
        let base = c.name.trim_end_matches('.').to_owned();
        let (name, domain, truth) = match variation {
            Variation::Same => (c.name.clone(), None, Some(c.id.clone())),
            Variation::SuffixOrPunctuation => {
                let plain = super::mapping::normalize_name(&c.name);
                let titled: String = plain
                    .split(' ')
                    .map(|w| {
                        let mut cs = w.chars();
                        cs.next()
                            .map(|f| f.to_uppercase().collect::<String>() + cs.as_str())
                            .unwrap_or_default()
                    })
                    .collect::<Vec<_>>()
                    .join(" ");
                (
                    format!("{titled}{}", rng.pick(SUFFIXES)),
                    None,
                    Some(c.id.clone()),
                )
            }
            Variation::AndAmpersand => {
                let n = if base.contains('&') {
                    base.replace('&', "and")
                } else {
                    base.replace(" and ", " & ")
                };
                (n, None, Some(c.id.clone()))
            }
            Variation::Abbreviation => (abbreviate(&base), None, Some(c.id.clone())),
            Variation::Typo => (typo(&mut rng, &base), None, Some(c.id.clone())),
            Variation::Renamed => {
                let host = c.website.as_deref().and_then(super::mapping::host_of);
                let new_name = format!(
                    "{} {} Co",
                    rng.pick(FIRST),
                    ["Brands", "Collective", "Ventures", "Works"][rng.below(4)]
                );
                match host {
                    Some(h) => (new_name, Some(h), Some(c.id.clone())),
                    // Renamed with no website to recognise it by: no way to tell.
                    None => (new_name, None, Some(c.id.clone())),
                }
            }
            Variation::NoCompany => (
                format!(
                    "{} {} Club",
                    rng.pick(FIRST),
                    ["Chess", "Rowing", "Hiking", "Film"][rng.below(4)]
                ),
                None,
                None,
            ),
        };
        out.orgs.push(OrgFacts {
            id,
            name,
            domain,
            mapped_to: None,
        });
        out.truth.insert(id, truth);
        out.variation.insert(id, variation);
    }
    out
}

/// Precision and recall of a set of proposals against the truth.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Score {
    pub proposed: usize,
    pub correct: usize,
    /// Orgs that have a company.
    pub findable: usize,
}

impl Score {
    pub fn precision(&self) -> f64 {
        if self.proposed == 0 {
            1.0
        } else {
            self.correct as f64 / self.proposed as f64
        }
    }
    pub fn recall(&self) -> f64 {
        if self.findable == 0 {
            1.0
        } else {
            self.correct as f64 / self.findable as f64
        }
    }
}

/// Scores proposals (`org → company`) against the data set's truth.
pub fn score<'a>(d: &Dataset, proposals: impl IntoIterator<Item = (Uuid, &'a str)>) -> Score {
    let mut s = Score {
        findable: d.truth.values().filter(|t| t.is_some()).count(),
        ..Default::default()
    };
    for (org, company) in proposals {
        s.proposed += 1;
        if d.truth.get(&org).and_then(|t| t.as_deref()) == Some(company) {
            s.correct += 1;
        }
    }
    s
}

/// The baseline: an org is proposed the one company with exactly its name (ignoring case).
pub fn exact_name_baseline(d: &Dataset) -> Vec<(Uuid, String)> {
    let mut by_name: HashMap<String, Vec<&PsaCompany>> = HashMap::new();
    for c in &d.companies {
        by_name
            .entry(c.name.trim().to_lowercase())
            .or_default()
            .push(c);
    }
    d.orgs
        .iter()
        .filter_map(|o| {
            match by_name
                .get(&o.name.trim().to_lowercase())
                .map(Vec::as_slice)
            {
                Some([one]) => Some((o.id, one.id.clone())),
                _ => None,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::mapping::suggest;
    use super::*;

    /// `cargo test mapping_quality -- --nocapture` prints the table.
    #[test]
    fn mapping_quality() {
        println!(
            "seed | automatic P / R | review (fuzzy) P / proposed | exact-name baseline P / R"
        );
        for seed in [7u64, 1234, 987_654] {
            let d = generate(300, 400, seed);
            let suggestions = suggest(&d.orgs, &d.companies);
            let automatic = score(
                &d,
                suggestions
                    .iter()
                    .filter(|s| !s.needs_review)
                    .filter_map(|s| s.company_id.as_deref().map(|c| (s.org_id, c))),
            );
            let review = score(
                &d,
                suggestions
                    .iter()
                    .filter(|s| s.needs_review)
                    .filter_map(|s| s.company_id.as_deref().map(|c| (s.org_id, c))),
            );
            let base = exact_name_baseline(&d);
            let baseline = score(&d, base.iter().map(|(o, c)| (*o, c.as_str())));
            println!(
                "{seed} | {:.3} / {:.3} | {:.3} / {} | {:.3} / {:.3}",
                automatic.precision(),
                automatic.recall(),
                review.precision(),
                review.proposed,
                baseline.precision(),
                baseline.recall()
            );
            assert!(
                automatic.precision() >= 0.99,
                "automatic precision {:.3} (seed {seed})",
                automatic.precision()
            );
            assert!(
                automatic.recall() > baseline.recall(),
                "the layers find more than exact names"
            );
            // Per variation, for the note.
            let mut per: HashMap<Variation, (usize, usize)> = HashMap::new();
            for s in &suggestions {
                let v = d.variation[&s.org_id];
                let e = per.entry(v).or_default();
                e.0 += 1;
                if !s.needs_review && s.company_id.is_some() && s.company_id == d.truth[&s.org_id] {
                    e.1 += 1;
                }
            }
            let mut rows: Vec<_> = per.into_iter().collect();
            rows.sort_by_key(|(v, _)| format!("{v:?}"));
            for (v, (n, ok)) in rows {
                println!("    {v:?}: {ok}/{n} found automatically");
            }
        }
    }
}
