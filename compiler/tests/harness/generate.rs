//! Generators of well-typed Flow programs for the differential tests.
//!
//! Every choice is read from a byte string ([`Choices`]), and an exhausted
//! string always picks the first, simplest alternative (a literal). So when
//! proptest shrinks the bytes (shorter, smaller), the program shrinks with
//! them, and a failing case can be minimised by editing bytes alone
//! ([`crate::harness::shrink`]).
//!
//! The generator knows the types of everything it writes, so every program
//! checks clean; the test asserts that, which keeps the generator honest.

use std::fmt::Write as _;

/// The byte string choices are read from.
#[derive(Debug)]
pub struct Choices<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Choices<'a> {
    pub fn new(bytes: &'a [u8]) -> Choices<'a> {
        Choices { bytes, at: 0 }
    }

    /// A number below `n` (0 when the bytes are used up or `n <= 1`).
    pub fn below(&mut self, n: usize) -> usize {
        if n <= 1 {
            return 0;
        }
        let byte = self.bytes.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        byte as usize % n
    }

    /// One of `items` (the first when the bytes are used up).
    pub fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())].clone()
    }

    /// Whether every byte has been read: from then on every choice is the
    /// simplest.
    pub fn exhausted(&self) -> bool {
        self.at >= self.bytes.len()
    }

    /// True with probability about `percent`/100 (false when used up).
    pub fn chance(&mut self, percent: usize) -> bool {
        let byte = self.bytes.get(self.at).copied().unwrap_or(255);
        self.at += 1;
        (byte as usize) * 100 < percent * 256
    }
}

/// The types the generator writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ty {
    Int,
    Float,
    Bool,
    Str,
    List(Box<Ty>),
    Tuple(Vec<Ty>),
    /// `type P = { a: int, b: str }`.
    P,
    /// `type Q = { x: float, tags: [str] }`.
    Q,
}

impl Ty {
    fn list(element: Ty) -> Ty {
        Ty::List(Box::new(element))
    }

    /// The type as Flow spells it.
    pub fn text(&self) -> String {
        match self {
            Ty::Int => "int".into(),
            Ty::Float => "float".into(),
            Ty::Bool => "bool".into(),
            Ty::Str => "str".into(),
            Ty::List(element) => format!("[{}]", element.text()),
            Ty::Tuple(items) => {
                let items: Vec<String> = items.iter().map(Ty::text).collect();
                format!("({})", items.join(", "))
            }
            Ty::P => "P".into(),
            Ty::Q => "Q".into(),
        }
    }

    fn is_number(&self) -> bool {
        matches!(self, Ty::Int | Ty::Float)
    }

    /// Field types of a tuple or record.
    fn fields(&self) -> Vec<(String, Ty)> {
        match self {
            Ty::Tuple(items) => items
                .iter()
                .enumerate()
                .map(|(i, t)| (i.to_string(), t.clone()))
                .collect(),
            Ty::P => vec![("a".into(), Ty::Int), ("b".into(), Ty::Str)],
            Ty::Q => vec![("x".into(), Ty::Float), ("tags".into(), Ty::list(Ty::Str))],
            _ => Vec::new(),
        }
    }
}

/// The fixed part of every generated program: record types, params and
/// user functions (self tail recursion among them). Every loop is bounded
/// by its caller's argument, so every program terminates.
pub const PRELUDE: &str = r#"type P = { a: int, b: str }
type Q = { x: float, tags: [str] }

param pi: int = 7
param pf: float = 0.1
param ps: str = "Ab c"
param pb: bool = true

fn tri(n: int) -> int = tri_loop(n % 300, 0)
fn tri_loop(n: int, acc: int) -> int = if n <= 0 then acc else tri_loop(n - 1, acc + n)
fn fib(n: int) -> int = fib_loop(n % 100, 0, 1)
fn fib_loop(n: int, a: int, b: int) -> int = if n <= 0 then a else fib_loop(n - 1, b, a + b)
fn rev(xs: [int]) -> [int] = rev_loop(xs, len(xs) - 1, [])
fn rev_loop(xs: [int], i: int, acc: [int]) -> [int] =
  if i < 0 then acc else rev_loop(xs, i - 1, acc + [get(xs, i)])
fn digits(s: str) -> int = digits_loop(s, 0, 0)
fn digits_loop(s: str, i: int, acc: int) -> int =
  if i >= len(s) then acc
  else digits_loop(s, i + 1, if matches(substr(s, i, 1), "[0-9]") then acc + 1 else acc)
