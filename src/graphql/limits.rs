//! Limits checked before a query runs, beyond what async-graphql enforces: tokens (a cheap
//! lexer pass, so a huge document is refused before it is parsed), aliases (async-graphql
//! counts none: thousands of `__typename` aliases would pass its complexity limit), and depth
//! outside introspection (GraphiQL's introspection query is deeper than any real query).
//! Syntax errors come back as one clean sentence with the position.
use std::collections::{HashMap, HashSet};

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, FragmentDefinition, Selection, SelectionSet,
};
use async_graphql::{Name, Positioned};

/// The limits; defaults as strict as GraphQL Armor's or stricter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueryLimits {
    pub max_tokens: usize,
    pub max_aliases: usize,
    pub max_depth: usize,
}

impl Default for QueryLimits {
    fn default() -> Self {
        QueryLimits {
            max_tokens: 2000,
            max_aliases: 15,
            max_depth: 10,
        }
    }
}

/// Why a query was refused.
#[derive(Debug, PartialEq, Eq)]
pub struct Refusal(pub String);

/// Counts GraphQL tokens (punctuators, names, numbers, strings), stopping past `max`.
pub fn count_tokens(src: &str, max: usize) -> usize {
    let b = src.as_bytes();
    let (mut i, mut n) = (0, 0);
    while i < b.len() && n <= max {
        let c = b[i];
        match c {
            b' ' | b'\t' | b'\n' | b'\r' | b',' => i += 1,
            0xEF if b[i..].starts_with(&[0xEF, 0xBB, 0xBF]) => i += 3,
            b'#' => {
                while i < b.len() && b[i] != b'\n' && b[i] != b'\r' {
                    i += 1;
                }
            }
            b'"' if b[i..].starts_with(b"\"\"\"") => {
                i += 3;
                while i < b.len() && !b[i..].starts_with(b"\"\"\"") {
                    i += if b[i] == b'\\' && b[i..].starts_with(b"\\\"\"\"") {
                        4
                    } else {
                        1
                    };
                }
                i += 3;
                n += 1;
            }
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' && b[i] != b'\n' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
                n += 1;
            }
            b'.' if b[i..].starts_with(b"...") => {
                i += 3;
                n += 1;
            }
            c if c.is_ascii_alphanumeric() || c == b'_' || c == b'-' => {
                while i < b.len()
                    && (b[i].is_ascii_alphanumeric() || matches!(b[i], b'_' | b'.' | b'-' | b'+'))
                {
                    i += 1;
                }
                n += 1;
            }
            _ => {
                i += 1;
                n += 1;
            }
        }
    }
    n
}

struct Walk<'a> {
    fragments: &'a HashMap<Name, Positioned<FragmentDefinition>>,
    /// Aliases inside each fragment (with what it spreads), computed once.
    fragment_aliases: HashMap<&'a str, usize>,
}

impl<'a> Walk<'a> {
    /// Aliases in a selection set, fragments counted each time they are spread.
    fn aliases(&mut self, set: &'a SelectionSet, seen: &mut HashSet<&'a str>) -> usize {
        let mut n = 0;
        for item in &set.items {
            match &item.node {
                Selection::Field(f) => {
                    n += usize::from(f.node.alias.is_some());
                    n = n.saturating_add(self.aliases(&f.node.selection_set.node, seen));
                }
                Selection::InlineFragment(f) => {
                    n = n.saturating_add(self.aliases(&f.node.selection_set.node, seen));
                }
                Selection::FragmentSpread(s) => {
                    let name = s.node.fragment_name.node.as_str();
                    if let Some(k) = self.fragment_aliases.get(name) {
                        n = n.saturating_add(*k);
                    } else if let Some(def) = self.fragments.get(name)
                        && seen.insert(name)
                    {
                        let k = self.aliases(&def.node.selection_set.node, seen);
                        seen.remove(name);
                        self.fragment_aliases.insert(name, k);
                        n = n.saturating_add(k);
                    }
                }
            }
        }
        n
    }

    /// Depth of a selection set; fields of introspection (`__schema`, `__type`) not counted.
    fn depth(&self, set: &'a SelectionSet, seen: &mut HashSet<&'a str>) -> usize {
        let mut deepest = 0;
        for item in &set.items {
            let d = match &item.node {
                Selection::Field(f) => {
                    let name = f.node.name.node.as_str();
                    if name == "__schema" || name == "__type" {
                        0
                    } else if f.node.selection_set.node.items.is_empty() {
                        1
                    } else {
                        1 + self.depth(&f.node.selection_set.node, seen)
                    }
                }
                Selection::InlineFragment(f) => self.depth(&f.node.selection_set.node, seen),
                Selection::FragmentSpread(s) => {
                    let name = s.node.fragment_name.node.as_str();
                    match self.fragments.get(name) {
                        Some(def) if seen.insert(name) => {
                            let d = self.depth(&def.node.selection_set.node, seen);
                            seen.remove(name);
                            d
                        }
                        _ => 0,
                    }
                }
            };
            deepest = deepest.max(d);
        }
        deepest
    }
}

