//! Tests of the redactor (`mod.rs` and its rules).

use crate::text::redact::*;

#[test]
fn html_and_go_json_escaped_forms_are_masked() {
    let r = with(&["it's&<Pass>99"]);
    for text in [
        "titled denied it&#x27;s&amp;&lt;Pass&gt;99",
        "denied it&#39;s&amp;&lt;Pass&gt;99",
        r#"{"error": "bad creds for it's\u0026\u003cPass\u003e99"}"#,
    ] {
        let out = r.redact(text);
        assert!(
            out.contains(MASK) && !out.contains("Pass"),
            "{text} -> {out}"
        );
    }
}

fn with(secrets: &[&str]) -> Redactor {
    let mut r = Redactor::new();
    secrets.iter().for_each(|s| r.add_secret(s));
    r
}

/// Each case marks what must be masked with `«…»`; the input is the case
/// without the marks. Unmarked cases must come back borrowed. Also checks
/// idempotence.
fn check(r: &Redactor, cases: &[&str]) {
    for case in cases {
        let input: String = case.chars().filter(|c| !"«»".contains(*c)).collect();
        let mut want = String::new();
        let mut inside = false;
        for c in case.chars() {
            match c {
                '«' => (inside, want) = (true, want + MASK),
                '»' => inside = false,
                _ if !inside => want.push(c),
                _ => {}
            }
        }
        let got = r.redact(&input);
        assert_eq!(got, want, "case {case:?}");
        assert_eq!(r.redact(&got), got, "not idempotent: {case:?}");
        let borrowed = matches!(got, Cow::Borrowed(_));
        assert_eq!(borrowed, !case.contains('«'), "Cow kind for {case:?}");
    }
}

#[test]
fn exact_values_whitespace_and_nesting() {
    let r = with(&["hunter2secret", "abcd1234efgh5678", "  abc ", "a b", "x\n"]);
    let cases = [
        "login «hunter2secret» failed",
        "«hunter2secrethunter2secret»",
        "body: «abcd1234\nefgh5678»\n",
        "«abcd12\r\n34efgh5678» ok",
        "«a b c d 1 2 3 4 e f g h 5 6 7 8»",
        "«abcd\t1234efgh\n\n5678».",
        "abc a b x hunter2-secret hunter2secre abcd1234efgh567-8",
    ];
    check(&r, &cases);
    assert!(!r.is_empty() && Redactor::new().is_empty() && with(&["abc"]).is_empty());
    let r = with(&["abcd1234", "xxabcd1234yy", "cd1234zzzz"]);
    check(
        &r,
        &[
            "[«xxabcd1234yy»]",
            "[«abcd1234zzzz»]",
            "«abcd1234» «abcd1234»",
        ],
    );
}

#[test]
fn percent_and_json_forms() {
    let cases = [
        "GET /q?pw=«p%40ss+w%2Frd%2Bx%22q%5C»&a=1",
        "?pw=«p%40ss%20w%2Frd%2Bx%22q%5C»",
        r#"{"pw":"«p@ss w/rd+x\"q\\»"}"#,
        r#"{"pw":"«p@ss w\/rd+x\"q\\»"}"#,
    ];
    check(&with(&["p@ss w/rd+x\"q\\"]), &cases);
}

#[test]
fn bearer_and_basic() {
    let cases = [
        "401: you sent Authorization: Bearer «eyJhbGciOi.J9x_y.z-ab»",
        "curl -H 'authorization: basic «dXNlcjpwYXNz»' x",
        "token was Bearer «abcDEF123456==» (rejected)",
        "BEARER «0123456789abcdef»",
        r#"{"msg":"bad Bearer «abCD12345678»"}"#,
        "Authorization: Bearer «x»",
        "authorization: Bearer",
        r#"WWW-Authenticate: Bearer realm="prom""#,
        r#"www-authenticate: Bearer realm="prom", error="invalid_token", scope="x""#,
        "Bearer realm=prometheus, Basic authentication failed, bearer token expired",
        "Bearer short1, use Basic internationalization, Bearer",
    ];
    check(&Redactor::new(), &cases);
}

