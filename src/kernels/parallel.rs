//! Splitting large copies and comparisons over threads: the thread cap, the split of the
//! outermost dimension into disjoint destination ranges, and running the pieces.

use super::Dim;
use crate::bail;
use crate::status::Result;

/// Whether the destination bytes of different indices of the outermost dimension are disjoint,
/// so that its index ranges may be written by different threads (a destination may overlap
/// itself, with a zero or an aliasing stride; it is then written by one thread in C order).
/// The planned destination strides are all non-negative and the outermost is the largest: one
/// outer index writes `[i * d, i * d + reach)`, where `reach` is how far the inner dimensions
/// reach, so the ranges are disjoint exactly when `reach <= d`.
pub(crate) fn rows_disjoint(dims: &[Dim], size: isize) -> bool {
    let Some((outer, inner)) = dims.split_first() else {
        return false;
    };
    inner
        .iter()
        .try_fold(size, |acc, d| acc.checked_add((d.n - 1).checked_mul(d.d)?))
        .is_some_and(|reach| reach <= outer.d)
}

/// Each thread of a large copy or comparison gets at least this many bytes (of the
/// destination, or of the first view compared): below that, starting a thread costs a
/// noticeable part of what it saves, and a job of less than twice this stays on the calling
/// thread.
pub(crate) const BYTES_PER_THREAD: usize = 4 << 20;

/// Split points of the outermost dimension are multiples of this many indices when every
/// piece keeps the minimum that way: the pieces of a contiguous copy then start on cache-line
/// boundaries and those of a transpose on whole tiles.
pub(crate) const SPLIT_GRANULE: isize = 64;

/// The index ranges `[start, end)` of an outermost dimension of extent `n` that the threads of
/// a job of `bytes` bytes (spread evenly over the indices) take, in order: consecutive, covering
/// `0..n`, none empty; as many as `cap` allows with at least [`BYTES_PER_THREAD`] bytes each
/// (one range, the whole dimension, when the job is too small to split).
pub(crate) fn split_ranges(n: isize, bytes: usize, cap: usize) -> Vec<(isize, isize)> {
    let n = n.max(0);
    // Whether `rows` consecutive indices hold at least the minimum.
    let enough = |rows: isize| bytes as u128 * rows as u128 >= BYTES_PER_THREAD as u128 * n as u128;
    let mut threads = cap.min(n as usize).min(bytes / BYTES_PER_THREAD).max(1);
    // An even split's smallest piece has n / threads indices.
    while threads > 1 && !enough(n / threads as isize) {
        threads -= 1;
    }
    let split = |granule: isize| -> Vec<(isize, isize)> {
        let cut = |k: usize| (n as i128 * k as i128 / threads as i128) as isize / granule * granule;
        (0..threads)
            .map(|k| (cut(k), if k + 1 == threads { n } else { cut(k + 1) }))
            .collect()
    };
    if threads > 1 && n / threads as isize >= SPLIT_GRANULE {
        let ranges = split(SPLIT_GRANULE);
        if ranges.iter().all(|&(lo, hi)| enough(hi - lo)) {
            return ranges;
        }
    }
    split(1)
}

/// The cap set by `xbuf_set_max_threads`; 0 when none is set.
pub(crate) static MAX_THREADS: std::sync::atomic::AtomicUsize =
    std::sync::atomic::AtomicUsize::new(0);

/// The environment variable that sets the default thread cap.
pub(crate) const NUM_THREADS_VAR: &str = "XBUF_NUM_THREADS";

/// Sets the process-wide cap on the threads of one copy or comparison: `n >= 1` caps, 0 goes
/// back to the default ([`default_max_threads`]); a negative `n` is refused.
pub fn set_max_threads(n: i64) -> Result<()> {
    let Ok(n) = usize::try_from(n) else {
        bail!(
            InvalidArgument,
            "the thread cap must be at least 1, or 0 for the default; got {n}"
        );
    };
    MAX_THREADS.store(n, std::sync::atomic::Ordering::Relaxed);
    Ok(())
}

/// The cap on the threads of one copy or comparison now in force: the one set with
/// [`set_max_threads`], else the default.
pub fn max_threads() -> usize {
    match MAX_THREADS.load(std::sync::atomic::Ordering::Relaxed) {
        0 => default_max_threads(),
        n => n,
    }
}

