//! The LogQL subset the fake Loki understands, parsed for real, with Loki's
//! error wording (pkg/logql/syntax: lex.go, syntax.y, parser.go; the yacc
//! messages are checked against parser_test.go).
//!
//! Supported: a stream selector (`=`, `!=`, `=~`, `!~`; regexes fully
//! anchored), line filters (`|=`, `!=`, `|~`, `!~`, "..." or `...`),
//! `| json`, `| logfmt`, label filters `| name OP value[, ...]` (OP one of
//! `= != =~ !~` with a string, or `== != > >= < <=` with a number), and the
//! metric forms `count_over_time(LOG [D])`, `rate(LOG [D])`, each optionally
//! inside `sum(...)` / `sum by (l, ...) (...)` / `sum(...) by (l, ...)`.
//! Any other token, valid LogQL or not, is a syntax error at its position.

use std::collections::BTreeMap;

use regex::Regex;

/// Loki's ParseError, formatted as its Error() does.
pub fn parse_error(msg: &str, line: usize, col: usize) -> String {
    if line == 0 && col == 0 {
        format!("parse error : {msg}")
    } else {
        format!("parse error at line {line}, col {col}: {msg}")
    }
}

const EMPTY_COMPATIBLE: &str = "queries require at least one regexp or equality matcher that does not have an empty-compatible value. For instance, app=~\".*\" does not meet this requirement, but app=~\".+\" will";

