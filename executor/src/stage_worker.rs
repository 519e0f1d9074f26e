//! Compiled stages as [`ChunkWorker`]s: the bridge between the local
//! transport and the WebAssembly host.
//!
//! A [`StageWorkerFactory`] holds what every worker of one stage shares: the
//! host, the loaded stage module, the stage's index in the job plan, the
//! encoded job context, and where chunk bytes come from ([`ChunkSource`]).
//! Each worker thread gets its own [`StageInstance`] (wasmtime stores are
//! not shared between threads).
//!
//! Failures keep their structure: the transport's core only carries a
//! message per failed chunk, so the factory also remembers the first
//! [`StageFailure`] (with the error record's span id and position) for the
//! command line to point at the source text.

use std::sync::{Arc, Mutex, PoisonError};

use crate::coverage::ChunkId;
use crate::host::{Host, StageError, StageInstance, StageModule};
use crate::local::{ChunkWorker, WorkerFactory};
use crate::peer_job::Partial;

/// The bytes of one chunk as a stage's `process` export takes them
/// (docs/abi.md), and the position of its first record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkBytes {
    /// The chunk: whole lines, an encoded list of files, or a range.
    pub bytes: Vec<u8>,
    /// The 1-based line of its first record, the file index, or unused.
    pub first: i64,
}

/// Where the bytes of a chunk come from: the input chunker reading files on
/// this peer, or the bytes a parent peer sent along with the work.
pub trait ChunkSource: Send + Sync {
    /// Reads chunk `chunk`; the error is a sentence naming the file.
    fn read(&self, chunk: ChunkId) -> Result<ChunkBytes, String>;

    /// The input and place of a chunk, for error messages ("data/a.txt").
    fn describe(&self, chunk: ChunkId) -> String;

    /// A hint that `chunk` will be read soon (by this worker, after the
    /// chunk it reads now): a source whose reads are slow may start this
    /// one early. Doing nothing is correct.
    fn prefetch(&self, _chunk: ChunkId) {}
}

/// What went wrong in a stage, kept whole for the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StageFailure {
    /// The stage module failed (a run-time error record, a trap, a deadline).
    Stage {
        /// The chunk it was processing (`None` for a merge).
        chunk: Option<ChunkId>,
        /// The host's description of the failure.
        error: StageError,
    },
    /// The chunk's bytes could not be read.
    Input {
        /// The chunk.
        chunk: ChunkId,
        /// Why.
        message: String,
    },
}

/// Makes the workers of one stage.
pub struct StageWorkerFactory {
    host: Host,
    module: StageModule,
    stage: u32,
    context: Arc<Vec<u8>>,
    source: Arc<dyn ChunkSource>,
    first_failure: Arc<Mutex<Option<StageFailure>>>,
}

impl std::fmt::Debug for StageWorkerFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StageWorkerFactory")
            .field("module", &self.module.hash())
            .field("stage", &self.stage)
            .field("context_len", &self.context.len())
            .finish()
    }
}

impl StageWorkerFactory {
    /// Workers that run stage `stage` of `module` on chunks from `source`,
    /// passing `context` (the encoded job context of docs/abi.md).
    pub fn new(
        host: Host,
        module: StageModule,
        stage: u32,
        context: Vec<u8>,
        source: Arc<dyn ChunkSource>,
    ) -> StageWorkerFactory {
        StageWorkerFactory {
            host,
            module,
            stage,
            context: Arc::new(context),
            source,
            first_failure: Arc::new(Mutex::new(None)),
        }
    }

    /// The first failure any worker of this factory met, if any.
    pub fn first_failure(&self) -> Option<StageFailure> {
        self.first_failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Finishes a merged partial into the encoded final value, on the
    /// calling thread.
    pub fn finish(&self, partial: &[u8]) -> Result<Vec<u8>, StageError> {
        StageInstance::new(&self.host, &self.module).finish(self.stage, partial)
    }
}

impl WorkerFactory for StageWorkerFactory {
    fn worker(&self) -> Result<Box<dyn ChunkWorker + Send>, String> {
        Ok(Box::new(StageWorker {
            instance: StageInstance::new(&self.host, &self.module),
            stage: self.stage,
            context: self.context.clone(),
            source: self.source.clone(),
            first_failure: self.first_failure.clone(),
        }))
    }
}

/// One worker thread's instance of a stage.
struct StageWorker {
    instance: StageInstance,
    stage: u32,
    context: Arc<Vec<u8>>,
    source: Arc<dyn ChunkSource>,
    first_failure: Arc<Mutex<Option<StageFailure>>>,
}

impl StageWorker {
    /// Records `failure` if it is the first, and returns its message.
    fn fail(&self, failure: StageFailure, message: String) -> String {
        let mut first = self
            .first_failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if first.is_none() {
            *first = Some(failure);
        }
        message
    }
}

impl ChunkWorker for StageWorker {
    fn process(&mut self, chunk: ChunkId) -> Result<Partial, String> {
        let input = match self.source.read(chunk) {
            Ok(input) => input,
            Err(message) => {
                let text = format!("{}: {message}", self.source.describe(chunk));
                return Err(self.fail(StageFailure::Input { chunk, message }, text));
            }
        };
        match self
            .instance
            .process(self.stage, &input.bytes, &self.context, input.first)
        {
            Ok(partial) => Ok(partial),
            Err(error) => {
                let text = format!("{} in {}", error, self.source.describe(chunk));
                Err(self.fail(
                    StageFailure::Stage {
                        chunk: Some(chunk),
                        error,
                    },
                    text,
                ))
            }
        }
    }

    fn prefetch(&mut self, chunk: ChunkId) {
        self.source.prefetch(chunk);
    }

    fn merge(&mut self, left: Partial, right: Partial) -> Result<Partial, String> {
        self.instance
            .merge(self.stage, &left, &right)
            .map_err(|error| {
                let text = error.to_string();
                self.fail(StageFailure::Stage { chunk: None, error }, text)
            })
    }
}
