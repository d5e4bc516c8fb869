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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_wildcards() {
        assert_eq!(escape_like(r"50%_off\"), r"50\%\_off\\");
    }
}
