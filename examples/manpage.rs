//! Writes rsentinel's man page (roff) to standard output, generated from the same clap
//! definition that prints `rsentinel --help`, so the two cannot drift apart:
//!
//!     cargo run --example manpage > packaging/rsentinel.1
//!
//! `tests/it/ops_package.rs` includes this file and checks that the committed
//! `packaging/rsentinel.1` is what `render` produces; the Debian package ships that file
//! (scripts/package-deb). clap_mangen renders the name, synopsis, description and options;
//! the long help's own sections (CONFIG FILE, SIGNALS, ...) are preformatted text, which
//! clap_mangen would refill into one paragraph, so they become `.SH` sections here.

use std::io::Write;

pub fn render(out: &mut dyn Write) -> std::io::Result<()> {
    let cmd = rsentinel::cli::clap_command();
    let man = clap_mangen::Man::new(cmd.clone());
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    man.render_options_section(out)?;
    let extra = cmd
        .get_after_long_help()
        .map(|h| h.to_string())
        .unwrap_or_default();
    for line in extra.lines() {
        let is_heading = !line.is_empty() && !line.starts_with(' ') && line == line.to_uppercase();
        if is_heading {
            writeln!(out, ".SH {}", escape(line))?;
            writeln!(out, ".nf")?;
        } else {
            // Four spaces of indentation belong to the help layout; man indents sections itself.
            writeln!(out, "{}", escape(line.strip_prefix("    ").unwrap_or(line)))?;
        }
    }
    // Every heading opened a no-fill block; close the last one.
    writeln!(out, ".fi")?;
    man.render_version_section(out)
}

/// Text as roff prints it literally: backslashes and hyphens escaped, and a line starting
/// with a control character (`.` or `'`) kept from being read as a request.
fn escape(line: &str) -> String {
    let text = line.replace('\\', "\\e").replace('-', "\\-");
    if text.starts_with('.') || text.starts_with('\'') {
        format!("\\&{text}")
    } else {
        text
    }
}

#[allow(dead_code)]
fn main() -> std::io::Result<()> {
    let mut out = Vec::new();
    render(&mut out)?;
    std::io::stdout().lock().write_all(&out)
}
