use super::*;

fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn a_dropped_output_leaves_the_old_file_and_no_temporary() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.txt");
    fs::write(&out, "old").unwrap();
    let mut d = Destination::file(&out).unwrap();
    d.writer().write_all(b"new").unwrap();
    assert_eq!(entries(dir.path()).len(), 2);
    drop(d);
    assert_eq!(entries(dir.path()), ["out.txt"]);
    assert_eq!(fs::read_to_string(&out).unwrap(), "old");
    assert!(pending().is_empty());
}

#[test]
fn a_symlink_is_followed_and_the_mode_kept() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real.txt");
    fs::write(&real, "old").unwrap();
    fs::set_permissions(&real, Permissions::from_mode(0o640)).unwrap();
    let link = dir.path().join("link.txt");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let mut d = Destination::file(&link).unwrap();
    d.writer().write_all(b"new").unwrap();
    d.commit().unwrap();
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(fs::read_to_string(&real).unwrap(), "new");
    let mode = fs::metadata(&real).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);
}

#[test]
fn a_fifo_is_written_directly_not_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe");
    let ok = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        return;
    }
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || fs::read_to_string(fifo).unwrap())
    };
    let mut d = Destination::file(&fifo).unwrap();
    d.writer().write_all(b"1.5\n").unwrap();
    d.commit().unwrap();
    assert_eq!(reader.join().unwrap(), "1.5\n");
    assert!(fs::metadata(&fifo).unwrap().file_type().is_fifo());
    assert_eq!(entries(dir.path()), ["pipe"]);
}

#[test]
fn a_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let e = Destination::file(dir.path()).err().unwrap().to_string();
    assert!(e.contains("is a directory"), "{e}");
}
