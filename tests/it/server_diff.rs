//! Differential tests of the client port: the same raw request bytes go to a real
//! redis-sentinel 7.0.15 and to our server (started in-process with a core built from the
//! same settings), and the reply bytes are compared, with volatile values masked.

use std::time::Duration;

use crate::support::*;

const QUIET: Duration = Duration::from_millis(150);

struct Pair {
    reference: Server,
    ours: InProc,
}

impl Pair {
    /// Both flavours, monitoring the same (absent) master, with the same extra config.
    fn start(
        extra_conf: &str,
        tweak: impl Fn(&mut rsentinel::config::model::ServerSettings),
    ) -> Pair {
        let master_port = free_port();
        let reference = Server::sentinel(
            Flavor::Reference,
            &format!("sentinel monitor mymaster 127.0.0.1 {master_port} 2\n{extra_conf}"),
        );
        let ours = InProc::start(master_port, tweak);
        Pair { reference, ours }
    }

    fn both(&self, request: &[u8]) -> (Exchange, Exchange) {
        let r = exchange(self.reference.port, request, QUIET);
        let o = exchange(self.ours.port, request, QUIET);
        (r, o)
    }

    /// Same reply bytes (after `mask`) and the same close behaviour.
    fn check(&self, request: &[u8], mask: impl Fn(&str) -> String) {
        let (r, o) = self.both(request);
        assert!(
            !r.text.is_empty() || r.closed,
            "reference said nothing to {:?}",
            String::from_utf8_lossy(request)
        );
        assert_eq!(
            (mask(&o.text), o.closed),
            (mask(&r.text), r.closed),
            "ours (left) and redis-sentinel (right) differ for {:?}",
            String::from_utf8_lossy(&request[..request.len().min(200)])
        );
    }

    fn same(&self, request: &[u8]) {
        self.check(request, |s| s.to_string());
    }
}

fn cmd(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n{}\r\n", a.len(), a).as_bytes());
    }
    out
}

