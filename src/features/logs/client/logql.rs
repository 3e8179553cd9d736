//! LogQL built, not spliced: values from the Target and from log lines enter
//! as escaped string literals (regex-escaped inside `=~`), field names as
//! the identifiers Loki's `| json` parser produces.

/// A LogQL double-quoted string literal (Go string syntax).
pub fn string_literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `s` with RE2 metacharacters escaped, for a regex matcher.
pub fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The label name Loki's `| json` / `| logfmt` gives a field: nested keys
/// joined by `_`, anything outside `[a-zA-Z0-9_]` replaced by `_`, and a
/// leading digit prefixed.
pub fn field_label(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if out.is_empty() || out.as_bytes()[0].is_ascii_digit() {
        out.insert(0, '_');
    }
    out
}

/// What the default selector is built from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scope<'a> {
    pub namespace: Option<&'a str>,
    pub pod: Option<&'a str>,
    /// Pods of the dashboard's scope (a job without a chosen pod).
    pub pods: &'a [String],
}

/// `{namespace="…", pod="…"}` from the scope. Loki refuses a selector with
/// no matcher that excludes the empty value, so an unscoped view asks for
/// every stream that has a namespace (or a job).
pub fn selector(scope: &Scope) -> String {
    let mut m = Vec::new();
    if let Some(ns) = scope.namespace {
        m.push(format!("namespace={}", string_literal(ns)));
    }
    if let Some(pod) = scope.pod {
        m.push(format!("pod={}", string_literal(pod)));
    } else if !scope.pods.is_empty() && scope.pods.len() <= 50 {
        let alts: Vec<String> = scope.pods.iter().map(|p| regex_escape(p)).collect();
        m.push(format!("pod=~{}", string_literal(&alts.join("|"))));
    }
    if m.is_empty() {
        m.push("namespace=~\".+\"".into());
    }
    format!("{{{}}}", m.join(", "))
}

/// A filter the user added on top of the base query.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    Include(String),
    Exclude(String),
    /// `| name="value"` on a stream label (or structured metadata).
    Label {
        name: String,
        value: String,
    },
    /// `| json | field="value"` (or `| logfmt` for logfmt lines).
    Field {
        name: String,
        value: String,
        logfmt: bool,
    },
}

impl Filter {
    /// The LogQL stage.
    pub fn stage(&self) -> String {
        match self {
            Filter::Include(t) => format!("|= {}", string_literal(t)),
            Filter::Exclude(t) => format!("!= {}", string_literal(t)),
            Filter::Label { name, value } => {
                format!("| {}={}", field_label(name), string_literal(value))
            }
            Filter::Field {
                name,
                value,
                logfmt,
            } => format!(
                "| {} | {}={}",
                if *logfmt { "logfmt" } else { "json" },
                field_label(name),
                string_literal(value)
            ),
        }
    }

    /// Short text for the pane title.
    pub fn label(&self) -> String {
        match self {
            Filter::Include(t) => format!("+\"{t}\""),
            Filter::Exclude(t) => format!("-\"{t}\""),
            Filter::Label { name, value } | Filter::Field { name, value, .. } => {
                format!("{name}={value}")
            }
        }
    }
}

/// The base query with the filters appended. Line filters go right after
/// the selector (before any parser), where Loki evaluates them cheapest.
pub fn with_filters(base: &str, filters: &[Filter]) -> String {
    let mut q = base.trim().to_string();
    for f in filters {
        q.push(' ');
        q.push_str(&f.stage());
    }
    q
}

/// The stream selector part of a query (`{…}`), for metric queries built
/// around it; None when the query does not start with one.
pub fn selector_of(query: &str) -> Option<&str> {
    let q = query.trim_start();
    if !q.starts_with('{') {
        return None;
    }
    let mut in_str: Option<char> = None;
    let mut esc = false;
    for (i, c) in q.char_indices() {
        match in_str {
            Some(d) => {
                if esc {
                    esc = false;
                } else if c == '\\' && d == '"' {
                    esc = true;
                } else if c == d {
                    in_str = None;
                }
            }
            None if c == '"' || c == '`' => in_str = Some(c),
            None if c == '}' => return Some(&q[..=i]),
            None => {}
        }
    }
    None
}

/// The log volume by level over the window: a metric query around the
/// whole log query (filters included), grouped by Loki's detected level.
pub fn volume_query(query: &str, step_secs: u64) -> String {
    format!(
        "sum by (detected_level) (count_over_time({} [{}s]))",
        query.trim(),
        step_secs.max(1)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_literals() {
        assert_eq!(string_literal(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(string_literal("x\ny"), r#""x\ny""#);
        let s = selector(&Scope {
            namespace: Some("ns\"}|"),
            pod: Some("p"),
            pods: &[],
        });
        assert_eq!(s, r#"{namespace="ns\"}|", pod="p"}"#);
    }

    #[test]
    fn pods_of_the_scope_become_an_escaped_alternation() {
        let pods = vec!["app-1".to_string(), "a.b".to_string()];
        let s = selector(&Scope {
            namespace: None,
            pod: None,
            pods: &pods,
        });
        assert_eq!(s, r#"{pod=~"app-1|a\\.b"}"#);
        assert_eq!(selector(&Scope::default()), r#"{namespace=~".+"}"#);
    }

    #[test]
    fn filters_append_stages() {
        let q = with_filters(
            r#"{pod="a"}"#,
            &[
                Filter::Include("timeout".into()),
                Filter::Exclude("health\"z".into()),
                Filter::Field {
                    name: "turn.id".into(),
                    value: "7".into(),
                    logfmt: false,
                },
            ],
        );
        assert_eq!(
            q,
            r#"{pod="a"} |= "timeout" != "health\"z" | json | turn_id="7""#
        );
    }

    #[test]
    fn selector_is_found_past_braces_in_strings() {
        assert_eq!(
            selector_of(r#"{a="}{", b=`}`} |= "x""#),
            Some(r#"{a="}{", b=`}`}"#)
        );
        assert_eq!(selector_of("sum(x)"), None);
    }
}
