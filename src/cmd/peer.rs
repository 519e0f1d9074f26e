//! `flowc peer`: a long-running peer that computes parts of other peers'
//! jobs, until SIGTERM or Ctrl-C.
//!
//! It prints one line per listen address on stdout (`listening on
//! /ip4/…/tcp/…/p2p/…`), so a script can hand the address to others; logs go
//! to stderr through `tracing` (`RUST_LOG=flow_executor=debug` for more).

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use flow_executor::host::{Host, HostConfig};
use flow_executor::net::identity::{default_identity_path, load_or_create};
use flow_executor::net::{NodeConfig, start_node};
use libp2p::Multiaddr;

use super::Exit;
use crate::term::Terminal;

const EXAMPLES: &str = "\
EXAMPLES:
  flowc peer --listen /ip4/0.0.0.0/tcp/7000
  flowc peer --listen /ip4/0.0.0.0/tcp/0 --join /ip4/192.168.1.20/tcp/7000/p2p/12D3Koo…
  flowc peer --cores 2 --identity ~/.flowc/laptop.key --mdns
  RUST_LOG=flow_executor=debug flowc peer --join /ip4/10.0.0.5/tcp/7000";

/// Run a peer that computes parts of other peers' jobs.
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct PeerArgs {
    /// An address to listen on, as a multiaddr (repeatable; default
    /// `/ip4/0.0.0.0/tcp/0`, any free port).
    #[arg(long, value_name = "ADDR")]
    listen: Vec<Multiaddr>,

    /// A peer to join, as a multiaddr (repeatable). Others are found through
    /// it (Kademlia).
    #[arg(long, value_name = "ADDR")]
    join: Vec<Multiaddr>,

    /// Cores this peer gives to other peers' jobs (default: every core).
    #[arg(long, value_name = "N")]
    cores: Option<u32>,

    /// The key file that gives this peer a stable id, created on first
    /// start (default: `flowc/identity.key` under the user's config folder).
    #[arg(long, value_name = "PATH")]
    identity: Option<PathBuf>,

    /// Also find peers on the local network with mDNS.
    #[arg(long)]
    mdns: bool,
}

pub fn run(args: &PeerArgs, terminal: &Terminal) -> Exit {
    crate::logging::init("warn,flow_executor=info");
    let fail = |message: String| {
        eprintln!("{}", super::run::message("E0605", &message, terminal));
        Exit::Errors
    };
    let Some(identity) = args.identity.clone().or_else(default_identity_path) else {
        return fail("no folder for the identity key: pass --identity PATH".into());
    };
    let keypair = match load_or_create(&identity) {
        Ok(keypair) => keypair,
        Err(message) => return fail(message),
    };
    let host = match Host::new(HostConfig {
        cache_dir: crate::run::cache_dir(),
        ..HostConfig::default()
    }) {
        Ok(host) => host,
        Err(error) => return fail(error.to_string()),
    };
    let listen = if args.listen.is_empty() {
        vec!["/ip4/0.0.0.0/tcp/0".parse().expect("a valid multiaddr")]
    } else {
        args.listen.clone()
    };
    let cores = args
        .cores
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get() as u32));
    let node = match start_node(NodeConfig {
        keypair,
        listen,
        join: args.join.clone(),
        cores,
        mdns: args.mdns,
        host,
    }) {
        Ok(node) => node,
        Err(message) => return fail(message),
    };
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return fail("cannot start a runtime".into());
    };
    runtime.block_on(async {
        // Listening starts asynchronously: wait for the first address.
        let mut addresses = Vec::new();
        for _ in 0..100 {
            addresses = node.listen_addrs().await;
            if !addresses.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        for address in &addresses {
            println!("listening on {address}");
        }
        use std::io::Write;
        let _ = std::io::stdout().flush();
        wait_for_signal().await;
    });
    tracing::info!("shutting down: handing back work in progress");
    node.shutdown();
    Exit::Success
}

/// Resolves on Ctrl-C, or on SIGTERM on Unix.
async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
