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
