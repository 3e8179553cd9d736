//! Structured views of one log line: flattened fields (JSON or logfmt),
//! pretty-printed JSON and the trace id. Re-exported by [`crate::text::logline`].
//!
//! Every function is total and linear in the line's length (JSON nesting is
//! bounded by serde_json's recursion limit).

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// Which syntax [`Fields`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    Json,
    Logfmt,
}

/// The fields of a line in their order of appearance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fields {
    pub kind: FieldKind,
    pub pairs: Vec<(String, String)>,
}

impl Fields {
    /// The value of the first field named exactly `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Parses `line` as a JSON object or as logfmt.
///
/// JSON: nested objects are flattened with dotted keys (`a.b`), an empty
/// object is `{}`, arrays are kept as compact JSON (objects inside arrays
/// come back with sorted keys), strings are unescaped, numbers keep
/// serde_json's formatting, `null`/`true`/`false` are those words.
///
/// logfmt: `key=value` and `key="quoted \"value\""` pairs (escapes `\" \\
/// \n \t \r \uXXXX`); a bare word is a key with an empty value. It must
/// start with a pair and have at least two, so prose with one `a=b` in it
/// is not logfmt.
///
/// Keys and values are sanitised and redacted ([`crate::text::display`]) after
/// unescaping, since `\u001b` or a split secret could hide behind an
/// escape, and the value of a key naming a secret (`password`, `*_token`,
/// `client_secret`, `x-api-key`, `authorization`) is masked whole. `None`
/// when the line is neither; duplicate keys are all kept.
pub fn fields(line: &str) -> Option<Fields> {
    let t = line.trim();
    if !t.starts_with('{') {
        let pairs = logfmt(t)?;
        return Some(Fields {
            kind: FieldKind::Logfmt,
            pairs,
        });
    }
    let mut pairs = Vec::new();
    let mut de = serde_json::Deserializer::from_str(t);
    Flatten {
        prefix: String::new(),
        out: &mut pairs,
    }
    .deserialize(&mut de)
    .ok()?;
    de.end().ok()?;
    Some(Fields {
        kind: FieldKind::Json,
        pairs,
    })
}

/// Key suffixes whose value is a secret whatever it looks like.
const SECRET_KEYS: [&str; 8] = [
    "password",
    "passwd",
    "secret",
    "token",
    "apikey",
    "api_key",
    "api-key",
    "authorization",
];

/// A field ready to show: sanitised and redacted, and the whole value masked
/// when the key names a secret (`password`, `client_secret`, `x-api-key`, …).
fn pair(key: String, value: String) -> (String, String) {
    let last = key.rsplit('.').next().unwrap_or(&key).to_ascii_lowercase();
    let value = if !value.is_empty() && SECRET_KEYS.iter().any(|s| last.ends_with(s)) {
        crate::text::redact::MASK.to_string()
    } else {
        clean(value)
    };
    (clean(key), value)
}

fn clean(s: String) -> String {
    match crate::text::display(&s) {
        Cow::Borrowed(_) => s,
        Cow::Owned(o) => o,
    }
}

struct Flatten<'a> {
    prefix: String,
    out: &'a mut Vec<(String, String)>,
}

impl Flatten<'_> {
    fn leaf<E>(self, v: String) -> Result<(), E> {
        self.out.push(pair(self.prefix, v));
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for Flatten<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Flatten<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_bool<E>(self, v: bool) -> Result<(), E> {
        self.leaf(v.to_string())
    }
    fn visit_i64<E>(self, v: i64) -> Result<(), E> {
        self.leaf(v.to_string())
    }
    fn visit_u64<E>(self, v: u64) -> Result<(), E> {
        self.leaf(v.to_string())
    }
    fn visit_f64<E>(self, v: f64) -> Result<(), E> {
        let n = serde_json::Number::from_f64(v).map_or_else(|| v.to_string(), |n| n.to_string());
        self.leaf(n)
    }
    fn visit_str<E>(self, v: &str) -> Result<(), E> {
        self.leaf(v.to_owned())
    }
    fn visit_string<E>(self, v: String) -> Result<(), E> {
        self.leaf(v)
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        self.leaf("null".into())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        let v: Vec<serde_json::Value> =
            serde::Deserialize::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
        self.leaf(serde_json::to_string(&v).unwrap_or_default())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut any = false;
        while let Some(k) = map.next_key::<String>()? {
            any = true;
            let prefix = if self.prefix.is_empty() {
                k
            } else {
                format!("{}.{k}", self.prefix)
            };
            map.next_value_seed(Flatten {
                prefix,
                out: &mut *self.out,
            })?;
        }
        if !any && !self.prefix.is_empty() {
            self.out.push((clean(self.prefix), "{}".into()));
        }
        Ok(())
    }
}