// Tokens from lex.go's `tokens` map: yacc names them by their text.
const KEYWORDS: &[&str] = &[
    "by",
    "without",
    "bool",
    "unwrap",
    "offset",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "or",
    "and",
    "unless",
    "json",
    "regexp",
    "logfmt",
    "unpack",
    "pattern",
    "label_format",
    "line_format",
    "ip",
    "decolorize",
    "drop",
    "keep",
    "label_replace",
];
// lex.go's `functionTokens`: only when followed by `(` (or by/without); yacc
// names them by their token constant (upper case).
const FUNCTIONS: &[&str] = &[
    "rate",
    "rate_counter",
    "count_over_time",
    "bytes_rate",
    "bytes_over_time",
    "avg_over_time",
    "sum_over_time",
    "min_over_time",
    "max_over_time",
    "stdvar_over_time",
    "stddev_over_time",
    "quantile_over_time",
    "first_over_time",
    "last_over_time",
    "absent_over_time",
    "vector",
    "sum",
    "avg",
    "max",
    "min",
    "count",
    "stddev",
    "stdvar",
    "bottomk",
    "topk",
    "sort",
    "sort_desc",
    "approx_topk",
];
const SYMBOLS: &[&str] = &[
    "!=", "=~", "!~", "!>", "|=", "|~", "|>", "==", ">=", "<=", ",", ".", "{", "}", "=", "|", "(",
    ")", "]", "+", "-", "*", "/", "%", "^", ">", "<",
];

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Sym(&'static str),
    Kw(&'static str),
    Func(&'static str),
    Ident(String),
    Str(String),
    Number(f64),
    Duration,
    Range(i64),
    Eof,
}

impl Tok {
    fn name(&self) -> String {
        match self {
            Tok::Sym(s) | Tok::Kw(s) => s.to_string(),
            Tok::Func(f) => f.to_uppercase(),
            Tok::Ident(_) => "IDENTIFIER".into(),
            Tok::Str(_) => "STRING".into(),
            Tok::Number(_) => "NUMBER".into(),
            Tok::Duration => "DURATION".into(),
            Tok::Range(_) => "RANGE".into(),
            Tok::Eof => "$end".into(),
        }
    }
}

/// Tokens with their 1-based (line, column), as text/scanner reports them.
fn lex(src: &str) -> Result<Vec<(Tok, usize, usize)>, String> {
    let c: Vec<char> = src.chars().collect();
    let pos = |i: usize| {
        let before = &c[..i];
        let line = 1 + before.iter().filter(|&&ch| ch == '\n').count();
        let col = 1 + before.iter().rev().take_while(|&&ch| ch != '\n').count();
        (line, col)
    };
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        while i < c.len() && c[i].is_whitespace() {
            i += 1;
        }
        if i < c.len() && c[i] == '#' {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
            continue;
        }
        let (line, col) = pos(i);
        let err = |m: &str| Err(parse_error(m, line, col));
        if i >= c.len() {
            out.push((Tok::Eof, line, col));
            return Ok(out);
        }
        let ch = c[i];
        let tok = if ch == '"' || ch == '`' {
            let mut s = String::new();
            let mut j = i + 1;
            loop {
                match c.get(j) {
                    None => return err("literal not terminated"),
                    Some('\n') if ch == '"' => return err("literal not terminated"),
                    Some(&q) if q == ch => break,
                    Some('\\') if ch == '"' => {
                        let (r, n) = unescape(&c[j + 1..])
                            .ok_or_else(|| parse_error("invalid syntax", line, col))?;
                        s.push(r);
                        j += 1 + n;
                        continue;
                    }
                    Some(&o) => s.push(o),
                }
                j += 1;
            }
            i = j + 1;
            Tok::Str(s)
        } else if ch == '[' {
            let Some(end) = c[i..].iter().position(|&x| x == ']') else {
                return err("missing closing ']' in duration");
            };
            let text: String = c[i + 1..i + end].iter().collect();
            i += end + 1;
            match parse_duration(&text) {
                Some(ns) => Tok::Range(ns),
                None => return err(&format!("not a valid duration string: {text:?}")),
            }
        } else if ch.is_ascii_digit() {
            let mut j = i;
            while j < c.len() && (c[j].is_ascii_alphanumeric() || c[j] == '.') {
                j += 1;
            }
            let text: String = c[i..j].iter().collect();
            i = j;
            if let Ok(n) = text.parse::<f64>() {
                Tok::Number(n)
            } else if parse_duration(&text).is_some() {
                Tok::Duration
            } else {
                Tok::Ident(text)
            }
        } else if ch.is_alphabetic() || ch == '_' {
            let mut j = i;
            while j < c.len() && (c[j].is_alphanumeric() || c[j] == '_') {
                j += 1;
            }
            let text: String = c[i..j].iter().collect();
            let lower = text.to_lowercase();
            i = j;
            let mut k = j;
            while k < c.len() && c[k].is_whitespace() {
                k += 1;
            }
            let rest: String = c[k..].iter().take(8).collect::<String>().to_lowercase();
            let is_call =
                rest.starts_with('(') || rest.starts_with("by") || rest.starts_with("without");
            if let Some(f) = FUNCTIONS.iter().find(|f| **f == lower).filter(|_| is_call) {
                Tok::Func(f)
            } else if let Some(k) = KEYWORDS.iter().find(|k| **k == lower) {
                Tok::Kw(k)
            } else {
                Tok::Ident(text)
            }
        } else if let Some(s) = SYMBOLS
            .iter()
            .find(|s| s.chars().zip(&c[i..]).filter(|(a, b)| a == *b).count() == s.len())
        {
            i += s.len();
            Tok::Sym(s)
        } else {
            i += 1;
            Tok::Ident(ch.to_string())
        };
        out.push((tok, line, col));
    }
}

/// One Go escape sequence after a backslash: (char, chars consumed).
fn unescape(s: &[char]) -> Option<(char, usize)> {
    let hex = |n: usize| -> Option<(char, usize)> {
        let t: String = s.get(1..1 + n)?.iter().collect();
        Some((char::from_u32(u32::from_str_radix(&t, 16).ok()?)?, 1 + n))
    };
    Some(match s.first()? {
        'n' => ('\n', 1),
        't' => ('\t', 1),
        'r' => ('\r', 1),
        'a' => ('\x07', 1),
        'b' => ('\x08', 1),
        'f' => ('\x0c', 1),
        'v' => ('\x0b', 1),
        '\\' => ('\\', 1),
        '"' => ('"', 1),
        'x' => hex(2)?,
        'u' => hex(4)?,
        'U' => hex(8)?,
        '0'..='7' => {
            let t: String = s.get(..3)?.iter().collect();
            (char::from_u32(u32::from_str_radix(&t, 8).ok()?)?, 3)
        }
        _ => return None,
    })
}

/// A Prometheus duration ("90s", "1h30m", "250ms") in nanoseconds.
pub fn parse_duration(s: &str) -> Option<i64> {
    let units: [(&str, i64); 8] = [
        ("ms", 1_000_000),
        ("s", 1_000_000_000),
        ("m", 60_000_000_000),
        ("h", 3_600_000_000_000),
        ("d", 86_400_000_000_000),
        ("w", 604_800_000_000_000),
        ("y", 31_536_000_000_000_000),
        ("", 0),
    ];
    let mut rest = s;
    let mut total = 0i64;
    if s.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let n = rest.find(|ch: char| !ch.is_ascii_digit())?;
        let (num, tail) = rest.split_at(n);
        let (unit, mult) = units
            .iter()
            .find(|(u, _)| !u.is_empty() && tail.starts_with(u))?;
        total += num.parse::<i64>().ok()? * mult;
        rest = &tail[unit.len()..];
    }
    Some(total)
}

