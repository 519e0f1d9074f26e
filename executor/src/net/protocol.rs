//! The wire protocol between peers: `/flow/job/1`, one request and one
//! response per stream, each a 4-byte big-endian length and a postcard body.
//!
//! Every message comes from a peer that may be buggy or hostile, so the
//! codec refuses a length above [`MAX_MESSAGE_BYTES`] before reading the
//! body, decoding never trusts a count it has not bounded (postcard reads
//! lengths against the bytes actually present), and [`Request::validate`]
//! checks every field a handler relies on. A message that fails either is
//! dropped and its sender disconnected; the receiving peer keeps serving.

use std::io;

use futures::{AsyncReadExt, AsyncWriteExt};
use libp2p::StreamProtocol;
use serde::{Deserialize, Serialize};

use flow_runtime::policy::PolicyProgram;

/// The protocol name, versioned: a peer that speaks another version simply
/// does not negotiate it.
pub const PROTOCOL: StreamProtocol = StreamProtocol::new("/flow/job/1");

/// The largest message either side sends or accepts. A chunk is at most the
/// policy's `split`, and `flowc run` refuses a split above [`MAX_CHUNK_BYTES`]
/// for a swarm run, so one chunk always fits with room for its framing.
pub const MAX_MESSAGE_BYTES: usize = 80 << 20;

/// The largest chunk a peer ships to another.
pub const MAX_CHUNK_BYTES: u64 = 64 << 20;

/// The most chunks one delegation may name.
pub const MAX_CHUNKS: usize = 1 << 20;

/// The deepest tree a delegation may describe.
pub const MAX_DEPTH: u32 = 64;

/// The version of flowc, sent in capacity announcements.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// What a peer offers others, announced to every peer it is connected to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Capacity {
    /// Cores this peer gives to others' jobs (`--cores`).
    pub cores: u32,
    /// Of those, how many are free now.
    pub free: u32,
    /// Measured speed of one core (MiB per second of a calibration stage).
    pub speed: f64,
    /// Jobs this peer is working on for others.
    pub load: u32,
    /// `linux`, `windows`, …
    pub os: String,
    /// `x86_64`, `aarch64`, …
    pub arch: String,
    /// flowc's version.
    pub version: String,
}

/// A run of one stage (one CSV header group of it) across the swarm: the
/// origin names it with a random job id and a part number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RunId {
    pub job: u64,
    pub part: u32,
}

/// The policy as it travels: the core's [`crate::Policy`] without the
/// closure, plus the `delegate when` program every peer evaluates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicySpec {
    pub fanout: u32,
    pub depth: u32,
    /// 0 capacity, 1 latency, 2 random.
    pub select: u8,
    pub retries: u32,
    pub timeout_ms: u64,
    pub replicate: u8,
    pub rule: PolicyProgram,
}

/// Work a parent hands a child: the stage to run, its context, and the
/// chunks (ids and sizes); the bytes are fetched from the parent as the
/// child's workers need them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delegation {
    pub run: RunId,
    /// The parent's name for this piece, echoed in every message about it.
    pub task: u64,
    /// The blake3 hash of the stage module; fetched from the parent when the
    /// child does not have it yet.
    pub module: [u8; 32],
    /// The stage's index in the plan.
    pub stage: u32,
    /// The encoded job context (docs/abi.md).
    #[serde(with = "raw_bytes")]
    pub context: Vec<u8>,
    /// `(chunk id, size)`, ids strictly increasing.
    pub chunks: Vec<(u32, u64)>,
    /// The child's depth in the tree.
    pub depth: u32,
    pub policy: PolicySpec,
    /// Peer ids (bytes) of the parent and its ancestors: never delegated to
    /// again, so a tree has no cycle.
    pub ancestors: Vec<Vec<u8>>,
    pub seed: u64,
}

