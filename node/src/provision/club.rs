//! A club made ready for staff on a local network: its keystore of role
//! keys (the keys the REST API signs with, enrolled on-chain once by the
//! club key) and one staff account per role, whose generated passwords are
//! kept in `<club dir>/staff.json` (readable by its owner only).

use std::path::Path;

use reciprocity_sdk::client::NodeClient;
use reciprocity_sdk::keys::Keypair;
use reciprocity_sdk::tx::body;
use reciprocity_sdk::wire;

use super::{OrFail, fail};
use crate::config::NodeConfig;
use crate::error::Result;
use crate::index::IndexStore;
use crate::records::{Records, staff};

/// The staff accounts made for each club, one per role: (username, role).
pub const STAFF_ROLES: [(&str, &str); 4] = [
    ("admin", "admin"),
    ("registrar", "registrar"),
    ("frontdesk", "front_desk"),
    ("governor", "governor"),
];

/// A staff login made for a club.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct StaffLogin {
    /// The login name.
    pub username: String,
    /// Its generated password.
    pub password: String,
    /// Its one role (`admin`, `registrar`, `front_desk`, `governor`).
    pub role: String,
}

/// The logins [`prepare_club`] kept in `club_dir`, for `role`.
pub fn staff_login(club_dir: &Path, role: &str) -> Result<StaffLogin> {
    let path = club_dir.join("staff.json");
    let text = std::fs::read_to_string(&path).or_fail(|| format!("reading {}", path.display()))?;
    let logins: Vec<StaffLogin> =
        serde_json::from_str(&text).or_fail(|| format!("reading {}", path.display()))?;
    logins
        .into_iter()
        .find(|l| l.role == role)
        .ok_or_else(|| fail(format!("{} holds no {role} login", path.display())))
}

/// A random password of 24 characters from an unambiguous alphabet.
pub fn generate_password() -> Result<String> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let bytes = reciprocity_sdk::random_bytes::<24>().or_fail(|| "generating a password".into())?;
    Ok(bytes.iter().map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char).collect())
}

/// Creates (once) the club's keystore of role keys and its staff accounts
/// in the database of the config's `index_url`; returns the logins. A
/// database that already holds an account of the same name with another
/// password (left by another devnet) is refused: its logins would not work.
pub async fn prepare_club(club_dir: &Path, config: &NodeConfig) -> Result<Vec<StaffLogin>> {
    let keystore = &config.api.keystore_dir;
    std::fs::create_dir_all(keystore)
        .or_fail(|| format!("creating the keystore {}", keystore.display()))?;
    for (_, role) in STAFF_ROLES {
        let path = keystore.join(format!("{role}.key"));
        if !path.exists() {
            Keypair::generate()
                .and_then(|key| key.write_file(&path))
                .or_fail(|| format!("writing {}", path.display()))?;
        }
    }
    // The card-issuing key, made before the node starts so that its keyring
    // holds it; enrolled with the role keys.
    let card_keys = &config.api.card_keys_dir;
    let card_key_path = card_keys.join("card-first.key");
    if !card_key_path.exists() {
        std::fs::create_dir_all(card_keys)
            .or_fail(|| format!("creating the card keys {}", card_keys.display()))?;
        Keypair::generate()
            .and_then(|key| key.write_file(&card_key_path))
            .or_fail(|| format!("writing {}", card_key_path.display()))?;
    }
    let logins_path = club_dir.join("staff.json");
    let known: Option<Vec<StaffLogin>> = if logins_path.exists() {
        let text = std::fs::read_to_string(&logins_path)
            .or_fail(|| format!("reading {}", logins_path.display()))?;
        Some(serde_json::from_str(&text).or_fail(|| format!("reading {}", logins_path.display()))?)
    } else {
        None
    };
    let url = config.index_url.clone().ok_or_else(|| {
        fail("the club's node config has no index_url (staff accounts live there)")
    })?;
    let shown = without_password(&url);
    let store = IndexStore::connect(&url).await.or_fail(|| format!("opening {shown}"))?;
    let records = Records::new(store.clone());
    let logins = match known {
        // The accounts exist wherever the logins were made; a database not
        // used before (`--index-url`) gets them too. The file is kept owner
        // only, whatever mode an earlier version left it with.
        Some(logins) => {
            let text =
                serde_json::to_string_pretty(&logins).or_fail(|| "listing the logins".into())?;
            write_private(&logins_path, &text)?;
            logins
        }
        None => {
            let mut logins = Vec::new();
            for (username, role) in STAFF_ROLES {
                logins.push(StaffLogin {
                    username: username.to_owned(),
                    password: generate_password()?,
                    role: role.to_owned(),
                });
            }
            // Kept before any account is made: a crash in between leaves
            // accounts whose passwords are known.
            let text =
                serde_json::to_string_pretty(&logins).or_fail(|| "listing the logins".into())?;
            write_private(&logins_path, &text)?;
            logins
        }
    };
    // Accounts of the same names that an earlier run did not make (left by
    // another devnet) have other passwords, and the logins would not work:
    // refused before any account is made.
    let mut missing = Vec::new();
    for login in &logins {
        let account = records
            .staff_get(&login.username)
            .await
            .or_fail(|| format!("reading staff account {}", login.username))?;
        let Some(account) = account else {
            missing.push(login);
            continue;
        };
        let password = login.password.clone();
        let ours = tokio::task::spawn_blocking(move || {
            staff::verify_password(&password, &account.password_hash)
        })
        .await
        .or_fail(|| "checking a password".into())?;
        if !ours {
            store.close().await;
            return Err(fail(format!(
                "the index database {shown} already holds a staff account {:?} that this devnet did not make (left by another devnet?); drop that database or pick another --index-url name",
                login.username
            )));
        }
    }
    for login in missing {
        let created = staff::create_account(
            &records,
            &login.username,
            &login.password,
            std::slice::from_ref(&login.role),
        )
        .await
        .or_fail(|| format!("creating staff account {}", login.username))?;
        if !created {
            store.close().await;
            return Err(fail(format!(
                "staff account {:?} appeared while this devnet was making it (another devnet on the same database?)",
                login.username
            )));
        }
    }
    store.close().await;
    Ok(logins)
}

