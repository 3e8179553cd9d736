//! Untrusted text handling: sanitising for the terminal and human units.
pub mod sampler;
pub mod sanitize;
pub mod units;

pub use sanitize::sanitize;
pub mod logline;
pub mod patterns;
pub mod redact;

/// Untrusted text made fit for the screen, a log line or an export:
/// sanitised (no escape sequences or controls), then redacted (no secrets).
pub fn display(s: &str) -> std::borrow::Cow<'_, str> {
    match sanitize(s) {
        std::borrow::Cow::Borrowed(b) => redact::redact(b),
        std::borrow::Cow::Owned(o) => std::borrow::Cow::Owned(redact::redact(&o).into_owned()),
    }
}
