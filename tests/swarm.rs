//! The peer-to-peer swarm end to end: real `flowc peer` processes on
//! 127.0.0.1, jobs submitted with `flowc run --join`, peers killed in the
//! middle of jobs, two origins at once, and hostile messages.
//!
//! Every result is compared with the same job run on this machine alone:
//! however the tree grew and whatever failed, the answer must be identical.

#[path = "support/swarm.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use support::{FLOWC, TestSwarm};

/// A folder with a job and its data, removed when dropped.
struct JobDir {
    path: PathBuf,
}

impl JobDir {
    fn new(name: &str, job: &str) -> JobDir {
        let path =
            std::env::temp_dir().join(format!("flowc-swarm-job-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(path.join("data")).unwrap();
        std::fs::write(path.join("job.flow"), job).unwrap();
        JobDir { path }
    }

    fn write(&self, name: &str, text: &str) {
        std::fs::write(self.path.join(name), text).unwrap();
    }
}

impl Drop for JobDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// The job run on this machine alone: the answer every swarm run must give.
fn local_run(dir: &Path, args: &[&str]) -> String {
    let output = Command::new(FLOWC)
        .arg("run")
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("run flowc");
    assert_eq!(
        output.status.code(),
        Some(0),
        "the local run failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A deterministic text of `lines` lines with a skewed vocabulary.
fn corpus(lines: usize, seed: u64) -> String {
    let words = [
        "flow",
        "peer",
        "swarm",
        "chunk",
        "merge",
        "tree",
        "Ünïcode",
        "stage",
        "wasm",
        "data",
        "split",
        "reduce",
        "map",
        "origin",
        "child",
    ];
    let mut state = seed;
    let mut text = String::new();
    for _ in 0..lines {
        for _ in 0..8 {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let pick = ((state >> 33) as usize % 97) % words.len();
            text.push_str(words[pick]);
            text.push(' ');
        }
        text.push('\n');
    }
    text
}

const WORDCOUNT: &str = "\
input corpus = lines(\"data/*.txt\")

let tokens = corpus |> flat_map(l => words(lower(l)))

output total = tokens |> count()
output counts = tokens |> count_by(w => w) |> sort()
output longest = tokens |> map(w => len(w)) |> max()

policy {
  fanout = 2
  depth = 3
  timeout = 3s
}
";

#[test]
fn a_job_grows_a_tree_two_levels_deep_and_matches_the_local_run() {
    let job = JobDir::new("depth", WORDCOUNT);
    job.write("data/a.txt", &corpus(6000, 1));
    job.write("data/b.txt", &corpus(4000, 2));
    let args = [
        "job.flow",
        "--quiet",
        "--format",
        "json",
        "--split",
        "4KiB",
        "--workers",
        "1",
    ];
    let expected = local_run(&job.path, &args);
    let swarm = TestSwarm::start(5, 1);
    let (code, stdout, stderr) = swarm.run(&job.path, &args);
    assert_eq!(code, 0, "{stderr}\n{}", swarm.logs());
    assert_eq!(stdout, expected);
    let logs = swarm.logs();
    assert!(
        logs.contains("at depth 2"),
        "no peer computed at depth 2:\n{logs}"
    );
}

#[test]
fn a_job_submitted_through_a_running_peer_is_computed_by_it() {
    let job = JobDir::new("via", WORDCOUNT);
    job.write("data/a.txt", &corpus(3000, 5));
    let args = ["job.flow", "--quiet", "--format", "json", "--split", "4KiB"];
    let expected = local_run(&job.path, &args);
    let swarm = TestSwarm::start(1, 1);
    let output = Command::new(FLOWC)
        .arg("run")
        .args(args)
        .args(["--via", swarm.bootstrap()])
        .current_dir(&job.path)
        .env("NO_COLOR", "1")
        .env("RUST_LOG", "flow_executor=info")
        .output()
        .expect("run flowc");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}\n{}", swarm.logs());
    assert_eq!(String::from_utf8_lossy(&output.stdout), expected);
    // The submitting process computed nothing: in every phase, the chunks
    // it delegated add up to at least all of the phase's chunks.
    let chunks_of = |line: &str| -> u64 {
        let at = line.rfind("chunks=").expect("a chunk count") + "chunks=".len();
        line[at..]
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .and_then(|n| n.parse().ok())
            .expect("a number")
    };
    let mut phases = 0;
    let mut phase_chunks = 0;
    let mut delegated = 0;
    for line in stderr.lines() {
        if line.contains("starting a phase as its origin") {
            if phases > 0 {
                assert!(delegated >= phase_chunks, "computed here:\n{stderr}");
            }
            phases += 1;
            phase_chunks = chunks_of(line);
            delegated = 0;
        } else if line.contains("delegating piece") {
            delegated += chunks_of(line);
        }
    }
    // The three stages read the corpus in one group pass: one phase run.
    assert!(phases >= 1, "one line per phase:\n{stderr}");
    assert!(delegated >= phase_chunks, "computed here:\n{stderr}");
    let logs = swarm.logs();
    assert!(
        logs.contains("partial up"),
        "the peer computed nothing:\n{logs}"
    );
    // `--via` is `--join ADDR --workers 0`: combining it with either is a
    // usage error.
    let output = Command::new(FLOWC)
        .arg("run")
        .args(args)
        .args(["--via", swarm.bootstrap(), "--workers", "2"])
        .current_dir(&job.path)
        .output()
        .expect("run flowc");
    assert_eq!(output.status.code(), Some(2));
}

/// A job long enough to kill peers in the middle of.
const SLOW_SUM: &str = "\
input ids = range(0, 400000)

fn steps(n: int, taken: int) -> int =
  if n <= 1 then taken else if n % 2 == 0 then steps(n / 2, taken + 1) else steps(3 * n + 1, taken + 1)

output total = ids |> map(i => steps(i + 1, 0)) |> sum()
output longest = ids |> map(i => steps(i + 1, 0)) |> max()

policy {
  split = 2000
  fanout = 3
  timeout = 2s
  retries = 5
}
";

#[test]
fn killing_peers_in_the_middle_of_jobs_still_gives_the_exact_result() {
    let job = JobDir::new("kill", SLOW_SUM);
    let args = ["job.flow", "--quiet", "--format", "json", "--workers", "1"];
    let expected = local_run(&job.path, &args);
    for (round, delay_ms) in [150u64, 400, 900].into_iter().enumerate() {
        let mut swarm = TestSwarm::start(5, 1);
        let child = Command::new(FLOWC)
            .arg("run")
            .args(args)
            .args(["--join", swarm.bootstrap()])
            .current_dir(&job.path)
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run flowc");
        std::thread::sleep(Duration::from_millis(delay_ms));
        // A different peer each round, never the one the origin joined.
        swarm.kill(1 + round % 4);
        std::thread::sleep(Duration::from_millis(delay_ms / 2));
        swarm.kill(1 + (round + 2) % 4);
        let output = child.wait_with_output().expect("wait for flowc");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            output.status.code(),
            Some(0),
            "round {round}: {stderr}\n{}",
            swarm.logs()
        );
        assert_eq!(
            String::from_utf8_lossy(&output.stdout),
            expected,
            "round {round}\n{}",
            swarm.logs()
        );
    }
}

#[test]
fn two_origins_submit_at_once_and_both_are_correct() {
    let words = JobDir::new("origin-a", WORDCOUNT);
    words.write("data/a.txt", &corpus(5000, 3));
    let sums = JobDir::new("origin-b", SLOW_SUM);
    let words_args = [
        "job.flow",
        "--quiet",
        "--format",
        "json",
        "--split",
        "4KiB",
        "--workers",
        "1",
    ];
    let sums_args = ["job.flow", "--quiet", "--format", "json", "--workers", "1"];
    let words_expected = local_run(&words.path, &words_args);
    let sums_expected = local_run(&sums.path, &sums_args);
    let swarm = TestSwarm::start(4, 1);
    std::thread::scope(|scope| {
        let first = scope.spawn(|| swarm.run(&words.path, &words_args));
        let second = scope.spawn(|| swarm.run(&sums.path, &sums_args));
        let (code, stdout, stderr) = first.join().unwrap();
        assert_eq!(code, 0, "{stderr}");
        assert_eq!(stdout, words_expected);
        let (code, stdout, stderr) = second.join().unwrap();
        assert_eq!(code, 0, "{stderr}");
        assert_eq!(stdout, sums_expected);
    });
}

mod hostile {
    //! A raw libp2p client that speaks `/flow/job/1` with bytes of its
    //! choosing.

    use std::io;
    use std::time::Duration;

    use futures::{AsyncReadExt, AsyncWriteExt, StreamExt};
    use libp2p::request_response::{self, ProtocolSupport};
    use libp2p::swarm::SwarmEvent;
    use libp2p::{Multiaddr, StreamProtocol};

    #[derive(Debug, Clone, Default)]
    pub struct RawCodec;

    impl request_response::Codec for RawCodec {
        type Protocol = StreamProtocol;
        type Request = Vec<u8>;
        type Response = Vec<u8>;

        async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>>
        where
            T: futures::AsyncRead + Unpin + Send,
        {
            let mut bytes = Vec::new();
            io.take(1 << 20).read_to_end(&mut bytes).await?;
            Ok(bytes)
        }

        async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>>
        where
            T: futures::AsyncRead + Unpin + Send,
        {
            let mut bytes = Vec::new();
            io.take(1 << 20).read_to_end(&mut bytes).await?;
            Ok(bytes)
        }

        async fn write_request<T>(
            &mut self,
            _: &StreamProtocol,
            io: &mut T,
            request: Vec<u8>,
        ) -> io::Result<()>
        where
            T: futures::AsyncWrite + Unpin + Send,
        {
            io.write_all(&request).await?;
            io.close().await
        }

        async fn write_response<T>(
            &mut self,
            _: &StreamProtocol,
            io: &mut T,
            response: Vec<u8>,
        ) -> io::Result<()>
        where
            T: futures::AsyncWrite + Unpin + Send,
        {
            io.write_all(&response).await?;
            io.close().await
        }
    }

    /// Sends each message on a fresh connection to `address` and returns
    /// whether each got an answer (a hostile one should not).
    pub fn send_each(address: &str, messages: Vec<Vec<u8>>) -> Vec<bool> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let address: Multiaddr = address.parse().unwrap();
            let Some(libp2p::multiaddr::Protocol::P2p(peer)) = address.iter().last() else {
                panic!("no peer id in {address}");
            };
            let mut answered = Vec::new();
            for message in messages {
                let mut swarm = libp2p::SwarmBuilder::with_new_identity()
                    .with_tokio()
                    .with_tcp(
                        Default::default(),
                        libp2p::noise::Config::new,
                        libp2p::yamux::Config::default,
                    )
                    .unwrap()
                    .with_behaviour(|_| {
                        request_response::Behaviour::with_codec(
                            RawCodec,
                            [(
                                StreamProtocol::new("/flow/job/1"),
                                ProtocolSupport::Outbound,
                            )],
                            request_response::Config::default()
                                .with_request_timeout(Duration::from_secs(10)),
                        )
                    })
                    .unwrap()
                    .build();
                swarm.dial(address.clone()).unwrap();
                let mut sent = false;
                let outcome = tokio::time::timeout(Duration::from_secs(15), async {
                    loop {
                        match swarm.select_next_some().await {
                            SwarmEvent::ConnectionEstablished { .. } if !sent => {
                                sent = true;
                                swarm.behaviour_mut().send_request(&peer, message.clone());
                            }
                            SwarmEvent::Behaviour(request_response::Event::Message {
                                message: request_response::Message::Response { response, .. },
                                ..
                            }) => return !response.is_empty(),
                            SwarmEvent::Behaviour(request_response::Event::OutboundFailure {
                                ..
                            }) => return false,
                            SwarmEvent::ConnectionClosed { .. } if sent => return false,
                            _ => {}
                        }
                    }
                })
                .await;
                answered.push(outcome.unwrap_or(false));
            }
            answered
        })
    }
}

