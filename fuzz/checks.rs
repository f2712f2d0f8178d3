//! What each fuzz target checks, shared by the libFuzzer binaries (`fuzz/fuzz_targets/`) and by
//! the regression test that replays every kept input on stable Rust
//! (`tests/it/fuzz_regressions.rs`, which includes this file with `#[path]`). One function per
//! target; each must return normally for every input: a panic, an abort or a failed
//! assertion is a finding.

#![allow(dead_code)]

use std::path::Path;

use bytes::{Bytes, BytesMut};
use rsentinel::config;
use rsentinel::core::hello::Hello;
use rsentinel::core::info::parse_info;
use rsentinel::links::frame::FrameScanner;
use rsentinel::resp::{decode_reply, encode_to_vec, Proto};
use rsentinel::server::protocol::{ProtocolError, RequestParser, INLINE_MAX};

/// What a client connection's parser makes of a byte stream: the requests, then the protocol
/// error that ended it, if any.
type Parsed = (Vec<Vec<Bytes>>, Option<ProtocolError>);

/// RESP requests from a client (inline and multibulk), as the client port reads them.
///
/// The first byte chooses whether the client is authenticated (the limits differ) and how
/// the rest is cut into reads (1 to 128 bytes). The stream must give exactly the same
/// requests and the same error whether it arrives in one read or in many: the parser keeps
/// state between reads, and a difference is a bug in that state.
pub fn request_parser(data: &[u8]) {
    let Some((&control, input)) = data.split_first() else {
        return;
    };
    // Above INLINE_MAX, where a header or inline line is cut decides whether it is refused as
    // too long (as in Redis), so the two ways of reading may rightly differ.
    if input.len() > INLINE_MAX {
        return;
    }
    let authenticated = control & 1 == 1;
    let chunk = 1 + (control >> 1) as usize;
    let whole = parse_stream(input, input.len().max(1), authenticated);
    let pieces = parse_stream(input, chunk, authenticated);
    assert_eq!(
        whole, pieces,
        "one read and reads of {chunk} bytes disagree (authenticated: {authenticated})"
    );
}

fn parse_stream(input: &[u8], chunk: usize, authenticated: bool) -> Parsed {
    let mut parser = RequestParser::new();
    let mut buf = BytesMut::new();
    let mut requests = Vec::new();
    for piece in input.chunks(chunk) {
        buf.extend_from_slice(piece);
        loop {
            let before = buf.len();
            match parser.next_request(&mut buf, authenticated) {
                Ok(Some(args)) => {
                    // Every request consumes input, or a client could spin the server.
                    assert!(buf.len() < before, "a request was produced from no input");
                    requests.push(args);
                }
                Ok(None) => break,
                Err(e) => return (requests, Some(e)),
            }
        }
    }
    (requests, None)
}

/// A sentinel.conf body, loaded from a file as at start-up (tokenizer, directive checks,
/// Redis's load order, the sentinel lines). When it loads, the file rsentinel would rewrite
/// from it must load too: a config that cannot be read back would stop the next start.
///
/// `dir` is a scratch directory that the config file is written into and relative paths
/// start from. Inputs with `include` or `logfile` lines are skipped: they read or create
/// files anywhere on the machine (an `include /dev/zero` never ends, as in Redis).
pub fn sentinel_conf(data: &[u8], dir: &Path) {
    if touches_other_files(data) {
        return;
    }
    let path = dir.join("sentinel.conf");
    std::fs::write(&path, data).expect("cannot write the scratch config file");
    let Ok(cfg) = config::load_in(&path, &[], dir) else {
        return;
    };
    let rewritten = config::render(data, &cfg);
    std::fs::write(&path, &rewritten).expect("cannot write the scratch config file");
    if let Err(e) = config::load_in(&path, &[], dir) {
        panic!(
            "a config that loaded was rewritten into one that does not: {e}\n--- rewritten ---\n{}",
            String::from_utf8_lossy(&rewritten)
        );
    }
}

/// True if a line of `data` is an `include` or `logfile` directive, found as the loader finds
/// directives (lines split on '\n', words split with the config tokenizer, names folded to
/// lower case), so escapes such as `"\x69nclude"` are caught too.
fn touches_other_files(data: &[u8]) -> bool {
    data.split(|&b| b == b'\n').any(|line| {
        match config::tokenize::split_args(line) {
            Ok(words) => words.first().is_some_and(|w| {
                w.eq_ignore_ascii_case(b"include") || w.eq_ignore_ascii_case(b"logfile")
            }),
            // The loader stops at this line; nothing after it is read.
            Err(_) => false,
        }
    })
}

/// A `__sentinel__:hello` payload from a peer or an instance's pub/sub channel. A hello that
/// parses must come back unchanged from its own encoding (what we send is what we read).
pub fn hello(data: &[u8]) {
    let Some(parsed) = Hello::parse(data) else {
        return;
    };
    let encoded = parsed.encode();
    assert_eq!(
        Hello::parse(encoded.as_bytes()).as_ref(),
        Some(&parsed),
        "re-encoded hello {encoded:?} does not parse back"
    );
}

/// An INFO reply from a monitored instance (any bytes: the link hands over the bulk string
/// as text, invalid UTF-8 replaced).
pub fn info_reply(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let report = parse_info(&text);
    if let Some(run_id) = &report.run_id {
        assert_eq!(run_id.len(), 40, "run_id is not 40 bytes: {run_id:?}");
    }
}

/// Replies on a link to an instance or a peer, read as the link reads them (RESP2): the frame
/// scanner finds where a reply ends and vouches for its shape, then the decoder decodes
/// exactly that reply, repeatedly over the buffer. The RESP3 decoder, which nothing scans
/// first, is run on the raw bytes.
pub fn resp_reply(data: &[u8]) {
    let mut scanner = FrameScanner::default();
    let mut rest = data;
    while let Ok(Some(len)) = scanner.scan(rest, 64 * 1024 * 1024) {
        assert!(
            len > 0 && len <= rest.len(),
            "scanner length {len} out of bounds"
        );
        if let Ok(Some((value, used))) = decode_reply(&rest[..len], Proto::Resp2) {
            assert!(used <= len, "decoder used {used} bytes of {len}");
            let _ = encode_to_vec(&value, Proto::Resp2);
        }
        rest = &rest[len..];
        scanner = FrameScanner::default();
    }
    let mut rest = data;
    while let Ok(Some((value, used))) = decode_reply(rest, Proto::Resp3) {
        assert!(
            used > 0 && used <= rest.len(),
            "decoder used {used} of {} bytes",
            rest.len()
        );
        let _ = encode_to_vec(&value, Proto::Resp3);
        rest = &rest[used..];
    }
}
