//! The examples in README.md, docs/GUIDE.md and docs/DECISIONS.md run, and print what the
//! documents say they print.
//!
//! A checked example is a fenced block whose info string is `console`:
//!
//! ````text
//! ```console
//! $ huber -p fixtures/example/pred.npy -t fixtures/example/target.npy
//! 0.09957306
//! ```
//! ````
//!
//! A line starting with `$ ` is a command (a line ending in `\` continues it on the next line);
//! the lines after it, up to the next command, are what it prints on stdout and stderr together,
//! exactly. A fenced block whose info string holds `file=NAME` (```` ```python file=evaluate.py ````)
//! is written to NAME before the blocks after it run. Each document runs in a temporary folder of
//! its own, in document order, under bash, with `fixtures` linked to the repository's fixtures and
//! the built `huber` first on `PATH`; files an example writes stay there for the examples after
//! it. A command whose output shows no `huber: error:` line must also succeed.
//!
//! Blocks with any other info string (`sh`, `text`, `python` without `file=`) are shown, not run:
//! keep output that varies (timings) and tools CI does not have (jq, numpy, GNU parallel) there,
//! without `$ ` prompts (a prompt outside a `console` block fails the test, so that no example
//! with output goes unchecked).
//!
//! After changing an example or the output of the tool, rewrite the expected outputs with
//!
//!     UPDATE_DOCS=1 cargo test --test integration docs

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::util::{root, run, temp_dir};

/// One command of a `console` block, with what it should print.
#[derive(Debug)]
struct Example {
    /// 1-based line of the `$ ` line in the document.
    line: usize,
    /// The command as bash reads it (continuation lines joined by their line breaks).
    command: String,
    /// The expected output, one entry per line.
    expected: Vec<String>,
    /// The document's lines that hold `expected` (a half-open range of 0-based indices).
    lines: std::ops::Range<usize>,
    /// The indentation of the block (inside a list item), for rewriting `expected`.
    indent: usize,
}

/// A step of a document: write a file, or run a command.
#[derive(Debug)]
enum Step {
    File { name: String, text: String },
    Run(Example),
}

/// The steps of a Markdown document, in order.
fn steps(doc: &str) -> Vec<Step> {
    let lines: Vec<&str> = doc.lines().collect();
    let mut steps = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let trimmed = lines[i].trim_start();
        let Some(info) = trimmed.strip_prefix("```") else {
            assert!(
                !trimmed.starts_with("$ "),
                "line {}: a `$ ` command outside a `console` block is never checked",
                i + 1
            );
            i += 1;
            continue;
        };
        let (info, indent) = (info.trim(), lines[i].len() - trimmed.len());
        let start = i + 1;
        let end = (start..lines.len())
            .find(|&j| lines[j].trim() == "```")
            .unwrap_or_else(|| panic!("the block opened on line {} is never closed", i + 1));
        // The block's lines without the fence's indentation (a block inside a list item).
        let body: Vec<&str> = lines[start..end]
            .iter()
            .map(|l| &l[l.bytes().take(indent).take_while(|&b| b == b' ').count()..])
            .collect();
        if info == "console" {
            console(&body, start, indent, &mut steps);
        } else if let Some(j) = body.iter().position(|l| l.starts_with("$ ")) {
            panic!(
                "line {}: a `$ ` command in a `{info}` block is never checked: make it a `console` block",
                start + j + 1
            );
        } else if let Some(name) = info
            .split_whitespace()
            .find_map(|w| w.strip_prefix("file="))
        {
            let mut text = body.join("\n");
            text.push('\n');
            steps.push(Step::File {
                name: name.to_string(),
                text,
            });
        }
        i = end + 1;
    }
    steps
}

/// The commands of a `console` block whose `body` starts on the document's line index `start`
/// (0-based) and is indented by `indent` spaces there.
fn console(body: &[&str], start: usize, indent: usize, steps: &mut Vec<Step>) {
    assert!(
        body.first().is_some_and(|l| l.starts_with("$ ")),
        "the console block on line {start} does not start with a `$ ` command"
    );
    let mut j = 0;
    while j < body.len() {
        let line = start + j + 1;
        let mut command = body[j]["$ ".len()..].to_string();
        while command.ends_with('\\') && j + 1 < body.len() {
            j += 1;
            command.push('\n');
            command.push_str(body[j]);
        }
        j += 1;
        let first = j;
        while j < body.len() && !body[j].starts_with("$ ") {
            j += 1;
        }
        steps.push(Step::Run(Example {
            line,
            command,
            expected: body[first..j].iter().map(|l| l.to_string()).collect(),
            lines: start + first..start + j,
            indent,
        }));
    }
}

