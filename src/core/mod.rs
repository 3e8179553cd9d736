//! What every feature shares: the Target the sources follow, the Scope
//! they have seen, a source's Health, typed errors, the task Slot, the
//! Sink tasks send through, and the HTTP client the backends build on.

pub mod error;
pub mod health;
pub mod http;
pub mod kube;
pub mod scope;
pub mod sink;
pub mod slot;
pub mod source;
pub mod target;
pub mod view;

use std::future::Future;
use std::pin::Pin;

pub use error::{ErrorKind, SourceError};
pub use health::Health;
pub use scope::Scope;
pub use sink::Sink;
pub use slot::Slot;
pub use source::{
    Badge, Ctx, Effect, Feature, Outcome, Runner, Source, SourceCommon, SourceId, TimeMark,
};
pub use target::Target;

pub type BoxFut<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
