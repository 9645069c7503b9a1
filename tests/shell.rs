//! The tool at home in the shell: the man page is current, completions load, help shows
//! examples, `--plot` draws the δ marks.
//!
//! Regenerate `man/huber.1` after changing the command line:
//!
//!     UPDATE_MAN=1 cargo test --test integration man_page

use std::path::{Path, PathBuf};
use std::process::Command;

use clap::CommandFactory;
use clap_mangen::roff::{Roff, bold, italic, roman};
use huber::internals::Cli;
use huber::internals::{EXAMPLES, EXIT_STATUS};

fn huber() -> Command {
    Command::new(env!("CARGO_BIN_EXE_huber"))
}

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// The COMMANDS section: each subcommand with its positionals, its about line and the values
/// a positional takes.
fn commands_section(roff: &mut Roff, cmd: &clap::Command) {
    roff.control("SH", ["COMMANDS"]);
    for sub in cmd.get_subcommands() {
        let args: Vec<String> = sub
            .get_positionals()
            .map(|a| format!(" {}", a.get_id().as_str().to_uppercase()))
            .collect();
        roff.control("TP", []).text([
            bold(format!("huber {}", sub.get_name())),
            roman(args.concat()),
        ]);
        let about = sub.get_about().map(|a| a.to_string()).unwrap_or_default();
        roff.text([roman(about)]);
        for a in sub.get_positionals() {
            let values: Vec<String> = a
                .get_possible_values()
                .iter()
                .map(|v| v.get_name().to_string())
                .collect();
            if !values.is_empty() {
                roff.text([roman(format!(
                    "{} is one of: {}.",
                    a.get_id().as_str().to_uppercase(),
                    values.join(", ")
                ))]);
            }
        }
    }
}

/// The man page: clap_mangen's sections from the clap definition, and ours around them.
fn man_page() -> String {
    let cmd = Cli::command();
    let man = clap_mangen::Man::new(cmd.clone());
    let mut out = Vec::new();
    man.render_title(&mut out).unwrap();
    man.render_name_section(&mut out).unwrap();
    man.render_synopsis_section(&mut out).unwrap();
    man.render_description_section(&mut out).unwrap();
    man.render_options_section(&mut out).unwrap();

    let mut roff = Roff::new();
    commands_section(&mut roff, &cmd);
    roff.control("SH", ["EXAMPLES"]);
    for e in EXAMPLES {
        roff.control("PP", []).text([roman(e.what)]);
        roff.control("RS", ["4"]).control("nf", []);
        for line in e.command.lines() {
            roff.text([bold(line)]);
        }
        roff.control("fi", []).control("RE", []);
    }
    roff.control("SH", ["EXIT STATUS"]);
    for (code, meaning) in EXIT_STATUS {
        roff.control("TP", [])
            .text([bold(*code)])
            .text([roman(*meaning)]);
    }
    roff.control("SH", ["ENVIRONMENT"]);
    roff.control("TP", []).text([bold("CI")]).text([roman(
        "When set, no progress bar is shown (as with --quiet); it is also never shown when \
         stderr is not a terminal.",
    )]);
    roff.control("SH", ["SEE ALSO"]);
    roff.text([
        bold("python3"),
        roman("(1), "),
        bold("jq"),
        roman("(1); the README of huber; PyTorch's "),
        italic("torch.nn.functional.huber_loss"),
        roman(" and "),
        italic("smooth_l1_loss"),
        roman(", whose numbers huber reproduces; NumPy's NPY format description, "),
        italic("numpy.lib.format"),
        roman("."),
    ]);
    roff.to_writer(&mut out).unwrap();
    man.render_version_section(&mut out).unwrap();
    // Non-ASCII (δ, β, …) as groff escapes, so that the page renders without preconv.
    String::from_utf8(out)
        .unwrap()
        .chars()
        .map(|c| match c {
            c if c.is_ascii() => c.to_string(),
            c => format!("\\[u{:04X}]", u32::from(c)),
        })
        .collect()
}

#[test]
fn man_page_is_current() {
    let path = repo("man/huber.1");
    let fresh = man_page();
    if std::env::var_os("UPDATE_MAN").is_some() {
        std::fs::write(&path, &fresh).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "man/huber.1 is stale: regenerate it with `UPDATE_MAN=1 cargo test --test integration man_page` and commit it"
    );
}

