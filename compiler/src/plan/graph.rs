//! The stage graph of a job: what flows where and which phase waits for
//! which, as a petgraph graph, and its drawings (Graphviz dot, Mermaid).
//!
//! Nodes:
//! - [`PlanNode::Input`]: a source (`lines`, `csv`, …).
//! - [`PlanNode::Chain`]: the element-wise steps of one stage
//!   (`filter → map → flat_map`), fused: the code generator emits them and
//!   the stage's aggregation as one function looping over a chunk, so a
//!   chain and its aggregation always run together on the same peer.
//! - [`PlanNode::Aggregation`]: the aggregation of one stage (`count_by`,
//!   `mean`, …), with its phase and, when stages over the same input share
//!   one pass over it (a group pass, [`super::PlanStage::members`]), that
//!   pass: the drawings put a pass's stages in one box.
//! - [`PlanNode::Value`]: a `let` some stage reads, or an `output`; computed
//!   on the origin after the phase of its latest stage.
//!
//! Edges: [`PlanEdge::Data`] from an input through its chain to the
//! aggregation and from an aggregation to every value reading its result;
//! [`PlanEdge::Phase`] from a value to every stage that reads it from `ctx`,
//! which is what makes that stage run in a later phase.
//!
//! The graph serializes as plain node and edge lists (the job package
//! carries it), so reading it back needs no petgraph.

use std::fmt::Write as _;

use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use serde::{Deserialize, Serialize};

use super::{JobPlan, PlanSource, ValueKind};
use crate::ir::JobIr;

/// A node of the stage graph.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum PlanNode {
    Input {
        input: u32,
        name: String,
        source: PlanSource,
    },
    /// The fused element-wise steps of stage `stage`, by operator name.
    Chain { stage: u32, ops: Vec<String> },
    Aggregation {
        stage: u32,
        op: String,
        phase: u32,
        /// The group pass computing the stage, if any.
        #[serde(default)]
        pass: Option<u32>,
    },
    Value {
        value: u32,
        name: String,
        kind: ValueKind,
        phase: u32,
    },
}

/// An edge of the stage graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PlanEdge {
    /// Records or a finished value flow along it.
    Data,
    /// The target stage reads the source value from `ctx`, so it runs in a
    /// later phase.
    Phase,
}

/// The stage graph of one job.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(into = "GraphLists", from = "GraphLists")]
pub struct PlanGraph {
    pub graph: DiGraph<PlanNode, PlanEdge>,
}

/// The serialized form of a [`PlanGraph`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct GraphLists {
    nodes: Vec<PlanNode>,
    /// `(from, to, kind)` by node index.
    edges: Vec<(u32, u32, PlanEdge)>,
}

impl From<PlanGraph> for GraphLists {
    fn from(graph: PlanGraph) -> GraphLists {
        graph.lists()
    }
}

impl From<GraphLists> for PlanGraph {
    fn from(lists: GraphLists) -> PlanGraph {
        let mut graph = DiGraph::new();
        let nodes: Vec<NodeIndex> = lists.nodes.into_iter().map(|n| graph.add_node(n)).collect();
        for (from, to, kind) in lists.edges {
            // Edges naming nodes that do not exist (a damaged package) are
            // dropped rather than trusted.
            if let (Some(from), Some(to)) = (nodes.get(from as usize), nodes.get(to as usize)) {
                graph.add_edge(*from, *to, kind);
            }
        }
        PlanGraph { graph }
    }
}

impl PartialEq for PlanGraph {
    fn eq(&self, other: &PlanGraph) -> bool {
        self.lists() == other.lists()
    }
}

impl PlanGraph {
    fn lists(&self) -> GraphLists {
        GraphLists {
            nodes: self.graph.node_weights().cloned().collect(),
            edges: self
                .graph
                .edge_references()
                .map(|e| {
                    (
                        e.source().index() as u32,
                        e.target().index() as u32,
                        *e.weight(),
                    )
                })
                .collect(),
        }
    }

