//! The LogQL the engine writes, read back for the Kubernetes API: a stream
//! selector on `namespace`, `pod` (`=` or a `=~` alternation of escaped
//! names, as `logql::selector` builds it) and `container`, then the line
//! filters `|=` / `!=` and label filters on those labels, applied here to
//! each line. Anything else is a query only Loki can answer, refused with a
//! message that says so (never silently widened).

use crate::core::{ErrorKind, SourceError};
use crate::features::logs::client::wire::Labels;

/// What a query selects from the API.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Selection {
    /// None: the context's namespace (every namespace with `-A`).
    pub namespace: Option<String>,
    /// None: every pod of the namespace.
    pub pods: Option<Vec<String>>,
    pub container: Option<String>,
    pub stages: Vec<Stage>,
}

/// A stage applied to each line read.
#[derive(Debug, Clone, PartialEq)]
pub enum Stage {
    /// `|= "text"`
    Contains(String),
    /// `!= "text"`
    Excludes(String),
    /// `| name="value"` on a stream label.
    Label(String, String),
}

/// The labels each stream carries (and the only ones a label filter may name).
pub const LABELS: [&str; 4] = ["container", "namespace", "pod", "previous"];

impl Selection {
    /// Whether the pod is selected (by name).
    pub fn has_pod(&self, name: &str) -> bool {
        self.pods
            .as_ref()
            .is_none_or(|p| p.iter().any(|x| x == name))
    }

    /// Whether a line of a stream with these labels passes the stages.
    pub fn keeps(&self, labels: &Labels, line: &str) -> bool {
        self.stages.iter().all(|s| match s {
            Stage::Contains(t) => line.contains(t.as_str()),
            Stage::Excludes(t) => !line.contains(t.as_str()),
            Stage::Label(k, v) => {
                labels
                    .iter()
                    .find(|(n, _)| n == k)
                    .map_or("", |(_, x)| x.as_str())
                    == v
            }
        })
    }
}

fn refused(msg: String) -> SourceError {
    SourceError {
        status: None,
        kind: ErrorKind::Api("bad_data".into()),
        message: msg,
    }
}

/// Reads the query; a clear error for what the API cannot do.
pub fn parse(query: &str) -> Result<Selection, SourceError> {
    let mut c = Cursor {
        s: query.trim(),
        i: 0,
    };
    if !c.eat("{") {
        return Err(refused(
            "the Kubernetes API source reads a stream selector `{namespace=…, pod=…}` only; metric queries need Loki".into(),
        ));
    }
    let mut sel = Selection::default();
    let mut matchers = 0;
    loop {
        c.ws();
        if c.eat("}") {
            break;
        }
        if matchers > 0 && !c.eat(",") {
            return Err(c.error("expected `,` or `}`"));
        }
        c.ws();
        let name = c.ident().ok_or_else(|| c.error("expected a label name"))?;
        c.ws();
        let op = ["=~", "!~", "!=", "="]
            .into_iter()
            .find(|op| c.eat(op))
            .ok_or_else(|| c.error("expected `=` or `=~`"))?;
        c.ws();
        let value = c.string().ok_or_else(|| c.error("expected a string"))?;
        matcher(&mut sel, &name, op, &value)?;
        matchers += 1;
    }
    if matchers == 0 {
        return Err(refused("an empty selector `{}` selects nothing".into()));
    }
    loop {
        c.ws();
        if c.done() {
            return Ok(sel);
        }
        let stage = if c.eat("|=") {
            c.ws();
            Stage::Contains(c.string().ok_or_else(|| c.error("expected a string"))?)
        } else if c.eat("!=") {
            c.ws();
            Stage::Excludes(c.string().ok_or_else(|| c.error("expected a string"))?)
        } else if c.eat("|~") || c.eat("!~") {
            return Err(unsupported("regular-expression line filters (`|~`, `!~`)"));
        } else if c.eat("|") {
            c.ws();
            let name = c.ident().ok_or_else(|| c.error("expected a stage"))?;
            c.ws();
            if !LABELS.contains(&name.as_str()) || !c.eat("=") || c.peek() == Some('~') {
                return Err(unsupported(&format!("`| {name}`")));
            }
            c.ws();
            let v = c.string().ok_or_else(|| c.error("expected a string"))?;
            Stage::Label(name, v)
        } else {
            return Err(c.error("expected `|=`, `!=` or `| label=\"value\"`"));
        };
        sel.stages.push(stage);
    }
}