#[derive(Debug, Clone)]
pub struct Matcher {
    pub name: String,
    pub op: &'static str,
    pub value: String,
    re: Option<Regex>,
}

impl Matcher {
    fn new(
        name: String,
        op: &'static str,
        value: String,
        anchored: bool,
    ) -> Result<Matcher, String> {
        let re = match op {
            "=~" | "!~" => {
                let src = if anchored {
                    format!("^(?:{value})$")
                } else {
                    value.clone()
                };
                Some(
                    Regex::new(&src)
                        .map_err(|e| parse_error(&format!("error parsing regexp: {e}"), 0, 0))?,
                )
            }
            _ => None,
        };
        Ok(Matcher {
            name,
            op,
            value,
            re,
        })
    }

    /// Prometheus matcher semantics: a missing label is the empty string.
    pub fn matches(&self, v: &str) -> bool {
        match self.op {
            "=" => v == self.value,
            "!=" => v != self.value,
            "=~" => self.re.as_ref().unwrap().is_match(v),
            _ => !self.re.as_ref().unwrap().is_match(v),
        }
    }

    /// For line filters: substring / unanchored regex.
    fn matches_line(&self, line: &str) -> bool {
        match self.op {
            "|=" => line.contains(&self.value),
            "!=" => !line.contains(&self.value),
            "|~" => self.re.as_ref().unwrap().is_match(line),
            _ => !self.re.as_ref().unwrap().is_match(line),
        }
    }
}

#[derive(Debug, Clone)]
enum Stage {
    Line(Matcher),
    Json,
    Logfmt,
    /// All must hold (`,` / `and` / juxtaposition).
    Labels(Vec<LabelCond>),
}