    /// Builds the graph of a lowered job from its IR and plan.
    pub fn build(ir: &JobIr, plan: &JobPlan) -> PlanGraph {
        let mut graph = DiGraph::new();
        let inputs: Vec<NodeIndex> = plan
            .inputs
            .iter()
            .enumerate()
            .map(|(index, input)| {
                graph.add_node(PlanNode::Input {
                    input: index as u32,
                    name: input.name.clone(),
                    source: input.source,
                })
            })
            .collect();
        // The node each stage's work starts at (its chain, or its
        // aggregation when there are no steps), and its aggregation.
        let mut stage_nodes: Vec<(NodeIndex, NodeIndex)> = Vec::new();
        // Group passes are not nodes: their stages are, marked with the pass.
        for (index, plan_stage) in plan.stages.iter().enumerate() {
            if !plan_stage.members.is_empty() {
                continue;
            }
            let aggregation = graph.add_node(PlanNode::Aggregation {
                stage: index as u32,
                op: plan_stage.aggregation.clone(),
                phase: plan_stage.phase,
                pass: plan_stage.grouped_into,
            });
            let steps = ir
                .stages
                .get(index)
                .map(|s| s.steps.as_slice())
                .unwrap_or_default();
            let entry = if steps.is_empty() {
                aggregation
            } else {
                let chain = graph.add_node(PlanNode::Chain {
                    stage: index as u32,
                    ops: steps.iter().map(|s| s.op.name().to_owned()).collect(),
                });
                graph.add_edge(chain, aggregation, PlanEdge::Data);
                chain
            };
            if let Some(input) = inputs.get(plan_stage.input as usize) {
                graph.add_edge(*input, entry, PlanEdge::Data);
            }
            stage_nodes.push((entry, aggregation));
        }
        let mut values = Vec::new();
        for (index, value) in plan.values.iter().enumerate() {
            let node = graph.add_node(PlanNode::Value {
                value: index as u32,
                name: value.name.clone(),
                kind: value.kind,
                phase: value.phase,
            });
            for stage in &value.stages {
                if let Some((_, aggregation)) = stage_nodes.get(*stage as usize) {
                    graph.add_edge(*aggregation, node, PlanEdge::Data);
                }
            }
            values.push(node);
        }
        for (index, plan_stage) in plan.stages.iter().enumerate() {
            if !plan_stage.members.is_empty() {
                continue;
            }
            for used in &plan_stage.uses {
                if let (Some(value), Some((entry, _))) =
                    (values.get(*used as usize), stage_nodes.get(index))
                {
                    graph.add_edge(*value, *entry, PlanEdge::Phase);
                }
            }
        }
        PlanGraph { graph }
    }

    /// The phase a node runs in: stages in their phase; values and inputs
    /// outside every phase (`None`): values are computed on the origin
    /// between phases, inputs are read where the job is submitted.
    fn phase(&self, node: NodeIndex) -> Option<u32> {
        match self.graph.node_weight(node)? {
            PlanNode::Aggregation { phase, .. } => Some(*phase),
            PlanNode::Chain { stage, .. } => {
                self.graph
                    .node_indices()
                    .find_map(|n| match self.graph.node_weight(n) {
                        Some(PlanNode::Aggregation {
                            stage: s, phase, ..
                        }) if s == stage => Some(*phase),
                        _ => None,
                    })
            }
            PlanNode::Input { .. } | PlanNode::Value { .. } => None,
        }
    }

    /// The number of phases with at least one stage.
    pub fn phase_count(&self) -> u32 {
        self.graph
            .node_indices()
            .filter_map(|n| self.phase(n))
            .map(|p| p + 1)
            .max()
            .unwrap_or(0)
    }

