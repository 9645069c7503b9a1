//! Texts shared by `--help` and the man page: the long description, the examples and the exit
//! codes. Kept in one place so that `man/huber.1` and `huber --help` cannot disagree.

/// One example: what it does, and the command.
#[derive(Debug, Clone, Copy)]
pub struct Example {
    /// What the command does, one line.
    pub what: &'static str,
    /// The command as typed.
    pub command: &'static str,
}

/// The paragraph under the one-line summary in `--help` and the man page's DESCRIPTION.
pub const LONG_ABOUT: &str = "\
Robust regression losses over NPY, NPZ, CSV, JSON Lines, Parquet and Arrow files, with PyTorch's numbers.

huber reads predictions and targets, checks that their shapes agree, and prints the mean (or sum, \
or every element) of the Huber loss or one of its family: smooth-l1, mse, l1, log-cosh, \
pseudo-huber. Element losses are bit-identical to PyTorch's CPU kernels; sums are exact and \
correctly rounded to the result's dtype, whatever the number of threads, chunks or shards. Inputs \
stream, so files larger than memory work.

An input is one file or a dataset of shards read as one: a glob (quoted, so that huber expands \
it), a folder of files, or a hive-partitioned folder (store=a/...), whose partition keys are \
columns for --by and --id. Files compressed with gzip, zstd, bzip2, xz or LZ4 are read as they are, by their first \
bytes, on stdin too.";

/// Examples for `--help` and the man page, most common first.
pub const EXAMPLES: &[Example] = &[
    Example {
        what: "Mean Huber loss with δ = 1:",
        command: "huber -p pred.npy -t target.npy",
    },
    Example {
        what: "Three deltas from one read of the data, as JSON (one object per δ):",
        command: "huber -p pred.npy -t target.npy -d 0.5,1,2 -f json",
    },
    Example {
        what: "Only the value, in a shell pipeline:",
        command: "huber -p pred.npy -t target.npy -f json | jq .value",
    },
    Example {
        what: "Every element loss, into an NPY file with pred's shape:",
        command: "huber -p pred.npy -t target.npy -d 0.5 -r none -o loss.npy",
    },
    Example {
        what: "The ten worst elements (position, pred, target, loss), tab-separated for cut:",
        command: "huber -p pred.npy -t target.npy --top 10",
    },
    Example {
        what: "Two arrays of one NPZ file; two columns of one CSV file on stdin:",
        command: "huber -p run.npz:pred -t run.npz:target\nhuber -p -:pred -t -:target < results.csv",
    },
    Example {
        what: "Datasets: a glob of Parquet shards; a hive folder (preds/store=a/...), a loss per store:",
        command: "huber -p 'preds/*.parquet:pred' -t 'preds/*.parquet:target'\nhuber -p preds:pred -t preds:target --by preds:store",
    },
    Example {
        what: "A field of gzip-compressed JSON Lines; three columns of a CSV as one (N, 3) input:",
        command: "huber -p run.jsonl.gz:out.pred -t run.jsonl.gz:target\nhuber -p t.csv:p0,p1,p2 -t t.csv:y0,y1,y2 --axis 0",
    },
    Example {
        what: "Sum of SmoothL1 losses with β = 0.1:",
        command: "huber -p pred.npy -t target.npy -l smooth-l1 -b 0.1 -r sum",
    },
    Example {
        what: "δ from the data (1.345 · 1.4826 · MAD of the residuals), reported in the JSON:",
        command: "huber -p pred.npy -t target.npy -d auto -f json",
    },
    Example {
        what: "Weighted mean, leaving out elements whose loss is NaN:",
        command: "huber -p pred.npy -t target.npy -w weight.npy --nan omit",
    },
    Example {
        what: "The gradient of the mean loss with respect to pred, as PyTorch's autograd gives it:",
        command: "huber -p pred.npy -t target.npy --grad -o grad.npy",
    },
    Example {
        what: "Combine the JSON results of shards into one (- reads them from a pipe):",
        command: "huber merge shards/*/loss.json -f json\nparallel huber -p {} -t {.}.t.npy -f json ::: p/*.npy | huber merge -",
    },
    Example {
        what: "Does δ suit the data? A histogram of the residuals with ±δ marked:",
        command: "huber -p pred.npy -t target.npy -d 0.1,0.5 --plot residuals.svg",
    },
    Example {
        what: "Install tab completion for bash:",
        command: "huber completions bash > ~/.local/share/bash-completion/completions/huber",
    },
];

/// The exit codes: code and meaning.
pub const EXIT_STATUS: &[(&str, &str)] = &[
    (
        "0",
        "Success. Also when a reader of stdout went away (huber ... | head -1).",
    ),
    (
        "1",
        "Bad or unreadable input data: a missing file, an unknown format or dtype, shapes that \
         differ, a number that does not parse.",
    ),
    (
        "2",
        "Bad command line: an unknown option, a bad δ or β, options that do not go together.",
    ),
];

/// What `-h` shows after the options: two examples and where to find more.
pub fn short_after_help() -> String {
    let mut s = String::from("Examples:\n");
    for e in &EXAMPLES[..2] {
        s.push_str(&format!("  {}\n", e.command));
    }
    s.push_str("\nMore examples and the exit codes: huber --help, man huber.");
    s
}

/// What `--help` shows after the options: every example and the exit codes.
pub fn long_after_help() -> String {
    let mut s = String::from("Examples:\n");
    for e in EXAMPLES {
        s.push_str(&format!("  {}\n", e.what));
        for line in e.command.lines() {
            s.push_str(&format!("    {line}\n"));
        }
        s.push('\n');
    }
    s.push_str("Exit status:\n");
    for (code, meaning) in EXIT_STATUS {
        s.push_str(&format!("  {code}  {meaning}\n"));
    }
    s.push_str("\nSee also: man huber; huber completions --help.");
    s
}
