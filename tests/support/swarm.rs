//! Real `flowc peer` processes on 127.0.0.1 for the swarm tests: started,
//! joined into one swarm, logged to files, killed on drop.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

pub const FLOWC: &str = env!("CARGO_BIN_EXE_flowc");

/// One peer process.
pub struct Peer {
    child: Child,
    /// Its multiaddr, with `/p2p/<id>`.
    pub address: String,
    /// Its stderr (tracing logs).
    pub log: PathBuf,
}

/// Several peers joined through the first one.
pub struct TestSwarm {
    pub peers: Vec<Peer>,
    pub dir: PathBuf,
}

impl TestSwarm {
    /// Starts `count` peers giving `cores` cores each: the first listens,
    /// the others join it and find each other through it.
    pub fn start(count: usize, cores: u32) -> TestSwarm {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "flowc-swarm-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the swarm folder");
        let mut swarm = TestSwarm {
            peers: Vec::new(),
            dir,
        };
        for index in 0..count {
            let join = swarm.peers.first().map(|p| p.address.clone());
            let peer = swarm.spawn(index, cores, join.as_deref());
            swarm.peers.push(peer);
        }
        // Discovery (Kademlia through the first peer) and the first capacity
        // announcements take a moment.
        std::thread::sleep(Duration::from_millis(2500));
        swarm
    }

    fn spawn(&self, index: usize, cores: u32, join: Option<&str>) -> Peer {
        let log = self.dir.join(format!("peer{index}.log"));
        let mut command = Command::new(FLOWC);
        command
            .args(["peer", "--listen", "/ip4/127.0.0.1/tcp/0", "--cores"])
            .arg(cores.to_string())
            .arg("--identity")
            .arg(self.dir.join(format!("peer{index}.key")))
            .env("RUST_LOG", "flow_executor=info")
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).expect("create a log file"));
        if let Some(join) = join {
            command.args(["--join", join]);
        }
        let mut child = command.spawn().expect("start flowc peer");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the peer's address");
        let address = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| {
                panic!(
                    "peer {index} did not print its address: {line:?}\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                )
            })
            .to_string();
        Peer {
            child,
            address,
            log,
        }
    }

    /// The address to `--join`.
    pub fn bootstrap(&self) -> &str {
        &self.peers[0].address
    }

    /// SIGKILL: no goodbye, no hand-back.
    pub fn kill(&mut self, index: usize) {
        let _ = self.peers[index].child.kill();
        let _ = self.peers[index].child.wait();
    }

    /// Whether peer `index` still runs.
    pub fn is_running(&mut self, index: usize) -> bool {
        matches!(self.peers[index].child.try_wait(), Ok(None))
    }

    /// Every peer's log.
    pub fn logs(&self) -> String {
        self.peers
            .iter()
            .enumerate()
            .map(|(i, p)| {
                format!(
                    "--- peer {i} ---\n{}",
                    std::fs::read_to_string(&p.log).unwrap_or_default()
                )
            })
            .collect()
    }

    /// Runs `flowc run` through the swarm in `dir` with `args`; returns exit
    /// code, stdout and stderr.
    pub fn run(&self, dir: &Path, args: &[&str]) -> (i32, String, String) {
        let output = Command::new(FLOWC)
            .arg("run")
            .args(args)
            .args(["--join", self.bootstrap()])
            .current_dir(dir)
            .env("NO_COLOR", "1")
            .output()
            .expect("run flowc");
        (
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }
}

impl Drop for TestSwarm {
    fn drop(&mut self) {
        for peer in &mut self.peers {
            let _ = peer.child.kill();
            let _ = peer.child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
