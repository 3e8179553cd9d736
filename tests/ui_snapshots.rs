//! UI snapshots (insta + ratatui TestBackend) of each pane and the whole
//! screen at 80x24 and 200x50, from the demo at a fixed instant, plus
//! cell-colour checks where colour carries meaning.

mod common;

use ratatui::buffer::Buffer;
use watchfloor::app::update::{self, Event};
use watchfloor::app::SourceEvent;
use watchfloor::app::{Action, State};
use watchfloor::config::theme::Theme;
use watchfloor::export::buffer_to_text;
use watchfloor::features::metrics::MetricsEvent;
use watchfloor::ui::render;

/// 1_700_000_040 is the start of a demo cycle for seed 0.
const CYCLE_START: i64 = 1_700_000_040;

fn demo_state(t_s: i64, pod: Option<&str>) -> State {
    common::demo_state(t_s, pod, 300, 0)
}

fn screen(st: &State, w: u16, h: u16) -> String {
    buffer_to_text(&render(st, w, h))
}

#[test]
fn whole_screen_200x50_and_80x24() {
    let st = demo_state(CYCLE_START + 90, None);
    insta::assert_snapshot!("screen_200x50", screen(&st, 200, 50));
    insta::assert_snapshot!("screen_80x24", screen(&st, 80, 24));
    // the smallest screen still says LIVE and how each backend is
    let small = screen(&st, 40, 10);
    let header = small.lines().next().unwrap();
    assert!(
        header.contains("● LIVE") && header.contains("demo ✓"),
        "{small}"
    );
    insta::assert_snapshot!("screen_40x10", small);
}

#[test]
fn each_pane_zoomed() {
    let mut st = demo_state(CYCLE_START + 90, Some("app-1"));
    for (i, id) in ["memory", "scheduler", "restarts", "admission"]
        .iter()
        .enumerate()
    {
        assert_eq!(st.metrics.dashboard.as_ref().unwrap().panes[i].id, *id);
        st.ui.focused = watchfloor::app::state::Focus::Pane(i);
        st.ui.zoom = true;
        insta::assert_snapshot!(format!("pane_{id}_80x24"), screen(&st, 80, 24));
        insta::assert_snapshot!(format!("pane_{id}_200x50"), screen(&st, 200, 50));
    }
}

#[test]
fn help_and_picker_overlays() {
    let mut st = demo_state(CYCLE_START + 30, None);
    update::apply(&mut st, Action::ToggleHelp);
    let help = screen(&st, 100, 40);
    for b in st.keymap.bindings(watchfloor::app::keymap::Mode::Normal) {
        assert!(help.contains(&b.desc), "help lacks {}:\n{help}", b.desc);
    }
    // at 80x24 every key still fits (two columns)
    let small = screen(&st, 80, 24);
    for b in st.keymap.bindings(watchfloor::app::keymap::Mode::Normal) {
        assert!(
            small.contains(&b.desc),
            "80x24 help lacks {}:\n{small}",
            b.desc
        );
    }
    let tall = screen(&st, 100, 80);
    assert!(tall.contains("choose (pod, or filter)"), "{tall}");
    insta::assert_snapshot!("help_80x24", small);
    // what does not fit scrolls into view
    assert!(!small.contains(":quit"), "{small}");
    let mut pages = 0;
    while !screen(&st, 80, 24).contains(":quit") && pages < 5 {
        update::apply(&mut st, Action::PageDown);
        pages += 1;
    }
    let scrolled = screen(&st, 80, 24);
    assert!(pages > 0 && scrolled.contains(":quit"), "{scrolled}");
    for _ in 0..pages {
        update::apply(&mut st, Action::PageUp);
    }
    update::apply(&mut st, Action::Close);
    update::apply(&mut st, Action::OpenPodPicker);
    insta::assert_snapshot!("picker_80x24", screen(&st, 80, 24));
}

fn find(buf: &Buffer, text: &str) -> Option<(u16, u16)> {
    let area = buf.area;
    for y in 0..area.height {
        let row: String = (0..area.width)
            .map(|x| buf[(x, y)].symbol().chars().next().unwrap_or(' '))
            .collect();
        if let Some(i) = row.find(text) {
            return Some((row[..i].chars().count() as u16, y));
        }
    }
    None
}

