//! The layout the next contributor can rely on, checked on the source
//! itself: the model depends on nothing, no cycle among the layers nor
//! among any of the top-level modules, no file a newcomer gets lost in,
//! and a `run` that reads like the flow.
//! (`cargo modules dependencies --lib --no-externs --no-sysroot --no-fns
//! --no-traits --no-types --acyclic` draws the same graph from `use`
//! items; this test also sees paths written inline.)

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers that must not depend on each other in a cycle: the shared
/// words, the specs and what their keys are read with, the checks and
/// channels, the rules, the state and the report, the loader that names
/// every type, the runner, HTTP sending and the ping.
const LAYERS: &[&str] = &[
    "model", "spec", "vocab", "check", "decide", "notify", "state", "report", "config", "runner",
    "http", "ping",
];
/// Lines of code (tests left out) a source file may have.
const MAX_FILE_LINES: usize = 600;
/// Lines `run::run` may have.
const MAX_RUN_LINES: usize = 80;

fn sources() -> Vec<(PathBuf, String)> {
    fn walk(dir: &Path, out: &mut Vec<(PathBuf, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                out.push((path, text));
            }
        }
    }
    let mut out = Vec::new();
    walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut out);
    out.sort();
    out
}

/// The code of a file without its tests: a `tests.rs` is all tests; else
/// everything before the first inline `#[cfg(test)]` module, less the
/// test-only items and the declarations of test modules kept in files.
fn code(path: &Path, text: &str) -> String {
    if path.file_name().is_some_and(|n| n == "tests.rs") {
        return String::new();
    }
    let mut out = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        if line.starts_with("#[cfg(") && line.contains("test") {
            match lines.peek() {
                // A test module in its own file: that file is read on its own.
                Some(next) if next.starts_with("mod ") && next.ends_with(';') => {
                    lines.next();
                    continue;
                }
                Some(next) if next.starts_with("mod ") => break,
                // A test-only item: skip it to its closing brace.
                Some(_) => {
                    for l in lines.by_ref() {
                        if l == "}" || (l.ends_with(';') && !l.starts_with(' ')) {
                            break;
                        }
                    }
                    continue;
                }
                None => break,
            }
        }
        out.push(line);
    }
    out.join("\n")
}

/// `src/notify/plan/turns.rs` -> `notify`.
fn top_module(path: &Path) -> String {
    let rel = path
        .strip_prefix(Path::new(env!("CARGO_MANIFEST_DIR")).join("src"))
        .unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

/// Which top-level modules each top-level module refers to (`crate::x`).
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let refers = regex::Regex::new(r"crate::([a-z_]+)").unwrap();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (path, text) in sources() {
        let from = top_module(&path);
        let deps = graph.entry(from.clone()).or_default();
        for m in refers.captures_iter(&code(&path, &text)) {
            if m[1] != from {
                deps.insert(m[1].to_string());
            }
        }
    }
    graph
}

fn cycle_among(graph: &BTreeMap<String, BTreeSet<String>>, nodes: &[&str]) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        nodes: &[&str],
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if !done.insert(node.to_string()) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if nodes.contains(&next.as_str())
                && let Some(c) = visit(next, graph, nodes, path, done)
            {
                return Some(c);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    nodes
        .iter()
        .find_map(|n| visit(n, graph, nodes, &mut Vec::new(), &mut done))
}

#[test]
fn the_model_depends_on_nothing_in_the_crate() {
    let graph = graph();
    assert_eq!(
        graph.get("model"),
        Some(&BTreeSet::new()),
        "src/model may use only std and other crates"
    );
}

#[test]
fn no_cycle_among_the_layers() {
    let graph = graph();
    if let Some(cycle) = cycle_among(&graph, LAYERS) {
        let shown: Vec<String> = LAYERS
            .iter()
            .map(|l| format!("{l} -> {:?}", graph.get(*l)))
            .collect();
        panic!("module cycle {}\n{}", cycle.join(" -> "), shown.join("\n"));
    }
}

