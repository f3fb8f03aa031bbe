//! The club's identity keys the node signs with on behalf of its staff.
//!
//! The keystore is a directory of key files (`*.key`, PKCS#8 PEM, as `recip
//! keys new` writes them). A staff action that needs a role is signed by a
//! key of this node's club that the ledger shows active with that role,
//! preferring the key with the fewest roles (a front-desk key rather than
//! the all-powerful club key). Keys are never logged; only public keys are.

use std::path::Path;

use reciprocity_chaincode::{ClubId, Role, StateRead};
use reciprocity_sdk::keys::Keypair;

/// The loaded keys.
pub struct Keystore {
    keys: Vec<Keypair>,
}

impl std::fmt::Debug for Keystore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let public: Vec<String> = self.keys.iter().map(|k| k.public_key().to_hex()).collect();
        f.debug_struct("Keystore").field("public_keys", &public).finish()
    }
}

impl Keystore {
    /// Loads every `*.key` file of `dir` (none when it does not exist).
    pub fn load(dir: &Path) -> Result<Keystore, String> {
        let mut keys = Vec::new();
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                tracing::warn!(dir = %dir.display(), "no keystore: staff cannot act on-chain through this node");
                return Ok(Keystore { keys });
            }
            Err(error) => return Err(format!("keystore {}: {error}", dir.display())),
        };
        let mut paths: Vec<_> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "key"))
            .collect();
        paths.sort();
        for path in paths {
            let key = Keypair::read_file(&path)
                .map_err(|e| format!("keystore key {}: {e}", path.display()))?;
            tracing::info!(public_key = %key.public_key(), file = %path.display(), "keystore key loaded");
            keys.push(key);
        }
        Ok(Keystore { keys })
    }

    /// A keystore holding `keys` (tests).
    pub fn from_keys(keys: Vec<Keypair>) -> Keystore {
        Keystore { keys }
    }

    /// How many keys it holds.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether it holds no key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The key to sign an action of `club` needing `role`: active on the
    /// ledger, of that club, with the role; the one with the fewest roles.
    pub fn signer_for(
        &self,
        view: &dyn StateRead,
        club: &ClubId,
        role: Role,
    ) -> reciprocity_chaincode::Result<Option<&Keypair>> {
        let mut best: Option<(usize, &Keypair)> = None;
        for key in &self.keys {
            let public = key.public_key();
            let roles_count =
                if let Some(identity) = reciprocity_chaincode::query::identity(view, &public)? {
                    if !identity.is_active()
                        || &identity.club_id != club
                        || !identity.roles.contains(role)
                    {
                        continue;
                    }
                    identity.roles.iter().count()
                } else if reciprocity_chaincode::query::club(view, club)?
                    .is_some_and(|c| c.spec.club_key == public)
                {
                    Role::ALL.len() + 1 // the club key: last resort
                } else {
                    continue;
                };
            if best.is_none_or(|(count, _)| roles_count < count) {
                best = Some((roles_count, key));
            }
        }
        Ok(best.map(|(_, key)| key))
    }
}