#[test]
fn pods_with_different_run_queues_are_rows_not_one_sum() {
    let st = demo_state(CYCLE_START + 90, None);
    let d = st.metrics.dashboard.clone().unwrap();
    let pane = d.pane("scheduler").unwrap();
    let rows = watchfloor::features::metrics::panes::scheduler::view(&st, pane, None);
    let total = rows
        .iter()
        .find(|r| r.label.starts_with("run queue"))
        .unwrap();
    assert_eq!(total.label, "run queue Σ3", "the total says it is one");
    let pods: Vec<_> = rows
        .iter()
        .skip_while(|r| r.label != total.label)
        .skip(1)
        .take_while(|r| r.label.starts_with("  app-"))
        .collect();
    let labels: Vec<&str> = rows.iter().map(|r| r.label.as_str()).collect();
    assert_eq!(pods.len(), 2, "{labels:?}");
    assert_eq!(pods[0].label.trim(), "app-1", "the loaded pod first");
    assert_ne!(pods[0].value, pods[1].value, "{labels:?}");
}

#[test]
fn colour_carries_meaning() {
    let st = demo_state(CYCLE_START + 94, None);
    let theme = Theme::default_theme();
    let buf = render(&st, 200, 50);
    // OOMKilled stands out in the restarts table
    let (x, y) = find(&buf, "OOMKilled").expect("OOMKilled on screen");
    assert_eq!(buf[(x, y)].fg, theme.oom.fg.unwrap());
    assert_eq!(buf[(x, y)].bg, theme.oom.bg.unwrap());
    // app-1's working set is past its critical threshold: its bar is red
    let (x, y) = find(&buf, "app-1   ").expect("app-1 memory row");
    let bar_cell = &buf[(x + 13, y)];
    assert_eq!(bar_cell.symbol(), "█");
    assert_eq!(
        bar_cell.fg,
        theme.crit.fg.unwrap(),
        "app-1 bar should be critical"
    );
    // a healthy pod's bar is not
    let (x, y) = find(&buf, "app-2   ").expect("app-2 memory row");
    assert_ne!(buf[(x + 13, y)].fg, theme.crit.fg.unwrap());
    // rejected admissions above the critical rate are red too
    let (x, y) = find(&buf, "rejected ").expect("rejected headline");
    assert_eq!(buf[(x + 9, y)].fg, theme.crit.fg.unwrap());
    // early in the cycle the same cells are calm
    let calm = render(&demo_state(CYCLE_START + 5, None), 200, 50);
    let (x, y) = find(&calm, "rejected ").unwrap();
    assert_ne!(calm[(x + 9, y)].fg, theme.crit.fg.unwrap());
}

#[test]
fn hostile_label_values_cannot_reach_the_terminal() {
    let mut st = demo_state(CYCLE_START + 30, None);
    let body = br#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"pod":"evil\u001b]0;pwned\u0007\u001b[2J","container":"app"},"value":[1700000070,"4"]}]}}"#;
    let f = watchfloor::features::metrics::client::prometheus::parse_envelope(200, body).unwrap();
    let (gen, at_ms) = (st.metrics.common.gen, st.now_ms);
    update::update(
        &mut st,
        Event::Source(SourceEvent::Metrics(MetricsEvent::Query {
            gen,
            alt: 0,
            key: "restarts.total".into(),
            incremental: false,
            start_ms: 0,
            until_ms: 0,
            at_ms,
            result: Ok(f),
        })),
    );
    let buf = render(&st, 200, 50);
    for c in buf.content() {
        assert!(
            !c.symbol().chars().any(|ch| ch.is_control()),
            "control char in cell {:?}",
            c.symbol()
        );
    }
    assert!(buffer_to_text(&buf).contains("evil"));
}

