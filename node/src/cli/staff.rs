//! `recip staff add`: create a staff account of a node's club directly in
//! its index database (the first admin of a new node comes from here; later
//! ones can be created over the REST API). The password is read from an
//! environment variable, or generated and printed once.

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use reciprocity_node::config::NodeConfig;
use reciprocity_node::index::IndexStore;
use reciprocity_node::records::Records;
use reciprocity_node::records::staff::create_account;

use super::say;

#[derive(Debug, Subcommand)]
pub(crate) enum StaffCommand {
    /// Create a staff account.
    Add {
        /// The node's config file (its index_url holds the accounts).
        #[arg(long)]
        config: PathBuf,
        /// Login name (a-z, 0-9, '.', '_', '-').
        #[arg(long)]
        username: String,
        /// A role: admin, registrar, front_desk, governor (repeat for several).
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        /// Environment variable holding the password (else one is generated and printed).
        #[arg(long)]
        password_env: Option<String>,
    },
}

pub(crate) async fn run(command: StaffCommand) -> anyhow::Result<()> {
    let StaffCommand::Add { config, username, roles, password_env } = command;
    let config = NodeConfig::load(&config)?;
    let url = config
        .index_url
        .clone()
        .context("the node config has no index_url (staff accounts live in the index database)")?;
    let (password, generated) = match password_env {
        Some(name) => (
            std::env::var(&name)
                .with_context(|| format!("environment variable {name} is not set"))?,
            false,
        ),
        None => (reciprocity_node::provision::club::generate_password()?, true),
    };
    let store = IndexStore::connect(&url).await?;
    let records = Records::new(store.clone());
    let created = create_account(&records, &username, &password, &roles)
        .await
        .map_err(|e| anyhow::anyhow!(e))?;
    store.close().await;
    anyhow::ensure!(created, "username {username:?} is taken");
    say(format_args!(
        "created staff account {username} of club {} ({})",
        config.club,
        roles.join(", ")
    ));
    if generated {
        say(format_args!("password: {password}"));
    }
    Ok(())
}
