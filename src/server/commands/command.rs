//! COMMAND: the command table as redis-sentinel 7.0.15 reports it (COMMAND, COUNT, INFO, DOCS,
//! LIST with its filters, GETKEYS). The data itself is in `command_table`.

use bytes::Bytes;

use super::super::session::{err, help, lower, one, Flow, SYNTAX_ERROR};
use crate::glob::glob_match;
use crate::proto::command_table::{CommandSpec, CommandTable, Lookup};
use crate::proto::errors::unknown_subcommand;
use crate::value::Value;

const COMMAND_HELP: &[&str] = &[
    "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "(no subcommand)",
    "    Return details about all Redis commands.",
    "COUNT",
    "    Return the total number of commands in this Redis server.",
    "LIST",
    "    Return a list of all commands in this Redis server.",
    "INFO [<command-name> ...]",
    "    Return details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "DOCS [<command-name> ...]",
    "    Return documentation details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "GETKEYS <full-command>",
    "    Return the keys from a full Redis command.",
    "GETKEYSANDFLAGS <full-command>",
    "    Return the keys and the access flags from a full Redis command.",
    "HELP",
    "    Prints this help.",
];

/// COMMAND LIST's FILTERBY.
#[derive(Debug)]
pub enum ListFilter {
    None,
    Module,
    /// `@category`, lower case.
    AclCategory(String),
    /// A glob pattern, lower case.
    Pattern(Vec<u8>),
}

/// A COMMAND subcommand with its arguments checked.
#[derive(Debug)]
pub enum CommandRequest {
    /// `COMMAND`, or `COMMAND INFO` without names: every command's entry.
    All,
    Help,
    Count,
    /// Entries of these `name` or `name|sub` commands (nil for unknown ones).
    Info(Vec<Bytes>),
    /// Docs of these lower-case names; `None` for all.
    Docs(Option<Vec<String>>),
    List(ListFilter),
    /// GETKEYS / GETKEYSANDFLAGS of this command line.
    GetKeys(Vec<Bytes>),
}

pub fn parse(args: &[Bytes]) -> Result<CommandRequest, String> {
    if args.len() == 1 {
        return Ok(CommandRequest::All);
    }
    Ok(match lower(&args[1]).as_str() {
        "help" => CommandRequest::Help,
        "count" => CommandRequest::Count,
        "info" if args.len() == 2 => CommandRequest::All,
        "info" => CommandRequest::Info(args[2..].to_vec()),
        "docs" if args.len() == 2 => CommandRequest::Docs(None),
        "docs" => CommandRequest::Docs(Some(args[2..].iter().map(|n| lower(n)).collect())),
        "list" => CommandRequest::List(match args.len() {
            2 => ListFilter::None,
            5 if lower(&args[2]) == "filterby" => match lower(&args[3]).as_str() {
                "module" => ListFilter::Module,
                "aclcat" => ListFilter::AclCategory(format!("@{}", lower(&args[4]))),
                "pattern" => ListFilter::Pattern(args[4].to_ascii_lowercase()),
                _ => return Err(SYNTAX_ERROR.into()),
            },
            _ => return Err(SYNTAX_ERROR.into()),
        }),
        "getkeys" | "getkeysandflags" => CommandRequest::GetKeys(args[2..].to_vec()),
        _ => return Err(unknown_subcommand(&args[0], &args[1])),
    })
}

pub fn run(req: CommandRequest) -> Flow {
    let table = CommandTable::get();
    match req {
        CommandRequest::All => one(Value::Array(
            table.commands.iter().map(|c| c.info.clone()).collect(),
        )),
        CommandRequest::Help => help(COMMAND_HELP),
        CommandRequest::Count => one(Value::Int(table.commands.len() as i64)),
        CommandRequest::Info(names) => one(Value::Array(
            names
                .iter()
                .map(|n| match find_by_fullname(table, n) {
                    Some(spec) => spec.info.clone(),
                    None => Value::Nil,
                })
                .collect(),
        )),
        CommandRequest::Docs(names) => {
            let names = names
                .unwrap_or_else(|| table.commands.iter().map(|c| c.fullname.clone()).collect());
            let pairs = names
                .into_iter()
                .filter_map(|n| table.docs(&n).map(|d| (Value::bulk(&n), d.clone())))
                .collect();
            one(Value::Map(pairs))
        }
        CommandRequest::List(filter) => {
            let all = table.all_names().into_iter();
            let names: Vec<String> = match filter {
                ListFilter::None => all.map(|(_, n)| n).collect(),
                ListFilter::Module => Vec::new(),
                ListFilter::AclCategory(cat) => all
                    .filter(|(spec, _)| {
                        spec.acl_categories
                            .iter()
                            .any(|c| c.eq_ignore_ascii_case(&cat))
                    })
                    .map(|(_, n)| n)
                    .collect(),
                ListFilter::Pattern(p) => all
                    .filter(|(_, n)| glob_match(&p, n.as_bytes(), false))
                    .map(|(_, n)| n)
                    .collect(),
            };
            one(Value::Array(names.into_iter().map(Value::bulk).collect()))
        }
        CommandRequest::GetKeys(target) => match table.lookup(&target) {
            Lookup::Found(spec) if spec.arity_ok(target.len()) => {
                err("ERR The command has no key arguments")
            }
            Lookup::Found(_) => err("ERR Invalid number of arguments specified for command"),
            _ => err("ERR Invalid command specified"),
        },
    }
}

/// `ping` or `client|kill`, case-insensitively.
fn find_by_fullname<'a>(table: &'a CommandTable, name: &[u8]) -> Option<&'a CommandSpec> {
    let name = lower(name);
    let mut parts = name.splitn(2, '|');
    let top = table.command(parts.next()?)?;
    match parts.next() {
        None => Some(top),
        Some(sub) => top.subcommands.get(sub).filter(|s| !s.hidden),
    }
}
