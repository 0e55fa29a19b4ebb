//! Our engine on a real UDP socket on 127.0.0.1, driven from the test thread against a peer
//! process (`openssl s_server`, `gnutls-cli`, ...; see `udp_peer.rs`). The counterpart of
//! `pair.rs` for tests that need real sockets and real time: one turn waits for a datagram
//! or the engine's timer, feeds it, fires the timer, sends what is ready and collects
//! events, application data and every datagram sent and received.

use super::udp_peer::recv_error_is_transient;
use dtls_proto::{Admission, Config, Connection, Error, Event, Negotiated, Role, ServerFrontDoor};
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Server-side acceptance: how a datagram from a new address becomes an association.
pub enum Accept {
    /// Through `ServerFrontDoor::admit` (cookie before state, then a `Connection`).
    FrontDoor(ServerFrontDoor),
    /// A `Connection` at once; the engine answers with HelloVerifyRequest itself.
    Direct,
}

/// One engine association on one UDP socket, driven from the test thread.
pub struct UdpEngine {
    pub sock: UdpSocket,
    pub start: Instant,
    /// The peer; a server learns it from the first ClientHello it accepts.
    pub peer: Option<SocketAddr>,
    pub conn: Option<Connection>,
    /// Server only: the config and the acceptance mode for the first peer.
    pub pending_server: Option<(Arc<Config>, Accept)>,
    /// Cookie replies (HelloVerifyRequests, or HelloRetryRequests with DTLS 1.3) the front
    /// door sent (they are not the association's).
    pub front_door_hvrs: u64,
    pub events: Vec<Event>,
    /// Application data received, concatenated.
    pub app_in: Vec<u8>,
    /// Every datagram the engine sent, and every datagram from the peer, in order.
    pub sent: Vec<Vec<u8>>,
    pub received: Vec<Vec<u8>>,
    tx: Vec<u8>,
    rx: Vec<u8>,
}

/// The transport address our cookies are bound to.
pub fn addr_bytes(a: SocketAddr) -> Vec<u8> {
    a.to_string().into_bytes()
}

impl UdpEngine {
    fn base(sock: UdpSocket) -> Self {
        UdpEngine {
            sock,
            start: Instant::now(),
            peer: None,
            conn: None,
            pending_server: None,
            front_door_hvrs: 0,
            events: Vec::new(),
            app_in: Vec::new(),
            sent: Vec::new(),
            received: Vec::new(),
            tx: vec![0; 2048],
            rx: vec![0; 65_535],
        }
    }

    /// A client of 127.0.0.1:`port`, checking `server_name` in the server's certificate.
    pub fn client(cfg: Arc<Config>, server_name: Option<&str>, port: u16) -> Self {
        let sock = UdpSocket::bind("127.0.0.1:0").expect("bind client socket");
        let peer: SocketAddr = ([127, 0, 0, 1], port).into();
        sock.connect(peer).expect("connect client socket");
        let mut e = Self::base(sock);
        let conn = Connection::new(cfg, Role::Client, server_name, e.now()).expect("client");
        e.conn = Some(conn);
        e.peer = Some(peer);
        e
    }

    /// A server on an ephemeral 127.0.0.1 port (returned), waiting for its first peer:
    /// admitted through the stateless front door, or straight into a `Connection` that does
    /// the cookie exchange itself (RFC 6347 §4.2.1).
    pub fn server(cfg: Arc<Config>, front_door: bool) -> (Self, u16) {
        let sock = UdpSocket::bind("127.0.0.1:0").expect("bind server socket");
        let port = sock.local_addr().expect("local addr").port();
        let mut e = Self::base(sock);
        let accept = if front_door {
            Accept::FrontDoor(ServerFrontDoor::new(cfg.clone()))
        } else {
            Accept::Direct
        };
        e.pending_server = Some((cfg, accept));
        (e, port)
    }

