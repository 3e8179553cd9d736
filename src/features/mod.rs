//! One folder per feature: its state part and reducer (`mod.rs`), its
//! runner (tokio tasks that own the backend client and send owned events),
//! its backend client, its keys and its panes.
#[cfg(test)]
pub mod echo;
pub mod kube;
pub mod logs;
pub mod metrics;
pub mod probes;
pub mod traces;