fn depth(n: int) -> int = if n <= 0 then 0 else 1 + depth(n - 1)
fn scaled(x: int) -> int = x * pi
fn steps(x: int, n: int) -> int =
  if x <= 1 or n >= 500 then n
  else if x % 2 == 0 then steps(x / 2, n + 1)
  else steps(3 * x + 1, n + 1)
fn halves(x: float, n: int) -> float = halves_loop(x, n % 1100)
fn halves_loop(x: float, n: int) -> float = if n <= 0 then x else halves_loop(x / 2.0, n - 1)
fn label(p: P) -> str = p.b + ":" + str(p.a)
"#;

/// A callable user function: name, parameter types, result type, whether
/// it reads a param (then a `reduce` function may not call it), and a
/// wrapper applied to the first argument (to bound loops).
#[derive(Clone, Debug)]
struct UserFn {
    name: String,
    params: Vec<Ty>,
    ret: Ty,
    reads_params: bool,
    first_arg: &'static str,
}

fn prelude_fns() -> Vec<UserFn> {
    let f = |name: &str, params: Vec<Ty>, ret: Ty, reads_params, first_arg| UserFn {
        name: name.into(),
        params,
        ret,
        reads_params,
        first_arg,
    };
    vec![
        f("tri", vec![Ty::Int], Ty::Int, false, "{}"),
        f("fib", vec![Ty::Int], Ty::Int, false, "{}"),
        f(
            "rev",
            vec![Ty::list(Ty::Int)],
            Ty::list(Ty::Int),
            false,
            "{}",
        ),
        f("digits", vec![Ty::Str], Ty::Int, false, "{}"),
        f("depth", vec![Ty::Int], Ty::Int, false, "({}) % 40"),
        f("scaled", vec![Ty::Int], Ty::Int, true, "{}"),
        f("steps", vec![Ty::Int, Ty::Int], Ty::Int, false, "{}"),
        f("halves", vec![Ty::Float, Ty::Int], Ty::Float, false, "{}"),
        f("label", vec![Ty::P], Ty::Str, false, "{}"),
    ]
}

const INTS: &[&str] = &[
    "0",
    "1",
    "2",
    "3",
    "7",
    "10",
    "(-1)",
    "(-13)",
    "100",
    "255",
    "1_000_003",
    "0xff",
    "9223372036854775807",
    "(-9223372036854775807)",
    "(-9223372036854775807 - 1)",
    "4611686018427387904",
    "3037000500",
    "(-5)",
];

const FLOATS: &[&str] = &[
    "0.0", "1.0", "0.5", "0.1", "2.5", "(-1.5)", "(-0.0)", "1e300", "(-1e300)", "1e-300", "3.0e15",
    "0.3", "1e16", "123.456",
];

const STRS: &[&str] = &[
    "",
    "a",
    "abc",
    "Hello World",
    "  padded  ",
    "42",
    "-7",
    "3.5",
    "1e3",
    "x,y,,z",
    "é",
    "Straße",
    "İstanbul",
    "日本語 text",
    "😀 smile",
    "a\tb\nc",
    "ǅ",
    "ﬁne",
    "9223372036854775808",
    "nan",
    "inf",
    "a-b-c",
    "AbC",
    " 12 ",
];

const PATTERNS: &[&str] = &[
    "^a",
    "[0-9]+",
    "\\w+",
    "^$",
    "(a|b)*c",
    "é",
    "\\p{Lu}",
    "^[a-z ]+$",
    "(",
    "x{2,}",
];

