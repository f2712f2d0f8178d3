//! EXPERIMENT, not part of rsentinel: how little server CPU can one unpipelined PING cost on
//! this kernel?
//!
//!     ping_floor epoll PORT    one thread, mio (epoll, edge-triggered): one read and one write
//!                              per request, as Redis and rsentinel do, and no other work
//!     ping_floor uring PORT    one thread, io_uring: every connection keeps a recv in flight;
//!                              each wake-up reaps all the completions there are and submits all
//!                              the sends and recvs they call for in one io_uring_enter, which
//!                              also waits for the next completion
//!
//! Both answer `+PONG` to PING and an error to anything else (redis-benchmark's CONFIG GET at
//! start-up), parse nothing more than the RESP framing, and keep no state but the bytes of a
//! partial request and of an unsent reply. scripts/bench/ping_floor.py measures their CPU per
//! request against redis-sentinel's with redis-benchmark, as scripts/bench/throughput does.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpListener;
use std::os::fd::{AsRawFd, FromRawFd, RawFd};

/// Answer every complete request at the front of `input` into `out`; how many bytes were used.
fn answer(input: &[u8], out: &mut Vec<u8>) -> usize {
    let mut at = 0;
    while let Some((len, is_ping)) = request(&input[at..]) {
        out.extend_from_slice(if is_ping {
            b"+PONG\r\n"
        } else {
            b"-ERR only PING here\r\n"
        });
        at += len;
    }
    at
}

/// The length of the complete request at the front of `b`, and whether it is a PING.
fn request(b: &[u8]) -> Option<(usize, bool)> {
    let line = |from: usize| -> Option<(usize, usize)> {
        let end = b[from..].windows(2).position(|w| w == b"\r\n")? + from;
        Some((from, end))
    };
    let number = |s: &[u8]| -> Option<usize> { std::str::from_utf8(s).ok()?.parse().ok() };
    if b.first() != Some(&b'*') {
        // An inline command: one line.
        let (_, end) = line(0)?;
        return Some((end + 2, b[..end].eq_ignore_ascii_case(b"PING")));
    }
    let (s, e) = line(1)?;
    let args = number(&b[s..e])?;
    let mut at = e + 2;
    let mut is_ping = false;
    for i in 0..args {
        if b.get(at) != Some(&b'$') {
            return None;
        }
        let (s, e) = line(at + 1)?;
        let len = number(&b[s..e])?;
        let data = e + 2;
        if b.len() < data + len + 2 {
            return None;
        }
        if i == 0 {
            is_ping = b[data..data + len].eq_ignore_ascii_case(b"PING");
        }
        at = data + len + 2;
    }
    Some((at, is_ping))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (mode, port) = match args.as_slice() {
        [_, mode, port] => (mode.as_str(), port.parse::<u16>().expect("port")),
        _ => {
            eprintln!("usage: ping_floor epoll|uring PORT");
            std::process::exit(2);
        }
    };
    let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind");
    match mode {
        "epoll" => epoll::run(listener),
        "uring" => uring::run(listener),
        _ => {
            eprintln!("mode: epoll or uring");
            std::process::exit(2);
        }
    }
}

mod epoll {
    use super::*;
    use mio::net::{TcpListener as MioListener, TcpStream};
    use mio::{Events, Interest, Poll, Token};

    struct Conn {
        stream: TcpStream,
        input: Vec<u8>,
        output: Vec<u8>,
    }

    pub fn run(listener: TcpListener) {
        listener.set_nonblocking(true).unwrap();
        let mut listener = MioListener::from_std(listener);
        let mut poll = Poll::new().unwrap();
        let mut events = Events::with_capacity(1024);
        const LISTENER: Token = Token(usize::MAX);
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)
            .unwrap();
        let mut conns: Vec<Option<Conn>> = Vec::new();
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            poll.poll(&mut events, None).unwrap();
            for ev in events.iter() {
                if ev.token() == LISTENER {
                    while let Ok((mut stream, _)) = listener.accept() {
                        let _ = stream.set_nodelay(true);
                        let slot = conns.iter().position(Option::is_none).unwrap_or_else(|| {
                            conns.push(None);
                            conns.len() - 1
                        });
                        poll.registry()
                            .register(
                                &mut stream,
                                Token(slot),
                                Interest::READABLE | Interest::WRITABLE,
                            )
                            .unwrap();
                        conns[slot] = Some(Conn {
                            stream,
                            input: Vec::new(),
                            output: Vec::new(),
                        });
                    }
                    continue;
                }
                let slot = ev.token().0;
                let Some(c) = conns[slot].as_mut() else {
                    continue;
                };
                let mut closed = false;
                if ev.is_readable() {
                    // As tokio does: a short read means the socket is drained, no second
                    // read to see EAGAIN.
                    loop {
                        match c.stream.read(&mut buf) {
                            Ok(0) => {
                                closed = true;
                                break;
                            }
                            Ok(n) => {
                                if c.input.is_empty() {
                                    let used = answer(&buf[..n], &mut c.output);
                                    c.input.extend_from_slice(&buf[used..n]);
                                } else {
                                    c.input.extend_from_slice(&buf[..n]);
                                    let used = answer(&c.input, &mut c.output);
                                    c.input.drain(..used);
                                }
                                if n < buf.len() {
                                    break;
                                }
                            }
                            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                            Err(_) => {
                                closed = true;
                                break;
                            }
                        }
                    }
                }
                if !closed && !c.output.is_empty() {
                    match c.stream.write(&c.output) {
                        Ok(n) => {
                            c.output.drain(..n);
                        }
                        Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                        Err(_) => closed = true,
                    }
                }
                if closed {
                    let mut c = conns[slot].take().unwrap();
                    let _ = poll.registry().deregister(&mut c.stream);
                }
            }
        }
    }
}