#[test]
fn authorization_header_other_schemes() {
    let cases = [
        "Authorization: «Digest username=\"a\", response=\"9f\"»\r\nHost: h",
        r#"{"authorization": "«Token a\"b»", "x": 1}"#,
        "Proxy-Authorization: «Negotiate YIIabc»",
        "map[Authorization:[Bearer «xyz»] Accept:[*/*]]",
        r#"{\"Authorization\":\"«SSWS 00abc»\"}"#,
        "authorization failed for user bob; unauthorized: 3 times",
    ];
    check(&Redactor::new(), &cases);
}

#[test]
fn jwt_shape() {
    let cases = [
        "id «eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_w»",
        "(«eyJhbGci.eyJzdWIi.c2lnbmF0»)",
        "eyJ.abcd.efgh eyJabc.defg eyJabcd.ef.ghij version 1.2.3 eyJhbGci",
    ];
    check(&Redactor::new(), &cases);
}

#[test]
fn key_values() {
    let cases = [
        "GET /x?api_key=«abc123»&page=2",
        "apikey=«abc»; X-Api-Key: «k3y» v",
        "access_token=«ya29.a0» Token=«zzz»,other",
        "password: «hunter2» PASSWD='«p a s s»' secret=«s3»",
        "client_secret = «abc» passwd:«x1»",
        r#"{"password":"«my \"pass\" word»","user":"bob"}"#,
        r#"{"refresh_token": "«abc»", "n": 1}"#,
        r#"body: "{\"password\":\"«pw»\"}""#,
        "token expired; password is wrong; password=; password: incorrect",
        "tokens=5 token_count=3 passwordless=1 secrets: 4 mytoken=abc",
        "failed to fetch oauth token: unexpected status: 401 Unauthorized",
        r#"{"token_type":"Bearer","secret":null}"#,
    ];
    check(&Redactor::new(), &cases);
}

#[test]
fn aws_secret_keys_are_masked() {
    let r = Redactor::new();
    let out = r.redact("aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY next");
    assert!(!out.contains("wJalrXUtnFEMI"), "{out}");
    assert!(out.ends_with(" next"), "{out}");
}

#[test]
fn cookies() {
    let cases = [
        "Cookie: sid=«abc123»; theme=«dark»\nnext",
        "set-cookie: sid=\"«q1»\"; Path=/; Expires=Wed, 21 Oct 2026 07:28:00 GMT; HttpOnly",
        "Set-Cookie: a=«1»; Secure, b=«2»; Max-Age=60",
        r#"{"cookie": "a=«1»; b=«x» y", "n": 2}"#,
        "cookie jar empty; cookies: 3; Cookie: none",
    ];
    check(&Redactor::new(), &cases);
}

#[test]
fn url_userinfo_in_text() {
    let cases = [
        "dial postgres://admin:«s3cr3t»@db:5432/x failed",
        "GET https://«tok123»@host/x",
        r#"{"u":"http:\/\/u:«p»@h\/"}"#,
        "http://u:«p@ss»@h/",
        "http://host:9090/api?q=up@x https://example.com/users/@bob ://x@y a:b@c",
    ];
    check(&Redactor::new(), &cases);
}

#[test]
fn vendor_tokens() {
    let cases = [
        "«ghp_16C7e42F292c6912E7710c838347Ae178B4a» «gho_16C7e42F292c6912E7710c8383»",
        "«github_pat_11ABCDEFG0123456789_abcdefghijklmnop» «glpat-xxxxxxxxxxxxxxxxxxxx»",
        "«xoxb-123456789012-1234567890123-AbCdEf», «xoxp-1234567890-12345»",
        "key=«AKIAIOSFODNN7EXAMPLE» «sk-proj-Ab3dEfGhIjKlMnOpQrStUv».",
        "pod sk-worker-deployment-7f9c8d-abcde ghp_short AKIA AKIAIOSFODNN7EXAMPLEX",
    ];
    check(&Redactor::new(), &cases);
}

