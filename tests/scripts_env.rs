//! Scripts get our environment. Alone in its own test binary: changing the environment
//! while other test threads spawn processes would be a data race.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use rsentinel::core::Input;
use rsentinel::scripts::ScriptRunner;
use tokio::sync::mpsc::unbounded_channel;

#[tokio::test]
async fn the_environment_is_passed_through() {
    std::env::set_var("RSENTINEL_SCRIPT_TEST_VAR", "value with spaces=1");
    let dir = common::temp_dir();
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