/// What `command` prints (stdout and stderr in the order written), run in `dir`.
fn output(dir: &Path, command: &str) -> (Option<i32>, String) {
    let bin = dir.join("bin");
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut paths = vec![bin];
    paths.extend(std::env::split_paths(&path));
    let mut cmd = Command::new("bash");
    cmd.arg("-c")
        .arg(format!("{{ {command}\n}} 2>&1"))
        .current_dir(dir)
        .env("PATH", std::env::join_paths(paths).expect("PATH"))
        .env_remove("CI");
    let done = run(cmd, None);
    let text = String::from_utf8_lossy(&done.stdout).into_owned();
    (done.status, text)
}

/// Runs every example of the document at `rel` (from the repository root) in a fresh folder.
fn check(rel: &str) {
    let path = root().join(rel);
    let doc = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{rel}: {e}"));
    let steps = steps(&doc);
    let runs = steps.iter().filter(|s| matches!(s, Step::Run(_))).count();
    assert!(runs > 0, "{rel} holds no `console` example");

    let dir = temp_dir();
    std::os::unix::fs::symlink(root().join("fixtures"), dir.path().join("fixtures"))
        .expect("link fixtures");
    fs::create_dir(dir.path().join("bin")).expect("bin folder");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_huber"), dir.path().join("bin/huber"))
        .expect("link huber");

    let update = std::env::var_os("UPDATE_DOCS").is_some();
    let mut lines: Vec<String> = doc.lines().map(str::to_string).collect();
    let mut replaced = Vec::new();
    let mut failures = Vec::new();
    for step in steps {
        let ex = match step {
            Step::File { name, text } => {
                fs::write(dir.path().join(&name), text).expect("write example file");
                continue;
            }
            Step::Run(ex) => ex,
        };
        let (status, out) = output(dir.path(), &ex.command);
        let got: Vec<String> = out.lines().map(str::to_string).collect();
        let error_shown = ex.expected.iter().any(|l| l.contains("huber: error:"));
        if got != ex.expected {
            if update {
                let pad = " ".repeat(ex.indent);
                let got = got.iter().map(|l| format!("{pad}{l}")).collect::<Vec<_>>();
                replaced.push((ex.lines.clone(), got));
            } else {
                failures.push(format!(
                    "{rel}:{}: $ {}\n--- expected\n{}\n--- got\n{}",
                    ex.line,
                    ex.command,
                    ex.expected.join("\n"),
                    got.join("\n")
                ));
            }
        } else if status != Some(0) && !error_shown {
            failures.push(format!(
                "{rel}:{}: $ {}\nexited with {status:?} but shows no error",
                ex.line, ex.command
            ));
        }
    }
    if update && !replaced.is_empty() {
        for (range, got) in replaced.into_iter().rev() {
            lines.splice(range, got);
        }
        fs::write(&path, lines.join("\n") + "\n").expect("rewrite document");
    }
    assert!(
        failures.is_empty(),
        "{} example(s) of {rel} print something else (rewrite them with `UPDATE_DOCS=1 cargo test --test integration docs` if the new output is right):\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn readme_examples_run() {
    check("README.md");
}

#[test]
fn guide_examples_run() {
    check("docs/GUIDE.md");
}

#[test]
fn decisions_examples_run() {
    check("docs/DECISIONS.md");
}

#[test]
fn console_blocks_are_parsed() {
    let doc = "text\n```console\n$ a \\\n  b\none\n$ c\n```\n```python file=x.py\nprint(1)\n```\n```sh\nd\n```\n- item\n\n  ```console\n  $ e\n  two\n  ```\n";
    let steps = steps(doc);
    assert_eq!(steps.len(), 4, "{steps:?}");
    let Step::Run(a) = &steps[0] else {
        panic!("{steps:?}")
    };
    assert_eq!((a.line, a.command.as_str()), (3, "a \\\n  b"));
    assert_eq!(a.expected, ["one"]);
    assert_eq!(a.lines, 4..5);
    let Step::Run(c) = &steps[1] else {
        panic!("{steps:?}")
    };
    assert!(c.expected.is_empty());
    assert!(
        matches!(&steps[2], Step::File { name, text } if name == "x.py" && text == "print(1)\n")
    );
    let Step::Run(e) = &steps[3] else {
        panic!("{steps:?}")
    };
    assert_eq!((e.line, e.command.as_str(), e.indent), (17, "e", 2));
    assert_eq!(
        (&e.expected[..], e.lines.clone()),
        (&["two".to_string()][..], 17..18)
    );
}

#[test]
#[should_panic(expected = "never checked")]
fn prompts_outside_console_blocks_are_refused() {
    steps("```sh\n$ huber -p p.npy -t t.npy\n0.5\n```\n");
}
