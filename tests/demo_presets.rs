//! The demo plays a story for each built-in preset: rendered through the real
//! update/render path at 200x50, every pane of the beam, go and http
//! dashboards has data and the rows that carry the story show values.

mod common;

use watchfloor::app::State;
use watchfloor::demo::story_for;
use watchfloor::export::buffer_to_text;
use watchfloor::ui::render;

/// Phase 0 of the demo cycle for seed 0.
const CYCLE_START: i64 = 1_700_000_040;

/// The preset's dashboard filled from its demo story, as the poller would.
fn state(preset: &str, t_s: i64, pod: Option<&str>) -> State {
    let st = common::demo_state_for(preset, t_s, pod, 300, 0);
    for q in &st.metrics.queries {
        let d = st.metrics.store.get(&q.key);
        assert!(
            d.is_some_and(|d| d.has_data()),
            "{preset}: {} is empty",
            q.key
        );
    }
    st
}

fn screen(st: &State) -> String {
    buffer_to_text(&render(st, 200, 50))
}

/// Pieces of screen lines between pane borders.
fn cells(screen: &str) -> impl Iterator<Item = &str> {
    screen.lines().flat_map(|l| l.split('│'))
}

/// The first piece holding `label`, from `label` to the pane border.
fn cell<'a>(screen: &'a str, label: &str) -> &'a str {
    let c = cells(screen)
        .find(|c| c.contains(label))
        .unwrap_or_else(|| panic!("no `{label}` on screen:\n{screen}"));
    &c[c.find(label).unwrap()..]
}

fn assert_valued(screen: &str, labels: &[&str]) {
    for label in labels {
        let c = cell(screen, label);
        assert!(!c.contains('—'), "`{label}` has no value: `{c}`\n{screen}");
        assert!(c.chars().any(|ch| ch.is_ascii_digit()), "`{c}`\n{screen}");
    }
}

#[test]
fn every_preset_renders_its_demo_story_at_200x50() {
    for preset in ["beam", "go", "http"] {
        let story = story_for(preset);
        for (t, pod) in [
            (CYCLE_START + 90, None),
            (CYCLE_START + 30, None),
            (CYCLE_START + 90, Some(story.sick_pod())),
        ] {
            let st = state(preset, t, pod);
            let s = screen(&st);
            assert!(!s.contains("loading…"), "{preset} at {t}:\n{s}");
            assert!(!s.contains('✗'), "{preset} at {t}:\n{s}");
            // the sick pod's restart row has its counts and reason
            let reason = match preset {
                "beam" | "go" => "OOMKilled",
                "http" => "Error",
                other => panic!("no restart reason for {other}"),
            };
            let row = cells(&s)
                .find(|c| c.starts_with(story.sick_pod()) && c.contains(reason))
                .unwrap_or_else(|| panic!("{preset}: no restarts row\n{s}"));
            assert!(!row.contains('—'), "{preset}: `{row}`\n{s}");
            // and how long ago it happened
            assert!(
                row.contains(&format!("{reason} ")) && row.contains(" ago"),
                "{preset}: `{row}`\n{s}"
            );
            // the memory pane's rss / cache line of the broken-down pod
            assert_valued(&s, &["rss / cache"]);
            match preset {
                "beam" => assert_valued(&s, &["run queue", "enqueued", "http p95", "BEAM total"]),
                "go" => assert_valued(
                    &s,
                    &[
                        "goroutines",
                        "threads",
                        "sched lat p95",
                        "gc pause max",
                        "concurrent",
                        "websockets",
                        "db pool",
                        "api p95",
                        "db query p95",
                        "Go sys",
                    ],
                ),
                "http" => assert_valued(
                    &s,
                    &[
                        "cpu cores",
                        "throttled",
                        "node cpu busy",
                        "node mem avai", // the label column is 13 wide
                        "requests",
                        "5xx",
                        "p95",
                        "p99",
                        "db pool in use",
                    ],
                ),
                other => panic!("no expectations for {other}"),
            }
        }
    }
}

/// The incident is on screen: go shows a goroutine count past its warn level
/// and the API p95 in seconds; http shows a 5xx ratio in percent over 5%.
#[test]
fn the_incident_is_visible_on_screen() {
    let go = screen(&state("go", CYCLE_START + 90, None));
    let g = cell(&go, "goroutines");
    assert!(g.contains('k'), "`{g}`\n{go}");
    let http = screen(&state("http", CYCLE_START + 90, None));
    let e = cell(&http, "5xx");
    let pct: f64 = e
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.trim_end_matches('%').parse().ok())
        .unwrap_or_else(|| panic!("`{e}`\n{http}"));
    assert!(pct > 5.0, "`{e}`\n{http}");
}