#[test]
fn pem_private_key_blocks() {
    let cases = [
        "-----BEGIN RSA PRIVATE KEY-----\n«MIIEpAIBAAKCAQEA0Z3VS5JJcds3\nxfn/ygWyF8PbnGy0AHB7»\n-----END RSA PRIVATE KEY-----\nnext",
        "-----BEGIN PRIVATE KEY-----\r\n«MIIEvQIBADANBgkqhkiG9w0BAQEFAASC»\r\n-----END PRIVATE KEY-----",
        "-----BEGIN EC PRIVATE KEY-----«MHcCAQEEIBb»-----END EC PRIVATE KEY-----",
        "-----BEGIN DSA PRIVATE KEY----- «MIIBuwIBAAKBgQ» -----END DSA PRIVATE KEY-----",
        "key: -----BEGIN ENCRYPTED PRIVATE KEY-----\n«MIIFHzBJBgkqhkiG»\n-----END ENCRYPTED PRIVATE KEY-----",
        // no footer: masked to the end of the text
        "-----BEGIN OPENSSH PRIVATE KEY-----\n«b3BlbnNzaC1rZXktdjEAAAAABG5vbmU\nAAAAB»",
        // newlines as `\n` inside a JSON string
        r#"{"key":"-----BEGIN PRIVATE KEY-----\n«MIIEvQIBADANBg\nkqhkiG9w0BAQ»\n-----END PRIVATE KEY-----\n","n":1}"#,
        r#"{"k":"-----BEGIN RSA PRIVATE KEY-----\n«MIIEpAIBAA»\n-----END RSA PRIVATE KEY-----\n"} {"k":"-----BEGIN PRIVATE KEY-----\n«MIIEvQ"}»"#,
        // not private keys
        "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUe\n-----END CERTIFICATE-----",
        "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYI\n-----END PUBLIC KEY-----",
        "BEGIN PRIVATE KEY----- x; -----BEGIN PRIVATE KEY; -----BEGIN  PRIVATE KEY----- y",
    ];
    check(&Redactor::new(), &cases);
}

#[test]
fn credential_files_keys() {
    let cases = [
        // a service account JSON: the key, not its id
        r#"{"type": "service_account", "private_key_id": "4f2a9c", "private_key": "«-----BEGIN PRIVATE KEY-----\nMIIEvQIBADAN\n-----END PRIVATE KEY-----\n»", "client_email": "sa@p.iam.gserviceaccount.com"}"#,
        // kubeconfig
        "    client-certificate-data: LS0tLS1CRUdJTiBDRVJU\n    client-key-data: «LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQo=»\n",
        "    token: «ZXlKaGJHY2lPaUpTVXpJMU5pSXNJbXRwWkNJNklpSjkuZXlKcGMzTWlPaUpy»\n",
        // YAML block scalars: the value is on the lines below
        "  user:\n    token: |\n      «ZXlKaGJHY2lPaUpTVXpJMU5pSXNJbXRw\n      aW5nIHRoZSBzZWNvbmQgbGluZQ»\n  name: x\n",
        "client-key-data: >-\r\n  «LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVk»\r\nnext: 1",
        // the same block flattened onto one line, as a log line is
        // after the sanitiser turns its newlines into spaces
        "client-key-data: |   «LS0tLS1CRUdJTiBSU0Eg   UFJJVkFURSBLRVk»   next: 1",
        "- token: |+\n\n   «abc»\n- name: y\ntoken: >\nnot: indented",
        "users:\n- name: sa\n  user:\n    token: «eyJhbGciOiJSUzI1NiIsImtpZCI6IkJGZ3UifQ.eyJpc3MiOiJrdWJlcm5ldGVzL3NhIn0.c2lnbmF0dXJl»\n",
        // docker config
        r#"{"auths":{"registry.example.com":{"auth":"«dXNlcjpwYXNzd29yZA==»"}}}"#,
        r#"{\"auths\":{\"r\":{\"auth\": \"«dXNlcjpw»\"}}}"#,
        "ssh-add: passphrase=«s3cr3t-phrase»; exit 1",
        "Server=db;Uid=app;Pwd=«p4ss-w0rd»;Database=x",
        "credentials=«/var/run/creds.json» CREDENTIALS: «AbC123xyz»",
        r#"{"credentials": "«e30=»", "passphrase": "«x y»", "pwd": "«z»"}"#,
        // prose, and a key that only starts like one
        "auth failed for bob; {\"msg\":\"auth failed\"} \"auth\" header missing; auth: required",
        "check your credentials; bad passphrase: incorrect; pwd is /home/app; pwd: unknown",
        r#"{"private_key_id": "4f2a9c", "auths": {}, "credentials_file": "/x"}"#,
    ];
    check(&Redactor::new(), &cases);
}