mod uring {
    use super::*;
    use io_uring::{opcode, types, IoUring};

    const ACCEPT: u64 = u64::MAX;
    const READ_LEN: usize = 16 * 1024;

    struct Conn {
        fd: RawFd,
        /// Where the recv in flight writes: boxed, so it stays put while the kernel has it.
        read_buf: Box<[u8]>,
        input: Vec<u8>,
        /// The bytes the send in flight reads: untouched until it completes.
        sending: Vec<u8>,
        /// Replies made while a send was in flight.
        pending: Vec<u8>,
        send_in_flight: bool,
    }

    fn recv_entry(slot: usize, c: &mut Conn) -> io_uring::squeue::Entry {
        opcode::Recv::new(types::Fd(c.fd), c.read_buf.as_mut_ptr(), READ_LEN as u32)
            .build()
            .user_data((slot as u64) << 1)
    }

    fn send_entry(slot: usize, c: &Conn) -> io_uring::squeue::Entry {
        opcode::Send::new(types::Fd(c.fd), c.sending.as_ptr(), c.sending.len() as u32)
            .build()
            .user_data(((slot as u64) << 1) | 1)
    }

    pub fn run(listener: TcpListener) {
        // The flags recommended for a one-thread network server: completions' task work runs
        // only when we enter the kernel to wait (DEFER_TASKRUN, SINGLE_ISSUER), not by
        // interrupting the thread whenever a packet lands.
        let mut ring: IoUring = IoUring::builder()
            .setup_single_issuer()
            .setup_defer_taskrun()
            .build(1024)
            .expect("io_uring");
        let lfd = listener.as_raw_fd();
        let accept = || {
            opcode::Accept::new(types::Fd(lfd), std::ptr::null_mut(), std::ptr::null_mut())
                .build()
                .user_data(ACCEPT)
        };
        let mut conns: Vec<Option<Conn>> = Vec::new();
        let mut to_submit: Vec<io_uring::squeue::Entry> = vec![accept()];
        loop {
            {
                let mut sq = ring.submission();
                for e in to_submit.drain(..) {
                    // SAFETY: every buffer an entry points to lives in a `Conn` that is kept
                    // (and not touched) until that entry's completion is reaped.
                    unsafe { sq.push(&e).expect("submission queue full") };
                }
            }
            // One system call: submit everything the last completions called for, and wait
            // for the next completion.
            ring.submit_and_wait(1).expect("io_uring_enter");
            let completions: Vec<(u64, i32)> = ring
                .completion()
                .map(|c| (c.user_data(), c.result()))
                .collect();
            for (data, res) in completions {
                if data == ACCEPT {
                    if res >= 0 {
                        // SAFETY: a descriptor accept just returned, owned by nothing else.
                        let stream = unsafe { std::net::TcpStream::from_raw_fd(res) };
                        let _ = stream.set_nodelay(true);
                        let fd = std::os::fd::IntoRawFd::into_raw_fd(stream);
                        let slot = conns.iter().position(Option::is_none).unwrap_or_else(|| {
                            conns.push(None);
                            conns.len() - 1
                        });
                        let c = conns[slot].insert(Conn {
                            fd,
                            read_buf: vec![0; READ_LEN].into_boxed_slice(),
                            input: Vec::new(),
                            sending: Vec::new(),
                            pending: Vec::new(),
                            send_in_flight: false,
                        });
                        to_submit.push(recv_entry(slot, c));
                    }
                    to_submit.push(accept());
                    continue;
                }
                let slot = (data >> 1) as usize;
                let is_send = data & 1 == 1;
                let Some(c) = conns[slot].as_mut() else {
                    continue;
                };
                if is_send {
                    c.send_in_flight = false;
                    if res < 0 {
                        continue; // the recv side sees the close
                    }
                    c.sending.drain(..res as usize);
                    if c.sending.is_empty() {
                        std::mem::swap(&mut c.sending, &mut c.pending);
                    }
                    if !c.sending.is_empty() {
                        c.send_in_flight = true;
                        to_submit.push(send_entry(slot, c));
                    }
                    continue;
                }
                if res <= 0 {
                    // Closed or failed. A send still in flight keeps the record alive until
                    // it completes; this experiment simply leaks such a rare record.
                    if !c.send_in_flight {
                        unsafe { libc::close(c.fd) };
                        conns[slot] = None;
                    }
                    continue;
                }
                let n = res as usize;
                let out = if c.send_in_flight {
                    &mut c.pending
                } else {
                    &mut c.sending
                };
                if c.input.is_empty() {
                    let used = answer(&c.read_buf[..n], out);
                    c.input.extend_from_slice(&c.read_buf[used..n]);
                } else {
                    c.input.extend_from_slice(&c.read_buf[..n]);
                    let used = answer(&c.input, out);
                    c.input.drain(..used);
                }
                if !c.send_in_flight && !c.sending.is_empty() {
                    c.send_in_flight = true;
                    to_submit.push(send_entry(slot, c));
                }
                to_submit.push(recv_entry(slot, c));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_framed() {
        let mut out = Vec::new();
        let input = b"*1\r\n$4\r\nPING\r\n*3\r\n$6\r\nCONFIG\r\n$3\r\nGET\r\n$4\r\nsave\r\nPING\r\n*1\r\n$4\r\nPI";
        let used = answer(input, &mut out);
        assert_eq!(out, b"+PONG\r\n-ERR only PING here\r\n+PONG\r\n".to_vec());
        assert_eq!(&input[used..], b"*1\r\n$4\r\nPI");
    }
}
