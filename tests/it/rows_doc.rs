//! docs/COMPATIBILITY.md checked against the code (issue 15): every row of every table with a
//! state and a test column says `done`, `partial` or `missing`; a `done` row cites at least
//! one test; the test column holds only citations, each in backticks as
//! `module::path::test_name` (or `module::*` for a whole module), and each cited test exists
//! as a `fn` in a file under `tests/` or `src/` whose path holds the cited modules (a `tests`
//! segment may be an inline `mod tests`); a `done` row cites no `#[ignore]`d test (an ignored
//! test proves nothing in a normal run). No processes: it reads files.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The module path components of a source file: its directories under the crate root and its
/// stem (`tests/it/rows_doc.rs` → tests, it, rows_doc).
fn components(file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(root()).unwrap_or(file);
    let mut parts: Vec<String> = rel
        .parent()
        .into_iter()
        .flat_map(|p| p.iter())
        .map(|c| c.to_string_lossy().into_owned())
        .collect();
    if let Some(stem) = rel.file_stem() {
        parts.push(stem.to_string_lossy().into_owned());
    }
    parts
}

/// Every `fn name` of every source file under tests/ and src/: name → the files defining it;
/// an `#[ignore]`d test's files are also under `ignored_key(name)`.
fn functions() -> HashMap<String, Vec<Vec<String>>> {
    let mut files = Vec::new();
    rust_files(&root().join("tests"), &mut files);
    rust_files(&root().join("src"), &mut files);
    let mut index: HashMap<String, Vec<Vec<String>>> = HashMap::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        let comps = components(&f);
        for (i, _) in text.match_indices("fn ") {
            let before = text[..i].chars().last();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let name: String = text[i + 3..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                // The attributes of this fn: what follows the previous item's end.
                let head = &text[..i];
                let from = head.rfind("}\n").or_else(|| head.rfind(";\n")).unwrap_or(0);
                if head[from..].contains("#[ignore") {
                    let key = ignored_key(&name);
                    index.entry(key).or_default().push(comps.clone());
                }
                index.entry(name).or_default().push(comps.clone());
            }
        }
    }
    index
}

/// Where `functions` files an `#[ignore]`d test (not a valid fn name, so no clash).
fn ignored_key(name: &str) -> String {
    format!("#ignored {name}")
}

/// The modules a citation names must all be path components of the defining file; `tests` may
/// be an inline module, `it`/`src` are implied.
fn modules_match(modules: &[&str], file: &[String]) -> bool {
    modules
        .iter()
        .filter(|m| **m != "tests")
        .all(|m| file.iter().any(|c| c == m))
}

