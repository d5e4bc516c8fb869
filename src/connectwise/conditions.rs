//! ConnectWise's `conditions` / `childConditions` language: a parser to an AST and an
//! evaluator over JSON (used to validate configs, and by the simulator to filter).
//!
//! ```text
//! expr       := or
//! or         := and ("or" and)*            -- "and" binds tighter than "or"
//! and        := unary ("and" unary)*
//! unary      := "not" unary | "(" expr ")" | comparison
//! comparison := path op value
//!             | path ["not"] ("like" | "contains") value
//!             | path ["not"] "in" "(" value ("," value)* ")"
//! op         := = | != | < | <= | > | >=
//! value      := "text" | 'text' | integer | decimal | true | false | null | [datetime]
//! path       := name ("/" name)*
//! ```
//! Keywords are case-insensitive. In `like`, `%` and `*` match any run of characters.
//! Text comparisons are case-insensitive, as ConnectWise's are.
use std::fmt;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime};
use serde_json::Value;

/// Inputs longer than this are refused outright (the API limits URLs well below it).
pub const MAX_LEN: usize = 4000;
const MAX_DEPTH: usize = 64;

#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    Text(String),
    Integer(i64),
    Decimal(f64),
    Bool(bool),
    Null,
    DateTime(DateTime<FixedOffset>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Like,
    Contains,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Condition {
    Compare {
        path: Vec<String>,
        op: Op,
        negated: bool,
        value: Literal,
    },
    In {
        path: Vec<String>,
        negated: bool,
        values: Vec<Literal>,
    },
    And(Box<Condition>, Box<Condition>),
    Or(Box<Condition>, Box<Condition>),
    Not(Box<Condition>),
}

/// Where and why a text is not valid conditions. `position` counts characters from 0.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub position: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at position {}: {}", self.position, self.message)
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Name(String),
    Text(String),
    Number(String),
    Date(String),
    Op(&'static str),
    LParen,
    RParen,
    Comma,
    Slash,
}

fn err<T>(position: usize, message: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError {
        position,
        message: message.into(),
    })
}

fn lex(input: &str) -> Result<Vec<(usize, Tok)>, ParseError> {
    let chars: Vec<char> = input.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                out.push((start, Tok::LParen));
                i += 1;
            }
            ')' => {
                out.push((start, Tok::RParen));
                i += 1;
            }
            ',' => {
                out.push((start, Tok::Comma));
                i += 1;
            }
            '/' => {
                out.push((start, Tok::Slash));
                i += 1;
            }
            '"' | '\'' => {
                let quote = c;
                i += 1;
                let mut text = String::new();
                loop {
                    match chars.get(i) {
                        None => {
                            return err(
                                start,
                                format!("the text started here is not closed with {quote}"),
                            );
                        }
                        // A doubled quote stands for one quote character.
                        Some(&q) if q == quote && chars.get(i + 1) == Some(&quote) => {
                            text.push(quote);
                            i += 2;
                        }
                        Some(&q) if q == quote => {
                            i += 1;
                            break;
                        }
                        Some(&ch) => {
                            text.push(ch);
                            i += 1;
                        }
                    }
                }
                out.push((start, Tok::Text(text)));
            }
            '[' => {
                i += 1;
                let mut text = String::new();
                loop {
                    match chars.get(i) {
                        None => return err(start, "the date started here is not closed with ]"),
                        Some(']') => {
                            i += 1;
                            break;
                        }
                        Some(&ch) => {
                            text.push(ch);
                            i += 1;
                        }
                    }
                }
                out.push((start, Tok::Date(text)));
            }
            '=' => {
                out.push((start, Tok::Op("=")));
                i += 1;
            }
            '!' if chars.get(i + 1) == Some(&'=') => {
                out.push((start, Tok::Op("!=")));
                i += 2;
            }
            '<' | '>' => {
                let op = match (c, chars.get(i + 1)) {
                    ('<', Some('=')) => "<=",
                    ('>', Some('=')) => ">=",
                    ('<', Some('>')) => "!=",
                    ('<', _) => "<",
                    _ => ">",
                };
                i += if op.len() == 2 { 2 } else { 1 };
                out.push((start, Tok::Op(op)));
            }
            c if c.is_ascii_digit()
                || (c == '-' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit())) =>
            {
                let mut text = String::from(c);
                i += 1;
                while let Some(&d) = chars.get(i) {
                    if d.is_ascii_digit() || d == '.' {
                        text.push(d);
                        i += 1;
                    } else {
                        break;
                    }
                }
                out.push((start, Tok::Number(text)));
            }
            c if c.is_alphabetic() || c == '_' || c == '@' => {
                let mut text = String::new();
                while let Some(&d) = chars.get(i) {
                    if d.is_alphanumeric() || d == '_' || d == '@' || d == '.' {
                        text.push(d);
                        i += 1;
                    } else {
                        break;
                    }
                }
                out.push((start, Tok::Name(text)));
            }
            other => return err(start, format!("unexpected `{other}`")),
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<(usize, Tok)>,
    at: usize,
    end: usize,
    depth: usize,
}

