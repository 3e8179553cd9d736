//! End-to-end: the binary in a real terminal (tmux) with --demo; keys sent,
//! the screen read back as a user sees it; the terminal restored on quit
//! and on SIGTERM/SIGHUP.

mod common;

use std::process::Command;

use common::Tmux;

fn bin_cmd(extra: &str) -> String {
    let log = common::tempdir("e2e").join("wf.log");
    format!(
        "{} --demo --log-file {} {extra}",
        env!("CARGO_BIN_EXE_watchfloor"),
        log.display()
    )
}

#[test]
fn demo_in_tmux_keys_and_clean_exit() {
    if !common::require("tmux") {
        return;
    }
    let t = Tmux::start("keys", &bin_cmd(""), 200, 50, true);
    let s = t.wait_for("OOMKilled", 20);
    assert!(t.alternate_on(), "the TUI should own the alternate screen");
    for want in [
        "● LIVE",
        "Memory",
        "Scheduler",
        "Kubernetes · demo",
        "Admission & latency",
        "demo ✓",
        "? help",
    ] {
        assert!(s.contains(want), "missing {want}:\n{s}");
    }
    // help lists every key
    t.keys(&["?"]);
    let s = t.wait_for("Keys", 5);
    assert!(
        s.contains("pause / resume live") && s.contains("pick a pod"),
        "{s}"
    );
    t.keys(&["Escape"]);
    // pause freezes the window
    t.keys(&["Space"]);
    t.wait_for("PAUSED", 5);
    t.keys(&["Space"]);
    t.wait_for("● LIVE", 5);
    // window grows from 5m to 15m: the charts' time axes follow
    t.keys(&["]"]);
    t.wait_for("last 15m", 5);
    assert_eq!(axis_span(&t, 900), 900, "the charts show 15 minutes");
    t.keys(&["["]);
    t.wait_for("last 5m", 5);
    assert_eq!(axis_span(&t, 300), 300, "the charts show 5 minutes");
    // the pod picker re-targets every pane
    t.keys(&["p"]);
    t.wait_for("all pods", 5);
    t.keys(&["Down", "Down", "Enter"]);
    let s = t.wait_for("pod app-2", 5);
    assert!(s.contains("Memory · app-2"), "{s}");
    // the values are app-2's: its working set (a healthy ~700 MiB, never
    // app-1's GiB), and only its row in the restarts table
    // (wait for the row whole: the limit comes from a query of its own,
    // and a frame may show the working set before it)
    let whole = |l: &str| l.contains("working set") && l.contains(" MiB/");
    let s = wait_until(&t, 20, |s| s.lines().any(whole));
    let ws = s.lines().find(|l| whole(l)).unwrap();
    assert!(ws.contains(" MiB/2.00 GiB"), "{ws}");
    assert!(!s.contains("OOMKilled"), "app-1's row is gone:\n{s}");
    t.wait_for("Kubernetes · app-2", 5);
    t.keys(&["P"]);
    t.wait_for("pod all", 5);
    // zoom the focused pane
    t.keys(&["z"]);
    let s = t.wait_for("[zoomed]", 5);
    assert!(!s.contains("Scheduler"), "zoom shows one pane:\n{s}");
    t.keys(&["z", "Tab"]);
    // quit restores the terminal
    t.keys(&["q"]);
    let s = t.wait_for("EXITED 0", 5);
    assert!(!t.alternate_on(), "alternate screen left on:\n{s}");
}