#[derive(Debug, Clone)]
enum LabelCond {
    Str(Matcher),
    Num(String, &'static str, f64),
}

/// A log query: selector plus pipeline.
#[derive(Debug, Clone)]
pub struct LogQuery {
    pub matchers: Vec<Matcher>,
    stages: Vec<Stage>,
}

#[derive(Debug, Clone)]
pub enum Expr {
    Log(LogQuery),
    Metric(Metric),
}

#[derive(Debug, Clone)]
pub struct Metric {
    /// "count_over_time" or "rate".
    pub func: &'static str,
    pub range_ns: i64,
    pub log: LogQuery,
    /// None: no `sum`; Some(None): `sum` with no grouping; Some(Some(l)): `sum by (l)`.
    pub sum_by: Option<Option<Vec<String>>>,
}

/// One entry after the pipeline: the labels in Loki's three categories.
#[derive(Debug, Clone)]
pub struct Row {
    pub stream: BTreeMap<String, String>,
    pub meta: Vec<(String, String)>,
    pub parsed: Vec<(String, String)>,
}

impl Row {
    /// All labels as one set (what Loki shows without categorize-labels).
    pub fn merged(&self) -> BTreeMap<String, String> {
        let mut m = self.stream.clone();
        m.extend(self.meta.iter().cloned());
        m.extend(self.parsed.iter().cloned());
        m
    }
}

struct Parser {
    toks: Vec<(Tok, usize, usize)>,
    i: usize,
}

impl Parser {
    fn peek(&self) -> &Tok {
        &self.toks[self.i].0
    }
    fn next(&mut self) -> Tok {
        let t = self.toks[self.i].0.clone();
        if t != Tok::Eof {
            self.i += 1;
        }
        t
    }
    /// yacc's "syntax error: unexpected X[, expecting A or B]" at the current token.
    fn unexpected<T>(&self, expecting: &[&str]) -> Result<T, String> {
        let (t, line, col) = &self.toks[self.i];
        let mut m = format!("syntax error: unexpected {}", t.name());
        if !expecting.is_empty() {
            m.push_str(&format!(", expecting {}", expecting.join(" or ")));
        }
        Err(parse_error(&m, *line, *col))
    }
    fn expect(&mut self, s: &'static str, expecting: &[&str]) -> Result<(), String> {
        if *self.peek() == Tok::Sym(s) {
            self.next();
            Ok(())
        } else {
            self.unexpected(expecting)
        }
    }
    fn string(&mut self) -> Result<String, String> {
        match self.peek().clone() {
            Tok::Str(s) => {
                self.next();
                Ok(s)
            }
            _ => self.unexpected(&["STRING"]),
        }
    }

    fn selector(&mut self) -> Result<Vec<Matcher>, String> {
        self.expect("{", &[])?;
        let mut ms = Vec::new();
        if *self.peek() == Tok::Sym("}") {
            self.next();
            return Ok(ms);
        }
        loop {
            let Tok::Ident(name) = self.peek().clone() else {
                return self.unexpected(if ms.is_empty() {
                    &["IDENTIFIER", "}"]
                } else {
                    &["IDENTIFIER"]
                });
            };
            self.next();
            let op = match self.peek() {
                Tok::Sym(s @ ("=" | "!=" | "=~" | "!~")) => *s,
                _ => return self.unexpected(&["=", "=~", "!~", "!="]),
            };
            self.next();
            let value = self.string()?;
            ms.push(Matcher::new(name, op, value, true)?);
            match self.peek() {
                Tok::Sym(",") => {
                    self.next();
                }
                Tok::Sym("}") => {
                    self.next();
                    return Ok(ms);
                }
                _ => return self.unexpected(&["}", ","]),
            }
        }
    }

    fn log_query(&mut self) -> Result<LogQuery, String> {
        let matchers = self.selector()?;
        let mut stages = Vec::new();
        loop {
            match self.peek().clone() {
                Tok::Sym(op @ ("|=" | "!=" | "|~" | "!~")) => {
                    self.next();
                    let Tok::Str(v) = self.peek().clone() else {
                        return self.unexpected(&["STRING", "ip"]);
                    };
                    self.next();
                    stages.push(Stage::Line(Matcher::new(String::new(), op, v, false)?));
                }
                Tok::Sym("|") => {
                    self.next();
                    match self.peek().clone() {
                        Tok::Kw("json") => {
                            self.next();
                            stages.push(Stage::Json);
                        }
                        Tok::Kw("logfmt") => {
                            self.next();
                            stages.push(Stage::Logfmt);
                        }
                        Tok::Ident(_) => stages.push(Stage::Labels(self.label_filters()?)),
                        _ => return self.unexpected(&[]),
                    }
                }
                _ => return Ok(LogQuery { matchers, stages }),
            }
        }
    }

