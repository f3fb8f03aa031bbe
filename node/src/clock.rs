//! The wall clock the node reads: the leader's block stamp, admission's
//! "now", the front-desk check's "now" and the creation time of
//! transactions the REST API signs. The chaincode never reads it: it sees
//! only the time in the block header.

/// The wall clock in Unix ms (the leader's block stamp, admission's "now",
/// the front-desk check's "now" and the creation time of transactions the
/// REST API signs).
///
/// `RECIP_TEST_CLOCK_OFFSET_MS` (read once per process) moves this clock
/// forward: a test hook for calendar rules (monthly caps) with real
/// processes. Every node of a network must run with the same offset; never
/// set it in production.
pub fn now_ms() -> u64 {
    static OFFSET_MS: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    let offset_ms = *OFFSET_MS.get_or_init(|| {
        std::env::var("RECIP_TEST_CLOCK_OFFSET_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(0)
    });
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
        .saturating_add(offset_ms)
}