fn keyword(tok: Option<&Tok>, word: &str) -> bool {
    matches!(tok, Some(Tok::Name(n)) if n.eq_ignore_ascii_case(word))
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at).map(|(_, t)| t)
    }

    fn pos(&self) -> usize {
        self.toks.get(self.at).map(|(p, _)| *p).unwrap_or(self.end)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.at).map(|(_, t)| t.clone());
        self.at += 1;
        t
    }

    fn or(&mut self) -> Result<Condition, ParseError> {
        let mut left = self.and()?;
        while keyword(self.peek(), "or") {
            self.at += 1;
            let right = self.and()?;
            left = Condition::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Condition, ParseError> {
        let mut left = self.unary()?;
        while keyword(self.peek(), "and") {
            self.at += 1;
            let right = self.unary()?;
            left = Condition::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Condition, ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return err(self.pos(), "nested too deeply");
        }
        let result = if keyword(self.peek(), "not") {
            self.at += 1;
            self.unary().map(|c| Condition::Not(Box::new(c)))
        } else if self.peek() == Some(&Tok::LParen) {
            self.at += 1;
            let inner = self.or()?;
            let at = self.pos();
            match self.next() {
                Some(Tok::RParen) => Ok(inner),
                _ => err(at, "expected `)`"),
            }
        } else {
            self.comparison()
        };
        self.depth -= 1;
        result
    }

    fn path(&mut self) -> Result<Vec<String>, ParseError> {
        let mut path = Vec::new();
        loop {
            let pos = self.pos();
            match self.next() {
                Some(Tok::Name(n))
                    if !["and", "or", "not", "like", "contains", "in"]
                        .iter()
                        .any(|k| n.eq_ignore_ascii_case(k))
                        || !path.is_empty() =>
                {
                    path.push(n)
                }
                _ => return err(pos, "expected a field name such as status/name"),
            }
            if self.peek() == Some(&Tok::Slash) {
                self.at += 1;
            } else {
                return Ok(path);
            }
        }
    }

    fn value(&mut self) -> Result<Literal, ParseError> {
        let pos = self.pos();
        match self.next() {
            Some(Tok::Text(t)) => Ok(Literal::Text(t)),
            Some(Tok::Number(n)) => match n.parse::<i64>() {
                Ok(i) => Ok(Literal::Integer(i)),
                Err(_) => n
                    .parse::<f64>()
                    .map(Literal::Decimal)
                    .or_else(|_| err(pos, format!("`{n}` is not a number"))),
            },
            Some(Tok::Date(d)) => parse_date(&d)
                .map(Literal::DateTime)
                .ok_or(())
                .or_else(|_| {
                    err(
                        pos,
                        format!("`[{d}]` is not a date such as [2024-01-31T00:00:00Z]"),
                    )
                }),
            Some(Tok::Name(n)) if n.eq_ignore_ascii_case("true") => Ok(Literal::Bool(true)),
            Some(Tok::Name(n)) if n.eq_ignore_ascii_case("false") => Ok(Literal::Bool(false)),
            Some(Tok::Name(n)) if n.eq_ignore_ascii_case("null") => Ok(Literal::Null),
            Some(Tok::Name(n)) => err(pos, format!("`{n}` is not a value: put text in quotes")),
            _ => err(
                pos,
                "expected a value: \"text\", a number, true, false, null or [date]",
            ),
        }
    }

    fn comparison(&mut self) -> Result<Condition, ParseError> {
        let path = self.path()?;
        let negated = keyword(self.peek(), "not");
        if negated {
            self.at += 1;
        }
        let pos = self.pos();
        match self.next() {
            Some(Tok::Op(op)) if !negated => {
                let op = match op {
                    "=" => Op::Eq,
                    "!=" => Op::Ne,
                    "<" => Op::Lt,
                    "<=" => Op::Le,
                    ">" => Op::Gt,
                    _ => Op::Ge,
                };
                Ok(Condition::Compare {
                    path,
                    op,
                    negated: false,
                    value: self.value()?,
                })
            }
            Some(Tok::Name(n))
                if n.eq_ignore_ascii_case("like") || n.eq_ignore_ascii_case("contains") =>
            {
                let op = if n.eq_ignore_ascii_case("like") {
                    Op::Like
                } else {
                    Op::Contains
                };
                Ok(Condition::Compare {
                    path,
                    op,
                    negated,
                    value: self.value()?,
                })
            }
            Some(Tok::Name(n)) if n.eq_ignore_ascii_case("in") => {
                let at = self.pos();
                if self.next() != Some(Tok::LParen) {
                    return err(at, "expected `(` after in");
                }
                let mut values = vec![self.value()?];
                loop {
                    let at = self.pos();
                    match self.next() {
                        Some(Tok::Comma) => values.push(self.value()?),
                        Some(Tok::RParen) => break,
                        _ => return err(at, "expected `,` or `)` in the list"),
                    }
                }
                Ok(Condition::In {
                    path,
                    negated,
                    values,
                })
            }
            _ => err(pos, "expected an operator: = != < <= > >= like contains in"),
        }
    }
}

fn parse_date(text: &str) -> Option<DateTime<FixedOffset>> {
    let t = text.trim();
    DateTime::parse_from_rfc3339(t)
        .ok()
        .or_else(|| {
            NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S")
                .ok()
                .map(|n| n.and_utc().fixed_offset())
        })
        .or_else(|| {
            NaiveDate::parse_from_str(t, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|n| n.and_utc().fixed_offset())
        })
}

/// Parses conditions. An empty text is an error (no conditions means none were given).
pub fn parse(input: &str) -> Result<Condition, ParseError> {
    let count = input.chars().count();
    if count > MAX_LEN {
        return err(
            MAX_LEN,
            format!("conditions are limited to {MAX_LEN} characters"),
        );
    }
    let toks = lex(input)?;
    if toks.is_empty() {
        return err(0, "empty conditions");
    }
    let mut p = Parser {
        toks,
        at: 0,
        end: count,
        depth: 0,
    };
    let cond = p.or()?;
    if p.at < p.toks.len() {
        return err(
            p.pos(),
            "unexpected text after the conditions: join them with and / or",
        );
    }
    Ok(cond)
}

/// Values at `path` in `item`: arrays along the way fan out (any element may match).
fn values_at<'a>(item: &'a Value, path: &[String]) -> Vec<&'a Value> {
    let mut current = vec![item];
    for step in path {
        let mut next = Vec::new();
        for v in current {
            match v {
                Value::Object(m) => {
                    if let Some(found) = m.get(step).or_else(|| {
                        m.iter()
                            .find(|(k, _)| k.eq_ignore_ascii_case(step))
                            .map(|(_, v)| v)
                    }) {
                        match found {
                            Value::Array(items) => next.extend(items.iter()),
                            other => next.push(other),
                        }
                    }
                }
                Value::Array(items) => {
                    for it in items {
                        if let Value::Object(m) = it
                            && let Some(found) = m.get(step)
                        {
                            next.push(found);
                        }
                    }
                }
                _ => {}
            }
        }
        current = next;
    }
    current
}

