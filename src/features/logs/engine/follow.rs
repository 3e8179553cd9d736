//! The follow loop of the engine: the backfill, then tail and re-read
//! after every disconnect, or poll when the tail is refused; the phases
//! share a `Follow` and say what comes next (`Next`). The reading itself
//! (pages, gaps, late lines, dropped entries, dedupe) is in `mod.rs`.

use super::*;

impl Engine {
    pub(super) async fn run(mut self) {
        if !self.load_backfill().await {
            return;
        }
        if !self.plan.follow {
            let _ = self.status(TailMode::Done, None).await;
            return;
        }
        self.follow().await;
    }

    /// Step 1, the backfill, retried with backoff until it works. False
    /// when the receiver is gone.
    async fn load_backfill(&mut self) -> bool {
        let mut backoff = Backoff::default();
        loop {
            if !self.status(TailMode::Backfill, None).await {
                return false;
            }
            let (since, n) = (self.plan.since_ns, self.plan.backfill);
            match self.backfill(since, n).await {
                Ok(()) => return true,
                Err(e) => {
                    if !self.status(TailMode::Backfill, Some(e)).await {
                        return false;
                    }
                    tokio::time::sleep(backoff.next()).await;
                }
            }
        }
    }

    /// Steps 2 and 3: tail, resume after a disconnect, or poll, until the
    /// receiver is gone.
    async fn follow(&mut self) {
        let mut f = Follow::new();
        loop {
            if f.need_fill || f.polling {
                match self.reread(&mut f).await {
                    Next::Go(()) => {}
                    Next::Again => continue,
                    Next::Stop => return,
                }
            }
            if f.polling {
                if !self.polled(&mut f).await {
                    return;
                }
                continue;
            }
            let tail = match self.open_tail(&mut f).await {
                Next::Go(tail) => tail,
                Next::Again => continue,
                Next::Stop => return,
            };
            if !self.tail_session(tail, &mut f).await {
                return;
            }
        }
    }

    /// Step 3, the re-read after a disconnect (and each poll): the gap from
    /// just before the newest line seen, then, after a real disconnect or every
    /// [`POLL_SWEEP_EVERY`] while polling, the late-line sweep of the
    /// re-read window behind it. A failure is a status and a backoff, and
    /// the loop tries again.
    async fn reread(&mut self, f: &mut Follow) -> Next {
        // the gap itself: from just before the newest line seen
        // (never below what the backfill left out on purpose)
        let newest = self.seen.newest();
        let floor = self.plan.since_ns.max(self.floor);
        let gap_from = newest.map_or(floor, |n| n - HORIZON_NS).max(floor);
        let mut r = self.fill(gap_from).await;
        // then, after a real disconnect, lines written late while
        // the tail was away: the re-read window behind it
        let sweep = f.need_fill || f.last_sweep.elapsed() >= POLL_SWEEP_EVERY;
        if sweep && matches!(r, Ok(true)) && newest.is_some() {
            f.last_sweep = Instant::now();
            let late_from = self.seen.resume_from(floor).max(floor);
            r = self.sweep_late(late_from, gap_from).await;
        }
        match r {
            Ok(true) => {}
            Ok(false) => return Next::Stop,
            Err(e) => {
                let mode = if f.polling {
                    TailMode::Polling
                } else {
                    TailMode::Reconnecting
                };
                if !self.status(mode, Some(e)).await {
                    return Next::Stop;
                }
                tokio::time::sleep(f.backoff.next()).await;
                return Next::Again;
            }
        }
        f.need_fill = false;
        self.reconnected();
        Next::Go(())
    }

    /// A poll worked: say so if that changes the status (it clears an
    /// earlier failure), then wait for the next. False when the receiver
    /// is gone.
    async fn polled(&mut self, f: &mut Follow) -> bool {
        if (self.mode != TailMode::Polling || self.failing)
            && !self.status(TailMode::Polling, None).await
        {
            return false;
        }
        f.backoff.reset();
        tokio::time::sleep(self.plan.poll_every).await;
        true
    }

