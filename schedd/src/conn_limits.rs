//! Bounds on the connections a listener holds: how many at once, how long
//! one may take to say anything, how long one may sit idle.
//!
//! Each listener (the Unix socket, TCP) has its own cap, so a flood of
//! TCP connections never locks the owner out of the Unix socket. Past
//! the cap a new connection is accepted and closed at once (it leaves the
//! kernel's backlog, and its client hears a reset rather than hanging).
//! A connection that has sent nothing within the handshake timeout is
//! closed, and so is one with no traffic either way for the idle timeout
//! while no [`Watch`](ConnState::busy) stream is open on it (a watcher
//! may wait quietly for events as long as it likes). The cap is a
//! semaphore permit each connection holds until it closes.
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Sleep;
use tokio_stream::{Stream, StreamExt};
use tonic::transport::server::Connected;

/// The bounds of one listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnLimits {
    /// Connections held at once.
    pub max_connections: usize,
    /// Time a new connection has to send its first bytes.
    pub handshake: Duration,
    /// Time a connection may go without traffic (and with no open Watch).
    pub idle: Duration,
}

impl Default for ConnLimits {
    fn default() -> Self {
        ConnLimits {
            max_connections: 512,
            handshake: Duration::from_secs(10),
            idle: Duration::from_secs(300),
        }
    }
}

/// What a connection's handlers can see of it (a request extension).
#[derive(Debug, Default)]
pub struct ConnState {
    /// Streams open on the connection that may stay quiet.
    busy: AtomicUsize,
}

impl ConnState {
    /// Mark a long-lived stream open until the guard drops: the
    /// connection is not idle meanwhile.
    pub fn busy(self: &Arc<Self>) -> BusyGuard {
        self.busy.fetch_add(1, Ordering::Relaxed);
        BusyGuard(Arc::clone(self))
    }

    fn is_busy(&self) -> bool {
        self.busy.load(Ordering::Relaxed) > 0
    }
}

/// Keeps a connection from idling out (see [`ConnState::busy`]).
#[derive(Debug)]
pub struct BusyGuard(Arc<ConnState>);

impl Drop for BusyGuard {
    fn drop(&mut self) {
        self.0.busy.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The connect info of a limited connection: the inner one (the peer's
/// credentials on the Unix socket, its address over TCP) and the state.
#[derive(Debug, Clone)]
pub struct Conn<I> {
    /// What the inner connection says of its peer.
    pub inner: I,
    /// Shared with the connection's reader.
    pub state: Arc<ConnState>,
}

/// The state of the limited connection `req` came on, if it came on one
/// (over the Unix socket, TCP, or TLS over TCP).
pub fn state_of<T>(req: &tonic::Request<T>) -> Option<Arc<ConnState>> {
    use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo, UdsConnectInfo};
    let ext = req.extensions();
    ext.get::<Conn<UdsConnectInfo>>()
        .map(|c| &c.state)
        .or_else(|| ext.get::<Conn<TcpConnectInfo>>().map(|c| &c.state))
        .or_else(|| {
            ext.get::<TlsConnectInfo<Conn<TcpConnectInfo>>>()
                .map(|c| &c.get_ref().state)
        })
        .cloned()
}

/// A connection under the bounds: delegates reads and writes, notes
/// traffic, and fails a read once the connection has timed out (the
/// server then closes it).
pub struct Limited<IO> {
    io: IO,
    _permit: OwnedSemaphorePermit,
    state: Arc<ConnState>,
    limits: ConnLimits,
    /// When the last bytes went either way; None before the first read.
    last: Option<Instant>,
    opened: Instant,
    /// Shared so writes can note traffic without touching the timer.
    wrote: Arc<Mutex<Option<Instant>>>,
    timer: Pin<Box<Sleep>>,
}

impl<IO> Limited<IO> {
    fn deadline(&self) -> Instant {
        let wrote = *self.wrote.lock().unwrap_or_else(|p| p.into_inner());
        match self.last {
            None => self.opened + self.limits.handshake,
            Some(read) => wrote.map_or(read, |w| w.max(read)) + self.limits.idle,
        }
    }

    /// Ok(()) while the connection may live; polls the timer so the task
    /// wakes when it may not.
    fn check_time(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        loop {
            let deadline = self.deadline();
            if Instant::now() < deadline || (self.last.is_some() && self.state.is_busy()) {
                let next = if Instant::now() < deadline {
                    deadline
                } else {
                    // Busy: look again after another idle period.
                    Instant::now() + self.limits.idle
                };
                self.timer.as_mut().reset(next.into());
                if self.timer.as_mut().poll(cx).is_pending() {
                    return Ok(());
                }
                continue;
            }
            let what = if self.last.is_none() {
                "sent nothing within the handshake timeout"
            } else {
                "idle past the idle timeout"
            };
            return Err(io::Error::new(io::ErrorKind::TimedOut, what));
        }
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for Limited<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        match Pin::new(&mut this.io).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    this.last = Some(Instant::now());
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => match this.check_time(cx) {
                Ok(()) => Poll::Pending,
                Err(e) => Poll::Ready(Err(e)),
            },
        }
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Limited<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.io).poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            *self.wrote.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
        }
        r
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

impl<IO: Connected> Connected for Limited<IO> {
    type ConnectInfo = Conn<IO::ConnectInfo>;

