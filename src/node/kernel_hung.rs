//! `kernel_hung`: tasks the kernel's hung-task detector has caught since
//! boot (`/proc/sys/kernel/hung_task_detect_count`, kernels with
//! CONFIG_DETECT_HUNG_TASK).

use super::{Families, NodeCollector, Read, Source};
use crate::collect::{CollectError, ParseError};

/// The collector.
pub static COLLECTOR: NodeCollector = NodeCollector {
    name: "kernel_hung",
    read: Read::Files(read),
};

fn read(src: &Source<'_>) -> Result<Option<Families>, CollectError> {
    let path = src.roots.proc.join("sys/kernel/hung_task_detect_count");
    let Some(text) = src.read_optional(&path)? else {
        return Ok(None);
    };
    let mut f = Families::default();
    f.counter(
        "node_kernel_hung_tasks_total",
        "Total number of tasks that have been detected as hung since the system booted.",
        count(&text)?,
    );
    Ok(Some(f))
}

/// The count in the sysctl file.
pub fn count(text: &str) -> Result<f64, ParseError> {
    text.trim().parse().map_err(|_| {
        ParseError::new(
            "/proc/sys/kernel/hung_task_detect_count",
            format!("{text:?}"),
        )
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_the_count() {
        assert_eq!(super::count("3\n").unwrap(), 3.0);
        assert!(super::count("many\n").is_err());
    }
}