/// The default cap, decided once per process: `XBUF_NUM_THREADS` when it holds a valid count
/// (see [`parse_num_threads`]), else the number of threads the machine can run at once
/// (`std::thread::available_parallelism`: the CPUs this process may use, after affinity masks
/// and cgroup quotas), else 1.
pub fn default_max_threads() -> usize {
    static N: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *N.get_or_init(|| {
        let var = std::env::var_os(NUM_THREADS_VAR);
        parse_num_threads(var.as_deref().and_then(|v| v.to_str()))
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
    })
}

/// The thread count an `XBUF_NUM_THREADS` value asks for: decimal digits (spaces around them
/// allowed) giving a number from 1 to `INT_MAX`. Anything else (unset, empty, 0, a sign, other
/// characters, too large) asks for nothing, and the default stays in force.
pub(crate) fn parse_num_threads(value: Option<&str>) -> Option<usize> {
    let digits = value?.trim_matches(|c: char| c.is_ascii_whitespace());
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    match digits.parse::<std::ffi::c_int>() {
        Ok(n) if n >= 1 => usize::try_from(n).ok(),
        _ => None,
    }
}

/// One thread's share of a job: the planned dimensions with the outermost cut to its range,
/// and both start pointers moved to the range's first index.
pub(crate) struct Piece {
    dims: Vec<Dim>,
    pa: SendPtr,
    pb: SendPtr,
}

/// Runs `work` on pieces of the outermost dimension of `dims` of a job of `bytes` bytes, one
/// piece per thread, at most `cap` threads (the calling thread takes the first piece; see
/// [`split_ranges`]), and returns the pieces' results in order: a large copy or comparison is
/// bound by memory latency, and more cores keep more misses in flight. Every thread is joined
/// before it returns (a panic in one is resumed here). `None` (nothing run) when the job gets
/// one thread; a piece whose thread cannot be started runs on the calling thread.
///
/// # Safety
/// `work` must be safe to run on the pieces at the same time: when it writes through `pa`, the
/// outermost dimension's indices must write disjoint bytes ([`rows_disjoint`]).
pub(crate) unsafe fn in_parallel<T: Send>(
    dims: &[Dim],
    pa: *mut u8,
    pb: *const u8,
    bytes: usize,
    cap: usize,
    work: impl Fn(&[Dim], *mut u8, *const u8) -> T + Sync,
) -> Option<Vec<T>> {
    let outer = *dims.first()?;
    let ranges = split_ranges(outer.n, bytes, cap);
    if ranges.len() < 2 {
        return None;
    }
    let pieces: Vec<Piece> = ranges
        .iter()
        .map(|&(lo, hi)| {
            let mut d = dims.to_vec();
            d[0].n = hi - lo;
            Piece {
                dims: d,
                pa: SendPtr(pa.wrapping_offset(lo * outer.d)),
                pb: SendPtr(pb.wrapping_offset(lo * outer.s) as *mut u8),
            }
        })
        .collect();
    let run = |p: &Piece| work(&p.dims, p.pa.0, p.pb.0);
    let run = &run;
    Some(std::thread::scope(|scope| {
        let (first, rest) = pieces.split_first().expect("at least two pieces");
        let others: Vec<_> = rest
            .iter()
            .map(|p| {
                let spawned = std::thread::Builder::new().spawn_scoped(scope, move || run(p));
                (p, spawned)
            })
            .collect();
        let mut results = Vec::with_capacity(pieces.len());
        results.push(run(first));
        for (p, spawned) in others {
            results.push(match spawned {
                Ok(handle) => match handle.join() {
                    Ok(t) => t,
                    Err(panic) => std::panic::resume_unwind(panic),
                },
                Err(_) => run(p),
            });
        }
        results
    }))
}

/// A pointer handed to other threads; the memory is the caller's, borrowed for the duration
/// of the scoped threads.
#[derive(Clone, Copy)]
pub(crate) struct SendPtr(*mut u8);
// SAFETY: the threads work on disjoint pieces (a copy writes disjoint index ranges of its
// destination and only reads its source; a comparison only reads), and all of them are joined
// before the memory's borrow ends.
unsafe impl Send for SendPtr {}
unsafe impl Sync for SendPtr {}