/// Under each colour depth, every theme renders only colours that depth
/// shows (no 24-bit colours behind a 256-colour TERM, no indexed colours on
/// a 16-colour terminal, no colour at all under NO_COLOR), and the focus,
/// the header and the OOM badge stay distinguishable without colour.
#[test]
fn every_theme_fits_every_colour_depth() {
    use ratatui::style::{Color, Modifier};
    use watchfloor::config::colors::{fit, ColorDepth};
    let base = demo_state(CYCLE_START + 90, None);
    for name in Theme::names() {
        for depth in [
            ColorDepth::TrueColor,
            ColorDepth::Ansi256,
            ColorDepth::Ansi16,
            ColorDepth::Mono,
        ] {
            let mut st = base.clone();
            st.theme = fit(Theme::builtin(name).unwrap(), depth);
            let buf = render(&st, 200, 50);
            for cell in buf.content() {
                for c in [cell.fg, cell.bg] {
                    assert!(depth.allows(c), "{name} at {depth:?}: {c:?}");
                }
            }
            if depth == ColorDepth::Mono {
                // the header bar is reverse video, the focused border bold
                let header = &buf[(1, 0)];
                assert!(
                    header.modifier.contains(Modifier::REVERSED),
                    "{name}: {header:?}"
                );
                assert_eq!(header.fg, Color::Reset);
            }
        }
    }
}

/// Pods of one Deployment differ only in their suffix: at 80 columns the
/// memory and restarts rows still tell them apart (names are cut in the
/// middle, not at the right).
#[test]
fn pods_differing_only_in_their_suffix_stay_distinct_at_80_columns() {
    let mut st = demo_state(CYCLE_START + 90, None);
    let rename = |p: &str| match p {
        "app-1" => Some("checkout-api-7d9f8b6c5-x2k4q"),
        "app-2" => Some("checkout-api-7d9f8b6c5-p9m3z"),
        "app-3" => Some("checkout-api-7d9f8b6c5-w7t2c"),
        _ => None,
    };
    for q in st.metrics.store.queries.values_mut() {
        for s in &mut q.series {
            if let Some(p) = s.labels.get("pod").and_then(|p| rename(p)) {
                s.labels.insert("pod".into(), p.into());
            }
        }
    }
    let text = screen(&st, 80, 24);
    // the memory rows (a bar and a percentage) of the pods shown
    for suffix in ["x2k4q", "p9m3z"] {
        assert!(
            text.lines().any(|l| l.contains(suffix) && l.contains('%')),
            "memory row of {suffix}:\n{text}"
        );
    }
    // the restarts table (its own column width): every pod, apart
    for suffix in ["x2k4q", "p9m3z", "w7t2c"] {
        assert!(
            text.lines().any(|l| l.contains(suffix)
                && (l.contains("Completed") || l.contains("OOMKilled") || l.contains('—'))),
            "restarts row of {suffix}:\n{text}"
        );
    }
}

/// The header keeps, longest: LIVE/PAUSED and every source's health, then
/// the profile and the clock; the detection detail goes first. A
/// production profile stands out; LIVE says so when no source answers.
#[test]
fn the_header_keeps_what_matters_longest() {
    let mut st = demo_state(CYCLE_START + 90, None);
    st.profile = Some("prod-eu".into());
    let header = |st: &State, w: u16| screen(st, w, 10).lines().next().unwrap().to_string();
    let wide = header(&st, 200);
    assert!(
        wide.contains("dash beam") && wide.contains("prod-eu"),
        "{wide}"
    );
    for w in [120, 100, 80] {
        let h = header(&st, w);
        assert!(h.contains("● LIVE") && h.contains("demo ✓"), "{w}: {h}");
        assert!(h.contains("prod-eu"), "{w}: {h}");
        assert!(
            h.contains(":15:30") || h.contains(":14:30"),
            "clock at {w}: {h}"
        );
        if w <= 80 {
            assert!(!h.contains("dash"), "the dashboard goes first at {w}: {h}");
        }
    }
    // a production profile: marked, in the warning colour, reversed
    st.production = true;
    let buf = render(&st, 120, 10);
    let text = buffer_to_text(&buf);
    let first = text.lines().next().unwrap();
    let at = first.find("PROD prod-eu").expect(first);
    let col = first[..at].chars().count() as u16;
    assert_eq!(buf[(col, 0)].fg, st.theme.warn.fg.unwrap());
    // the job in view is the one chosen, not the one detected
    st.metrics.detection = Some(watchfloor::dashboard::detect::Detection {
        preset: "beam".into(),
        variant: None,
        job: Some("node".into()),
        score: (3, 3),
        found: 30,
        total: 32,
        missing: vec![],
        labels: Default::default(),
    });
    st.target.job = Some("prometheus".into());
    let h = header(&st, 200);
    assert!(
        h.contains("job prometheus") && !h.contains("job node"),
        "{h}"
    );
    // every source failing: LIVE says nothing answers
    let at_ms = st.now_ms;
    st.metrics
        .common
        .health
        .failed(at_ms, "connection refused".into(), false);
    let h = header(&st, 120);
    assert!(
        h.contains("LIVE · no source answering") || h.contains("LIVE ✗"),
        "{h}"
    );
    let h = header(&st, 200);
    assert!(h.contains("no source answering"), "{h}");
}