/// A Flow string literal.
pub fn quote(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// What an expression may refer to.
#[derive(Clone, Debug, Default)]
pub struct Scope {
    /// Locals and global names in scope, with their types.
    names: Vec<(String, Ty)>,
    /// Whether params and functions that read them are allowed (not inside
    /// a `reduce` function, which the merge step runs without `ctx`).
    params: bool,
}

impl Scope {
    fn with(&self, name: &str, ty: Ty) -> Scope {
        let mut scope = self.clone();
        scope.names.push((name.to_owned(), ty));
        scope
    }
}

/// Writes expressions of a given type.
pub struct Gen<'c, 'b> {
    pub choices: &'c mut Choices<'b>,
    fns: Vec<UserFn>,
    /// The counter behind fresh local names.
    fresh: usize,
}

impl<'c, 'b> Gen<'c, 'b> {
    pub fn new(choices: &'c mut Choices<'b>) -> Gen<'c, 'b> {
        Gen {
            choices,
            fns: prelude_fns(),
            fresh: 0,
        }
    }

    fn name(&mut self, prefix: &str) -> String {
        self.fresh += 1;
        format!("{prefix}{}", self.fresh)
    }

    /// A type to generate, nesting at most `depth` levels.
    pub fn ty(&mut self, depth: u32) -> Ty {
        let choice = if depth == 0 {
            self.choices.below(4)
        } else {
            self.choices.below(9)
        };
        match choice {
            0 => Ty::Int,
            1 => Ty::Str,
            2 => Ty::Float,
            3 => Ty::Bool,
            4 | 5 => Ty::list(self.ty(depth - 1)),
            6 => Ty::Tuple(vec![self.ty(depth - 1), self.ty(depth - 1)]),
            7 => Ty::P,
            _ => Ty::Q,
        }
    }

    /// A key type for `count_by`, `sum_by` and `reduce_by`.
    fn key_ty(&mut self) -> Ty {
        self.choices
            .pick(&[Ty::Int, Ty::Str, Ty::Bool, Ty::Float, Ty::list(Ty::Int)])
    }

    /// A generated user function over the functions before it; its text.
    pub fn user_fn(&mut self) -> String {
        let name = self.name("g");
        let count = 1 + self.choices.below(2);
        let params: Vec<(String, Ty)> = (0..count)
            .map(|i| (format!("{name}_{i}"), self.ty(1)))
            .collect();
        let ret = self.ty(1);
        let reads_params = self.choices.chance(50);
        let scope = Scope {
            names: params.clone(),
            params: reads_params,
        };
        let body = self.expr(&ret, 3, &scope);
        let text = format!(
            "fn {name}({}) -> {} = {body}\n",
            params
                .iter()
                .map(|(n, t)| format!("{n}: {}", t.text()))
                .collect::<Vec<_>>()
                .join(", "),
            ret.text()
        );
        self.fns.push(UserFn {
            name,
            params: params.into_iter().map(|(_, t)| t).collect(),
            ret,
            reads_params,
            first_arg: "{}",
        });
        text
    }

    /// A top-level expression of type `ty` (params in scope).
    pub fn top_expr(&mut self, ty: &Ty, depth: u32, globals: &[(String, Ty)]) -> String {
        let scope = Scope {
            names: globals.to_vec(),
            params: true,
        };
        self.expr(ty, depth, &scope)
    }

    /// An expression of type `ty`, at most `depth` levels deep.
    pub fn expr(&mut self, ty: &Ty, depth: u32, scope: &Scope) -> String {
        if depth == 0 || self.choices.exhausted() || self.choices.chance(12) {
            return self.leaf(ty, scope);
        }
        let d = depth - 1;
        // Forms every type has.
        match self.choices.below(14) {
            0 => {
                let cond = self.expr(&Ty::Bool, d, scope);
                let a = self.expr(ty, d, scope);
                let b = self.expr(ty, d, scope);
                return format!("(if {cond} then {a} else {b})");
            }
            1 => {
                let local_ty = self.ty(1);
                let value = self.expr(&local_ty, d, scope);
                let name = self.name("v");
                let inner = scope.with(&name, local_ty);
                let body = self.expr(ty, d, &inner);
                return format!("{{ let {name} = {value}; {body} }}");
            }
            2 => {
                let other = self.ty(1);
                let tuple = Ty::Tuple(vec![other, ty.clone()]);
                let base = self.expr(&tuple, d, scope);
                return format!("({base}).1");
            }
            3 => {
                let list = self.expr(&Ty::list(ty.clone()), d, scope);
                let index = self.small_int(d, scope);
                return format!("get({list}, {index})");
            }
            4 => {
                if let Some(call) = self.call_returning(ty, d, scope) {
                    return call;
                }
            }
            5 => {
                let list = self.expr(&Ty::list(ty.clone()), d, scope);
                let op = self.choices.pick(&["min", "max"]);
                return format!("({list} |> {op}())");
            }
            6 => {
                let list = self.expr(&Ty::list(ty.clone()), d, scope);
                let f = self.reducer(ty, d);
                return format!("({list} |> reduce({f}))");
            }
            _ => {}
        }
        self.typed(ty, d, scope)
    }

    /// A literal or a name of type `ty`.
    fn leaf(&mut self, ty: &Ty, scope: &Scope) -> String {
        let names: Vec<&String> = scope
            .names
            .iter()
            .filter(|(_, t)| t == ty)
            .map(|(n, _)| n)
            .collect();
        if !names.is_empty() && self.choices.chance(50) {
            return names[self.choices.below(names.len())].clone();
        }
        let param = match ty {
            Ty::Int => "pi",
            Ty::Float => "pf",
            Ty::Str => "ps",
            Ty::Bool => "pb",
            _ => "",
        };
        if scope.params && !param.is_empty() && self.choices.chance(15) {
            return param.to_owned();
        }
        match ty {
            Ty::Int => self.choices.pick(INTS).to_owned(),
            Ty::Float => self.choices.pick(FLOATS).to_owned(),
            Ty::Bool => self.choices.pick(&["true", "false"]).to_owned(),
            Ty::Str => quote(self.choices.pick(STRS)),
            Ty::List(element) => {
                let count = self.choices.below(4);
                if count == 0 {
                    // `[]` alone has no element type; an emptied literal has.
                    let item = self.leaf(element, scope);
                    return format!("([{item}] |> filter(e => false))");
                }
                let items: Vec<String> = (0..count).map(|_| self.leaf(element, scope)).collect();
                format!("[{}]", items.join(", "))
            }
            Ty::Tuple(items) => {
                let items: Vec<String> = items.iter().map(|t| self.leaf(t, scope)).collect();
                format!("({})", items.join(", "))
            }
            Ty::P => {
                let a = self.leaf(&Ty::Int, scope);
                let b = self.leaf(&Ty::Str, scope);
                format!("P {{ a: {a}, b: {b} }}")
            }
            Ty::Q => {
                let x = self.leaf(&Ty::Float, scope);
                let tags = self.leaf(&Ty::list(Ty::Str), scope);
                format!("Q {{ tags: {tags}, x: {x} }}")
            }
        }
    }

    /// A small int expression (indices, counts): mostly literals near 0.
    fn small_int(&mut self, depth: u32, scope: &Scope) -> String {
        if self.choices.chance(70) {
            return self
                .choices
                .pick(&["0", "1", "2", "3", "(-1)", "5", "100"])
                .to_owned();
        }
        self.expr(&Ty::Int, depth.min(1), scope)
    }

    /// A call of a user function returning `ty`, if there is one.
    fn call_returning(&mut self, ty: &Ty, depth: u32, scope: &Scope) -> Option<String> {
        let candidates: Vec<UserFn> = self
            .fns
            .iter()
            .filter(|f| &f.ret == ty && (scope.params || !f.reads_params))
            .cloned()
            .collect();
        if candidates.is_empty() {
            return None;
        }
        let f = self.choices.pick(&candidates);
        let args: Vec<String> = f
            .params
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let arg = self.expr(t, depth, scope);
                if i == 0 {
                    f.first_arg.replace("{}", &arg)
                } else {
                    arg
                }
            })
            .collect();
        Some(format!("{}({})", f.name, args.join(", ")))
    }

    /// A two-argument function for `reduce`: closed (the merge step runs
    /// it without params).
    fn reducer(&mut self, ty: &Ty, depth: u32) -> String {
        let a = self.name("r");
        let b = self.name("r");
        let scope = Scope {
            names: vec![(a.clone(), ty.clone()), (b.clone(), ty.clone())],
            params: false,
        };
        let body = match (ty, self.choices.below(4)) {
            (Ty::Int | Ty::Float, 0) => format!("{a} + {b}"),
            (_, 0 | 1) => format!("max({a}, {b})"),
            (_, 2) => format!("min({a}, {b})"),
            _ => self.expr(ty, depth.min(2), &scope),
        };
        format!("({a}, {b}) => ({body})")
    }

    /// A one-argument function from `from` to `to`.
    fn lambda(&mut self, from: &Ty, to: &Ty, depth: u32, scope: &Scope) -> String {
        let x = self.name("x");
        let inner = scope.with(&x, from.clone());
        let body = self.expr(to, depth, &inner);
        format!("{x} => ({body})")
    }

    /// Forms specific to `ty`.
    fn typed(&mut self, ty: &Ty, d: u32, scope: &Scope) -> String {
        match ty {
            Ty::Int => self.int(d, scope),
            Ty::Float => self.float(d, scope),
            Ty::Bool => self.bool(d, scope),
            Ty::Str => self.str(d, scope),
            Ty::List(element) => self.list(element, d, scope),
            Ty::Tuple(items) => {
                let items: Vec<String> = items.iter().map(|t| self.expr(t, d, scope)).collect();
                format!("({})", items.join(", "))
            }
            Ty::P => {
                let a = self.expr(&Ty::Int, d, scope);
                let b = self.expr(&Ty::Str, d, scope);
                format!("P {{ b: {b}, a: {a} }}")
            }
            Ty::Q => {
                let x = self.expr(&Ty::Float, d, scope);
                let tags = self.expr(&Ty::list(Ty::Str), d, scope);
                format!("Q {{ x: {x}, tags: {tags} }}")
            }
        }
    }

    fn int(&mut self, d: u32, scope: &Scope) -> String {
        let e = |g: &mut Self, t: &Ty| g.expr(t, d, scope);
        match self.choices.below(16) {
            0 => {
                let op = self.choices.pick(&["+", "-", "*", "/", "%"]);
                format!("({} {op} {})", e(self, &Ty::Int), e(self, &Ty::Int))
            }
            1 => format!("(-{})", e(self, &Ty::Int)),
            2 => format!("len({})", e(self, &Ty::Str)),
            3 => {
                let element = self.ty(1);
                format!("len({})", e(self, &Ty::list(element)))
            }
            4 => format!("abs({})", e(self, &Ty::Int)),
            5 => {
                let op = self.choices.pick(&["min", "max"]);
                format!("{op}({}, {})", e(self, &Ty::Int), e(self, &Ty::Int))
            }
            6 => {
                let op = self.choices.pick(&["floor", "ceil", "round", "int"]);
                format!("{op}({})", e(self, &Ty::Float))
            }
            7 => format!("to_int({})", e(self, &Ty::Str)),
            8 => {
                let t = self.ty(2);
                format!("hash({})", e(self, &t))
            }
            9 => {
                let t = self.ty(1);
                format!("({} |> count())", e(self, &Ty::list(t)))
            }
            10 => format!("({} |> sum())", e(self, &Ty::list(Ty::Int))),
            11 => format!("({}).a", e(self, &Ty::P)),
            12 => format!("len(({}).tags)", e(self, &Ty::Q)),
            13 => format!("to_int(trim({}))", e(self, &Ty::Str)),
            _ => format!("({} + {})", e(self, &Ty::Int), e(self, &Ty::Int)),
        }
    }

    fn float(&mut self, d: u32, scope: &Scope) -> String {
        let e = |g: &mut Self, t: &Ty| g.expr(t, d, scope);
        match self.choices.below(13) {
            0 => {
                let op = self.choices.pick(&["+", "-", "*", "/", "%"]);
                format!("({} {op} {})", e(self, &Ty::Float), e(self, &Ty::Float))
            }
            1 => format!("(-{})", e(self, &Ty::Float)),
            2 => format!("float({})", e(self, &Ty::Int)),
            3 => {
                let op = self.choices.pick(&["sqrt", "exp", "ln", "abs"]);
                format!("{op}({})", e(self, &Ty::Float))
            }
            4 => format!("pow({}, {})", e(self, &Ty::Float), e(self, &Ty::Float)),
            5 => {
                let op = self.choices.pick(&["min", "max"]);
                format!("{op}({}, {})", e(self, &Ty::Float), e(self, &Ty::Float))
            }
            6 => format!("to_float({})", e(self, &Ty::Str)),
            7 => format!("rand({})", e(self, &Ty::Int)),
            8 => {
                let t = self.choices.pick(&[Ty::Int, Ty::Float]);
                format!("({} |> mean())", e(self, &Ty::list(t)))
            }
            9 => format!("({} |> sum())", e(self, &Ty::list(Ty::Float))),
            10 => format!("({}).x", e(self, &Ty::Q)),
            11 => format!("float({})", e(self, &Ty::Float)),
            _ => format!("({} * {})", e(self, &Ty::Float), e(self, &Ty::Float)),
        }
    }

    fn bool(&mut self, d: u32, scope: &Scope) -> String {
        let e = |g: &mut Self, t: &Ty| g.expr(t, d, scope);
        match self.choices.below(9) {
            0 | 1 => {
                let t = self.ty(2);
                let op = self.choices.pick(&["==", "!=", "<", "<=", ">", ">="]);
                format!("({} {op} {})", e(self, &t), e(self, &t))
            }
            2 => {
                let op = self.choices.pick(&["and", "or"]);
                format!("({} {op} {})", e(self, &Ty::Bool), e(self, &Ty::Bool))
            }
            3 => format!("(not {})", e(self, &Ty::Bool)),
            4 => {
                let op = self.choices.pick(&["contains", "starts_with", "ends_with"]);
                format!("{op}({}, {})", e(self, &Ty::Str), e(self, &Ty::Str))
            }
            5 => {
                let pattern = quote(self.choices.pick(PATTERNS));
                format!("matches({}, {pattern})", e(self, &Ty::Str))
            }
            6 => {
                let t = self.choices.pick(&[Ty::Float, Ty::Int]);
                format!("({} < {})", e(self, &t), e(self, &t))
            }
            7 => {
                let t = self.ty(1);
                let list = e(self, &Ty::list(t.clone()));
                let p = self.lambda(&t, &Ty::Bool, d, scope);
                format!("(({list} |> filter({p}) |> count()) > 0)")
            }
            _ => format!("({} == {})", e(self, &Ty::Str), e(self, &Ty::Str)),
        }
    }

    fn str(&mut self, d: u32, scope: &Scope) -> String {
        let e = |g: &mut Self, t: &Ty| g.expr(t, d, scope);
        match self.choices.below(10) {
            0 => format!("({} + {})", e(self, &Ty::Str), e(self, &Ty::Str)),
            1 => {
                let op = self.choices.pick(&["lower", "upper", "trim"]);
                format!("{op}({})", e(self, &Ty::Str))
            }
            2 => format!(
                "replace({}, {}, {})",
                e(self, &Ty::Str),
                e(self, &Ty::Str),
                e(self, &Ty::Str)
            ),
            3 => {
                let s = e(self, &Ty::Str);
                let start = self.small_int(d, scope);
                let count = self.small_int(d, scope);
                format!("substr({s}, {start}, {count})")
            }
            4 => format!(
                "join({}, {})",
                e(self, &Ty::list(Ty::Str)),
                e(self, &Ty::Str)
            ),
            5 => {
                let t = self.choices.pick(&[Ty::Int, Ty::Float, Ty::Bool, Ty::Str]);
                format!("str({})", e(self, &t))
            }
            6 => format!("({}).b", e(self, &Ty::P)),
            7 => {
                let op = self.choices.pick(&["min", "max"]);
                format!("{op}({}, {})", e(self, &Ty::Str), e(self, &Ty::Str))
            }
            _ => format!("upper({})", e(self, &Ty::Str)),
        }
    }

    fn list(&mut self, element: &Ty, d: u32, scope: &Scope) -> String {
        let list_ty = Ty::list(element.clone());
        match self.choices.below(16) {
            0 => {
                let count = 1 + self.choices.below(4);
                let items: Vec<String> = (0..count).map(|_| self.expr(element, d, scope)).collect();
                format!("[{}]", items.join(", "))
            }
            1 => format!(
                "({} + {})",
                self.expr(&list_ty, d, scope),
                self.expr(&list_ty, d, scope)
            ),
            2 => {
                let from = self.ty(1);
                let list = self.expr(&Ty::list(from.clone()), d, scope);
                let f = self.lambda(&from, element, d, scope);
                format!("({list} |> map({f}))")
            }
            3 => {
                let list = self.expr(&list_ty, d, scope);
                let p = self.lambda(element, &Ty::Bool, d, scope);
                format!("({list} |> filter({p}))")
            }
            4 => {
                let from = self.ty(1);
                let list = self.expr(&Ty::list(from.clone()), d, scope);
                let f = self.lambda(&from, &list_ty, d, scope);
                format!("({list} |> flat_map({f}))")
            }
            5 => format!("({} |> sort())", self.expr(&list_ty, d, scope)),
            6 => {
                let list = self.expr(&list_ty, d, scope);
                let key = self.ty(1);
                let f = self.lambda(element, &key, d, scope);
                format!("({list} |> sort(by: {f}))")
            }
            7 => format!("({} |> distinct())", self.expr(&list_ty, d, scope)),
            8 => {
                let list = self.expr(&list_ty, d, scope);
                let n = self.small_int(d, scope);
                let key = self.ty(1);
                let f = self.lambda(element, &key, d, scope);
                let op = self.choices.pick(&["top", "bottom"]);
                format!("({list} |> {op}({n}, by: {f}))")
            }
            9 => format!("({} |> collect())", self.expr(&list_ty, d, scope)),
            10 if *element == Ty::Str => {
                if self.choices.chance(50) {
                    format!("words({})", self.expr(&Ty::Str, d, scope))
                } else {
                    format!(
                        "split({}, {})",
                        self.expr(&Ty::Str, d, scope),
                        self.expr(&Ty::Str, d, scope)
                    )
                }
            }
            11 | 12 => match element {
                Ty::Tuple(pair) if pair.len() == 2 => self.keyed(&pair[0], &pair[1], d, scope),
                _ => self.expr(&list_ty, d, scope),
            },
            13 if *element == Ty::Int => {
                let list = self.expr(&list_ty, d, scope);
                format!("rev({list})")
            }
            _ => self.leaf(&list_ty, scope),
        }
    }

    /// `count_by`, `sum_by` or `reduce_by` giving `[(key, value)]`.
    fn keyed(&mut self, key: &Ty, value: &Ty, d: u32, scope: &Scope) -> String {
        let from = self.ty(1);
        let list = self.expr(&Ty::list(from.clone()), d, scope);
        let k = self.lambda(&from, key, d, scope);
        if *value == Ty::Int && self.choices.chance(40) {
            return format!("({list} |> count_by({k}))");
        }
        if value.is_number() && self.choices.chance(50) {
            let v = self.lambda(&from, value, d, scope);
            return format!("({list} |> sum_by({k}, {v}))");
        }
        let v = self.lambda(&from, value, d, scope);
        let f = self.reducer(value, d);
        format!("({list} |> reduce_by({k}, {v}, {f}))")
    }

    /// A pair type whose lists `count_by`/`sum_by`/`reduce_by` give.
    pub fn keyed_ty(&mut self) -> Ty {
        let key = self.key_ty();
        let value = self.choices.pick(&[Ty::Int, Ty::Float, Ty::Str]);
        Ty::Tuple(vec![key, value])
    }
}