fn unsupported(what: &str) -> SourceError {
    refused(format!(
        "{what} cannot be applied to logs read from the Kubernetes API (it does `|=`, `!=` and `| namespace|pod|container=\"…\"`); configure Loki for full LogQL"
    ))
}

/// One matcher of the selector into the selection.
fn matcher(sel: &mut Selection, name: &str, op: &str, value: &str) -> Result<(), SourceError> {
    let any = op == "=~" && matches!(value, ".+" | ".*");
    let names = match op {
        "=" => vec![value.to_string()],
        "=~" if any => vec![],
        "=~" => literal_alternatives(value).ok_or_else(|| {
            refused(format!(
                "`{name}=~{}`: the Kubernetes API source takes a list of names (`a|b`), not a pattern",
                crate::features::logs::client::logql::string_literal(value)
            ))
        })?,
        _ => {
            return Err(refused(format!(
                "`{name}{op}…`: the Kubernetes API source cannot exclude streams; use `=` or `=~\"a|b\"`"
            )))
        }
    };
    match name {
        "namespace" if any => {}
        "namespace" => match names.as_slice() {
            [ns] if sel.namespace.as_ref().is_none_or(|x| x == ns) => {
                sel.namespace = Some(ns.clone())
            }
            _ => {
                return Err(refused(
                    "the Kubernetes API source reads one namespace at a time".into(),
                ))
            }
        },
        "pod" if any => {}
        "pod" => {
            sel.pods = Some(match sel.pods.take() {
                // both matchers hold: the names in both
                Some(before) => before.into_iter().filter(|p| names.contains(p)).collect(),
                None => names,
            })
        }
        "container" if any => {}
        "container" => match names.as_slice() {
            [c] if sel.container.as_ref().is_none_or(|x| x == c) => {
                sel.container = Some(c.clone())
            }
            _ => {
                return Err(refused(
                    "the Kubernetes API source reads one container name at a time".into(),
                ))
            }
        },
        other => {
            return Err(refused(format!(
                "the Kubernetes API source selects by namespace, pod and container; `{other}` needs Loki"
            )))
        }
    }
    Ok(())
}

/// `a|b\.c` → ["a", "b.c"]: an alternation of regex-escaped names (what
/// `logql::selector` writes); None for anything else (a real pattern).
pub fn literal_alternatives(re: &str) -> Option<Vec<String>> {
    let mut out = vec![String::new()];
    let mut it = re.chars();
    while let Some(c) = it.next() {
        match c {
            '\\' => {
                let n = it.next()?;
                if !"\\.+*?()|[]{}^$-".contains(n) {
                    return None;
                }
                out.last_mut()?.push(n);
            }
            '|' => out.push(String::new()),
            c if "\\.+*?()[]{}^$".contains(c) => return None,
            c => out.last_mut()?.push(c),
        }
    }
    (!out.iter().any(String::is_empty)).then_some(out)
}

struct Cursor<'a> {
    s: &'a str,
    i: usize,
}

