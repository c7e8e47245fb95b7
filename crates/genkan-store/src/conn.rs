//! Connections: per-connection PRAGMAs, the single writer, the reader pool and the
//! background checkpointer.

pub(crate) mod checkpoint;
pub(crate) mod joined;
pub(crate) mod pragmas;
pub(crate) mod readers;
pub(crate) mod writer;
