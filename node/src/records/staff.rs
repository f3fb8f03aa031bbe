//! Staff accounts of this node's club: who may log in to the REST API and
//! the web app, with which roles. Passwords are stored as Argon2id hashes
//! and never returned.

use reciprocity_chaincode::{Role, Roles};

use super::{Records, Result, db};
use crate::clock::now_ms;
use crate::index::store::with_pool;
use crate::words::quote;

/// A staff account of this node's club.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StaffAccount {
    /// Login name.
    pub username: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Role names, comma-separated (`admin,registrar,front_desk,governor`).
    pub roles: String,
    /// A disabled account cannot log in.
    pub disabled: bool,
    /// Creation time (Unix ms).
    pub created_at_ms: i64,
}

impl StaffAccount {
    /// The account's roles as a set (an error names a stored name that is
    /// no role).
    pub fn role_set(&self) -> std::result::Result<Roles, String> {
        parse_roles(&self.roles.split(',').map(str::to_owned).collect::<Vec<_>>())
    }
}

impl Records {
    /// Creates a staff account; `false` when the username is taken.
    pub async fn staff_insert(&self, account: &StaffAccount) -> Result<bool> {
        let sql = "INSERT INTO staff_accounts (username, password_hash, roles, disabled, created_at_ms) \
                   VALUES ($1, $2, $3, $4, $5) ON CONFLICT (username) DO NOTHING";
        let inserted = with_pool!(&self.store, pool => sqlx::query(sql)
            .bind(&account.username)
            .bind(&account.password_hash)
            .bind(&account.roles)
            .bind(account.disabled)
            .bind(account.created_at_ms)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))
        .map_err(db)?;
        Ok(inserted == 1)
    }

    /// A staff account by username.
    pub async fn staff_get(&self, username: &str) -> Result<Option<StaffAccount>> {
        let sql = "SELECT username, password_hash, roles, disabled, created_at_ms FROM staff_accounts WHERE username = $1";
        with_pool!(&self.store, pool => sqlx::query_as(sql).bind(username).fetch_optional(pool).await)
            .map_err(db)
    }

    /// Every staff account, by username.
    pub async fn staff_list(&self) -> Result<Vec<StaffAccount>> {
        let sql = "SELECT username, password_hash, roles, disabled, created_at_ms FROM staff_accounts ORDER BY username";
        with_pool!(&self.store, pool => sqlx::query_as(sql).fetch_all(pool).await).map_err(db)
    }

    /// Changes an account's roles, disabled flag and (when given) password
    /// hash; `false` when there is no such account.
    pub async fn staff_update(
        &self,
        username: &str,
        roles: &str,
        disabled: bool,
        password_hash: Option<&str>,
    ) -> Result<bool> {
        let sql = "UPDATE staff_accounts SET roles = $1, disabled = $2, \
                   password_hash = COALESCE($3, password_hash) WHERE username = $4";
        let updated = with_pool!(&self.store, pool => sqlx::query(sql)
            .bind(roles)
            .bind(disabled)
            .bind(password_hash)
            .bind(username)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))
        .map_err(db)?;
        Ok(updated == 1)
    }
}

/// Checks a username: 1-64 of `a-z 0-9 . _ -`.
pub fn check_username(username: &str) -> Result<(), String> {
    // Not starting with a dot (`.`, `..` are path segments), nor a word
    // the web app's routes use.
    let ok = !username.is_empty()
        && username.len() <= 64
        && !username.starts_with('.')
        && username != "card-keys"
        && username
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "username {} must be 1-64 of a-z, 0-9, '.', '_', '-', not starting with '.' (and not card-keys)",
            quote(username)
        ))
    }
}

/// Creates an account (used by the API, `recip staff add` and the devnet);
/// `false` when the username is taken.
pub async fn create_account(
    records: &Records,
    username: &str,
    password: &str,
    roles: &[String],
) -> Result<bool, String> {
    check_username(username)?;
    check_password_strength(password)?;
    let roles = parse_roles(roles)?;
    let password = password.to_owned();
    let hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| e.to_string())??;
    let account = StaffAccount {
        username: username.to_owned(),
        password_hash: hash,
        roles: roles_text(roles),
        disabled: false,
        created_at_ms: i64::try_from(now_ms()).unwrap_or(i64::MAX),
    };
    records.staff_insert(&account).await.map_err(|e| e.to_string())
}

/// Parses `admin,front_desk` (also accepts `front-desk`).
pub fn parse_roles(names: &[String]) -> Result<Roles, String> {
    let mut roles = Vec::new();
    for name in names {
        let role =
            Role::ALL.into_iter().find(|r| r.name() == name.trim().replace('-', "_")).ok_or_else(
                || format!("unknown role {} (admin, registrar, front_desk, governor)", quote(name)),
            )?;
        if !roles.contains(&role) {
            roles.push(role);
        }
    }
    Roles::from_roles(&roles).ok_or_else(|| "at least one role is needed".to_owned())
}

/// Role names as stored (`admin,front_desk`).
pub fn roles_text(roles: Roles) -> String {
    roles.iter().map(Role::name).collect::<Vec<_>>().join(",")
}

/// Hashes a password with Argon2id and a random salt (PHC string).
pub fn hash_password(password: &str) -> Result<String, String> {
    use argon2::password_hash::PasswordHasher;
    argon2::Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| format!("hashing the password: {e}"))
}

/// Whether `password` matches the PHC string `hash`.
pub fn verify_password(password: &str, hash: &str) -> bool {
    use argon2::password_hash::PasswordVerifier;
    argon2::password_hash::phc::PasswordHash::new(hash).is_ok_and(|parsed| {
        argon2::Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok()
    })
}

/// Checks a new password: 12 to 256 characters.
pub fn check_password_strength(password: &str) -> Result<(), String> {
    let chars = password.chars().count();
    if chars < 12 {
        return Err("the password must have at least 12 characters".to_owned());
    }
    if chars > 256 {
        return Err("the password must have at most 256 characters".to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_against_their_own_hash() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("correct horse batterY", &hash));
        assert!(!verify_password("x", "not a phc string"));
    }

    #[test]
    fn roles_parse_by_name_and_refuse_unknown_ones() {
        let roles = parse_roles(&["front-desk".into(), "admin".into()]).unwrap();
        assert_eq!(roles_text(roles), "admin,front_desk");
        assert!(parse_roles(&["janitor".into()]).unwrap_err().contains("janitor"));
        assert!(parse_roles(&[]).is_err());
    }
}
