//! Locks that survive a panicked holder: the data a `Mutex` guards here stays consistent at every unlock (counters,
//! maps of cells, file handles), so a poisoned lock is used as is rather than propagating the panic.

use std::sync::{Mutex, MutexGuard};

/// `mutex.lock()`, taking the guard of a poisoned lock too.
pub(crate) trait Locked<T> {
    fn locked(&self) -> MutexGuard<'_, T>;
}

impl<T> Locked<T> for Mutex<T> {
    fn locked(&self) -> MutexGuard<'_, T> {
        self.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
