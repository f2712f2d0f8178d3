//! One task per client connection: read bytes, parse requests (pipelined requests are
//! answered in order, in one write), dispatch them, write the replies, and deliver pub/sub
//! messages queued for the client in between.

use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::Poll;
use std::time::Instant;

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UnixStream};
use tokio::sync::mpsc;

use super::clients::{ClientHandle, ClientMsg, Endpoint};
use super::dispatch;
use super::protocol::{RequestParser, MAX_QUERY_BUFFER};
use super::session::{Flow, Session};
use super::Server;
use crate::config::model::LogLevel;
use crate::logging::log;
use crate::resp::encode_value;
use crate::value::Value;

const DENIED: &str = "-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n";

/// Serve one plaintext client until it disconnects, is killed, or breaks the protocol.
pub async fn run(server: Arc<Server>, stream: TcpStream, peer: SocketAddr) {
    let _ = stream.set_nodelay(true);
    let local = stream.local_addr().unwrap_or(peer);
    let fd = stream.as_raw_fd();
    serve(server, stream, Endpoint::Tcp { peer, local }, fd).await
}

/// Serve one client of the unix socket at `path`.
pub async fn run_unix(server: Arc<Server>, stream: UnixStream, path: String) {
    let fd = stream.as_raw_fd();
    log(LogLevel::Verbose, &format!("Accepted connection to {path}"));
    serve(server, stream, Endpoint::Unix(path), fd).await
}

/// Serve one client of the TLS port: the handshake first (as Redis, which checks protected
/// mode only once the TLS connection is accepted), then the same loop as plaintext.
pub async fn run_tls(
    server: Arc<Server>,
    stream: TcpStream,
    peer: SocketAddr,
    acceptor: crate::tls::TlsAcceptor,
) {
    let _ = stream.set_nodelay(true);
    let local = stream.local_addr().unwrap_or(peer);
    let fd = stream.as_raw_fd();
    let tls = match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(e)) => {
            log(
                LogLevel::Verbose,
                &format!("Error accepting a client connection: {e} (addr={peer} laddr={local})"),
            );
            return;
        }
        Err(_) => {
            log(
                LogLevel::Verbose,
                &format!("Error accepting a client connection: TLS handshake timed out (addr={peer} laddr={local})"),
            );
            return;
        }
    };
    serve(server, tls, Endpoint::Tcp { peer, local }, fd).await
}

