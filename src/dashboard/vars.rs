//! `$name` / `${name}` interpolation and PromQL-safe values.

use std::collections::BTreeMap;

/// A variable's value: a template written by the dashboard's author (it may
/// name other variables), or a literal from the target (a pod, a namespace:
/// untrusted, already escaped, inserted as is and never scanned again).
#[derive(Debug, Clone, PartialEq)]
pub enum Var {
    Template(String),
    Literal(String),
}

/// How deep templates may nest (`$sel` naming `$namespace` …).
const MAX_DEPTH: usize = 8;

/// Replaces `$name` and `${name}` in one pass over `s` (`$$` is a `$`). A template variable is
/// expanded where it stands (recursively, with cycle detection); a literal is
/// copied verbatim, so a `$` inside a pod name is never read as a variable.
/// The output is never rescanned. Unknown names are errors.
pub fn interpolate(s: &str, vars: &BTreeMap<String, Var>) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    expand(s, vars, &mut Vec::new(), &mut out)?;
    Ok(out)
}

fn expand<'a>(
    s: &'a str,
    vars: &'a BTreeMap<String, Var>,
    stack: &mut Vec<&'a str>,
    out: &mut String,
) -> Result<(), String> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'$' {
            let ch = s[i..].chars().next().unwrap_or('\0');
            out.push(ch);
            i += ch.len_utf8();
            continue;
        }
        // `$$` is a literal `$` (PromQL's `label_replace(…, "$1", …)`)
        if b.get(i + 1) == Some(&b'$') {
            out.push('$');
            i += 2;
            continue;
        }
        let (name, end) = if b.get(i + 1) == Some(&b'{') {
            match s[i + 2..].find('}') {
                Some(j) => (&s[i + 2..i + 2 + j], i + 3 + j),
                None => ("", i + 1),
            }
        } else {
            let mut j = i + 1;
            while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                j += 1;
            }
            (&s[i + 1..j], j)
        };
        if name.is_empty() {
            out.push('$');
            i += 1;
            continue;
        }
        match vars.get_key_value(name) {
            Some((_, Var::Literal(v))) => out.push_str(v),
            Some((k, Var::Template(t))) => {
                if stack.contains(&k.as_str()) {
                    return Err(format!(
                        "variable `${name}` refers to itself ({} → {name})",
                        stack.join(" → ")
                    ));
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(format!(
                        "variables nest deeper than {MAX_DEPTH} at `${name}`"
                    ));
                }
                stack.push(k.as_str());
                expand(t, vars, stack, out)?;
                stack.pop();
            }
            None => return Err(format!("unknown variable `${name}`")),
        }
        i = end;
    }
    Ok(())
}

/// A literal value as a regex inside a PromQL double-quoted string:
/// regex metacharacters escaped, then backslashes and quotes escaped.
pub fn promql_regex_literal(v: &str) -> String {
    let mut re = String::new();
    for c in v.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            re.push('\\');
        }
        re.push(c);
    }
    re.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
        .replace('\r', "\\r")
}

/// A literal value inside a PromQL double-quoted string.
pub fn promql_string(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(p: &[(&str, &str)]) -> BTreeMap<String, Var> {
        p.iter()
            .map(|(a, b)| (a.to_string(), Var::Template(b.to_string())))
            .collect()
    }

    #[test]
    fn interpolates_nested_and_braced() {
        let v = vars(&[
            ("sel", "namespace=~\"$namespace\""),
            ("namespace", "prod"),
            ("m", "vm"),
        ]);
        assert_eq!(
            interpolate("${m}_total{$sel}", &v).unwrap(),
            "vm_total{namespace=~\"prod\"}"
        );
        assert!(interpolate("x{$nope}", &v).unwrap_err().contains("nope"));
        assert_eq!(interpolate("cost $ 5", &v).unwrap(), "cost $ 5");
        assert_eq!(
            interpolate(
                r#"label_replace(x, "c", "$${1}xx", "code", "(.).*") $$m"#,
                &v
            )
            .unwrap(),
            r#"label_replace(x, "c", "${1}xx", "code", "(.).*") $m"#
        );
    }

    #[test]
    fn literals_are_never_expanded_again() {
        let mut v = vars(&[("sel", "pod=~\"$pod\"")]);
        v.insert("namespace".into(), Var::Literal("SHOULD-NOT-APPEAR".into()));
        let pod = promql_regex_literal("p$namespace\"x\\");
        v.insert("pod".into(), Var::Literal(pod.clone()));
        let out = interpolate("up{$sel}", &v).unwrap();
        assert_eq!(out, format!("up{{pod=~\"{pod}\"}}"));
        assert!(!out.contains("SHOULD-NOT-APPEAR"), "{out}");
    }

    #[test]
    fn newlines_in_values_stay_inside_the_string() {
        assert_eq!(promql_regex_literal("a\nb"), "a\\nb");
        assert!(!promql_regex_literal("x\r\ny").contains(['\n', '\r']));
    }

    #[test]
    fn cycles_are_errors_not_hangs() {
        let v = vars(&[("a", "$b"), ("b", "x$a")]);
        assert!(interpolate("$a", &v)
            .unwrap_err()
            .contains("refers to itself"));
    }

    #[test]
    fn regex_literal_escapes() {
        assert_eq!(promql_regex_literal("app-1"), "app-1");
        assert_eq!(promql_regex_literal("a.b"), "a\\\\.b");
        assert_eq!(promql_string("a\"b"), "a\\\"b");
        // `p$namespace"x\` as a PromQL regex string: $ escaped for the regex,
        // then backslashes and the quote escaped for the string
        assert_eq!(
            promql_regex_literal("p$namespace\"x\\"),
            "p\\\\$namespace\\\"x\\\\\\\\"
        );
    }
}
