//! Types of Flow values and the unifier that infers them.
//!
//! [`Ty`] is what the checker computes for every expression. Inference
//! variables ([`Ty::Var`]) stand for types not known yet; [`Infer`] binds
//! them by unification. Generic parameters of standard library signatures are
//! [`Ty::Gen`] and are replaced by fresh variables at every call. [`Ty::Error`]
//! is the type of anything already reported: it unifies with everything, so
//! one mistake produces one diagnostic.

use std::fmt;

use serde::Serialize;

/// A constraint on a type variable, written as a generic bound in the
/// standard library (`N: Num`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Bound {
    /// `int` or `float`.
    Num,
    /// `int`, `float`, `bool` or `str`.
    Scalar,
}

impl Bound {
    pub fn from_name(name: &str) -> Option<Bound> {
        match name {
            "Num" => Some(Bound::Num),
            "Scalar" => Some(Bound::Scalar),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Bound::Num => "Num",
            Bound::Scalar => "Scalar",
        }
    }

    /// In words, for messages: "a number (`int` or `float`)".
    pub fn describe(self) -> &'static str {
        match self {
            Bound::Num => "a number (`int` or `float`)",
            Bound::Scalar => "a scalar (`int`, `float`, `bool` or `str`)",
        }
    }

    fn admits(self, ty: &Ty) -> bool {
        match self {
            Bound::Num => matches!(ty, Ty::Int | Ty::Float | Ty::Error),
            Bound::Scalar => matches!(ty, Ty::Int | Ty::Float | Ty::Bool | Ty::Str | Ty::Error),
        }
    }

    /// The bound that admits what both admit.
    fn meet(self, other: Bound) -> Bound {
        if self == Bound::Num || other == Bound::Num {
            Bound::Num
        } else {
            Bound::Scalar
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Ty {
    Int,
    Float,
    Bool,
    Str,
    List(Box<Ty>),
    Tuple(Vec<Ty>),
    /// A record type declared with `type Name = { … }`, by name (names are
    /// unique within a job).
    Record(String),
    Stream(Box<Ty>),
    Fn(Vec<Ty>, Box<Ty>),
    /// An inference variable, an index into [`Infer`].
    Var(u32),
    /// The generic parameter number `n` of a standard library signature.
    Gen(u32),
    /// The type of something already reported as wrong.
    Error,
}

impl Ty {
    pub fn is_scalar(&self) -> bool {
        matches!(self, Ty::Int | Ty::Float | Ty::Bool | Ty::Str)
    }

    pub fn is_error(&self) -> bool {
        matches!(self, Ty::Error)
    }

    /// Whether a stream occurs anywhere in this type.
    pub fn contains_stream(&self) -> bool {
        match self {
            Ty::Stream(_) => true,
            Ty::List(t) => t.contains_stream(),
            Ty::Tuple(ts) => ts.iter().any(Ty::contains_stream),
            Ty::Fn(ps, r) => ps.iter().any(Ty::contains_stream) || r.contains_stream(),
            _ => false,
        }
    }

    /// Whether an error type occurs anywhere in this type.
    pub fn contains_error(&self) -> bool {
        match self {
            Ty::Error => true,
            Ty::List(t) | Ty::Stream(t) => t.contains_error(),
            Ty::Tuple(ts) => ts.iter().any(Ty::contains_error),
            Ty::Fn(ps, r) => ps.iter().any(Ty::contains_error) || r.contains_error(),
            _ => false,
        }
    }

    /// Whether an unresolved inference variable occurs in this type.
    pub fn contains_var(&self) -> bool {
        match self {
            Ty::Var(_) => true,
            Ty::List(t) | Ty::Stream(t) => t.contains_var(),
            Ty::Tuple(ts) => ts.iter().any(Ty::contains_var),
            Ty::Fn(ps, r) => ps.iter().any(Ty::contains_var) || r.contains_var(),
            _ => false,
        }
    }

    /// Replaces the generic parameters `Gen(i)` by `args[i]`.
    pub fn substitute(&self, args: &[Ty]) -> Ty {
        match self {
            Ty::Gen(i) => args.get(*i as usize).cloned().unwrap_or(Ty::Error),
            Ty::List(t) => Ty::List(Box::new(t.substitute(args))),
            Ty::Stream(t) => Ty::Stream(Box::new(t.substitute(args))),
            Ty::Tuple(ts) => Ty::Tuple(ts.iter().map(|t| t.substitute(args)).collect()),
            Ty::Fn(ps, r) => Ty::Fn(
                ps.iter().map(|t| t.substitute(args)).collect(),
                Box::new(r.substitute(args)),
            ),
            other => other.clone(),
        }
    }
}

/// Displays a type as a user writes it; unresolved variables show as `_`.
impl fmt::Display for Ty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ty::Int => f.write_str("int"),
            Ty::Float => f.write_str("float"),
            Ty::Bool => f.write_str("bool"),
            Ty::Str => f.write_str("str"),
            Ty::List(t) => write!(f, "[{t}]"),
            Ty::Tuple(ts) => {
                f.write_str("(")?;
                for (i, t) in ts.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{t}")?;
                }
                if ts.len() == 1 {
                    f.write_str(",")?;
                }
                f.write_str(")")
            }
            Ty::Record(name) => f.write_str(name),
            Ty::Stream(t) => write!(f, "stream<{t}>"),
            Ty::Fn(ps, r) => {
                f.write_str("fn(")?;
                for (i, t) in ps.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{t}")?;
                }
                write!(f, ") -> {r}")
            }
            Ty::Var(_) => f.write_str("_"),
            Ty::Gen(i) => write!(f, "{}", generic_name(*i)),
            Ty::Error => f.write_str("{unknown}"),
        }
    }
}