fn logfmt(s: &str) -> Option<Vec<(String, String)>> {
    let b = s.as_bytes();
    let mut pairs = Vec::new();
    let mut with_value = 0;
    let mut i = 0;
    while i < b.len() {
        if b[i] == b' ' || b[i] == b'\t' {
            i += 1;
            continue;
        }
        let ks = i;
        while i < b.len() && !matches!(b[i], b' ' | b'\t' | b'=' | b'"') {
            i += 1;
        }
        let key = &s[ks..i];
        if key.is_empty() {
            return None;
        }
        if b.get(i) != Some(&b'=') {
            let ident = key
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"_.-".contains(&c));
            if !ident || pairs.is_empty() || b.get(i) == Some(&b'"') {
                return None;
            }
            pairs.push((clean(key.to_owned()), String::new()));
            continue;
        }
        i += 1;
        let value = if b.get(i) == Some(&b'"') {
            let (v, end) = unquote(s, i)?;
            i = end;
            v
        } else {
            let vs = i;
            while i < b.len() && b[i] != b' ' && b[i] != b'\t' {
                i += 1;
            }
            s[vs..i].to_owned()
        };
        with_value += 1;
        pairs.push(pair(key.to_owned(), value));
    }
    (with_value >= 2).then_some(pairs)
}

/// The quoted string opening at byte `q` of `s`, unescaped, and the byte
/// after its closing quote; `None` when it is not closed.
fn unquote(s: &str, q: usize) -> Option<(String, usize)> {
    let mut out = String::new();
    let mut chars = s[q + 1..].char_indices();
    while let Some((k, c)) = chars.next() {
        match c {
            '"' => return Some((out, q + 1 + k + 1)),
            '\\' => match chars.next().map(|(_, e)| e) {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('r') => out.push('\r'),
                Some('u') => {
                    let hex: String = chars.clone().take(4).map(|(_, h)| h).collect();
                    match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                        Some(ch) if hex.len() == 4 => {
                            out.push(ch);
                            chars.nth(3);
                        }
                        _ => out.push_str("\\u"),
                    }
                }
                Some(e @ ('"' | '\\' | '/')) => out.push(e),
                Some(e) => out.extend(['\\', e]),
                None => return None,
            },
            c => out.push(c),
        }
    }
    None
}

/// `line` (a JSON object or array) re-indented with two spaces, keys in
/// their original order, strings and numbers byte for byte as written
/// (escapes stay escaped, so the output holds no control characters if the
/// input held none). `None` when it is not valid JSON or not an object or
/// array, or nested deeper than 128 (indentation would grow with the
/// square of the depth). It neither sanitises nor redacts: give it a
/// [`crate::text::logline::prepare`]d line.
pub fn pretty_json(line: &str) -> Option<String> {
    const MAX_DEPTH: usize = 128;
    let t = line.trim();
    if !(t.starts_with('{') || t.starts_with('[')) {
        return None;
    }
    serde_json::from_str::<IgnoredAny>(t).ok()?;
    let b = t.as_bytes();
    let mut out = String::with_capacity(t.len() * 2);
    let mut depth = 0usize;
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        (0..depth).for_each(|_| out.push_str("  "));
    };
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => {
                let mut k = i + 1;
                while k < b.len() && b[k] != b'"' {
                    k += if b[k] == b'\\' { 2 } else { 1 };
                }
                let end = (k + 1).min(b.len());
                out.push_str(&t[i..end]);
                i = end;
                continue;
            }
            c @ (b'{' | b'[') => {
                let close = if c == b'{' { b'}' } else { b']' };
                let next = i
                    + 1
                    + b[i + 1..]
                        .iter()
                        .take_while(|c| c.is_ascii_whitespace())
                        .count();
                out.push(c as char);
                if b.get(next) == Some(&close) {
                    out.push(close as char);
                    i = next;
                } else if depth >= MAX_DEPTH {
                    return None;
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            c @ (b'}' | b']') => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c as char);
            }
            b',' => {
                out.push(',');
                newline(&mut out, depth);
            }
            b':' => out.push_str(": "),
            c if c.is_ascii_whitespace() => {}
            _ => {
                let k = i + b[i..]
                    .iter()
                    .take_while(|c| !b",:{}[]\" \t\r\n".contains(c))
                    .count();
                out.push_str(&t[i..k]);
                i = k;
                continue;
            }
        }
        i += 1;
    }
    Some(out)
}

/// Normalised trace-id key names (ASCII lower case, `_ . - @` dropped).
const TRACE_KEYS: [&[u8]; 5] = [
    b"traceid",
    b"oteltraceid",
    b"traceparent",
    b"xb3traceid",
    b"ubertraceid",
];

