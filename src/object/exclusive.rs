//! Exclusive access (a change of the memory while no export lives) and locks (`xbuf_lock`:
//! an export taken without a view).

use std::ptr::NonNull;
use std::sync::atomic::Ordering;

use super::*;

impl Object {
    /// Takes exclusive access for a change of the memory. Succeeds only while there are no
    /// exports; while held, new exports fail with `Busy`.
    pub fn begin_exclusive(&self) -> Result<()> {
        let mut cur = self.word.load(Ordering::Relaxed);
        loop {
            if cur & EXCLUSIVE != 0 {
                bail!(
                    Busy,
                    "'{}' is already being changed by another caller",
                    self.type_name().to_string_lossy()
                );
            }
            let exports = (cur & EXPORT_MASK) >> REF_BITS;
            if exports != 0 {
                let locks = self.locks();
                bail!(
                    Busy,
                    "'{}' has {} export{} ({} of them lock{}); it cannot be changed until they are released",
                    self.type_name().to_string_lossy(),
                    exports,
                    if exports == 1 { "" } else { "s" },
                    locks,
                    if locks == 1 { "" } else { "s" }
                );
            }
            match self.word.compare_exchange_weak(
                cur,
                cur | EXCLUSIVE,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    self.exclusive_owner
                        .store(thread_token(), Ordering::Release);
                    return Ok(());
                }
                Err(now) => cur = now,
            }
        }
    }

    /// Ends exclusive access taken with [`Object::begin_exclusive`] on the calling thread.
    pub fn end_exclusive(&self) -> Result<()> {
        let me = thread_token();
        if self.exclusive_owner.load(Ordering::Acquire) != me {
            if self.is_exclusive() {
                bail!(
                    InvalidArgument,
                    "exclusive access to '{}' is held by another thread; only the thread that took it may end it",
                    self.type_name().to_string_lossy()
                );
            }
            bail!(
                InvalidArgument,
                "'{}' is not held exclusively",
                self.type_name().to_string_lossy()
            );
        }
        // Only this thread can change the owner now.
        self.exclusive_owner.store(0, Ordering::Relaxed);
        let mut cur = self.word.load(Ordering::Relaxed);
        loop {
            if cur & EXCLUSIVE == 0 {
                bail!(
                    InvalidArgument,
                    "'{}' is not held exclusively",
                    self.type_name().to_string_lossy()
                );
            }
            match self.word.compare_exchange_weak(
                cur,
                cur & !EXCLUSIVE,
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Ok(()),
                Err(now) => cur = now,
            }
        }
    }

    /// Runs `change` with exclusive access, ending it afterwards whatever `change` returns.
    pub fn with_exclusive<T>(&self, change: impl FnOnce() -> Result<T>) -> Result<T> {
        self.begin_exclusive()?;
        struct End<'a>(&'a Object);
        impl Drop for End<'_> {
            fn drop(&mut self) {
                let _ = self.0.end_exclusive();
            }
        }
        let _end = End(self);
        change()
    }

    /// Takes a lock: one export (and reference) without a view, then the exporter's
    /// `lockbuffer`.
    pub fn lock(&self) -> Result<()> {
        self.add_export()?;
        self.locks.fetch_add(1, Ordering::AcqRel);
        if let Err(e) = self.exporter().lock_buffer(self) {
            self.locks.fetch_sub(1, Ordering::AcqRel);
            // SAFETY: we own the export just added; the caller holds its own reference, so the
            // object outlives this call.
            unsafe { Object::drop_export(NonNull::from(self)) };
            return Err(e);
        }
        Ok(())
    }

    /// Returns a lock: the exporter's `releasebuffer(self, NULL)`, then the export goes.
    ///
    /// # Safety
    /// `p` must be live; the object may be freed when the call returns.
    pub unsafe fn unlock(p: NonNull<Object>) -> Result<()> {
        let obj = p.as_ref();
        let mut cur = obj.locks.load(Ordering::Acquire);
        loop {
            if cur == 0 {
                bail!(
                    InvalidArgument,
                    "xbuf_unlock on a '{}' that holds no lock",
                    obj.type_name().to_string_lossy()
                );
            }
            match obj
                .locks
                .compare_exchange_weak(cur, cur - 1, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => break,
                Err(now) => cur = now,
            }
        }
        obj.exporter().release_buffer(obj, std::ptr::null_mut());
        Object::drop_export(p);
        Ok(())
    }
}
