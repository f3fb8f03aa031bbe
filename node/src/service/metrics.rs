//! Prometheus metrics of a node: counters and histograms updated on the
//! submit and commit paths, gauges read from the node's status at scrape
//! time.

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts,
    Registry, TextEncoder,
};

/// The node's metrics registry.
#[derive(Debug, Clone)]
pub struct NodeMetrics {
    registry: Registry,
    /// Submissions by outcome: `committed`, `accepted`, `timed_out`, `refused`, `unavailable`, `busy`.
    pub submissions: IntCounterVec,
    /// Submit-to-commit latency of waited submissions.
    pub submit_commit_seconds: Histogram,
    /// Blocks applied.
    pub blocks_applied: IntCounter,
    /// Transactions applied (any code).
    pub txs_applied: IntCounter,
    /// HTTP request latency by method, route template and status.
    pub http_request_seconds: HistogramVec,
    height: IntGauge,
    mempool_txs: IntGauge,
    raft_term: IntGauge,
    is_leader: IntGauge,
    connected_peers: IntGauge,
    index_lag_blocks: IntGauge,
    index_stuck_height: IntGauge,
}

impl Default for NodeMetrics {
    fn default() -> Self {
        NodeMetrics::new()
    }
}

impl NodeMetrics {
    /// A fresh registry with every metric registered.
    pub fn new() -> NodeMetrics {
        let registry = Registry::new();
        let submissions = IntCounterVec::new(
            Opts::new("recip_submissions_total", "Transactions submitted to this node, by outcome"),
            &["outcome"],
        )
        .expect("valid metric");
        let submit_commit_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "recip_submit_commit_seconds",
                "Time from submission to commit, for submitters that wait",
            )
            .buckets(vec![0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0]),
        )
        .expect("valid metric");
        let http_request_seconds = HistogramVec::new(
            HistogramOpts::new("recip_http_request_seconds", "HTTP request latency").buckets(vec![
                0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 5.0,
            ]),
            &["method", "route", "status"],
        )
        .expect("valid metric");
        let counter = |name: &str, help: &str| IntCounter::new(name, help).expect("valid metric");
        let gauge = |name: &str, help: &str| IntGauge::new(name, help).expect("valid metric");
        let metrics = NodeMetrics {
            submissions,
            submit_commit_seconds,
            http_request_seconds,
            blocks_applied: counter("recip_blocks_applied_total", "Blocks applied to the ledger"),
            txs_applied: counter("recip_txs_applied_total", "Transactions applied (any code)"),
            height: gauge("recip_ledger_height", "Height of the last applied block"),
            mempool_txs: gauge("recip_mempool_txs", "Transactions waiting in the mempool"),
            raft_term: gauge("recip_raft_term", "Current Raft term"),
            is_leader: gauge("recip_raft_is_leader", "1 when this node leads"),
            connected_peers: gauge("recip_p2p_connected_peers", "Peers with an open connection"),
            index_lag_blocks: gauge(
                "recip_index_lag_blocks",
                "Applied blocks not yet in the SQL index (-1 without an index)",
            ),
            index_stuck_height: gauge(
                "recip_index_stuck_height",
                "A block the SQL index cannot project (0 when none)",
            ),
            registry,
        };
        let collectors: [Box<dyn prometheus::core::Collector>; 12] = [
            Box::new(metrics.http_request_seconds.clone()),
            Box::new(metrics.index_stuck_height.clone()),
            Box::new(metrics.submissions.clone()),
            Box::new(metrics.submit_commit_seconds.clone()),
            Box::new(metrics.blocks_applied.clone()),
            Box::new(metrics.txs_applied.clone()),
            Box::new(metrics.height.clone()),
            Box::new(metrics.mempool_txs.clone()),
            Box::new(metrics.raft_term.clone()),
            Box::new(metrics.is_leader.clone()),
            Box::new(metrics.connected_peers.clone()),
            Box::new(metrics.index_lag_blocks.clone()),
        ];
        for collector in collectors {
            metrics.registry.register(collector).expect("metric names are unique");
        }
        metrics
    }

    /// Counts one submission outcome.
    pub fn submission(&self, outcome: &str) {
        self.submissions.with_label_values(&[outcome]).inc();
    }

    /// The Prometheus text exposition, with the gauges set to `gauges`.
    pub fn render(&self, gauges: &Gauges) -> String {
        let as_i64 = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        self.height.set(as_i64(gauges.height));
        self.mempool_txs.set(as_i64(gauges.mempool_txs));
        self.raft_term.set(as_i64(gauges.raft_term));
        self.is_leader.set(i64::from(gauges.is_leader));
        self.connected_peers.set(as_i64(gauges.connected_peers));
        self.index_lag_blocks.set(gauges.index_lag_blocks.map_or(-1, as_i64));
        self.index_stuck_height.set(as_i64(gauges.index_stuck_height.unwrap_or(0)));
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .expect("text encoding into a Vec succeeds");
        String::from_utf8(out).expect("the text format is UTF-8")
    }
}

/// The values of the gauges, read from the node's status when metrics are
/// scraped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Gauges {
    /// Ledger height.
    pub height: u64,
    /// Transactions waiting in the mempool.
    pub mempool_txs: u64,
    /// Current Raft term.
    pub raft_term: u64,
    /// Whether this node leads.
    pub is_leader: bool,
    /// Peers with an open connection.
    pub connected_peers: u64,
    /// Blocks applied but not yet indexed (None: no index; exported as -1).
    pub index_lag_blocks: Option<u64>,
    /// A block the index cannot project (None: none; exported as 0).
    pub index_stuck_height: Option<u64>,
}
