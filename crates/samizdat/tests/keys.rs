//! Keys: files are private, the root key can go offline, co-publishers' timestamp keys work.

use crate::util::*;
use std::os::unix::fs::PermissionsExt;

#[test]
fn key_files_are_private_pkcs8() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = tmp.path().join("a");
    run(&["init", p(&archive), "--timestamp-keys", "3"], 0);
    let mut names = Vec::new();
    for entry in std::fs::read_dir(archive.join("keys")).expect("keys") {
        let entry = entry.expect("entry");
        let mode = entry.metadata().expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", entry.path().display());
        let der = std::fs::read(entry.path()).expect("read");
        // PKCS#8 v1 ed25519: SEQUENCE, version 0, AlgorithmIdentifier 1.3.101.112.
        assert_eq!(der[0], 0x30, "{}", entry.path().display());
        assert!(der.windows(5).any(|w| w == [0x06, 0x03, 0x2b, 0x65, 0x70]));
        names.push(entry.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    assert_eq!(
        names,
        [
            "root-1.der",
            "snapshot.der",
            "targets.der",
            "timestamp-1.der",
            "timestamp-2.der",
            "timestamp-3.der"
        ]
    );
    // init refuses to overwrite an archive.
    let out = run(&["init", p(&archive)], 1);
    assert_says(&stderr(&out), "not empty");
}

#[test]
fn offline_root_and_co_publisher_timestamp() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = sample_release(tmp.path(), &["--timestamp-keys", "2"]);
    let offline = tmp.path().join("usb-stick");
    run(
        &["key", "export-root", p(&archive), p(&offline), "--remove"],
        0,
    );
    assert!(offline.join("root-1.der").exists());
    assert!(!archive.join("keys/root-1.der").exists());
    // Releases need no root key.
    std::fs::write(tmp.path().join("n.txt"), "after the root went offline\n").expect("write");
    run(&["add", p(&archive), p(&tmp.path().join("n.txt"))], 0);
    run(&["release", p(&archive)], 0);
    // A co-publisher refreshes the timestamp with the second timestamp key.
    let key2 = tmp.path().join("timestamp-2.der");
    std::fs::copy(archive.join("keys/timestamp-2.der"), &key2).expect("copy");
    run(&["timestamp", p(&archive), "--key", p(&key2)], 0);
    verify_archive(&archive, &[], 0);
}