/// Split a table line into cells, keeping `\|` inside a cell.
fn cells(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev = '\0';
    for c in line.trim().trim_start_matches('|').chars() {
        if c == '|' && prev != '\\' {
            out.push(cur.trim().to_string());
            cur.clear();
        } else {
            cur.push(c);
        }
        prev = c;
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}

/// A problem with one citation, or None when it names tests that exist.
fn check_citation(cite: &str, index: &HashMap<String, Vec<Vec<String>>>) -> Option<String> {
    let segments: Vec<&str> = cite.split("::").collect();
    if segments.iter().any(|s| {
        s.is_empty() || !(*s == "*" || s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
    }) {
        return Some(format!("`{cite}` is not a `module::test` path"));
    }
    let (name, modules) = segments.split_last().expect("non-empty");
    if *name == "*" {
        if modules.is_empty() {
            return Some(format!("`{cite}` names no module"));
        }
        let any = index
            .values()
            .flatten()
            .any(|file| modules_match(modules, file));
        return (!any).then(|| format!("`{cite}`: no such module"));
    }
    match index.get(*name) {
        None => Some(format!("`{cite}`: no fn {name} under tests/ or src/")),
        Some(files) if !files.iter().any(|f| modules_match(modules, f)) => Some(format!(
            "`{cite}`: fn {name} exists, but not in a file under {modules:?}"
        )),
        Some(_) => None,
    }
}

/// Whether `cite` (an existing test) names a test that is `#[ignore]`d.
fn cites_an_ignored_test(cite: &str, index: &HashMap<String, Vec<Vec<String>>>) -> bool {
    let segments: Vec<&str> = cite.split("::").collect();
    let (name, modules) = segments.split_last().expect("non-empty");
    index
        .get(&ignored_key(name))
        .is_some_and(|files| files.iter().any(|f| modules_match(modules, f)))
}

/// Every problem of the document's tables, one line each.
fn problems(doc: &str) -> Vec<String> {
    problems_with(doc, &functions())
}

/// `problems` against a given index of the source's functions.
fn problems_with(doc: &str, index: &HashMap<String, Vec<Vec<String>>>) -> Vec<String> {
    let mut out = Vec::new();
    let mut columns: Option<(usize, usize)> = None;
    for (n, line) in doc.lines().enumerate() {
        let n = n + 1;
        if !line.trim_start().starts_with('|') {
            columns = None;
            continue;
        }
        let row = cells(line);
        if row
            .iter()
            .all(|c| c.chars().all(|ch| matches!(ch, '-' | ':' | ' ')))
        {
            continue;
        }
        let Some((state_col, test_col)) = columns else {
            // A header: which columns hold the state and the tests.
            let find = |word: &str| row.iter().position(|c| c.to_lowercase().starts_with(word));
            columns = find("state").zip(find("test"));
            continue;
        };
        let state = row.get(state_col).map(String::as_str).unwrap_or("");
        let tests = row.get(test_col).map(String::as_str).unwrap_or("");
        let state_word = state.split_whitespace().next().unwrap_or("");
        if !matches!(state_word, "done" | "partial" | "missing") {
            out.push(format!(
                "line {n}: state {state:?} is not done/partial/missing"
            ));
            continue;
        }
        let mut cites = Vec::new();
        let mut rest = String::new();
        for (i, part) in tests.split('`').enumerate() {
            if i % 2 == 1 {
                cites.push(part.to_string());
            } else {
                rest.push_str(part);
            }
        }
        if rest.chars().any(|c| !matches!(c, ',' | ' ' | '—')) {
            out.push(format!(
                "line {n}: the test column may hold only `module::test` citations: {tests:?}"
            ));
        }
        if state_word == "done" && cites.is_empty() {
            out.push(format!("line {n}: done, but no test is cited"));
        }
        for c in cites {
            if let Some(p) = check_citation(&c, index) {
                out.push(format!("line {n}: {p}"));
            } else if state_word == "done" && cites_an_ignored_test(&c, index) {
                out.push(format!(
                    "line {n}: done, but `{c}` is #[ignore]d (say partial, and why)"
                ));
            }
        }
    }
    out
}

#[test]
fn every_row_of_the_compatibility_table_cites_tests_that_exist() {
    let doc = std::fs::read_to_string(root().join("docs/COMPATIBILITY.md")).unwrap();
    let found = problems(&doc);
    assert!(
        found.is_empty(),
        "docs/COMPATIBILITY.md: {} problems:\n{}",
        found.len(),
        found.join("\n")
    );
}

#[test]
fn the_checker_catches_what_it_is_for() {
    // A row per failure the checker exists to catch, and one good row: proof it can fail.
    let doc = "| item | state | test | notes |\n|---|---|---|---|\n\
               | a | done | `rows_doc::the_checker_catches_what_it_is_for` | |\n\
               | b | done | | |\n\
               | c | done | `rows_doc::no_such_test_anywhere` | |\n\
               | d | done | `rows_selection::the_checker_catches_what_it_is_for` | |\n\
               | e | done | rows_doc::bare_name | |\n\
               | f | ok | `rows_doc::*` | |\n\
               | g | partial | | what differs |\n\
               | h | done | `no_such_module::*` | |\n\
               | i | done | `rows_doc::every_row_of_the_compatibility_table_cites_tests_that_exist` | |\n\
               | j | partial | `rows_doc::every_row_of_the_compatibility_table_cites_tests_that_exist` | ignored: why |\n";
    // For rows i and j, the other test of this file is taken as #[ignore]d.
    let mut index = functions();
    index.insert(
        ignored_key("every_row_of_the_compatibility_table_cites_tests_that_exist"),
        vec![vec!["tests".into(), "it".into(), "rows_doc".into()]],
    );
    let found = problems_with(doc, &index);
    let lines: Vec<&str> = found.iter().map(|p| p.split(':').next().unwrap()).collect();
    assert_eq!(
        lines,
        ["line 4", "line 5", "line 6", "line 7", "line 7", "line 8", "line 10", "line 11"],
        "{found:#?}"
    );
}
