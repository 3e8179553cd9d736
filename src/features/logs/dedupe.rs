//! Dedupe for the follow engine: (timestamp, stream, line) keys bounded
//! whatever the timestamps, one shared copy of each stream's labels, and
//! the per-stream mask of a private key logged one line per entry.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::time::Instant;

use crate::core::now_ms;
use crate::features::logs::client::wire::{Entry, Labels};
use crate::features::logs::engine::HORIZON_NS;
use crate::store::logs::LogLine;

fn now_ns() -> i64 {
    now_ms() * 1_000_000
}

/// Timestamps ahead of the clock do not move the resume point past now.
const FUTURE_SLACK_NS: i64 = 0;

/// A fast hash (FxHash's multiply-rotate) for label sets: they are few,
/// short and compared for equality wherever a collision would matter.
#[derive(Default)]
pub(crate) struct Fx(u64);

impl Hasher for Fx {
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_i64(&mut self, n: i64) {
        self.write_u64(n as u64)
    }
    fn write(&mut self, bytes: &[u8]) {
        for c in bytes.chunks(8) {
            let mut w = [0u8; 8];
            w[..c.len()].copy_from_slice(c);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(w))
                .wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

pub(crate) fn labels_hash(l: &Labels) -> u64 {
    let mut h = Fx::default();
    (**l).hash(&mut h);
    h.finish()
}

pub(crate) fn hash_of<T: Hash + ?Sized>(v: &T) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    v.hash(&mut h);
    h.finish()
}

/// (timestamp, stream and line) keys of the re-read window, with the
/// second each arrived.
///
/// Bounded whatever the timestamps: keys behind `newest - reread` go; keys
/// stamped past Loki's 10 min grace (a skewed clock) go `reread` after they
/// arrived (a re-read never reaches past now, so they cannot come back
/// before their time), nearer ones stay until their time; at most
/// [`MAX_FUTURE_KEYS`] come from the future; and past [`MAX_DEDUPE_KEYS`] the
/// oldest timestamps go, and the
/// re-read window shrinks to what is still known (so a re-read never
/// repeats a line it can no longer recognise).
pub struct Dedupe {
    keys: HashMap<(i64, u64), u32, std::hash::BuildHasherDefault<Fx>>,
    newest: Option<i64>,
    reread_ns: i64,
    /// Keys below this timestamp were forgotten for the cap.
    forgot_before: i64,
    prune_at: usize,
    started: Instant,
    hasher: std::hash::RandomState,
    /// Lines stamped ahead of the clock (more than [`SKEW_TOLERANCE_NS`]).
    pub skewed: u64,
}

/// Most dedupe keys held (24 B each plus the table: about 25 MiB at most).
pub const MAX_DEDUPE_KEYS: usize = 500_000;
/// At most this share of the keys may come from the future.
const MAX_FUTURE_KEYS: usize = MAX_DEDUPE_KEYS / 4;
/// Loki accepts lines this far ahead of its clock (creation_grace_period).
pub const FUTURE_GRACE_NS: i64 = 600_000_000_000;
/// A line stamped further than this ahead of the clock counts as skewed.
pub const SKEW_TOLERANCE_NS: i64 = 2_000_000_000;
pub use crate::config::DEFAULT_REREAD_SECS;

impl Default for Dedupe {
    fn default() -> Self {
        Dedupe::new((DEFAULT_REREAD_SECS * 1e9) as i64)
    }
}

impl Dedupe {
    pub fn new(reread_ns: i64) -> Dedupe {
        Dedupe {
            keys: HashMap::default(),
            newest: None,
            reread_ns: reread_ns.max(HORIZON_NS),
            forgot_before: i64::MIN,
            prune_at: 4096,
            started: Instant::now(),
            hasher: std::hash::RandomState::new(),
            skewed: 0,
        }
    }

    /// True when the entry was not seen before (and records it).
    pub fn admit(&mut self, e: &Entry) -> bool {
        let arrival = self.started.elapsed().as_secs() as u32;
        self.admit_at(e, now_ns(), arrival)
    }

    /// [`admit`](Self::admit) at a given clock (ns) and arrival second.
    pub fn admit_at(&mut self, e: &Entry, now: i64, arrival: u32) -> bool {
        let key = (e.ts_ns, key_hash(&self.hasher, &e.labels, &e.line));
        if self.keys.insert(key, arrival).is_some() {
            return false;
        }
        if e.ts_ns > now.saturating_add(SKEW_TOLERANCE_NS) {
            self.skewed += 1;
        }
        // a line from the future (a skewed clock) must not move the resume
        // point or the pruning past the present
        let t = e.ts_ns.min(now + FUTURE_SLACK_NS);
        if self.newest.is_none_or(|n| t > n) {
            self.newest = Some(t);
        }
        if self.keys.len() > self.prune_at {
            self.prune(now, arrival);
        }
        true
    }

