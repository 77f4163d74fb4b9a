//! The connections: HTTP/1.1 over a TCP listener, with a connection cap, a header-read timeout,
//! an idle timeout and a shutdown that waits at most a grace period.
//!
//! hyper does the HTTP: its header-read timeout runs from the moment a connection waits for a
//! request head, so it also closes a kept-alive connection that sends nothing. What hyper has
//! no option for is a client that stops reading an answer (a push stream, say): [`Idle`] fails
//! a connection on which no byte moved either way for [`Limits::idle_timeout`] while the server
//! waited on it. Push streams send a keep-alive comment more often than that.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::{Instant, Sleep};

/// What the server allows each client, and itself at shutdown.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Open connections at most; one more is answered `503` and closed.
    pub max_connections: usize,
    /// Time a client has to send a whole request head, from the moment the server waits for
    /// one (so also the longest a kept-alive connection stays open without a request).
    pub header_timeout: Duration,
    /// Time a connection may go without a byte moving either way while the server waits on
    /// the client (to read a request or take an answer).
    pub idle_timeout: Duration,
    /// Time the open connections get to finish after the shutdown signal; then they are closed.
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    /// 1000 connections: twice what a room of dashboards needs, under the usual limit of 1024
    /// open files. 10 s for a request head, 30 s idle (twice the push stream's keep-alive), a
    /// second at shutdown.
    fn default() -> Self {
        Limits {
            max_connections: 1000,
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(1),
        }
    }
}

/// The answer to a connection beyond the cap.
const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
content-type: application/json\r\n\
content-length: 70\r\n\
retry-after: 1\r\n\
connection: close\r\n\
\r\n\
{\"error\":\"too many connections to this server; try again in a moment\"}";

/// Serves `app` on `listener` until `shutdown` completes, then gives the open connections
/// `limits.shutdown_grace` to finish and closes the rest.
pub(super) async fn run(
    listener: TcpListener,
    app: Router,
    limits: &Limits,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let service = TowerToHyperService::new(app);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    accept_failed(error).await;
                    continue;
                }
            },
            // Reaps finished connections, so the set holds only open ones.
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            () = &mut shutdown => break,
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            connections.spawn(refuse(stream));
            continue;
        };
        let _ = stream.set_nodelay(true);
        let io = TokioIo::new(Idle::new(stream, limits.idle_timeout));
        let connection = graceful.watch(http.serve_connection(io, service.clone()));
        connections.spawn(async move {
            // An error here is the client's (gone, too slow, not HTTP): nothing to report.
            let _ = connection.await;
            drop(permit);
        });
    }
    drop(listener);
    // Ends kept-alive connections and lets answers in flight finish (push streams end on the
    // same signal); a client that stopped reading gets no more than the grace period.
    let _ = tokio::time::timeout(limits.shutdown_grace, graceful.shutdown()).await;
    connections.shutdown().await;
    Ok(())
}

/// Errors of one connection (gone before it was accepted) are passed over; others, such as
/// running out of file descriptors, are logged and retried after a pause, as axum does.
async fn accept_failed(error: io::Error) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        error.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::warn!("accepting a connection failed: {error}; retrying in a second");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// Answers a connection beyond the cap with `503` and closes it, within a second.
async fn refuse(mut stream: TcpStream) {
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        stream.write_all(BUSY).await?;
        stream.shutdown().await?;
        // Closing with the request unread would reset the connection, and the client might
        // lose the answer; read (and drop) what it sent until it closes or the second is up.
        let mut sink = [0u8; 4096];
        while stream.read(&mut sink).await? > 0 {}
        io::Result::Ok(())
    })
    .await;
}

/// A connection that fails with `TimedOut` once no byte has moved either way for `idle` while
/// it was waited on.
struct Idle<S> {
    inner: S,
    idle: Duration,
    deadline: Pin<Box<Sleep>>,
}

impl<S> Idle<S> {
    fn new(inner: S, idle: Duration) -> Self {
        Idle {
            inner,
            idle,
            deadline: Box::pin(tokio::time::sleep(idle)),
        }
    }

    fn moved(&mut self) {
        let next = Instant::now() + self.idle;
        self.deadline.as_mut().reset(next);
    }

    /// `Pending`, unless the connection has been idle for too long.
    fn waiting<T>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        match self.deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client neither sent nor took a byte for too long",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }

    /// Moves the deadline on after progress, checks it while waiting.
    fn watch(
        &mut self,
        cx: &mut Context<'_>,
        poll: Poll<io::Result<usize>>,
    ) -> Poll<io::Result<usize>> {
        match poll {
            Poll::Ready(Ok(n)) => {
                if n > 0 {
                    self.moved();
                }
                Poll::Ready(Ok(n))
            }
            Poll::Pending => self.waiting(cx),
            error => error,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Idle<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let poll = Pin::new(&mut this.inner)
            .poll_read(cx, buf)
            .map_ok(|()| buf.filled().len() - before);
        this.watch(cx, poll).map_ok(|_| ())
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Idle<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.watch(cx, poll)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.watch(cx, poll)
    }

    /// Kept from the socket: with vectored writes hyper queues shared buffers (a snapshot sent
    /// to many clients) instead of copying each into a buffer of its own.
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_flush(cx) {
            Poll::Pending => this.waiting(cx),
            done => done,
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_shutdown(cx) {
            Poll::Pending => this.waiting(cx),
            done => done,
        }
    }
}