    fn label_filters(&mut self) -> Result<Vec<LabelCond>, String> {
        let mut conds = Vec::new();
        loop {
            let Tok::Ident(name) = self.peek().clone() else {
                return self.unexpected(&[]);
            };
            self.next();
            let op = match self.peek() {
                Tok::Sym(s @ ("=" | "!=" | "=~" | "!~" | "==" | ">" | ">=" | "<" | "<=")) => *s,
                _ => return self.unexpected(&[]),
            };
            self.next();
            match (self.peek().clone(), op) {
                (Tok::Str(v), "=" | "!=" | "=~" | "!~") => {
                    conds.push(LabelCond::Str(Matcher::new(name, op, v, true)?));
                }
                (Tok::Number(n), "==" | "!=" | ">" | ">=" | "<" | "<=") => {
                    conds.push(LabelCond::Num(name, op, n));
                }
                _ => return self.unexpected(&[]),
            }
            self.next();
            match self.peek() {
                Tok::Sym(",") | Tok::Kw("and") => {
                    self.next();
                }
                Tok::Ident(_) => {}
                _ => return Ok(conds),
            }
        }
    }

    fn grouping(&mut self) -> Result<Vec<String>, String> {
        self.next(); // by
        self.expect("(", &["("])?;
        let mut ls = Vec::new();
        if *self.peek() == Tok::Sym(")") {
            self.next();
            return Ok(ls);
        }
        loop {
            let Tok::Ident(l) = self.peek().clone() else {
                return self.unexpected(if ls.is_empty() {
                    &["IDENTIFIER", ")"]
                } else {
                    &["IDENTIFIER"]
                });
            };
            self.next();
            ls.push(l);
            match self.peek() {
                Tok::Sym(",") => {
                    self.next();
                }
                Tok::Sym(")") => {
                    self.next();
                    return Ok(ls);
                }
                _ => return self.unexpected(&[",", ")"]),
            }
        }
    }

    fn range_agg(&mut self) -> Result<Metric, String> {
        let Tok::Func(func @ ("count_over_time" | "rate")) = self.peek().clone() else {
            return self.unexpected(&[]);
        };
        self.next();
        self.expect("(", &["("])?;
        if *self.peek() != Tok::Sym("{") {
            return self.unexpected(&["NUMBER", "{", "("]);
        }
        let log = self.log_query()?;
        let Tok::Range(range_ns) = self.peek().clone() else {
            return self.unexpected(&[]);
        };
        self.next();
        self.expect(")", &[")"])?;
        Ok(Metric {
            func,
            range_ns,
            log,
            sum_by: None,
        })
    }

    fn expr(&mut self) -> Result<Expr, String> {
        let e = match self.peek() {
            Tok::Sym("{") => Expr::Log(self.log_query()?),
            Tok::Func("sum") => {
                self.next();
                let mut by = None;
                if *self.peek() == Tok::Kw("by") {
                    by = Some(self.grouping()?);
                } else if *self.peek() != Tok::Sym("(") {
                    return self.unexpected(&["(", "by", "without"]);
                }
                self.expect("(", &["("])?;
                let mut m = self.range_agg()?;
                self.expect(")", &[])?;
                if by.is_none() && *self.peek() == Tok::Kw("by") {
                    by = Some(self.grouping()?);
                }
                m.sum_by = Some(by);
                Expr::Metric(m)
            }
            Tok::Func(_) => Expr::Metric(self.range_agg()?),
            _ => return self.unexpected(&[]),
        };
        if *self.peek() != Tok::Eof {
            return self.unexpected(&[]);
        }
        Ok(e)
    }
}

/// Parses and validates like syntax.ParseExpr.
pub fn parse(src: &str) -> Result<Expr, String> {
    let mut p = Parser {
        toks: lex(src)?,
        i: 0,
    };
    let e = p.expr()?;
    let log = match &e {
        Expr::Log(l) => l,
        Expr::Metric(m) => &m.log,
    };
    // util.SplitFiltersAndMatchers: a matcher that matches "" only filters
    if !log.matchers.iter().any(|m| !m.matches("")) {
        return Err(parse_error(EMPTY_COMPATIBLE, 0, 0));
    }
    Ok(e)
}

impl LogQuery {
    pub fn selects(&self, labels: &BTreeMap<String, String>) -> bool {
        self.matchers
            .iter()
            .all(|m| m.matches(labels.get(&m.name).map(String::as_str).unwrap_or("")))
    }

