//! Simulated runs of the scheduler core: whole jobs over simulated swarms,
//! with and without faults, checked against the sequential result.

use flow_executor::policy::DelegatePredicate;
use flow_executor::sim::{FaultRates, SimConfig, SimOutcome, SimReport, simulate};
use flow_executor::{JobError, Policy, Select};
use proptest::prelude::*;

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

/// The sequential result: every chunk exactly once.
fn sequential(n: usize) -> SimOutcome {
    SimOutcome::Finished((0..n as u32).collect())
}

fn faulty(rates_seed: u64) -> FaultRates {
    // Fault rates vary with the seed too, from gentle to harsh.
    let level = (rates_seed % 4) as f64 / 3.0;
    FaultRates {
        crash: 0.3 * level,
        crash_noticed: 0.5,
        stall: 0.2 * level,
        duplicate: 0.3 * level,
        poison: 0.1,
        horizon_ms: 4_000,
    }
}

/// Checks a finished report against the sequential result: success must be
/// exact; the only acceptable error is the run-time error of the poisoned
/// chunk (success is always possible otherwise: the origin never fails and
/// computes whatever is left).
fn check(config: &SimConfig, report: &SimReport) -> Result<(), String> {
    match (&report.outcome, report.poisoned) {
        (SimOutcome::Failed(JobError::Runtime { chunk, .. }), Some(bad)) if *chunk == bad => Ok(()),
        (outcome, None) if *outcome == sequential(config.chunk_sizes.len()) => Ok(()),
        (outcome, poisoned) => Err(format!(
            "seed {}: outcome {outcome:?} with poisoned chunk {poisoned:?}, stats {:?}",
            config.seed, report.origin_stats
        )),
    }
}

#[test]
fn fault_free_run_matches_the_sequential_result() {
    let config = SimConfig::new(7, 30, vec![100; 300], policy(2, 4, 1_000));
    let report = simulate(&config);
    assert_eq!(report.outcome, sequential(300));
    assert!(
        report.max_depth() >= 1,
        "the job delegated nothing: {report:?}"
    );
    // It must actually be faster than one peer doing everything.
    assert!(
        report.finished_at < 300 * 100 * 1000 / 4000,
        "{}",
        report.finished_at
    );
}

#[test]
fn two_hundred_peers_grow_a_tree_three_levels_deep() {
    let mut config = SimConfig::new(2024, 200, vec![100; 4_000], policy(3, 4, 2_000));
    config.neighbours = 12;
    let report = simulate(&config);
    assert_eq!(report.outcome, sequential(4_000));
    assert_eq!(report.max_depth(), 3, "tree: {:?}", report.tree);
    for edge in &report.tree {
        assert!(edge.depth >= 1 && edge.depth <= 3);
        // A child's depth is one more than its parent's at that moment: the
        // origin's children are at depth 1, and every deeper edge's parent
        // was itself recruited earlier at the depth above.
        if edge.depth > 1 {
            assert!(
                report.tree.iter().any(|p| p.child == edge.parent
                    && p.depth == edge.depth - 1
                    && p.at <= edge.at),
                "edge without a parent one level up: {edge:?}"
            );
        } else {
            assert_eq!(edge.parent.0, 0);
        }
    }
    let distinct: std::collections::BTreeSet<u64> = report.tree.iter().map(|e| e.child.0).collect();
    assert!(
        distinct.len() > 20,
        "only {} peers took part",
        distinct.len()
    );
}

#[test]
fn the_same_seed_replays_identically() {
    let mut config = SimConfig::new(99, 60, vec![100; 500], policy(3, 3, 800));
    config.faults = faulty(3);
    config.faults.poison = 0.0;
    let first = simulate(&config);
    let second = simulate(&config);
    assert_eq!(first, second);
    let mut other = config.clone();
    other.seed = 100;
    assert_ne!(simulate(&other).digest, first.digest);
}

