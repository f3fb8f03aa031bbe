//! Reciprocity's benchmark harness: the `recip-bench` binary and what its
//! drivers and the peers harness (`tests/peers`) share.
//!
//! The drivers run the `recip` binary as operators run it (one process per
//! node, real RocksDB, libp2p and fsync) and print one JSON line per run;
//! their figures go to `docs/BENCHMARKS.md`. This library holds
//! [`latency`]: latency percentiles from an HDR histogram, so that every
//! driver and the peers they are compared with count the same way.

pub mod latency;
