//! Typed access to records in the world state: decode on read, encode on
//! write. A record that fails to decode is reported as corrupt state, never
//! treated as absent.

use serde::{Serialize, de::DeserializeOwned};

use crate::error::{ChaincodeError, Result};
use crate::store::{Overlay, StateRead};

/// Encodes a record (postcard: compact and deterministic for a given value).
pub(crate) fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    postcard::to_allocvec(value).expect("postcard: encoding into a Vec cannot fail")
}

/// Decodes a record stored under `key`.
pub(crate) fn decode<T: DeserializeOwned>(key: &[u8], bytes: &[u8]) -> Result<T> {
    postcard::from_bytes(bytes).map_err(|e| ChaincodeError::CorruptState {
        key: String::from_utf8_lossy(key).into_owned(),
        reason: e.to_string(),
    })
}

/// Reads and decodes the record under `key`.
pub(crate) fn load<T: DeserializeOwned>(view: &dyn StateRead, key: &[u8]) -> Result<Option<T>> {
    match view.get(key)? {
        Some(bytes) => decode(key, &bytes).map(Some),
        None => Ok(None),
    }
}

/// Encodes and writes `value` under `key` (in the transaction layer).
pub(crate) fn save<T: Serialize>(overlay: &mut Overlay<'_>, key: Vec<u8>, value: &T) {
    overlay.put(key, encode(value));
}

/// A stored counter, 0 when absent.
pub(crate) fn load_count(view: &dyn StateRead, key: &[u8]) -> Result<u32> {
    Ok(load::<u32>(view, key)?.unwrap_or(0))
}

/// Writes a counter; 0 deletes the key so that state holds no empty counters.
pub(crate) fn save_count(overlay: &mut Overlay<'_>, key: Vec<u8>, count: u32) {
    if count == 0 {
        overlay.delete(key);
    } else {
        save(overlay, key, &count);
    }
}
