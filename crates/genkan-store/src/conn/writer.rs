//! The single writer: one connection on its own thread. Jobs arrive over a channel;
//! every job waiting when a transaction starts joins it (group commit), each inside
//! its own savepoint, so one fsync acknowledges many requests and a failing job
//! rolls back alone. Replies are sent only after the COMMIT is durable.

use std::cell::Cell;
use std::ops::Deref;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use genkan_core::audit::ChainKey;
use rusqlite::Connection;
use tokio::sync::{Notify, mpsc, oneshot};

use super::joined::Joined;
use crate::error::{StoreError, StoreResult};

/// Most jobs committed together; bounds the latency one transaction adds.
const MAX_BATCH: usize = 512;
/// Requests waiting beyond this are refused with `Busy` instead of queueing forever.
const QUEUE_DEPTH: usize = 20_000;

/// The connection a job sees, the audit key its audit rows are linked with, and
/// what it wants done after the commit.
pub(crate) struct Tx<'c> {
    conn: &'c Connection,
    audit_key: &'c ChainKey,
    wake_outbox: Cell<bool>,
}

impl Tx<'_> {
    /// Asks for the outbox worker to be woken once this transaction commits.
    pub(crate) fn wake_outbox(&self) {
        self.wake_outbox.set(true);
    }

    /// The key audit rows appended in this transaction are linked with.
    pub(crate) fn audit_key(&self) -> &ChainKey {
        self.audit_key
    }
}

impl Deref for Tx<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn
    }
}

trait Job: Send {
    /// Runs inside the shared transaction; `false` means roll this job back.
    fn run(&mut self, tx: &Tx<'_>) -> bool;
    /// Delivers the job's result once the transaction's fate is known.
    fn finish(self: Box<Self>, commit: Result<(), StoreError>);
}

struct Pending<T, F> {
    work: Option<F>,
    result: Option<StoreResult<T>>,
    reply: oneshot::Sender<StoreResult<T>>,
}

impl<T, F> Job for Pending<T, F>
where
    T: Send + 'static,
    F: FnOnce(&Tx<'_>) -> StoreResult<T> + Send + 'static,
{
    fn run(&mut self, tx: &Tx<'_>) -> bool {
        let Some(work) = self.work.take() else {
            return false;
        };
        let result = catch_unwind(AssertUnwindSafe(|| work(tx)))
            .unwrap_or_else(|_| Err(StoreError::Database("a write job panicked".to_owned())));
        let ok = result.is_ok();
        self.result = Some(result);
        ok
    }

    fn finish(self: Box<Self>, commit: Result<(), StoreError>) {
        let outcome = match (commit, self.result) {
            (Ok(()), Some(result)) => result,
            // A job that failed on its own keeps its own error.
            (Err(_), Some(Err(own))) => Err(own),
            (Err(commit), _) => Err(commit),
            (Ok(()), None) => Err(StoreError::Closed),
        };
        // The caller may have gone away (timeout); nothing to do then.
        let _ = self.reply.send(outcome);
    }
}

/// Handle to the writer thread; cheap to clone.
#[derive(Clone)]
pub(crate) struct Writer {
    // Declared first so it is dropped first: once the last sender is gone the thread
    // finishes its batch, closes the connection and ends, and the last clone waits.
    jobs: mpsc::Sender<Box<dyn Job>>,
    _thread: Arc<Joined>,
}

impl Writer {
    /// Starts the writer thread owning `conn`; audit rows are linked under `audit_key`.
    pub(crate) fn start(
        conn: Connection,
        outbox: Arc<Notify>,
        audit_key: ChainKey,
    ) -> StoreResult<Self> {
        let (tx, rx) = mpsc::channel(QUEUE_DEPTH);
        let thread = std::thread::Builder::new()
            .name("genkan-writer".to_owned())
            .spawn(move || run(&conn, rx, &outbox, &audit_key))?;
        Ok(Self {
            jobs: tx,
            _thread: Arc::new(Joined::new(thread)),
        })
    }

    /// Runs `work` in the next transaction and returns its result after the commit.
    pub(crate) async fn write<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Tx<'_>) -> StoreResult<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = Box::new(Pending {
            work: Some(work),
            result: None,
            reply,
        });
        self.jobs.try_send(job).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => StoreError::Busy,
            mpsc::error::TrySendError::Closed(_) => StoreError::Closed,
        })?;
        answer.await.map_err(|_| StoreError::Closed)?
    }
}

fn run(
    conn: &Connection,
    mut rx: mpsc::Receiver<Box<dyn Job>>,
    outbox: &Notify,
    audit_key: &ChainKey,
) {
    let mut batch: Vec<Box<dyn Job>> = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let tx = Tx {
            conn,
            audit_key,
            wake_outbox: Cell::new(false),
        };
        let commit = run_batch(&tx, &mut batch);
        if commit.is_ok() && tx.wake_outbox.get() {
            outbox.notify_one();
        }
        if let Err(e) = &commit {
            tracing::error!(error = %e, jobs = batch.len(), "write transaction failed");
        }
        for job in batch.drain(..) {
            job.finish(commit.clone());
        }
    }
}

fn run_batch(tx: &Tx<'_>, batch: &mut [Box<dyn Job>]) -> Result<(), StoreError> {
    tx.execute_batch("BEGIN IMMEDIATE")?;
    for job in batch.iter_mut() {
        let step = (|| -> StoreResult<()> {
            tx.execute_batch("SAVEPOINT job")?;
            if job.run(tx) {
                tx.execute_batch("RELEASE job")?;
            } else {
                tx.execute_batch("ROLLBACK TO job; RELEASE job")?;
            }
            Ok(())
        })();
        if let Err(e) = step {
            let _ = tx.execute_batch("ROLLBACK");
            return Err(e);
        }
    }
    if let Err(e) = tx.execute_batch("COMMIT") {
        // Nothing of this batch is durable; say so to every caller.
        let _ = tx.execute_batch("ROLLBACK");
        return Err(e.into());
    }
    Ok(())
}
