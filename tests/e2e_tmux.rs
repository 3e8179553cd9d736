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
        "Restarts & OOMs",
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
    // window grows from 5m to 15m
    t.keys(&["]"]);
    t.wait_for("last 15m", 5);
    t.keys(&["["]);
    t.wait_for("last 5m", 5);
    // the pod picker re-targets every pane
    t.keys(&["p"]);
    t.wait_for("all pods", 5);
    t.keys(&["Down", "Down", "Enter"]);
    let s = t.wait_for("pod app-2", 5);
    assert!(s.contains("Memory · app-2"), "{s}");
    t.wait_for("Restarts & OOMs · app-2", 5);
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

#[test]
fn small_terminal_drops_panes_instead_of_garbage() {
    if !common::require("tmux") {
        return;
    }
    let t = Tmux::start("small", &bin_cmd(""), 80, 24, true);
    let s = t.wait_for("OOMKilled", 20);
    assert!(s.contains("Memory") && s.contains("Admission"), "{s}");
    assert!(
        !s.contains("Scheduler"),
        "scheduler is dropped at 80x24:\n{s}"
    );
    for line in s.lines() {
        assert!(
            line.chars().count() <= 80,
            "line wider than the terminal: {line}"
        );
    }
    t.keys(&["q"]);
    t.wait_for("EXITED 0", 5);
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
        t.wait_for("EXITED", 5);
        assert!(!t.alternate_on(), "SIG{sig} left the alternate screen on");
    }
}