/// Every top-level module of `src`, as the graph names them.
fn all_modules(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<&str> {
    graph.keys().map(String::as_str).collect()
}

#[test]
fn no_cycle_among_all_top_level_modules() {
    let graph = graph();
    let modules = all_modules(&graph);
    if let Some(cycle) = cycle_among(&graph, &modules) {
        let shown: Vec<String> = cycle[1..]
            .iter()
            .map(|m| format!("{m} -> {:?}", graph.get(m)))
            .collect();
        panic!("module cycle {}\n{}", cycle.join(" -> "), shown.join("\n"));
    }
}

#[test]
fn the_cycle_finder_finds_a_cycle_through_the_loader_and_outside_the_layers() {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut edge = |from: &str, to: &str| {
        graph.entry(from.into()).or_default().insert(to.into());
    };
    edge("config", "check");
    edge("check", "vocab");
    edge("options", "cli");
    edge("cli", "out");
    assert_eq!(cycle_among(&graph, LAYERS), None);
    assert_eq!(cycle_among(&graph, &all_modules(&graph)), None);
    let mut with_loader = graph.clone();
    with_loader
        .entry("vocab".into())
        .or_default()
        .insert("config".into());
    assert_eq!(
        cycle_among(&with_loader, LAYERS).map(|c| c.join(" -> ")),
        Some("vocab -> config -> check -> vocab".to_string())
    );
    graph
        .entry("out".into())
        .or_default()
        .insert("options".into());
    assert_eq!(cycle_among(&graph, LAYERS), None);
    assert_eq!(
        cycle_among(&graph, &all_modules(&graph)).map(|c| c.join(" -> ")),
        Some("cli -> out -> options -> cli".to_string())
    );
}

#[test]
fn sending_http_the_ping_and_the_checks_need_no_alerting() {
    let graph = graph();
    for module in ["http", "ping", "check"] {
        let deps = graph.get(module).cloned().unwrap_or_default();
        assert!(
            !deps.contains("notify"),
            "src/{module} uses notify: {deps:?}"
        );
    }
}

#[test]
fn the_cycle_finder_finds_a_cycle() {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    graph
        .entry("decide".into())
        .or_default()
        .insert("notify".into());
    graph
        .entry("notify".into())
        .or_default()
        .insert("state".into());
    assert_eq!(cycle_among(&graph, LAYERS), None);
    graph
        .entry("state".into())
        .or_default()
        .insert("decide".into());
    assert_eq!(
        cycle_among(&graph, LAYERS).map(|c| c.join(" -> ")),
        Some("decide -> notify -> state -> decide".to_string())
    );
}

#[test]
fn no_source_file_is_over_600_lines_of_code() {
    let long: Vec<String> = sources()
        .into_iter()
        .map(|(path, text)| (code(&path, &text).lines().count(), path))
        .filter(|(n, _)| *n > MAX_FILE_LINES)
        .map(|(n, path)| format!("{}: {n} lines", path.display()))
        .collect();
    assert!(long.is_empty(), "split these: {long:#?}");
}

#[test]
fn run_reads_like_the_flow() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/run/mod.rs");
    let text = std::fs::read_to_string(path).unwrap();
    let start = text
        .lines()
        .position(|l| l.starts_with("pub fn run("))
        .expect("src/run/mod.rs has pub fn run");
    let length = text
        .lines()
        .skip(start)
        .position(|l| l == "}")
        .expect("run ends")
        + 1;
    assert!(
        length < MAX_RUN_LINES,
        "run() has {length} lines; move a stage into its own function"
    );
}

/// Where `unsafe` may be written: the operating system's module, whose
/// small safe functions say what they guarantee, and nowhere else.
const UNSAFE_HOME: &str = "src/sys/";

#[test]
fn no_unsafe_outside_the_sys_module() {
    let keyword = regex::Regex::new(r"\bunsafe\s*(\{|\(|fn\b|extern\b|impl\b|trait\b)").unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let found: Vec<String> = sources()
        .into_iter()
        .flat_map(|(path, text)| {
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            text.lines()
                .enumerate()
                .filter(|(_, line)| !line.trim_start().starts_with("//"))
                .filter(|(_, line)| keyword.is_match(line))
                .map(|(n, line)| format!("{rel}:{}: {}", n + 1, line.trim()))
                .collect::<Vec<_>>()
        })
        .filter(|at| !at.starts_with(UNSAFE_HOME))
        .collect();
    assert!(
        found.is_empty(),
        "unsafe belongs in {UNSAFE_HOME}, behind a safe function: {found:#?}"
    );
}
