//! ACL: the users at run time, as Redis 7.0 answers them on a sentinel's port. SETUSER applies
//! all its rules or none; DELUSER and LOAD close the connections of users that are gone (and
//! SETUSER those of a user switched off, and subscribers who lost a channel); the next config
//! rewrite writes the users (hashed passwords) unless an `aclfile` keeps them.

use bytes::Bytes;
use rand::RngCore;

use super::super::acl::describe;
use super::super::acl::table::AclTable;
use super::super::acl::{Denied, User};
use super::super::pubsub::Kind;
use super::super::session::{err, help, lower, one, Flow, Session};
use super::super::Server;
use crate::config::acl_rule::CATEGORIES;
use crate::proto::command_table::{CommandTable, Lookup};
use crate::proto::errors::wrong_arity;
use crate::proto::num::parse_i64;
use crate::value::Value;

const ACL_HELP: &[&str] = &[
    "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CAT [<category>]",
    "    List all commands that belong to <category>, or all command categories",
    "    when no category is specified.",
    "DELUSER <username> [<username> ...]",
    "    Delete a list of users.",
    "DRYRUN <username> <command> [<arg> ...]",
    "    Returns whether the user can execute the given command without executing the command.",
    "GETUSER <username>",
    "    Get the user's details.",
    "GENPASS [<bits>]",
    "    Generate a secure 256-bit user password. The optional `bits` argument can",
    "    be used to specify a different size.",
    "LIST",
    "    Show users details in config file format.",
    "LOAD",
    "    Reload users from the ACL file.",
    "LOG [<count> | RESET]",
    "    Show the ACL log entries.",
    "SAVE",
    "    Save the current config to the ACL file.",
    "SETUSER <username> <attribute> [<attribute> ...]",
    "    Create or modify a user with the specified attributes.",
    "USERS",
    "    List all the registered usernames.",
    "WHOAMI",
    "    Return the current connection username.",
    "HELP",
    "    Prints this help.",
];

const NO_ACLFILE: &str = "ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.";