    fn prune(&mut self, now: i64, arrival: u32) {
        let floor = self
            .newest
            .unwrap_or(i64::MIN)
            .saturating_sub(self.reread_ns);
        let keep_secs = (self.reread_ns / 1_000_000_000).max(1) as u32;
        let expired = arrival.saturating_sub(keep_secs);
        // a key stamped ahead of the clock but within Loki's grace (10 min)
        // comes back in a re-read once its time has come: kept by its
        // timestamp; only keys further ahead expire by arrival
        let far = now.saturating_add(FUTURE_GRACE_NS);
        self.keys
            .retain(|k, at| k.0 >= floor && (k.0 <= far || *at >= expired));
        // a flood from the future: keep its newest arrivals only
        let future = self.keys.keys().filter(|k| k.0 > now).count();
        if future > MAX_FUTURE_KEYS {
            let mut ats: Vec<u32> = self
                .keys
                .iter()
                .filter(|(k, _)| k.0 > now)
                .map(|(_, a)| *a)
                .collect();
            let cut = ats.len() - MAX_FUTURE_KEYS / 2;
            let (_, &mut at_cut, _) = ats.select_nth_unstable(cut);
            self.keys.retain(|k, a| k.0 <= now || *a > at_cut);
        }
        // too many present lines in the window: forget the oldest, and
        // re-read no further back than what is still known
        if self.keys.len() > MAX_DEDUPE_KEYS {
            let mut ts: Vec<i64> = self.keys.keys().map(|k| k.0).collect();
            let cut = ts.len() - MAX_DEDUPE_KEYS / 2;
            let (_, &mut ts_cut, _) = ts.select_nth_unstable(cut);
            self.keys.retain(|k, _| k.0 > ts_cut);
            self.forgot_before = self.forgot_before.max(ts_cut + 1);
        }
        self.prune_at = (self.keys.len() * 2).clamp(4096, MAX_DEDUPE_KEYS + 1);
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub fn newest(&self) -> Option<i64> {
        self.newest
    }

    /// How far back a re-read reaches.
    pub fn reread_ns(&self) -> i64 {
        self.reread_ns
    }

    /// Where a re-read starts: the re-read window behind the newest line
    /// (never before what dedupe still recognises).
    pub fn resume_from(&self, fallback: i64) -> i64 {
        self.newest
            .map(|n| n.saturating_sub(self.reread_ns).max(self.forgot_before))
            .unwrap_or(fallback)
    }
}

/// One shared copy of each stream's labels (Loki sends them per entry).
#[derive(Default)]
pub(crate) struct Interner(HashMap<u64, Labels, std::hash::BuildHasherDefault<Fx>>);

impl Interner {
    pub(crate) fn get(&mut self, labels: Labels) -> Labels {
        let h = labels_hash(&labels);
        if let Some(l) = self.0.get(&h) {
            if **l == *labels {
                return l.clone();
            }
        }
        if self.0.len() > 10_000 {
            self.0.clear();
        }
        self.0.insert(h, labels.clone());
        labels
    }
}

/// One 64-bit key of a stream's labels and a line: SipHash with this
/// process's random keys, so nobody who writes log lines can craft one that
/// collides with another line and hides it.
fn key_hash(rs: &std::hash::RandomState, l: &Labels, line: &str) -> u64 {
    use std::hash::BuildHasher;
    let mut h = rs.build_hasher();
    h.write_u64(labels_hash(l));
    line.hash(&mut h);
    h.finish()
}

/// A private key logged one line per entry (container stdout is stored a
/// line an entry): the redactor masks what follows a BEGIN within its own
/// entry, so the next entries of that stream are masked here, whole, up to
/// and including the END line (at most [`PEM_MAX_LINES`], then it gives up).
#[derive(Default)]
pub(crate) struct PemStreams(HashMap<u64, usize>);

/// Lines of one key block masked before the block is taken as never ending.
const PEM_MAX_LINES: usize = 200;

impl PemStreams {
    pub(crate) fn mask(&mut self, stream: u64, line: &mut LogLine) {
        let t = &line.text;
        if let Some(n) = self.0.get_mut(&stream) {
            let end = t.contains("-----END") && t.contains("PRIVATE KEY");
            *n += 1;
            if end || *n > PEM_MAX_LINES {
                self.0.remove(&stream);
            }
            if !end || !t.trim_start().starts_with("-----END") {
                line.text = crate::text::redact::MASK.into();
                line.cut = None;
            }
            return;
        }
        if t.contains("-----BEGIN") && t.contains("PRIVATE KEY-----") && !t.contains("-----END") {
            if self.0.len() >= 1000 {
                self.0.clear();
            }
            self.0.insert(stream, 0);
        }
    }
}
