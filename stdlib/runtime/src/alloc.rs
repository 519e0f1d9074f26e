//! The allocator of stage modules on wasm32: a bump arena.
//!
//! A stage module processes one chunk per call and keeps nothing between
//! calls but the bytes it hands back, so the cheapest allocator is a bump
//! pointer over the linear memory above `__heap_base`, grown with
//! `memory.grow`, and reset wholesale between chunks by the host through
//! `flow_reset`. `dealloc` gives memory back only when the block is the most
//! recent one (which makes a growing `Vec` cheap); everything else is freed
//! by the reset.
//!
//! wasm32 modules here are single-threaded, so the arena's state lives in
//! plain cells.

#![allow(unsafe_code)]

use core::alloc::{GlobalAlloc, Layout};
use core::cell::Cell;

const PAGE: usize = 65_536;

unsafe extern "C" {
    /// The first byte above the stack and static data, set by the linker.
    static __heap_base: u8;
}

/// The bump arena: `next` is the first free byte (0 until first use), `end`
/// the end of the linear memory.
struct Arena {
    next: Cell<usize>,
    end: Cell<usize>,
}

// SAFETY: wasm32-unknown-unknown modules run on one thread, so the cells
// are never accessed concurrently.
unsafe impl Sync for Arena {}

#[global_allocator]
static ARENA: Arena = Arena {
    next: Cell::new(0),
    end: Cell::new(0),
};

fn heap_base() -> usize {
    // Only the address of the linker symbol is taken; it is never read.
    (&raw const __heap_base) as usize
}

impl Arena {
    fn start(&self) {
        if self.next.get() == 0 {
            self.next.set(heap_base());
            self.end.set(core::arch::wasm32::memory_size(0) * PAGE);
        }
    }

    /// Makes `[next, new_next)` addressable, growing memory if needed.
    fn reserve(&self, new_next: usize) -> bool {
        if new_next <= self.end.get() {
            return true;
        }
        let missing = new_next - self.end.get();
        let pages = missing.div_ceil(PAGE);
        if core::arch::wasm32::memory_grow(0, pages) == usize::MAX {
            return false;
        }
        self.end.set(self.end.get() + pages * PAGE);
        true
    }

    fn bump(&self, layout: Layout) -> *mut u8 {
        self.start();
        let align = layout.align();
        let Some(aligned) = self
            .next
            .get()
            .checked_add(align - 1)
            .map(|n| n & !(align - 1))
        else {
            return core::ptr::null_mut();
        };
        let Some(new_next) = aligned.checked_add(layout.size()) else {
            return core::ptr::null_mut();
        };
        if !self.reserve(new_next) {
            return core::ptr::null_mut();
        }
        self.next.set(new_next);
        aligned as *mut u8
    }
}

// SAFETY: `alloc` returns blocks that are aligned, inside memory that was
// grown to cover them, and disjoint from every live block, because `next`
// only moves back over the most recent block when that block is freed (or
// on `reset`, whose contract is that no block is live).
unsafe impl GlobalAlloc for Arena {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.bump(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if ptr as usize + layout.size() == self.next.get() {
            self.next.set(ptr as usize);
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // The most recent block grows or shrinks in place.
        if ptr as usize + layout.size() == self.next.get() {
            if let Some(new_next) = (ptr as usize).checked_add(new_size)
                && self.reserve(new_next)
            {
                self.next.set(new_next);
                return ptr;
            }
            return core::ptr::null_mut();
        }
        let Ok(new_layout) = Layout::from_size_align(new_size, layout.align()) else {
            return core::ptr::null_mut();
        };
        let new_ptr = self.bump(new_layout);
        if !new_ptr.is_null() {
            // SAFETY: both blocks are live, distinct (the new one was bumped
            // past the old), and at least `min(old, new)` bytes long.
            unsafe { core::ptr::copy_nonoverlapping(ptr, new_ptr, layout.size().min(new_size)) };
        }
        new_ptr
    }
}

/// Frees every block at once. The caller guarantees that no block is live:
/// the host calls it between chunks, after it has copied out the results.
pub fn reset() {
    ARENA.start();
    ARENA.next.set(heap_base());
}

/// Allocates `len` bytes aligned to 8, or returns null if memory is full.
pub fn allocate(len: usize) -> *mut u8 {
    match Layout::from_size_align(len.max(1), 8) {
        Ok(layout) => ARENA.bump(layout),
        Err(_) => core::ptr::null_mut(),
    }
}
