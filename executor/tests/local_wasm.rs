//! The local transport running a real WebAssembly stage under wasmtime:
//! chunks read through a `ChunkSource`, processed and merged by the stage's
//! exports on several worker threads, exactly once whatever the worker count.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{SUM_STAGE, stage_module};
use flow_executor::coverage::ChunkId;
use flow_executor::host::{Host, HostConfig};
use flow_executor::local::{LocalError, LocalPhase, run_phase};
use flow_executor::stage_worker::{ChunkBytes, ChunkSource, StageFailure, StageWorkerFactory};
use flow_executor::{JobError, Policy, Work};
use tokio::sync::broadcast;

/// Chunk `i` holds the little-endian i64s `i * 10 .. i * 10 + 10`; chunk
/// `broken`, if any, cannot be read.
struct Numbers {
    broken: Option<u32>,
}

impl ChunkSource for Numbers {
    fn read(&self, chunk: ChunkId) -> Result<ChunkBytes, String> {
        if Some(chunk.0) == self.broken {
            return Err("the disk said no".into());
        }
        let start = i64::from(chunk.0) * 10;
        let bytes = (start..start + 10).flat_map(|v| v.to_le_bytes()).collect();
        Ok(ChunkBytes { bytes, first: 0 })
    }

    fn describe(&self, chunk: ChunkId) -> String {
        format!("numbers chunk {}", chunk.0)
    }
}

fn run(
    chunks: u32,
    workers: u32,
    broken: Option<u32>,
) -> (Result<i64, LocalError>, Arc<StageWorkerFactory>) {
    let host = Host::new(HostConfig {
        deadline: Duration::from_secs(10),
        ..HostConfig::default()
    })
    .unwrap();
    let module = host.load_stage(&stage_module(SUM_STAGE)).unwrap();
    let factory =
        StageWorkerFactory::new(host, module, 0, Vec::new(), Arc::new(Numbers { broken }));
    let factory = Arc::new(factory);
    let sizes: Vec<u64> = (0..chunks).map(|_| 80).collect();
    let phase = LocalPhase {
        work: Work::from_sizes(&sizes),
        policy: Policy::default(),
        workers,
        seed: 3,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let (_stop, shutdown) = broadcast::channel(1);
    let result = runtime.block_on(run_phase(phase, factory.clone(), &mut |_| {}, shutdown));
    let value = result.map(|partial| {
        let partial = partial.expect("a phase with chunks has a result");
        let finished = factory.finish(&partial).unwrap();
        i64::from_le_bytes(finished.try_into().unwrap())
    });
    (value, factory)
}

#[test]
fn a_wasm_stage_sums_every_chunk_once_on_any_number_of_workers() {
    for workers in [1, 2, 4] {
        for chunks in [1, 7, 64] {
            let n = i64::from(chunks) * 10;
            // The stage's finish doubles the merged sum.
            let expected = 2 * (n * (n - 1) / 2);
            let (value, factory) = run(chunks, workers, None);
            assert_eq!(
                value.unwrap(),
                expected,
                "{chunks} chunks, {workers} workers"
            );
            assert_eq!(factory.first_failure(), None);
        }
    }
}

#[test]
fn an_unreadable_chunk_fails_the_phase_and_names_the_chunk() {
    let (value, factory) = run(16, 3, Some(11));
    match value {
        Err(LocalError::Job(JobError::Runtime { chunk, message })) => {
            assert_eq!(chunk, ChunkId(11));
            assert!(message.contains("numbers chunk 11"), "{message}");
        }
        other => panic!("expected a run-time error, got {other:?}"),
    }
    assert!(matches!(
        factory.first_failure(),
        Some(StageFailure::Input {
            chunk: ChunkId(11),
            ..
        })
    ));
}
