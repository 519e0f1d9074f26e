//! The plan of example jobs: phases, fusion, the stage graph and its
//! drawings, and its serialized form.

mod common;

use flow_compiler::lower::{Lowered, lower};
use flow_compiler::plan::{JobPlan, PlanEdge, PlanGraph, PlanNode, ValueKind};

fn example(name: &str) -> Lowered {
    let path = format!("{}/../examples/{name}/job.flow", env!("CARGO_MANIFEST_DIR"));
    let source = std::fs::read_to_string(&path).expect("the example exists");
    let analysis = common::analyze_files(&[(&format!("examples/{name}/job.flow"), &source)]);
    assert!(!analysis.has_errors(), "{}", common::render(&analysis));
    let root = analysis.program.jobs[0].root;
    lower(&analysis, root).expect("the job lowers")
}

/// `(aggregation, phase, names of the values it reads)` per stage (group
/// passes left out).
fn stages(plan: &JobPlan) -> Vec<(String, u32, Vec<String>)> {
    plan.stages
        .iter()
        .filter(|s| s.members.is_empty())
        .map(|s| {
            let uses = s
                .uses
                .iter()
                .map(|v| plan.values[*v as usize].name.clone())
                .collect();
            (s.aggregation.clone(), s.phase, uses)
        })
        .collect()
}

fn value_phase(plan: &JobPlan, name: &str) -> u32 {
    plan.values
        .iter()
        .find(|v| v.name == name)
        .unwrap_or_else(|| panic!("no value `{name}`"))
        .phase
}

#[test]
fn outliers_runs_in_three_phases() {
    let job = example("outliers");
    let plan = &job.plan;
    let owned = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
    assert_eq!(
        stages(plan),
        vec![
            ("mean".to_string(), 0, owned(&[])),
            ("mean".to_string(), 1, owned(&["mu"])),
            ("sort".to_string(), 2, owned(&["mu", "sigma"])),
            ("count".to_string(), 2, owned(&["mu", "sigma"])),
        ]
    );
    assert_eq!(plan.phase_count(), 3);
    assert_eq!(plan.graph.phase_count(), 3);
    // `sort` and `count` read the same input in the same phase: one group
    // pass computes both, reading the values either uses.
    let passes = |phase| plan.passes(phase).map(|s| s.index).collect::<Vec<_>>();
    assert_eq!(
        (passes(0), passes(1), passes(2)),
        (vec![0], vec![1], vec![4])
    );
    let group = &plan.stages[4];
    assert_eq!(group.members, vec![2, 3]);
    assert_eq!(group.aggregation, "sort + count");
    assert_eq!(
        (plan.stages[2].grouped_into, plan.stages[3].grouped_into),
        (Some(4), Some(4))
    );
    assert_eq!(group.uses, plan.stages[2].uses);
    // Values are ready after the phase of their latest stage.
    assert_eq!(value_phase(plan, "mu"), 1);
    assert_eq!(value_phase(plan, "sigma"), 2);
    assert_eq!(value_phase(plan, "outliers"), 3);
    assert_eq!(
        plan.outputs().map(|v| v.name.as_str()).collect::<Vec<_>>(),
        ["mean_value", "stddev", "outliers", "n_outliers"]
    );
    // The lets stages read are plan values of their own, once each.
    let lets: Vec<_> = plan
        .values
        .iter()
        .filter(|v| v.kind == ValueKind::Let)
        .map(|v| v.name.as_str())
        .collect();
    assert_eq!(lets, ["mu", "sigma"]);
    // Phase edges lead from those values to the stages reading them.
    let graph = &plan.graph.graph;
    let phase_edges = graph
        .edge_indices()
        .filter(|e| graph[*e] == PlanEdge::Phase)
        .count();
    assert_eq!(phase_edges, 5);
}

#[test]
fn wordcount_fuses_each_chain_with_its_aggregation() {
    let job = example("wordcount");
    let plan = &job.plan;
    assert_eq!(plan.phase_count(), 1);
    // `let counts` is a stream: inlined into its use, not a stage or value.
    assert!(plan.values.iter().all(|v| v.name != "counts"));
    let graph = &plan.graph.graph;
    let chains: Vec<_> = graph
        .node_weights()
        .filter_map(|n| match n {
            PlanNode::Chain { stage, ops } => Some((*stage, ops.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        chains,
        vec![
            (0, vec!["flat_map".to_string()]),
            (1, vec!["flat_map".to_string()]),
        ]
    );
    assert_eq!(
        plan.stages
            .iter()
            .map(|s| s.aggregation.as_str())
            .collect::<Vec<_>>(),
        ["count", "count_by", "count + count_by"]
    );
    // Both read the corpus in phase 0: one pass reads it once for both.
    assert_eq!(plan.passes(0).map(|s| s.index).collect::<Vec<_>>(), vec![2]);
    // `top` works on the finished `count_by` list, in the output's value.
    let top = plan.values.iter().find(|v| v.name == "top_words").unwrap();
    assert_eq!(top.stages, vec![1]);
    insta::assert_snapshot!("wordcount_dot", plan.graph.to_dot());
    insta::assert_snapshot!("wordcount_mermaid", plan.graph.to_mermaid());
}

#[test]
fn outliers_drawing() {
    let job = example("outliers");
    insta::assert_snapshot!("outliers_dot", job.plan.graph.to_dot());
    insta::assert_snapshot!("outliers_mermaid", job.plan.graph.to_mermaid());
}

#[test]
fn the_plan_round_trips_through_json_with_its_graph_and_spans() {
    for name in ["wordcount", "outliers", "weather", "collatz", "logscan"] {
        let job = example(name);
        let json = serde_json::to_string(&job.plan).expect("serializes");
        let back: JobPlan = serde_json::from_str(&json).expect("deserializes");
        assert_eq!(back, job.plan, "{name}");
        assert!(back.graph.graph.node_count() > 0);
        // Every span carries its source text.
        assert!(job.plan.spans.iter().all(|s| !s.text.is_empty()), "{name}");
    }
    // A damaged edge list is dropped, not trusted.
    let damaged: PlanGraph =
        serde_json::from_str(r#"{"nodes": [], "edges": [[0, 7, "Data"]]}"#).expect("reads");
    assert_eq!(damaged.graph.edge_count(), 0);
}