/// The trace id of a line: first from `meta` (Loki structured metadata),
/// then from the line's text, where a key (`trace_id`, `traceId`,
/// `traceID`, `trace.id`, `otelTraceID`, `traceparent`, `X-B3-TraceId`,
/// `uber-trace-id`; any case) is followed by `=` or `:` (quotes, escaped
/// quotes and blanks allowed around it), which covers JSON, logfmt and
/// plain text; last, for a JSON line, nested keys like `trace.id`.
///
/// Only 32-hex (W3C/OTel) or 16-hex (Jaeger, B3) ids that are not all zero
/// are accepted, and are returned lower-cased (16-hex ids are not padded).
/// A W3C `traceparent` (`00-<32 hex>-<16 hex>-<2 hex>`) gives its trace id.
/// It does not decode base64 ids (Tempo's OTLP JSON) or decimal ids.
pub fn trace_id(line: &str, meta: &[(String, String)]) -> Option<String> {
    let from_meta = meta.iter().find_map(|(k, v)| {
        norm_key(k.as_bytes())
            .filter(|n| TRACE_KEYS.contains(&n.as_slice()))
            .and_then(|_| id_at(v.as_bytes(), 0))
    });
    from_meta.or_else(|| scan(line.as_bytes())).or_else(|| {
        let t = line.trim_start();
        if !t.starts_with('{') || !t.to_ascii_lowercase().contains("trace") {
            return None;
        }
        fields(t)?
            .pairs
            .iter()
            .filter(|(k, _)| {
                norm_key(k.as_bytes()).is_some_and(|n| TRACE_KEYS.contains(&n.as_slice()))
            })
            .find_map(|(_, v)| id_at(v.as_bytes(), 0))
    })
}

fn norm_key(k: &[u8]) -> Option<Vec<u8>> {
    (k.len() <= 40).then(|| {
        k.iter()
            .filter(|c| !matches!(c, b'_' | b'.' | b'-' | b'@'))
            .map(u8::to_ascii_lowercase)
            .collect()
    })
}

fn key_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-' | b'@')
}

fn scan(b: &[u8]) -> Option<String> {
    let mut from = 0;
    while let Some(off) = b[from..]
        .windows(5)
        .position(|w| w.eq_ignore_ascii_case(b"trace"))
    {
        let p = from + off;
        from = p + 5;
        let ks = p - b[p.saturating_sub(16)..p]
            .iter()
            .rev()
            .take_while(|c| key_byte(**c))
            .count();
        let ke = p + b[p..].iter().take(40).take_while(|c| key_byte(**c)).count();
        if !norm_key(&b[ks..ke]).is_some_and(|n| TRACE_KEYS.contains(&n.as_slice())) {
            continue;
        }
        let mut j = skip_quotes(b, ke);
        j += b[j..].iter().take_while(|c| **c == b' ').count();
        if !matches!(b.get(j), Some(b'=' | b':')) {
            continue;
        }
        j += 1;
        j += b[j..].iter().take_while(|c| **c == b' ').count();
        if let Some(id) = id_at(b, skip_quotes(b, j)) {
            return Some(id);
        }
    }
    None
}

fn skip_quotes(b: &[u8], mut j: usize) -> usize {
    while matches!(b.get(j), Some(b'"' | b'\'' | b'\\')) && j < b.len() {
        j += 1;
    }
    j
}

