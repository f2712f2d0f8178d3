//! Opening a TCP connection when SYNs may be lost. A partition drops them silently, and the
//! kernel sends a lost SYN again only 1, 3 and 7 s after the first (Linux's initial
//! retransmission timeout, doubling), so an attempt made during a partition noticed the heal
//! up to seconds late: a returning old master was demoted 0.04 to 0.9 s after the heal,
//! depending on where each attempt stood in that schedule (docs/RELIABILITY.md, "Session 5
//! run"; the sentinels' debug logs showed attempts into the partition 10 s apart, the shell's
//! connect timeout).
//!
//! So a dial to an address we connected to before runs two attempts side by side: a patient
//! one, left to the kernel's schedule for as long as the caller allows (as every attempt was
//! before), and a short one, given up and made again with a new socket (a new SYN at once)
//! each time it has waited four times as long as the last successful connect to that address
//! took, at least 200 ms (then twice that). The first to complete, connected or failed, is the
//! dial's. The time is the address's own, measured here around the connect alone: a link that
//! takes long to open (another region, TLS) gets short tries to match, and a path that became
//! slower than that still connects through the patient attempt. At most two sockets per dial;
//! an address never connected to gets the patient attempt alone. (A first version forgot an
//! address whose dial ran out the connect timeout, to be patient with a slowed path: every
//! partition longer than that timeout made the heal wait for the kernel's schedule again, and
//! a one-way heal was noticed 0.8 s late.)
//!
//! (The core has a rule of the same intent, `Sentinel::stuck_connect_after`, which applies
//! only to a link with one connection not being opened, and times connects from its own
//! decisions, which on a loaded machine include config saves.)

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use tokio::net::TcpStream;

/// The shortest wait before an attempt to a known address is made again.
const FLOOR: Duration = Duration::from_millis(200);

/// How many times the wait doubles within one dial (200 ms, then 400 ms for a LAN address).
const MAX_DOUBLINGS: u32 = 1;

/// More addresses than this and the table starts afresh (addresses that come and go, as pods
/// do, must not make it grow for ever; forgetting only makes the next dials patient).
const MAX_KNOWN: usize = 10_000;

/// The last successful connect time to each address (ip, port).
fn known() -> &'static Mutex<HashMap<(String, u16), Duration>> {
    static KNOWN: OnceLock<Mutex<HashMap<(String, u16), Duration>>> = OnceLock::new();
    KNOWN.get_or_init(Default::default)
}

fn known_time(ip: &str, port: u16) -> Option<Duration> {
    let table = known().lock().unwrap_or_else(|p| p.into_inner());
    table.get(&(ip.to_string(), port)).copied()
}

fn remember(ip: &str, port: u16, took: Duration) {
    let mut table = known().lock().unwrap_or_else(|p| p.into_inner());
    if table.len() >= MAX_KNOWN {
        table.clear();
    }
    table.insert((ip.to_string(), port), took);
}

/// How long each short try waits before it is given up, try number `tries` from 0; None: an
/// address never connected to, whose dial is the patient attempt alone.
fn patience(known: Option<Duration>, tries: u32) -> Option<Duration> {
    known.map(|t| (t * 4).max(FLOOR) * 2u32.pow(tries.min(MAX_DOUBLINGS)))
}

/// Connect to `ip:port` as described above. The caller bounds the whole (the shell's connect
/// timeout).
pub(crate) async fn dial(ip: &str, port: u16) -> std::io::Result<TcpStream> {
    dial_counting(ip, port).await.0
}

