//! Connections: per-connection PRAGMAs, the single writer, and the reader pool.

pub(crate) mod pragmas;
pub(crate) mod readers;
pub(crate) mod writer;
