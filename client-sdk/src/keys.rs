//! Ed25519 keys and key files.
//!
//! Key files are PKCS#8 PEM (the format `openssl genpkey -algorithm ed25519`
//! writes). They are created with mode 0600, and reading one that group or
//! others may read is refused, so a secret never sits in a world-readable file.
//! Secrets are never printed: `Keypair`'s `Debug` shows the public key only.

use std::fs;
use std::io::Write;
use std::path::Path;

use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey, spki::der::pem::LineEnding};
use ed25519_dalek::{Signer, SigningKey};
use reciprocity_chaincode::PublicKey;

use crate::{Result, SdkError, random_bytes};

/// A signing key and its public key.
#[derive(Clone)]
pub struct Keypair {
    signing: SigningKey,
}

impl std::fmt::Debug for Keypair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Keypair({})", self.public_key())
    }
}

impl Keypair {
    /// A new key from the operating system's random source.
    pub fn generate() -> Result<Keypair> {
        Ok(Keypair::from_seed(random_bytes::<32>()?))
    }

    /// The key with this 32-byte secret seed (for tests and derived keys).
    pub fn from_seed(seed: [u8; 32]) -> Keypair {
        Keypair { signing: SigningKey::from_bytes(&seed) }
    }

    /// The public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.signing.verifying_key().to_bytes())
    }

    /// The 32-byte secret seed. Handle with care: never log it.
    pub fn secret_seed(&self) -> [u8; 32] {
        self.signing.to_bytes()
    }

    /// Signs raw bytes.
    pub fn sign_bytes(&self, message: &[u8]) -> [u8; 64] {
        self.signing.sign(message).to_bytes()
    }

    /// Writes the key to `path` as PKCS#8 PEM with mode 0600. Refuses to
    /// overwrite an existing file.
    pub fn write_file(&self, path: &Path) -> Result<()> {
        let io = |source| SdkError::KeyFileIo { path: path.display().to_string(), source };
        let pem = self.signing.to_pkcs8_pem(LineEnding::LF).map_err(|e| {
            SdkError::KeyFileFormat { path: path.display().to_string(), reason: e.to_string() }
        })?;
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(path).map_err(io)?;
        file.write_all(pem.as_bytes()).map_err(io)?;
        file.sync_all().map_err(io)
    }

    /// Reads a key file written by [`Keypair::write_file`] (or openssl).
    pub fn read_file(path: &Path) -> Result<Keypair> {
        let shown = path.display().to_string();
        let io = |source| SdkError::KeyFileIo { path: shown.clone(), source };
        let metadata = fs::metadata(path).map_err(io)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = metadata.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(SdkError::KeyFileTooOpen { path: shown, mode });
            }
        }
        #[cfg(not(unix))]
        let _ = metadata;
        let pem = fs::read_to_string(path).map_err(io)?;
        let signing = SigningKey::from_pkcs8_pem(&pem)
            .map_err(|e| SdkError::KeyFileFormat { path: shown, reason: e.to_string() })?;
        Ok(Keypair { signing })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_file_round_trips_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("club.key");
        let key = Keypair::generate().unwrap();
        key.write_file(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        assert_eq!(Keypair::read_file(&path).unwrap().public_key(), key.public_key());
        assert!(key.write_file(&path).is_err(), "must not overwrite");
    }

    #[cfg(unix)]
    #[test]
    fn world_readable_key_file_is_refused_with_the_fix_in_the_message() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("open.key");
        Keypair::generate().unwrap().write_file(&path).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let err = Keypair::read_file(&path).unwrap_err().to_string();
        assert!(err.contains("chmod 600"), "{err}");
    }

    #[test]
    fn garbage_key_file_is_a_format_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.key");
        fs::write(&path, "not a key").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        }
        assert!(matches!(Keypair::read_file(&path), Err(SdkError::KeyFileFormat { .. })));
    }

    #[test]
    fn debug_does_not_show_the_secret() {
        let key = Keypair::from_seed([42; 32]);
        let shown = format!("{key:?}");
        assert!(!shown.contains(&hex::encode([42u8; 32])));
        assert!(shown.contains(&key.public_key().to_hex()));
    }
}