#[test]
fn a_poisoned_chunk_fails_the_job_with_its_error() {
    let mut config = SimConfig::new(5, 20, vec![100; 200], policy(2, 4, 500));
    config.faults.poison = 1.0;
    let report = simulate(&config);
    let bad = report.poisoned.expect("the schedule poisons a chunk");
    match report.outcome {
        SimOutcome::Failed(JobError::Runtime { chunk, ref message }) => {
            assert_eq!(chunk, bad);
            assert_eq!(message, "division by zero");
        }
        other => panic!("expected the run-time error, got {other:?}"),
    }
}

#[test]
fn when_every_other_peer_crashes_the_origin_computes_the_rest() {
    let mut config = SimConfig::new(11, 25, vec![100; 300], policy(2, 4, 500));
    config.faults = FaultRates {
        crash: 1.0,
        crash_noticed: 0.5,
        stall: 0.0,
        duplicate: 0.0,
        poison: 0.0,
        horizon_ms: 3_000,
    };
    let report = simulate(&config);
    assert_eq!(report.outcome, sequential(300));
    assert_eq!(report.crashed.len(), 24);
    assert!(
        report.origin_stats.runs_lost > 0,
        "{:?}",
        report.origin_stats
    );
}

#[test]
fn an_origin_without_slots_and_without_peers_reports_no_workers() {
    let mut config = SimConfig::new(3, 1, vec![100; 10], policy(2, 4, 0));
    config.origin_slots = 0;
    let report = simulate(&config);
    match report.outcome {
        SimOutcome::Failed(JobError::NoWorkers { missing }) => {
            assert_eq!(missing.chunk_count(), 10)
        }
        other => panic!("expected NoWorkers, got {other:?}"),
    }
}

#[test]
fn an_origin_without_slots_delegates_everything() {
    let mut config = SimConfig::new(4, 20, vec![100; 200], policy(2, 4, 0));
    config.origin_slots = 0;
    let report = simulate(&config);
    assert_eq!(report.outcome, sequential(200));
    assert_eq!(report.origin_stats.local_runs, 0);
}

#[test]
fn replication_agrees_on_honest_peers() {
    let mut config = SimConfig::new(8, 20, vec![100; 200], policy(2, 4, 500));
    config.policy.replicate = 2;
    config.faults = faulty(2);
    config.faults.poison = 0.0;
    let report = simulate(&config);
    assert_eq!(report.outcome, sequential(200));
}

fn arbitrary_config() -> impl Strategy<Value = SimConfig> {
    (
        any::<u64>(),
        1usize..40,
        1usize..120,
        0u32..4,
        1u32..5,
        0u64..3_000,
        prop_oneof![
            Just(Select::Capacity),
            Just(Select::Latency),
            Just(Select::Random)
        ],
        0u32..3,
        1u8..3,
        any::<bool>(),
        1u32..3,
    )
        .prop_map(
            |(
                seed,
                peers,
                chunks,
                depth,
                fanout,
                threshold,
                select,
                retries,
                replicate,
                speculate,
                slots,
            )| {
                let mut policy = policy(depth, fanout, threshold);
                policy.select = select;
                policy.retries = retries;
                policy.replicate = replicate;
                policy.speculate = speculate;
                let sizes = (0..chunks)
                    .map(|i| 50 + (seed.rotate_left(i as u32) % 100))
                    .collect();
                let mut config = SimConfig::new(seed, peers, sizes, policy);
                config.neighbours = 6;
                config.origin_slots = slots;
                config.faults = faulty(seed >> 7);
                config
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn every_chunk_exactly_once_whatever_the_tree_and_faults(config in arbitrary_config()) {
        let report = simulate(&config);
        if let Err(message) = check(&config, &report) {
            return Err(TestCaseError::fail(message));
        }
        // Replay: the same seed gives the very same run.
        let again = simulate(&config);
        prop_assert_eq!(again, report);
    }
}