/// A client that opens a TCP connection to the TLS port and never completes the handshake
/// would otherwise hold its slot forever; ten seconds cover a slow network many times over.
const TLS_HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    server: Arc<Server>,
    mut stream: S,
    endpoint: Endpoint,
    fd: i32,
) {
    server.stats.connections.fetch_add(1, Ordering::Relaxed);
    // Clients of the unix socket are local: protected mode lets them in, as Redis does.
    let denied = match &endpoint {
        Endpoint::Tcp { peer, .. } => {
            protected_mode_denies(server.opts.protected_mode, &server.acl(), peer)
        }
        Endpoint::Unix(_) => false,
    };
    if denied {
        server.stats.rejected.fetch_add(1, Ordering::Relaxed);
        let _ = stream.write_all(DENIED.as_bytes()).await;
        let _ = stream.shutdown().await;
        return;
    }
    let (tx, mut rx) = mpsc::unbounded_channel();
    let handle = server
        .clients
        .register(endpoint, fd, !server.acl().auth_required(), tx);
    let mut session = Session::new(handle.clone());
    let mut parser = RequestParser::new();
    let mut inbuf = BytesMut::with_capacity(16 * 1024);
    let mut out = BytesMut::new();

    'conn: loop {
        tokio::select! {
            // Messages first: they are delivered before the next request is read, as Redis
            // appends them to the output buffer at once (and `biased` draws no random number
            // per wake-up).
            biased;
            msg = rx.recv() => {
                match msg {
                    Some(ClientMsg::Push(v, size)) => {
                        encode_value(&v, session.proto, &mut out);
                        handle.pushed(size);
                        // Deliver whatever else is already queued in the same write.
                        let mut killed = false;
                        while let Ok(msg) = rx.try_recv() {
                            match msg {
                                ClientMsg::Push(v, size) => {
                                    encode_value(&v, session.proto, &mut out);
                                    handle.pushed(size);
                                }
                                ClientMsg::Kill => killed = true,
                            }
                        }
                        if killed {
                            break 'conn;
                        }
                        if !write_out(&server, &handle, &mut stream, &mut out).await {
                            break 'conn;
                        }
                    }
                    Some(ClientMsg::Kill) | None => break 'conn,
                }
            }
            read = stream.read_buf(&mut inbuf) => {
                let n = match read {
                    Ok(0) | Err(_) => break 'conn,
                    Ok(n) => n,
                };
                server.stats.reads.fetch_add(1, Ordering::Relaxed);
                server.stats.net_input.fetch_add(n as u64, Ordering::Relaxed);
                // Redis's lastinteraction, which `timeout` is measured from (and, per request,
                // nothing more: `dispatch::check` does not read the clock again).
                handle.meta().last_interaction = Instant::now();
                session.read_at_ms = crate::runtime::monotonic_ms();
                loop {
                    let authenticated = handle.meta().authenticated;
                    match parser.next_request(&mut inbuf, authenticated) {
                        Ok(None) => break,
                        Ok(Some(args)) if args.is_empty() => continue,
                        Ok(Some(args)) => {
                            let flow = match dispatch::check(&server, &mut session, args) {
                                Err(refused) => refused,
                                Ok(checked) => {
                                    if !wait_for_pause(&server, &handle, &mut session, checked.waits_for_write_pause()).await {
                                        break 'conn;
                                    }
                                    dispatch::run(&server, &mut session, checked, &mut out)
                                }
                            };
                            match flow {
                                Flow::Reply(replies) => {
                                    for r in &replies {
                                        if r.is_error() {
                                            server.stats.error_replies.fetch_add(1, Ordering::Relaxed);
                                        }
                                        if session.reply_enabled() {
                                            encode_value(r, session.proto, &mut out);
                                        }
                                    }
                                    session.after_reply();
                                }
                                Flow::Written => session.after_reply(),
                                Flow::Drop => break 'conn,
                            }
                            if session.close_after_reply {
                                break;
                            }
                        }
                        Err(e) => {
                            server.stats.error_replies.fetch_add(1, Ordering::Relaxed);
                            if crate::logging::level_enabled(LogLevel::Verbose) {
                                let sample: String = inbuf
                                    .iter()
                                    .take(128)
                                    .map(|&b| if b.is_ascii_graphic() || b == b' ' { b as char } else { '.' })
                                    .collect();
                                log(LogLevel::Verbose, &format!(
                                    "Protocol error ({}) from client: {}. Query buffer during protocol error: '{sample}'",
                                    e.log_reason(),
                                    handle.info_line(Instant::now())
                                ));
                            }
                            encode_value(&Value::err(format!("ERR {e}")), session.proto, &mut out);
                            session.close_after_reply = true;
                            break;
                        }
                    }
                }
                let pending = inbuf.len() + parser.pending_bytes();
                handle.meta().query_buffer = pending;
                if pending > MAX_QUERY_BUFFER {
                    log(LogLevel::Warning, &format!(
                        "Closing client that reached max query buffer length: {}",
                        handle.info_line(Instant::now())
                    ));
                    break 'conn;
                }
                if !out.is_empty() && !write_out(&server, &handle, &mut stream, &mut out).await {
                    break 'conn;
                }
                if session.close_after_reply {
                    break 'conn;
                }
            }
        }
    }
    let _ = stream.shutdown().await;
    server.pubsub.remove_client(handle.id);
    server.clients.unregister(handle.id);
}

/// CLIENT PAUSE: wait until this command may run (`write`: it is a write command). False
/// when the client was killed meanwhile. While waiting the client is blocked, as in Redis:
/// flagged `b` in CLIENT LIST and never closed as idle.
async fn wait_for_pause(
    server: &Server,
    handle: &ClientHandle,
    session: &mut Session,
    write: bool,
) -> bool {
    if !server.pause.active() || server.pause.blocks(write, Instant::now()).is_none() {
        return true;
    }
    handle.meta().paused = true;
    let done = tokio::select! {
        _ = server.pause.wait(write) => true,
        _ = handle.killed() => false,
    };
    let mut m = handle.meta();
    m.paused = false;
    m.last_interaction = Instant::now();
    // The command runs now, not when it was read.
    session.read_at_ms = crate::runtime::monotonic_ms();
    done
}

