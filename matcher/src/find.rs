//! `find`: which resources satisfy a predicate expression.
//!
//! An expression is a sequence of terms joined by `and` or `or` (a bare
//! space means `and`), evaluated left to right without precedence, as
//! Fluxion does; parentheses group, and `not` negates the term after it.
//! A term is `key=value`:
//!
//! | key | values | true for a vertex that |
//! |---|---|---|
//! | `status` | `up`, `down` | is (or is below a vertex that is) down, or not |
//! | `sched-now` | `allocated`, `free` | is (or is below) an allocated vertex, or not |
//! | `sched-future` | `reserved`, `free` | is (or is below) a reserved vertex, or not |
//! | `jobid-alloc`, `jobid-reserved` | job id | the job holds it allocated / reserved |
//! | `jobid-span` | job id | the job holds units in its subtree aggregates |
//! | `jobid-tag` | job id | the job holds it or something below it |
//! | `agfilter` | `true`/`t`, `false`/`f` | (always the value; `true` also prints aggregates) |
//! | `names` | hostlist, e.g. `node[0-3]` | has one of the names |
//! | `property` | `name`, `^name` | has the property (`^`: has not) |
//!
//! Values are case-insensitive except names and properties. A vertex is
//! printed when it satisfies the expression or has a printed descendant.
//! Parentheses and `not` nest at most [`MAX_NESTING`] deep: parsing and
//! evaluation recurse, and a hostile expression must not exhaust the stack.
//! A `names` hostlist is kept as ranges and never expanded.
use resource_graph::hostlist::Hostlist;
use resource_graph::{ResourceGraph, Status, VertexIdx};

/// Deepest nesting of parentheses and `not` an expression may have.
pub const MAX_NESTING: usize = 64;

/// A parsed `find` expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expr {
    first: Term,
    rest: Vec<(Op, Term)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    And,
    Or,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Term {
    Pred(Pred),
    Group(Box<Expr>),
    Not(Box<Term>),
}

/// One `key=value` predicate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pred {
    Status(Status),
    SchedNowAllocated(bool),
    SchedFutureReserved(bool),
    JobidAlloc(u64),
    JobidReserved(u64),
    JobidSpan(u64),
    JobidTag(u64),
    Agfilter(bool),
    Names(Hostlist),
    Property { name: String, present: bool },
}

/// What the ancestors of a vertex pass down: whether one of them is down,
/// allocated or reserved.
#[derive(Debug, Clone, Copy, Default)]
pub struct Inherited {
    pub down: bool,
    pub allocated: bool,
    pub reserved: bool,
}

/// A find expression that does not parse: what is wrong and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FindError(pub String);

impl Expr {
    /// Parse an expression; the error says what is wrong and where.
    pub fn parse(text: &str) -> Result<Expr, FindError> {
        Expr::parse_text(text).map_err(FindError)
    }

    fn parse_text(text: &str) -> Result<Expr, String> {
        let mut p = Parser {
            s: text,
            at: 0,
            depth: 0,
        };
        let e = p.expr()?;
        p.skip_ws();
        if p.at < text.len() {
            return Err(format!(
                "unexpected '{}' at column {}",
                &text[p.at..],
                p.at + 1
            ));
        }
        Ok(e)
    }

    /// Every predicate, in order of appearance.
    pub fn predicates(&self) -> Vec<&Pred> {
        fn walk<'a>(t: &'a Term, out: &mut Vec<&'a Pred>) {
            match t {
                Term::Pred(p) => out.push(p),
                Term::Group(e) => {
                    walk(&e.first, out);
                    for (_, t) in &e.rest {
                        walk(t, out);
                    }
                }
                Term::Not(t) => walk(t, out),
            }
        }
        let mut out = Vec::new();
        walk(&self.first, &mut out);
        for (_, t) in &self.rest {
            walk(t, &mut out);
        }
        out
    }

    /// Whether vertex `v` satisfies the expression.
    pub fn eval(&self, g: &ResourceGraph, v: VertexIdx, inh: &Inherited) -> bool {
        let mut r = self.first.eval(g, v, inh);
        for (op, t) in &self.rest {
            let x = t.eval(g, v, inh);
            r = match op {
                Op::And => r && x,
                Op::Or => r || x,
            };
        }
        r
    }
}

impl Term {
    fn eval(&self, g: &ResourceGraph, v: VertexIdx, inh: &Inherited) -> bool {
        match self {
            Term::Pred(p) => p.eval(g, v, inh),
            Term::Group(e) => e.eval(g, v, inh),
            Term::Not(t) => !t.eval(g, v, inh),
        }
    }
}

