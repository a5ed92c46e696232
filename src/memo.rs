//! Per-isolate memory with a time bound: what an isolate reuses for a few seconds instead of
//! reading or building it again (cacheable documents, clients, keys). Every use names its bound,
//! and `docs/storage.md` lists them all.
//!
//! An isolate serves many requests one at a time on one thread, so the slots are plain
//! `thread_local!` cells; nothing here is shared between isolates.

use std::cell::{Cell, RefCell};

thread_local! {
    /// Bumped whenever a slot is cleared: a copy made from a slot's value elsewhere (the shell's
    /// replay of whole answers, src/worker/entry.mjs) is dropped when this moved.
    static GENERATION: Cell<u32> = const { Cell::new(0) };
}

/// The number of slot clears so far in this isolate (wrapping).
pub fn generation() -> u32 {
    GENERATION.with(Cell::get)
}

/// One remembered value and when it was stored (milliseconds since the epoch).
pub struct Slot<T> {
    inner: RefCell<Option<(i64, T)>>,
}

impl<T: Clone> Slot<T> {
    pub const fn new() -> Slot<T> {
        Slot { inner: RefCell::new(None) }
    }

    /// The value if it was stored less than `bound_ms` before `now_ms`.
    pub fn get(&self, now_ms: i64, bound_ms: i64) -> Option<T> {
        self.get_until(now_ms, bound_ms).map(|(v, _)| v)
    }

    /// The value and the time it stops being fresh (ms since the epoch), if it was stored less
    /// than `bound_ms` before `now_ms`.
    pub fn get_until(&self, now_ms: i64, bound_ms: i64) -> Option<(T, i64)> {
        self.inner
            .borrow()
            .as_ref()
            .filter(|(at, _)| fresh(*at, now_ms, bound_ms))
            .map(|(at, v)| (v.clone(), at + bound_ms))
    }

    pub fn put(&self, now_ms: i64, value: T) {
        *self.inner.borrow_mut() = Some((now_ms, value));
    }

    pub fn clear(&self) {
        *self.inner.borrow_mut() = None;
        GENERATION.with(|g| g.set(g.get().wrapping_add(1)));
    }
}

impl<T: Clone> Default for Slot<T> {
    fn default() -> Self {
        Slot::new()
    }
}

/// Stored at `at` and still within `bound_ms` at `now` (a clock that went backwards counts as
/// expired, never as forever fresh).
pub fn fresh(at: i64, now: i64, bound_ms: i64) -> bool {
    now >= at && now - at < bound_ms
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slot_answers_within_its_bound_only() {
        let s = Slot::new();
        assert_eq!(s.get(1_000, 10_000), None::<u8>);
        s.put(1_000, 7u8);
        assert_eq!(s.get(1_000, 10_000), Some(7));
        assert_eq!(s.get(10_999, 10_000), Some(7));
        assert_eq!(s.get_until(4_000, 10_000), Some((7, 11_000)));
        assert_eq!(s.get_until(11_000, 10_000), None);
        assert_eq!(s.get(11_000, 10_000), None);
        assert_eq!(s.get(999, 10_000), None, "a clock going backwards never extends the bound");
        let before = generation();
        s.clear();
        assert_eq!(s.get(1_000, 10_000), None);
        assert_ne!(generation(), before, "a clear moves the generation");
    }
}