/// `dial`, also saying how many attempts it made.
async fn dial_counting(ip: &str, port: u16) -> (std::io::Result<TcpStream>, u32) {
    let known = known_time(ip, port);
    let started = Instant::now();
    // The patient attempt: the kernel's own schedule, for as long as the caller allows. A
    // path slower than the short tries' patience (one that got slower since we last
    // connected) still connects through it.
    let patient = TcpStream::connect((ip, port));
    tokio::pin!(patient);
    let mut made = 1;
    let mut tries = 0;
    let (result, took) = loop {
        let Some(wait) = patience(known, tries) else {
            break ((&mut patient).await, started.elapsed());
        };
        let short_started = Instant::now();
        let short = tokio::time::timeout(wait, TcpStream::connect((ip, port)));
        made += 1;
        tokio::select! {
            result = &mut patient => break (result, started.elapsed()),
            short = short => match short {
                Ok(result) => break (result, short_started.elapsed()),
                Err(_) => {
                    tracing::trace!(
                        "link {ip}:{port}: no answer in {} ms, a new SYN",
                        wait.as_millis()
                    );
                    tries += 1;
                }
            },
        }
    };
    if result.is_ok() {
        // A patient attempt that connected long after its first SYN measured the partition,
        // not the path: what it teaches is at most four times what we knew, so that a path
        // that really got slower is learnt over a few dials and a heal teaches nothing.
        let took = known.map_or(took, |k| took.min(k * 4));
        remember(ip, port, took);
    }
    (result, made)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patience_follows_the_address_own_connect_time() {
        assert_eq!(
            patience(None, 0),
            None,
            "never connected: the kernel's schedule"
        );
        assert_eq!(patience(None, 5), None);
        let lan = Some(Duration::from_micros(300));
        assert_eq!(patience(lan, 0), Some(FLOOR));
        assert_eq!(patience(lan, 1), Some(FLOOR * 2));
        assert_eq!(patience(lan, 9), Some(FLOOR * 2), "the doubling stops");
        // Another region with TLS: 300 ms to open, short tries of 1.2 s, then 2.4 s.
        let far = Some(Duration::from_millis(300));
        assert_eq!(patience(far, 0), Some(Duration::from_millis(1200)));
        assert_eq!(patience(far, 1), Some(Duration::from_millis(2400)));
    }

    #[tokio::test]
    async fn a_connect_is_remembered_and_a_refusal_is_an_answer() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        assert_eq!(known_time("127.0.0.1", port), None);
        let stream = dial("127.0.0.1", port).await.unwrap();
        assert_eq!(stream.peer_addr().unwrap().port(), port);
        assert!(known_time("127.0.0.1", port).is_some());
        drop(stream);
        drop(listener);
        let err = dial("127.0.0.1", port).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
    }

    /// A listener whose accept queue is full drops new SYNs, as a partition does: a dial to
    /// that (known, fast) address keeps making short tries beside its patient attempt, and
    /// connects once there is room.
    #[tokio::test]
    async fn unanswered_syns_get_new_attempts_until_one_is_answered() {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let listener = socket.listen(0).unwrap();
        let port = listener.local_addr().unwrap().port();
        // Known and fast: the first connect is answered at once (and fills the queue).
        let first = dial("127.0.0.1", port).await.unwrap();
        let mut fillers = vec![first];
        if let Ok(Ok(s)) = tokio::time::timeout(
            Duration::from_millis(100),
            TcpStream::connect(("127.0.0.1", port)),
        )
        .await
        {
            fillers.push(s);
        }
        let dialing = tokio::spawn(async move { dial_counting("127.0.0.1", port).await });
        tokio::time::sleep(Duration::from_millis(700)).await;
        assert!(
            !dialing.is_finished(),
            "the queue was not full: nothing was dropped"
        );
        // Make room: the next SYN is answered.
        let mut accepted = Vec::new();
        while let Ok(Ok((s, _))) =
            tokio::time::timeout(Duration::from_millis(50), listener.accept()).await
        {
            accepted.push(s);
        }
        let (stream, made) = tokio::time::timeout(Duration::from_secs(5), dialing)
            .await
            .expect("the dial never connected")
            .unwrap();
        assert_eq!(stream.unwrap().peer_addr().unwrap().port(), port);
        // The patient attempt and short tries of 200 ms, then 400 ms: at least two short
        // tries in the 700 ms the queue was full (without them: one attempt, answered by the
        // kernel's resend 1 s in).
        assert!(made >= 3, "only {made} attempts while SYNs were dropped");
    }
}