    pub fn now(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    pub fn conn(&self) -> &Connection {
        self.conn.as_ref().expect("no association yet")
    }

    pub fn conn_mut(&mut self) -> &mut Connection {
        self.conn.as_mut().expect("no association yet")
    }

    pub fn is_connected(&self) -> bool {
        self.conn.as_ref().is_some_and(Connection::is_connected)
    }

    /// Sends everything the engine has ready.
    pub fn flush(&mut self) -> Result<(), Error> {
        let (Some(conn), Some(peer)) = (self.conn.as_mut(), self.peer) else {
            return Ok(());
        };
        let now = self.start.elapsed().as_millis() as u64;
        loop {
            match conn.poll_transmit(now, &mut self.tx) {
                Ok(Some(n)) => {
                    self.sent.push(self.tx[..n].to_vec());
                    // A lost datagram is the retransmission timer's business.
                    let _ = self.sock.send_to(&self.tx[..n], peer);
                }
                Ok(None) => return Ok(()),
                Err(Error::BufferTooSmall { needed }) => self.tx.resize(needed, 0),
                Err(e) => return Err(e),
            }
        }
    }

    /// A datagram from an address with no association yet (server only).
    fn admit(&mut self, from: SocketAddr, n: usize) -> Result<(), Error> {
        let now = self.now();
        let Some((cfg, accept)) = &mut self.pending_server else {
            return Ok(());
        };
        self.received.push(self.rx[..n].to_vec());
        let mut hello = self.rx[..n].to_vec();
        if let Accept::FrontDoor(door) = accept {
            let mut reply = [0u8; 512];
            match door.admit(now, &addr_bytes(from), &self.rx[..n], &mut reply) {
                // The datagram itself, or the ClientHello the door reassembled.
                Admission::Accept(h) => hello = h.to_vec(),
                Admission::Reply(len) => {
                    self.front_door_hvrs += 1;
                    let _ = self.sock.send_to(&reply[..len], from);
                    return Ok(());
                }
                Admission::Held | Admission::Drop => return Ok(()),
            }
        }
        let mut conn = Connection::new(cfg.clone(), Role::Server, None, now)?;
        // Cookies (the front door's and the engine's own) are bound to this address.
        conn.set_peer_address(&addr_bytes(from));
        let r = conn.handle_datagram(now, &hello);
        self.pending_server = None;
        self.peer = Some(from);
        self.conn = Some(conn);
        self.flush()?;
        r
    }

    /// One turn: wait up to `max_wait` (less when the engine's timer is due), feed what
    /// arrived, run the timer, send, and collect events and application data.
    pub fn pump(&mut self, max_wait: Duration) -> Result<(), Error> {
        self.flush()?;
        let now = self.now();
        let wait = match self.conn.as_ref().and_then(Connection::next_timeout) {
            Some(t) if t <= now => Duration::ZERO,
            Some(t) => max_wait.min(Duration::from_millis(t - now)),
            None => max_wait,
        };
        let mut result = Ok(());
        if !wait.is_zero() {
            self.sock
                .set_read_timeout(Some(wait))
                .expect("set_read_timeout");
            match self.sock.recv_from(&mut self.rx) {
                Ok((n, from)) if self.peer == Some(from) => {
                    self.received.push(self.rx[..n].to_vec());
                    let now = self.now();
                    if let Some(c) = self.conn.as_mut() {
                        result = c.handle_datagram(now, &self.rx[..n]);
                    }
                }
                Ok((n, from)) if self.peer.is_none() => result = self.admit(from, n),
                Ok(_) => {} // Someone else: ignored.
                Err(e) if recv_error_is_transient(&e) => {}
                Err(e) => panic!("recv: {e}"),
            }
        }
        if result.is_ok() {
            let now = self.now();
            if let Some(c) = self.conn.as_mut() {
                if c.next_timeout().is_some_and(|t| now >= t) {
                    result = c.handle_timeout(now);
                }
            }
        }
        // After a fatal error the alert for the peer may still be waiting.
        let flushed = self.flush();
        if let Some(c) = self.conn.as_mut() {
            while let Some(ev) = c.poll_event() {
                self.events.push(ev);
            }
            let mut buf = [0u8; 2048];
            while let Some(n) = c.recv(&mut buf)? {
                self.app_in.extend_from_slice(&buf[..n]);
            }
        }
        result.and(flushed)
    }

    /// Pumps until `done` holds; `Err` on an engine error or when `deadline` passes.
    pub fn run_until(
        &mut self,
        deadline: Instant,
        what: &str,
        done: impl Fn(&UdpEngine) -> bool,
    ) -> Result<(), String> {
        while !done(self) {
            if Instant::now() >= deadline {
                return Err(format!("timed out waiting for {what}"));
            }
            self.pump(Duration::from_millis(20)).map_err(|e| {
                format!("engine failed waiting for {what}: {e} ({})", e.code_name())
            })?;
        }
        Ok(())
    }

    pub fn handshake(&mut self, deadline: Instant) -> Result<(), String> {
        self.run_until(deadline, "the handshake", UdpEngine::is_connected)
    }

    pub fn send(&mut self, data: &[u8]) {
        self.conn_mut().send(data).expect("send");
        self.flush().expect("flush");
    }

    /// Whether the application data received so far contains `needle`.
    pub fn received_text(&self, needle: &str) -> bool {
        String::from_utf8_lossy(&self.app_in).contains(needle)
    }

    pub fn close(&mut self) {
        self.flush().expect("flush before close");
        self.conn_mut().close().expect("close");
        self.flush().expect("flush close_notify");
    }

    /// RFC 5705 export of `len` bytes under `label`, without context.
    pub fn export(&self, label: &str, len: usize) -> Vec<u8> {
        let mut out = vec![0u8; len];
        self.conn()
            .export_keying_material(label.as_bytes(), None, &mut out)
            .expect("export");
        out
    }

    /// What the Connected event reported.
    pub fn connected(&self) -> Option<&Negotiated> {
        self.events.iter().find_map(|e| match e {
            Event::Connected(n) => Some(n),
            _ => None,
        })
    }

    /// Keeps the association serviced (retransmissions, the peer's last flight) until
    /// `done(peer)` holds or `deadline` passes. Engine errors after the handshake (e.g. the
    /// peer's close) do not matter here.
    pub fn serve_until<P>(
        &mut self,
        peer: &mut P,
        deadline: Instant,
        done: impl Fn(&mut P) -> bool,
    ) -> bool {
        loop {
            if done(peer) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            let _ = self.pump(Duration::from_millis(20));
        }
    }

    pub fn connected_events(&self) -> usize {
        self.events
            .iter()
            .filter(|e| matches!(e, Event::Connected(_)))
            .count()
    }
}
