//! The peer's TCP transport: libp2p's TCP with every outgoing connection on
//! a fresh local port.
//!
//! libp2p's TCP transport binds a dialing socket to the port the peer
//! listens on ("port reuse", for NAT hole punching). Windows refuses that
//! bind under wine (`WSAEACCES`, os error 10013), so a Windows peer could
//! never join anyone; real Windows only allows it by `SO_REUSEADDR`'s
//! socket-hijacking semantics. flowc does no hole punching: peers learn each
//! other's listen addresses from identify, not from the source port of a
//! connection. So [`FreshPorts`] asks for a new port on every dial, on
//! every platform, which keeps one code path that the Linux tests exercise.

use std::pin::Pin;
use std::task::{Context, Poll};

use libp2p::Multiaddr;
use libp2p::core::transport::{
    DialOpts, ListenerId, PortUse, Transport, TransportError, TransportEvent,
};

/// A transport that dials every connection from a newly allocated port.
#[derive(Debug)]
pub struct FreshPorts<T>(pub T);

impl<T: Transport + Unpin> Transport for FreshPorts<T> {
    type Output = T::Output;
    type Error = T::Error;
    type ListenerUpgrade = T::ListenerUpgrade;
    type Dial = T::Dial;

    fn listen_on(
        &mut self,
        id: ListenerId,
        addr: Multiaddr,
    ) -> Result<(), TransportError<Self::Error>> {
        self.0.listen_on(id, addr)
    }

    fn remove_listener(&mut self, id: ListenerId) -> bool {
        self.0.remove_listener(id)
    }

    fn dial(
        &mut self,
        addr: Multiaddr,
        opts: DialOpts,
    ) -> Result<Self::Dial, TransportError<Self::Error>> {
        self.0.dial(
            addr,
            DialOpts {
                port_use: PortUse::New,
                ..opts
            },
        )
    }

    fn poll(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<TransportEvent<Self::ListenerUpgrade, Self::Error>> {
        Pin::new(&mut self.get_mut().0).poll(cx)
    }
}
