//! One blocking UDP socket: send a request and wait for its final response (retransmitting like
//! RFC 3261 Timer E, simplified), answering other incoming requests meanwhile.

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use agentphone_sip::message;

/// A received message and where it came from.
pub struct Received {
    pub msg: rsip::SipMessage,
    pub from: SocketAddr,
}

/// The agents' socket.
pub struct SipSocket {
    socket: UdpSocket,
    server: SocketAddr,
    local: SocketAddr,
    buf: Vec<u8>,
}

impl SipSocket {
    pub fn new(socket: UdpSocket, server: SocketAddr) -> std::io::Result<SipSocket> {
        let local = socket.local_addr()?;
        Ok(SipSocket {
            socket,
            server,
            local,
            buf: vec![0; 65_536],
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    pub fn server(&self) -> SocketAddr {
        self.server
    }

    pub fn send_to(&self, bytes: &[u8], to: SocketAddr) -> std::io::Result<()> {
        self.socket.send_to(bytes, to).map(|_| ())
    }

    /// The next parsable message within `wait` (None on time-out; unparsable datagrams skipped).
    pub fn recv(&mut self, wait: Duration) -> std::io::Result<Option<Received>> {
        self.socket
            .set_read_timeout(Some(wait.max(Duration::from_millis(1))))?;
        match self.socket.recv_from(&mut self.buf) {
            Ok((n, from)) => {
                let bytes = self.buf.get(..n).unwrap_or_default();
                Ok(message::parse(bytes).ok().map(|msg| Received { msg, from }))
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Send `req` to the server and return its final response; requests that arrive meanwhile go
    /// to `other` (whose reply, if any, is sent).
    pub fn transact(
        &mut self,
        req: &rsip::Request,
        mut other: impl FnMut(&Received) -> Option<crate::auto_answer::Reply>,
    ) -> anyhow::Result<rsip::Response> {
        let msg: rsip::SipMessage = req.clone().into();
        let bytes = message::to_bytes(&msg);
        let (call_id, cseq) = (message::call_id(&msg), message::cseq(&msg));
        let deadline = Instant::now() + Duration::from_secs(8);
        let mut interval = Duration::from_millis(500);
        let mut resend_at = Instant::now();
        while Instant::now() < deadline {
            if Instant::now() >= resend_at {
                self.send_to(&bytes, self.server)?;
                resend_at = Instant::now() + interval;
                interval = (interval * 2).min(Duration::from_secs(4));
            }
            let Some(got) = self.recv(resend_at.saturating_duration_since(Instant::now()))? else {
                continue;
            };
            match &got.msg {
                rsip::SipMessage::Response(resp)
                    if message::call_id(&got.msg) == call_id && message::cseq(&got.msg) == cseq =>
                {
                    if resp.status_code.code() >= 200 {
                        return Ok(resp.clone());
                    }
                }
                rsip::SipMessage::Response(_) => {}
                rsip::SipMessage::Request(_) => {
                    if let Some(reply) = other(&got) {
                        self.send_to(&reply.bytes, reply.to)?;
                    }
                }
            }
        }
        anyhow::bail!("no final response to {} from {}", req.method, self.server)
    }
}
