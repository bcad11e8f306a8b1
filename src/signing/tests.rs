use std::path::Path;

use super::*;

#[test]
fn signature_files_sit_beside_the_archive() {
    let [asc, sig] = signature_paths(Path::new("/m/go1.27.3.linux-amd64.tar.gz"));
    assert_eq!(asc, Path::new("/m/go1.27.3.linux-amd64.tar.gz.asc"));
    assert_eq!(sig, Path::new("/m/go1.27.3.linux-amd64.tar.gz.sig"));
}

/// Garbage where a signature should be is refused, naming the file and
/// where the signature came from.
#[test]
fn a_signature_that_is_not_one_is_malformed() {
    let err = Verifier::new(&[], "go.tar.gz", "/m/go.tar.gz.asc", b"hello")
        .err()
        .expect("refused");
    assert!(matches!(err, SignatureError::Malformed { .. }), "{err}");
    assert!(err.to_string().contains("/m/go.tar.gz.asc"), "{err}");
}

/// A key file that is not a key is refused with a reason.
#[test]
fn a_key_file_that_is_not_a_key_is_refused() {
    let err = TrustedKey::parse(
        "keys/x.asc",
        b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nAAAA\n-----END PGP PUBLIC KEY BLOCK-----\n",
    )
    .unwrap_err();
    assert!(err.contains("not an OpenPGP public key"), "{err}");
}