/// An ACL subcommand with its arguments read.
#[derive(Debug)]
pub enum AclRequest {
    Help,
    WhoAmI,
    Users,
    /// CAT without a category: the categories; with one (known, lower case): its commands.
    Cat(Option<String>),
    SetUser(String, Vec<String>),
    DelUser(Vec<String>),
    GetUser(String),
    List,
    /// LOG: how many entries (RESET: None).
    Log(Option<usize>),
    Save,
    Load,
    DryRun(String, Vec<Bytes>),
    GenPass(usize),
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn wrong_args(sub: &str) -> String {
    format!("ERR unknown subcommand or wrong number of arguments for '{sub}'. Try ACL HELP.")
}

pub fn parse(args: &[Bytes]) -> Result<AclRequest, String> {
    let sub = lower(&args[1]);
    Ok(match sub.as_str() {
        "help" => AclRequest::Help,
        "whoami" => AclRequest::WhoAmI,
        "users" => AclRequest::Users,
        "list" => AclRequest::List,
        "save" => AclRequest::Save,
        "load" => AclRequest::Load,
        "cat" => {
            if args.len() > 3 {
                return Err(wrong_args("CAT"));
            }
            let category = args.get(2).map(|c| lower(c));
            if let Some(cat) = &category {
                if !CATEGORIES.contains(&cat.as_str()) {
                    return Err(format!("ERR Unknown category '{}'", text(&args[2])));
                }
            }
            AclRequest::Cat(category)
        }
        "setuser" => {
            let name = text(&args[2]);
            if name.contains(' ') || name.contains('\0') {
                return Err("ERR Usernames can't contain spaces or null characters".into());
            }
            AclRequest::SetUser(name, args[3..].iter().map(|a| text(a)).collect())
        }
        "deluser" => AclRequest::DelUser(args[2..].iter().map(|a| text(a)).collect()),
        "getuser" => AclRequest::GetUser(text(&args[2])),
        "log" => match args.len() {
            2 => AclRequest::Log(Some(10)),
            3 if lower(&args[2]) == "reset" => AclRequest::Log(None),
            3 => match parse_i64(&args[2]) {
                Some(n) => AclRequest::Log(Some(n.max(0) as usize)),
                None => return Err("ERR value is not an integer or out of range".into()),
            },
            _ => return Err(wrong_args("LOG")),
        },
        "dryrun" => AclRequest::DryRun(text(&args[2]), args[3..].to_vec()),
        "genpass" => {
            let bits = match args.get(2) {
                None => 256,
                Some(b) => match parse_i64(b) {
                    Some(n) if (1..=4096).contains(&n) => n as usize,
                    _ => return Err("ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096".into()),
                },
            };
            AclRequest::GenPass(bits)
        }
        other => return Err(wrong_args(&other.to_ascii_uppercase())),
    })
}

pub fn run(server: &Server, s: &Session, req: AclRequest) -> Flow {
    match req {
        AclRequest::Help => help(ACL_HELP),
        AclRequest::WhoAmI => one(Value::bulk(s.client.meta().user.as_bytes())),
        AclRequest::Users => one(Value::Array(
            server.acl().user_names().map(Value::bulk).collect(),
        )),
        AclRequest::Cat(None) => one(Value::Array(CATEGORIES.iter().map(Value::bulk).collect())),
        AclRequest::Cat(Some(cat)) => {
            let tag = format!("@{cat}");
            let names = CommandTable::get()
                .all_names()
                .into_iter()
                .filter(|(spec, _)| spec.acl_categories.iter().any(|c| c == &tag))
                .map(|(_, n)| Value::bulk(n))
                .collect();
            one(Value::Array(names))
        }
        AclRequest::SetUser(name, rules) => {
            let result = server.acl_mut().set_user(&name, &rules);
            match result {
                Ok(()) => {
                    users_changed(server);
                    one(Value::ok())
                }
                Err(e) => err(e),
            }
        }
        AclRequest::DelUser(names) => {
            if names.iter().any(|n| n == "default") {
                return err("ERR The 'default' user cannot be removed");
            }
            let deleted = {
                let mut acl = server.acl_mut();
                names.iter().filter(|n| acl.delete_user(n)).count()
            };
            users_changed(server);
            one(Value::Int(deleted as i64))
        }
        AclRequest::GetUser(name) => match server.acl().user(name.as_bytes()) {
            Some(u) => one(getuser(u)),
            None => one(Value::Nil),
        },
        AclRequest::List => one(Value::Array(
            server.acl().lines().into_iter().map(Value::bulk).collect(),
        )),
        AclRequest::Log(None) => {
            server.acl_mut().log.reset();
            one(Value::ok())
        }
        AclRequest::Log(Some(count)) => one(log_reply(server, count)),
        AclRequest::Save => save(server),
        AclRequest::Load => load(server),
        AclRequest::DryRun(user, args) => dry_run(server, &user, &args),
        AclRequest::GenPass(bits) => {
            let mut bytes = vec![0u8; bits.div_ceil(8)];
            rand::thread_rng().fill_bytes(&mut bytes);
            let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            one(Value::bulk(&hex[..bits.div_ceil(4)]))
        }
    }
}

/// After a change of users: close the connections that may no longer be open (their user
/// deleted or switched off, or subscribed to a channel now refused), and tell the host what
/// the next config rewrite must write.
fn users_changed(server: &Server) {
    let acl = server.acl();
    for c in server.clients.all() {
        let user = c.meta().user.clone();
        let keep = match acl.user(user.as_bytes()) {
            None => false,
            Some(u) if !u.enabled => !c.meta().authenticated || &*user == "default",
            Some(u) => {
                let mut subs: Vec<(Vec<u8>, bool)> = Vec::new();
                for (kind, pattern) in [(Kind::Channel, false), (Kind::Pattern, true)] {
                    for name in server.pubsub.subscriptions(c.id, kind) {
                        subs.push((name.to_vec(), pattern));
                    }
                }
                u.may_keep(&subs)
            }
        };
        if !keep {
            c.kill();
        }
    }
    server
        .host
        .users_changed(acl.aclfile.is_none().then(|| acl.lines()));
}

fn getuser(u: &User) -> Value {
    let root = &u.selectors[0];
    let mut pairs = vec![
        (
            "flags",
            Value::Array(describe::flags(u).into_iter().map(Value::bulk).collect()),
        ),
        (
            "passwords",
            Value::Array(u.passwords.iter().map(Value::bulk).collect()),
        ),
    ];
    pairs.extend(selector_pairs(root));
    let selectors = u.selectors[1..]
        .iter()
        .map(|sel| Value::map_of(selector_pairs(sel)))
        .collect();
    pairs.push(("selectors", Value::Array(selectors)));
    Value::map_of(pairs)
}

fn selector_pairs(sel: &super::super::acl::user::Selector) -> Vec<(&'static str, Value)> {
    vec![
        ("commands", Value::bulk(describe::command_rules(sel))),
        ("keys", Value::bulk(describe::keys(sel))),
        ("channels", Value::bulk(describe::channels(sel))),
    ]
}

fn log_reply(server: &Server, count: usize) -> Value {
    let acl = server.acl();
    let now = std::time::Instant::now();
    let entries = acl
        .log
        .newest(count)
        .map(|e| {
            Value::map_of(vec![
                ("count", Value::Int(e.count as i64)),
                ("reason", Value::bulk(e.reason)),
                ("context", Value::bulk(e.context)),
                ("object", Value::bulk(&e.object)),
                ("username", Value::bulk(&e.username)),
                (
                    "age-seconds",
                    Value::Double(now.saturating_duration_since(e.at).as_secs_f64()),
                ),
                ("client-info", Value::bulk(&e.client_info)),
            ])
        })
        .collect();
    Value::Array(entries)
}

fn save(server: &Server) -> Flow {
    let acl = server.acl();
    let Some(path) = acl.aclfile.clone() else {
        return err(NO_ACLFILE);
    };
    match crate::config::replace_file(&path, acl.file_text().as_bytes()) {
        Ok(()) => one(Value::ok()),
        Err(e) => {
            crate::logging::log(
                crate::config::model::LogLevel::Warning,
                &format!("Saving ACLs to {}: {e}", path.display()),
            );
            err("ERR There was an error trying to save the ACLs. Please check the server logs for more information")
        }
    }
}

fn load(server: &Server) -> Flow {
    let result = {
        let mut acl = server.acl_mut();
        let Some(path) = acl.aclfile.clone() else {
            return err(NO_ACLFILE);
        };
        acl.load_file(&path)
    };
    match result {
        Ok(()) => {
            users_changed(server);
            one(Value::ok())
        }
        Err(e) => err(format!("ERR {e} WARNING: ACL errors detected, no change to the previously active ACL rules was performed")),
    }
}

fn dry_run(server: &Server, user: &str, args: &[Bytes]) -> Flow {
    let acl = server.acl();
    if acl.user(user.as_bytes()).is_none() {
        return err(format!("ERR User '{user}' not found"));
    }
    let spec = match CommandTable::get().lookup(args) {
        Lookup::Found(spec) => spec,
        _ => return err(format!("ERR Command '{}' not found", text(&args[0]))),
    };
    if !spec.arity_ok(args.len()) {
        return err(wrong_arity(&spec.fullname));
    }
    let Some(id) = AclTable::get().id(&spec.fullname) else {
        return one(Value::ok());
    };
    match acl.check(user, id, args) {
        Ok(()) => one(Value::ok()),
        Err(Denied::Command) => one(Value::bulk(format!(
            "This user has no permissions to run the '{}' command",
            spec.fullname
        ))),
        Err(Denied::Channel(channel)) => one(Value::bulk(format!(
            "This user has no permissions to access the '{channel}' channel"
        ))),
    }
}