/// A whole expression program: the prelude, `functions` generated
/// functions, and one `output c<i>` per case, each from its own bytes.
/// Returns the program and each case's expression text.
pub fn expression_program(
    functions: &[u8],
    cases: &[Vec<u8>],
    depth: u32,
) -> (String, Vec<String>) {
    let mut program = String::from(PRELUDE);
    let mut fn_choices = Choices::new(functions);
    let mut fn_gen = Gen::new(&mut fn_choices);
    let count = fn_gen.choices.below(6);
    for _ in 0..count {
        program.push_str(&fn_gen.user_fn());
    }
    let fns = fn_gen.fns.clone();
    let mut texts = Vec::new();
    for (index, bytes) in cases.iter().enumerate() {
        let mut choices = Choices::new(bytes);
        let mut gen_ = Gen::new(&mut choices);
        gen_.fns = fns.clone();
        gen_.fresh = 1000 * (index + 1);
        let ty = if gen_.choices.chance(15) {
            gen_.keyed_ty()
        } else {
            gen_.ty(2)
        };
        let ty = if gen_.choices.chance(15) {
            Ty::list(ty)
        } else {
            ty
        };
        let expr = gen_.top_expr(&ty, depth, &[]);
        let _ = writeln!(program, "output c{index} = {expr}");
        texts.push(expr);
    }
    (program, texts)
}

