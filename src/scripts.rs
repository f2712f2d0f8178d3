//! Runs user scripts (notification-script, client-reconfig-script) for the core and reports
//! their exit as `Input::ScriptExited`.

use std::path::PathBuf;

use tokio::sync::mpsc::UnboundedSender;

use crate::core::Input;

pub struct ScriptRunner {
    inputs: UnboundedSender<Input>,
    dir: PathBuf,
}

impl ScriptRunner {
    /// Scripts run with `dir` as their working directory.
    pub fn new(inputs: UnboundedSender<Input>, dir: PathBuf) -> ScriptRunner {
        ScriptRunner { inputs, dir }
    }

    pub fn run(&mut self, id: u64, path: &str, args: &[String]) {
        let _ = (&self.inputs, &self.dir, id, path, args);
    }

    pub fn kill(&mut self, id: u64) {
        let _ = id;
    }
}