#[test]
fn more_vendor_tokens() {
    let cases = [
        "«sk_live_4eC39HqLyjWDarjtT1zdp7dc» «sk_test_51H8x2aLkdIwHu7ixY4m8ZWcX»",
        "key=«rk_live_51H8x2aLkdIwHu7ixY4m8ZWcXp» «rk_test_4eC39HqLyjWDarjtT1zdp7dc»",
        "«ghs_16C7e42F292c6912E7710c838347Ae178B4a» «ghu_16C7e42F292c6912E7710c838347Ae178B4a»",
        "HF_TOKEN=«hf_AbCdEfGhIjKlMnOpQrStUvWxYzAbCdEfGh»",
        "//registry.npmjs.org/:_authToken=«npm_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789»",
        "?key=«AIzaSyA-1234567890abcdefghijklmnop_qrst»&x=1",
        // ordinary words, short or long look-alikes, pod names
        "sk_live_short rk_test_runner ghs_abc ghu_16C7e42F292c6912E7710c838347Ae178B4 hf_model",
        "npm_config_cache=/tmp npm_AbCdEfGhIjKlMnOpQrStUvWxYz01234567890 AIzaShort",
        "AIzaSyA-1234567890abcdefghijklmnop_qrstu hf-inference-7f9c8d-x2b rk-live-7f9c8d ghs-app",
        "huggingface hf_hub_download npm_lifecycle_event=install redis-master-0 node-7f9c8d",
    ];
    check(&Redactor::new(), &cases);
}

#[test]
fn registered_secret_base64() {
    let r = with(&["S3cr3t~T0ken?>Val"]);
    let cases = [
        // alone, padded or not
        "auth «UzNjcjN0flQwa2VuPz5WYWw=» end",
        "auth=«UzNjcjN0flQwa2VuPz5WYWw»&x",
        // inside a longer string at each byte alignment, standard and URL-safe
        // (the whole unpadded form also matches here: the next byte's top
        // bits are zero, as the encoder's fill)
        "«UzNjcjN0flQwa2VuPz5WYWw»K «UzNjcjN0flQwa2VuPz5WYW»yK",
        "eF«MzY3IzdH5UMGtlbj8+VmFs»Cg== eF«MzY3IzdH5UMGtlbj8-VmFs»Cg",
        "dTp«TM2NyM3R+VDBrZW4/PlZhb»Ao= dTp«TM2NyM3R-VDBrZW4_PlZhb»Ao=",
        "creds dXNlcjp«TM2NyM3R+VDBrZW4/PlZhb»Ao=",
        "YWJjZF«MzY3IzdH5UMGtlbj8+VmFs»Cg== dXM6«UzNjcjN0flQwa2VuPz5WYWw»K",
        // wrapped at a line break
        "«UzNjcjN0flQw\na2VuPz5WYWw=»",
        // one character off: not the secret
        "UzNjcjN0flQwa2VuPz5WYmw= dTpTM2NyM3R+VDBrZW4/PlZib",
    ];
    check(&r, &cases);
    // shorter than 8 stable characters: no base64 form (too many false hits)
    let r = with(&["ab12"]);
    check(&r, &["YWIxMg== YWIxMg"]);
}

#[test]
fn registered_secret_case_percent_and_json_escapes() {
    let r = with(&["S3cr3t~T0ken?>Val", "pässwörd-9", "key🦀crab"]);
    let cases = [
        "lower «s3cr3t~t0ken?>val» end",
        // percent-encoded twice (RFC 3986 and form style)
        "next=%2Flogin%3Ftok%3D«S3cr3t~T0ken%253F%253EVal»",
        "?u=«S3cr3t%257ET0ken%253F%253EVal»&x=1",
        // JSON with `\u00XX` escapes: any mix, the first one escaped too
        r#"{"t":"«S3cr3t\u007eT0ken\u003f>Val»"}"#,
        r#"{"t":"«\u0053\u0033\u0063\u0072\u0033\u0074\u007e\u0054\u0030\u006b\u0065\u006e\u003f\u003e\u0056\u0061\u006c»"}"#,
        r#"{"t":"«\u0053\u0033cr3t~T0ken?\u003EVal»"}"#,
        r#"{"p":"«p\u00e4ssw\u00F6rd-9»","k":"«key\ud83e\udd80crab»"}"#,
        // not the secret: a different escaped char, a broken escape
        r#"{"t":"S3cr3t\u007fT0ken?>Val","u":"S3cr3t\u07eT0ken?>Val","v":"\u0053\u0033"}"#,
        r#"lone "\ud83e" and "\udd80" and "\u00zz" and "\u0053" "\\\u"#,
    ];
    check(&r, &cases);
}

