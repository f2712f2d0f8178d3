//! Who may use the port: the default user (requirepass) and the users of `user` lines, with
//! the ACL rules that matter for authentication (`on`/`off`, `>pass`, `<pass`, `nopass`,
//! `resetpass`, `reset`, and `#<sha256>` / `!<sha256>`, the form Redis writes back into the
//! config file). Command and key permissions are accepted and not enforced: every sentinel
//! command is open to an authenticated user.

use sha2::{Digest, Sha256};

use crate::config::acl_rule::AclRule;

/// Passwords are kept as Redis keeps them: the lower-case hex SHA-256 of the password.
pub fn password_hash(password: &[u8]) -> String {
    Sha256::digest(password)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub enabled: bool,
    pub nopass: bool,
    /// SHA-256 hashes (lower-case hex).
    pub passwords: Vec<String>,
}

impl User {
    fn new(name: &str) -> Self {
        User {
            name: name.to_string(),
            enabled: false,
            nopass: false,
            passwords: Vec::new(),
        }
    }

    /// Apply one rule of a `user` line; rules the loader would refuse are ignored.
    fn apply(&mut self, rule: &str) {
        let Ok(rule) = AclRule::parse(rule) else {
            return;
        };
        match rule {
            AclRule::On => self.enabled = true,
            AclRule::Off => self.enabled = false,
            AclRule::NoPass => {
                self.nopass = true;
                self.passwords.clear();
            }
            AclRule::ResetPass => {
                self.nopass = false;
                self.passwords.clear();
            }
            AclRule::Reset => *self = User::new(&self.name),
            AclRule::AddPassword(p) => self.add_hash(password_hash(p.as_bytes())),
            AclRule::AddHash(h) => self.add_hash(h.to_string()),
            AclRule::RemovePassword(p) => {
                let h = password_hash(p.as_bytes());
                self.passwords.retain(|x| *x != h);
            }
            AclRule::RemoveHash(h) => self.passwords.retain(|x| x != h),
            // Key, channel and command rules are not enforced (see the module comment).
            AclRule::Permission => {}
        }
    }

    fn add_hash(&mut self, hash: String) {
        if !self.passwords.contains(&hash) {
            self.passwords.push(hash);
        }
        self.nopass = false;
    }
}

#[derive(Debug, Clone)]
pub struct Acl {
    users: Vec<User>,
}

impl Default for Acl {
    fn default() -> Self {
        Acl::new(None, &[])
    }
}

impl Acl {
    /// The default user is `on nopass` unless `requirepass` is set; `user` lines (their tokens
    /// after the word `user`) are applied in order and may redefine it.
    pub fn new(requirepass: Option<&str>, user_lines: &[Vec<String>]) -> Acl {
        let mut default = User::new("default");
        default.enabled = true;
        default.nopass = true;
        if let Some(p) = requirepass.filter(|p| !p.is_empty()) {
            default.apply("resetpass");
            default.apply(&format!(">{p}"));
        }
        let mut users = vec![default];
        for line in user_lines {
            let Some((name, rules)) = line.split_first() else {
                continue;
            };
            let idx = match users.iter().position(|u| &u.name == name) {
                Some(i) => i,
                None => {
                    users.push(User::new(name));
                    users.len() - 1
                }
            };
            for r in rules {
                users[idx].apply(r);
            }
        }
        Acl { users }
    }

    pub fn user(&self, name: &[u8]) -> Option<&User> {
        self.users.iter().find(|u| u.name.as_bytes() == name)
    }

    /// Redis's `authRequired`: the default user has a password or is disabled.
    pub fn auth_required(&self) -> bool {
        match self.user(b"default") {
            Some(u) => !u.nopass || !u.enabled,
            None => true,
        }
    }

    /// Protected mode applies when the default user needs no password.
    pub fn default_user_nopass(&self) -> bool {
        self.user(b"default").map(|u| u.nopass).unwrap_or(false)
    }

    pub fn authenticate(&self, user: &[u8], pass: &[u8]) -> bool {
        match self.user(user) {
            Some(u) if u.enabled => u.nopass || u.passwords.contains(&password_hash(pass)),
            _ => false,
        }
    }
}

impl Acl {
    pub fn user_names(&self) -> impl Iterator<Item = String> + '_ {
        self.users.iter().map(|u| u.name.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requirepass_and_users() {
        let acl = Acl::new(None, &[]);
        assert!(!acl.auth_required());
        let acl = Acl::new(
            Some("secret"),
            &[
                vec!["alice".into(), "on".into(), ">pw".into(), "+@all".into()],
                vec!["bob".into(), "off".into(), ">x".into()],
            ],
        );
        assert!(acl.auth_required());
        assert!(acl.authenticate(b"default", b"secret"));
        assert!(!acl.authenticate(b"default", b"nope"));
        assert!(acl.authenticate(b"alice", b"pw"));
        assert!(!acl.authenticate(b"bob", b"x"));
        assert!(!acl.authenticate(b"carol", b"x"));
    }

    #[test]
    fn hashed_passwords_as_redis_rewrites_them() {
        // `user alice on #<sha256 of "pw">`, as CONFIG REWRITE writes it.
        let hash = "30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4";
        assert_eq!(password_hash(b"pw"), hash);
        let acl = Acl::new(
            None,
            &[vec![
                "alice".into(),
                "on".into(),
                format!("#{hash}"),
                "~*".into(),
            ]],
        );
        assert!(acl.authenticate(b"alice", b"pw"));
        assert!(!acl.authenticate(b"alice", b"other"));
        let acl = Acl::new(
            None,
            &[vec![
                "alice".into(),
                "on".into(),
                ">pw".into(),
                format!("!{hash}"),
            ]],
        );
        assert!(!acl.authenticate(b"alice", b"pw"));
        // A malformed hash is not a password.
        let acl = Acl::new(None, &[vec!["bob".into(), "on".into(), "#xyz".into()]]);
        assert!(!acl.authenticate(b"bob", b"#xyz"));
    }
}