/// Half the signals missing (a service that is not the seeds' own): the
/// panes with no series give their space to the panes with data, are named
/// in the footer, and stay reachable with Tab (focused, one is drawn), at
/// every size; no row of the screen is left blank.
#[test]
fn panes_without_data_give_their_space_away_and_stay_reachable() {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    let mut st = demo_state(CYCLE_START + 90, None);
    let d = st.metrics.dashboard.clone().unwrap();
    let gone = ["scheduler", "admission"];
    for q in st.metrics.queries.clone() {
        if gone.contains(&q.pane.as_str()) {
            let data = st.metrics.store.entry(&q.key);
            data.series.clear();
            data.error = None;
            data.last_ok = Some(st.now_ms);
            data.empty_alts = u64::MAX;
        }
    }
    let titles: Vec<&str> = d.panes.iter().map(|p| p.title.as_str()).collect();
    for (w, h) in [(200u16, 50u16), (120, 35), (100, 30), (80, 24)] {
        let mut st = st.clone();
        update::update(&mut st, Event::Resize(w, h));
        let text = screen(&st, w, h);
        let footer = text.lines().last().unwrap();
        assert!(
            footer.contains("+2 panes: Scheduler, Admission & latency — Tab"),
            "{w}x{h}: {footer}"
        );
        assert!(!text.contains("Admission & latency ─"), "{w}x{h}:\n{text}");
        // no row left blank: every body row is inside a drawn pane
        for (n, line) in text.lines().enumerate().skip(1) {
            assert!(!line.trim().is_empty(), "{w}x{h} row {n} blank:\n{text}");
        }
        // Tab reaches every pane, the hidden ones drawn while focused
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..titles.len() + 1 {
            update::update(
                &mut st,
                Event::Key(KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE)),
            );
            if let Some(i) = st.ui.focused.pane() {
                let shown = screen(&st, w, h);
                assert!(
                    shown.contains(titles[i]),
                    "{w}x{h}: {} not drawn:\n{shown}",
                    titles[i]
                );
                seen.insert(i);
            }
        }
        assert_eq!(seen.len(), titles.len(), "{w}x{h}: reached {seen:?}");
    }
}

/// A clock tick redraws the header over the last full frame: the header
/// is the one of the new second, every other row is the last frame's.
#[test]
fn a_tick_redraws_only_the_header() {
    let st = demo_state(CYCLE_START + 90, None);
    let last = render(&st, 200, 50);
    let mut later = st.clone();
    later.now_ms += 1000;
    let mut term = ratatui::Terminal::new(ratatui::backend::TestBackend::new(200, 50)).unwrap();
    term.draw(|f| watchfloor::ui::draw_header_over(f, &later, &last))
        .unwrap();
    let got = buffer_to_text(term.backend().buffer());
    let full = buffer_to_text(&render(&later, 200, 50));
    let old = buffer_to_text(&last);
    assert_eq!(got.lines().next(), full.lines().next(), "the new header");
    assert_ne!(got.lines().next(), old.lines().next(), "the clock moved");
    assert!(
        got.lines().skip(1).eq(old.lines().skip(1)),
        "the rest is the last frame"
    );
    // another size: a full frame
    let mut term = ratatui::Terminal::new(ratatui::backend::TestBackend::new(120, 40)).unwrap();
    term.draw(|f| watchfloor::ui::draw_header_over(f, &later, &last))
        .unwrap();
    assert_eq!(
        buffer_to_text(term.backend().buffer()),
        buffer_to_text(&render(&later, 120, 40))
    );
}

