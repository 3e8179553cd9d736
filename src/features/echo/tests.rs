//! The seam, proved with a source that exists only here.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{EchoCommand, EchoEvent};
use crate::app::keymap::Keymap;
use crate::app::state::State;
use crate::app::update::{self, Command, Event, SourceEvent};
use crate::app::{Backends, Target};
use crate::config::theme::Theme;

fn state() -> State {
    let target = Target {
        context: None,
        namespace: None,
        job: None,
        pod: None,
        range_secs: 3600,
        pinned_end_ms: None,
    };
    let mut s = State::new(
        None,
        target,
        5.0,
        Theme::default_theme(),
        Keymap::default_keymap(),
    );
    // only the echo source: no Prometheus, no Loki, no probes
    s.metrics.common.configured = false;
    s.echo.configure();
    s.now_ms = 1_700_000_000_000;
    s
}

fn plans(cmds: &[Command]) -> Vec<&EchoCommand> {
    cmds.iter()
        .filter_map(|c| match c {
            Command::Echo(p) => Some(p),
            _ => None,
        })
        .collect()
}

fn key(c: char) -> Event {
    Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

#[test]
fn it_starts_shows_in_the_header_and_settles_on_its_answer() {
    let mut s = state();
    let cmds = update::start(&mut s);
    assert_eq!(plans(&cmds).len(), 1, "{cmds:?}");
    assert!(!s.sources_answered(), "--once must wait for it");
    let header = |s: &State| {
        let buf = crate::ui::render(s, 200, 10);
        crate::export::buffer_to_text(&buf)
            .lines()
            .next()
            .unwrap_or("")
            .to_string()
    };
    assert!(header(&s).contains("echo …"), "{}", header(&s));
    let gen = s.echo.common.gen;
    let ev = EchoEvent {
        gen,
        at_ms: s.now_ms,
        job: None,
    };
    update::update(&mut s, Event::Source(SourceEvent::Echo(ev)));
    assert!(s.sources_answered());
    assert!(header(&s).contains("echo ✓"), "{}", header(&s));
    // an answer of an older generation is dropped
    let stale = EchoEvent {
        gen: gen - 1,
        at_ms: s.now_ms,
        job: Some("old".into()),
    };
    let (_, changed) = update::update(&mut s, Event::Source(SourceEvent::Echo(stale)));
    assert!(!changed);
    assert_eq!(s.echo.answered, Some(None));
}

#[test]
fn a_target_change_gives_it_exactly_one_new_plan() {
    let mut s = state();
    update::start(&mut s);
    // a longer window (a key through update): one re-target, one plan
    let (cmds, _) = update::update(&mut s, key(']'));
    assert_eq!(plans(&cmds).len(), 1, "{cmds:?}");
    assert_eq!(s.echo.plans.len(), 2);
    // a key that changes nothing in the Target: no plan
    let (cmds, _) = update::update(&mut s, key('?'));
    assert!(plans(&cmds).is_empty(), "{cmds:?}");
}

#[test]
fn it_reads_the_scope_through_ctx_when_another_source_learns_pods() {
    use crate::features::metrics::MetricsEvent;
    let mut s = state();
    s.target.job = Some("api".into());
    update::start(&mut s);
    // the metrics source learns the job's pods from an answer: the Scope
    // changes and the echo source plans again with them, once
    s.metrics.common.configured = true;
    s.metrics.dashboard = crate::dashboard::Dashboard::builtin("http");
    let m = s.metrics.plan(&crate::ctx!(s), true);
    assert!(!m.is_empty());
    let q = s.metrics.queries[0].key.clone();
    let series = |pod: &str| crate::store::Series {
        labels: [("job", "api"), ("pod", pod)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        points: [(s.now_ms, 1.0)].into_iter().collect(),
    };
    let ev = MetricsEvent::Query {
        gen: s.metrics.common.gen,
        key: q,
        alt: 0,
        incremental: false,
        start_ms: s.now_ms - 60_000,
        until_ms: s.now_ms,
        at_ms: s.now_ms,
        result: Ok(crate::features::metrics::client::Fetched {
            series: vec![series("api-1"), series("api-2")],
            ..Default::default()
        }),
    };
    let (cmds, _) = update::update(&mut s, Event::Source(SourceEvent::Metrics(ev.clone())));
    let p = plans(&cmds);
    assert_eq!(p.len(), 1, "{cmds:?}");
    let EchoCommand::Plan { pods, job, .. } = p[0];
    assert_eq!(job.as_deref(), Some("api"));
    assert_eq!(pods, &vec!["api-1".to_string(), "api-2".to_string()]);
    // the same pods again: the Scope does not change, no plan
    let (cmds, _) = update::update(&mut s, Event::Source(SourceEvent::Metrics(ev)));
    assert!(plans(&cmds).is_empty(), "{cmds:?}");
}

#[tokio::test]
async fn once_waits_for_it_through_its_runner() {
    let s = state();
    let s = crate::app::run::run_once(
        s,
        Backends::default(),
        (120, 10),
        std::time::Duration::from_secs(30),
    )
    .await;
    assert_eq!(s.echo.answered, Some(None), "the runner answered the plan");
    let buf = crate::ui::render(&s, 120, 10);
    let text = crate::export::buffer_to_text(&buf);
    assert!(text.contains("echo ✓"), "{text}");
}
