//! Limits of tenant-authored message templates: they render in a pool of sandbox
//! processes with a computing budget, a time limit, a memory limit and an output cap.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// How tenant-authored templates are rendered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TemplatesConfig {
    /// The program run as `<program> render-sandbox` (empty: this `genkan` binary).
    pub sandbox_program: PathBuf,
    /// Sandbox processes rendering at once (each tenant uses at most one at a time).
    pub sandbox_workers: usize,
    /// Template instructions one part may execute.
    pub fuel: u64,
    /// Milliseconds one render may take before its process is killed.
    pub time_limit_ms: u64,
    /// Memory (MiB) a sandbox process may allocate.
    pub memory_mib: u64,
    /// Largest rendered part (KiB).
    pub output_kib: u64,
}

impl Default for TemplatesConfig {
    fn default() -> Self {
        Self {
            sandbox_program: PathBuf::new(),
            sandbox_workers: 2,
            fuel: 1_000_000,
            time_limit_ms: 2000,
            memory_mib: 128,
            output_kib: 512,
        }
    }
}
