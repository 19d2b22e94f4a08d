//! A counting global allocator. Counts are per thread, so the server thread's
//! allocations never land on the client's bill.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

#[global_allocator]
static GLOBAL: Counting = Counting;

thread_local! {
    // `const` and no destructor: safe to touch from inside the allocator.
    static COUNT: Cell<Count> = const { Cell::new(Count { allocs: 0, bytes: 0 }) };
}

/// Allocations made by the current thread since it started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Count {
    /// `alloc`, `alloc_zeroed` and `realloc` calls.
    pub allocs: u64,
    /// Bytes asked for by those calls.
    pub bytes: u64,
}

impl Count {
    pub fn since(self, earlier: Count) -> Count {
        Count {
            allocs: self.allocs - earlier.allocs,
            bytes: self.bytes - earlier.bytes,
        }
    }
}

pub fn current() -> Count {
    COUNT.try_with(Cell::get).unwrap_or_default()
}

fn record(bytes: usize) {
    let _ = COUNT.try_with(|c| {
        let mut n = c.get();
        n.allocs += 1;
        n.bytes += bytes as u64;
        c.set(n);
    });
}

// SAFETY: every call is forwarded unchanged to the system allocator.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        record(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}
