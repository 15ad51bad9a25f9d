//! hefty-core's constant tables in device memory, by [`TableId`]: built and
//! uploaded on first use, then reused for as long as the backend lives
//! (tables never change and ids are never reused). Both GPU backends keep one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use hefty_core::backend::TableId;

/// Device copies (of type `M`) of constant tables by id.
#[derive(Debug)]
pub(crate) struct TableCache<M> {
    tables: Mutex<HashMap<TableId, Arc<M>>>,
}

impl<M> Default for TableCache<M> {
    fn default() -> Self {
        Self {
            tables: Mutex::default(),
        }
    }
}

impl<M> TableCache<M> {
    /// The device copy of table `id`, made by `build` on first use.
    pub fn get<E>(&self, id: TableId, build: impl FnOnce() -> Result<M, E>) -> Result<Arc<M>, E> {
        let mut tables = self.tables.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(t) = tables.get(&id) {
            return Ok(Arc::clone(t));
        }
        let t = Arc::new(build()?);
        tables.insert(id, Arc::clone(&t));
        Ok(t)
    }
}
