//! The per-process format cache.
//!
//! A repeated format string is parsed once: the parsed [`Format`] is kept in a map from the
//! text to an `Arc<Format>`, behind a reader-writer lock (lookups share the lock; only a
//! first parse takes it exclusively). Memory is bounded: texts longer than
//! [`MAX_KEY`] bytes and formats heavier than [`MAX_ENTRY_WEIGHT`] (roughly, fields plus
//! leaf runs) are parsed every time, and when the total weight would pass
//! [`MAX_TOTAL_WEIGHT`] or the map holds [`MAX_ENTRIES`] formats, the map is emptied and
//! starts again (formats in use stay alive through their `Arc`). Failed parses are not kept.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, LazyLock};

use super::{parse_uncached, Format};
use crate::status::Result;
use crate::sync::RwLock;

/// Longest format text that is cached.
/// cbindgen:ignore
pub const MAX_KEY: usize = 512;
/// Most formats kept.
/// cbindgen:ignore
pub const MAX_ENTRIES: usize = 1024;
/// Heaviest single format kept.
/// cbindgen:ignore
pub const MAX_ENTRY_WEIGHT: usize = 4096;
/// Most total weight kept.
/// cbindgen:ignore
pub const MAX_TOTAL_WEIGHT: usize = 1 << 18;

/// FNV-1a over the text, 8 bytes at a time: format strings are short and trusted to the
/// lock's owner only, so a fast hash beats a DoS-resistant one here (the map is bounded).
#[derive(Default)]
struct FastHasher(u64);

impl Hasher for FastHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = self.0 ^ 0xcbf2_9ce4_8422_2325;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let w = u64::from_le_bytes(c.try_into().unwrap_or([0; 8]));
            h = (h ^ w).wrapping_mul(0x0000_0100_0000_01b3).rotate_left(23);
        }
        for &b in chunks.remainder() {
            h = (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3);
        }
        self.0 = h;
    }
}

struct Cache {
    map: HashMap<Box<[u8]>, Arc<Format>, BuildHasherDefault<FastHasher>>,
    weight: usize,
}

static CACHE: LazyLock<RwLock<Cache>> = LazyLock::new(|| {
    RwLock::new(Cache {
        map: HashMap::default(),
        weight: 0,
    })
});

fn lookup<T>(fmt: &[u8], f: impl FnOnce(&Arc<Format>) -> T) -> Option<T> {
    if fmt.len() > MAX_KEY {
        return None;
    }
    let cache = CACHE.read();
    cache.map.get(fmt).map(f)
}

fn insert(fmt: &[u8], parsed: Format) -> Arc<Format> {
    let parsed = Arc::new(parsed);
    if fmt.len() > MAX_KEY || parsed.weight > MAX_ENTRY_WEIGHT {
        return parsed;
    }
    let mut cache = CACHE.write();
    if let Some(f) = cache.map.get(fmt) {
        return f.clone();
    }
    if cache.map.len() >= MAX_ENTRIES || cache.weight + parsed.weight > MAX_TOTAL_WEIGHT {
        cache.map.clear();
        cache.weight = 0;
    }
    cache.weight += parsed.weight;
    cache.map.insert(fmt.into(), parsed.clone());
    parsed
}

/// The parsed format for `fmt`, from the cache when it was parsed before.
pub fn parse(fmt: &[u8]) -> Result<Arc<Format>> {
    if let Some(f) = lookup(fmt, Arc::clone) {
        return Ok(f);
    }
    Ok(insert(fmt, parse_uncached(fmt)?))
}

/// `f(format)` for the parsed `fmt` without taking a reference when it is cached.
pub(crate) fn with_format<T>(fmt: &[u8], f: impl FnOnce(&Format) -> T) -> Result<T> {
    let mut f = Some(f);
    if let Some(v) = lookup(fmt, |p| (f.take().unwrap())(p)) {
        return Ok(v);
    }
    let p = insert(fmt, parse_uncached(fmt)?);
    Ok((f.take().unwrap())(&p))
}

/// How many formats the cache holds now (for tests and diagnostics).
pub fn cached_count() -> usize {
    CACHE.read().map.len()
}