/// A placeholder name for generic parameter `i` when no declared name is at
/// hand.
pub fn generic_name(i: u32) -> String {
    const NAMES: [&str; 6] = ["T", "U", "V", "W", "X", "Y"];
    match NAMES.get(i as usize) {
        Some(name) => (*name).to_string(),
        None => format!("T{i}"),
    }
}

#[derive(Clone, Debug)]
struct VarState {
    binding: Option<Ty>,
    bound: Option<Bound>,
}

/// Why two types did not unify.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UnifyError {
    /// The shapes differ.
    Mismatch,
    /// A variable with a bound met a type outside it.
    Bound(Bound, Ty),
}

/// The inference variables of one job and their bindings.
#[derive(Clone, Debug, Default)]
pub struct Infer {
    vars: Vec<VarState>,
    /// While a [`Snapshot`] is open, the earlier state of every variable
    /// that changes, so [`Infer::rollback`] undoes a trial in time
    /// proportional to what the trial did, not to the size of the job.
    trail: Vec<(u32, VarState)>,
    open_snapshots: u32,
}

/// A point to return to with [`Infer::rollback`].
#[derive(Debug)]
#[must_use = "a snapshot must be rolled back"]
pub struct Snapshot {
    vars: usize,
    trail: usize,
}

impl Infer {
    pub fn fresh(&mut self, bound: Option<Bound>) -> Ty {
        self.vars.push(VarState {
            binding: None,
            bound,
        });
        Ty::Var(self.vars.len() as u32 - 1)
    }

    /// Marks the current bindings, to try a unification and undo it with
    /// [`Infer::rollback`].
    pub fn snapshot(&mut self) -> Snapshot {
        self.open_snapshots += 1;
        Snapshot {
            vars: self.vars.len(),
            trail: self.trail.len(),
        }
    }

    /// Undoes every binding and variable made since `snapshot`.
    pub fn rollback(&mut self, snapshot: Snapshot) {
        while self.trail.len() > snapshot.trail {
            if let Some((var, state)) = self.trail.pop()
                && let Some(slot) = self.vars.get_mut(var as usize)
            {
                *slot = state;
            }
        }
        self.vars.truncate(snapshot.vars);
        self.open_snapshots = self.open_snapshots.saturating_sub(1);
    }

    /// Keeps what was done since `snapshot`.
    pub fn commit(&mut self, snapshot: Snapshot) {
        self.open_snapshots = self.open_snapshots.saturating_sub(1);
        if self.open_snapshots == 0 {
            self.trail.clear();
        } else {
            // An enclosing trial may still roll back past this point, so the
            // entries stay; nothing to do.
            let _ = snapshot;
        }
    }

    /// Records the state of `var` before it changes, if a trial is open.
    fn remember(&mut self, var: u32) {
        if self.open_snapshots > 0
            && let Some(state) = self.vars.get(var as usize)
        {
            self.trail.push((var, state.clone()));
        }
    }

    /// Follows variable bindings at the top of `ty` only.
    pub fn shallow(&self, ty: &Ty) -> Ty {
        let mut current = ty.clone();
        // Bindings never form a cycle (the occurs check refuses them), so
        // this ends; the counter guards against a bug turning into a hang.
        for _ in 0..=self.vars.len() {
            match current {
                Ty::Var(v) => match self.vars.get(v as usize).and_then(|s| s.binding.clone()) {
                    Some(next) => current = next,
                    None => return current,
                },
                _ => return current,
            }
        }
        Ty::Error
    }

    /// Replaces every bound variable in `ty` by its binding, deeply.
    pub fn resolve(&self, ty: &Ty) -> Ty {
        match self.shallow(ty) {
            Ty::List(t) => Ty::List(Box::new(self.resolve(&t))),
            Ty::Stream(t) => Ty::Stream(Box::new(self.resolve(&t))),
            Ty::Tuple(ts) => Ty::Tuple(ts.iter().map(|t| self.resolve(t)).collect()),
            Ty::Fn(ps, r) => Ty::Fn(
                ps.iter().map(|t| self.resolve(t)).collect(),
                Box::new(self.resolve(&r)),
            ),
            other => other,
        }
    }

    /// The bound of an unresolved variable.
    pub fn bound_of(&self, ty: &Ty) -> Option<Bound> {
        match self.shallow(ty) {
            Ty::Var(v) => self.vars.get(v as usize).and_then(|s| s.bound),
            _ => None,
        }
    }