/// The inputs and phase values every stage program declares (after the
/// prelude): a `range` and a `lines` input, and two lets computed from
/// them that later stages read (a second phase).
pub const STAGE_ITEMS: &str = r#"input xs = range(RANGE_START, RANGE_END)
input ls = lines("data/*.txt")

let total = xs |> count()
let widest = ls |> map(l => len(l)) |> max()
"#;

impl Gen<'_, '_> {
    /// One `output` over a stream: an input, 0 to 3 element-wise steps and
    /// an aggregation, sometimes inside a block that computes on the
    /// result. Stage functions may read params and the phase values.
    pub fn stage_output(&mut self) -> String {
        let globals = vec![
            ("total".to_owned(), Ty::Int),
            ("widest".to_owned(), Ty::Int),
        ];
        let scope = Scope {
            names: globals.clone(),
            params: true,
        };
        let (mut text, mut element) = if self.choices.chance(50) {
            ("xs".to_owned(), Ty::Int)
        } else {
            ("ls".to_owned(), Ty::Str)
        };
        for _ in 0..self.choices.below(4) {
            match self.choices.below(4) {
                0 => {
                    let to = self.ty(1);
                    let f = self.lambda(&element, &to, 2, &scope);
                    text = format!("{text} |> map({f})");
                    element = to;
                }
                1 => {
                    let p = self.lambda(&element, &Ty::Bool, 2, &scope);
                    text = format!("{text} |> filter({p})");
                }
                2 => {
                    let to = self.ty(1);
                    let f = self.lambda(&element, &Ty::list(to.clone()), 2, &scope);
                    text = format!("{text} |> flat_map({f})");
                    element = to;
                }
                _ => {
                    // The words of a string: the code generator walks them
                    // without building their list.
                    let x = self.name("x");
                    let inner = scope.with(&x, element.clone());
                    let body = self.expr(&Ty::Str, 2, &inner);
                    text = format!("{text} |> flat_map({x} => words({body}))");
                    element = Ty::Str;
                }
            }
        }
        let (aggregation, result) = self.aggregation(&element, &scope);
        let stream = format!("{text} |> {aggregation}");
        if self.choices.chance(30) {
            let name = self.name("a");
            let body = {
                let inner = scope.with(&name, result.clone());
                let ty = self.ty(1);
                self.expr(&ty, 2, &inner)
            };
            return format!("{{ let {name} = {stream}; {body} }}");
        }
        stream
    }