/// `--low-bandwidth`: no box drawing, block or braille cell is left (one
/// byte a cell on the wire), and the clock moves every 10 s, not every
/// second.
#[test]
fn low_bandwidth_draws_ascii_and_ticks_slower() {
    let mut st = demo_state(CYCLE_START + 90, None);
    st.ui.low_bandwidth = true;
    let text = screen(&st, 200, 50);
    let wide: Vec<char> = text
        .chars()
        .filter(|c| matches!(*c as u32, 0x2500..=0x259f | 0x2800..=0x28ff))
        .collect();
    assert!(wide.is_empty(), "{wide:?}\n{text}");
    assert!(text.contains("+-") && text.contains('|'), "{text}");
    let ui_symbols: Vec<char> = text
        .chars()
        .filter(|c| "·Σ—↑↓←→❚≥…●✓✗▶▸⚠".contains(*c))
        .collect();
    assert!(ui_symbols.is_empty(), "{ui_symbols:?}\n{text}");
    // the clock: a tick within the same 10 s is no change
    let base = (st.now_ms / 10_000) * 10_000;
    st.now_ms = base;
    let (_, changed) = update::update(&mut st, Event::Tick(base + 3_000));
    assert!(!changed);
    let (_, changed) = update::update(&mut st, Event::Tick(base + 10_000));
    assert!(changed);
}

/// In mono, series that colour cannot tell apart differ by marker, and the
/// legend shows each one's marker.
#[test]
fn mono_series_differ_by_marker() {
    let mut st = demo_state(CYCLE_START + 90, None);
    st.theme = Theme::builtin("mono").unwrap();
    let text = screen(&st, 200, 50);
    let legend = text
        .lines()
        .find(|l| l.contains("queue p95 responses/http") && l.contains("━"))
        .unwrap_or_else(|| panic!("no legend:\n{text}"));
    assert!(
        legend.contains("━ queue p95") && legend.contains("• queue p95"),
        "{legend}"
    );
    // with colours, every series keeps the line marker
    let colour = screen(&demo_state(CYCLE_START + 90, None), 200, 50);
    assert!(
        !colour.lines().any(|l| l.contains("• queue p95")),
        "{colour}"
    );
}

/// A limit far above the values (a node's memory standing in for a missing
/// container limit) is left out of the memory chart, so the values are
/// not flattened on its zero row; a real limit stays.
#[test]
fn a_stand_in_limit_does_not_flatten_the_memory_chart() {
    let st = demo_state(CYCLE_START + 90, None);
    let legend = |st: &State| {
        screen(st, 200, 50)
            .lines()
            .find(|l| l.contains("━ working set"))
            .map(str::to_string)
            .unwrap_or_default()
    };
    assert!(legend(&st).contains("━ limit"), "{}", legend(&st));
    let mut big = st.clone();
    let limit_keys: Vec<String> = big
        .metrics
        .queries
        .iter()
        .filter(|q| q.pane == "memory" && q.role == watchfloor::dashboard::Role::Limit)
        .map(|q| q.key.clone())
        .collect();
    assert!(!limit_keys.is_empty());
    for k in limit_keys {
        for s in &mut big.metrics.store.entry(&k).series {
            for p in s.points.iter_mut() {
                p.1 *= 100.0;
            }
        }
    }
    let l = legend(&big);
    assert!(l.contains("━ working set") && !l.contains("limit"), "{l}");
}

/// A pod no answer named explains the empty panes by the pod, not by a
/// collector the backend has.
#[test]
fn an_unknown_pod_is_the_reason_given() {
    let mut st = demo_state(CYCLE_START + 90, None);
    st.metrics.known_pods = st.answered_pods();
    st.target.pod = Some("ghost-1".into());
    for q in st.metrics.queries.clone() {
        let d = st.metrics.store.entry(&q.key);
        d.series.clear();
        d.error = None;
        d.last_ok = Some(st.now_ms);
        d.empty_alts = u64::MAX;
    }
    let text = screen(&st, 200, 50);
    assert!(text.contains("no answer has named pod ghost-1"), "{text}");
    assert!(text.contains("pods seen: app-1, app-2, app-3"), "{text}");
    assert!(
        !text.contains("needs container_memory_working_set_bytes"),
        "{text}"
    );
}

