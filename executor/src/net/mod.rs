//! The libp2p transport: peers that compute parts of each other's jobs.
//!
//! - [`protocol`]: the `/flow/job/1` messages, their bounds and validation,
//!   and the length-prefixed postcard codec.
//! - [`identity`]: the key file that gives a peer a stable id.
//! - [`transport`]: TCP that dials from a fresh port (Windows refuses port
//!   reuse).
//! - [`node`]: the node actor. One task owns the libp2p swarm and every job
//!   instance on this peer (the phases it originates and the pieces it
//!   computes for others, each a [`crate::PeerJob`]) and `select!`s over a
//!   closed set of events: swarm events, commands from its
//!   [`NodeHandle`], worker threads, chunk reads, a tick, and shutdown.
//!
//! The scheduling decisions are the core's, exactly as in the local
//! transport and the simulator; this module only carries out its commands
//! over the network and feeds back what happened. Remote input is untrusted:
//! messages are validated before they reach a handler, a child may only
//! speak about pieces it was given, chunk requests are checked against what
//! was delegated, and stage modules are checked against their hash and then
//! by the host's validation before anything runs. A peer never reads or
//! writes files for a remote job: chunk bytes come from its parent.

pub mod identity;
pub mod node;
pub mod protocol;
pub mod transport;

pub use node::{NodeConfig, NodeHandle, PhaseFailure, SwarmPhase, start_node};
pub use protocol::{PolicySpec, RunId};