    /// An aggregation over elements of `element`, and its result type.
    fn aggregation(&mut self, element: &Ty, scope: &Scope) -> (String, Ty) {
        let list = Ty::list(element.clone());
        match self.choices.below(12) {
            0 => ("count()".into(), Ty::Int),
            1 if element.is_number() => ("sum()".into(), element.clone()),
            2 if element.is_number() => ("mean()".into(), Ty::Float),
            3 => ("min()".into(), element.clone()),
            4 => ("max()".into(), element.clone()),
            5 => {
                let n = self.small_int(0, scope);
                let key = self.ty(1);
                let f = self.lambda(element, &key, 2, scope);
                let op = self.choices.pick(&["top", "bottom"]);
                (format!("{op}({n}, by: {f})"), list)
            }
            6 => {
                if self.choices.chance(50) {
                    ("sort()".into(), list)
                } else {
                    let key = self.ty(1);
                    let f = self.lambda(element, &key, 2, scope);
                    (format!("sort(by: {f})"), list)
                }
            }
            7 => ("distinct()".into(), list),
            8 if *element == Ty::Str && self.choices.chance(50) => (
                "count_by(w => w)".into(),
                Ty::list(Ty::Tuple(vec![Ty::Str, Ty::Int])),
            ),
            8 => {
                let key = self.key_ty();
                let k = self.lambda(element, &key, 2, scope);
                (
                    format!("count_by({k})"),
                    Ty::list(Ty::Tuple(vec![key, Ty::Int])),
                )
            }
            9 => {
                let key = self.key_ty();
                let value = self.choices.pick(&[Ty::Int, Ty::Float, Ty::Str]);
                let k = self.lambda(element, &key, 2, scope);
                let v = self.lambda(element, &value, 2, scope);
                let pair = Ty::list(Ty::Tuple(vec![key, value.clone()]));
                if value.is_number() && self.choices.chance(50) {
                    (format!("sum_by({k}, {v})"), pair)
                } else {
                    let f = self.reducer(&value, 2);
                    (format!("reduce_by({k}, {v}, {f})"), pair)
                }
            }
            10 => {
                let f = self.reducer(element, 2);
                (format!("reduce({f})"), element.clone())
            }
            _ => ("collect()".into(), list),
        }
    }
}

