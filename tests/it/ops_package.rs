//! The Debian package (scripts/package-deb): built from the test build's binary, its file
//! list, modes, owners, control fields and conffiles checked with dpkg-deb, unpacked with
//! `dpkg-deb -x`, then installed for real with `dpkg --root` into a scratch root (its
//! maintainer scripts create the service user there, not on this machine) and purged; the
//! installed `rsentinel --test-config` accepts the installed config. Also: the committed man
//! page is what the clap definition renders.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

#[allow(dead_code)]
#[path = "../../examples/manpage.rs"]
mod manpage;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

#[test]
fn the_committed_man_page_is_what_the_help_renders() {
    let mut rendered = Vec::new();
    manpage::render(&mut rendered).unwrap();
    let committed = std::fs::read(repo().join("packaging/rsentinel.1")).unwrap();
    assert!(
        rendered == committed,
        "packaging/rsentinel.1 is stale: run `cargo run --example manpage > packaging/rsentinel.1`"
    );
    let text = String::from_utf8(rendered).unwrap();
    for section in [
        ".SH NAME",
        ".SH SYNOPSIS",
        ".SH OPTIONS",
        ".SH SIGNALS",
        ".SH FILES",
    ] {
        assert!(text.contains(section), "man page lacks {section}");
    }
}

/// One `dpkg-deb -c` line: (mode, owner) by path without the leading `./`.
fn listing(deb: &Path) -> BTreeMap<String, (String, String)> {
    run(Command::new("dpkg-deb").arg("-c").arg(deb))
        .lines()
        .map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            let path = w[5]
                .trim_start_matches("./")
                .trim_end_matches('/')
                .to_string();
            (path, (w[0].to_string(), w[1].to_string()))
        })
        .collect()
}

#[test]
fn the_deb_holds_the_service_and_its_installed_binary_checks_the_installed_config() {
    let work = crate::support::temp_dir();
    let out = run(Command::new(repo().join("scripts/package-deb"))
        .arg("--binary")
        .arg(env!("CARGO_BIN_EXE_rsentinel"))
        .arg("--out")
        .arg(work.path()));
    let deb = PathBuf::from(out.lines().last().expect("the script names the .deb"));
    assert!(deb.is_file(), "{deb:?} not written");
    assert!(deb
        .file_name()
        .unwrap()
        .to_string_lossy()
        .starts_with(&format!("rsentinel_{}_", env!("CARGO_PKG_VERSION"))));

    let files = listing(&deb);
    let want = [
        ("usr/bin/rsentinel", "-rwxr-xr-x"),
        ("usr/share/man/man1/rsentinel.1.gz", "-rw-r--r--"),
        ("etc/rsentinel/sentinel.conf", "-rw-r--r--"),
        ("etc/logrotate.d/rsentinel", "-rw-r--r--"),
        ("lib/systemd/system/rsentinel.service", "-rw-r--r--"),
        ("usr/share/doc/rsentinel/copyright", "-rw-r--r--"),
        ("usr/share/doc/rsentinel/OPERATIONS.md", "-rw-r--r--"),
        ("usr/share/doc/rsentinel/changelog.gz", "-rw-r--r--"),
        ("etc/rsentinel", "drwxr-xr-x"),
        ("", "drwxr-xr-x"),
    ];
    for (path, mode) in want {
        let (m, owner) = files
            .get(path)
            .unwrap_or_else(|| panic!("{path} missing from the package: {files:?}"));
        assert_eq!(m, mode, "mode of {path}");
        assert_eq!(owner, "root/root", "owner of {path}");
    }
    // Nothing else but directories and the docs: a stray file would be a packaging mistake.
    for (path, (mode, _)) in &files {
        assert!(
            mode.starts_with('d')
                || want.iter().any(|(p, _)| p == path)
                || path == "usr/share/doc/rsentinel/README.md",
            "unexpected file in the package: {path}"
        );
    }

    let field = |name: &str| run(Command::new("dpkg-deb").arg("-f").arg(&deb).arg(name));
    assert_eq!(field("Package").trim(), "rsentinel");
    assert_eq!(field("Version").trim(), env!("CARGO_PKG_VERSION"));
    assert!(
        field("Depends").contains("libc6 (>= 2."),
        "{}",
        field("Depends")
    );

    let control = work.path().join("control");
    run(Command::new("dpkg-deb").arg("-e").arg(&deb).arg(&control));
    let conffiles = std::fs::read_to_string(control.join("conffiles")).unwrap();
    assert_eq!(
        conffiles.lines().collect::<Vec<_>>(),
        ["/etc/rsentinel/sentinel.conf", "/etc/logrotate.d/rsentinel"]
    );
    for script in ["postinst", "prerm", "postrm"] {
        let p = control.join(script);
        let mode =
            std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&p).unwrap().permissions());
        assert_eq!(mode & 0o777, 0o755, "{script} mode");
        run(Command::new("sh").arg("-n").arg(&p));
    }
    // md5sums lists every shipped file and matches the unpacked content.
    let root = work.path().join("root");
    run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&root));
    run(Command::new("md5sum")
        .arg("--check")
        .arg("--quiet")
        .arg(control.join("md5sums"))
        .current_dir(&root));

    let bin = root.join("usr/bin/rsentinel");
    let version = run(Command::new(&bin).arg("--version"));
    assert!(version.contains("7.0.15"), "{version}");
    let conf = root.join("etc/rsentinel/sentinel.conf");
    let verdict = run(Command::new(&bin).arg("--test-config").arg(&conf));
    assert!(verdict.contains("is valid"), "{verdict}");

    let unit = std::fs::read_to_string(root.join("lib/systemd/system/rsentinel.service")).unwrap();
    for line in [
        "ExecStart=/usr/bin/rsentinel /etc/rsentinel/sentinel.conf --supervised systemd --daemonize no",
        "Type=notify",
        "ExecStartPre=/usr/bin/rsentinel --test-config /etc/rsentinel/sentinel.conf",
        "User=rsentinel",
        "WorkingDirectory=/var/lib/rsentinel",
        "ReadWritePaths=/etc/rsentinel /var/lib/rsentinel -/var/log/rsentinel",
    ] {
        assert!(
            unit.lines().any(|l| l == line),
            "unit lacks {line}:\n{unit}"
        );
    }
    let man = run(Command::new("gzip")
        .arg("-dc")
        .arg(root.join("usr/share/man/man1/rsentinel.1.gz")));
    assert_eq!(
        man,
        std::fs::read_to_string(repo().join("packaging/rsentinel.1")).unwrap()
    );
    let rotate = std::fs::read_to_string(root.join("etc/logrotate.d/rsentinel")).unwrap();
    assert!(rotate.contains("/var/log/rsentinel/*.log") && rotate.contains("copytruncate"));

    install_into_a_scratch_root_and_purge(&deb, &work.path().join("dpkg-root"));
}