    /// Step 2: opens the WebSocket tail. Refused: polling from now on (a
    /// note, not an error). Failed: a disconnect, retried after a backoff.
    async fn open_tail(&mut self, f: &mut Follow) -> Next<Box<dyn TailStream>> {
        let gen = self.plan.gen;
        // the re-read just covered the window: the tail's own history
        // only needs the moment since
        let start = self.seen.newest().map_or(now_ns(), |n| n.min(now_ns())) - HORIZON_NS;
        self.requests += 1;
        let q = self.plan.query.clone();
        let opened = self.backend.tail(&q, start, TAIL_LIMIT).await;
        match opened {
            Ok(t) => Next::Go(t),
            Err(TailOpenError::NoWebSocket(e)) => {
                crate::info!("logs gen {gen}: no WebSocket ({e}); polling");
                f.polling = true;
                // polling is a working mode, not a failure: the reason
                // is a note beside it (the header says "polling (tail
                // refused: HTTP 404)"); failed polls are errors
                self.note = Some(format!("tail refused: {}", e.short()));
                if !self.status(TailMode::Polling, None).await {
                    return Next::Stop;
                }
                Next::Again
            }
            Err(TailOpenError::Failed(e)) => {
                if !self.wait_to_reconnect(f, Some(e)).await {
                    return Next::Stop;
                }
                Next::Again
            }
        }
    }

    /// One tail session: delivers what the tail sends until it ends, then
    /// waits to reconnect. False when the receiver is gone.
    async fn tail_session(&mut self, mut tail: Box<dyn TailStream>, f: &mut Follow) -> bool {
        if !self.status(TailMode::Tailing, None).await {
            return false;
        }
        let opened_at = Instant::now();
        let why = loop {
            match tail.next().await {
                None => break None,
                Some(Err(e)) => break Some(e),
                Some(Ok(msg)) => {
                    if !self.on_tail_message(msg, f).await {
                        return false;
                    }
                }
            }
        };
        // a tail that worked a while and then ended (max tail duration,
        // a proxy or port-forward going away) resumes at once, so a
        // flapping link never leaves the tail parked for 30 s; one that
        // dies young backs off, answered or not (a proxy that passes
        // one message and closes must not turn the client into a loop
        // of re-reads)
        if opened_at.elapsed() >= TAIL_HEALTHY_AFTER {
            f.backoff.reset();
        }
        self.wait_to_reconnect(f, why).await
    }

    /// Step 4 for one tail message: its entries, with dropped entries
    /// fetched back (batched, at most every [`REFILL_EVERY`]) and a marker
    /// for what could not be. False when the receiver is gone.
    async fn on_tail_message(&mut self, msg: TailMessage, f: &mut Follow) -> bool {
        let gen = self.plan.gen;
        let mut entries = msg.entries;
        f.pending.extend(msg.dropped);
        if !f.pending.is_empty() && f.last_refill.elapsed() >= REFILL_EVERY {
            f.last_refill = Instant::now();
            let dropped = std::mem::take(&mut f.pending);
            let (found, marker) = self.refill(&dropped).await;
            entries.extend(found);
            if let Some(m) = marker {
                if !self.send(LogsEvent::Marker { gen, marker: m }).await {
                    return false;
                }
            }
        }
        self.deliver(entries).await
    }

    /// The tail went away (`why`: the error, if any): a gap starts; say
    /// so, back off, and re-read before the next tail. False when the
    /// receiver is gone.
    async fn wait_to_reconnect(&mut self, f: &mut Follow, why: Option<SourceError>) -> bool {
        self.disconnected();
        if !self.status(TailMode::Reconnecting, why).await {
            return false;
        }
        tokio::time::sleep(f.backoff.next()).await;
        f.need_fill = true;
        true
    }
}

/// What the follow loop's phases share.
struct Follow {
    /// The WebSocket was refused: polling query_range instead.
    polling: bool,
    backoff: Backoff,
    /// A disconnect happened: re-read before the next tail.
    need_fill: bool,
    /// Dropped entries waiting to be fetched back (batched).
    pending: Vec<Dropped>,
    last_refill: Instant,
    /// While polling, late lines are swept for this often.
    last_sweep: Instant,
}

impl Follow {
    fn new() -> Follow {
        Follow {
            polling: false,
            backoff: Backoff::default(),
            need_fill: false,
            pending: Vec::new(),
            last_refill: Instant::now() - REFILL_EVERY,
            last_sweep: Instant::now(),
        }
    }
}

/// A follow phase's outcome.
enum Next<T = ()> {
    /// Go on to the next phase (with what this one produced).
    Go(T),
    /// Start the loop over (a retry, or the mode changed).
    Again,
    /// The receiver is gone: the engine ends.
    Stop,
}

/// 0 s, then 0.5, 1, 2 … 30 s.
#[derive(Default)]
pub(super) struct Backoff(u32);

impl Backoff {
    pub(super) fn next(&mut self) -> Duration {
        let d = match self.0 {
            0 => Duration::ZERO,
            n => Duration::from_millis((250u64 << n.min(7)).min(30_000)),
        };
        self.0 += 1;
        d
    }
    pub(super) fn reset(&mut self) {
        self.0 = 0;
    }
}
