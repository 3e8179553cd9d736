//! Prometheus HTTP API adapter (also Thanos, Mimir, VictoriaMetrics):
//! /api/v1/query, /api/v1/query_range, /api/v1/label/__name__/values.

use crate::config::Endpoint;
use crate::core::http::{self, display_host, net_error, read_body};
use crate::core::{BoxFut, SourceError};
use crate::dashboard::detect::Inventory;
use crate::dashboard::ResolvedQuery;
use crate::features::metrics::client::{Fetched, MetricsBackend, SampleClock};
use crate::store::series::MAX_SERIES;

/// Queries longer than this go as a POST form (URLs have length limits).
pub const POST_THRESHOLD: usize = 1024;
pub use crate::core::target::MAX_POINTS_PER_SERIES;

pub use crate::features::metrics::client::prom_parse::parse_value;

/// Parses an API response body (any status) into series, or the API error,
/// keeping at most `MAX_SERIES` series (the rest are counted in `dropped`).
pub fn parse_envelope(status: u16, body: &[u8]) -> Result<Fetched, SourceError> {
    parse_answer(status, None, body)
}

fn parse_answer(
    status: u16,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<Fetched, SourceError> {
    let p = crate::features::metrics::client::prom_parse::parse_body(
        status,
        content_type,
        body,
        MAX_SERIES,
    )?;
    let mut f = p.fetched;
    f.dropped = p.dropped_series;
    Ok(f)
}

pub use crate::core::target::choose_step;

/// Aligns a millisecond timestamp down to a multiple of `step_secs`, so that
/// every refresh evaluates at the same instants and merges cleanly.
pub fn align_down(t_ms: i64, step_secs: u64) -> i64 {
    let s = (step_secs as i64) * 1000;
    t_ms.div_euclid(s) * s
}

fn ts(t_ms: i64) -> String {
    if t_ms % 1000 == 0 {
        (t_ms / 1000).to_string()
    } else {
        format!("{:.3}", t_ms as f64 / 1000.0)
    }
}

/// The HTTP adapter. One shared reqwest client per endpoint.
pub struct PrometheusClient {
    base: String,
    /// `host:port`, for messages (never the userinfo).
    host: String,
    client: reqwest::Client,
    max_body: u64,
}

impl PrometheusClient {
    pub fn new(ep: &Endpoint) -> Result<(PrometheusClient, Vec<String>), String> {
        let (client, warnings) = crate::core::http::build_client(ep)?;
        Ok((
            PrometheusClient {
                base: ep.url.trim_end_matches('/').to_string(),
                host: display_host(&ep.url),
                client,
                max_body: ep.max_body_bytes,
            },
            warnings,
        ))
    }

    /// The URL for display: without userinfo, secrets masked.
    pub fn base_url(&self) -> String {
        crate::text::redact::redact_url(&self.base)
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Result<http::Body, SourceError> {
        let resp = req.send().await.map_err(|e| net_error(&e, &self.host))?;
        read_body(resp, self.max_body, &self.host).await
    }

    async fn call(
        &self,
        path: &str,
        params: &[(&str, String)],
        long: bool,
    ) -> Result<Fetched, SourceError> {
        let url = format!("{}{path}", self.base);
        let req = if long {
            self.client.post(&url).form(params)
        } else {
            self.client.get(&url).query(params)
        };
        let b = self.send(req).await?;
        parse_answer(b.status, b.content_type.as_deref(), &b.bytes)
    }

    pub async fn instant(&self, expr: &str, at_ms: i64) -> Result<Fetched, SourceError> {
        let p = [("query", expr.to_string()), ("time", ts(at_ms))];
        self.call("/api/v1/query", &p, expr.len() > POST_THRESHOLD)
            .await
    }

    pub async fn range(
        &self,
        expr: &str,
        start_ms: i64,
        end_ms: i64,
        step_secs: u64,
    ) -> Result<Fetched, SourceError> {
        let p = [
            ("query", expr.to_string()),
            ("start", ts(start_ms)),
            ("end", ts(end_ms)),
            ("step", step_secs.to_string()),
        ];
        self.call("/api/v1/query_range", &p, expr.len() > POST_THRESHOLD)
            .await
    }

    /// The exemplars of the series an expression selects (Prometheus finds
    /// the selectors in it) over [start, end].
    pub async fn exemplars(
        &self,
        expr: &str,
        start_ms: i64,
        end_ms: i64,
    ) -> Result<super::exemplars::Found, SourceError> {
        let p = [
            ("query", expr.to_string()),
            ("start", ts(start_ms)),
            ("end", ts(end_ms)),
        ];
        let url = format!("{}/api/v1/query_exemplars", self.base);
        let req = if expr.len() > POST_THRESHOLD {
            self.client.post(&url).form(&p)
        } else {
            self.client.get(&url).query(&p)
        };
        let b = self.send(req).await?;
        Ok(super::exemplars::Found {
            exemplars: super::exemplars::parse(b.status, b.content_type.as_deref(), &b.bytes)?,
            bytes: b.bytes.len(),
        })
    }

    /// Every label name.
    pub async fn label_names(&self) -> Result<Vec<String>, SourceError> {
        let url = format!("{}/api/v1/labels", self.base);
        let b = self.send(self.client.get(&url)).await?;
        let (names, _more) = crate::features::metrics::client::prom_parse::parse_strings(
            b.status,
            b.content_type.as_deref(),
            &b.bytes,
            10_000,
        )?;
        Ok(names)
    }

    /// Values of one label (`__name__` for metric names), capped.
    pub async fn label_values(&self, label: &str) -> Result<Vec<String>, SourceError> {
        let url = format!("{}/api/v1/label/{label}/values", self.base);
        let b = self.send(self.client.get(&url)).await?;
        let (values, _more) = crate::features::metrics::client::prom_parse::parse_strings(
            b.status,
            b.content_type.as_deref(),
            &b.bytes,
            MAX_LABEL_VALUES,
        )?;
        Ok(values)
    }
}

/// The scrape clock from `/api/v1/targets`: the shortest scrape interval
/// among healthy targets and the newest scrape of those. None when the API
/// has no targets (Thanos, Mimir and VictoriaMetrics often do not) or none
/// is being scraped.
///
/// Parsed typed and folded as it is read: only `data.activeTargets[]`'s
/// `health`, `scrapeInterval` and `lastScrape` are looked at (borrowed),
/// everything else is skipped with `IgnoredAny`, and no list of targets is
/// built, so a huge answer costs no more memory than its body.
pub fn parse_targets(body: &[u8]) -> Option<SampleClock> {
    let t: targets::Body = serde_json::from_slice(body).ok()?;
    t.data?.active_targets?.0
}

mod targets {
    use std::borrow::Cow;
    use std::fmt;

    use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
    use serde::Deserialize;

    use crate::features::metrics::client::SampleClock;

    #[derive(Deserialize)]
    pub struct Body {
        #[serde(default)]
        pub data: Option<Data>,
    }

    #[derive(Deserialize)]
    pub struct Data {
        #[serde(default, rename = "activeTargets")]
        pub active_targets: Option<Clock>,
    }

    /// The targets folded into the clock while the list is read.
    pub struct Clock(pub Option<SampleClock>);

    impl<'de> Deserialize<'de> for Clock {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Clock, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Clock;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("a list of targets")
                }
                fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Clock, A::Error> {
                    let mut best: Option<SampleClock> = None;
                    while let Some(t) = seq.next_element::<Target>()? {
                        if let Some(c) = t.clock() {
                            best = Some(match best {
                                Some(b) if c.interval_ms > b.interval_ms => b,
                                Some(b) if c.interval_ms == b.interval_ms => SampleClock {
                                    interval_ms: b.interval_ms,
                                    last_ms: b.last_ms.max(c.last_ms),
                                },
                                _ => c,
                            });
                        }
                    }
                    Ok(Clock(best))
                }
            }
            d.deserialize_seq(V)
        }
    }

    #[derive(Deserialize)]
    #[serde(field_identifier, rename_all = "camelCase")]
    enum Key {
        Health,
        ScrapeInterval,
        LastScrape,
        #[serde(other)]
        Other,
    }

    /// One target: the three fields used, borrowed when they are strings
    /// (anything else reads as absent, as `Value::as_str` did).
    #[derive(Default)]
    struct Target<'a> {
        health: Option<Cow<'a, str>>,
        interval: Option<Cow<'a, str>>,
        last: Option<Cow<'a, str>>,
    }

    impl Target<'_> {
        fn clock(&self) -> Option<SampleClock> {
            if self.health.as_deref() != Some("up") {
                return None;
            }
            let interval_ms = self
                .interval
                .as_deref()
                .and_then(|i| crate::text::units::parse_duration(i).ok())
                .map(|s| (s * 1000.0) as i64)
                .filter(|&ms| ms > 0)?;
            let last_ms = self
                .last
                .as_deref()
                .and_then(|l| chrono::DateTime::parse_from_rfc3339(l).ok())
                .map(|d| d.timestamp_millis())?;
            Some(SampleClock {
                interval_ms,
                last_ms,
            })
        }
    }

    impl<'de: 'a, 'a> Deserialize<'de> for Target<'a> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V<'a>(std::marker::PhantomData<&'a ()>);
            impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
                type Value = Target<'a>;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("a target")
                }
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Target<'a>, A::Error> {
                    let mut t = Target::default();
                    while let Some(key) = map.next_key()? {
                        let slot = match key {
                            Key::Health => &mut t.health,
                            Key::ScrapeInterval => &mut t.interval,
                            Key::LastScrape => &mut t.last,
                            Key::Other => {
                                map.next_value::<IgnoredAny>()?;
                                continue;
                            }
                        };
                        *slot = map.next_value::<Lenient>()?.0;
                    }
                    Ok(t)
                }
                // a target that is not an object counts for nothing
                fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Target<'a>, A::Error> {
                    while seq.next_element::<IgnoredAny>()?.is_some() {}
                    Ok(Target::default())
                }
                fn visit_str<E: de::Error>(self, _: &str) -> Result<Target<'a>, E> {
                    Ok(Target::default())
                }
                fn visit_bool<E: de::Error>(self, _: bool) -> Result<Target<'a>, E> {
                    Ok(Target::default())
                }
                fn visit_i64<E: de::Error>(self, _: i64) -> Result<Target<'a>, E> {
                    Ok(Target::default())
                }
                fn visit_u64<E: de::Error>(self, _: u64) -> Result<Target<'a>, E> {
                    Ok(Target::default())
                }
                fn visit_f64<E: de::Error>(self, _: f64) -> Result<Target<'a>, E> {
                    Ok(Target::default())
                }
                fn visit_unit<E: de::Error>(self) -> Result<Target<'a>, E> {
                    Ok(Target::default())
                }
            }
            d.deserialize_any(V(std::marker::PhantomData))
        }
    }

    /// A string (borrowed unless escaped), or None for any other value,
    /// which is skipped unread.
    struct Lenient<'a>(Option<Cow<'a, str>>);

    impl<'de: 'a, 'a> Deserialize<'de> for Lenient<'a> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V<'a>(std::marker::PhantomData<&'a ()>);
            impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
                type Value = Lenient<'a>;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("any value")
                }
                fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Lenient<'a>, E> {
                    Ok(Lenient(Some(Cow::Borrowed(v))))
                }
                fn visit_str<E: de::Error>(self, v: &str) -> Result<Lenient<'a>, E> {
                    Ok(Lenient(Some(Cow::Owned(v.to_owned()))))
                }
                fn visit_bool<E: de::Error>(self, _: bool) -> Result<Lenient<'a>, E> {
                    Ok(Lenient(None))
                }
                fn visit_i64<E: de::Error>(self, _: i64) -> Result<Lenient<'a>, E> {
                    Ok(Lenient(None))
                }
                fn visit_u64<E: de::Error>(self, _: u64) -> Result<Lenient<'a>, E> {
                    Ok(Lenient(None))
                }
                fn visit_f64<E: de::Error>(self, _: f64) -> Result<Lenient<'a>, E> {
                    Ok(Lenient(None))
                }
                fn visit_unit<E: de::Error>(self) -> Result<Lenient<'a>, E> {
                    Ok(Lenient(None))
                }
                fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Lenient<'a>, A::Error> {
                    while seq.next_element::<IgnoredAny>()?.is_some() {}
                    Ok(Lenient(None))
                }
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Lenient<'a>, A::Error> {
                    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                    Ok(Lenient(None))
                }
            }
            d.deserialize_any(V(std::marker::PhantomData))
        }
    }
}

