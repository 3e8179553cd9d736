//! `update`: synchronous and pure over State + event, returning commands.
//! Tests drive the app through here without a terminal.
//!
//! Re-targeting happens in one place: `update` compares the Target before
//! and after the event and, when it changed, re-targets every source once at
//! the end. Actions only change the Target; they never start sources.

use crossterm::event::KeyEvent;

use crate::app::registry;
pub use crate::app::registry::start;
pub use crate::app::registry::{Command, SourceEvent};
use crate::app::state::State;
pub use crate::features::metrics::TARGET_POINTS;

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Key(KeyEvent),
    Resize(u16, u16),
    /// The clock (ms); redraws on second boundaries for ages and the header.
    Tick(i64),
    Source(SourceEvent),
    /// SIGTERM, SIGHUP, SIGINT.
    Signal,
}

/// Applies one event. Returns the commands to run and whether the screen changed.
pub fn update(state: &mut State, event: Event) -> (Vec<Command>, bool) {
    let before = state.target.clone();
    let (mut cmds, changed) = match event {
        Event::Key(k) => crate::app::keys::on_key(state, k),
        Event::Resize(w, h) => {
            state.ui.width = w;
            state.ui.height = h;
            (vec![], true)
        }
        Event::Tick(now) => {
            // the header's clock: every second, or every 10 s on a slow link
            let every = if state.ui.low_bandwidth { 10_000 } else { 1000 };
            let changed = now / every != state.now_ms / every;
            state.now_ms = now;
            (vec![], changed)
        }
        Event::Source(ev) => registry::dispatch(state, ev),
        Event::Signal => {
            state.quit = true;
            (vec![Command::Quit], true)
        }
    };
    if state.target != before {
        // the time cursor belongs to the old window, unless the new one
        // holds it (a jump to the logs of that moment, and back)
        let (start, end) = (
            state.target.start_ms(state.now_ms),
            state.target.end_ms(state.now_ms),
        );
        state.cursor_ms = state.cursor_ms.filter(|c| (start..end).contains(c));
        cmds.extend(registry::retarget(state, &before));
    }
    (cmds, changed)
}

pub use crate::app::keys::apply;
pub(crate) use crate::app::keys::{open_input, pop_view, push_view};