/// A breakdown label longer than the pods' column takes free columns
/// beside the bar instead of being cut mid-word.
#[test]
fn long_breakdown_labels_use_free_columns() {
    let mut st = demo_state(CYCLE_START + 90, None);
    for q in &mut st.metrics.queries {
        if q.pane == "memory" && q.role == watchfloor::dashboard::Role::Unexplained {
            q.label = "not explained by BEAM".into();
        }
    }
    let text = screen(&st, 200, 50);
    assert!(text.contains("not explained by BEAM "), "{text}");
}

/// Tab in the command line shows its choices in a menu above the input
/// line, the one in the text highlighted; a single choice needs no menu.
#[test]
fn tab_completion_shows_a_menu_of_choices() {
    use watchfloor::app::views::View;
    let mut st = demo_state(CYCLE_START + 90, None);
    update::apply(&mut st, Action::OpenCommand);
    if let Some(View::Input { editor, .. }) = st.ui.views.top_mut() {
        editor.set_text("r");
    }
    update::apply(&mut st, Action::InputComplete);
    let text = screen(&st, 120, 30);
    assert!(text.contains(" 1/2 "), "{text}");
    let menu: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("range") || l.contains("refresh"))
        .collect();
    assert!(menu.len() >= 2, "{text}");
    update::apply(&mut st, Action::InputComplete);
    assert!(screen(&st, 120, 30).contains(" 2/2 "));
    // one choice: completed in place, no menu
    update::apply(&mut st, Action::Close);
    update::apply(&mut st, Action::OpenCommand);
    if let Some(View::Input { editor, .. }) = st.ui.views.top_mut() {
        editor.set_text("qu");
    }
    update::apply(&mut st, Action::InputComplete);
    let text = screen(&st, 120, 30);
    assert!(!text.contains(" 1/1 ") && text.contains(":quit"), "{text}");
}

/// The admission pane: a figure's label never wraps away from its value,
/// and the time axis's "UTC" never runs into the details beside it.
#[test]
fn admission_labels_keep_their_values_and_the_axis_its_room() {
    let st = demo_state(CYCLE_START + 90, None);
    // every height: the axis row meets a details row at some of them
    let sizes = [80u16, 100, 120, 160, 200]
        .into_iter()
        .flat_map(|w| (20u16..=50).step_by(2).map(move |h| (w, h)));
    for (w, h) in sizes {
        let text = screen(&st, w, h);
        for line in text.lines() {
            let body = line.trim_matches('│').trim_end();
            assert!(
                !body.ends_with(" http") && !body.ends_with(" queue"),
                "{w}x{h}: a label wrapped away from its value: {line}"
            );
            if let Some(i) = line.find("UTC") {
                let next = line[i + 3..].chars().next().unwrap_or(' ');
                assert!(!next.is_alphanumeric(), "{w}x{h}: {line}");
            }
        }
        // the last headline figure is whole, on one line
        if text.contains("Admission & latency ─") && h >= 30 {
            assert!(text.contains("http p95 "), "{w}x{h}:\n{text}");
        }
    }
}

fn keys_state(keymap: watchfloor::app::keymap::Keymap) -> State {
    let target = watchfloor::app::Target {
        range_secs: 3600,
        ..Default::default()
    };
    State::new(None, target, 5.0, Theme::default_theme(), keymap)
}

fn footer(s: &State) -> String {
    screen(s, 120, 10).lines().last().unwrap_or("").to_string()
}

fn press(s: &mut State, c: crossterm::event::KeyCode) {
    use crossterm::event::{KeyEvent, KeyModifiers};
    update::update(s, Event::Key(KeyEvent::new(c, KeyModifiers::NONE)));
}