    /// Runs the pipeline; None when a filter drops the entry.
    pub fn process(
        &self,
        labels: &BTreeMap<String, String>,
        line: &str,
        meta: &[(String, String)],
    ) -> Option<Row> {
        if !self.selects(labels) {
            return None;
        }
        let mut row = Row {
            stream: labels.clone(),
            meta: Vec::new(),
            parsed: Vec::new(),
        };
        for (k, v) in meta {
            // a name already taken gets Loki's `_extracted` suffix
            let k = if row.stream.contains_key(k) {
                format!("{k}_extracted")
            } else {
                k.clone()
            };
            row.meta.push((k, v.clone()));
        }
        for st in &self.stages {
            match st {
                Stage::Line(m) => {
                    if !m.matches_line(line) {
                        return None;
                    }
                }
                Stage::Json | Stage::Logfmt => {
                    let fields = if matches!(st, Stage::Json) {
                        json_fields(line).ok_or("JSONParserErr")
                    } else {
                        Ok(logfmt_fields(line))
                    };
                    let fields = fields.unwrap_or_else(|e| vec![("__error__".into(), e.into())]);
                    for (k, v) in fields {
                        let taken =
                            row.stream.contains_key(&k) || row.meta.iter().any(|(n, _)| *n == k);
                        let k = if taken && k != "__error__" {
                            format!("{k}_extracted")
                        } else {
                            k
                        };
                        row.parsed.retain(|(n, _)| *n != k);
                        row.parsed.push((k, v));
                    }
                }
                Stage::Labels(conds) => {
                    let all = row.merged();
                    let get = |n: &str| match all.get(n) {
                        Some(v) => v.clone(),
                        None if n == "detected_level" => detected_level(&row, line),
                        None => String::new(),
                    };
                    let ok = conds.iter().all(|c| match c {
                        LabelCond::Str(m) => m.matches(&get(&m.name)),
                        LabelCond::Num(n, op, x) => {
                            get(n).parse::<f64>().is_ok_and(|v| match *op {
                                "==" => v == *x,
                                "!=" => v != *x,
                                ">" => v > *x,
                                ">=" => v >= *x,
                                "<" => v < *x,
                                _ => v <= *x,
                            })
                        }
                    });
                    if !ok {
                        return None;
                    }
                }
            }
        }
        Some(row)
    }
}

fn sanitize(k: &str) -> String {
    let mut s: String = k
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert(0, '_');
    }
    s
}

/// `| json`: nested keys joined with `_`, arrays skipped; None if not an object.
pub fn json_fields(line: &str) -> Option<Vec<(String, String)>> {
    fn walk(prefix: &str, v: &serde_json::Value, out: &mut Vec<(String, String)>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, v) in m {
                    let k = sanitize(k);
                    let key = if prefix.is_empty() {
                        k
                    } else {
                        format!("{prefix}_{k}")
                    };
                    walk(&key, v, out);
                }
            }
            serde_json::Value::Array(_) | serde_json::Value::Null => {}
            serde_json::Value::String(s) => out.push((prefix.to_string(), s.clone())),
            other => out.push((prefix.to_string(), other.to_string())),
        }
    }
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    if !v.is_object() {
        return None;
    }
    let mut out = Vec::new();
    walk("", &v, &mut out);
    Some(out)
}

