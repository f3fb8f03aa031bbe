//! The club's card-issuing keys on this node: a directory of key files
//! (`*.key`, PKCS#8 PEM, mode 0600, as `recip keys new` writes them). The
//! one the ledger shows as the club's current card key signs new cards;
//! retired keys stay so that a card they signed can be printed again (the
//! same credential: Ed25519 signing is deterministic). Rotation writes a new
//! key file before the ledger hears of it, so an enrolled key is never
//! missing here. Keys are never logged; key ids and public keys are.

use std::path::{Path, PathBuf};
use std::sync::RwLock;

use reciprocity_chaincode::CardKeyId;
use reciprocity_sdk::keys::Keypair;

/// The loaded card keys and their directory.
pub struct CardKeyring {
    dir: PathBuf,
    keys: RwLock<Vec<Keypair>>,
}

impl std::fmt::Debug for CardKeyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<String> =
            self.read().iter().map(|k| CardKeyId::of(&k.public_key()).to_hex()).collect();
        f.debug_struct("CardKeyring").field("dir", &self.dir).field("key_ids", &ids).finish()
    }
}

impl CardKeyring {
    /// Loads every `*.key` file of `dir` (none when it does not exist yet).
    pub fn load(dir: &Path) -> Result<CardKeyring, String> {
        let keys = read_dir(dir)?;
        Ok(CardKeyring { dir: dir.to_owned(), keys: RwLock::new(keys) })
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Vec<Keypair>> {
        self.keys.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The key with id `id`, if this node holds it; a key file put in the
    /// directory since the start is found too.
    pub fn key(&self, id: &CardKeyId) -> Option<Keypair> {
        let find = |keys: &[Keypair]| {
            keys.iter()
                .find(|k| CardKeyId::of(&k.public_key()) == *id)
                .map(|k| Keypair::from_seed(k.secret_seed()))
        };
        if let Some(key) = find(&self.read()) {
            return Some(key);
        }
        match read_dir(&self.dir) {
            Ok(keys) => {
                let found = find(&keys);
                *self.keys.write().unwrap_or_else(std::sync::PoisonError::into_inner) = keys;
                found
            }
            Err(error) => {
                tracing::warn!(%error, "card keys could not be read again");
                None
            }
        }
    }

    /// How many keys it holds.
    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.read().is_empty()
    }

    /// Makes a new key and writes it to `<dir>/card-<key id>.key` (owner
    /// only) before returning it; the caller enrolls it on the ledger.
    pub fn generate(&self) -> Result<Keypair, String> {
        std::fs::create_dir_all(&self.dir)
            .map_err(|e| format!("creating card keys {}: {e}", self.dir.display()))?;
        let key = Keypair::generate().map_err(|e| e.to_string())?;
        let id = CardKeyId::of(&key.public_key());
        let path = self.dir.join(format!("card-{id}.key"));
        key.write_file(&path).map_err(|e| format!("writing {}: {e}", path.display()))?;
        tracing::info!(key_id = %id, file = %path.display(), "card key made");
        self.keys
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(Keypair::from_seed(key.secret_seed()));
        Ok(key)
    }
}

/// Every `*.key` file of `dir`, in name order (none when it does not exist).
fn read_dir(dir: &Path) -> Result<Vec<Keypair>, String> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(format!("card keys {}: {error}", dir.display())),
    };
    let mut paths: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "key"))
        .collect();
    paths.sort();
    let mut keys = Vec::new();
    for path in paths {
        let key =
            Keypair::read_file(&path).map_err(|e| format!("card key {}: {e}", path.display()))?;
        tracing::info!(key_id = %CardKeyId::of(&key.public_key()), file = %path.display(), "card key loaded");
        keys.push(key);
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_is_kept_on_disk_and_found_by_its_id_after_a_reload() {
        let dir = tempfile::tempdir().expect("tempdir");
        let keys_dir = dir.path().join("card-keys");
        let ring = CardKeyring::load(&keys_dir).expect("empty ring");
        assert!(ring.is_empty());
        let key = ring.generate().expect("generate");
        let id = CardKeyId::of(&key.public_key());
        assert_eq!(ring.key(&id).map(|k| k.public_key()), Some(key.public_key()));
        let reloaded = CardKeyring::load(&keys_dir).expect("reload");
        assert_eq!(reloaded.len(), 1);
        assert_eq!(reloaded.key(&id).map(|k| k.public_key()), Some(key.public_key()));
        assert!(reloaded.key(&CardKeyId([0; 8])).is_none());
        let shown = format!("{reloaded:?}");
        assert!(shown.contains(&id.to_hex()) && !shown.contains(&hex::encode(key.secret_seed())));
    }
}