/// The footer shows what the top view publishes, with the keys the
/// keymap binds (not keys written into the footer).
#[test]
fn views_publish_their_hints_with_the_keymap_s_keys() {
    let km = watchfloor::app::keymap::Keymap::parse(
        "test",
        "inherits = \"default\"\n\
             [[input]]\non = \"ctrl-t\"\nrun = \"input_complete\"\n\
             [[picker]]\non = \"o\"\nrun = \"picker_select\"\n",
    )
    .unwrap();
    let mut s = keys_state(km);
    s.metrics.common.configured = false;
    let base = footer(&s);
    assert!(base.contains("? help") && base.contains("p pod"), "{base}");
    // the pod picker: its own keys, the rebound one included
    press(&mut s, crossterm::event::KeyCode::Char('p'));
    let picker = footer(&s);
    assert!(picker.contains("o choose"), "{picker}");
    assert!(!picker.contains("p pod"), "{picker}");
    press(&mut s, crossterm::event::KeyCode::Esc);
    // the command line: its hints name the rebound completion key
    press(&mut s, crossterm::event::KeyCode::Char(':'));
    let input = footer(&s);
    assert!(input.contains("ctrl-t complete"), "{input}");
    assert!(input.contains("Esc cancel"), "{input}");
}

/// A narrow footer drops whole hints: it never ends in a cut word such as
/// `/ searc`, and each hint it shows is a key and its whole label.
#[test]
fn a_narrow_footer_drops_whole_hints() {
    let st = demo_state(1_700_000_100, None);
    let labels = [
        "help", "quit", "logs", "search", "pause", "pod", "command", "zoom", "focus", "shorter",
        "longer", "Tab",
    ];
    let mut shortened = false;
    for w in 40..=140u16 {
        let s = screen(&st, w, 24);
        let footer = s.lines().last().unwrap().trim_end();
        assert!(
            labels.iter().any(|l| footer.ends_with(l)),
            "{w} columns: footer `{footer}` ends in a cut hint"
        );
        shortened |= !footer.ends_with("longer");
    }
    assert!(shortened, "no width made the footer drop a hint");
}

/// The header only grows with the width: whatever it shows at one width
/// it still shows one column wider (`wf` may become `watchfloor`), and the
/// clock is never dropped while the dashboard's name is shown.
#[test]
fn the_header_only_grows_with_the_width() {
    let st = demo_state(CYCLE_START + 90, None);
    let header = |w: u16| {
        let buf = render(&st, w, 24);
        (0..w)
            .map(|x| buf[(x, 0)].symbol().to_string())
            .collect::<String>()
    };
    let mut before = header(20);
    for w in 21..=220u16 {
        let now = header(w);
        for word in before.split_whitespace() {
            let word = if word == "wf" { "w" } else { word };
            assert!(
                now.contains(word),
                "`{word}` shown at {} columns, gone at {w}:\n{before}\n{now}",
                w - 1
            );
        }
        if now.contains("dash") {
            assert!(now.contains(" UTC"), "{w}: {now}");
        }
        before = now;
    }
    assert!(
        before.contains("watchfloor") && before.contains("dash"),
        "{before}"
    );
}

/// OOM kills and restarts the Kubernetes source knows are marked on the
/// charts' time axes and named in their legends; a mark outside the window
/// is not drawn, and the memory chart marks only its pod's.
#[test]
fn terminations_are_marked_on_the_charts() {
    use watchfloor::core::TimeMark;
    let mut st = demo_state(CYCLE_START + 90, None);
    let s = screen(&st, 200, 50);
    assert!(!s.contains("OOM kill"), "{s}");
    st.marks = vec![TimeMark {
        at_ms: st.now_ms - 60_000,
        pod: "app-1".into(),
        oom: true,
    }];
    let s = screen(&st, 200, 50);
    let legend = s
        .lines()
        .find(|l| l.contains("queue p95 responses/http") && l.contains("━"))
        .unwrap();
    assert!(legend.contains("┃ OOM kill"), "{legend}\n{s}");
    // a restart that is not an OOM, and one long before the window
    st.marks = vec![
        TimeMark {
            at_ms: st.now_ms - 30_000,
            pod: "app-2".into(),
            oom: false,
        },
        TimeMark {
            at_ms: st.now_ms - 86_400_000,
            pod: "app-1".into(),
            oom: true,
        },
    ];
    let s = screen(&st, 200, 50);
    assert!(s.contains("┃ restart") && !s.contains("OOM kill"), "{s}");
}