#[test]
fn basic_commands_errors_and_arity_match() {
    let p = Pair::start("", |_| {});
    let cases: Vec<Vec<u8>> = vec![
        b"PING\r\n".to_vec(),
        b"ping hello\r\n".to_vec(),
        cmd(&["PING", "a b"]),
        cmd(&["PING", "a", "b"]),
        b"foo a b\r\n".to_vec(),
        cmd(&["foo"]),
        cmd(&["nosuch", &"x".repeat(200), "y"]),
        cmd(&["foo", "a\r\nb"]),
        b"QUIT\r\n".to_vec(),
        b"CLIENT\r\n".to_vec(),
        b"CLIENT foo\r\n".to_vec(),
        b"COMMAND foo\r\n".to_vec(),
        b"CLIENT SETNAME\r\n".to_vec(),
        b"AUTH\r\n".to_vec(),
        b"AUTH x\r\n".to_vec(),
        b"AUTH a b c\r\n".to_vec(),
        b"AUTH nobody pw\r\n".to_vec(),
        b"PUBLISH a\r\n".to_vec(),
        b"PUBLISH foo bar\r\n".to_vec(),
        b"PUBLISH __sentinel__:hello garbage\r\n".to_vec(),
        b"SHUTDOWN foo\r\n".to_vec(),
        b"HELLO 4\r\n".to_vec(),
        b"HELLO x\r\n".to_vec(),
        b"HELLO 3 foo\r\n".to_vec(),
        b"HELLO 3 SETNAME \"a b\"\r\n".to_vec(),
        b"HELLO 2 AUTH\r\n".to_vec(),
        b"CLIENT SETNAME \"a b\"\r\nCLIENT SETNAME abc\r\nCLIENT GETNAME\r\nCLIENT SETNAME \"\"\r\nCLIENT GETNAME\r\n".to_vec(),
        b"CLIENT HELP\r\n".to_vec(),
        b"COMMAND HELP\r\n".to_vec(),
        b"COMMAND COUNT\r\n".to_vec(),
        b"COMMAND COUNT x\r\n".to_vec(),
        b"COMMAND LIST FOO\r\n".to_vec(),
        b"COMMAND LIST FILTERBY MODULE x\r\n".to_vec(),
        b"COMMAND LIST FILTERBY ACLCAT nosuch\r\n".to_vec(),
        b"COMMAND GETKEYS\r\n".to_vec(),
        b"COMMAND INFO foo ping\r\n".to_vec(),
        b"COMMAND DOCS foo\r\n".to_vec(),
        b"CLIENT LIST TYPE foo\r\n".to_vec(),
        b"CLIENT LIST ID x\r\n".to_vec(),
        b"CLIENT LIST foo\r\n".to_vec(),
        b"CLIENT KILL 1.2.3.4:5\r\n".to_vec(),
        b"CLIENT KILL ID 0\r\n".to_vec(),
        b"CLIENT KILL ID x\r\n".to_vec(),
        b"CLIENT KILL USER nob\r\n".to_vec(),
        b"CLIENT KILL ID 99999\r\n".to_vec(),
        b"CLIENT KILL TYPE foo x\r\n".to_vec(),
        b"CLIENT KILL TYPE master\r\n".to_vec(),
        b"CLIENT KILL SKIPME maybe\r\n".to_vec(),
        b"CLIENT KILL ID\r\n".to_vec(),
        b"CLIENT GETREDIR\r\n".to_vec(),
        b"CLIENT TRACKINGINFO\r\n".to_vec(),
        b"CLIENT UNBLOCK 12345\r\n".to_vec(),
        b"CLIENT UNBLOCK 12345 foo\r\n".to_vec(),
        b"CLIENT NO-EVICT on\r\n".to_vec(),
        b"CLIENT NO-EVICT x\r\nCLIENT REPLY x\r\nCLIENT UNBLOCK x\r\nSHUTDOWN ABORT\r\n".to_vec(),
        b"CLIENT PAUSE x\r\nCLIENT PAUSE -1\r\nCLIENT PAUSE 10 foo\r\nCLIENT PAUSE 10\r\nCLIENT UNPAUSE\r\n".to_vec(),
        b"CLIENT CACHING yes\r\nCLIENT CACHING x\r\nCLIENT TRACKING x\r\nCLIENT TRACKING on\r\nCLIENT TRACKINGINFO\r\nCLIENT TRACKING off\r\nCLIENT TRACKINGINFO\r\n".to_vec(),
        b"CLIENT REPLY OFF\r\nPING\r\nCLIENT REPLY ON\r\nPING x\r\n".to_vec(),
        b"CLIENT REPLY SKIP\r\nPING a\r\nPING b\r\n".to_vec(),
        b"ACL WHOAMI\r\n".to_vec(),
        b"ACL USERS\r\n".to_vec(),
        b"ACL HELP\r\n".to_vec(),
        b"ACL CAT\r\nACL CAT nosuch\r\nACL CAT a b\r\n".to_vec(),
        b"INFO nosuchsection\r\n".to_vec(),
        // SENTINEL/ROLE arity and unknown subcommands are checked here, before the core.
        b"SENTINEL\r\n".to_vec(),
        b"SENTINEL nosuch\r\n".to_vec(),
        b"SENTINEL MASTER\r\n".to_vec(),
        b"SENTINEL SET m\r\n".to_vec(),
        b"SENTINEL IS-MASTER-DOWN-BY-ADDR a\r\n".to_vec(),
        b"SENTINEL HELP x\r\n".to_vec(),
        b"SENTINEL CONFIG\r\n".to_vec(),
        b"ROLE x\r\n".to_vec(),
    ];
    for c in &cases {
        p.same(c);
    }
    // The RESP3 forms of the same replies.
    for c in [
        &b"CLIENT GETNAME\r\n"[..],
        b"CLIENT TRACKINGINFO\r\n",
        b"foo a\r\n",
        b"INFO nosuchsection\r\n",
        b"COMMAND INFO foo ping\r\n",
        b"COMMAND DOCS ping\r\n",
    ] {
        let mut req = b"HELLO 3\r\n".to_vec();
        req.extend_from_slice(c);
        p.check(&req, |s| mask_after(s, "id\r\n:"));
    }
}

