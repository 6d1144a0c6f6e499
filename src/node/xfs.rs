//! `xfs`: each XFS filesystem's runtime statistics
//! (`/sys/fs/xfs/<device>/stats/stats`).

use super::{Families, NodeCollector, Read, Source};
use crate::collect::CollectError;
use crate::collect::sysfs::{entries, value};

/// The collector.
pub static COLLECTOR: NodeCollector = NodeCollector {
    name: "xfs",
    read: Read::Files(read),
};

/// node_exporter's series: name, help, the stats line and the column.
const SERIES: &[(&str, &str, &str, usize)] = &[
    (
        "node_xfs_extent_allocation_extents_allocated_total",
        "Number of extents allocated for a filesystem.",
        "extent_alloc",
        0,
    ),
    (
        "node_xfs_extent_allocation_blocks_allocated_total",
        "Number of blocks allocated for a filesystem.",
        "extent_alloc",
        1,
    ),
    (
        "node_xfs_extent_allocation_extents_freed_total",
        "Number of extents freed for a filesystem.",
        "extent_alloc",
        2,
    ),
    (
        "node_xfs_extent_allocation_blocks_freed_total",
        "Number of blocks freed for a filesystem.",
        "extent_alloc",
        3,
    ),
    (
        "node_xfs_allocation_btree_lookups_total",
        "Number of allocation B-tree lookups for a filesystem.",
        "abt",
        0,
    ),
    (
        "node_xfs_allocation_btree_compares_total",
        "Number of allocation B-tree compares for a filesystem.",
        "abt",
        1,
    ),
    (
        "node_xfs_allocation_btree_records_inserted_total",
        "Number of allocation B-tree records inserted for a filesystem.",
        "abt",
        2,
    ),
    (
        "node_xfs_allocation_btree_records_deleted_total",
        "Number of allocation B-tree records deleted for a filesystem.",
        "abt",
        3,
    ),
    (
        "node_xfs_block_mapping_reads_total",
        "Number of block map for read operations for a filesystem.",
        "blk_map",
        0,
    ),
    (
        "node_xfs_block_mapping_writes_total",
        "Number of block map for write operations for a filesystem.",
        "blk_map",
        1,
    ),
    (
        "node_xfs_block_mapping_unmaps_total",
        "Number of block unmaps (deletes) for a filesystem.",
        "blk_map",
        2,
    ),
    (
        "node_xfs_block_mapping_extent_list_insertions_total",
        "Number of extent list insertions for a filesystem.",
        "blk_map",
        3,
    ),
    (
        "node_xfs_block_mapping_extent_list_deletions_total",
        "Number of extent list deletions for a filesystem.",
        "blk_map",
        4,
    ),
    (
        "node_xfs_block_mapping_extent_list_lookups_total",
        "Number of extent list lookups for a filesystem.",
        "blk_map",
        5,
    ),
    (
        "node_xfs_block_mapping_extent_list_compares_total",
        "Number of extent list compares for a filesystem.",
        "blk_map",
        6,
    ),
    (
        "node_xfs_block_map_btree_lookups_total",
        "Number of block map B-tree lookups for a filesystem.",
        "bmbt",
        0,
    ),
    (
        "node_xfs_block_map_btree_compares_total",
        "Number of block map B-tree compares for a filesystem.",
        "bmbt",
        1,
    ),
    (
        "node_xfs_block_map_btree_records_inserted_total",
        "Number of block map B-tree records inserted for a filesystem.",
        "bmbt",
        2,
    ),
    (
        "node_xfs_block_map_btree_records_deleted_total",
        "Number of block map B-tree records deleted for a filesystem.",
        "bmbt",
        3,
    ),
    (
        "node_xfs_directory_operation_lookup_total",
        "Number of file name directory lookups which miss the operating systems directory name lookup cache.",
        "dir",
        0,
    ),
    (
        "node_xfs_directory_operation_create_total",
        "Number of times a new directory entry was created for a filesystem.",
        "dir",
        1,
    ),
    (
        "node_xfs_directory_operation_remove_total",
        "Number of times an existing directory entry was created for a filesystem.",
        "dir",
        2,
    ),
    (
        "node_xfs_directory_operation_getdents_total",
        "Number of times the directory getdents operation was performed for a filesystem.",
        "dir",
        3,
    ),
    (
        "node_xfs_inode_operation_attempts_total",
        "Number of times the OS looked for an XFS inode in the inode cache.",
        "ig",
        0,
    ),
    (
        "node_xfs_inode_operation_found_total",
        "Number of times the OS looked for and found an XFS inode in the inode cache.",
        "ig",
        1,
    ),
    (
        "node_xfs_inode_operation_recycled_total",
        "Number of times the OS found an XFS inode in the cache, but could not use it as it was being recycled.",
        "ig",
        2,
    ),
    (
        "node_xfs_inode_operation_missed_total",
        "Number of times the OS looked for an XFS inode in the cache, but did not find it.",
        "ig",
        3,
    ),
    (
        "node_xfs_inode_operation_duplicates_total",
        "Number of times the OS tried to add a missing XFS inode to the inode cache, but found it had already been added by another process.",
        "ig",
        4,
    ),
    (
        "node_xfs_inode_operation_reclaims_total",
        "Number of times the OS reclaimed an XFS inode from the inode cache to free memory for another purpose.",
        "ig",
        5,
    ),
    (
        "node_xfs_inode_operation_attribute_changes_total",
        "Number of times the OS explicitly changed the attributes of an XFS inode.",
        "ig",
        6,
    ),
    (
        "node_xfs_read_calls_total",
        "Number of read(2) system calls made to files in a filesystem.",
        "rw",
        1,
    ),
    (
        "node_xfs_write_calls_total",
        "Number of write(2) system calls made to files in a filesystem.",
        "rw",
        0,
    ),
    (
        "node_xfs_vnode_active_total",
        "Number of vnodes not on free lists for a filesystem.",
        "vnodes",
        0,
    ),
    (
        "node_xfs_vnode_allocate_total",
        "Number of times vn_alloc called for a filesystem.",
        "vnodes",
        1,
    ),
    (
        "node_xfs_vnode_get_total",
        "Number of times vn_get called for a filesystem.",
        "vnodes",
        2,
    ),
    (
        "node_xfs_vnode_hold_total",
        "Number of times vn_hold called for a filesystem.",
        "vnodes",
        3,
    ),
    (
        "node_xfs_vnode_release_total",
        "Number of times vn_rele called for a filesystem.",
        "vnodes",
        4,
    ),
    (
        "node_xfs_vnode_reclaim_total",
        "Number of times vn_reclaim called for a filesystem.",
        "vnodes",
        5,
    ),
    (
        "node_xfs_vnode_remove_total",
        "Number of times vn_remove called for a filesystem.",
        "vnodes",
        6,
    ),
];

