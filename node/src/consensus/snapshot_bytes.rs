//! Snapshot bytes that replication streams share instead of copying, kept in
//! a file rather than in memory once built.
//!
//! openraft hands every replication stream that must send a snapshot its
//! own `SnapshotData` from `get_current_snapshot`. With a plain
//! `Cursor<Vec<u8>>` that is a full copy of the ledger per stream and per
//! retry, and the whole ledger stays in memory. A built snapshot lives in a
//! file (`data_dir/snapshots/`): every reader gets its own position over
//! one shared file handle (positioned reads, no copy). A snapshot being
//! received is written into memory, then stored as a file once installed.

use std::io::SeekFrom;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncSeek, AsyncWrite, ReadBuf};

/// Where the bytes are.
#[derive(Debug, Clone)]
enum Source {
    /// In memory (being received, or in tests).
    Memory(Arc<Vec<u8>>),
    /// A snapshot file, shared by its readers.
    File { file: Arc<std::fs::File>, len: u64 },
}

/// A snapshot's bytes and a read/write position.
#[derive(Debug, Clone)]
pub struct SnapshotBytes {
    source: Source,
    position: u64,
}

impl Default for SnapshotBytes {
    fn default() -> Self {
        SnapshotBytes { source: Source::Memory(Arc::default()), position: 0 }
    }
}

impl SnapshotBytes {
    /// A reader over `data`, shared with every other reader of it.
    pub fn shared(data: Arc<Vec<u8>>) -> SnapshotBytes {
        SnapshotBytes { source: Source::Memory(data), position: 0 }
    }

    /// A reader over the snapshot file at `path`.
    pub fn open(path: &Path) -> std::io::Result<SnapshotBytes> {
        let file = std::fs::File::open(path)?;
        let len = file.metadata()?.len();
        Ok(SnapshotBytes { source: Source::File { file: Arc::new(file), len }, position: 0 })
    }

    /// Another reader of the same bytes, from the start (no copy).
    pub fn reader(&self) -> SnapshotBytes {
        SnapshotBytes { source: self.source.clone(), position: 0 }
    }

    /// Total length in bytes.
    pub fn len(&self) -> u64 {
        match &self.source {
            Source::Memory(data) => data.len() as u64,
            Source::File { len, .. } => *len,
        }
    }

    /// Whether there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes, owned (read from the file, or copied only if other
    /// readers still share the memory).
    pub fn into_vec(self) -> std::io::Result<Vec<u8>> {
        match self.source {
            Source::Memory(data) => {
                Ok(Arc::try_unwrap(data).unwrap_or_else(|shared| shared.as_ref().clone()))
            }
            Source::File { file, len } => {
                let mut data = vec![0; usize::try_from(len).map_err(std::io::Error::other)?];
                file.read_exact_at(&mut data, 0)?;
                Ok(data)
            }
        }
    }

    fn offset(&self) -> usize {
        usize::try_from(self.position).unwrap_or(usize::MAX)
    }
}

impl AsyncRead for SnapshotBytes {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let n = match &self.source {
            Source::Memory(data) => {
                let start = self.offset().min(data.len());
                let n = buf.remaining().min(data.len() - start);
                buf.put_slice(&data[start..start + n]);
                n
            }
            Source::File { file, len } => {
                let left = len.saturating_sub(self.position);
                let want = buf.remaining().min(usize::try_from(left).unwrap_or(usize::MAX));
                // A positioned read of at most one chunk (the page cache
                // usually holds it): short enough for an async worker.
                let n = file.read_at(buf.initialize_unfilled_to(want), self.position)?;
                buf.advance(n);
                n
            }
        };
        self.position += n as u64;
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for SnapshotBytes {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let at = self.offset();
        let end = at.checked_add(buf.len()).ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "snapshot offset overflows")
        })?;
        let Source::Memory(data) = &mut self.source else {
            return Poll::Ready(Err(std::io::Error::other("a snapshot file is read-only")));
        };
        // Unique while receiving, so this does not copy.
        let data = Arc::make_mut(data);
        if data.len() < end {
            data.resize(end, 0);
        }
        data[at..end].copy_from_slice(buf);
        self.position = end as u64;
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl AsyncSeek for SnapshotBytes {
    fn start_seek(mut self: Pin<&mut Self>, position: SeekFrom) -> std::io::Result<()> {
        let (base, delta) = match position {
            SeekFrom::Start(offset) => {
                self.position = offset;
                return Ok(());
            }
            SeekFrom::End(delta) => (self.len(), delta),
            SeekFrom::Current(delta) => (self.position, delta),
        };
        self.position = base.checked_add_signed(delta).ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "seek before the start")
        })?;
        Ok(())
    }

    fn poll_complete(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<u64>> {
        Poll::Ready(Ok(self.position))
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

    use super::*;

    #[tokio::test]
    async fn readers_share_one_buffer_and_writes_at_offsets_fill_a_new_one() {
        let data = Arc::new((0u8..=255).collect::<Vec<u8>>());
        let mut first = SnapshotBytes::shared(Arc::clone(&data));
        let mut second = first.reader();
        let mut head = [0u8; 10];
        first.read_exact(&mut head).await.unwrap();
        assert_eq!(head, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        second.seek(SeekFrom::Start(250)).await.unwrap();
        let mut tail = Vec::new();
        second.read_to_end(&mut tail).await.unwrap();
        assert_eq!(tail, [250, 251, 252, 253, 254, 255]);
        assert_eq!(first.seek(SeekFrom::Current(-5)).await.unwrap(), 5);
        assert!(first.seek(SeekFrom::Current(-6)).await.is_err(), "before the start");

        let mut received = SnapshotBytes::default();
        received.write_all(b"hello").await.unwrap();
        received.seek(SeekFrom::Start(8)).await.unwrap();
        received.write_all(b"!").await.unwrap();
        received.seek(SeekFrom::Start(0)).await.unwrap();
        received.write_all(b"J").await.unwrap();
        assert_eq!(received.into_vec().unwrap(), b"Jello\0\0\0!");
        assert_eq!(data.len(), 256, "readers never change the shared bytes");
    }

    #[tokio::test]
    async fn a_snapshot_file_is_read_by_independent_readers_and_not_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("snap");
        let bytes: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &bytes).unwrap();
        let stored = SnapshotBytes::open(&path).unwrap();
        assert_eq!(stored.len(), 10_000);
        let mut a = stored.reader();
        let mut b = stored.reader();
        b.seek(SeekFrom::End(-10)).await.unwrap();
        let mut all = Vec::new();
        a.read_to_end(&mut all).await.unwrap();
        let mut end = Vec::new();
        b.read_to_end(&mut end).await.unwrap();
        assert_eq!(all, bytes);
        assert_eq!(end, &bytes[9_990..]);
        assert!(a.write_all(b"x").await.is_err(), "read-only");
        assert_eq!(stored.into_vec().unwrap(), bytes);
    }
}