/// Most label values read from one answer (metric names for detection).
pub const MAX_LABEL_VALUES: usize = 200_000;
/// Most (job, name) series read for the inventory: a series map costs some
/// 700 bytes for 55 in the body, so 200,000 of them would be 4× a 32 MiB cap.
pub const MAX_INVENTORY_SERIES: usize = 50_000;

impl MetricsBackend for PrometheusClient {
    fn name(&self) -> &'static str {
        "prom"
    }

    fn query_range<'a>(
        &'a self,
        q: &'a ResolvedQuery,
        start_ms: i64,
        end_ms: i64,
        step_secs: u64,
    ) -> BoxFut<'a, Result<Fetched, SourceError>> {
        Box::pin(self.range(&q.expr, start_ms, end_ms, step_secs))
    }

    fn query_instant<'a>(
        &'a self,
        q: &'a ResolvedQuery,
        at_ms: i64,
    ) -> BoxFut<'a, Result<Fetched, SourceError>> {
        Box::pin(self.instant(&q.expr, at_ms))
    }

    fn query_exemplars<'a>(
        &'a self,
        q: &'a ResolvedQuery,
        start_ms: i64,
        end_ms: i64,
    ) -> BoxFut<'a, Result<super::exemplars::Found, SourceError>> {
        Box::pin(self.exemplars(&q.expr, start_ms, end_ms))
    }

    fn inventory<'a>(&'a self, names: &'a [String]) -> BoxFut<'a, Result<Inventory, SourceError>> {
        Box::pin(async move {
            // one query: which job exposes which of the names that matter
            let expr = format!(
                "count by (job, __name__) ({{__name__=~\"{}\"}})",
                names.join("|")
            );
            let p = [("query", expr)];
            let b = self
                .send(
                    self.client
                        .post(format!("{}/api/v1/query", self.base))
                        .form(&p),
                )
                .await?;
            let parsed = super::prom_parse::parse_body(
                b.status,
                b.content_type.as_deref(),
                &b.bytes,
                MAX_INVENTORY_SERIES,
            )?;
            let mut inv = Inventory::default();
            for s in parsed.fetched.series {
                let (job, name) = (s.label("job").to_string(), s.label("__name__").to_string());
                inv.jobs.entry(job).or_default().insert(name);
            }
            inv.labels = self.label_names().await?.into_iter().collect();
            inv.all_jobs = self.label_values("job").await?;
            inv.all_jobs.truncate(1000);
            Ok(inv)
        })
    }

    fn sample_clock(&self) -> BoxFut<'_, Result<Option<SampleClock>, SourceError>> {
        Box::pin(async move {
            let url = format!("{}/api/v1/targets", self.base);
            let b = self
                .send(self.client.get(&url).query(&[("state", "active")]))
                .await?;
            if b.status != 200 {
                return Ok(None);
            }
            Ok(parse_targets(&b.bytes))
        })
    }
}

#[cfg(test)]
#[path = "prometheus_tests.rs"]
mod tests;