/// A stats file's numbers for line `key` (`extent_alloc 92447 97589 …`).
pub fn numbers(stats: &str, key: &str) -> Vec<f64> {
    stats
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(' '))
        .map(|rest| {
            rest.split_whitespace()
                .filter_map(|n| n.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

fn read(src: &Source<'_>) -> Result<Option<Families>, CollectError> {
    let files = src.files;
    let devices: Vec<(String, String)> = entries(files, &src.roots.sys.join("fs/xfs"))
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(name, path)| Some((name, value(files, &path.join("stats/stats"))?)))
        .collect();
    let mut f = Families::default();
    for (name, help, line, column) in SERIES {
        let family = f.counter_family(*name, *help);
        for (device, stats) in &devices {
            let v = numbers(stats, line).get(*column).copied().unwrap_or(0.0);
            family.push([("device", device.as_str())], v);
        }
    }
    Ok(Some(f))
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_a_stats_line() {
        let stats = "extent_alloc 92447 97589 92448 93751\nabt 0 0 0 0\nrw 107739 94045\n";
        assert_eq!(super::numbers(stats, "rw"), [107739.0, 94045.0]);
        assert_eq!(super::numbers(stats, "extent_alloc")[3], 93751.0);
        assert!(super::numbers(stats, "ig").is_empty());
    }
}
