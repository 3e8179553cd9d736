//! Tests of `engine.rs`.

use crate::features::logs::engine::*;

fn e(ts: i64, stream: &str, line: &str) -> Entry {
    Entry {
        ts_ns: ts,
        labels: vec![("pod".to_string(), stream.to_string())].into(),
        line: line.into(),
        meta: vec![],
    }
}

#[test]
fn dedupe_keeps_twins_of_other_streams_and_drops_repeats() {
    let mut d = Dedupe::new(60 * SEC);
    assert!(d.admit(&e(5, "a", "x")));
    assert!(d.admit(&e(5, "b", "x")), "same ts and line, other stream");
    assert!(d.admit(&e(5, "a", "y")), "same ts and stream, other line");
    assert!(!d.admit(&e(5, "a", "x")));
    assert_eq!(d.newest(), Some(5));
    assert_eq!(d.resume_from(0), 5 - 60 * SEC);
}

const SEC: i64 = 1_000_000_000;

#[test]
fn dedupe_forgets_only_behind_the_reread_window() {
    let mut d = Dedupe::new(300 * SEC);
    let t0 = 1_000_000 * SEC;
    // 20,000 lines over 20 minutes
    for i in 0..20_000i64 {
        assert!(d.admit_at(&e(t0 + i * 60_000_000, "a", "l"), t0 + i * 60_000_000, 0));
    }
    let newest = t0 + 19_999 * 60_000_000;
    // a line 4 min behind the newest is still known: a re-read repeats nothing
    assert!(!d.admit_at(&e(newest - 240 * SEC, "a", "l"), newest, 0));
    assert!(d.len() < 12_000, "pruned: {}", d.len());
    assert_eq!(d.resume_from(0), newest - 300 * SEC);
}

#[test]
fn future_stamped_keys_expire_by_arrival_and_are_counted() {
    let mut d = Dedupe::new(60 * SEC);
    let now = 1_000_000 * SEC;
    let future = now + 70 * 365 * 86_400 * SEC;
    // a skewed node floods for an hour: one line every 10 ms
    for i in 0..360_000i64 {
        let arrival = (i / 100) as u32;
        assert!(d.admit_at(
            &e(future + i, "skewed", "from 2096"),
            now + i * 10_000_000,
            arrival
        ));
    }
    assert_eq!(d.skewed, 360_000);
    // at most a re-read window of arrivals (6,000 lines) stays, plus
    // what arrived before the next prune
    assert!(d.len() <= 2 * 6_000 + 4096, "keys: {}", d.len());
    // the present is untouched
    let t = now + 3_600 * SEC;
    assert!(d.admit_at(&e(t, "a", "now"), t, 3_600));
    assert!(!d.admit_at(&e(t, "a", "now"), t, 3_600));
    assert_eq!(d.skewed, 360_000, "a present line is not skewed");
}

/// A node 7 minutes ahead (Loki accepts up to 10): its keys outlive
/// the re-read window's arrival expiry, so when their time comes and a
/// re-read brings them back, they are not printed twice.
#[test]
fn keys_a_few_minutes_ahead_are_kept_until_their_time() {
    let mut d = Dedupe::new(60 * SEC);
    let now = 1_000_000 * SEC;
    let ahead = now + 420 * SEC;
    assert!(d.admit_at(&e(ahead, "skewed", "early"), now, 0));
    // ten minutes of present lines, one a second, force prunes
    for i in 0..600i64 {
        for k in 0..10 {
            d.admit_at(&e(now + i * SEC + k, "a", "l"), now + i * SEC, i as u32);
        }
    }
    // its time came (now + 420 s) and passed; a re-read brings it back
    assert!(!d.admit_at(&e(ahead, "skewed", "early"), now + 450 * SEC, 450));
}

#[test]
fn dedupe_keys_are_capped_and_the_reread_shrinks_to_what_is_known() {
    let mut d = Dedupe::new(3_600 * SEC);
    let t0 = 1_000_000 * SEC;
    // 1.2 M distinct lines inside the window
    let n = 1_200_000i64;
    for i in 0..n {
        d.admit_at(
            &e(t0 + i * 1_000_000, "a", &i.to_string()),
            t0 + n * 1_000_000,
            0,
        );
    }
    assert!(d.len() <= MAX_DEDUPE_KEYS, "keys: {}", d.len());
    // a re-read never starts before what is still recognised
    let from = d.resume_from(0);
    assert!(from > t0 + 3 * n / 5 * 1_000_000, "{from}");
    let i = (from - t0 + 999_999) / 1_000_000;
    assert!(!d.admit_at(
        &e(t0 + i * 1_000_000, "a", &i.to_string()),
        t0 + n * 1_000_000,
        0
    ));
}

#[test]
fn a_line_from_the_future_does_not_move_the_resume_point_past_now() {
    let mut d = Dedupe::default();
    let now = now_ns();
    assert!(d.admit(&e(
        now + 100 * 365 * 86_400 * 1_000_000_000,
        "a",
        "skewed clock"
    )));
    let r = d.resume_from(0);
    assert!(r <= now_ns() - HORIZON_NS + 1_000_000_000, "{r} vs {now}");
    assert!(d.admit(&e(now, "a", "present")));
}

#[test]
fn a_private_key_logged_a_line_an_entry_is_masked_up_to_its_end() {
    let mut p = PemStreams::default();
    let lines = [
        "-----BEGIN RSA PRIVATE KEY-----",
        "MIIEowIBAAKCAQEAx3k9Jm5fZq2",
        "b3BlbnNzaC1rZXktdjEAAAAABG5",
        "-----END RSA PRIVATE KEY-----",
        "server started",
    ];
    let out: Vec<String> = lines
        .iter()
        .map(|t| {
            let mut l = LogLine::from_entry(e(1, "a", t), true);
            p.mask(7, &mut l);
            l.text.to_string()
        })
        .collect();
    assert!(
        out[0].starts_with("-----BEGIN RSA PRIVATE KEY-----"),
        "{out:?}"
    );
    assert_eq!(out[1], crate::text::redact::MASK);
    assert_eq!(out[2], crate::text::redact::MASK);
    assert_eq!(out[3], "-----END RSA PRIVATE KEY-----");
    assert_eq!(out[4], "server started", "the block ended");
}

#[test]
fn backoff_starts_at_once_and_caps() {
    let mut b = Backoff::default();
    assert_eq!(b.next(), Duration::ZERO);
    assert_eq!(b.next(), Duration::from_millis(500));
    for _ in 0..20 {
        b.next();
    }
    assert_eq!(b.next(), Duration::from_secs(30));
}