/// A stage failure as it travels up the tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemoteFailure {
    /// The chunk being processed.
    pub chunk: u32,
    /// `overflow`, `division-by-zero`, …, or `stage` for a trap, `input`
    /// for unreadable bytes, `merge`, `module`.
    pub kind: String,
    pub message: String,
    /// The span table index of the failing expression, or -1.
    pub span_id: i64,
    /// The line, record or item in the chunk, or -1.
    pub position: i64,
}

/// One chunk's bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkData {
    pub id: u32,
    #[serde(with = "raw_bytes")]
    pub bytes: Vec<u8>,
    pub first: i64,
}

/// A request from one peer to another.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Request {
    /// "Here is what I offer; what do you?" Answered with `Capacity`.
    Hello(Capacity),
    /// Parent to child: compute this. Answered `Accepted` or `Rejected`.
    Delegate(Delegation),
    /// Parent to child: drop piece `task`.
    Cancel { run: RunId, task: u64 },
    /// Child to parent: still working on `task`.
    Alive { run: RunId, task: u64 },
    /// Child to parent: the one partial of `task`, covering every chunk.
    PartialUp {
        run: RunId,
        task: u64,
        #[serde(with = "raw_bytes")]
        partial: Vec<u8>,
    },
    /// Child to parent: `task` failed.
    Failed {
        run: RunId,
        task: u64,
        failure: RemoteFailure,
    },
    /// Child to parent: give back `task` (the child shuts down).
    GiveBack { run: RunId, task: u64 },
    /// Child to parent: the stage module with this hash.
    FetchModule { module: [u8; 32] },
    /// Child to parent: the bytes of chunks of `task`.
    FetchChunks {
        run: RunId,
        task: u64,
        chunks: Vec<u32>,
    },
    /// Not a message: what the codec hands the node instead of a request
    /// that was oversized, cut short, undecodable or invalid, so the node
    /// can drop the sender. Never sent.
    #[serde(skip)]
    Malformed(String),
}

/// The answer to a [`Request`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Response {
    Ok,
    Capacity(Capacity),
    Accepted,
    Rejected {
        reason: String,
    },
    Module(#[serde(with = "raw_bytes")] Vec<u8>),
    Chunks(Vec<ChunkData>),
    /// The request was understood but cannot be served.
    Refused {
        reason: String,
    },
}

impl Request {
    /// Checks what the handlers rely on; the error says what was wrong.
    pub fn validate(&self) -> Result<(), String> {
        match self {
            Request::Hello(capacity) => capacity.validate(),
            Request::Delegate(delegation) => {
                if delegation.chunks.is_empty() {
                    return Err("a delegation with no chunk".into());
                }
                if delegation.chunks.len() > MAX_CHUNKS {
                    return Err("a delegation with too many chunks".into());
                }
                if !delegation.chunks.windows(2).all(|w| w[0].0 < w[1].0) {
                    return Err("delegated chunk ids are not strictly increasing".into());
                }
                if delegation.depth == 0 || delegation.depth > MAX_DEPTH {
                    return Err(format!("a delegation at depth {}", delegation.depth));
                }
                if delegation.ancestors.len() > MAX_DEPTH as usize
                    || delegation.ancestors.iter().any(|a| a.len() > 128)
                {
                    return Err("a delegation with a malformed ancestor list".into());
                }
                if delegation.policy.rule.ops.len() > PolicyProgram::MAX_OPS {
                    return Err("a `delegate when` program that is too long".into());
                }
                if delegation.policy.fanout == 0 || delegation.policy.replicate == 0 {
                    return Err("a policy with a zero fanout or replicate".into());
                }
                Ok(())
            }
            Request::FetchChunks { chunks, .. } if chunks.is_empty() || chunks.len() > 64 => {
                Err("a chunk request for no chunk or more than 64".into())
            }
            Request::Failed { failure, .. }
                if failure.kind.len() > 64 || failure.message.len() > 64 * 1024 =>
            {
                Err("a failure report that is too long".into())
            }
            Request::Malformed(reason) => Err(reason.clone()),
            _ => Ok(()),
        }
    }
}