    /// A one-line label of a node.
    pub fn label(node: &PlanNode) -> String {
        match node {
            PlanNode::Input { name, source, .. } => {
                let source = match source {
                    PlanSource::Lines => "lines",
                    PlanSource::Csv => "csv",
                    PlanSource::Jsonl => "jsonl",
                    PlanSource::Files => "files",
                    PlanSource::Range => "range",
                };
                format!("input {name}: {source}")
            }
            PlanNode::Chain { ops, .. } => ops.join(" → "),
            PlanNode::Aggregation { op, .. } => op.clone(),
            PlanNode::Value { name, kind, .. } => match kind {
                ValueKind::Let => format!("let {name}"),
                ValueKind::Output => format!("output {name}"),
            },
        }
    }

    fn node_id(node: NodeIndex) -> String {
        format!("n{}", node.index())
    }

    /// Groups of nodes per phase (stages of one phase in one group), in
    /// phase order, then the nodes outside every phase.
    fn by_phase(&self) -> (Vec<Vec<NodeIndex>>, Vec<NodeIndex>) {
        let mut phases = vec![Vec::new(); self.phase_count() as usize];
        let mut outside = Vec::new();
        for node in self.graph.node_indices() {
            match self.phase(node).and_then(|p| phases.get_mut(p as usize)) {
                Some(group) => group.push(node),
                None => outside.push(node),
            }
        }
        (phases, outside)
    }

    /// The stages among `nodes` by the group pass computing them (`None`
    /// first: stages on their own), each list sorted.
    fn stages_by_pass(&self, nodes: &[NodeIndex]) -> Vec<(Option<u32>, Vec<u32>)> {
        let mut by_pass: Vec<(Option<u32>, Vec<u32>)> = Vec::new();
        for node in nodes {
            if let Some(PlanNode::Aggregation { stage, pass, .. }) = self.graph.node_weight(*node) {
                match by_pass.iter_mut().find(|(p, _)| p == pass) {
                    Some((_, stages)) => stages.push(*stage),
                    None => by_pass.push((*pass, vec![*stage])),
                }
            }
        }
        by_pass.sort_unstable();
        for (_, stages) in &mut by_pass {
            stages.sort_unstable();
        }
        by_pass
    }

    /// The chain and aggregation nodes of `stage` among `nodes`.
    fn stage_nodes(&self, nodes: &[NodeIndex], stage: u32) -> Vec<NodeIndex> {
        nodes
            .iter()
            .copied()
            .filter(|node| {
                matches!(
                    self.graph.node_weight(*node),
                    Some(PlanNode::Chain { stage: s, .. } | PlanNode::Aggregation { stage: s, .. }) if *s == stage
                )
            })
            .collect()
    }

