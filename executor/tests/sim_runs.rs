//! Simulated runs of the scheduler core: whole jobs over simulated swarms,
//! with and without faults.

use flow_executor::policy::DelegatePredicate;
use flow_executor::sim::{FaultRates, SimConfig, SimOutcome, simulate};
use flow_executor::{ChunkId, JobError, Policy, Select};

fn policy(depth: u32, fanout: u32, threshold: u64) -> Policy {
    Policy {
        split: 100,
        fanout,
        depth,
        delegate_when: DelegatePredicate::new(move |c| c.work > threshold && c.peers > 0),
        select: Select::Capacity,
        retries: 2,
        timeout_ms: 2_000,
        replicate: 1,
        speculate: true,
    }
}

fn expected(n: u32) -> SimOutcome {
    SimOutcome::Finished((0..n).collect())
}

#[test]
fn smoke() {
    let config = SimConfig::new(7, 30, vec![100; 300], policy(2, 4, 1_000));
    let report = simulate(&config);
    eprintln!(
        "{:?} depth {} edges {} stats {:?}",
        report.finished_at,
        report.max_depth(),
        report.tree.len(),
        report.origin_stats
    );
    assert_eq!(report.outcome, expected(300));
}
