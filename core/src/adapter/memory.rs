//! The in-memory adapter: one process, rooms in a [`RoomIndex`], nothing crosses nodes.

use super::{Adapter, RoomIndex};

/// The default adapter. All of its behaviour is the [`Adapter`] trait's defaults.
#[derive(Default)]
pub struct MemoryAdapter {
    index: RoomIndex,
}

impl MemoryAdapter {
    pub fn new() -> MemoryAdapter {
        MemoryAdapter::default()
    }
}

impl Adapter for MemoryAdapter {
    fn index(&self) -> &RoomIndex {
        &self.index
    }
}
