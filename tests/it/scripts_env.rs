//! Scripts get our environment. The test body runs in a process of its own, started with
//! the variable in its environment: changing the environment while other test threads spawn
//! processes would be a data race.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use rsentinel::core::Input;
use rsentinel::scripts::ScriptRunner;
use tokio::sync::mpsc::unbounded_channel;

use crate::support::{alone, temp_dir};

#[test]
fn the_environment_is_passed_through() {
    alone::run_alone(
        &alone::test_name(module_path!(), "child_entry"),
        &[("RSENTINEL_SCRIPT_TEST_VAR", "value with spaces=1")],
    );
}

/// Not a test on its own: the body of `the_environment_is_passed_through`, in its process.
#[tokio::test]
#[ignore = "child process of the_environment_is_passed_through"]
async fn child_entry() {
    if !alone::is_child() {
        return;
    }
    let dir = temp_dir();
    let path = dir.path().join("env.sh");
    std::fs::write(
        &path,
        "#!/bin/sh\nprintf '%s|%s' \"$RSENTINEL_SCRIPT_TEST_VAR\" \"$PATH\" > env.txt\n",
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (tx, mut rx) = unbounded_channel();
    let mut runner = ScriptRunner::new(tx, dir.path().to_path_buf());
    runner
        .start(9, path.to_str().unwrap(), &[])
        .expect("started");
    let input = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("no exit in time");
    assert_eq!(
        input,
        Some(Input::ScriptExited {
            id: 9,
            exit_code: Some(0),
            signal: None
        })
    );
    let seen = std::fs::read_to_string(dir.path().join("env.txt")).unwrap();
    assert_eq!(
        seen,
        format!("value with spaces=1|{}", std::env::var("PATH").unwrap())
    );
}