/// `| logfmt`: key=value and key="quoted \"value\"" pairs; bare words are skipped.
pub fn logfmt_fields(line: &str) -> Vec<(String, String)> {
    let c: Vec<char> = line.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        while i < c.len() && c[i] == ' ' {
            i += 1;
        }
        let ks = i;
        while i < c.len() && c[i] != '=' && c[i] != ' ' {
            i += 1;
        }
        let key: String = c[ks..i].iter().collect();
        if i >= c.len() || c[i] != '=' {
            continue;
        }
        i += 1;
        let mut val = String::new();
        if i < c.len() && c[i] == '"' {
            i += 1;
            while i < c.len() && c[i] != '"' {
                if c[i] == '\\' && i + 1 < c.len() {
                    i += 1;
                }
                val.push(c[i]);
                i += 1;
            }
            i += 1;
        } else {
            while i < c.len() && c[i] != ' ' {
                val.push(c[i]);
                i += 1;
            }
        }
        if !key.is_empty() {
            out.push((sanitize(&key), val));
        }
    }
    out
}

const LEVEL_FIELDS: [&str; 9] = [
    "level", "LEVEL", "Level", "Severity", "severity", "SEVERITY", "lvl", "LVL", "Lvl",
];

/// Loki's normalizeLogLevel (pkg/distributor/field_detection.go).
fn normalize_level(v: &str) -> String {
    let l = v.to_lowercase();
    match l.as_str() {
        "trace" | "trc" => "trace",
        "debug" | "dbg" => "debug",
        "info" | "inf" | "information" => "info",
        "warn" | "wrn" | "warning" => "warn",
        "error" | "err" => "error",
        "critical" => "critical",
        "fatal" => "fatal",
        _ => return v.to_string(),
    }
    .to_string()
}

/// `detected_level` as Loki's distributor derives it at ingest: structured
/// metadata `detected_level`, else a level-ish label (stream, then metadata),
/// else a level field of a JSON or logfmt line, else the earliest level word
/// in the line, else "unknown". (The fake derives it at query time and does
/// not store it as structured metadata.)
pub fn detected_level(row: &Row, line: &str) -> String {
    if let Some((_, v)) = row.meta.iter().find(|(k, _)| k == "detected_level") {
        return v.clone();
    }
    for f in LEVEL_FIELDS {
        if let Some(v) = row
            .stream
            .get(f)
            .or_else(|| row.meta.iter().find(|(k, _)| k == f).map(|(_, v)| v))
        {
            return normalize_level(v);
        }
    }
    let fields = json_fields(line).unwrap_or_else(|| logfmt_fields(line));
    if let Some((_, v)) = LEVEL_FIELDS
        .iter()
        .find_map(|f| fields.iter().find(|(k, _)| k == f))
    {
        return normalize_level(v);
    }
    let lower = line.to_lowercase();
    let words = [
        ("trace", "trace"),
        ("debug", "debug"),
        ("fatal", "fatal"),
        ("critical", "critical"),
        ("error", "error"),
        ("err", "error"),
        ("warning", "warn"),
        ("warn", "warn"),
        ("info", "info"),
    ];
    let bounded = |at: usize, w: &str| {
        let before = lower[..at]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_alphanumeric());
        let after = lower[at + w.len()..]
            .chars()
            .next()
            .is_none_or(|c| !c.is_alphanumeric());
        before && after
    };
    words
        .iter()
        .filter_map(|(w, lvl)| {
            lower
                .match_indices(w)
                .find(|(i, _)| bounded(*i, w))
                .map(|(i, _)| (i, *lvl))
        })
        .min_by_key(|(i, _)| *i)
        .map(|(_, l)| l.to_string())
        .unwrap_or_else(|| "unknown".into())
}