#[test]
fn man_page_has_its_sections() {
    let page = man_page();
    for section in [
        "NAME",
        "SYNOPSIS",
        "DESCRIPTION",
        "OPTIONS",
        "EXAMPLES",
        "\"EXIT STATUS\"",
        "\"SEE ALSO\"",
    ] {
        assert!(page.contains(&format!(".SH {section}")), "{section}");
    }
    assert!(page.contains("\\-\\-plot"));
}

#[test]
fn completions_for_every_shell() {
    for (shell, marker) in [
        ("bash", "complete -F _huber"),
        ("zsh", "#compdef huber"),
        ("fish", "complete -c huber"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let out = huber().args(["completions", shell]).output().unwrap();
        assert!(out.status.success(), "{shell}");
        let script = String::from_utf8(out.stdout).unwrap();
        assert!(script.contains(marker), "{shell}");
        assert!(script.contains("delta"), "{shell}");
    }
    let out = huber().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn short_and_long_help() {
    let short = huber().arg("-h").output().unwrap();
    let long = huber().arg("--help").output().unwrap();
    assert!(short.status.success() && long.status.success());
    let (short, long) = (
        String::from_utf8(short.stdout).unwrap(),
        String::from_utf8(long.stdout).unwrap(),
    );
    assert!(short.len() < long.len());
    assert!(short.contains("huber --help"));
    for e in EXAMPLES {
        assert!(
            long.contains(e.command.lines().next().unwrap()),
            "{}",
            e.command
        );
    }
    assert!(long.contains("Exit status:"));
    let version = huber().arg("--version").output().unwrap();
    assert_eq!(
        String::from_utf8(version.stdout).unwrap(),
        format!("huber {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn plot_marks_every_delta() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("r.svg");
    let out = huber()
        .args([
            "-p",
            "fixtures/example/pred.npy",
            "-t",
            "fixtures/example/target.npy",
        ])
        .args(["-d", "0.05,0.1,0.2", "-f", "json", "--plot"])
        .arg(&svg)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let text = std::fs::read_to_string(&svg).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap();
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    let marks: Vec<_> = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("threshold"))
        .collect();
    assert_eq!(marks.len(), 3);
    for (mark, result) in marks.iter().zip(json.as_array().unwrap()) {
        let delta: f64 = mark.attribute("data-threshold").unwrap().parse().unwrap();
        assert_eq!(delta, result["delta"].as_f64().unwrap());
        // The share written on the picture is the one the loss reports.
        let share: f64 = mark
            .attribute("data-linear-share")
            .unwrap()
            .parse()
            .unwrap();
        let reported = result["linear_fraction"].as_f64().unwrap();
        assert!((share - reported).abs() < 1e-12, "{share} {reported}");
        let lines = mark
            .descendants()
            .filter(|n| n.attribute("class") == Some("delta-mark"))
            .count();
        assert_eq!(lines, 2, "±δ");
        let legend: String = mark
            .descendants()
            .filter_map(|n| n.text())
            .collect::<Vec<_>>()
            .join(" ");
        assert!(legend.contains(&format!("δ = {delta}")), "{legend}");
        assert!(
            legend.contains(&format!("{:.1} %", 100.0 * share)),
            "{legend}"
        );
    }
}

#[test]
fn a_failed_run_draws_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("r.svg");
    let out = huber()
        .args(["-p", "missing.npy", "-t", "missing.npy", "--plot"])
        .arg(&svg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.npy"));
    assert!(!svg.exists());
}

#[test]
fn columns_of_stdin_as_in_the_examples() {
    let csv = std::fs::File::open(repo("fixtures/example/depth.csv")).unwrap();
    let out = huber()
        .args(["-p", "-:pred", "-t", "-:target"])
        .stdin(csv)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "0.1665810698035295\n"
    );
}

#[cfg(unix)]
#[test]
fn outputs_are_not_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("r.svg");
    let status = huber()
        .args([
            "-p",
            "fixtures/example/pred.npy",
            "-t",
            "fixtures/example/target.npy",
        ])
        .arg("--plot")
        .arg(&svg)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    // 0666 less the umask: the umask of a test run never takes the owner's read and write.
    let mode = std::fs::metadata(&svg).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode & 0o600, 0o600);
    assert_eq!(mode & 0o111, 0);
}
