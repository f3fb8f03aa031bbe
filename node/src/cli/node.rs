//! `recip node`: run one node until Ctrl-C or SIGTERM.

use std::path::Path;

use reciprocity_node::config::NodeConfig;
use reciprocity_node::service::node::NodeHandle;

pub(crate) fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("RECIP_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,openraft=warn,libp2p=warn"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_target(false).try_init();
}

/// Resolves on Ctrl-C or SIGTERM.
pub(crate) async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler installs");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn config_http(node: &NodeHandle) -> Option<std::net::SocketAddr> {
    node.config().http_listen
}

pub(crate) async fn run(config_path: &Path) -> anyhow::Result<()> {
    init_tracing();
    let config = NodeConfig::load(config_path)?;
    let addr = config.grpc_listen;
    tracing::info!(
        club = %config.club,
        data_dir = %config.data_dir.display(),
        grpc = %addr,
        p2p = %config.p2p_listen,
        http = ?config.http_listen,
        "starting node"
    );
    let node = NodeHandle::start(config).await?;
    let status = node.status()?;
    tracing::info!(
        node_id = %reciprocity_node::consensus::node_id_hex(status.node_id),
        height = status.height,
        "node started"
    );
    // Both servers stop on the same signal.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let http = config_http(&node).map(|http_addr| {
        let node = node.clone();
        let stop = stopped(stop_rx.clone());
        tokio::spawn(async move { reciprocity_node::api::http::serve(node, http_addr, stop).await })
    });
    let grpc = reciprocity_node::api::grpc::serve(node.clone(), addr, stopped(stop_rx));
    tokio::pin!(grpc);
    tokio::select! {
        result = &mut grpc => result?,
        () = shutdown_signal() => {
            let _ = stop_tx.send(true);
            grpc.await?;
        }
    }
    let _ = stop_tx.send(true);
    if let Some(http) = http {
        http.await??;
    }
    tracing::info!("shutting down");
    node.shutdown().await;
    Ok(())
}