#[test]
fn hello_and_client_introspection_match() {
    let p = Pair::start("", |_| {});
    let id = |s: &str| mask_after(&mask_after(s, "id\r\n:"), ":");
    p.check(b"HELLO\r\n", id);
    p.check(b"HELLO 3\r\n", id);
    p.check(b"HELLO 2\r\n", id);
    p.check(
        b"HELLO 3 SETNAME myname AUTH default anything\r\nCLIENT GETNAME\r\n",
        id,
    );
    p.check(b"CLIENT ID\r\n", id);
    let client_line = |s: &str| mask_fields(s, CLIENT_VOLATILE);
    p.check(b"CLIENT INFO\r\n", client_line);
    p.check(
        b"CLIENT SETNAME me\r\nCLIENT LIST ID 1 2 3\r\nCLIENT INFO\r\n",
        client_line,
    );
    p.check(b"HELLO 3\r\nCLIENT INFO\r\n", |s| client_line(&id(s)));
    p.check(b"SUBSCRIBE x\r\nCLIENT LIST TYPE pubsub\r\n", client_line);
    // Killing oneself with the old form answers +OK and closes, after the reply.
    for (port, _) in [(p.reference.port, "ref"), (p.ours.port, "ours")] {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let info = exchange_on(&mut s, b"CLIENT INFO\r\n", QUIET).text;
        let addr = info
            .split(' ')
            .find_map(|w| w.strip_prefix("addr="))
            .unwrap()
            .to_string();
        let r = exchange_on(&mut s, format!("CLIENT KILL {addr}\r\n").as_bytes(), QUIET);
        assert_eq!(
            r,
            Exchange {
                text: "+OK\r\n".into(),
                closed: true
            }
        );
    }
}

#[test]
fn client_kill_filters_match() {
    let p = Pair::start("", |_| {});
    for port in [p.reference.port, p.ours.port] {
        let mut victim = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let id_reply = exchange_on(&mut victim, b"CLIENT ID\r\n", QUIET).text;
        let id = id_reply.trim_start_matches(':').trim().to_string();
        let mut killer = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let r = exchange_on(
            &mut killer,
            format!("CLIENT KILL ID {id} SKIPME yes\r\n").as_bytes(),
            QUIET,
        );
        assert_eq!(r.text, ":1\r\n", "port {port}");
        assert!(
            read_quiet(&mut victim, QUIET).closed,
            "victim still connected on {port}"
        );
        let r = exchange_on(&mut killer, b"CLIENT KILL TYPE normal SKIPME no\r\n", QUIET);
        assert!(r.closed && r.text.starts_with(':'), "{r:?}");
        let mut a = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        exchange_on(&mut a, b"SUBSCRIBE c\r\n", QUIET);
        let r = exchange(
            port,
            b"CLIENT KILL TYPE pubsub\r\nCLIENT KILL USER default\r\n",
            QUIET,
        );
        assert_eq!(r.text, ":1\r\n:0\r\n", "port {port}");
        assert!(read_quiet(&mut a, QUIET).closed);
    }
}

#[test]
fn command_table_matches() {
    let p = Pair::start("", |_| {});
    for name in [
        "ping",
        "auth",
        "hello",
        "info",
        "role",
        "publish",
        "subscribe",
        "psubscribe",
        "unsubscribe",
        "punsubscribe",
        "shutdown",
    ] {
        p.same(format!("COMMAND INFO {name}\r\n").as_bytes());
        p.same(format!("COMMAND DOCS {name}\r\n").as_bytes());
        p.same(
            format!("HELLO 3\r\nCOMMAND INFO {name}\r\nCOMMAND DOCS {name}\r\n")
                .replace("HELLO 3\r\n", "")
                .as_bytes(),
        );
    }
    // Container commands: Redis lists subcommands in hash-table order, different per process.
    for req in [
        "COMMAND LIST\r\n",
        "COMMAND\r\n",
        "COMMAND INFO\r\n",
        "COMMAND DOCS\r\n",
        "COMMAND INFO client sentinel command acl\r\n",
        "COMMAND DOCS client sentinel\r\n",
        "COMMAND LIST FILTERBY PATTERN cl*\r\n",
        "COMMAND LIST FILTERBY ACLCAT pubsub\r\n",
        "COMMAND INFO client|kill CLIENT|setname\r\n",
        "ACL CAT pubsub\r\n",
        "ACL CAT admin\r\n",
        "ACL CAT connection\r\n",
    ] {
        let (r, o) = p.both(req.as_bytes());
        assert_eq!(sorted_lines(&o.text), sorted_lines(&r.text), "{req}");
    }
}