impl Capacity {
    fn validate(&self) -> Result<(), String> {
        if !self.speed.is_finite() || self.speed < 0.0 {
            return Err("a capacity with a speed that is not a finite positive number".into());
        }
        if self.free > self.cores || self.cores > 4096 {
            return Err("a capacity with impossible core counts".into());
        }
        if self.os.len() > 32 || self.arch.len() > 32 || self.version.len() > 64 {
            return Err("a capacity with over-long names".into());
        }
        Ok(())
    }
}

/// Frames and encodes [`Request`]s and [`Response`]s.
#[derive(Debug, Clone, Copy, Default)]
pub struct Codec;

async fn read_frame<T: futures::AsyncRead + Unpin + Send>(io: &mut T) -> io::Result<Vec<u8>> {
    let mut header = [0u8; 4];
    io.read_exact(&mut header).await?;
    let len = u32::from_be_bytes(header) as usize;
    if len > MAX_MESSAGE_BYTES {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("a message of {len} bytes is over the limit of {MAX_MESSAGE_BYTES}"),
        ));
    }
    let mut body = vec![0u8; len];
    io.read_exact(&mut body).await?;
    Ok(body)
}

async fn write_frame<T: futures::AsyncWrite + Unpin + Send>(
    io: &mut T,
    body: Vec<u8>,
) -> io::Result<()> {
    if body.len() > MAX_MESSAGE_BYTES {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("a message of {} bytes is over the limit", body.len()),
        ));
    }
    io.write_all(&(body.len() as u32).to_be_bytes()).await?;
    io.write_all(&body).await?;
    io.close().await
}

/// Encodes a message body (without the frame).
pub fn encode<M: Serialize>(message: &M) -> io::Result<Vec<u8>> {
    postcard::to_stdvec(message).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))
}

/// Decodes a message body; trailing bytes are an error.
pub fn decode<M: for<'de> Deserialize<'de>>(bytes: &[u8]) -> io::Result<M> {
    match postcard::take_from_bytes::<M>(bytes) {
        Ok((message, [])) => Ok(message),
        Ok(_) => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "trailing bytes after a message",
        )),
        Err(e) => Err(io::Error::new(io::ErrorKind::InvalidData, e)),
    }
}

impl libp2p::request_response::Codec for Codec {
    type Protocol = StreamProtocol;
    type Request = Request;
    type Response = Response;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Request>
    where
        T: futures::AsyncRead + Unpin + Send,
    {
        // A bad request becomes `Malformed` rather than an error: libp2p
        // drops a stream whose request fails to read without telling the
        // node, and the node wants to disconnect such a sender.
        let frame = match read_frame(io).await {
            Ok(frame) => frame,
            Err(error)
                if matches!(
                    error.kind(),
                    io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof
                ) =>
            {
                return Ok(Request::Malformed(error.to_string()));
            }
            Err(error) => return Err(error),
        };
        let request: Request = match decode(&frame) {
            Ok(request) => request,
            Err(error) => return Ok(Request::Malformed(error.to_string())),
        };
        Ok(match request.validate() {
            Ok(()) => request,
            Err(reason) => Request::Malformed(reason),
        })
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Response>
    where
        T: futures::AsyncRead + Unpin + Send,
    {
        decode(&read_frame(io).await?)
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        request: Request,
    ) -> io::Result<()>
    where
        T: futures::AsyncWrite + Unpin + Send,
    {
        write_frame(io, encode(&request)?).await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        response: Response,
    ) -> io::Result<()>
    where
        T: futures::AsyncWrite + Unpin + Send,
    {
        write_frame(io, encode(&response)?).await
    }
}

/// Byte buffers (chunks, partials, modules, contexts) as serde bytes: one
/// length and the raw bytes, copied whole. Postcard writes a `Vec<u8>` the
/// same way on the wire, but through serde's sequence path it visits every
/// byte on its own, which cost a peer more time than decrypting the
/// connection (`perf` on a 256 MiB word count).
mod raw_bytes {
    use std::fmt;

