//! `cargo bench --bench mapping`: time to suggest mappings for 5,000 organizations against
//! 5,000 PSA companies (the generated, labelled data set), and the quality at that size.
use std::time::Instant;

use orghub::domain::mapping::suggest;
use orghub::domain::mapping_dataset::{generate, score};

fn main() {
    for (orgs, companies) in [(300, 400), (5_000, 5_000)] {
        let d = generate(orgs, companies, 42);
        let mut times = Vec::new();
        let mut last = Vec::new();
        for _ in 0..5 {
            let started = Instant::now();
            last = suggest(&d.orgs, &d.companies);
            times.push(started.elapsed());
        }
        times.sort();
        let automatic = score(
            &d,
            last.iter()
                .filter(|s| !s.needs_review)
                .filter_map(|s| s.company_id.as_deref().map(|c| (s.org_id, c))),
        );
        println!(
            "suggest {orgs} orgs x {companies} companies: min {:?}, median {:?}, max {:?}; automatic precision {:.4}, recall {:.3}",
            times[0],
            times[times.len() / 2],
            times[times.len() - 1],
            automatic.precision(),
            automatic.recall()
        );
    }
}
