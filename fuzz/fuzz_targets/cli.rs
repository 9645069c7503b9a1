//! The whole command line: arguments (the bytes split at NUL, not necessarily UTF-8) parsed and
//! checked as `main` does, and, when they name only the small files this target writes into a
//! scratch folder, run. Whatever the options, parsing and running end in a result or an error,
//! never a panic, and an error message is one line once printed.
//!
//! The target changes into its scratch folder (`huber-fuzz-cli-PID` in the temporary directory,
//! left behind for inspection), so give `cargo fuzz run cli` absolute corpus and seed paths.
#![no_main]

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;
use std::sync::Once;

use clap::Parser;
use huber::internals::{Cli, Task};
use huber_engine::message::escape_controls;
use huber_engine::{InputSpec, Location};
use libfuzzer_sys::fuzz_target;

/// The files runs may read, written once into the scratch folder the target works in.
const FILES: [(&str, &[u8]); 5] = [
    ("p.npy", include_bytes!("../../fixtures/bad/files/ok3.npy")),
    (
        "t.npy",
        include_bytes!("../../fixtures/bad/files/ok3_f32.npy"),
    ),
    (
        "r.npy",
        include_bytes!("../../fixtures/bad/files/ok1x3.npy"),
    ),
    ("a.npz", include_bytes!("../../fixtures/bad/files/ok.npz")),
    (
        "d.csv",
        include_bytes!("../../fixtures/bad/files/ok_header.csv"),
    ),
];

fn scratch() {
    static SETUP: Once = Once::new();
    SETUP.call_once(|| {
        let dir = std::env::temp_dir().join(format!("huber-fuzz-cli-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch folder");
        for (name, bytes) in FILES {
            std::fs::write(dir.join(name), bytes).expect("scratch file");
        }
        std::fs::write(dir.join("s.json"), SHARD).expect("scratch shard");
        std::env::set_current_dir(&dir).expect("into the scratch folder");
    });
}

const SHARD: &str = r#"{"loss":"huber","delta":1.0,"reduction":"mean","value":0.7083333333333334,"sum":2.125,"count":3,"shape":[3],"dtype":"float64","linear_fraction":0.6666666666666666,"state":{"sum":"0x1.1p+1","linear":2}}"#;

/// Whether a run may touch `path`: a plain name in the scratch folder that is not one of its
/// inputs (absolute paths, `..`, devices and stdin are never run).
fn harmless(path: &Path) -> bool {
    let b = path.as_os_str().as_bytes();
    !b.is_empty()
        && !b.starts_with(b"/")
        && !b.windows(2).any(|w| w == b"..")
        && !FILES.iter().any(|(n, _)| Path::new(n) == path)
        && path != Path::new("s.json")
}

fn reads_stdin(spec: &InputSpec) -> bool {
    match &spec.location {
        Location::Stdin => true,
        Location::Path(p) => p.as_os_str().as_bytes().starts_with(b"/"),
        // The command line makes no in-memory arrays.
        _ => false,
    }
}

fuzz_target!(|data: &[u8]| {
    scratch();
    let mut args = vec![OsString::from("huber")];
    args.extend(
        data.split(|&b| b == 0)
            .map(|a| OsString::from_vec(a.to_vec())),
    );
    let Ok(cli) = Cli::try_parse_from(&args) else {
        return;
    };
    let task = match cli.into_task() {
        Ok(t) => t,
        Err(e) => {
            assert!(!escape_controls(&e.to_string()).contains('\n'));
            return;
        }
    };
    let runnable = match task.clone() {
        Task::Run(mut config) => {
            let inputs = [
                Some(&config.options.pred),
                Some(&config.options.target),
                config.options.weight.as_ref(),
            ];
            if inputs.into_iter().flatten().any(reads_stdin) {
                return;
            }
            let out = config.output.get_or_insert_with(|| "out".into());
            if !harmless(out) || config.plot.as_deref().is_some_and(|p| !harmless(p)) {
                return;
            }
            config.options.threads = config.options.threads.min(2);
            config.progress = false;
            Task::Run(config)
        }
        Task::Merge(mut m) => {
            if m.files
                .iter()
                .any(|f| f.as_os_str() == "-" || !f.is_relative())
            {
                return;
            }
            if !harmless(m.output.get_or_insert_with(|| "out".into())) {
                return;
            }
            Task::Merge(m)
        }
        Task::Completions(_) => return,
    };
    if let Err(e) = huber::internals::run(&runnable) {
        let message = format!("{e:#}");
        assert!(!message.is_empty());
        assert!(!escape_controls(&message).contains('\n'));
    }
});
