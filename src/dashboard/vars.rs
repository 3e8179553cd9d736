//! `$name` / `${name}` interpolation and PromQL-safe values.

use std::collections::BTreeMap;

/// Replaces `$name` and `${name}` with their values. Values may themselves
/// hold variables (resolved up to four levels deep). Unknown names are left
/// as written and reported.
pub fn interpolate(s: &str, vars: &BTreeMap<String, String>) -> Result<String, String> {
    let mut cur = s.to_string();
    for _ in 0..4 {
        let (next, changed, unknown) = once(&cur, vars);
        if let Some(u) = unknown {
            return Err(format!("unknown variable `${u}`"));
        }
        cur = next;
        if !changed {
            return Ok(cur);
        }
    }
    Ok(cur)
}

fn once(s: &str, vars: &BTreeMap<String, String>) -> (String, bool, Option<String>) {
    let mut out = String::with_capacity(s.len());
    let mut changed = false;
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'$' {
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
            match vars.get(name) {
                Some(v) => {
                    out.push_str(v);
                    changed = true;
                }
                None => return (out, changed, Some(name.to_string())),
            }
            i = end;
        } else {
            let ch = s[i..].chars().next().unwrap();
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    (out, changed, None)
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
    re.replace('\\', "\\\\").replace('"', "\\\"")
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

    fn vars(p: &[(&str, &str)]) -> BTreeMap<String, String> {
        p.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
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
    }

    #[test]
    fn regex_literal_escapes() {
        assert_eq!(promql_regex_literal("app-1"), "app-1");
        assert_eq!(promql_regex_literal("a.b"), "a\\\\.b");
        assert_eq!(promql_string("a\"b"), "a\\\"b");
    }
}