    fn occurs(&self, var: u32, ty: &Ty) -> bool {
        match self.shallow(ty) {
            Ty::Var(v) => v == var,
            Ty::List(t) | Ty::Stream(t) => self.occurs(var, &t),
            Ty::Tuple(ts) => ts.iter().any(|t| self.occurs(var, t)),
            Ty::Fn(ps, r) => ps.iter().any(|t| self.occurs(var, t)) || self.occurs(var, &r),
            _ => false,
        }
    }

    fn bind(&mut self, var: u32, ty: Ty) -> Result<(), UnifyError> {
        if let Ty::Var(other) = ty {
            if other == var {
                return Ok(());
            }
            let mine = self.vars.get(var as usize).and_then(|s| s.bound);
            self.remember(other);
            if let Some(state) = self.vars.get_mut(other as usize) {
                state.bound = match (state.bound, mine) {
                    (Some(a), Some(b)) => Some(a.meet(b)),
                    (a, b) => a.or(b),
                };
            }
        } else {
            if self.occurs(var, &ty) {
                return Err(UnifyError::Mismatch);
            }
            if let Some(bound) = self.vars.get(var as usize).and_then(|s| s.bound)
                && !bound.admits(&ty)
            {
                return Err(UnifyError::Bound(bound, self.resolve(&ty)));
            }
        }
        self.remember(var);
        if let Some(state) = self.vars.get_mut(var as usize) {
            state.binding = Some(ty);
        }
        Ok(())
    }

    /// Makes `a` and `b` the same type, binding variables as needed.
    pub fn unify(&mut self, a: &Ty, b: &Ty) -> Result<(), UnifyError> {
        let a = self.shallow(a);
        let b = self.shallow(b);
        match (a, b) {
            // An unknown type meeting an error becomes the error, so that
            // nothing downstream reports it again.
            (Ty::Var(v), Ty::Error) | (Ty::Error, Ty::Var(v)) => self.bind(v, Ty::Error),
            (Ty::Error, _) | (_, Ty::Error) => Ok(()),
            (Ty::Var(v), other) | (other, Ty::Var(v)) => self.bind(v, other),
            (Ty::Int, Ty::Int)
            | (Ty::Float, Ty::Float)
            | (Ty::Bool, Ty::Bool)
            | (Ty::Str, Ty::Str) => Ok(()),
            (Ty::List(x), Ty::List(y)) | (Ty::Stream(x), Ty::Stream(y)) => self.unify(&x, &y),
            (Ty::Tuple(xs), Ty::Tuple(ys)) if xs.len() == ys.len() => {
                for (x, y) in xs.iter().zip(ys.iter()) {
                    self.unify(x, y)?;
                }
                Ok(())
            }
            (Ty::Record(x), Ty::Record(y)) if x == y => Ok(()),
            (Ty::Fn(xs, xr), Ty::Fn(ys, yr)) if xs.len() == ys.len() => {
                for (x, y) in xs.iter().zip(ys.iter()) {
                    self.unify(x, y)?;
                }
                self.unify(&xr, &yr)
            }
            (Ty::Gen(x), Ty::Gen(y)) if x == y => Ok(()),
            _ => Err(UnifyError::Mismatch),
        }
    }

    /// Unifies, keeping no binding if it fails.
    pub fn try_unify(&mut self, a: &Ty, b: &Ty) -> Result<(), UnifyError> {
        let saved = self.snapshot();
        let result = self.unify(a, b);
        if result.is_err() {
            self.rollback(saved);
        } else {
            self.commit(saved);
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unify_binds_and_resolves_nested_variables() {
        let mut infer = Infer::default();
        let t = infer.fresh(None);
        let list = Ty::List(Box::new(t.clone()));
        infer.unify(&list, &Ty::List(Box::new(Ty::Str))).unwrap();
        assert_eq!(infer.resolve(&t), Ty::Str);
    }

    #[test]
    fn bounds_refuse_types_outside_them() {
        let mut infer = Infer::default();
        let n = infer.fresh(Some(Bound::Num));
        assert_eq!(
            infer.unify(&n, &Ty::Str),
            Err(UnifyError::Bound(Bound::Num, Ty::Str))
        );
        assert!(infer.unify(&n, &Ty::Float).is_ok());
    }

    #[test]
    fn occurs_check_refuses_infinite_types() {
        let mut infer = Infer::default();
        let t = infer.fresh(None);
        assert!(infer.unify(&t, &Ty::List(Box::new(t.clone()))).is_err());
    }

    #[test]
    fn display_reads_like_source() {
        let ty = Ty::Stream(Box::new(Ty::Tuple(vec![Ty::Str, Ty::Int])));
        assert_eq!(ty.to_string(), "stream<(str, int)>");
        let f = Ty::Fn(vec![Ty::Int], Box::new(Ty::List(Box::new(Ty::Bool))));
        assert_eq!(f.to_string(), "fn(int) -> [bool]");
    }
}
