//! The condition language of review rules: a sandboxed subset of CEL (https://github.com/google/cel-spec,
//! `doc/langdef.md`). It has no loops beyond the bounded `exists`/`all` macros over lists, no side effects and
//! no way to reach anything but the order's facts and the named lists.
//!
//! A condition is parsed and type-checked against the fact schema once, when the rule is saved, so unknown
//! fields, unknown lists and type mistakes are refused with their position; what runs per order is a typed
//! tree over fixed field slots, evaluated without allocating in the common case. Every evaluation counts its
//! steps against a budget, so no condition can run away with an order's time.
//!
//! Over 600 lines on purpose: the lexer, parser, type checker and evaluator share one AST and its source
//! positions; split apart they would have to export their internals to each other.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};

use super::facts::{FactValue, Facts, Field, Unavailable};

/// Steps one evaluation may take; a condition that needs more fails, and a failing rule holds the order.
pub const STEP_BUDGET: u32 = 10_000;
/// Largest worst-case cost a saved condition may have, counting each macro body as run over this many items.
pub const MAX_STATIC_COST: u64 = 100_000;
const ASSUMED_LIST_LEN: u64 = 100;
const MAX_DEPTH: usize = 64;
const MAX_SOURCE_LEN: usize = 4_000;
/// Nested `exists`/`all` a condition may have; the evaluator keeps their items on a fixed stack.
const MAX_MACRO_DEPTH: usize = 8;

/// FNV-1a: short keys (phones, region keys, SKUs) hash several times faster than with SipHash, and list
/// contents are the seller's own data, not an attacker's choice of collisions.
#[derive(Default, Clone, Copy)]
pub struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 { 0xcbf2_9ce4_8422_2325 } else { self.0 };
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

/// A set of strings for look-ups in review.
pub type StrSet = HashSet<String, BuildHasherDefault<Fnv>>;

/// A problem with a condition's text, at a 1-based line and column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompileError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}: {}", self.line, self.column, self.message)
    }
}

/// Why a condition could not be decided for one order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvalError(pub String);

impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The named lists a condition may consult, and the lookup used at evaluation.
pub trait Lists: Sync {
    fn exists(&self, name: &str) -> bool;
    /// Whether `value` is on the list; entries and probes compare without regard to ASCII case.
    fn contains(&self, name: &str, value: &str) -> bool;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ty {
    Bool,
    Int,
    Double,
    Str,
    StrList,
    IntList,
}

impl fmt::Display for Ty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Ty::Bool => "bool",
            Ty::Int => "int",
            Ty::Double => "double",
            Ty::Str => "string",
            Ty::StrList => "list(string)",
            Ty::IntList => "list(int)",
        })
    }
}

// ---------------------------------------------------------------------------------------------- lexing

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Int(i64),
    Double(f64),
    Str(String),
    Ident(String),
    Punct(&'static str),
    End,
}

const PUNCTS: [&str; 21] =
    ["&&", "||", "==", "!=", "<=", ">=", "(", ")", "[", "]", ",", ".", "?", ":", "!", "<", ">", "+", "-", "*", "/"];

fn lex(src: &str) -> Result<Vec<(Tok, usize)>, (usize, String)> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        if c.is_ascii_digit() {
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            let is_double = i + 1 < b.len() && b[i] == b'.' && b[i + 1].is_ascii_digit();
            if is_double {
                i += 1;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                let v: f64 = src[start..i].parse().map_err(|_| (start, "bad number".to_string()))?;
                out.push((Tok::Double(v), start));
            } else {
                let v: i64 = src[start..i].parse().map_err(|_| (start, "integer out of range".to_string()))?;
                out.push((Tok::Int(v), start));
            }
            continue;
        }
        if c.is_ascii_alphabetic() || c == b'_' {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            out.push((Tok::Ident(src[start..i].to_owned()), start));
            continue;
        }
        if c == b'"' || c == b'\'' {
            let quote = c as char;
            let mut s = String::new();
            let mut chars = src[i + 1..].char_indices();
            let mut closed = false;
            while let Some((off, ch)) = chars.next() {
                match ch {
                    '\\' => match chars.next() {
                        Some((_, 'n')) => s.push('\n'),
                        Some((_, 't')) => s.push('\t'),
                        Some((_, e @ ('\\' | '"' | '\''))) => s.push(e),
                        _ => return Err((i + 1 + off, "unknown escape in string".into())),
                    },
                    ch if ch == quote => {
                        i = i + 1 + off + 1;
                        closed = true;
                        break;
                    }
                    ch => s.push(ch),
                }
            }
            if !closed {
                return Err((start, "string is not closed".into()));
            }
            out.push((Tok::Str(s), start));
            continue;
        }
        if c == b'%' {
            out.push((Tok::Punct("%"), start));
            i += 1;
            continue;
        }
        match PUNCTS.iter().find(|p| src[i..].starts_with(**p)) {
            Some(p) => {
                out.push((Tok::Punct(p), start));
                i += p.len();
            }
            None => {
                let ch = src[i..].chars().next().unwrap_or('?');
                return Err((start, format!("unexpected character {ch:?}")));
            }
        }
    }
    out.push((Tok::End, src.len()));
    Ok(out)
}