fn like(pattern: &str, value: &str) -> bool {
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let v: Vec<char> = value.to_lowercase().chars().collect();
    let (mut i, mut j, mut star, mut mark) = (0usize, 0usize, None::<usize>, 0usize);
    while j < v.len() {
        if i < p.len() && p[i] != '%' && p[i] != '*' && p[i] == v[j] {
            i += 1;
            j += 1;
        } else if i < p.len() && (p[i] == '%' || p[i] == '*') {
            star = Some(i);
            mark = j;
            i += 1;
        } else if let Some(s) = star {
            i = s + 1;
            mark += 1;
            j = mark;
        } else {
            return false;
        }
    }
    while i < p.len() && (p[i] == '%' || p[i] == '*') {
        i += 1;
    }
    i == p.len()
}

fn order(v: &Value, lit: &Literal) -> Option<std::cmp::Ordering> {
    match (v, lit) {
        (Value::Number(n), Literal::Integer(i)) => n.as_f64()?.partial_cmp(&(*i as f64)),
        (Value::Number(n), Literal::Decimal(d)) => n.as_f64()?.partial_cmp(d),
        (Value::String(s), Literal::DateTime(d)) => parse_date(s).map(|sd| sd.cmp(d)),
        (Value::String(s), Literal::Text(t)) => Some(s.to_lowercase().cmp(&t.to_lowercase())),
        (Value::String(s), Literal::Integer(i)) => s.parse::<f64>().ok()?.partial_cmp(&(*i as f64)),
        (Value::Bool(b), Literal::Bool(l)) => Some(b.cmp(l)),
        _ => None,
    }
}