/// Enrolls the keystore's role keys and the first card key on-chain
/// (signed by the club key in `club_dir/club.key`), once each: a marker
/// file in each directory remembers it.
pub async fn enroll_keystore(
    client: &mut NodeClient,
    chain: &str,
    club_dir: &Path,
    config: &NodeConfig,
) -> Result<()> {
    let club_key_path = club_dir.join("club.key");
    let club_key = Keypair::read_file(&club_key_path)
        .or_fail(|| format!("reading {}", club_key_path.display()))?;
    let card_marker = config.api.card_keys_dir.join("enrolled");
    let card_key_path = config.api.card_keys_dir.join("card-first.key");
    if !card_marker.exists() && card_key_path.exists() {
        let key = Keypair::read_file(&card_key_path)
            .or_fail(|| format!("reading {}", card_key_path.display()))?;
        let club = reciprocity_chaincode::ClubId::parse(&config.club)
            .ok_or_else(|| fail(format!("club {:?} is not a club id", config.club)))?;
        let enrollment = body::enroll_card_key(&key, chain, &club);
        super::process::submit_committed(client, chain, &club_key, enrollment).await?;
        std::fs::write(&card_marker, "first card key enrolled on-chain\n")
            .or_fail(|| format!("writing {}", card_marker.display()))?;
    }
    let marker = config.api.keystore_dir.join("enrolled");
    if marker.exists() {
        return Ok(());
    }
    for (_, role) in STAFF_ROLES {
        let path = config.api.keystore_dir.join(format!("{role}.key"));
        let key = Keypair::read_file(&path).or_fail(|| format!("reading {}", path.display()))?;
        let wire_role = match role {
            "admin" => wire::Role::Admin,
            "registrar" => wire::Role::Registrar,
            "front_desk" => wire::Role::FrontDesk,
            _ => wire::Role::Governor,
        };
        let enrollment = body::enroll_identity(&key.public_key(), &[wire_role]);
        super::process::submit_committed(client, chain, &club_key, enrollment).await?;
    }
    std::fs::write(&marker, "keystore keys enrolled on-chain\n")
        .or_fail(|| format!("writing {}", marker.display()))
}

/// Writes a file readable by its owner only (it holds passwords).
pub fn write_private(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.create(true).write(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options.open(path).or_fail(|| format!("writing {}", path.display()))?;
    // An existing file keeps its mode when opened: owner only before writing.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .or_fail(|| format!("restricting {}", path.display()))?;
    }
    file.write_all(text.as_bytes()).or_fail(|| format!("writing {}", path.display()))
}

/// `url` with the password of its user info, if any, replaced by `***`.
pub fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let (authority, tail) = match rest.find('/') {
        Some(at) => rest.split_at(at),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((user_info, host)) if user_info.contains(':') => {
            let user = user_info.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}{tail}")
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_index_url_is_shown_without_its_password() {
        assert_eq!(
            without_password("postgres://app:s3cret@db:5432/recip_harbour"),
            "postgres://app:***@db:5432/recip_harbour"
        );
        assert_eq!(without_password("postgres://postgres@db/x"), "postgres://postgres@db/x");
        assert_eq!(without_password("sqlite:///tmp/index.db"), "sqlite:///tmp/index.db");
    }

    #[test]
    fn generated_passwords_are_long_differ_and_use_the_alphabet() {
        let a = generate_password().expect("password");
        let b = generate_password().expect("password");
        assert_eq!(a.chars().count(), 24);
        assert_ne!(a, b);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric() && !"01ilIoO".contains(c)), "{a}");
    }

    #[cfg(unix)]
    #[test]
    fn a_private_file_is_readable_by_its_owner_only_even_when_it_existed() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("staff.json");
        write_private(&path, "[]").expect("write");
        let mode = std::fs::metadata(&path).expect("metadata").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let existing = dir.path().join("node.toml");
        std::fs::write(&existing, "club = \"harbour\"\n").expect("write");
        std::fs::set_permissions(&existing, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        write_private(&existing, "index_url = \"postgres://u:secret@db/x\"\n").expect("write");
        let mode = std::fs::metadata(&existing).expect("metadata").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
