//! A user written back as rules (ACL LIST, ACL GETUSER, the `user` lines of a config rewrite),
//! the way Redis 7.0 writes them: flags, `#hash` passwords, key and channel patterns, then
//! the command rules rebuilt from the bitmap: `+@all` or `-@all`, the categories that fit
//! best (tried in Redis's category order), then single commands in the command table's order
//! (Redis walks its hash table, so the order of single-command rules may differ from
//! redis-sentinel's; the set of rules is the same).

use super::table::AclTable;
use super::user::{Selector, User};
use crate::config::acl_rule::CATEGORIES;

/// Allowed and refused commands of `category` in `bits`.
fn count(bits: &[bool], category: &str) -> (usize, usize) {
    let table = AclTable::get();
    let (mut on, mut off) = (0, 0);
    for (id, &allowed) in bits.iter().enumerate().take(table.commands.len()) {
        if !table.in_category(id, category) {
            continue;
        }
        if allowed {
            on += 1;
        } else {
            off += 1;
        }
    }
    (on, off)
}

/// The command rules of a selector: `+@all ...` or `-@all ...`.
pub fn command_rules(sel: &Selector) -> String {
    let table = AclTable::get();
    let additive = !sel.allowed[table.future_bit()];
    let mut rules: Vec<String> = vec![if additive { "-@all" } else { "+@all" }.into()];
    let mut fake = Selector::new(false);
    fake.allowed.iter_mut().for_each(|b| *b = !additive);
    let mut temp = sel.allowed.clone();
    let mut applied = [false; 21];
    loop {
        let mut best: Option<usize> = None;
        let (mut min_diff, mut max_same) = (usize::MAX, 0);
        for (j, cat) in CATEGORIES.iter().enumerate() {
            if applied[j] {
                continue;
            }
            let (on, off) = count(&temp, cat);
            let (diff, same) = if additive { (off, on) } else { (on, off) };
            if same > diff && (diff < min_diff || (diff == min_diff && same > max_same)) {
                best = Some(j);
                min_diff = diff;
                max_same = same;
            }
        }
        let Some(j) = best else { break };
        fake.set_category(CATEGORIES[j], additive);
        let mut t = Selector::new(false);
        t.allowed = temp;
        t.set_category(CATEGORIES[j], !additive);
        temp = t.allowed;
        rules.push(format!(
            "{}@{}",
            if additive { '+' } else { '-' },
            CATEGORIES[j]
        ));
        applied[j] = true;
    }
    for id in table.top_level() {
        single_command(sel, &mut fake, id, &mut rules);
    }
    rules.join(" ")
}

fn single_command(sel: &Selector, fake: &mut Selector, id: usize, rules: &mut Vec<String>) {
    let table = AclTable::get();
    let cmd = &table.commands[id];
    let user_bit = sel.allowed[id];
    if user_bit != fake.allowed[id] {
        rules.push(format!(
            "{}{}",
            if user_bit { '+' } else { '-' },
            cmd.fullname
        ));
        fake.change_perm(id, user_bit);
    }
    for &sub in &cmd.subcommands {
        single_command(sel, fake, sub, rules);
    }
    if !user_bit {
        if let Some(args) = sel.first_args.get(&id) {
            for a in args {
                rules.push(format!("+{}|{a}", cmd.fullname));
            }
        }
    }
}

/// ACL GETUSER's `keys`: `~*`, or the patterns.
pub fn keys(sel: &Selector) -> String {
    if sel.all_keys {
        return "~*".into();
    }
    let keys: Vec<String> = sel.keys.iter().map(|k| k.describe()).collect();
    keys.join(" ")
}

/// ACL GETUSER's `channels`: `&*`, or the patterns.
pub fn channels(sel: &Selector) -> String {
    if sel.all_channels {
        return "&*".into();
    }
    let chans: Vec<String> = sel.channels.iter().map(|c| format!("&{c}")).collect();
    chans.join(" ")
}

/// A selector as rules: keys, channels (`resetchannels &...` unless all), commands.
fn selector(sel: &Selector) -> String {
    let mut out = String::new();
    let k = keys(sel);
    if !k.is_empty() {
        out.push_str(&k);
        out.push(' ');
    }
    if sel.all_channels {
        out.push_str("&* ");
    } else {
        out.push_str("resetchannels ");
        for c in &sel.channels {
            out.push('&');
            out.push_str(c);
            out.push(' ');
        }
    }
    out.push_str(&command_rules(sel));
    out
}

/// The flags GETUSER lists, in Redis's order.
pub fn flags(u: &User) -> Vec<&'static str> {
    let mut f = vec![if u.enabled { "on" } else { "off" }];
    if u.nopass {
        f.push("nopass");
    }
    match u.sanitize_payload {
        Some(false) => f.push("skip-sanitize-payload"),
        Some(true) => f.push("sanitize-payload"),
        None => {}
    }
    f
}

/// ACL LIST's line without `user <name> ` (and a config `user` line's rules).
pub fn user_rules(u: &User) -> String {
    let mut out = String::new();
    for f in flags(u) {
        out.push_str(f);
        out.push(' ');
    }
    for p in &u.passwords {
        out.push('#');
        out.push_str(p);
        out.push(' ');
    }
    out.push_str(&selector(&u.selectors[0]));
    for s in &u.selectors[1..] {
        out.push_str(" (");
        out.push_str(&selector(s));
        out.push(')');
    }
    out
}
