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
