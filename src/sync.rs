//! A reader-writer lock that ThreadSanitizer can see through.
//!
//! The standard library's `RwLock` takes and hands over the lock in its contended paths inside
//! the precompiled, uninstrumented standard library, so ThreadSanitizer misses those
//! happens-before edges and reports the data the lock protects as raced. In a ThreadSanitizer
//! build (`--cfg xbuf_tsan`, set by the `tsan` CMake preset) this lock tells the sanitizer about
//! them itself: taking the lock (shared or exclusive) acquires the lock's address, letting it go
//! releases it, which is exactly the ordering the lock gives. In every other build the
//! annotations compile to nothing and this is the standard lock.
//!
//! A poisoned lock is used as it is: the data it guards is only ever changed by code that cannot
//! panic half-way through in a way that breaks its invariants (a panic is a bug the C boundary
//! already reports).

use std::ops::{Deref, DerefMut};

/// A `std::sync::RwLock` whose ordering ThreadSanitizer sees; `read` and `write` never fail.
pub(crate) struct RwLock<T>(std::sync::RwLock<T>);

impl<T> RwLock<T> {
    pub(crate) const fn new(value: T) -> Self {
        RwLock(std::sync::RwLock::new(value))
    }

    /// Shared access, until the guard is dropped.
    pub(crate) fn read(&self) -> ReadGuard<'_, T> {
        let guard = self.0.read().unwrap_or_else(|e| e.into_inner());
        tsan::acquire(self);
        ReadGuard { guard, lock: self }
    }

    /// Exclusive access, until the guard is dropped.
    pub(crate) fn write(&self) -> WriteGuard<'_, T> {
        let guard = self.0.write().unwrap_or_else(|e| e.into_inner());
        tsan::acquire(self);
        WriteGuard { guard, lock: self }
    }
}

/// Shared access to the value of a [`RwLock`].
pub(crate) struct ReadGuard<'a, T> {
    guard: std::sync::RwLockReadGuard<'a, T>,
    lock: &'a RwLock<T>,
}

/// Exclusive access to the value of a [`RwLock`].
pub(crate) struct WriteGuard<'a, T> {
    guard: std::sync::RwLockWriteGuard<'a, T>,
    lock: &'a RwLock<T>,
}

impl<T> Deref for ReadGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T> Deref for WriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T> DerefMut for WriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.guard
    }
}

// Runs before the inner guard (a field) unlocks: the release is ordered before the unlock.
impl<T> Drop for ReadGuard<'_, T> {
    fn drop(&mut self) {
        tsan::release(self.lock);
    }
}

impl<T> Drop for WriteGuard<'_, T> {
    fn drop(&mut self) {
        tsan::release(self.lock);
    }
}

/// The annotations (not part of the C API).
/// cbindgen:ignore
#[cfg(xbuf_tsan)]
mod tsan {
    use std::ffi::c_void;

    extern "C" {
        // The ThreadSanitizer runtime's annotation interface (compiler-rt's tsan_interface.h).
        fn __tsan_acquire(addr: *mut c_void);
        fn __tsan_release(addr: *mut c_void);
    }

    pub(super) fn acquire<T: ?Sized>(addr: &T) {
        // SAFETY: the runtime only records the address as a synchronisation object; it never
        // reads or writes through it.
        unsafe { __tsan_acquire(addr as *const T as *mut c_void) }
    }

    pub(super) fn release<T: ?Sized>(addr: &T) {
        // SAFETY: as in `acquire`.
        unsafe { __tsan_release(addr as *const T as *mut c_void) }
    }
}

#[cfg(not(xbuf_tsan))]
mod tsan {
    #[inline(always)]
    pub(super) fn acquire<T: ?Sized>(_: &T) {}
    #[inline(always)]
    pub(super) fn release<T: ?Sized>(_: &T) {}
}

#[cfg(test)]
mod tests {
    use super::RwLock;

    #[test]
    fn shares_reads_and_excludes_writes() {
        let lock = RwLock::new(vec![1, 2]);
        {
            let a = lock.read();
            let b = lock.read();
            assert_eq!((a.len(), b[1]), (2, 2));
        }
        lock.write().push(3);
        assert_eq!(*lock.read(), vec![1, 2, 3]);
    }

    #[test]
    fn a_poisoned_lock_still_serves() {
        let lock = std::sync::Arc::new(RwLock::new(7));
        let l2 = lock.clone();
        let r = std::thread::spawn(move || {
            let _g = l2.write();
            panic!("poison the lock");
        })
        .join();
        assert!(r.is_err());
        *lock.write() += 1;
        assert_eq!(*lock.read(), 8);
    }
}
