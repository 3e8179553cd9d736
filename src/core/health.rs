//! A source's health, for the header and the log file.

use std::collections::VecDeque;

/// Health of one source, for the header: last success, last error, and
/// the requests it made (the last minute's are kept for a rate).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Health {
    /// "prom", "demo", "probes": shown in the header.
    pub name: String,
    /// Where it reads from, for display (no userinfo).
    pub url: String,
    pub last_ok_ms: Option<i64>,
    pub last_error: Option<String>,
    pub last_error_ms: Option<i64>,
    /// The last error will not go away by asking again (bad query, auth).
    pub permanent: bool,
    pub requests: u64,
    pub bytes: u64,
    /// Times of the requests of the last minute, for "requests per minute".
    pub recent: VecDeque<i64>,
}

impl Health {
    pub fn named(name: &str, url: &str) -> Health {
        Health {
            name: name.into(),
            url: url.into(),
            ..Default::default()
        }
    }

    pub fn ok(&self) -> bool {
        match (self.last_ok_ms, self.last_error_ms) {
            (_, None) => self.last_ok_ms.is_some(),
            (Some(ok), Some(err)) => ok > err,
            (None, Some(_)) => false,
        }
    }

    /// Counts one request answered at `at_ms`.
    pub fn count(&mut self, at_ms: i64, bytes: u64) {
        self.requests += 1;
        self.bytes += bytes;
        self.recent.push_back(at_ms);
        while self.recent.front().is_some_and(|&t| t < at_ms - 60_000) {
            self.recent.pop_front();
        }
    }

    /// Requests in the minute up to `now_ms`.
    pub fn per_minute(&self, now_ms: i64) -> usize {
        self.recent.iter().filter(|&&t| t > now_ms - 60_000).count()
    }

    pub fn succeeded(&mut self, at_ms: i64) {
        self.last_ok_ms = Some(at_ms);
    }

    pub fn failed(&mut self, at_ms: i64, error: String, permanent: bool) {
        self.last_error = Some(error);
        self.last_error_ms = Some(at_ms);
        self.permanent = permanent;
    }
}
