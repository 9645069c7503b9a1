use super::*;

fn spec(s: &str) -> InputSpec {
    InputSpec::parse(OsStr::new(s)).unwrap()
}

#[test]
fn splits_keys_at_the_last_colon() {
    assert_eq!(spec("-").location, Location::Stdin);
    let s = spec("-:pred");
    assert_eq!(
        (s.location, s.key.as_deref()),
        (Location::Stdin, Some("pred"))
    );
    let s = spec("/no/such/a:b.npz:target");
    assert_eq!(s.location, Location::Path("/no/such/a:b.npz".into()));
    assert_eq!(s.key.as_deref(), Some("target"));
    assert!(InputSpec::parse(OsStr::new("x.npz:")).is_err());
}

#[test]
fn an_existing_path_with_a_colon_is_a_path() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a:b.csv");
    std::fs::write(&p, "1\n").unwrap();
    let s = InputSpec::parse(p.as_os_str()).unwrap();
    assert_eq!((s.location, s.key), (Location::Path(p), None));
}

#[test]
fn a_key_that_is_not_utf8_names_the_input() {
    use std::os::unix::ffi::OsStrExt;
    let e = InputSpec::parse(OsStr::from_bytes(b"/no/such/d.csv:\xff")).unwrap_err();
    let e = e.to_string();
    assert!(
        e.contains("/no/such/d.csv:") && e.contains("not valid UTF-8"),
        "{e}"
    );
}

#[test]
fn the_longest_prefix_that_exists_is_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.csv");
    std::fs::write(&p, "pred:xgb\n1\n").unwrap();
    let arg = format!("{}:pred:xgb", p.display());
    let s = spec(&arg);
    assert_eq!(
        (s.location, s.key.as_deref()),
        (Location::Path(p.clone()), Some("pred:xgb"))
    );
    // A file named like the path and the first part of the KEY wins: it is longer.
    let longer = dir.path().join("a.csv:pred");
    std::fs::write(&longer, "xgb\n1\n").unwrap();
    let s = spec(&arg);
    assert_eq!(
        (s.location, s.key.as_deref()),
        (Location::Path(longer.clone()), Some("xgb"))
    );
    std::fs::remove_file(&longer).unwrap();
    // A glob that matches is a path too.
    let pattern = format!("{}/*.csv:pred:xgb", dir.path().display());
    let s = spec(&pattern);
    assert_eq!(s.key.as_deref(), Some("pred:xgb"));
}

#[test]
fn tsv_is_named_before_a_compression_extension() {
    for (name, tsv) in [
        ("a.tsv", true),
        ("a.TSV.gz", true),
        ("a.tsv.zst", true),
        ("a.csv.gz", false),
        ("a.gz", false),
        ("tsv.gz", false),
    ] {
        assert_eq!(is_tsv(Path::new(name)), tsv, "{name}");
    }
}
