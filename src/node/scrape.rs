//! One scrape's view of the kinds' samples: each is taken at most once per
//! scrape however many collectors derive from it (at a TTL of 0 a kind's
//! cache would read its source again for each of them).

use std::sync::Arc;

use tokio::sync::OnceCell;

use crate::collect::CollectError;
use crate::collect::disks::DiskTable;
use crate::collect::metrics::Metrics;
use crate::collect::pressure::PressureReading;
use crate::collect::processes::ProcessTable;
use crate::collect::tcp_states::TcpStates;
use crate::kinds::arrays::{self, Arrays};
use crate::kinds::cpu_frequency::{self, Frequencies};
use crate::kinds::disk_io::{self, DiskIo};
use crate::kinds::interfaces::{self, Interfaces};
use crate::kinds::power::{self, Power};
use crate::kinds::sensors::{self, Chips};
use crate::kinds::sockets::{self, Sockstats};
use crate::kinds::{disks, metrics, pressure, processes};
use crate::state::{AppState, Shared};

/// The samples one scrape has taken so far.
#[derive(Debug)]
pub struct Scrape<'a> {
    /// The server.
    pub state: &'a AppState,
    metrics: OnceCell<Shared<Metrics>>,
    disks: OnceCell<Shared<DiskTable>>,
    processes: OnceCell<Shared<Arc<ProcessTable>>>,
    disk_io: OnceCell<Shared<DiskIo>>,
    interfaces: OnceCell<Shared<Interfaces>>,
    pressure: OnceCell<Shared<PressureReading>>,
    sockstats: OnceCell<Shared<Sockstats>>,
    tcp: OnceCell<Shared<Option<TcpStates>>>,
    sensors: OnceCell<Shared<Chips>>,
    power: OnceCell<Shared<Power>>,
    cpu_frequency: OnceCell<Shared<Frequencies>>,
    arrays: OnceCell<Shared<Arrays>>,
}

impl<'a> Scrape<'a> {
    /// A scrape that has taken nothing yet.
    pub fn new(state: &'a AppState) -> Scrape<'a> {
        Scrape {
            state,
            metrics: OnceCell::new(),
            disks: OnceCell::new(),
            processes: OnceCell::new(),
            disk_io: OnceCell::new(),
            interfaces: OnceCell::new(),
            pressure: OnceCell::new(),
            sockstats: OnceCell::new(),
            tcp: OnceCell::new(),
            sensors: OnceCell::new(),
            power: OnceCell::new(),
            cpu_frequency: OnceCell::new(),
            arrays: OnceCell::new(),
        }
    }

    /// The metrics sample (CPU, memory, network counters, load).
    pub async fn metrics(&self) -> Result<&Shared<Metrics>, CollectError> {
        self.metrics
            .get_or_try_init(|| metrics::sample(self.state))
            .await
    }

    /// The disks sample (mounts and their statvfs).
    pub async fn disks(&self) -> Result<&Shared<DiskTable>, CollectError> {
        self.disks
            .get_or_try_init(|| disks::sample(self.state))
            .await
    }

    /// The process scan.
    pub async fn processes(&self) -> Result<&Shared<Arc<ProcessTable>>, CollectError> {
        self.processes
            .get_or_try_init(|| processes::sample(self.state))
            .await
    }

    /// Block device I/O.
    pub async fn disk_io(&self) -> Result<&Shared<DiskIo>, CollectError> {
        self.disk_io
            .get_or_try_init(|| disk_io::sample(self.state))
            .await
    }

    /// Network interfaces, from this scrape's metrics sample.
    pub async fn interfaces(&self) -> Result<&Shared<Interfaces>, CollectError> {
        self.interfaces
            .get_or_try_init(|| async {
                let m = self.metrics().await?.clone();
                interfaces::sample_with(self.state, Some(m)).await
            })
            .await
    }

    /// Pressure stall information.
    pub async fn pressure(&self) -> Result<&Shared<PressureReading>, CollectError> {
        self.pressure
            .get_or_try_init(|| pressure::sample(self.state))
            .await
    }

    /// The sockstat files.
    pub async fn sockstats(&self) -> Result<&Shared<Sockstats>, CollectError> {
        self.sockstats
            .get_or_try_init(|| sockets::sockstats(self.state))
            .await
    }

    /// TCP connections per state.
    pub async fn tcp(&self) -> Result<&Shared<Option<TcpStates>>, CollectError> {
        self.tcp.get_or_try_init(|| sockets::tcp(self.state)).await
    }

    /// The hwmon chips.
    pub async fn sensors(&self) -> Result<&Shared<Chips>, CollectError> {
        self.sensors
            .get_or_try_init(|| sensors::sample(self.state))
            .await
    }

    /// Power supplies and RAPL zones.
    pub async fn power(&self) -> Result<&Shared<Power>, CollectError> {
        self.power
            .get_or_try_init(|| power::sample(self.state))
            .await
    }

    /// CPU frequencies.
    pub async fn cpu_frequency(&self) -> Result<&Shared<Frequencies>, CollectError> {
        self.cpu_frequency
            .get_or_try_init(|| cpu_frequency::sample(self.state))
            .await
    }

    /// md arrays and ZFS.
    pub async fn arrays(&self) -> Result<&Shared<Arrays>, CollectError> {
        self.arrays
            .get_or_try_init(|| arrays::sample(self.state))
            .await
    }
}
