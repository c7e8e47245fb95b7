//! Tenant-authored templates render in a sandbox: a small pool of child processes of
//! this binary (`genkan render-sandbox`) that limit their own memory, CPU time and
//! priority, render with a fuel budget, a recursion limit and an output cap, and are
//! killed and replaced when a render overruns its time. Built-in templates are
//! trusted and render in-process.
//!
//! - [`pool`]: the server side: spawning, queueing (one render per tenant at a
//!   time), time limits, replacing dead processes.
//! - [`child`]: the sandbox process itself.
//! - [`protocol`]: the frames they exchange.

mod child;
mod pool;
mod protocol;

use serde::{Deserialize, Serialize};

pub use child::{SandboxArgs, run};
pub use pool::{Sandbox, Urgency};

use super::custom::Part;

/// A limit a template went over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Limit {
    /// It executed more template instructions than allowed (loops, filters, calls).
    Fuel,
    /// It rendered for longer than allowed.
    Time,
    /// It needed more memory than allowed.
    Memory,
    /// Its output was larger than allowed.
    Output,
    /// It nested or recursed deeper than allowed (macros calling themselves).
    Depth,
}

impl Limit {
    /// A stable name (`fuel`, `time`, `memory`, `output`, `depth`), also the last
    /// part of its message key (`notify.limit_<code>`).
    pub fn code(self) -> &'static str {
        match self {
            Self::Fuel => "fuel",
            Self::Time => "time",
            Self::Memory => "memory",
            Self::Output => "output",
            Self::Depth => "depth",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Self::Fuel => "it executes too many instructions (loops, filters, macro calls)",
            Self::Time => "it takes too long to render",
            Self::Memory => "it needs too much memory",
            Self::Output => "its output is too large",
            Self::Depth => "it nests or recurses too deeply",
        }
    }
}

/// Why a tenant's template could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SandboxError {
    /// The template is wrong (syntax, an unknown variable, a failing filter).
    Template {
        /// The part.
        part: Part,
        /// 1-based line, when known.
        line: Option<usize>,
        /// What is wrong.
        detail: String,
    },
    /// The template went over a limit.
    Limit {
        /// The part.
        part: Part,
        /// Which limit.
        limit: Limit,
    },
    /// Too many renders are waiting; nothing was rendered.
    Busy,
    /// The sandbox cannot run (its program is missing or is not a sandbox).
    Unavailable(String),
}

impl std::fmt::Display for SandboxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Template { part, line, detail } => {
                write!(f, "template {}: ", part.file())?;
                if let Some(line) = line {
                    write!(f, "line {line}: ")?;
                }
                f.write_str(detail)
            }
            Self::Limit { part, limit } => write!(
                f,
                "template {} is over the {} limit: {}",
                part.file(),
                limit.code(),
                limit.describe()
            ),
            Self::Busy => f.write_str("the template renderer is busy; try again in a moment"),
            Self::Unavailable(why) => write!(f, "the template sandbox cannot run: {why}"),
        }
    }
}

impl std::error::Error for SandboxError {}

impl SandboxError {
    /// Whether the template itself is at fault (wrong or over a limit): rendering it
    /// again with the same data fails again.
    pub fn is_the_templates_fault(&self) -> bool {
        matches!(self, Self::Template { .. } | Self::Limit { .. })
    }
}