impl Pred {
    fn eval(&self, g: &ResourceGraph, v: VertexIdx, inh: &Inherited) -> bool {
        let x = &g.g[v];
        let s = &x.schedule;
        match self {
            Pred::Status(Status::Down) => inh.down || x.status == Status::Down,
            Pred::Status(Status::Up) => !inh.down && x.status == Status::Up,
            Pred::SchedNowAllocated(true) => inh.allocated || s.allocated(),
            Pred::SchedNowAllocated(false) => !inh.allocated && !s.allocated(),
            Pred::SchedFutureReserved(true) => inh.reserved || s.reserved(),
            Pred::SchedFutureReserved(false) => !inh.reserved && !s.reserved(),
            Pred::JobidAlloc(j) => s.plans.span(*j).is_some_and(|sp| !sp.reserved),
            Pred::JobidReserved(j) => s.plans.span(*j).is_some_and(|sp| sp.reserved),
            Pred::JobidSpan(j) => s.subplan.as_ref().is_some_and(|p| p.has_job(*j)),
            Pred::JobidTag(j) => s.tagged(*j),
            Pred::Agfilter(b) => *b,
            Pred::Names(names) => names.contains(&g.name(v)),
            Pred::Property { name, present } => g.properties(v).any(|(k, _)| k == name) == *present,
        }
    }

    fn parse(key: &str, value: &str) -> Result<Pred, String> {
        let lc = value.to_ascii_lowercase();
        let bad = |what: &str| format!("{key}={value}: {what}");
        let jobid = || {
            lc.parse::<u64>()
                .map_err(|_| bad("expected a job id (a non-negative integer)"))
        };
        Ok(match key {
            "status" => match lc.as_str() {
                "up" => Pred::Status(Status::Up),
                "down" => Pred::Status(Status::Down),
                _ => return Err(bad("expected up or down")),
            },
            "sched-now" => match lc.as_str() {
                "allocated" => Pred::SchedNowAllocated(true),
                "free" => Pred::SchedNowAllocated(false),
                _ => return Err(bad("expected allocated or free")),
            },
            "sched-future" => match lc.as_str() {
                "reserved" => Pred::SchedFutureReserved(true),
                "free" => Pred::SchedFutureReserved(false),
                _ => return Err(bad("expected reserved or free")),
            },
            "jobid-alloc" => Pred::JobidAlloc(jobid()?),
            "jobid-reserved" => Pred::JobidReserved(jobid()?),
            "jobid-span" => Pred::JobidSpan(jobid()?),
            "jobid-tag" => Pred::JobidTag(jobid()?),
            "agfilter" => match lc.as_str() {
                "true" | "t" => Pred::Agfilter(true),
                "false" | "f" => Pred::Agfilter(false),
                _ => return Err(bad("expected true, t, false or f")),
            },
            "names" => Pred::Names(Hostlist::parse(value).map_err(|e| bad(&e.to_string()))?),
            "property" => match value.strip_prefix('^') {
                Some("") | None if value.is_empty() || value == "^" => {
                    return Err(bad("expected a property name"))
                }
                Some(name) => Pred::Property {
                    name: name.to_owned(),
                    present: false,
                },
                None => Pred::Property {
                    name: value.to_owned(),
                    present: true,
                },
            },
            _ => {
                return Err(format!(
                    "unknown predicate '{key}' (expected status, sched-now, sched-future, \
                     jobid-alloc, jobid-reserved, jobid-span, jobid-tag, agfilter, names \
                     or property)"
                ))
            }
        })
    }
}

struct Parser<'a> {
    s: &'a str,
    at: usize,
    /// Parentheses and `not`s open around the term being parsed.
    depth: usize,
}

