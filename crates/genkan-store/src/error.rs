//! The store's one error type: callers can tell "not there" and "conflicts" from faults.

/// Why a store operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// No such row for this tenant (or not visible in the given scope).
    #[error("not found")]
    NotFound,
    /// A uniqueness or foreign-key rule refused the change.
    #[error("conflict on {constraint}")]
    Conflict {
        /// What was violated, as SQLite names it.
        constraint: String,
    },
    /// The database stayed locked past the busy timeout.
    #[error("database busy")]
    Busy,
    /// The disk is full; nothing was committed.
    #[error("disk full")]
    DiskFull,
    /// The key does not open the database, or the file is not a database.
    #[error("the database key is wrong or the file is not a Genkan database")]
    KeyRejected,
    /// Integrity problems or unexpected stored values.
    #[error("corrupt data: {0}")]
    Corrupt(String),
    /// Reading or writing files failed.
    #[error("i/o error: {0}")]
    Io(String),
    /// The store is shutting down.
    #[error("the store is closed")]
    Closed,
    /// Any other database error.
    #[error("database error: {0}")]
    Database(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(err: rusqlite::Error) -> Self {
        use rusqlite::ffi::ErrorCode as C;
        match &err {
            rusqlite::Error::QueryReturnedNoRows => Self::NotFound,
            rusqlite::Error::SqliteFailure(e, msg) => match e.code {
                C::ConstraintViolation => Self::Conflict {
                    constraint: msg.clone().unwrap_or_else(|| "constraint".to_owned()),
                },
                C::DatabaseBusy | C::DatabaseLocked => Self::Busy,
                C::DiskFull => Self::DiskFull,
                C::NotADatabase => Self::KeyRejected,
                C::DatabaseCorrupt => Self::Corrupt(err.to_string()),
                C::SystemIoFailure | C::CannotOpen => Self::Io(err.to_string()),
                _ => Self::Database(err.to_string()),
            },
            _ => Self::Database(err.to_string()),
        }
    }
}

impl From<std::io::Error> for StoreError {
    fn from(err: std::io::Error) -> Self {
        Self::Io(err.to_string())
    }
}

/// Shorthand for store results.
pub type StoreResult<T> = Result<T, StoreError>;