/// A trace id (or a traceparent's) starting at `j`.
fn id_at(b: &[u8], j: usize) -> Option<String> {
    let hex_run = |from: usize| {
        b.get(from..).map_or(0, |t| {
            t.iter().take_while(|c| c.is_ascii_hexdigit()).count()
        })
    };
    let n = hex_run(j);
    let (s, len) = if n == 2
        && b.get(j + 2) == Some(&b'-')
        && hex_run(j + 3) == 32
        && b.get(j + 35) == Some(&b'-')
        && hex_run(j + 36) == 16
    {
        (j + 3, 32)
    } else if (n == 32 || n == 16) && !b.get(j + n).is_some_and(|c| c.is_ascii_alphanumeric()) {
        (j, n)
    } else {
        return None;
    };
    let id = &b[s..s + len];
    if id.iter().all(|c| *c == b'0') {
        return None;
    }
    Some(id.iter().map(|c| c.to_ascii_lowercase() as char).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(f: &Fields) -> Vec<(&str, &str)> {
        f.pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    #[test]
    fn json_fields_flattened_in_order() {
        let f = fields(r#" {"z":1,"a":{"b":"x\"y","c":{"d":null}},"arr":[1,{"k":"v"}],"e":{},"f":1.5,"t":true,"n":-3} "#).unwrap();
        assert_eq!(f.kind, FieldKind::Json);
        assert_eq!(
            pairs(&f),
            [
                ("z", "1"),
                ("a.b", "x\"y"),
                ("a.c.d", "null"),
                ("arr", r#"[1,{"k":"v"}]"#),
                ("e", "{}"),
                ("f", "1.5"),
                ("t", "true"),
                ("n", "-3"),
            ]
        );
        assert_eq!(f.get("a.b"), Some("x\"y"));
        assert_eq!(f.get("nope"), None);
        let f = fields(r#"{"msg":"a\u001b[2Jb\tc","password":"hunter2"}"#).unwrap();
        assert_eq!(
            pairs(&f),
            [("msg", "ab  c"), ("password", super::super::redact::MASK)]
        );
        for bad in [r#"{"a":1"#, r#"{"a":1} x"#, "[1,2]", "{}x", r#""s""#] {
            assert_eq!(fields(bad), None, "{bad}");
        }
        assert_eq!(fields("{}").map(|f| f.pairs.len()), Some(0));
    }

    #[test]
    fn logfmt_fields() {
        let f = fields(
            r#"time=2026-01-01T12:00:00Z level=warn msg="slow \"q\" \u00e9\n" took=3ms dry"#,
        )
        .unwrap();
        assert_eq!(f.kind, FieldKind::Logfmt);
        assert_eq!(
            pairs(&f),
            [
                ("time", "2026-01-01T12:00:00Z"),
                ("level", "warn"),
                ("msg", "slow \"q\" é "),
                ("took", "3ms"),
                ("dry", ""),
            ]
        );
        assert_eq!(pairs(&fields("a= b=").unwrap()), [("a", ""), ("b", "")]);
        for bad in [
            "took=3ms only one pair",
            "plain text with a=1 b=2",
            "a=1 b=\"unclosed",
            "a=1 =2",
            "a=1 \"q\"",
            "",
        ] {
            assert_eq!(fields(bad), None, "{bad}");
        }
    }

    #[test]
    fn pretty_json_keeps_order_and_text() {
        let got =
            pretty_json(r#"{"z":1.50,"a":[],"b":{},"c":[1, "x,\"y\":[" ,{"d":null}]}"#).unwrap();
        let want = "{\n  \"z\": 1.50,\n  \"a\": [],\n  \"b\": {},\n  \"c\": [\n    1,\n    \"x,\\\"y\\\":[\",\n    {\n      \"d\": null\n    }\n  ]\n}";
        assert_eq!(got, want);
        assert_eq!(pretty_json("[ ]").as_deref(), Some("[]"));
        assert_eq!(pretty_json(r#""a""#), None);
        assert_eq!(pretty_json("{"), None);
        assert_eq!(pretty_json("level=info"), None);
        let deep = |n| format!("{}1{}", "[".repeat(n), "]".repeat(n));
        assert!(pretty_json(&deep(128)).is_some_and(|p| p.lines().count() == 257));
        assert_eq!(pretty_json(&deep(129)), None);
    }

    #[test]
    fn trace_ids() {
        let id = "4bf92f3577b34da6a3ce929d0e0e4736";
        let up = id.to_uppercase();
        let cases: Vec<(String, Option<&str>)> = vec![
            (format!(r#"{{"msg":"x","trace_id":"{id}"}}"#), Some(id)),
            (format!(r#"{{"traceId": "{up}"}}"#), Some(id)),
            (format!("level=info traceID={id} msg=x"), Some(id)),
            (format!("ERROR failed trace_id={id}, retrying"), Some(id)),
            (format!(r#"{{"trace.id":"{id}"}}"#), Some(id)),
            (format!(r#"{{"trace":{{"id":"{id}"}}}}"#), Some(id)),
            (
                format!(r#"{{"log":"{{\"otelTraceID\":\"{id}\"}}"}}"#),
                Some(id),
            ),
            (
                format!("traceparent: 00-{id}-00f067aa0ba902b7-01"),
                Some(id),
            ),
            (
                "uber-trace-id=00f067aa0ba902b7".into(),
                Some("00f067aa0ba902b7"),
            ),
            (format!("trace_id={id}0"), None),
            (format!("trace_id={}", &id[..20]), None),
            (format!("trace_id={}", "0".repeat(32)), None),
            (format!("retrace_ids={id}"), None),
            (format!("span_id={id} trace_id=none"), None),
            ("trace trace trace_id".into(), None),
        ];
        for (line, want) in cases {
            assert_eq!(trace_id(&line, &[]).as_deref(), want, "{line}");
        }
        let meta = vec![
            ("service".to_string(), "api".to_string()),
            ("trace_id".into(), up.clone()),
        ];
        assert_eq!(trace_id("no id here", &meta).as_deref(), Some(id));
        let meta = vec![(
            "traceparent".to_string(),
            format!("00-{id}-00f067aa0ba902b7-01"),
        )];
        assert_eq!(trace_id("", &meta).as_deref(), Some(id));
    }
}
