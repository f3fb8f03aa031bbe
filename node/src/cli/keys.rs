//! `recip keys`: create and show key files.

use std::path::PathBuf;

use clap::Subcommand;
use reciprocity_sdk::keys::Keypair;

use super::say;

#[derive(Debug, Subcommand)]
pub(crate) enum KeysCommand {
    /// Create a new Ed25519 key file (PKCS#8 PEM, mode 0600).
    New {
        /// Where to write it (must not exist).
        #[arg(long)]
        out: PathBuf,
    },
    /// Show the public key of a key file.
    Show {
        /// The key file.
        file: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

pub(crate) fn run(command: KeysCommand) -> anyhow::Result<()> {
    match command {
        KeysCommand::New { out } => {
            let key = Keypair::generate()?;
            key.write_file(&out)?;
            say(format_args!("wrote {} (public key {})", out.display(), key.public_key()));
        }
        KeysCommand::Show { file, json } => {
            let key = Keypair::read_file(&file)?;
            if json {
                say(serde_json::json!({ "file": file, "public_key": key.public_key().to_hex() }));
            } else {
                say(key.public_key());
            }
        }
    }
    Ok(())
}