    /// The graph in Graphviz's dot language: one cluster per phase; a
    /// stage's fused chain and aggregation in a box of their own; phase
    /// dependencies dashed.
    pub fn to_dot(&self) -> String {
        let mut out =
            String::from("digraph job {\n  rankdir=LR;\n  node [fontname=\"Helvetica\"];\n");
        let (phases, outside) = self.by_phase();
        let declare = |out: &mut String, node: NodeIndex, indent: &str| {
            let Some(weight) = self.graph.node_weight(node) else {
                return;
            };
            let shape = match weight {
                PlanNode::Input { .. } => "cylinder",
                PlanNode::Chain { .. } => "box",
                PlanNode::Aggregation { .. } => "box, style=bold",
                PlanNode::Value {
                    kind: ValueKind::Output,
                    ..
                } => "note",
                PlanNode::Value { .. } => "ellipse",
            };
            let _ = writeln!(
                out,
                "{indent}{} [label={}, shape={shape}];",
                Self::node_id(node),
                dot_string(&Self::label(weight))
            );
        };
        for (phase, nodes) in phases.iter().enumerate() {
            let _ = writeln!(out, "  subgraph cluster_phase_{phase} {{");
            let _ = writeln!(out, "    label=\"phase {phase}\";");
            // A chain and its aggregation are one stage function: a nested
            // cluster says they are fused.
            // Stages of one group pass sit in a box of their own.
            for (pass, stages) in self.stages_by_pass(nodes) {
                let indent = match pass {
                    Some(pass) => {
                        let _ = writeln!(out, "    subgraph cluster_pass_{pass} {{");
                        let _ = writeln!(
                            out,
                            "      label=\"one pass over the input\"; style=dotted;"
                        );
                        "  "
                    }
                    None => "",
                };
                for stage in stages {
                    let _ = writeln!(out, "{indent}    subgraph cluster_stage_{stage} {{");
                    let _ = writeln!(out, "{indent}      label=\"stage {stage}\"; style=rounded;");
                    for node in self.stage_nodes(nodes, stage) {
                        declare(&mut out, node, &format!("{indent}      "));
                    }
                    let _ = writeln!(out, "{indent}    }}");
                }
                if pass.is_some() {
                    out.push_str("    }\n");
                }
            }
            out.push_str("  }\n");
        }
        for node in outside {
            declare(&mut out, node, "  ");
        }
        for edge in self.graph.edge_references() {
            let style = match edge.weight() {
                PlanEdge::Data => "",
                PlanEdge::Phase => " [style=dashed, label=\"ctx\"]",
            };
            let _ = writeln!(
                out,
                "  {} -> {}{style};",
                Self::node_id(edge.source()),
                Self::node_id(edge.target())
            );
        }
        out.push_str("}\n");
        out
    }

    /// The graph as a Mermaid flowchart: one subgraph per phase and one per
    /// fused stage inside it; phase dependencies dotted.
    pub fn to_mermaid(&self) -> String {
        let mut out = String::from("flowchart LR\n");
        let (phases, outside) = self.by_phase();
        let declare = |out: &mut String, node: NodeIndex, indent: &str| {
            let Some(weight) = self.graph.node_weight(node) else {
                return;
            };
            let label = mermaid_string(&Self::label(weight));
            let id = Self::node_id(node);
            let _ = match weight {
                PlanNode::Input { .. } => writeln!(out, "{indent}{id}[({label})]"),
                PlanNode::Chain { .. } => writeln!(out, "{indent}{id}[{label}]"),
                PlanNode::Aggregation { .. } => writeln!(out, "{indent}{id}[[{label}]]"),
                PlanNode::Value { .. } => writeln!(out, "{indent}{id}({label})"),
            };
        };
        for (phase, nodes) in phases.iter().enumerate() {
            let _ = writeln!(out, "  subgraph phase_{phase}[\"phase {phase}\"]");
            for (pass, stages) in self.stages_by_pass(nodes) {
                let indent = match pass {
                    Some(pass) => {
                        let _ =
                            writeln!(out, "    subgraph pass_{pass}[\"one pass over the input\"]");
                        "  "
                    }
                    None => "",
                };
                for stage in stages {
                    let _ = writeln!(out, "{indent}    subgraph stage_{stage}[\"stage {stage}\"]");
                    for node in self.stage_nodes(nodes, stage) {
                        declare(&mut out, node, &format!("{indent}      "));
                    }
                    let _ = writeln!(out, "{indent}    end");
                }
                if pass.is_some() {
                    out.push_str("    end\n");
                }
            }
            out.push_str("  end\n");
        }
        for node in outside {
            declare(&mut out, node, "  ");
        }
        for edge in self.graph.edge_references() {
            let arrow = match edge.weight() {
                PlanEdge::Data => "-->",
                PlanEdge::Phase => "-. ctx .->",
            };
            let _ = writeln!(
                out,
                "  {} {arrow} {}",
                Self::node_id(edge.source()),
                Self::node_id(edge.target())
            );
        }
        out
    }
}

/// A dot string literal.
fn dot_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\n"),
            _ => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A Mermaid label in quotes; quotes inside become `#quot;`.
fn mermaid_string(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "#quot;"))
}