    use serde::de::{self, Deserializer, Visitor};
    use serde::ser::Serializer;

    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(bytes)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        deserializer.deserialize_byte_buf(BytesVisitor)
    }

    struct BytesVisitor;

    impl<'de> Visitor<'de> for BytesVisitor {
        type Value = Vec<u8>;

        fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
            formatter.write_str("a byte buffer")
        }

        fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<Vec<u8>, E> {
            Ok(bytes.to_vec())
        }

        fn visit_byte_buf<E: de::Error>(self, bytes: Vec<u8>) -> Result<Vec<u8>, E> {
            Ok(bytes)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape `ChunkData` had before its bytes went through
    /// [`raw_bytes`]: a plain `Vec<u8>`, a serde sequence.
    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct SequenceChunk {
        id: u32,
        bytes: Vec<u8>,
        first: i64,
    }

    #[test]
    fn raw_bytes_have_the_wire_form_of_a_byte_sequence() {
        let bytes: Vec<u8> = (0..=255).chain(0..40).collect();
        let fast = ChunkData {
            id: 7,
            bytes: bytes.clone(),
            first: -3,
        };
        let plain = SequenceChunk {
            id: 7,
            bytes,
            first: -3,
        };
        let encoded = postcard::to_allocvec(&fast).unwrap();
        assert_eq!(encoded, postcard::to_allocvec(&plain).unwrap());
        assert_eq!(postcard::from_bytes::<ChunkData>(&encoded).unwrap(), fast);
        assert_eq!(
            postcard::from_bytes::<SequenceChunk>(&encoded).unwrap(),
            plain
        );
    }

    fn capacity() -> Capacity {
        Capacity {
            cores: 2,
            free: 1,
            speed: 100.0,
            load: 0,
            os: "linux".into(),
            arch: "x86_64".into(),
            version: VERSION.into(),
        }
    }

    #[test]
    fn messages_round_trip() {
        let request = Request::Hello(capacity());
        let bytes = encode(&request).unwrap();
        assert_eq!(decode::<Request>(&bytes).unwrap(), request);
    }

    #[test]
    fn garbage_and_truncation_are_errors() {
        let bytes = encode(&Request::Hello(capacity())).unwrap();
        assert!(decode::<Request>(&bytes[..bytes.len() - 1]).is_err());
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decode::<Request>(&longer).is_err());
        assert!(decode::<Request>(&[0xff; 16]).is_err());
        // A huge claimed vector length with no bytes behind it.
        assert!(decode::<Request>(&[7, 0xff, 0xff, 0xff, 0xff, 0x0f]).is_err());
    }

    #[test]
    fn validation_rejects_impossible_fields() {
        let mut bad = capacity();
        bad.speed = f64::NAN;
        assert!(Request::Hello(bad).validate().is_err());
        let mut bad = capacity();
        bad.free = 3;
        assert!(Request::Hello(bad).validate().is_err());
        let delegation = Delegation {
            run: RunId { job: 1, part: 0 },
            task: 1,
            module: [0; 32],
            stage: 0,
            context: Vec::new(),
            chunks: vec![(2, 10), (1, 10)],
            depth: 1,
            policy: PolicySpec {
                fanout: 2,
                depth: 3,
                select: 0,
                retries: 2,
                timeout_ms: 1000,
                replicate: 1,
                rule: PolicyProgram { ops: Vec::new() },
            },
            ancestors: Vec::new(),
            seed: 0,
        };
        assert!(Request::Delegate(delegation.clone()).validate().is_err());
        let mut good = delegation;
        good.chunks = vec![(1, 10), (2, 10)];
        assert!(Request::Delegate(good).validate().is_ok());
    }
}