/// Waits until the screen satisfies `ok`; returns it.
fn wait_until(t: &Tmux, secs: u64, ok: impl Fn(&str) -> bool) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        let s = t.screen();
        if ok(&s) {
            return s;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out after {secs}s; screen:\n{s}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// Seconds between the first and last time label of a chart axis on screen
/// (the line ending in "UTC│"), once it reads `want` (the window just changed).
fn axis_span(t: &Tmux, want: i64) -> i64 {
    let span = |s: &str| -> Option<i64> {
        // a chart's time axis: a row of the body ending its times with UTC
        let line = s
            .lines()
            .find(|l| l.starts_with('│') && l.contains(" UTC"))?;
        let secs: Vec<i64> = line
            .split(|c: char| !(c.is_ascii_digit() || c == ':'))
            .filter(|w| w.len() == 8 && w.matches(':').count() == 2)
            .map(|w| {
                let p: Vec<i64> = w.split(':').map(|x| x.parse().unwrap_or(0)).collect();
                p[0] * 3600 + p[1] * 60 + p[2]
            })
            .collect();
        Some((secs.last()? - secs.first()?).rem_euclid(86400))
    };
    let s = wait_until(t, 10, |s| span(s) == Some(want));
    span(&s).unwrap()
}

#[test]
fn small_terminal_drops_panes_instead_of_garbage() {
    if !common::require("tmux") {
        return;
    }
    let t = Tmux::start("small", &bin_cmd(""), 80, 24, true);
    let s = t.wait_for("OOMKilled", 20);
    // the logs outlive the scheduler and admission panes
    assert!(s.contains("Memory") && s.contains("Logs"), "{s}");
    assert!(
        !s.contains("Scheduler ─") && !s.contains("Admission & latency ─"),
        "scheduler and admission are not drawn at 80x24:\n{s}"
    );
    // but named in the footer, and reachable with Tab
    let footer = s.lines().last().unwrap_or("");
    assert!(footer.contains("+3 panes — Tab"), "{s}");
    for line in s.lines() {
        assert!(
            line.chars().count() <= 80,
            "line wider than the terminal: {line}"
        );
    }
    // Tab from Memory: Scheduler (drawn while focused), then Restarts
    t.keys(&["Tab"]);
    t.wait_for("Scheduler ─", 10);
    t.keys(&["Tab", "Tab"]);
    let s = t.wait_for("Admission & latency ─", 10);
    assert!(!s.contains("Scheduler ─"), "{s}");
    t.keys(&["q"]);
    t.wait_for("EXITED 0", 5);
}

/// At 120x35: Tab reaches every pane (zoom shows which), `:theme light`
/// recolours the screen, and the log pane's search, level filter and the
/// command line's completion menu work as a user types them.
#[test]
fn at_120x35_every_pane_a_theme_switch_search_filters_and_completion() {
    if !common::require("tmux") {
        return;
    }
    let t = Tmux::start("mid", &bin_cmd("--theme default"), 120, 35, true);
    let s = t.wait_for("OOMKilled", 20);
    // the API's pods take the Restarts pane's place: it is listed, one Tab away
    let footer = s.lines().last().unwrap_or("");
    assert!(
        footer.contains("Restarts & OOMs") && footer.contains("— Tab"),
        "{s}"
    );
    // every pane, in Tab order, zoomed one at a time
    let titles = [
        "Memory",
        "Scheduler",
        "Restarts & OOMs",
        "Admission & latency",
        "Kubernetes",
        "Logs",
    ];
    for (i, title) in titles.iter().enumerate() {
        if i > 0 {
            t.keys(&["Tab"]);
        }
        t.keys(&["z"]);
        let s = wait_until(&t, 20, |s| {
            s.contains("[zoomed]") && s.lines().nth(1).is_some_and(|l| l.contains(title))
        });
        for other in titles.iter().filter(|o| *o != title) {
            assert!(!s.contains(&format!("┌ {other} ")), "{title} zoomed:\n{s}");
        }
        t.keys(&["z"]);
        wait_until(&t, 20, |s| !s.contains("[zoomed]"));
    }
    // the theme switch recolours the header (a light background)
    let before = t.screen_styled();
    // the header's colours (its SGR sequences), not its text: the clock ticks
    let header = |s: &str| -> std::collections::BTreeSet<String> {
        let line = s.lines().next().unwrap_or("");
        line.split('\u{1b}')
            .skip(1)
            .filter_map(|p| p.find('m').map(|e| p[..=e].to_string()))
            .collect()
    };
    assert!(!header(&before).is_empty(), "no colours captured");
    t.keys(&[":"]);
    t.wait_for(":", 20);
    t.type_text("theme ");
    t.keys(&["Tab"]);
    // the completion menu lists the themes under the input line
    let s = t.wait_for("solarized-dark", 20);
    assert!(s.contains("light") && s.contains("high-contrast"), "{s}");
    t.keys(&["Escape", ":"]);
    t.type_text("theme light");
    t.keys(&["Enter"]);
    t.wait_for("theme light", 20);
    wait_until(&t, 20, |_| header(&t.screen_styled()) != header(&before));
    // the log pane: search, then the error level filter, both in its title
    t.keys(&["l", "/"]);
    // a word only the pool checkout lines have (the namespace has "pool")
    t.type_text("wait_ms");
    t.keys(&["Enter"]);
    // the selection jumps to a matching line (the match may lie beyond the
    // pane's right edge: the detail view shows the whole line)
    wait_until(&t, 20, |s| {
        s.contains("/wait_ms (") && s.lines().any(|l| l.starts_with("│▶"))
    });
    t.keys(&["Enter"]);
    let d = wait_until(&t, 20, |s| s.contains("┌ Log line"));
    // the selected line holds the match (its fields, or its raw text)
    let body: String = d.lines().skip(2).collect();
    assert!(body.contains("wait_ms"), "{d}");
    t.keys(&["Escape"]);
    t.wait_for("/wait_ms (", 20);
    t.keys(&["Escape", "5"]);
    let s = t.wait_for("≥error", 20);
    let body: Vec<&str> = s
        .lines()
        // log lines: pod, container, level (not the Kubernetes pane's rows)
        .filter(|l| {
            l.contains(" app-")
                && [" app INF ", " app WRN ", " app ERR ", " app DBG "]
                    .iter()
                    .any(|x| l.contains(x))
        })
        .collect();
    assert!(!body.is_empty(), "{s}");
    assert!(
        body.iter().all(|l| l.contains(" ERR ")),
        "only errors:\n{s}"
    );
    t.keys(&["q"]);
    t.wait_for("EXITED 0", 20);
}

#[test]
fn sigterm_and_sighup_restore_the_terminal() {
    if !common::require("tmux") {
        return;
    }
    for sig in ["TERM", "HUP"] {
        let t = Tmux::start(&format!("sig{sig}"), &bin_cmd(""), 120, 40, true);
        t.wait_for("Memory", 20);
        assert!(t.alternate_on());
        let pid = t.app_pid();
        assert!(Command::new("kill")
            .args([&format!("-{sig}"), &pid])
            .status()
            .unwrap()
            .success());
        t.wait_for("EXITED", 20);
        assert!(!t.alternate_on(), "SIG{sig} left the alternate screen on");
    }
}

/// Every frame goes out inside a synchronized update (DEC mode 2026), so a
/// terminal that knows the mode never shows half a frame (slow SSH links,
/// shared screens): no drawing before the first begin or between an end
/// and the next begin. The raw bytes are recorded by script(1) in tmux.
#[test]
fn frames_are_drawn_inside_synchronized_updates() {
    if !common::require("tmux") || !common::require("script") {
        return;
    }
    let raw = common::tempdir("e2e-sync").join("raw");
    let cmd = format!(
        "script -qfec {} {}",
        shell_quote(&bin_cmd("")),
        raw.display()
    );
    let t = Tmux::start("sync", &cmd, 120, 40, true);
    t.wait_for("OOMKilled", 20);
    t.keys(&["l", "j", "?"]);
    t.wait_for("Keys", 20);
    // a resize redraws everything (with a clear): inside a frame too
    t.resize(90, 26);
    std::thread::sleep(std::time::Duration::from_millis(500));
    t.resize(120, 40);
    std::thread::sleep(std::time::Duration::from_millis(500));
    t.keys(&["q", "q"]);
    t.wait_for("EXITED 0", 20);
    let out = String::from_utf8_lossy(&std::fs::read(&raw).unwrap()).into_owned();
    let (begin, end) = ("\x1b[?2026h", "\x1b[?2026l");
    let frames = out.matches(begin).count();
    assert!(frames >= 3, "{frames} synchronized frames");
    // every begin has its end; restoring the terminal ends once more
    // (for a panic inside a frame)
    assert_eq!(
        frames + 1,
        out.matches(end).count(),
        "every begin has its end"
    );
    let mut parts = out.split(begin);
    let before = parts.next().unwrap();
    assert!(
        !before.contains('│'),
        "drawing before the first frame began"
    );
    for (i, p) in parts.enumerate() {
        let (inside, after) = p
            .split_once(end)
            .unwrap_or_else(|| panic!("frame {i} never ends"));
        assert!(!inside.is_empty());
        assert!(
            !after.contains('│') && !after.contains("Memory") && !after.contains("\x1b[2J"),
            "drawing outside a synchronized update after frame {i}: {:?}",
            &after[..after.len().min(200)]
        );
    }
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The jumps in a real terminal with the demo: the log pane → an error
/// line's trace → that trace's logs → back to the trace → back to the
/// logs, each asserted on the captured screen, with the keys each took.
#[test]
fn jumps_log_line_to_trace_to_its_logs_and_back() {
    if !common::require("tmux") {
        return;
    }
    let t = Tmux::start("jumps", &bin_cmd(""), 160, 45, true);
    t.wait_for("OOMKilled", 20);
    // the log pane, errors only, the newest error selected
    let to_line = ["l", "5", "k"];
    t.keys(&to_line);
    let s = wait_until(&t, 30, |s| s.contains("trace_id=") && s.contains(" ERR "));
    assert!(s.contains("≥error"), "{s}");
    t.keys(&["t"]);
    let (s, id) = trace_on_screen(&t);
    assert!(
        s.contains("✗"),
        "the demo's error line has a failed trace:\n{s}"
    );
    println!(
        "jump keys: log pane to a trace {} ({} + t)",
        to_line.len() + 1,
        to_line.join(" ")
    );
    // l: that trace's log lines, paused at its time
    t.keys(&["l"]);
    let s = wait_until(&t, 20, |s| {
        s.contains(&format!("+\"{id}\"")) && s.contains(&format!("trace_id={}", &id[..20]))
    });
    assert!(s.contains("Logs paused"), "{s}");
    assert!(s.contains("back to the trace"), "{s}");
    println!("jump keys: trace to its logs 1 (l)");
    // Esc: the trace again; Esc: the logs as they were before l
    t.keys(&["Escape"]);
    wait_until(&t, 20, |s| s.contains(&format!("┌ Trace {id}")));
    println!("jump keys: back to the trace 1 (Esc)");
    t.keys(&["Escape"]);
    let s = wait_until(&t, 20, |s| {
        !s.contains("┌ Trace ") && !s.contains(&format!("+\"{id}\""))
    });
    assert!(s.contains("≥error"), "{s}");
    t.keys(&["q"]);
}

/// From a chart in a real terminal with the demo: the time cursor a few
/// steps back → `x` the trace of the latency mark there → `l` its logs →
/// Esc the trace → Esc the dashboard → `L` the logs of that moment →
/// Esc live again, each asserted on the captured screen, with the keys
/// each took.
#[test]
fn jumps_from_a_chart_to_a_trace_and_to_the_logs_of_that_moment() {
    if !common::require("tmux") {
        return;
    }
    let t = Tmux::start("chart-jumps", &bin_cmd(""), 160, 45, true);
    t.wait_for("trace (x)", 30);
    let to_moment = ["Left", "Left", "Left"];
    t.keys(&to_moment);
    let s = wait_until(&t, 20, |s| s.contains("cursor "));
    let cursor = s
        .split("cursor ")
        .nth(1)
        .and_then(|r| r.get(..8))
        .unwrap()
        .to_string();
    // x: the trace of the mark nearest the cursor
    t.keys(&["x"]);
    let (_, id) = trace_on_screen(&t);
    println!(
        "jump keys: chart to a trace {} ({} + x)",
        to_moment.len() + 1,
        to_moment.join(" ")
    );
    // l: its logs; Esc: the trace; Esc: the dashboard, the cursor kept
    t.keys(&["l"]);
    wait_until(&t, 20, |s| {
        s.contains(&format!("+\"{id}\"")) && s.contains("Logs paused")
    });
    println!("jump keys: trace to its logs 1 (l)");
    t.keys(&["Escape"]);
    wait_until(&t, 20, |s| s.contains(&format!("┌ Trace {id}")));
    t.keys(&["Escape"]);
    let s = wait_until(&t, 20, |s| !s.contains("┌ Trace ") && s.contains("● LIVE"));
    assert!(s.contains(&format!("cursor {cursor}")), "{s}");
    // L: the logs of the cursor's moment, paused; every line within it
    t.keys(&["L"]);
    let s = wait_until(&t, 20, |s| {
        s.contains("Logs paused") && s.lines().any(|l| log_time(l).is_some())
    });
    let secs = |hms: &str| -> i64 {
        let p: Vec<i64> = hms.split(':').map(|x| x.parse().unwrap()).collect();
        p[0] * 3600 + p[1] * 60 + p[2]
    };
    let at = secs(&cursor);
    for l in s.lines() {
        if let Some(hms) = log_time(l) {
            let d = (secs(&hms) - at).rem_euclid(86_400);
            let d = d.min(86_400 - d);
            assert!(d <= 11, "a line {d}s from the cursor {cursor}: {l}\n{s}");
        }
    }
    println!("jump keys: chart to the logs of that moment 1 (L)");
    // Esc: live again, the cursor where it was
    t.keys(&["Escape"]);
    let s = wait_until(&t, 20, |s| {
        s.contains("● LIVE") && !s.contains("Logs paused")
    });
    assert!(s.contains(&format!("cursor {cursor}")), "{s}");
    println!("jump keys: back 1 (Esc)");
    t.keys(&["q"]);
}

/// Waits for the trace view: the screen and the trace's id.
fn trace_on_screen(t: &Tmux) -> (String, String) {
    let s = wait_until(t, 20, |s| s.contains("┌ Trace ") && s.contains(" spans "));
    let id: String = s
        .split("┌ Trace ")
        .nth(1)
        .unwrap()
        .chars()
        .take(32)
        .collect();
    assert!(id.chars().all(|c| c.is_ascii_hexdigit()), "{id}\n{s}");
    (s, id)
}

/// The `HH:MM:SS` of a log row (`│ 13:20:18.053 app-1 …`).
fn log_time(line: &str) -> Option<String> {
    let rest = line.trim_start_matches(['│', ' ', '▶', '›']);
    let t = rest.get(..12)?;
    let b = t.as_bytes();
    (b[2] == b':'
        && b[5] == b':'
        && b[8] == b'.'
        && t[..8].chars().all(|c| c.is_ascii_digit() || c == ':'))
    .then(|| t[..8].to_string())
}