#[test]
fn pubsub_replies_match_in_resp2_and_resp3() {
    let p = Pair::start("", |_| {});
    let cases: &[&[u8]] = &[
        b"SUBSCRIBE a b\r\nINFO\r\nPING\r\nPING x\r\nCLIENT ID\r\nUNSUBSCRIBE a\r\nUNSUBSCRIBE\r\nUNSUBSCRIBE\r\nPING\r\n",
        b"PSUBSCRIBE [-+]sdown * a*\r\nSUBSCRIBE x\r\nPUNSUBSCRIBE a*\r\nPUNSUBSCRIBE\r\nUNSUBSCRIBE x\r\nPUNSUBSCRIBE\r\n",
        b"UNSUBSCRIBE\r\nPUNSUBSCRIBE\r\nUNSUBSCRIBE nope\r\n",
        b"SUBSCRIBE a\r\nPUBLISH a b\r\nROLE\r\nHELLO 3\r\n",
        b"HELLO 3\r\nSUBSCRIBE a b\r\nPING\r\nPSUBSCRIBE x*\r\nUNSUBSCRIBE b\r\nUNSUBSCRIBE\r\nPUNSUBSCRIBE\r\nUNSUBSCRIBE\r\n",
        b"HELLO 3\r\nSUBSCRIBE a\r\nCLIENT GETNAME\r\nPUBLISH a b\r\n",
    ];
    for c in cases {
        p.check(c, |s| mask_after(s, "id\r\n:"));
    }
    // UNSUBSCRIBE with no argument goes through Redis's hash table of channels, whose order
    // differs from process to process: compare the lines as multisets.
    for c in [
        &b"SUBSCRIBE a b c\r\nUNSUBSCRIBE\r\nPING\r\n"[..],
        b"HELLO 3\r\nPSUBSCRIBE a* b* c*\r\nPUNSUBSCRIBE\r\n",
    ] {
        let (r, o) = p.both(c);
        assert_eq!(
            sorted_lines(&mask_after(&o.text, "id\r\n:")),
            sorted_lines(&mask_after(&r.text, "id\r\n:"))
        );
    }
}

#[test]
fn pubsub_message_frames_match() {
    // The reference's event: SENTINEL SET publishes +set; ours: the runtime's publish path.
    let p = Pair::start("", |_| {});
    let mut frames = Vec::new();
    for (port, resp3) in [
        (p.reference.port, false),
        (p.reference.port, true),
        (p.ours.port, false),
        (p.ours.port, true),
    ] {
        let mut sub = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let hello = if resp3 { "HELLO 3\r\n" } else { "" };
        exchange_on(
            &mut sub,
            format!("{hello}PSUBSCRIBE [-+]se? *\r\nSUBSCRIBE +set\r\n").as_bytes(),
            QUIET,
        );
        if port == p.reference.port {
            exchange(port, b"SENTINEL SET mymaster quorum 2\r\n", QUIET);
        } else {
            assert_eq!(
                p.ours
                    .publish("+set", "master mymaster 127.0.0.1 1 quorum 2"),
                3
            );
        }
        let got = read_quiet(&mut sub, Duration::from_millis(500)).text;
        // Payload lengths differ (the master port); compare the frame shapes.
        frames.push(mask_after(
            &got.split("master mymaster")
                .map(|x| x.split("\r\n").skip(1).collect::<Vec<_>>().join("\r\n"))
                .collect::<Vec<_>>()
                .join("PAYLOAD"),
            "$",
        ));
    }
    // Redis walks its patterns in hash-table order (random per process): compare as multisets.
    assert_eq!(
        sorted_lines(&frames[2]),
        sorted_lines(&frames[0]),
        "RESP2 message frames"
    );
    assert_eq!(
        sorted_lines(&frames[3]),
        sorted_lines(&frames[1]),
        "RESP3 message frames"
    );
    assert!(
        frames[1].contains(">4\r\n") && frames[0].contains("*4\r\n"),
        "{}",
        frames[1]
    );
}

