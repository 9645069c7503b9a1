//! The same numbers in every NPY, NPZ and CSV variant huber reads (fixtures/variants) give the
//! same results: the mean through JSON, and the element losses through `-r none -o out.npy`.

use std::fs;

use serde_json::Value;

use crate::util::{self, Dtype, huber, number, read_npy, same_bits};

const MANIFEST: &str = "fixtures/variants/manifest.json";

struct Variant {
    name: String,
    args: Vec<String>,
    stdin: Option<Vec<u8>>,
    expected: Value,
}

fn variants() -> Vec<Variant> {
    let variants: Vec<Variant> = util::manifest(MANIFEST)
        .into_iter()
        .map(|v| {
            let s = |key: &str| v[key].as_str().expect(key).to_string();
            // The long `--pred=INPUT` form here; the other tests use the short `-p INPUT`.
            let mut args = vec![
                format!("--pred={}", s("pred")),
                format!("--target={}", s("target")),
            ];
            args.extend(
                v["extra_args"]
                    .as_array()
                    .expect("extra_args")
                    .iter()
                    .map(|a| a.as_str().expect("argument").to_string()),
            );
            let stdin = v["stdin"]
                .as_str()
                .map(|p| fs::read(util::root().join(p)).expect("stdin fixture"));
            Variant {
                name: s("name"),
                args,
                stdin,
                expected: v["expected"].clone(),
            }
        })
        .collect();
    assert!(variants.len() >= 70, "only {} variants", variants.len());
    variants
}

/// Runs `variant` with `extra` arguments; an error message on failure. A CSV file without a
/// header starts with a line of numbers, which could be a header too: a note on stderr says how
/// it was read, and nothing else may be there.
fn run_variant(variant: &Variant, extra: &[&str]) -> Result<util::Run, String> {
    let mut args = variant.args.clone();
    args.extend(extra.iter().map(|a| a.to_string()));
    let run = huber(&args, variant.stdin.as_deref());
    let notes_only = run
        .stderr
        .lines()
        .all(|l| l.starts_with("huber: note: ") && l.contains("read as data"));
    if run.status == Some(0) && notes_only {
        Ok(run)
    } else {
        Err(format!(
            "{}: huber {} → status {:?}, stderr {:?}",
            variant.name,
            args.join(" "),
            run.status,
            run.stderr
        ))
    }
}

fn check_mean(variant: &Variant) -> Result<(), String> {
    let run = run_variant(variant, &["-f", "json"])?;
    let name = &variant.name;
    let want = &variant.expected;
    let got: Value = serde_json::from_slice(&run.stdout)
        .map_err(|e| format!("{name}: invalid JSON ({e}): {}", run.out()))?;
    let dtype = Dtype::from_name(want["dtype"].as_str().expect("dtype"));
    let exact = number(&want["exact_result"]);
    let value = dtype.round(number(&got["value"]));
    let value_ok = if exact.is_nan() {
        value.is_nan()
    } else {
        dtype.ulps(value, exact) <= dtype.tolerance()
    };
    if !value_ok {
        return Err(format!("{name}: value {value:e}, exact {exact:e}; {got}"));
    }
    for key in ["loss", "reduction", "dtype", "shape", "count"] {
        if got[key] != want[key] {
            return Err(format!(
                "{name}: {key} is {}, expected {}",
                got[key], want[key]
            ));
        }
    }
    if number(&got["delta"]) != number(&want["delta"]) {
        return Err(format!("{name}: delta is {}", got["delta"]));
    }
    Ok(())
}

fn check_none(variant: &Variant) -> Result<(), String> {
    let name = &variant.name;
    let dir = util::temp_dir();
    let out = dir.path().join("out.npy");
    let run = run_variant(
        variant,
        &["-r", "none", "-o", out.to_str().expect("UTF-8 path")],
    )?;
    if !run.stdout.is_empty() {
        return Err(format!("{name}: stdout not empty with -o"));
    }
    let want_path = variant.expected["expected_none"]
        .as_str()
        .expect("expected_none");
    let want = read_npy(
        &fs::read(util::root().join(want_path)).expect("expected array"),
        name,
    );
    let got = read_npy(&fs::read(&out).expect("output file"), name);
    if got.dtype != want.dtype || got.shape != want.shape {
        return Err(format!(
            "{name}: {:?} {:?}, expected {:?} {:?}",
            got.dtype, got.shape, want.dtype, want.shape
        ));
    }
    match (0..got.values.len()).find(|&i| !same_bits(got.dtype, got.values[i], want.values[i])) {
        Some(i) => Err(format!(
            "{name}: element {i} is {:e}, expected {:e}",
            got.values[i], want.values[i]
        )),
        None => Ok(()),
    }
}

fn check_all(check: fn(&Variant) -> Result<(), String>) {
    let variants = variants();
    let failures: Vec<String> = variants.iter().filter_map(|v| check(v).err()).collect();
    assert!(
        failures.is_empty(),
        "{} of {} variants failed:\n{}",
        failures.len(),
        variants.len(),
        failures.join("\n")
    );
}

#[test]
fn every_variant_gives_the_mean() {
    check_all(check_mean);
}

#[test]
fn every_variant_gives_the_element_losses() {
    check_all(check_none);
}

/// `-p -:KEY`: a value that starts with a dash is an input, not a cluster of short flags.
#[test]
fn short_flags_take_stdin_keys() {
    let csv = std::fs::read(util::root().join("fixtures/variants/header.csv")).unwrap();
    let run = util::huber(&["-p", "-:pred", "-t", "-:target"], Some(&csv));
    assert_eq!((run.status, run.stderr.as_str()), (Some(0), ""));
    assert_eq!(run.out(), "0.27424787698676684\n");
}