impl Parser<'_> {
    fn skip_ws(&mut self) {
        while self.s[self.at..].starts_with([' ', '\t']) {
            self.at += 1;
        }
    }

    fn expr(&mut self) -> Result<Expr, String> {
        let first = self.term()?;
        let mut rest = Vec::new();
        loop {
            let before = self.at;
            self.skip_ws();
            if self.at >= self.s.len() || self.s[self.at..].starts_with(')') {
                break;
            }
            if self.at == before {
                return Err(format!(
                    "expected a space before '{}' at column {}",
                    &self.s[self.at..],
                    self.at + 1
                ));
            }
            let word = self.peek_word();
            let op = match word {
                "and" => {
                    self.at += 3;
                    Op::And
                }
                "or" => {
                    self.at += 2;
                    Op::Or
                }
                _ => Op::And,
            };
            rest.push((op, self.term()?));
        }
        Ok(Expr { first, rest })
    }

    fn peek_word(&self) -> &str {
        let rest = &self.s[self.at..];
        let end = rest.find([' ', '\t', '(', ')']).unwrap_or(rest.len());
        &rest[..end]
    }

    /// One term, counting the nesting it opens against [`MAX_NESTING`].
    fn term(&mut self) -> Result<Term, String> {
        self.skip_ws();
        let opens = self.s[self.at..].starts_with('(') || self.peek_word() == "not";
        if !opens {
            return self.plain_term();
        }
        if self.depth >= MAX_NESTING {
            return Err(format!(
                "nested deeper than {MAX_NESTING} levels of ( ) and not at column {}",
                self.at + 1
            ));
        }
        self.depth += 1;
        let t = self.plain_term();
        self.depth -= 1;
        t
    }

    fn plain_term(&mut self) -> Result<Term, String> {
        if self.at >= self.s.len() {
            return Err(if self.s.trim().is_empty() {
                "empty expression".into()
            } else {
                format!("expression ends after an operator: '{}'", self.s.trim())
            });
        }
        let rest = &self.s[self.at..];
        if rest.starts_with('(') {
            self.at += 1;
            let e = self.expr()?;
            self.skip_ws();
            if !self.s[self.at..].starts_with(')') {
                return Err(format!("unbalanced '(' in '{}'", self.s.trim()));
            }
            self.at += 1;
            return Ok(Term::Group(Box::new(e)));
        }
        if rest.starts_with(')') {
            return Err(format!(
                "unexpected ')' at column {} in '{}'",
                self.at + 1,
                self.s.trim()
            ));
        }
        let word = self.peek_word();
        if word == "not" {
            self.at += 3;
            return Ok(Term::Not(Box::new(self.term()?)));
        }
        if word == "and" || word == "or" {
            return Err(format!(
                "operator '{word}' where a predicate was expected at column {}",
                self.at + 1
            ));
        }
        let end = rest.find([' ', '\t', ')']).unwrap_or(rest.len());
        let leaf = &rest[..end];
        self.at += end;
        let (key, value) = leaf
            .split_once('=')
            .ok_or_else(|| format!("'{leaf}' is not a key=value predicate"))?;
        Ok(Term::Pred(Pred::parse(key, value)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequences_group_and_negate() {
        let e = Expr::parse("status=up and (sched-now=free or jobid-tag=3) not property=^gpu")
            .expect("parses");
        assert_eq!(e.rest.len(), 2);
        assert_eq!(e.rest[0].0, Op::And);
        assert_eq!(e.rest[1].0, Op::And, "a bare space means and");
        assert!(matches!(e.rest[1].1, Term::Not(_)));
        let preds = e.predicates();
        assert_eq!(preds.len(), 4);
        assert_eq!(preds[2], &Pred::JobidTag(3));
        assert_eq!(
            preds[3],
            &Pred::Property {
                name: "gpu".into(),
                present: false
            }
        );
        assert_eq!(
            Expr::parse("STATUS=up").unwrap_err().to_string(),
            "unknown predicate 'STATUS' (expected status, sched-now, sched-future, jobid-alloc, jobid-reserved, jobid-span, jobid-tag, agfilter, names or property)"
        );
        assert!(Expr::parse("status=UP").is_ok(), "values ignore case");
    }

    #[test]
    fn malformed_expressions_are_rejected_with_a_reason() {
        for (bad, why) in [
            ("", "empty expression"),
            ("status", "not a key=value"),
            ("status=sideways", "expected up or down"),
            ("jobid-alloc=x", "job id"),
            ("status=up and", "ends after an operator"),
            ("(status=up", "unbalanced"),
            ("status=up)", "unexpected ')'"),
            ("and status=up", "operator 'and'"),
            ("status=up(sched-now=free)", "expected up or down"),
            ("(status=up)(sched-now=free)", "expected a space"),
            ("agfilter=maybe", "expected true"),
            ("property=", "property name"),
            ("names=node[1-", "names=node[1-"),
            ("names=n[0-", "'[' without ']'"),
        ] {
            let e = Expr::parse(bad).expect_err(bad).to_string();
            assert!(e.contains(why), "{bad:?}: {e}");
        }
    }

    #[test]
    fn deep_nesting_is_refused_before_the_stack_runs_out() {
        let ok = format!(
            "{}status=up{}",
            "(".repeat(MAX_NESTING),
            ")".repeat(MAX_NESTING)
        );
        assert!(Expr::parse(&ok).is_ok());
        let nots = format!("{}status=up", "not ".repeat(MAX_NESTING));
        assert!(Expr::parse(&nots).is_ok());
        for deep in [
            format!("{}status=up", "(".repeat(40_000)),
            format!("{}status=up", "not ".repeat(40_000)),
            format!("not ({}status=up", "(".repeat(MAX_NESTING)),
        ] {
            let e = Expr::parse(&deep).unwrap_err().to_string();
            assert!(
                e.starts_with("nested deeper than 64 levels of ( ) and not at column "),
                "{e}"
            );
        }
    }

    #[test]
    fn names_are_asked_of_the_hostlist_not_expanded() {
        let e = Expr::parse("names=n[1-10000000]").expect("parses");
        let Pred::Names(hl) = e.predicates()[0] else {
            panic!("expected names")
        };
        assert_eq!(hl.len(), 10_000_000);
        assert!(hl.contains("n9999999"));
    }
}
