use clap::Parser;

use super::*;
use crate::cli::{Cli, Task};
use huber_core::loss::Loss;

fn config(args: &[&str]) -> Result<Config, UsageError> {
    let mut all = vec!["huber", "-p", "p.npy", "-t", "t.npy"];
    all.extend_from_slice(args);
    match Cli::try_parse_from(all).unwrap().into_task()? {
        Task::Run(c) => Ok(*c),
        other => panic!("not a loss computation: {other:?}"),
    }
}

fn losses(c: Config) -> Vec<Loss> {
    match c.options.params {
        Params::Given(l) => l,
        Params::AutoDelta(_) => vec![],
    }
}

#[test]
fn parameters_belong_to_their_loss() {
    assert!(
        config(&["--beta", "1"])
            .unwrap_err()
            .to_string()
            .contains("--delta")
    );
    assert!(config(&["-l", "smooth-l1", "-d", "1"]).is_err());
    assert!(
        config(&["-l", "mse", "-b", "1"])
            .unwrap_err()
            .to_string()
            .contains("no parameter")
    );
    assert_eq!(
        losses(config(&["-l", "smooth-l1", "-b", "0"]).unwrap()),
        vec![Loss::SmoothL1 { beta: 0.0 }]
    );
    assert!(config(&["-l", "pseudo-huber", "-d", "2"]).is_ok());
    assert!(config(&["-l", "pseudo-huber", "-d", "inf"]).is_err());
}

#[test]
fn delta_lists_and_bad_deltas() {
    assert_eq!(losses(config(&["-d", "0.5, 1,2"]).unwrap()).len(), 3);
    for bad in ["0", "-1", "nan", "x", "1,,2"] {
        assert!(config(&["-d", bad]).is_err(), "{bad}");
    }
    assert!(config(&["-d", "inf"]).is_ok());
    assert!(config(&["-d", "1,2", "-r", "none"]).is_err());
    assert!(config(&["-d", "1,2", "--grad"]).is_err());
    assert_eq!(
        config(&["-d", "auto"]).unwrap().options.params,
        Params::AutoDelta(LossKind::Huber)
    );
}

#[test]
fn format_from_output_extension() {
    assert_eq!(config(&["-o", "x.json"]).unwrap().format, Format::Json);
    assert_eq!(
        config(&["-o", "x.json", "-f", "csv"]).unwrap().format,
        Format::Csv
    );
    assert_eq!(config(&["-o", "x.out"]).unwrap().format, Format::Text);
}

#[test]
fn merge_is_a_subcommand() {
    let task = Cli::try_parse_from(["huber", "merge", "a.json", "b.json"])
        .unwrap()
        .into_task()
        .unwrap();
    assert!(matches!(task, Task::Merge(m) if m.files.len() == 2));
    assert!(Cli::try_parse_from(["huber", "-p", "a"]).is_err());
}

#[test]
fn axes_parse_from_the_command_line() {
    assert_eq!(parse_axes("1,2").unwrap(), vec![1, 2]);
    assert_eq!(parse_axes("-1").unwrap(), vec![-1]);
    let bad = parse_axes("1,x").unwrap_err().to_string();
    assert!(bad.contains("invalid axis 'x'"), "{bad}");
}