fn mode_and_owner(p: &Path) -> (u32, u32, u32) {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(p).unwrap_or_else(|e| panic!("{p:?}: {e}"));
    (m.mode() & 0o7777, m.uid(), m.gid())
}

/// `dpkg -i` for real, with its own database, into `root` (`--root`), the maintainer scripts
/// run without chroot (`--force-script-chrootless`: they see DPKG_ROOT and work under it;
/// `--force-depends`: the scratch root has no libc6 or adduser package). The service user
/// lands in the scratch root's /etc/passwd and this machine's stays as it was.
fn install_into_a_scratch_root_and_purge(deb: &Path, root: &Path) {
    for d in ["var/lib/dpkg/info", "var/lib/dpkg/updates", "etc"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    for (file, text) in [
        ("var/lib/dpkg/status", ""),
        ("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"),
        ("etc/group", "root:x:0:\n"),
        ("etc/shadow", "root:*:19000:0:99999:7:::\n"),
        ("etc/gshadow", "root:*::\n"),
    ] {
        std::fs::write(root.join(file), text).unwrap();
    }
    let host_passwd = std::fs::read_to_string("/etc/passwd").unwrap();
    let host_had_user = host_passwd.lines().any(|l| l.starts_with("rsentinel:"));
    let dpkg = |args: &[&str]| {
        run(Command::new("dpkg")
            .arg(format!("--root={}", root.display()))
            .arg("--force-script-chrootless")
            .args(args))
    };
    dpkg(&["--force-depends", "-i", deb.to_str().unwrap()]);

    let passwd = std::fs::read_to_string(root.join("etc/passwd")).unwrap();
    let user: Vec<&str> = passwd
        .lines()
        .find(|l| l.starts_with("rsentinel:"))
        .unwrap_or_else(|| panic!("no rsentinel user in the scratch root: {passwd}"))
        .split(':')
        .collect();
    let (uid, gid): (u32, u32) = (user[2].parse().unwrap(), user[3].parse().unwrap());
    assert!(uid > 0 && uid < 1000, "a system user: {user:?}");
    assert_eq!(user[5], "/var/lib/rsentinel");
    assert_eq!(
        mode_and_owner(&root.join("etc/rsentinel")),
        (0o2770, uid, gid)
    );
    assert_eq!(
        mode_and_owner(&root.join("etc/rsentinel/sentinel.conf")),
        (0o640, uid, gid)
    );
    for d in ["var/lib/rsentinel", "var/log/rsentinel"] {
        assert_eq!(mode_and_owner(&root.join(d)), (0o750, uid, gid), "{d}");
    }
    assert_eq!(
        mode_and_owner(&root.join("usr/bin/rsentinel")),
        (0o755, 0, 0)
    );
    let status = run(Command::new("dpkg-query")
        .arg(format!(
            "--admindir={}",
            root.join("var/lib/dpkg").display()
        ))
        .args(["-W", "-f=${Status} ${Version}\n${Conffiles}\n", "rsentinel"]));
    assert!(
        status.starts_with(&format!(
            "install ok installed {}",
            env!("CARGO_PKG_VERSION")
        )),
        "{status}"
    );
    assert!(
        status.contains(" /etc/rsentinel/sentinel.conf ")
            && status.contains(" /etc/logrotate.d/rsentinel "),
        "{status}"
    );
    assert!(dpkg(&["-L", "rsentinel"])
        .lines()
        .any(|l| l == "/usr/bin/rsentinel"));
    // The installed binary accepts the installed config, as the unit's ExecStartPre runs it.
    let verdict = run(Command::new(root.join("usr/bin/rsentinel"))
        .arg("--test-config")
        .arg(root.join("etc/rsentinel/sentinel.conf")));
    assert!(verdict.contains("is valid"), "{verdict}");

    dpkg(&["--purge", "rsentinel"]);
    for gone in [
        "usr/bin/rsentinel",
        "etc/rsentinel",
        "var/lib/rsentinel",
        "var/log/rsentinel",
    ] {
        assert!(!root.join(gone).exists(), "{gone} left after purge");
    }
    // This machine was not touched.
    assert_eq!(std::fs::read_to_string("/etc/passwd").unwrap(), host_passwd);
    if !host_had_user {
        assert!(!Path::new("/var/lib/rsentinel").exists());
    }
}
