//! Names from a runtime, given to the containers of a table.

use std::collections::HashMap;

use super::types::ContainerTable;

/// Gives each container in `table` the name its runtime knows it by.
pub fn name_containers(table: &mut ContainerTable, names: &HashMap<String, String>) {
    for c in &mut table.containers {
        if c.owner.is_container()
            && let Some(name) = names.get(&c.owner.id)
        {
            c.owner.name = Some(name.clone());
        }
    }
}