#[test]
fn protocol_errors_match_and_close() {
    let p = Pair::start("", |_| {});
    let big_inline = vec![b'a'; 70_000];
    let mut big_mbulk = b"*".to_vec();
    big_mbulk.extend(std::iter::repeat_n(b'1', 70_000));
    let mut big_bulk_count = b"*1\r\n$".to_vec();
    big_bulk_count.extend(std::iter::repeat_n(b'1', 70_000));
    let cases: Vec<Vec<u8>> = vec![
        b"*x\r\n".to_vec(),
        b"*3000000000\r\n".to_vec(),
        b"*1\r\nfoo\r\n".to_vec(),
        b"*2\r\n$4\r\nPING\r\n:1\r\n".to_vec(),
        b"*1\r\n$-1\r\n".to_vec(),
        b"*1\r\n$x\r\n".to_vec(),
        b"*1\r\n$536870913\r\n".to_vec(),
        b"*1\r\n$2147483648\r\n".to_vec(),
        b"*1\r\n$99999999999999999999999\r\n".to_vec(),
        b"PING \"a\r\n".to_vec(),
        b"PING \"a\"b\r\n".to_vec(),
        b"PING 'a\r\n".to_vec(),
        big_inline,
        big_mbulk,
        big_bulk_count,
        // Replies to the requests before the bad one are sent first.
        b"PING\r\nPING a\r\n*x\r\nPING\r\n".to_vec(),
        // Empty and negative multibulk counts are skipped, as are blank lines.
        b"*0\r\n*-1\r\n\r\n\n  \r\nPING\r\n".to_vec(),
        // Inline quoting.
        b"PING \"a\\x41\\n\\t\"\r\nPING 'it\\'s'\r\nPING \"\\\"\"\r\n".to_vec(),
        b"host: evil\r\n".to_vec(),
        b"PING\r\nPOST / HTTP/1.1\r\n".to_vec(),
    ];
    for c in &cases {
        p.same(c);
    }
}

#[test]
fn pipelining_many_commands_in_one_write() {
    let p = Pair::start("", |_| {});
    let mut req = Vec::new();
    for i in 0..2000 {
        if i % 3 == 0 {
            req.extend_from_slice(format!("PING {i}\r\n").as_bytes());
        } else {
            req.extend_from_slice(&cmd(&["PING", &i.to_string()]));
        }
    }
    req.extend_from_slice(b"PING\r\n");
    let (r, o) = p.both(&req);
    assert!(
        r.text.ends_with("+PONG\r\n"),
        "reference answered everything"
    );
    assert_eq!(o, r);
    // Requests split at every byte boundary still parse.
    let whole = cmd(&["PING", "split"]);
    for port in [p.reference.port, p.ours.port] {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_nodelay(true).unwrap();
        for b in &whole {
            std::io::Write::write_all(&mut s, &[*b]).unwrap();
            std::thread::sleep(Duration::from_millis(2));
        }
        assert_eq!(read_quiet(&mut s, QUIET).text, "$5\r\nsplit\r\n");
    }
}

