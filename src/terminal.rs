//! The terminal guard: raw mode + alternate screen, restored on drop, on
//! panic (before the message prints) and — via the event loop — on signals.

use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crossterm::{cursor, execute, terminal};

/// Counts bytes written to the terminal (the SSH budget).
pub struct CountingWriter<W: Write> {
    inner: W,
    pub count: Arc<AtomicU64>,
}

impl<W: Write> CountingWriter<W> {
    pub fn new(inner: W) -> Self {
        CountingWriter {
            inner,
            count: Arc::new(AtomicU64::new(0)),
        }
    }
}

impl<W: Write> Write for CountingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Gives the terminal back without ratatui's drop path, which prints to
/// stderr (and so panics) when showing the cursor fails on a gone terminal.
pub fn release<B: ratatui::backend::Backend>(mut term: ratatui::Terminal<B>) {
    if term.show_cursor().is_err() {
        std::mem::forget(term);
    }
}

/// Leaves raw mode and the alternate screen; every failure is ignored (the
/// terminal may be gone).
pub fn restore() {
    let _ = terminal::disable_raw_mode();
    // a panic inside a frame leaves a synchronized update open: end it, or
    // the terminal holds the screen until its own timeout
    let _ = execute!(
        io::stdout(),
        terminal::EndSynchronizedUpdate,
        terminal::LeaveAlternateScreen,
        cursor::Show
    );
}

pub struct TerminalGuard;

impl TerminalGuard {
    pub fn enter() -> io::Result<TerminalGuard> {
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            prev(info);
        }));
        terminal::enable_raw_mode()?;
        if let Err(e) = execute!(io::stdout(), terminal::EnterAlternateScreen, cursor::Hide) {
            restore();
            return Err(e);
        }
        Ok(TerminalGuard)
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}