/// A stage program: the prelude, the inputs and phase lets, and one
/// `output s<i>` per case.
pub fn stage_program(range: (i64, i64), cases: &[Vec<u8>]) -> String {
    let mut program = String::from(PRELUDE);
    program.push_str(
        &STAGE_ITEMS
            .replace("RANGE_START", &range.0.to_string())
            .replace("RANGE_END", &range.1.to_string()),
    );
    for (index, bytes) in cases.iter().enumerate() {
        let mut choices = Choices::new(bytes);
        let mut gen_ = Gen::new(&mut choices);
        gen_.fresh = 1000 * (index + 1);
        let _ = writeln!(program, "output s{index} = {}", gen_.stage_output());
    }
    program
}

/// Lines for a `lines` input: text the generators' functions parse, split
/// and compare, numbers among them.
pub fn data_line(choices: &mut Choices<'_>) -> String {
    let pieces = 1 + choices.below(3);
    (0..pieces)
        .map(|_| match choices.below(3) {
            0 => choices
                .pick(INTS)
                .trim_matches(|c| c == '(' || c == ')')
                .to_owned(),
            1 => choices
                .pick(FLOATS)
                .trim_matches(|c| c == '(' || c == ')')
                .to_owned(),
            _ => choices.pick(STRS).replace(['\n', '\r'], " "),
        })
        .collect::<Vec<_>>()
        .join(" ")
}