#[test]
fn requirepass_and_acl_users_match() {
    // carol's password is given as Redis's CONFIG REWRITE writes it: #<sha256 of "carolpw">.
    let carol_hash = rsentinel::server::acl::password_hash(b"carolpw");
    let conf = format!(
        "requirepass secret\nuser alice on >alicepw ~* &* +@all\nuser bob off >bobpw\nuser carol on #{carol_hash} ~* +@all\n"
    );
    let p = Pair::start(&conf, |s| {
        s.requirepass = Some("secret".into());
        let words = |l: &str| l.split(' ').map(String::from).collect::<Vec<_>>();
        s.acl_users = vec![
            words("alice on >alicepw ~* &* +@all"),
            words("bob off >bobpw"),
            words(&format!("carol on #{carol_hash} ~* +@all")),
        ];
    });
    let id = |s: &str| mask_after(s, "id\r\n:");
    let cases: Vec<Vec<u8>> = vec![
        b"PING\r\n".to_vec(),
        b"INFO\r\n".to_vec(),
        b"foo\r\n".to_vec(),
        b"SUBSCRIBE x\r\n".to_vec(),
        b"AUTH wrong\r\nPING\r\n".to_vec(),
        b"AUTH secret\r\nPING\r\nACL WHOAMI\r\n".to_vec(),
        b"AUTH default secret\r\nPING\r\n".to_vec(),
        b"AUTH alice alicepw\r\nACL WHOAMI\r\n".to_vec(),
        b"AUTH alice wrong\r\n".to_vec(),
        b"AUTH bob bobpw\r\n".to_vec(),
        b"AUTH carol carolpw\r\nACL WHOAMI\r\n".to_vec(),
        b"AUTH carol wrong\r\n".to_vec(),
        b"ACL USERS\r\n".to_vec(),
        b"HELLO 3\r\n".to_vec(),
        b"HELLO 3 AUTH default wrong\r\n".to_vec(),
        b"HELLO 3 AUTH alice alicepw\r\nACL WHOAMI\r\n".to_vec(),
        b"HELLO 2 AUTH default secret SETNAME n\r\nCLIENT GETNAME\r\n".to_vec(),
        b"*11\r\n".to_vec(),
        b"*2\r\n$4\r\nAUTH\r\n$16385\r\n".to_vec(),
        b"*2\r\n$4\r\nAUTH\r\n$6\r\nsecret\r\n*11\r\n$4\r\nPING\r\n".to_vec(),
    ];
    for c in &cases {
        p.check(c, id);
    }
    let client_line = |s: &str| mask_fields(s, CLIENT_VOLATILE);
    p.check(
        b"AUTH alice alicepw\r\nCLIENT INFO\r\nCLIENT KILL USER alice SKIPME yes\r\n",
        client_line,
    );
}

/// INFO: the same sections, in the same order, with the same field names; fixed values equal.
#[test]
fn info_sections_and_fields_match() {
    let p = Pair::start("", |_| {});
    let shape = |text: &str| -> Vec<String> {
        text.split("\r\n")
            .filter(|l| !l.is_empty() && !l.starts_with('$') && !l.starts_with('='))
            .map(|l| l.split(':').next().unwrap_or("").to_string())
            .collect()
    };
    for req in [
        "INFO\r\n",
        "INFO all\r\n",
        "INFO everything\r\n",
        "INFO default\r\n",
        "INFO server clients\r\n",
        "INFO CPU stats\r\n",
        "INFO clients server\r\n",
        "INFO sentinel\r\n",
    ] {
        let (r, o) = p.both(req.as_bytes());
        let (rs, os) = (shape(&r.text), shape(&o.text));
        // The sentinel section's master lines come from the core; compare the headers only.
        let cut = |v: Vec<String>| -> Vec<String> {
            match v.iter().position(|l| l == "# Sentinel") {
                Some(i) => v[..=i].to_vec(),
                None => v,
            }
        };
        assert_eq!(cut(os), cut(rs), "{req}");
    }
    let (r, o) = p.both(b"HELLO 3\r\nINFO all\r\n");
    // Sentinel mode answers INFO with a bulk string even in RESP3.
    assert!(
        r.text.contains("*0\r\n$") && o.text.contains("*0\r\n$"),
        "bulk in RESP3: {}",
        o.text
    );
    for fixed in [
        "redis_version:7.0.15",
        "redis_mode:sentinel",
        "redis_git_sha1:00000000",
        "maxclients:10000",
        "multiplexing_api:epoll",
        "arch_bits:64",
    ] {
        assert!(r.text.contains(fixed) && o.text.contains(fixed), "{fixed}");
    }
    assert!(o.text.contains(&format!("tcp_port:{}", p.ours.port)));
}