#[test]
fn malformed_and_oversized_messages_are_rejected_and_the_peer_keeps_serving() {
    use flow_executor::net::protocol::{self, Capacity, Request};
    let swarm = TestSwarm::start(2, 1);
    let frame = |body: &[u8]| {
        let mut bytes = (body.len() as u32).to_be_bytes().to_vec();
        bytes.extend_from_slice(body);
        bytes
    };
    let hello = protocol::encode(&Request::Hello(Capacity {
        cores: 1,
        free: 1,
        speed: 10.0,
        load: 0,
        os: "linux".into(),
        arch: "x86_64".into(),
        version: protocol::VERSION.into(),
    }))
    .unwrap();
    let impossible = protocol::encode(&Request::Hello(Capacity {
        cores: 1,
        free: 9,
        speed: f64::NAN,
        load: 0,
        os: "linux".into(),
        arch: "x86_64".into(),
        version: protocol::VERSION.into(),
    }))
    .unwrap();
    let messages = vec![
        // A length header far over the limit, and nothing behind it.
        u32::MAX.to_be_bytes().to_vec(),
        // Garbage in a well-formed frame.
        frame(&[0xde, 0xad, 0xbe, 0xef, 0xff, 0xff, 0xff, 0xff, 0x0f]),
        // A frame cut short.
        frame(&hello)[..hello.len()].to_vec(),
        // Well-formed, but a capacity no peer can have.
        frame(&impossible),
        // Well-formed and honest: answered.
        frame(&hello),
    ];
    let answered = hostile::send_each(swarm.bootstrap(), messages);
    assert_eq!(answered, vec![false, false, false, false, true]);
    let logs = swarm.logs();
    assert!(logs.contains("malformed message"), "{logs}");

    // The peer still serves jobs.
    let job = JobDir::new("after-hostile", WORDCOUNT);
    job.write("data/a.txt", &corpus(2000, 4));
    let args = [
        "job.flow",
        "--quiet",
        "--format",
        "json",
        "--split",
        "4KiB",
        "--workers",
        "1",
    ];
    let expected = local_run(&job.path, &args);
    let (code, stdout, stderr) = swarm.run(&job.path, &args);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, expected);
}