/// ~1 MiB hostile lines for the new rules: quadratic behaviour would
/// take minutes, linear well under a second.
#[test]
fn new_rules_linear_on_long_lines() {
    let r = with(&["S3cr3t~T0ken?>Val"]);
    let lines = [
        "-----BEGIN PRIVATE KEY-----".repeat(40_000),
        "x -----BEGIN RSA PRIVATE KEY-----".repeat(30_000),
        "-----BEGIN PRIVATE KEY-----a-----END ".repeat(30_000),
        r#""auth":"\"auth\":\""#.repeat(50_000),
        // (was quadratic before: the end of the line was computed eagerly
        // for every escaped-quote value)
        r#"{\"password\":\"x\"} "#.repeat(50_000),
        r"\u0053\u0033\u0063".repeat(50_000),
        "UzNjcjN0flQwa2VuPz5WYW".repeat(40_000),
        format!("sk_live_{}", "a".repeat(1 << 20)),
        "hf_".repeat(300_000),
        "client-key-data: pwd= credentials: ".repeat(30_000),
        "token: |\n  x\n".repeat(80_000),
        // each block holds all the keys below it
        (0..3000)
            .map(|k| format!("{}token: |\n", " ".repeat(k)))
            .collect(),
    ];
    // Megabyte lines: linear work finishes in milliseconds, a quadratic
    // rule would not finish at all (no wall-clock assertion: the figures
    // are printed by the ignored micro-benchmark below)
    for line in &lines {
        let once = r.redact(line);
        assert_eq!(r.redact(&once), once);
    }
}

#[test]
fn prose_metrics_numbers_untouched() {
    let cases = [
        r#"http_requests_total{pod="api-7f9c8d-x2b", code="401"} 42 1712345678"#,
        "p99 latency 3.2s over 5m; 1,234 errors; token bucket full; basic metrics",
        "error: unauthorized (401): check your credentials; secret \"db\" not found",
        "level=info msg=\"token refreshed\" expires_in=3600s took=3ms",
        "https://grafana.example.com/d/abc?orgId=1&from=now-1h",
        "日本語のログ — naïve café ✓ 🦀",
        r#"kube_secret_info{namespace="prod",secret="«db-creds»"} 1"#,
    ];
    check(&with(&["hunter2secret"]), &cases);
}

#[test]
fn shapes_off_and_patterns() {
    let mut r = with(&["hunter2secret"]);
    r.set_shapes(false);
    r.add_pattern("x-api-token=");
    r.add_pattern(" ");
    check(
        &r,
        &["password=foo Bearer abcdef123456789 pw «hunter2secret»"],
    );
    check(&r, &["GET /?X-API-TOKEN=«zzz»&a=1; x-api-token='q'"]);
    r.set_shapes(true);
    check(&r, &["password=«foo»"]);
}

#[test]
fn utf8_safety() {
    let r = with(&["pässwörd日本", "секрет-ключ"]);
    check(&r, &["日本語 «pässwörd日本»✓", "é «секрет-\nключ»é"]);
    let s = "ü Bearer é password=ü🦀 pässwörd日本 eyJü.ab://x:y@z Cookie: a=é";
    let idx: Vec<usize> = (0..=s.len()).filter(|&i| s.is_char_boundary(i)).collect();
    for (n, &a) in idx.iter().enumerate() {
        for &b in &idx[n..] {
            let once = r.redact(&s[a..b]);
            assert_eq!(r.redact(&once), once);
        }
    }
}