    fn connect_info(&self) -> Self::ConnectInfo {
        Conn {
            inner: self.io.connect_info(),
            state: Arc::clone(&self.state),
        }
    }
}

/// The connections of `incoming` under `limits`; `listener` names it in
/// the warning logged (at most every ten seconds) while the cap turns
/// connections away.
pub fn limit<S, IO, E>(
    incoming: S,
    limits: ConnLimits,
    listener: &'static str,
) -> impl Stream<Item = Result<Limited<IO>, E>>
where
    S: Stream<Item = Result<IO, E>>,
{
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let mut warned: Option<Instant> = None;
    incoming.filter_map(move |conn| {
        let io = match conn {
            Ok(io) => io,
            Err(e) => return Some(Err(e)),
        };
        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
            if warned.is_none_or(|t| t.elapsed() >= Duration::from_secs(10)) {
                warned = Some(Instant::now());
                tracing::warn!(
                    listener,
                    max_connections = limits.max_connections,
                    "connection limit reached: closing new connections"
                );
            }
            return None;
        };
        let now = Instant::now();
        Some(Ok(Limited {
            io,
            _permit: permit,
            state: Arc::new(ConnState::default()),
            limits,
            last: None,
            opened: now,
            wrote: Arc::new(Mutex::new(None)),
            timer: Box::pin(tokio::time::sleep_until((now + limits.handshake).into())),
        }))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn limits(max: usize, handshake_ms: u64, idle_ms: u64) -> ConnLimits {
        ConnLimits {
            max_connections: max,
            handshake: Duration::from_millis(handshake_ms),
            idle: Duration::from_millis(idle_ms),
        }
    }

    /// `n` server ends of duplex pipes through `limit`, and their clients.
    async fn through(
        n: usize,
        l: ConnLimits,
    ) -> (
        Vec<Limited<tokio::io::DuplexStream>>,
        Vec<tokio::io::DuplexStream>,
    ) {
        let mut clients = Vec::new();
        let mut servers = Vec::new();
        for _ in 0..n {
            let (c, s) = tokio::io::duplex(64);
            clients.push(c);
            servers.push(Ok::<_, io::Error>(s));
        }
        let limited: Vec<_> = limit(tokio_stream::iter(servers), l, "test")
            .collect::<Vec<_>>()
            .await;
        (limited.into_iter().map(|r| r.unwrap()).collect(), clients)
    }

    #[tokio::test]
    async fn past_the_cap_connections_are_closed() {
        let (held, mut clients) = through(3, limits(2, 1000, 1000)).await;
        assert_eq!(held.len(), 2);
        // The third server end was dropped: its client reads EOF.
        let mut b = [0u8; 1];
        assert_eq!(clients[2].read(&mut b).await.unwrap(), 0);
    }

    #[tokio::test]
    async fn silence_past_the_handshake_timeout_closes() {
        let (mut held, _clients) = through(1, limits(4, 50, 10_000)).await;
        let mut b = [0u8; 8];
        let t = Instant::now();
        let e = held[0].read(&mut b).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        assert!(e.to_string().contains("handshake"), "{e}");
        assert!(t.elapsed() < Duration::from_secs(2));
    }

    #[tokio::test]
    async fn idle_connections_close_unless_a_watch_is_open() {
        let (mut held, mut clients) = through(2, limits(4, 1000, 80)).await;
        let mut b = [0u8; 8];
        for (s, c) in held.iter_mut().zip(clients.iter_mut()) {
            c.write_all(b"hi").await.unwrap();
            assert_eq!(s.read(&mut b).await.unwrap(), 2);
        }
        let guard = held[1].state.busy();
        let e = held[0].read(&mut b).await.unwrap_err();
        assert!(e.to_string().contains("idle"), "{e}");
        // The busy one outlives several idle periods.
        let r = tokio::time::timeout(Duration::from_millis(300), held[1].read(&mut b)).await;
        assert!(r.is_err(), "still open while a watch is: {r:?}");
        drop(guard);
        let e = held[1].read(&mut b).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
    }
}
