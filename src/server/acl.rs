//! Who may use the port: the default user (requirepass) and the users of `user` lines, with
//! the ACL rules that matter for authentication (`on`/`off`, `>pass`, `<pass`, `nopass`,
//! `resetpass`, `reset`). Command and key permissions are accepted and not enforced: every
//! sentinel command is open to an authenticated user.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub enabled: bool,
    pub nopass: bool,
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

    fn apply(&mut self, rule: &str) {
        match rule.to_ascii_lowercase().as_str() {
            "on" => self.enabled = true,
            "off" => self.enabled = false,
            "nopass" => {
                self.nopass = true;
                self.passwords.clear();
            }
            "resetpass" => {
                self.nopass = false;
                self.passwords.clear();
            }
            "reset" => {
                *self = User::new(&self.name);
            }
            _ => {
                if let Some(p) = rule.strip_prefix('>') {
                    if !self.passwords.iter().any(|x| x == p) {
                        self.passwords.push(p.to_string());
                    }
                    self.nopass = false;
                } else if let Some(p) = rule.strip_prefix('<') {
                    self.passwords.retain(|x| x != p);
                }
                // Key, channel and command rules are not enforced (see the module comment).
            }
        }
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
            Some(u) if u.enabled => u.nopass || u.passwords.iter().any(|p| p.as_bytes() == pass),
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
}