#[test]
fn fuzz_no_panic_no_leak_idempotent() {
    let secrets = [
        "s3cretValue9",
        "tok_ABCDEFGH",
        "pässwörd",
        "Zx9!q\"w/e",
        "u:p@x",
    ];
    let r = with(&secrets);
    let pieces: Vec<&str> =
        "a|Bearer |basic |password|=|: |\"|'|\\|://|@|:|é|日本|🦀| |\n|\r\n|\t|;|,|&|\
        Cookie|Set-|Authorization|eyJab|.|AKIA|sk-|ghp_|0123456789|QWERTY|[|]|•|s3cret|Value9|\
        tok_|ABCDEFGH|päss|\\\"|token|%40"
            .split('|')
            .collect();
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed >> 8) as usize
    };
    for _ in 0..20_000 {
        let mut s = String::new();
        for _ in 0..next() % 24 {
            let n = next();
            s.push_str(if n % 7 == 0 {
                secrets[n % 5]
            } else {
                pieces[n % pieces.len()]
            });
        }
        let out = r.redact(&s);
        assert_eq!(r.redact(&out), out, "not idempotent: {s:?}");
        let squeezed: String = out.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        for sec in secrets {
            assert!(
                !squeezed.contains(sec),
                "{sec:?} survived in {s:?} -> {out:?}"
            );
        }
    }
}

#[test]
fn url_for_display() {
    let r = with(&["hunter2secret"]);
    let cases = [
        ("http://user:pass@host:9090/x", "http://host:9090/x"),
        ("https://tok@h", "https://h"),
        (
            "https://h/p?Token=a&q=u&X-Amz-Signature=f&k=#f",
            "https://h/p?Token=•&q=u&X-Amz-Signature=•&k=#f",
        ),
        (
            "https://h/?key=1&sig=2&monkey=3&refresh_token=4",
            "https://h/?key=•&sig=•&monkey=3&refresh_token=•",
        ),
        (
            "https://h/hunter2secret/users/@bob?q=a@b",
            "https://h/•/users/@bob?q=a@b",
        ),
        ("u:p@localhost:9090", "localhost:9090"),
    ];
    for (url, want) in cases {
        assert_eq!(redact_url_with(&r, url), want.replace('•', MASK), "{url}");
    }
}

#[test]
fn global_instance() {
    register_secret("gl0bal-secret-value");
    register_pattern("X-Custom-Auth=");
    assert_eq!(redact("a gl0bal-secret-value b"), "a •••••• b");
    assert_eq!(redact("X-Custom-Auth=v1"), "X-Custom-Auth=••••••");
    assert_eq!(
        redact_url("https://u:gl0bal@h/?q=gl0bal-secret-value"),
        "https://h/?q=••••••"
    );
    assert!(matches!(redact("nothing here"), Cow::Borrowed(_)));
    set_shapes(false);
    assert_eq!(redact("password=x"), "password=x");
    set_shapes(true);
    assert_eq!(redact("password=x"), "password=••••••");
}

#[test]
#[ignore = "micro-benchmark: cargo test --release redact -- --ignored --nocapture"]
fn bench_lines_per_second() {
    let base = "2026-05-01T12:00:00.123Z INFO watchfloor::core::prom: query ok series=42 \
                took=3.2ms url=http://prometheus.monitoring.svc:9090/api/v1/query_range \
                step=15s pod=api-7f9c8d-x2b Bearer realm status=200 bytes=51234 cache=miss";
    let secrets: Vec<String> = (0..10)
        .map(|i| format!("S{i}cr3t-{i:x}q9Zk{}", i * 7919))
        .collect();
    let plain: Vec<String> = (0..1000)
        .map(|i| format!("{i:06} {base}")[..200].into())
        .collect();
    let dirty: Vec<String> = plain
        .iter()
        .map(|l| format!("{} {}", &l[..170], secrets[3]))
        .collect();
    for (n, lines, what) in [
        (0, &plain, "clean"),
        (10, &plain, "clean"),
        (10, &dirty, "1 secret"),
    ] {
        let r = with(&secrets[..n].iter().map(String::as_str).collect::<Vec<_>>());
        let start = std::time::Instant::now();
        for _ in 0..300 {
            for l in lines {
                std::hint::black_box(r.redact(std::hint::black_box(l)));
            }
        }
        let rate = 300_000.0 / start.elapsed().as_secs_f64();
        println!("{n:>2} secrets, {what:<8} 200-byte lines: {rate:>9.0} lines/s");
    }
}