/// Write `out`; false when the connection is gone or the client was killed meanwhile (a
/// client that stopped reading must not keep its task stuck here).
async fn write_out<S: AsyncWrite + Unpin>(
    server: &Server,
    handle: &ClientHandle,
    stream: &mut S,
    out: &mut BytesMut,
) -> bool {
    server.stats.writes.fetch_add(1, Ordering::Relaxed);
    server
        .stats
        .net_output
        .fetch_add(out.len() as u64, Ordering::Relaxed);
    // What is being written counts as the client's output buffer: against the hard limit at
    // once, and against the soft limit (by the clients cron) for as long as the write lasts.
    handle.writing(out.len());
    let limit = if handle.is_pubsub() {
        Some(server.pubsub.output_limit())
    } else {
        // Fixed at start, and by default no limit at all: then nothing to check.
        let normal = server.opts.port_settings.normal_limit;
        (normal.hard > 0 || normal.soft > 0).then_some(normal)
    };
    if let Some(limit) = limit {
        if handle.over_output_limit(handle.pending_output(), limit, Instant::now()) {
            handle.close_for_output_limit(true);
            out.clear();
            return false;
        }
    }
    // Most replies fit in the socket's buffer: one attempt at once, without arming the kill
    // signal; whatever is left is written while watching it.
    let written = match try_once(|cx| Pin::new(&mut *stream).poll_write(cx, out)).await {
        Some(Ok(n)) if n > 0 => n,
        Some(Err(_)) => {
            handle.writing(0);
            out.clear();
            return false;
        }
        _ => 0,
    };
    out.advance(written);
    let ok = if out.is_empty()
        && try_once(|cx| Pin::new(&mut *stream).poll_flush(cx))
            .await
            .is_some_and(|r| r.is_ok())
    {
        true
    } else {
        tokio::select! {
            // The flush matters for TLS only: records rustls could not write yet are sent.
            r = async { stream.write_all(out).await?; stream.flush().await } => r.is_ok(),
            _ = handle.killed() => false,
        }
    };
    handle.writing(0);
    out.clear();
    // A large reply (SENTINEL MASTERS of 1,000 masters is hundreds of KB) is not kept as the
    // client's buffer for good.
    if out.capacity() > 64 * 1024 {
        *out = BytesMut::new();
    }
    ok
}

/// Poll `f` once: its result if ready, None if it would wait (the waker is registered, so a
/// later await of the same operation is woken as usual).
async fn try_once<T>(mut f: impl FnMut(&mut std::task::Context<'_>) -> Poll<T>) -> Option<T> {
    std::future::poll_fn(|cx| {
        Poll::Ready(match f(cx) {
            Poll::Ready(r) => Some(r),
            Poll::Pending => None,
        })
    })
    .await
}

/// Protected mode (Redis's `clientAcceptHandler`): with no password for the default user,
/// only loopback clients are served.
pub fn protected_mode_denies(
    protected_mode: bool,
    acl: &super::acl::Acl,
    peer: &SocketAddr,
) -> bool {
    protected_mode && acl.default_user_nopass() && !is_loopback(peer)
}

/// Redis's `islocalClient`: loopback addresses only.
fn is_loopback(addr: &SocketAddr) -> bool {
    match addr.ip() {
        std::net::IpAddr::V4(v4) => v4.is_loopback(),
        std::net::IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6
                    .to_ipv4_mapped()
                    .map(|v| v.is_loopback())
                    .unwrap_or(false)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::acl::Acl;

    #[test]
    fn protected_mode_refuses_only_remote_clients_without_password() {
        let remote: SocketAddr = "10.1.2.3:5000".parse().unwrap();
        let remote6: SocketAddr = "[2001:db8::1]:5000".parse().unwrap();
        let local: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let local6: SocketAddr = "[::1]:5000".parse().unwrap();
        let mapped: SocketAddr = "[::ffff:127.0.0.1]:5000".parse().unwrap();
        let open = Acl::new(None, &[]);
        assert!(protected_mode_denies(true, &open, &remote));
        assert!(protected_mode_denies(true, &open, &remote6));
        for l in [local, local6, mapped] {
            assert!(!protected_mode_denies(true, &open, &l));
        }
        assert!(!protected_mode_denies(false, &open, &remote));
        let with_pass = Acl::new(Some("pw"), &[]);
        assert!(!protected_mode_denies(true, &with_pass, &remote));
        assert!(
            DENIED.starts_with("-DENIED Redis is running in protected mode")
                && DENIED.ends_with("outside.\r\n")
        );
    }
}
