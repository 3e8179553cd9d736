//! Traces from Jaeger or Tempo: one span tree whatever the backend
//! (`client::wire` decodes the four answers, `tree` builds the tree, its
//! order, depths and critical path).

pub mod client;
pub mod tree;
pub mod waterfall;
