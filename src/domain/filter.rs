//! Comparison operators of the list queries (`_eq`, `_in`, `_ilike`, `_substr`, …),
//! applied to any column.
use sea_orm::Value;
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr, SimpleExpr};

/// One comparison. `Like`/`NotLike` are case-sensitive, `ILike`/`NotILike` and `Substr` are not.
#[derive(Clone, Debug)]
pub enum Cmp {
    Eq(Value),
    Ne(Value),
    Gt(Value),
    Gte(Value),
    Lt(Value),
    Lte(Value),
    In(Vec<Value>),
    Nin(Vec<Value>),
    Like(String),
    NotLike(String),
    ILike(String),
    NotILike(String),
    /// Contains the text, case-insensitively; `%` and `_` match themselves.
    Substr(String),
    IsNull(bool),
}

impl Cmp {
    pub fn apply(&self, col: SimpleExpr) -> SimpleExpr {
        let lower = |c: SimpleExpr| -> SimpleExpr { Func::lower(c).into() };
        match self {
            Cmp::Eq(v) => col.eq(v.clone()),
            Cmp::Ne(v) => col.ne(v.clone()),
            Cmp::Gt(v) => col.gt(v.clone()),
            Cmp::Gte(v) => col.gte(v.clone()),
            Cmp::Lt(v) => col.lt(v.clone()),
            Cmp::Lte(v) => col.lte(v.clone()),
            Cmp::In(vs) if vs.is_empty() => Expr::val(false),
            Cmp::In(vs) => col.is_in(vs.clone()),
            Cmp::Nin(vs) if vs.is_empty() => Expr::val(true),
            Cmp::Nin(vs) => col.is_not_in(vs.clone()),
            Cmp::Like(p) => col.like(LikeExpr::new(p)),
            Cmp::NotLike(p) => col.not_like(LikeExpr::new(p)),
            Cmp::ILike(p) => lower(col).like(LikeExpr::new(p.to_lowercase())),
            Cmp::NotILike(p) => lower(col).not_like(LikeExpr::new(p.to_lowercase())),
            Cmp::Substr(s) => lower(col)
                .like(LikeExpr::new(format!("%{}%", escape_like(&s.to_lowercase()))).escape('\\')),
            Cmp::IsNull(true) => col.is_null(),
            Cmp::IsNull(false) => col.is_not_null(),
        }
    }
}

/// Escapes `\`, `%` and `_` for a `LIKE … ESCAPE '\'` pattern.
pub fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl Cmp {
    /// The same comparison over a text value in memory (for catalogs kept in code).
    pub fn matches_text(&self, value: Option<&str>) -> bool {
        let text = |v: &sea_orm::Value| match v {
            sea_orm::Value::String(Some(s)) => Some(s.to_string()),
            _ => None,
        };
        let Some(value) = value else {
            return matches!(
                self,
                Cmp::IsNull(true) | Cmp::Ne(_) | Cmp::Nin(_) | Cmp::NotLike(_) | Cmp::NotILike(_)
            );
        };
        match self {
            Cmp::Eq(v) => text(v).as_deref() == Some(value),
            Cmp::Ne(v) => text(v).as_deref() != Some(value),
            Cmp::Gt(v) => text(v).is_some_and(|t| value > t.as_str()),
            Cmp::Gte(v) => text(v).is_some_and(|t| value >= t.as_str()),
            Cmp::Lt(v) => text(v).is_some_and(|t| value < t.as_str()),
            Cmp::Lte(v) => text(v).is_some_and(|t| value <= t.as_str()),
            Cmp::In(vs) => vs.iter().any(|v| text(v).as_deref() == Some(value)),
            Cmp::Nin(vs) => !vs.iter().any(|v| text(v).as_deref() == Some(value)),
            Cmp::Like(p) => like(p, value),
            Cmp::NotLike(p) => !like(p, value),
            Cmp::ILike(p) => like(&p.to_lowercase(), &value.to_lowercase()),
            Cmp::NotILike(p) => !like(&p.to_lowercase(), &value.to_lowercase()),
            Cmp::Substr(s) => value.to_lowercase().contains(&s.to_lowercase()),
            Cmp::IsNull(null) => !null,
        }
    }
}

/// SQL `LIKE` in memory: `%` any run, `_` any one character.
fn like(pattern: &str, value: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let v: Vec<char> = value.chars().collect();
    // Classic two-pointer wildcard match with backtracking to the last `%`.
    let (mut i, mut j, mut star, mut mark) = (0usize, 0usize, None::<usize>, 0usize);
    while j < v.len() {
        if i < p.len() && (p[i] == '_' || p[i] == v[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '%' {
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
    while i < p.len() && p[i] == '%' {
        i += 1;
    }
    i == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_wildcards() {
        assert_eq!(escape_like(r"50%_off\"), r"50\%\_off\\");
    }
}
#[cfg(test)]
mod like_tests {
    use super::*;

    #[test]
    fn in_memory_like() {
        assert!(like("conn%", "connectwise"));
        assert!(like("%wise", "connectwise"));
        assert!(like("c_nn%w%e", "connectwise"));
        assert!(!like("conn", "connectwise"));
        assert!(like("%", ""));
        assert!(Cmp::ILike("CONN%".into()).matches_text(Some("ConnectWise")));
        assert!(!Cmp::Like("CONN%".into()).matches_text(Some("ConnectWise")));
        assert!(Cmp::Substr("wise".into()).matches_text(Some("ConnectWise PSA")));
        assert!(Cmp::Ne(sea_orm::Value::from("x")).matches_text(None));
    }
}
