//! Health probes: the platform's `/healthz` and `/readyz` endpoints polled
//! for status code and latency. Each probe runs in a task of its own, so one
//! that hangs (until its timeout) never delays another.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::core::http::{build_client_with, display_host, net_error, redirect_target, Redirects};
use crate::core::{now_ms, Sink, SourceError};

pub use crate::config::ProbeSpec;

/// What one probe saw.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeOk {
    pub status: u16,
    pub latency_ms: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProbeEvent {
    pub gen: u64,
    /// Index into the plan's probes.
    pub index: usize,
    pub at_ms: i64,
    pub result: Result<ProbeOk, SourceError>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProbePlan {
    pub gen: u64,
    pub probes: Vec<ProbeSpec>,
    pub interval_secs: f64,
}

/// Largest probe answer read (a health page, not a dump).
const MAX_PROBE_BODY: u64 = 256 * 1024;

/// Starts one task per probe; the returned handles are the source's task slot.
pub fn spawn(plan: ProbePlan, tx: Sink<ProbeEvent>) -> Vec<tokio::task::JoinHandle<()>> {
    plan.probes
        .iter()
        .enumerate()
        .map(|(index, spec)| {
            let (spec, tx, gen) = (spec.clone(), tx.clone(), plan.gen);
            let every = Duration::from_secs_f64(plan.interval_secs.max(0.5));
            tokio::spawn(async move {
                // a probe reports the answer it got: a readyz that
                // redirects to a login page is not healthy
                let client = match build_client_with(&spec.endpoint, Redirects::None) {
                    Ok((c, _)) => Arc::new(c),
                    Err(e) => {
                        let ev = ProbeEvent {
                            gen,
                            index,
                            at_ms: now_ms(),
                            result: Err(SourceError::msg(e)),
                        };
                        tx.send(ev).await;
                        return;
                    }
                };
                let host = display_host(&spec.endpoint.url);
                loop {
                    let started = Instant::now();
                    let result = probe(&client, &spec, &host).await;
                    let ev = ProbeEvent {
                        gen,
                        index,
                        at_ms: now_ms(),
                        result,
                    };
                    if !tx.send(ev).await {
                        return;
                    }
                    tokio::time::sleep(every.saturating_sub(started.elapsed())).await;
                }
            })
        })
        .collect()
}

async fn probe(
    client: &reqwest::Client,
    spec: &ProbeSpec,
    host: &str,
) -> Result<ProbeOk, SourceError> {
    let t0 = Instant::now();
    let mut resp = client
        .get(&spec.endpoint.url)
        .send()
        .await
        .map_err(|e| net_error(&e, host))?;
    let status = resp.status().as_u16();
    if status == spec.expect {
        // the status is the answer: the body is not waited for (one that
        // stalls after a 200 is still a 200, at the headers' latency)
        return Ok(ProbeOk {
            status,
            latency_ms: t0.elapsed().as_millis() as u64,
        });
    }
    let location = (resp.status().is_redirection() && status != 304)
        .then(|| redirect_target(resp.url(), resp.headers()));
    // the status is what counts: read at most the cap (for the first line
    // of an error page), then stop and drop the connection
    let mut head = Vec::new();
    while head.len() < MAX_PROBE_BODY as usize {
        match resp.chunk().await {
            Ok(Some(c)) => {
                head.extend_from_slice(&c[..c.len().min(MAX_PROBE_BODY as usize - head.len())])
            }
            Ok(None) => break,
            // the status arrived: a body that stalls or breaks after it
            // does not change what the endpoint answered
            Err(_) => break,
        }
    }
    drop(resp);
    let latency_ms = t0.elapsed().as_millis() as u64;
    let message = match location {
        Some(to) => format!("redirected to {to}, not followed"),
        None => {
            // the first line of the body says why (sanitised and redacted on display)
            let text = String::from_utf8_lossy(&head);
            let first: String = text
                .lines()
                .next()
                .unwrap_or("")
                .chars()
                .take(120)
                .collect();
            if first.trim().is_empty() {
                format!("{latency_ms} ms")
            } else {
                first
            }
        }
    };
    Err(SourceError {
        status: Some(status),
        kind: crate::core::ErrorKind::Unexpected(spec.expect),
        message,
    })
}

/// The probes runner: one slot with a task per endpoint.
pub struct ProbesRunner {
    sink: Sink<ProbeEvent>,
    slot: crate::core::Slot,
}

impl crate::core::Runner for ProbesRunner {
    type Backend = ();
    type Event = ProbeEvent;
    type Command = super::ProbesCommand;

    fn new(_backend: Option<()>, sink: Sink<ProbeEvent>, _refresh: f64) -> ProbesRunner {
        ProbesRunner {
            sink,
            slot: Default::default(),
        }
    }

    fn exec(&mut self, cmd: super::ProbesCommand) {
        match cmd {
            super::ProbesCommand::Start(plan) => {
                crate::info!("probes gen {} ({} endpoints)", plan.gen, plan.probes.len());
                self.slot.replace(spawn(plan, self.sink.clone()));
            }
            super::ProbesCommand::Stop => self.slot.stop(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_names_come_from_host_and_path() {
        assert_eq!(
            ProbeSpec::from_url("http://u:p@10.0.0.1:8080/readyz").name,
            "10.0.0.1:8080/readyz"
        );
        assert_eq!(
            ProbeSpec::from_url("https://api.example/").name,
            "api.example:443"
        );
    }
}