/// Checks a query against the limits; a syntax error is refused with its position.
pub fn check(query: &str, limits: &QueryLimits) -> Result<(), Refusal> {
    check_tokens(query, limits)?;
    let doc: ExecutableDocument = match async_graphql::parser::parse_query(query) {
        Ok(d) => d,
        Err(e) => return Err(syntax(e.positions().next().map(|p| (p.line, p.column)))),
    };
    check_document(&doc, limits)
}

/// The token limit, on the source (before parsing it).
pub fn check_tokens(query: &str, limits: &QueryLimits) -> Result<(), Refusal> {
    if count_tokens(query, limits.max_tokens) > limits.max_tokens {
        return Err(Refusal(format!(
            "The query has more than {} tokens; split it",
            limits.max_tokens
        )));
    }
    Ok(())
}

/// A syntax error as one sentence, with its position if known.
pub fn syntax(at: Option<(usize, usize)>) -> Refusal {
    let at = at
        .map(|(line, column)| format!(" at line {line}, column {column}"))
        .unwrap_or_default();
    Refusal(format!("The query is not valid GraphQL{at}"))
}

/// Aliases and depth of a parsed document.
pub fn check_document(doc: &ExecutableDocument, limits: &QueryLimits) -> Result<(), Refusal> {
    let mut walk = Walk {
        fragments: &doc.fragments,
        fragment_aliases: HashMap::new(),
    };
    let operations: Vec<&SelectionSet> = match &doc.operations {
        DocumentOperations::Single(op) => vec![&op.node.selection_set.node],
        DocumentOperations::Multiple(ops) => {
            ops.values().map(|o| &o.node.selection_set.node).collect()
        }
    };
    for set in operations {
        let aliases = walk.aliases(set, &mut HashSet::new());
        if aliases > limits.max_aliases {
            return Err(Refusal(format!(
                "The query has {aliases} aliases; at most {} are allowed",
                limits.max_aliases
            )));
        }
        let depth = walk.depth(set, &mut HashSet::new());
        if depth > limits.max_depth {
            return Err(Refusal(format!(
                "The query is {depth} levels deep; at most {} are allowed",
                limits.max_depth
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_counted_like_graphql_does() {
        assert_eq!(count_tokens("{ me { id } }", 100), 6);
        assert_eq!(count_tokens("query($a: Int = 1) { x(a: $a) }", 100), 18);
        assert_eq!(
            count_tokens("{ a(s: \"x y, z\" b: \"\"\"long\n\"\"\") } # comment", 100),
            11
        );
        assert_eq!(count_tokens("{ ...F } fragment F on Q { a }", 100), 11);
        assert_eq!(
            count_tokens(&"{ a ".repeat(5000), 2000),
            2001,
            "stops past the limit"
        );
    }

    #[test]
    fn aliases_count_through_fragments() {
        let limits = QueryLimits::default();
        let many: String = (0..16).map(|i| format!("a{i}: __typename ")).collect();
        assert!(
            check(&format!("{{ {many} }}"), &limits)
                .unwrap_err()
                .0
                .contains("16 aliases")
        );
        let few: String = (0..15).map(|i| format!("a{i}: __typename ")).collect();
        assert!(check(&format!("{{ {few} }}"), &limits).is_ok());
        // Four aliases in a fragment spread four times: 16.
        let q = "{ ...F ...F o: me { ...F ...F } } fragment F on Query { a: __typename b: __typename c: __typename d: __typename }";
        assert!(check(q, &limits).is_err());
        // A fragment that spreads itself does not loop.
        assert!(check("{ ...F } fragment F on Query { ...F }", &limits).is_ok());
    }

    #[test]
    fn depth_skips_introspection() {
        let limits = QueryLimits::default();
        let deep = format!("{{ {}x{} }}", "a { ".repeat(10), " }".repeat(10));
        assert!(check(&deep, &limits).unwrap_err().0.contains("11 levels"));
        let ok = format!("{{ {}x{} }}", "a { ".repeat(9), " }".repeat(9));
        assert!(check(&ok, &limits).is_ok());
        let introspection = format!(
            "{{ __schema {{ {}name{} }} }}",
            "types { ofType { ".repeat(8),
            " } }".repeat(8)
        );
        assert!(check(&introspection, &limits).is_ok());
    }

    #[test]
    fn syntax_errors_are_one_clean_sentence() {
        let e = check("{ me { id }", &QueryLimits::default()).unwrap_err();
        assert!(
            e.0.starts_with("The query is not valid GraphQL at line 1"),
            "{}",
            e.0
        );
        assert!(!e.0.contains('\n') && !e.0.contains("-->"));
    }
}

#[cfg(test)]
mod deep {
    #[test]
    fn deep_nesting_within_the_token_limit_does_not_overflow_a_worker_stack() {
        // Tokio's worker threads have 2 MiB stacks.
        let handle = std::thread::Builder::new()
            .stack_size(2 * 1024 * 1024)
            .spawn(|| {
                let q = format!("{}{}", "{ a ".repeat(999), "}".repeat(999));
                super::check(&q, &super::QueryLimits::default())
            })
            .unwrap();
        assert!(handle.join().unwrap().is_err());
    }
}
