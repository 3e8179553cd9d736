//! Tests of `mod.rs`.

use crate::config::*;

fn p(src: &str) -> Result<Config, ConfigError> {
    parse(Path::new("/etc/wf/config.toml"), src)
}

#[test]
fn parses_full_profile() {
    let c = p(r#"
default_profile = "prod"
[profiles.prod]
namespace = "codex-pooler"
range = "30m"
refresh = "5s"
[profiles.prod.prometheus]
url = "https://prom.example/"
timeout = "20s"
bearer_token = "env:PROM_TOKEN"
ca_file = "/etc/ca.pem"
[profiles.prod.prometheus.headers]
X-Scope-OrgID = "file:/run/tenant"
[profiles.prod.variables]
container = "app"
"#)
    .unwrap();
    let (name, prof) = c.select(None).unwrap();
    assert_eq!(name.as_deref(), Some("prod"));
    assert_eq!(prof.range_secs, Some(1800.0));
    let e = prof.prometheus.unwrap();
    assert_eq!(e.url, "https://prom.example");
    assert_eq!(e.timeout_secs, 20.0);
    assert_eq!(e.bearer_token, Some(SecretRef::Env("PROM_TOKEN".into())));
    assert_eq!(e.headers[0].0, "X-Scope-OrgID");
    assert_eq!(prof.variables["container"], "app");
}

#[test]
fn inline_secret_names_line_and_key_but_not_value() {
    let err = p(
        "[profiles.prod.prometheus]\nurl = \"http://p:9090\"\nbearer_token = \"abc123secret\"\n",
    )
    .unwrap_err();
    assert_eq!(err.line, Some(3));
    assert_eq!(
        err.key.as_deref(),
        Some("profiles.prod.prometheus.bearer_token")
    );
    let msg = err.to_string();
    assert!(msg.contains("/etc/wf/config.toml"), "{msg}");
    assert!(msg.contains("env:NAME"), "{msg}");
    assert!(!msg.contains("abc123secret"), "{msg}");
}

#[test]
fn an_inline_url_password_is_refused_with_line_and_key() {
    let err = p("[profiles.prod.loki]\nurl = \"https://bob:hunter2pass@loki.example\"\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("line 2"), "{err}");
    assert!(err.contains("profiles.prod.loki.url"), "{err}");
    assert!(!err.contains("hunter2pass"), "{err}");
    // the hint survives the redactor that every error passes through
    let shown = crate::text::display(&err);
    assert!(
        shown.contains("basic_password, or bearer_token, each as env:NAME"),
        "{shown}"
    );
    // a bare token as the user, and a token in the query, too
    for url in [
        "https://ghp_abcdefghijklmnop1234@loki.example",
        "https://loki.example/?api_key=InlineKey123",
    ] {
        let err = p(&format!("[profiles.prod.loki]\nurl = \"{url}\"\n"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("inline secrets are not accepted"), "{err}");
        assert!(
            !err.contains("InlineKey123") && !err.contains("ghp_abc"),
            "{err}"
        );
    }
    p("[profiles.prod.loki]\nurl = \"https://loki.example/?orgId=3\"\n").unwrap();
}

#[test]
fn syntax_error_names_line_and_key() {
    let err = p("[profiles.a]\nnamespace = \"x\"\nrefresh = 5s\n").unwrap_err();
    assert_eq!(err.line, Some(3));
    assert_eq!(err.key.as_deref(), Some("profiles.a.refresh"));
}

#[test]
fn unknown_key_and_bad_values_are_errors() {
    let err = p("[profiles.a]\nnamespce = \"x\"\n").unwrap_err();
    assert_eq!(err.line, Some(2));
    assert!(err.problem.contains("namespce"), "{}", err.problem);
    let err = p("[profiles.a]\nrange = \"ten minutes\"\n").unwrap_err();
    assert_eq!(err.key.as_deref(), Some("profiles.a.range"));
    let err = p("[profiles.a.prometheus]\nurl = \"prom:9090\"\n").unwrap_err();
    assert!(err.problem.contains("http://"));
    let err = p("default_profile = \"nope\"\n[profiles.a]\n").unwrap_err();
    assert_eq!(err.line, Some(1));
    assert!(err.problem.contains("nope"));
}

#[test]
fn log_settings_are_checked_with_line_and_key() {
    let c =
        p("[profiles.a.logs]\nmax_lines = 1000\nmax_bytes = \"8MiB\"\nbackfill = 50\n").unwrap();
    let l = &c.select(Some("a")).unwrap().1.logs;
    assert_eq!((l.max_lines, l.max_bytes, l.backfill), (1000, 8 << 20, 50));
    let err = p("[profiles.a.logs]\nmax_lines = 5\n").unwrap_err();
    assert_eq!(err.line, Some(2));
    assert_eq!(err.key.as_deref(), Some("profiles.a.logs.max_lines"));
    let err = p("[profiles.a.logs]\n\nmax_bytes = \"1KiB\"\n").unwrap_err();
    assert_eq!(err.line, Some(3));
    assert!(err.problem.contains("1MiB"), "{}", err.problem);
}

#[test]
fn select_reports_missing_profile() {
    let c = p("[profiles.a]\n[profiles.b]\n").unwrap();
    assert!(c.select(Some("c")).unwrap_err().contains("a, b"));
    assert_eq!(c.select(None).unwrap().0, None);
}

#[test]
fn a_resolved_secret_is_masked_from_then_on_without_a_client() {
    use crate::config::secret::SecretRef;
    let path = std::env::temp_dir().join(format!("wf-rotating-secret-{}", std::process::id()));
    std::fs::write(&path, "kq7vw-rotated-value-9f2c\n").unwrap();
    let r = SecretRef::File(path.display().to_string());
    let line = "auth failed for kq7vw-rotated-value-9f2c at upstream";
    let before = crate::text::redact::redact(line);
    assert!(before.contains("kq7vw"), "not yet resolved: {before}");
    assert_eq!(r.resolve().unwrap().expose(), "kq7vw-rotated-value-9f2c");
    assert!(!crate::text::redact::redact(line).contains("kq7vw"));
    // rotated: the new value is registered when it is read again
    std::fs::write(&path, "n3w-rotated-value-77ab\n").unwrap();
    r.resolve().unwrap();
    assert!(!crate::text::redact::redact("token n3w-rotated-value-77ab").contains("n3w-rotated"));
    let _ = std::fs::remove_file(&path);
}