// ---------------------------------------------------------------------------------------------- parsing

#[derive(Clone, Debug)]
enum Ast {
    Int(i64),
    Double(f64),
    Str(String),
    Bool(bool),
    Ident(String),
    List(Vec<(Ast, usize)>),
    Member(Box<(Ast, usize)>, String),
    Call { target: Option<Box<(Ast, usize)>>, name: String, args: Vec<(Ast, usize)> },
    Index(Box<(Ast, usize)>, Box<(Ast, usize)>),
    Unary(&'static str, Box<(Ast, usize)>),
    Binary(&'static str, Box<(Ast, usize)>, Box<(Ast, usize)>),
    Cond(Box<(Ast, usize)>, Box<(Ast, usize)>, Box<(Ast, usize)>),
}

struct Parser {
    toks: Vec<(Tok, usize)>,
    at: usize,
    depth: usize,
}

type P = Result<(Ast, usize), (usize, String)>;

impl Parser {
    fn peek(&self) -> &Tok {
        &self.toks[self.at].0
    }
    fn pos(&self) -> usize {
        self.toks[self.at].1
    }
    fn eat(&mut self, p: &str) -> bool {
        if matches!(self.peek(), Tok::Punct(q) if *q == p) {
            self.at += 1;
            true
        } else {
            false
        }
    }
    fn expect(&mut self, p: &str) -> Result<(), (usize, String)> {
        if self.eat(p) { Ok(()) } else { Err((self.pos(), format!("expected '{p}', found {}", self.describe()))) }
    }
    fn describe(&self) -> String {
        match self.peek() {
            Tok::End => "the end of the condition".into(),
            Tok::Int(v) => format!("{v}"),
            Tok::Double(v) => format!("{v}"),
            Tok::Str(s) => format!("{s:?}"),
            Tok::Ident(s) => format!("'{s}'"),
            Tok::Punct(p) => format!("'{p}'"),
        }
    }
    fn enter(&mut self) -> Result<(), (usize, String)> {
        self.depth += 1;
        if self.depth > MAX_DEPTH { Err((self.pos(), "condition is nested too deeply".into())) } else { Ok(()) }
    }

    fn expr(&mut self) -> P {
        self.enter()?;
        let c = self.or()?;
        let r = if self.eat("?") {
            let a = self.or()?;
            self.expect(":")?;
            let b = self.expr()?;
            let pos = c.1;
            Ok((Ast::Cond(Box::new(c), Box::new(a), Box::new(b)), pos))
        } else {
            Ok(c)
        };
        self.depth -= 1;
        r
    }

    fn binary_level(&mut self, ops: &[&'static str], next: fn(&mut Parser) -> P) -> P {
        let mut l = next(self)?;
        loop {
            let op = match self.peek() {
                Tok::Punct(p) if ops.contains(p) => *p,
                Tok::Ident(s) if s == "in" && ops.contains(&"in") => "in",
                _ => return Ok(l),
            };
            let pos = self.pos();
            self.at += 1;
            let r = next(self)?;
            l = (Ast::Binary(op, Box::new(l), Box::new(r)), pos);
        }
    }
    fn or(&mut self) -> P {
        self.binary_level(&["||"], Parser::and)
    }
    fn and(&mut self) -> P {
        self.binary_level(&["&&"], Parser::relation)
    }
    fn relation(&mut self) -> P {
        self.binary_level(&["==", "!=", "<", "<=", ">", ">=", "in"], Parser::addition)
    }
    fn addition(&mut self) -> P {
        self.binary_level(&["+", "-"], Parser::multiplication)
    }
    fn multiplication(&mut self) -> P {
        self.binary_level(&["*", "/", "%"], Parser::unary)
    }
    fn unary(&mut self) -> P {
        let pos = self.pos();
        for op in ["!", "-"] {
            if self.eat(op) {
                self.enter()?;
                let inner = self.unary()?;
                self.depth -= 1;
                return Ok((Ast::Unary(op, Box::new(inner)), pos));
            }
        }
        self.member()
    }
    fn args(&mut self, close: &str) -> Result<Vec<(Ast, usize)>, (usize, String)> {
        let mut args = Vec::new();
        if self.eat(close) {
            return Ok(args);
        }
        loop {
            args.push(self.expr()?);
            if self.eat(close) {
                return Ok(args);
            }
            self.expect(",")?;
        }
    }
    fn member(&mut self) -> P {
        let mut e = self.primary()?;
        loop {
            let pos = self.pos();
            if self.eat(".") {
                let name = match self.peek().clone() {
                    Tok::Ident(n) => n,
                    _ => {
                        return Err((
                            self.pos(),
                            format!("expected a field name after '.', found {}", self.describe()),
                        ));
                    }
                };
                self.at += 1;
                if self.eat("(") {
                    let args = self.args(")")?;
                    e = (Ast::Call { target: Some(Box::new(e)), name, args }, pos);
                } else {
                    // A field path is reported where it starts, not at its last dot.
                    let start = e.1;
                    e = (Ast::Member(Box::new(e), name), start);
                }
            } else if self.eat("[") {
                let idx = self.expr()?;
                self.expect("]")?;
                e = (Ast::Index(Box::new(e), Box::new(idx)), pos);
            } else {
                return Ok(e);
            }
        }
    }
    fn primary(&mut self) -> P {
        let pos = self.pos();
        let tok = self.peek().clone();
        self.at += 1;
        let ast = match tok {
            Tok::Int(v) => Ast::Int(v),
            Tok::Double(v) => Ast::Double(v),
            Tok::Str(s) => Ast::Str(s),
            Tok::Ident(s) if s == "true" => Ast::Bool(true),
            Tok::Ident(s) if s == "false" => Ast::Bool(false),
            Tok::Ident(s) => {
                if self.eat("(") {
                    Ast::Call { target: None, name: s, args: self.args(")")? }
                } else {
                    Ast::Ident(s)
                }
            }
            Tok::Punct("(") => {
                let e = self.expr()?;
                self.expect(")")?;
                return Ok(e);
            }
            Tok::Punct("[") => Ast::List(self.args("]")?),
            _ => {
                self.at -= 1;
                return Err((pos, format!("expected a value, found {}", self.describe())));
            }
        };
        Ok((ast, pos))
    }
}

// ---------------------------------------------------------------------------------------------- checking

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Arith {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum StrFn {
    StartsWith,
    EndsWith,
    Contains,
}

/// The checked, typed form that runs per order.
#[derive(Clone, Debug)]
enum Node {
    Bool(bool),
    Int(i64),
    Double(f64),
    Str(String),
    Field(Field),
    /// The item of the enclosing `exists`/`all` at this depth.
    Var(usize),
    StrList(Vec<Node>),
    IntList(Vec<Node>),
    Not(Box<Node>),
    NegInt(Box<Node>),
    NegDouble(Box<Node>),
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Cond(Box<Node>, Box<Node>, Box<Node>),
    CmpInt(Cmp, Box<Node>, Box<Node>),
    CmpNum(Cmp, Box<Node>, Box<Node>),
    CmpStr(Cmp, Box<Node>, Box<Node>),
    CmpBool(Cmp, Box<Node>, Box<Node>),
    IntOp(Arith, Box<Node>, Box<Node>),
    DoubleOp(Arith, Box<Node>, Box<Node>),
    Concat(Box<Node>, Box<Node>),
    InSet(Box<Node>, StrSet),
    InStrList(Box<Node>, Box<Node>),
    InIntList(Box<Node>, Box<Node>),
    InNamed(String, Box<Node>),
    Size(Box<Node>),
    StrTest(StrFn, Box<Node>, Box<Node>),
    Lower(Box<Node>),
    ToDouble(Box<Node>),
    ToInt(Box<Node>),
    ToStr(Box<Node>),
    IndexStr(Box<Node>, Box<Node>),
    Exists(Box<Node>, Box<Node>),
    All(Box<Node>, Box<Node>),
}

struct Checker<'l> {
    lists: &'l dyn Lists,
    vars: Vec<String>,
}

type C = Result<(Node, Ty, u64), (usize, String)>;

fn numeric(t: Ty) -> bool {
    matches!(t, Ty::Int | Ty::Double)
}

fn as_double(n: Node, t: Ty) -> Node {
    if t == Ty::Int { Node::ToDouble(Box::new(n)) } else { n }
}

impl Checker<'_> {
    fn path(ast: &Ast) -> Option<String> {
        match ast {
            Ast::Ident(s) => Some(s.clone()),
            Ast::Member(inner, name) => Self::path(&inner.0).map(|p| format!("{p}.{name}")),
            _ => None,
        }
    }

    fn check(&mut self, (ast, pos): &(Ast, usize)) -> C {
        let pos = *pos;
        let err = |m: String| Err((pos, m));
        match ast {
            Ast::Int(v) => Ok((Node::Int(*v), Ty::Int, 1)),
            Ast::Double(v) => Ok((Node::Double(*v), Ty::Double, 1)),
            Ast::Str(s) => Ok((Node::Str(s.clone()), Ty::Str, 1)),
            Ast::Bool(b) => Ok((Node::Bool(*b), Ty::Bool, 1)),
            Ast::Ident(_) | Ast::Member(..) => {
                if let Ast::Ident(name) = ast
                    && let Some(i) = self.vars.iter().rposition(|v| v == name)
                {
                    return Ok((Node::Var(i), Ty::Str, 1));
                }
                let Some(path) = Self::path(ast) else { return err("only order facts have fields".into()) };
                match Field::by_path(&path) {
                    Some(f) => Ok((Node::Field(f), f.ty(), 1)),
                    None => err(format!("unknown field '{path}'; known fields: {}", Field::known_paths())),
                }
            }
            Ast::List(items) => {
                let mut nodes = Vec::with_capacity(items.len());
                let mut ty = None;
                let mut cost = 1;
                for it in items {
                    let (n, t, c) = self.check(it)?;
                    if !matches!(t, Ty::Str | Ty::Int) {
                        return Err((it.1, format!("lists hold strings or ints, not {t}")));
                    }
                    if ty.is_some_and(|u| u != t) {
                        return Err((it.1, "every item of a list must have the same type".into()));
                    }
                    ty = Some(t);
                    cost += c;
                    nodes.push(n);
                }
                match ty {
                    Some(Ty::Int) => Ok((Node::IntList(nodes), Ty::IntList, cost)),
                    _ => Ok((Node::StrList(nodes), Ty::StrList, cost)),
                }
            }
            Ast::Unary(op, inner) => {
                let (n, t, c) = self.check(inner)?;
                match (*op, t) {
                    ("!", Ty::Bool) => Ok((Node::Not(Box::new(n)), Ty::Bool, c + 1)),
                    ("-", Ty::Int) => Ok((Node::NegInt(Box::new(n)), Ty::Int, c + 1)),
                    ("-", Ty::Double) => Ok((Node::NegDouble(Box::new(n)), Ty::Double, c + 1)),
                    _ => err(format!("'{op}' cannot apply to {t}")),
                }
            }
            Ast::Cond(c, a, b) => {
                let (cn, ct, cc) = self.check(c)?;
                if ct != Ty::Bool {
                    return Err((c.1, format!("the condition of '?' must be bool, not {ct}")));
                }
                let (an, at, ac) = self.check(a)?;
                let (bn, bt, bc) = self.check(b)?;
                let (an, bn, t) = if at == bt {
                    (an, bn, at)
                } else if numeric(at) && numeric(bt) {
                    (as_double(an, at), as_double(bn, bt), Ty::Double)
                } else {
                    return err(format!("both branches of '?' must have one type, not {at} and {bt}"));
                };
                Ok((Node::Cond(Box::new(cn), Box::new(an), Box::new(bn)), t, cc + ac.max(bc) + 1))
            }
            Ast::Binary(op, l, r) => self.binary(op, l, r, pos),
            Ast::Index(l, i) => {
                let (ln, lt, lc) = self.check(l)?;
                let (inn, it, ic) = self.check(i)?;
                if lt != Ty::StrList || it != Ty::Int {
                    return err(format!("indexing needs a list(string) and an int, not {lt} and {it}"));
                }
                Ok((Node::IndexStr(Box::new(ln), Box::new(inn)), Ty::Str, lc + ic + 1))
            }
            Ast::Call { target, name, args } => self.call(target.as_deref(), name, args, pos),
        }
    }

    fn binary(&mut self, op: &'static str, l: &(Ast, usize), r: &(Ast, usize), pos: usize) -> C {
        let (ln, lt, lc) = self.check(l)?;
        let cost = lc + 1;
        if op == "in" {
            // A literal list of strings becomes a set, so long lists cost no more than short ones.
            if let Ast::List(items) = &r.0
                && lt == Ty::Str
                && items.iter().all(|i| matches!(i.0, Ast::Str(_)))
            {
                let set = items.iter().filter_map(|i| if let Ast::Str(s) = &i.0 { Some(s.clone()) } else { None });
                return Ok((Node::InSet(Box::new(ln), set.collect()), Ty::Bool, cost));
            }
            let (rn, rt, rc) = self.check(r)?;
            return match (lt, rt) {
                (Ty::Str, Ty::StrList) => {
                    Ok((Node::InStrList(Box::new(ln), Box::new(rn)), Ty::Bool, cost + rc + ASSUMED_LIST_LEN))
                }
                (Ty::Int, Ty::IntList) => {
                    Ok((Node::InIntList(Box::new(ln), Box::new(rn)), Ty::Bool, cost + rc + ASSUMED_LIST_LEN))
                }
                _ => Err((pos, format!("'in' needs a value and a list of its type, not {lt} and {rt}"))),
            };
        }
        let (rn, rt, rc) = self.check(r)?;
        let cost = cost + rc;
        let (l, r) = (Box::new(ln), Box::new(rn));
        let bad = || Err((pos, format!("'{op}' cannot apply to {lt} and {rt}")));
        let cmp = match op {
            "==" => Some(Cmp::Eq),
            "!=" => Some(Cmp::Ne),
            "<" => Some(Cmp::Lt),
            "<=" => Some(Cmp::Le),
            ">" => Some(Cmp::Gt),
            ">=" => Some(Cmp::Ge),
            _ => None,
        };
        if let Some(c) = cmp {
            let ordered = !matches!(c, Cmp::Eq | Cmp::Ne);
            return match (lt, rt) {
                (Ty::Int, Ty::Int) => Ok((Node::CmpInt(c, l, r), Ty::Bool, cost)),
                (a, b) if numeric(a) && numeric(b) => Ok((Node::CmpNum(c, l, r), Ty::Bool, cost)),
                (Ty::Str, Ty::Str) => Ok((Node::CmpStr(c, l, r), Ty::Bool, cost)),
                (Ty::Bool, Ty::Bool) if !ordered => Ok((Node::CmpBool(c, l, r), Ty::Bool, cost)),
                _ => bad(),
            };
        }
        match op {
            "&&" | "||" if lt == Ty::Bool && rt == Ty::Bool => {
                Ok((if op == "&&" { Node::And(l, r) } else { Node::Or(l, r) }, Ty::Bool, cost))
            }
            "+" if lt == Ty::Str && rt == Ty::Str => Ok((Node::Concat(l, r), Ty::Str, cost)),
            "+" | "-" | "*" | "/" | "%" if numeric(lt) && numeric(rt) => {
                let a = match op {
                    "+" => Arith::Add,
                    "-" => Arith::Sub,
                    "*" => Arith::Mul,
                    "/" => Arith::Div,
                    _ => Arith::Rem,
                };
                if lt == Ty::Int && rt == Ty::Int {
                    Ok((Node::IntOp(a, l, r), Ty::Int, cost))
                } else if a == Arith::Rem {
                    bad()
                } else {
                    Ok((Node::DoubleOp(a, Box::new(as_double(*l, lt)), Box::new(as_double(*r, rt))), Ty::Double, cost))
                }
            }
            _ => bad(),
        }
    }

    fn call(&mut self, target: Option<&(Ast, usize)>, name: &str, args: &[(Ast, usize)], pos: usize) -> C {
        let arity = |n: usize| -> Result<(), (usize, String)> {
            if args.len() == n {
                Ok(())
            } else {
                Err((pos, format!("{name}() takes {n} argument(s), not {}", args.len())))
            }
        };
        match (target, name) {
            (Some(list), "exists" | "all") => {
                arity(2)?;
                let var = match &args[0].0 {
                    Ast::Ident(v) => v.clone(),
                    _ => return Err((args[0].1, format!("the first argument of {name}() names the item"))),
                };
                let (ln, lt, lc) = self.check(list)?;
                if lt != Ty::StrList || !matches!(ln, Node::Field(_)) {
                    return Err((list.1, format!("{name}() runs over a list field of the order, such as order.skus")));
                }
                if self.vars.len() >= MAX_MACRO_DEPTH {
                    return Err((pos, format!("at most {MAX_MACRO_DEPTH} nested exists()/all()")));
                }
                self.vars.push(var);
                let body = self.check(&args[1]);
                self.vars.pop();
                let (bn, bt, bc) = body?;
                if bt != Ty::Bool {
                    return Err((args[1].1, format!("the body of {name}() must be bool, not {bt}")));
                }
                let node = if name == "exists" {
                    Node::Exists(Box::new(ln), Box::new(bn))
                } else {
                    Node::All(Box::new(ln), Box::new(bn))
                };
                Ok((node, Ty::Bool, lc + ASSUMED_LIST_LEN * (bc + 1)))
            }
            (Some(s), "startsWith" | "endsWith" | "contains") => {
                arity(1)?;
                let (sn, st, sc) = self.check(s)?;
                let (an, at, ac) = self.check(&args[0])?;
                if st != Ty::Str || at != Ty::Str {
                    return Err((pos, format!("{name}() compares strings, not {st} and {at}")));
                }
                let f = match name {
                    "startsWith" => StrFn::StartsWith,
                    "endsWith" => StrFn::EndsWith,
                    _ => StrFn::Contains,
                };
                Ok((Node::StrTest(f, Box::new(sn), Box::new(an)), Ty::Bool, sc + ac + 2))
            }
            (Some(s), "lowerAscii") => {
                arity(0)?;
                let (sn, st, sc) = self.check(s)?;
                if st != Ty::Str {
                    return Err((pos, format!("lowerAscii() applies to a string, not {st}")));
                }
                Ok((Node::Lower(Box::new(sn)), Ty::Str, sc + 2))
            }
            (_, "size") => {
                let arg = match target {
                    Some(t) => {
                        arity(0)?;
                        t
                    }
                    None => {
                        arity(1)?;
                        &args[0]
                    }
                };
                let (n, t, c) = self.check(arg)?;
                if !matches!(t, Ty::Str | Ty::StrList | Ty::IntList) {
                    return Err((pos, format!("size() applies to a string or a list, not {t}")));
                }
                Ok((Node::Size(Box::new(n)), Ty::Int, c + 1))
            }
            (None, "in_list") => {
                arity(2)?;
                let list = match &args[0].0 {
                    Ast::Str(s) => s.clone(),
                    _ => return Err((args[0].1, "in_list() takes the list's name as a quoted string".into())),
                };
                if !self.lists.exists(&list) {
                    return Err((args[0].1, format!("unknown list {list:?}")));
                }
                let (n, t, c) = self.check(&args[1])?;
                if t != Ty::Str {
                    return Err((args[1].1, format!("in_list() looks up a string, not {t}")));
                }
                Ok((Node::InNamed(list, Box::new(n)), Ty::Bool, c + 2))
            }
            (None, "double" | "int" | "string") => {
                arity(1)?;
                let (n, t, c) = self.check(&args[0])?;
                let out = match (name, t) {
                    ("double", Ty::Int) => (Node::ToDouble(Box::new(n)), Ty::Double),
                    ("double", Ty::Double) | ("int", Ty::Int) | ("string", Ty::Str) => (n, t),
                    ("int", Ty::Double) => (Node::ToInt(Box::new(n)), Ty::Int),
                    ("string", Ty::Int) => (Node::ToStr(Box::new(n)), Ty::Str),
                    _ => return Err((pos, format!("{name}() cannot convert {t}"))),
                };
                Ok((out.0, out.1, c + 1))
            }
            _ => Err((
                pos,
                format!(
                    "unknown function '{name}'; available: in_list(name, value), size(x), s.startsWith(p), \
                     s.endsWith(p), s.contains(p), s.lowerAscii(), list.exists(x, cond), list.all(x, cond), \
                     double(n), int(n), string(n)"
                ),
            )),
        }
    }
}

fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let before = &src[..offset.min(src.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map(|l| l.chars().count()).unwrap_or(0) + 1;
    (line, column)
}

/// A condition that passed checking: ready to run per order.
#[derive(Clone, Debug)]
pub struct Condition {
    source: String,
    root: Node,
    cost: u64,
}

impl PartialEq for Condition {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl Condition {
    /// Parses and type-checks `src`; it must be a bool over known fields and existing lists.
    pub fn compile(src: &str, lists: &dyn Lists) -> Result<Condition, CompileError> {
        let at = |(offset, message): (usize, String)| {
            let (line, column) = line_col(src, offset);
            CompileError { line, column, message }
        };
        if src.len() > MAX_SOURCE_LEN {
            return Err(at((0, format!("a condition may be at most {MAX_SOURCE_LEN} characters"))));
        }
        let toks = lex(src).map_err(at)?;
        let mut p = Parser { toks, at: 0, depth: 0 };
        let ast = p.expr().map_err(at)?;
        if *p.peek() != Tok::End {
            return Err(at((p.pos(), format!("unexpected {} after a complete condition", p.describe()))));
        }
        let mut c = Checker { lists, vars: Vec::new() };
        let (root, ty, cost) = c.check(&ast).map_err(at)?;
        if ty != Ty::Bool {
            return Err(at((0, format!("a condition must be bool (true or false), but this is {ty}"))));
        }
        if cost > MAX_STATIC_COST {
            return Err(at((0, format!("condition is too expensive (cost {cost}, limit {MAX_STATIC_COST})"))));
        }
        Ok(Condition { source: src.to_owned(), root, cost })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    pub fn cost(&self) -> u64 {
        self.cost
    }

    pub fn eval(&self, facts: &Facts, lists: &dyn Lists) -> Result<bool, EvalError> {
        let mut ev = Eval { facts, lists, steps: 0, vars: [""; MAX_MACRO_DEPTH], depth: 0 };
        match ev.eval(&self.root)? {
            V::Bool(b) => Ok(b),
            _ => Err(EvalError("condition did not yield a bool".into())),
        }
    }
}

// ---------------------------------------------------------------------------------------------- evaluation

#[derive(Clone, Debug)]
enum V<'a> {
    Bool(bool),
    Int(i64),
    Double(f64),
    Str(Cow<'a, str>),
    StrList(Cow<'a, [String]>),
    IntList(Vec<i64>),
}

struct Eval<'a, 'l> {
    facts: &'a Facts,
    lists: &'l dyn Lists,
    steps: u32,
    vars: [&'a str; MAX_MACRO_DEPTH],
    depth: usize,
}

fn overflow() -> EvalError {
    EvalError("integer overflow".into())
}

fn compare<T: PartialOrd>(c: Cmp, a: T, b: T) -> bool {
    match c {
        Cmp::Eq => a == b,
        Cmp::Ne => a != b,
        Cmp::Lt => a < b,
        Cmp::Le => a <= b,
        Cmp::Gt => a > b,
        Cmp::Ge => a >= b,
    }
}

impl<'a> Eval<'a, '_> {
    fn field(&self, f: Field) -> Result<FactValue<'a>, EvalError> {
        self.facts.get(f).map_err(|Unavailable(why)| EvalError(format!("{} is not available: {why}", f.path())))
    }

    // The typed readers below take the common nodes directly, without building a `V`: the checker has
    // already proven the types, and this is where review spends its time.
    fn bool(&mut self, n: &'a Node) -> Result<bool, EvalError> {
        match n {
            Node::Bool(b) => Ok(*b),
            Node::Field(f) => match self.field(*f)? {
                FactValue::Bool(b) => Ok(b),
                _ => Err(EvalError("expected a bool".into())),
            },
            Node::Not(a) => Ok(!self.bool(a)?),
            Node::CmpInt(c, a, b) => Ok(compare(*c, self.int(a)?, self.int(b)?)),
            Node::CmpNum(c, a, b) => Ok(compare(*c, self.num(a)?, self.num(b)?)),
            Node::InSet(a, set) => {
                let s = self.str(a)?;
                Ok(set.contains(s.as_ref()))
            }
            Node::InNamed(list, a) => {
                let s = self.str(a)?;
                Ok(self.lists.contains(list, &s))
            }
            _ => match self.eval(n)? {
                V::Bool(b) => Ok(b),
                _ => Err(EvalError("expected a bool".into())),
            },
        }
    }
    fn int(&mut self, n: &'a Node) -> Result<i64, EvalError> {
        match n {
            Node::Int(i) => Ok(*i),
            Node::Field(f) => match self.field(*f)? {
                FactValue::Int(i) => Ok(i),
                _ => Err(EvalError("expected an int".into())),
            },
            _ => match self.eval(n)? {
                V::Int(i) => Ok(i),
                _ => Err(EvalError("expected an int".into())),
            },
        }
    }
    fn num(&mut self, n: &'a Node) -> Result<f64, EvalError> {
        match n {
            Node::Double(d) => Ok(*d),
            Node::Int(i) => Ok(*i as f64),
            Node::ToDouble(a) => self.num(a),
            Node::Field(f) => match self.field(*f)? {
                FactValue::Int(i) => Ok(i as f64),
                FactValue::Double(d) => Ok(d),
                _ => Err(EvalError("expected a number".into())),
            },
            _ => match self.eval(n)? {
                V::Int(i) => Ok(i as f64),
                V::Double(d) => Ok(d),
                _ => Err(EvalError("expected a number".into())),
            },
        }
    }
    fn str(&mut self, n: &'a Node) -> Result<Cow<'a, str>, EvalError> {
        match n {
            Node::Str(s) => Ok(Cow::Borrowed(s)),
            Node::Var(i) => Ok(Cow::Borrowed(self.vars[*i])),
            Node::Field(f) => match self.field(*f)? {
                FactValue::Str(s) => Ok(s),
                _ => Err(EvalError("expected a string".into())),
            },
            _ => match self.eval(n)? {
                V::Str(s) => Ok(s),
                _ => Err(EvalError("expected a string".into())),
            },
        }
    }
    fn strs(&mut self, n: &'a Node) -> Result<Cow<'a, [String]>, EvalError> {
        match self.eval(n)? {
            V::StrList(s) => Ok(s),
            _ => Err(EvalError("expected a list of strings".into())),
        }
    }

    /// Counts work that depends on the data (macro iterations, list scans); everything else is bounded by
    /// the condition's size, which the checker limits.
    fn step(&mut self, n: u32) -> Result<(), EvalError> {
        self.steps = self.steps.saturating_add(n);
        if self.steps > STEP_BUDGET {
            return Err(EvalError(format!("evaluation exceeded its budget of {STEP_BUDGET} steps")));
        }
        Ok(())
    }

    fn eval(&mut self, n: &'a Node) -> Result<V<'a>, EvalError> {
        Ok(match n {
            Node::Bool(b) => V::Bool(*b),
            Node::Int(i) => V::Int(*i),
            Node::Double(d) => V::Double(*d),
            Node::Str(s) => V::Str(Cow::Borrowed(s)),
            Node::Field(f) => match self.field(*f)? {
                FactValue::Bool(b) => V::Bool(b),
                FactValue::Int(i) => V::Int(i),
                FactValue::Double(d) => V::Double(d),
                FactValue::Str(s) => V::Str(s),
                FactValue::StrList(l) => V::StrList(Cow::Borrowed(l)),
            },
            Node::Var(i) => V::Str(Cow::Borrowed(self.vars[*i])),
            Node::StrList(items) => {
                let mut out = Vec::with_capacity(items.len());
                for i in items {
                    out.push(self.str(i)?.into_owned());
                }
                V::StrList(Cow::Owned(out))
            }
            Node::IntList(items) => {
                let mut out = Vec::with_capacity(items.len());
                for i in items {
                    out.push(self.int(i)?);
                }
                V::IntList(out)
            }
            Node::Not(a) => V::Bool(!self.bool(a)?),
            Node::NegInt(a) => V::Int(self.int(a)?.checked_neg().ok_or_else(overflow)?),
            Node::NegDouble(a) => V::Double(-self.num(a)?),
            // CEL's commutative logic: an error on one side is forgiven when the other side decides.
            Node::And(a, b) => match self.bool(a) {
                Ok(false) => V::Bool(false),
                Ok(true) => V::Bool(self.bool(b)?),
                Err(e) => match self.bool(b) {
                    Ok(false) => V::Bool(false),
                    _ => return Err(e),
                },
            },
            Node::Or(a, b) => match self.bool(a) {
                Ok(true) => V::Bool(true),
                Ok(false) => V::Bool(self.bool(b)?),
                Err(e) => match self.bool(b) {
                    Ok(true) => V::Bool(true),
                    _ => return Err(e),
                },
            },
            Node::Cond(c, a, b) => {
                if self.bool(c)? {
                    self.eval(a)?
                } else {
                    self.eval(b)?
                }
            }
            Node::CmpInt(c, a, b) => V::Bool(compare(*c, self.int(a)?, self.int(b)?)),
            Node::CmpNum(c, a, b) => match (self.eval(a)?, self.eval(b)?) {
                (V::Int(x), V::Int(y)) => V::Bool(compare(*c, x, y)),
                (V::Int(x), V::Double(y)) => V::Bool(compare(*c, x as f64, y)),
                (V::Double(x), V::Int(y)) => V::Bool(compare(*c, x, y as f64)),
                (V::Double(x), V::Double(y)) => V::Bool(compare(*c, x, y)),
                _ => return Err(EvalError("expected numbers".into())),
            },
            Node::CmpStr(c, a, b) => {
                let (x, y) = (self.str(a)?, self.str(b)?);
                V::Bool(compare(*c, x.as_ref(), y.as_ref()))
            }
            Node::CmpBool(c, a, b) => {
                let (x, y) = (self.bool(a)?, self.bool(b)?);
                V::Bool(compare(*c, x, y))
            }
            Node::IntOp(op, a, b) => {
                let (x, y) = (self.int(a)?, self.int(b)?);
                let r = match op {
                    Arith::Add => x.checked_add(y),
                    Arith::Sub => x.checked_sub(y),
                    Arith::Mul => x.checked_mul(y),
                    Arith::Div | Arith::Rem if y == 0 => return Err(EvalError("division by zero".into())),
                    Arith::Div => x.checked_div(y),
                    Arith::Rem => x.checked_rem(y),
                };
                V::Int(r.ok_or_else(overflow)?)
            }
            Node::DoubleOp(op, a, b) => {
                let (x, y) = (self.num(a)?, self.num(b)?);
                V::Double(match op {
                    Arith::Add => x + y,
                    Arith::Sub => x - y,
                    Arith::Mul => x * y,
                    Arith::Div => x / y,
                    Arith::Rem => x % y,
                })
            }
            Node::Concat(a, b) => {
                let mut s = self.str(a)?.into_owned();
                s.push_str(&self.str(b)?);
                V::Str(Cow::Owned(s))
            }
            Node::InSet(a, set) => {
                let s = self.str(a)?;
                V::Bool(set.contains(s.as_ref()))
            }
            Node::InStrList(a, l) => {
                let s = self.str(a)?;
                let l = self.strs(l)?;
                self.step(l.len() as u32)?;
                V::Bool(l.iter().any(|x| *x == *s))
            }
            Node::InIntList(a, l) => {
                let x = self.int(a)?;
                match self.eval(l)? {
                    V::IntList(l) => V::Bool(l.contains(&x)),
                    _ => return Err(EvalError("expected a list of ints".into())),
                }
            }
            Node::InNamed(list, a) => {
                let s = self.str(a)?;
                V::Bool(self.lists.contains(list, &s))
            }
            Node::Size(a) => match self.eval(a)? {
                V::Str(s) => V::Int(s.chars().count() as i64),
                V::StrList(l) => V::Int(l.len() as i64),
                V::IntList(l) => V::Int(l.len() as i64),
                _ => return Err(EvalError("size() of something without a size".into())),
            },
            Node::StrTest(f, a, b) => {
                let (x, y) = (self.str(a)?, self.str(b)?);
                V::Bool(match f {
                    StrFn::StartsWith => x.starts_with(y.as_ref()),
                    StrFn::EndsWith => x.ends_with(y.as_ref()),
                    StrFn::Contains => x.contains(y.as_ref()),
                })
            }
            Node::Lower(a) => {
                let s = self.str(a)?;
                if s.bytes().any(|b| b.is_ascii_uppercase()) {
                    V::Str(Cow::Owned(s.to_ascii_lowercase()))
                } else {
                    V::Str(s)
                }
            }
            Node::ToDouble(a) => V::Double(self.num(a)?),
            Node::ToInt(a) => {
                let d = self.num(a)?;
                if !d.is_finite() || d.trunc() < i64::MIN as f64 || d.trunc() >= i64::MAX as f64 {
                    return Err(overflow());
                }
                V::Int(d.trunc() as i64)
            }
            Node::ToStr(a) => V::Str(Cow::Owned(self.int(a)?.to_string())),
            Node::IndexStr(l, i) => {
                let (l, i) = (self.strs(l)?, self.int(i)?);
                let item = usize::try_from(i).ok().and_then(|i| l.get(i)).cloned();
                V::Str(Cow::Owned(item.ok_or_else(|| EvalError(format!("index {i} is outside the list")))?))
            }
            Node::Exists(l, body) | Node::All(l, body) => {
                let want_any = matches!(n, Node::Exists(..));
                let items = match self.eval(l)? {
                    V::StrList(Cow::Borrowed(items)) => items,
                    _ => return Err(EvalError("exists()/all() runs over a list field".into())),
                };
                let mut found = !want_any;
                for item in items {
                    self.step(1)?;
                    // The checker bounds the nesting, so the slot exists.
                    self.vars[self.depth] = item;
                    self.depth += 1;
                    let r = self.bool(body);
                    self.depth -= 1;
                    if r? == want_any {
                        found = want_any;
                        break;
                    }
                }
                V::Bool(found)
            }
        })
    }
}