fn equals(v: &Value, lit: &Literal) -> bool {
    match lit {
        Literal::Null => v.is_null(),
        _ => order(v, lit) == Some(std::cmp::Ordering::Equal),
    }
}

fn compare(values: &[&Value], op: Op, lit: &Literal) -> bool {
    use std::cmp::Ordering::*;
    if values.is_empty() {
        // A missing field is null.
        return match (op, lit) {
            (Op::Eq, Literal::Null) => true,
            (Op::Ne, l) => *l != Literal::Null,
            _ => false,
        };
    }
    let text = |l: &Literal| match l {
        Literal::Text(t) => Some(t.clone()),
        Literal::Integer(i) => Some(i.to_string()),
        _ => None,
    };
    values.iter().any(|v| match op {
        Op::Eq => equals(v, lit),
        Op::Ne => !equals(v, lit),
        Op::Lt => order(v, lit) == Some(Less),
        Op::Le => matches!(order(v, lit), Some(Less | Equal)),
        Op::Gt => order(v, lit) == Some(Greater),
        Op::Ge => matches!(order(v, lit), Some(Greater | Equal)),
        Op::Like => match (v, text(lit)) {
            (Value::String(s), Some(p)) => like(&p, s),
            _ => false,
        },
        Op::Contains => match (v, text(lit)) {
            (Value::String(s), Some(t)) => s.to_lowercase().contains(&t.to_lowercase()),
            _ => false,
        },
    })
}