impl<'a> Cursor<'a> {
    fn rest(&self) -> &'a str {
        &self.s[self.i..]
    }
    fn done(&self) -> bool {
        self.i >= self.s.len()
    }
    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }
    fn ws(&mut self) {
        let r = self.rest();
        self.i += r.len() - r.trim_start().len();
    }
    fn eat(&mut self, t: &str) -> bool {
        let ok = self.rest().starts_with(t);
        if ok {
            self.i += t.len();
        }
        ok
    }
    fn ident(&mut self) -> Option<String> {
        let r = self.rest();
        let n = r
            .char_indices()
            .find(|&(i, c)| !(c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit())))
            .map_or(r.len(), |(i, _)| i);
        (n > 0).then(|| {
            self.i += n;
            r[..n].to_string()
        })
    }
    /// A Go string literal: `"…"` with escapes, or a raw `` `…` ``.
    fn string(&mut self) -> Option<String> {
        let r = self.rest();
        if let Some(raw) = r.strip_prefix('`') {
            let end = raw.find('`')?;
            self.i += end + 2;
            return Some(raw[..end].to_string());
        }
        let body = r.strip_prefix('"')?;
        let mut out = String::new();
        let mut it = body.char_indices();
        while let Some((i, c)) = it.next() {
            match c {
                '"' => {
                    self.i += i + 2;
                    return Some(out);
                }
                '\\' => {
                    let (_, e) = it.next()?;
                    out.push(match e {
                        'n' => '\n',
                        'r' => '\r',
                        't' => '\t',
                        'u' => {
                            let hex: String =
                                (0..4).filter_map(|_| it.next().map(|x| x.1)).collect();
                            char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?
                        }
                        o => o,
                    });
                }
                c => out.push(c),
            }
        }
        None
    }
    fn error(&self, what: &str) -> SourceError {
        refused(format!(
            "the Kubernetes API source cannot read this query at column {}: {what}",
            self.s[..self.i].chars().count() + 1
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::logs::client::logql::{self, Filter, Scope};

    #[test]
    fn reads_back_what_the_engine_builds() {
        let pods = vec!["api-1".to_string(), "a.b".to_string()];
        let q = logql::selector(&Scope {
            namespace: Some("shop"),
            pod: None,
            pods: &pods,
        });
        let s = parse(&q).unwrap();
        assert_eq!(s.namespace.as_deref(), Some("shop"));
        assert_eq!(s.pods, Some(pods));
        let s = parse(&logql::selector(&Scope::default())).unwrap();
        assert_eq!(s, Selection::default());
        let q = logql::selector(&Scope {
            namespace: Some("n\"s"),
            pod: Some("p"),
            pods: &[],
        });
        let s = parse(&q).unwrap();
        assert_eq!(
            (s.namespace.as_deref(), s.pods),
            (Some("n\"s"), Some(vec!["p".to_string()]))
        );
        let s = parse(r#"{pod="p", container=`app`}"#).unwrap();
        assert_eq!(s.container.as_deref(), Some("app"));
    }

    #[test]
    fn line_and_label_filters_apply_here() {
        let q = logql::with_filters(
            r#"{pod="a"}"#,
            &[
                Filter::Include("timeout".into()),
                Filter::Exclude("health\"z".into()),
                Filter::Label {
                    name: "container".into(),
                    value: "app".into(),
                },
            ],
        );
        let s = parse(&q).unwrap();
        let labels: Labels = vec![("container".to_string(), "app".to_string())].into();
        assert!(s.keeps(&labels, "upstream timeout"));
        assert!(!s.keeps(&labels, "upstream timeout health\"z"));
        assert!(!s.keeps(&labels, "fine"));
        let other: Labels = vec![("container".to_string(), "sidecar".to_string())].into();
        assert!(!s.keeps(&other, "upstream timeout"));
    }

    #[test]
    fn what_only_loki_can_do_is_refused_clearly() {
        for (q, says) in [
            (r#"{pod="a"} | json | level="error""#, "`| json`"),
            (r#"{pod="a"} |~ "x.*""#, "regular-expression"),
            (r#"{job="api"}"#, "`job` needs Loki"),
            (r#"{pod=~"api-.*"}"#, "a list of names"),
            (r#"{pod!="a"}"#, "cannot exclude"),
            (r#"sum(count_over_time({pod="a"}[1m]))"#, "metric queries"),
            (r#"{pod="a""#, "column 9: expected `,` or `}`"),
        ] {
            let e = parse(q).unwrap_err();
            assert!(e.to_string().contains(says), "{q}: {e}");
            assert!(e.is_permanent(), "{q}");
        }
    }

    #[test]
    fn escaped_names_are_literal_and_patterns_are_not() {
        assert_eq!(
            literal_alternatives(r"app-1|a\.b"),
            Some(vec!["app-1".into(), "a.b".into()])
        );
        assert_eq!(literal_alternatives("a.b"), None);
        assert_eq!(literal_alternatives("a||b"), None);
        assert_eq!(literal_alternatives("^a$"), None);
    }
}
