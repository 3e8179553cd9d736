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
        learned: vec![],
    };
    update::update(&mut s, Event::Source(SourceEvent::Echo(ev)));
    assert!(s.sources_answered());
    assert!(header(&s).contains("echo ✓"), "{}", header(&s));
    // an answer of an older generation is dropped
    let stale = EchoEvent {
        gen: gen - 1,
        at_ms: s.now_ms,
        job: Some("old".into()),
        learned: vec![],
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

/// What a source sees of pods goes into the Scope through an Effect (the
/// app applies it), and every feature reacts to the Scope through `Ctx`,
/// never by reading another feature's state: here the echo source learns
/// the job's pods and plans again with them, once.
#[test]
fn it_reads_the_scope_through_ctx_when_pods_are_learned() {
    let mut s = state();
    s.target.job = Some("api".into());
    update::start(&mut s);
    let answer = |s: &State, learned: &[(&str, &str)]| EchoEvent {
        gen: s.echo.common.gen,
        at_ms: s.now_ms,
        job: Some("api".into()),
        learned: learned
            .iter()
            .map(|(j, p)| (j.to_string(), p.to_string()))
            .collect(),
    };
    let ev = answer(&s, &[("api", "api-1"), ("api", "api-2"), ("other", "x-1")]);
    let (cmds, _) = update::update(&mut s, Event::Source(SourceEvent::Echo(ev)));
    assert_eq!(
        s.scope.pods_of("api"),
        vec!["api-1".to_string(), "api-2".to_string()]
    );
    let p = plans(&cmds);
    assert_eq!(p.len(), 1, "{cmds:?}");
    let EchoCommand::Plan { pods, job, .. } = p[0];
    assert_eq!(job.as_deref(), Some("api"));
    assert_eq!(pods, &vec!["api-1".to_string(), "api-2".to_string()]);
    // the same pods again: the Scope does not change, no plan
    let ev = answer(&s, &[("api", "api-1")]);
    let (cmds, _) = update::update(&mut s, Event::Source(SourceEvent::Echo(ev)));
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