impl Condition {
    /// Whether a JSON object (a company, a ticket…) meets the conditions.
    pub fn matches(&self, item: &Value) -> bool {
        match self {
            Condition::Compare {
                path,
                op,
                negated,
                value,
            } => compare(&values_at(item, path), *op, value) != *negated,
            Condition::In {
                path,
                negated,
                values,
            } => {
                let found = values_at(item, path);
                values.iter().any(|l| found.iter().any(|v| equals(v, l))) != *negated
            }
            Condition::And(a, b) => a.matches(item) && b.matches(item),
            Condition::Or(a, b) => a.matches(item) || b.matches(item),
            Condition::Not(c) => !c.matches(item),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn company() -> Value {
        json!({ "id": 250, "identifier": "Contoso", "name": "Contoso, Ltd.", "deletedFlag": false,
                "status": { "id": 1, "name": "Active" }, "types": [{ "id": 1, "name": "Client" }, { "id": 5, "name": "Partner" }],
                "website": null, "_info": { "lastUpdated": "2024-03-01T10:00:00Z" } })
    }

    fn check(text: &str) -> bool {
        parse(text)
            .unwrap_or_else(|e| panic!("{text}: {e}"))
            .matches(&company())
    }

    #[test]
    fn comparisons_and_paths() {
        assert!(check("id = 250"));
        assert!(
            check("status/name = \"active\""),
            "text is compared case-insensitively"
        );
        assert!(check("status/name = 'Active' AND deletedFlag = FALSE"));
        assert!(check("id >= 250 and id < 251 and id != 7 and id <> 8"));
        assert!(check("types/name = \"Partner\""), "arrays: any element");
        assert!(check(
            "website = null and missing = null and missing != 'x'"
        ));
        assert!(check(
            "_info/lastUpdated > [2024-01-01T00:00:00Z] and _info/lastUpdated < [2025-01-01]"
        ));
        assert!(check(
            "name like \"contoso%\" and name like 'C*Ltd.' and name not like '%Inc%'"
        ));
        assert!(check(
            "name contains \"toso\" and name not contains 'fabrikam'"
        ));
        assert!(check("id in (1, 250, 3) and identifier not in ('A', 'B')"));
        assert!(
            check("name = 'it''s' or id = 250"),
            "a doubled quote is a quote"
        );
        assert!(!check("status/name = \"Inactive\""));
    }

    #[test]
    fn and_binds_tighter_than_or() {
        // false or (true and true) = true; (false or true) and false = false
        assert!(check("id = 1 or id = 250 and status/name = 'Active'"));
        assert!(!check("(id = 1 or id = 250) and status/name = 'Inactive'"));
        assert!(!check("id = 1 or id = 250 and status/name = 'Inactive'"));
        assert!(check("not (id = 1) and not id = 2"));
        assert_eq!(
            parse("a = 1 or b = 2 and c = 3").unwrap(),
            Condition::Or(
                Box::new(Condition::Compare {
                    path: vec!["a".into()],
                    op: Op::Eq,
                    negated: false,
                    value: Literal::Integer(1)
                }),
                Box::new(Condition::And(
                    Box::new(Condition::Compare {
                        path: vec!["b".into()],
                        op: Op::Eq,
                        negated: false,
                        value: Literal::Integer(2)
                    }),
                    Box::new(Condition::Compare {
                        path: vec!["c".into()],
                        op: Op::Eq,
                        negated: false,
                        value: Literal::Integer(3)
                    }),
                )),
            )
        );
    }

    #[test]
    fn errors_say_where() {
        let e = |t: &str| parse(t).unwrap_err();
        assert_eq!(e("name = \"open").position, 7);
        assert_eq!(e("id = 1 and").position, 10);
        assert_eq!(e("id == 1").position, 4);
        assert_eq!(e("id = 1 id = 2").position, 7);
        assert_eq!(e("(id = 1").position, 7);
        assert_eq!(e("d > [yesterday]").position, 4);
        assert_eq!(e("name = Active").position, 7);
        assert_eq!(e("id in 1, 2").position, 6);
        assert_eq!(e("").position, 0);
        assert!(e("id # 1").message.contains('#'));
        assert!(e("id = 1 and").to_string().starts_with("at position 10:"));
    }

    /// No input makes the parser or the evaluator panic: random texts over the language's
    /// alphabet and random mutations of valid conditions (a bounded, deterministic fuzz).
    #[test]
    fn never_panics() {
        let alphabet: Vec<char> =
            "ab/ _=!<>()[],'\"%*-0123456789.andorNOTlikeincontainstruefalsenull2024-01-01T"
                .chars()
                .collect();
        let seeds = [
            "status/name = \"Active\" and (id in (1,2) or name like 'a%')",
            "d > [2024-01-01] or not x contains 'y'",
        ];
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut rand = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for round in 0..20_000 {
            let text: String = if round % 2 == 0 {
                (0..(rand() % 40))
                    .map(|_| alphabet[(rand() % alphabet.len() as u64) as usize])
                    .collect()
            } else {
                let mut chars: Vec<char> = seeds[round % seeds.len()].chars().collect();
                for _ in 0..(1 + rand() % 4) {
                    let at = (rand() % (chars.len() as u64 + 1)) as usize;
                    match rand() % 3 {
                        0 if at < chars.len() => {
                            chars.remove(at);
                        }
                        _ => chars.insert(
                            at.min(chars.len()),
                            alphabet[(rand() % alphabet.len() as u64) as usize],
                        ),
                    }
                }
                chars.into_iter().collect()
            };
            if let Ok(c) = parse(&text) {
                c.matches(&company());
            }
        }
        // Deep nesting is refused, not a stack overflow.
        let deep = format!("{}id = 1{}", "(".repeat(10_000), ")".repeat(10_000));
        assert!(parse(&deep).is_err());
        let long_not = format!("{}id = 1", "not ".repeat(900));
        assert!(parse(&long_not).is_err());
    }
}

#[cfg(test)]
mod deep {
    #[test]
    fn deep_nesting_is_refused_not_a_stack_overflow() {
        let handle = std::thread::Builder::new()
            .stack_size(2 * 1024 * 1024)
            .spawn(|| {
                let text = format!("{}id = 1{}", "(".repeat(100_000), ")".repeat(100_000));
                super::parse(&text).is_err()
            })
            .unwrap();
        assert!(handle.join().unwrap());
    }
}
