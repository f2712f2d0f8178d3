//! Error replies Redis gives before a command runs, shared by the client port (which checks
//! every request against the command table) and the core (which checks SENTINEL's own
//! subcommands): one wording, one truncation rule.

/// The first `n` bytes of `b` as text, as Redis's `%.128s` prints an argument.
pub fn truncated(b: &[u8], n: usize) -> String {
    String::from_utf8_lossy(&b[..b.len().min(n)]).into_owned()
}

/// `ERR unknown command 'name', with args beginning with: 'a' 'b' `: the arguments are listed
/// until 128 bytes of them are shown. `args[0]` is the command name.
pub fn unknown_command(args: &[impl AsRef<[u8]>]) -> String {
    let name = args.first().map(|a| truncated(a.as_ref(), 128));
    let mut listed = String::new();
    for a in args.iter().skip(1) {
        if listed.len() >= 128 {
            break;
        }
        let room = 128 - listed.len();
        listed.push_str(&format!("'{}' ", truncated(a.as_ref(), room)));
    }
    format!(
        "ERR unknown command '{}', with args beginning with: {listed}",
        name.unwrap_or_default()
    )
}

/// `ERR unknown subcommand 'sub'. Try COMMAND HELP.`, `command` as the client spelled it.
pub fn unknown_subcommand(command: &[u8], sub: &[u8]) -> String {
    format!(
        "ERR unknown subcommand '{}'. Try {} HELP.",
        truncated(sub, 128),
        String::from_utf8_lossy(command).to_ascii_uppercase()
    )
}

/// `ERR wrong number of arguments for 'client|kill' command`.
pub fn wrong_arity(fullname: &str) -> String {
    format!("ERR wrong number of arguments for '{fullname}' command")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_command_lists_arguments_up_to_128_bytes() {
        assert_eq!(
            unknown_command(&["FOO", "a", "b"]),
            "ERR unknown command 'FOO', with args beginning with: 'a' 'b' "
        );
        let long = "x".repeat(200);
        let text = unknown_command(&["f", long.as_str(), "next"]);
        assert!(text.ends_with(&format!("'{}' ", "x".repeat(128))), "{text}");
        assert_eq!(
            unknown_subcommand(b"client", b"nope"),
            "ERR unknown subcommand 'nope'. Try CLIENT HELP."
        );
    }
}
