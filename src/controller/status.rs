//! What `reel status` and `reel metrics` show: readiness, drive states, needs-cleaning, queue
//! depth, SCSI commands by name per device, mounts and their latency.

use std::fmt::Write;

use reel_hw::Transport;
use serde::Serialize;

use super::core::{Controller, LATENCY_BUCKETS};
use crate::discovery::Stats;

/// One drive in `status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DriveStatus {
    /// Element address.
    pub address: u16,
    /// Serial.
    pub serial: Option<String>,
    /// cli.md state name.
    pub state: &'static str,
    /// The cartridge's barcode.
    pub barcode: Option<String>,
    /// The drive asks for cleaning.
    pub needs_cleaning: bool,
    /// False once the drive went offline.
    pub online: bool,
}

/// One library in `status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LibraryStatus {
    /// Changer serial.
    pub serial: String,
    /// Its drives.
    pub drives: Vec<DriveStatus>,
    /// Library requests not yet finished.
    pub queued: usize,
}

/// Commands sent, in all and by name.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ScsiFigures {
    /// Total.
    pub commands: u64,
    /// By command name.
    pub by_command: std::collections::BTreeMap<String, u64>,
    /// Per device path.
    pub by_device: std::collections::BTreeMap<String, Stats>,
}

/// The controller part of `status`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ControllerStatus {
    /// Each library.
    pub libraries: Vec<LibraryStatus>,
    /// SCSI command counts.
    pub scsi: ScsiFigures,
    /// Mounts completed.
    pub mounts: u64,
    /// Mounts failed.
    pub mounts_failed: u64,
    /// Dismounts (cartridges put away).
    pub dismounts: u64,
}

impl<T: Transport + Send + 'static> Controller<T> {
    /// The figures of `reel status`.
    pub fn status(&self) -> ControllerStatus {
        let st = self.inner.lock();
        let libraries = st
            .models
            .iter()
            .map(|m| LibraryStatus {
                serial: m.serial.clone(),
                drives: m
                    .drives
                    .iter()
                    .map(|d| DriveStatus {
                        address: d.address,
                        serial: d.serial.clone(),
                        state: d.state.name(),
                        barcode: d.cartridge.as_ref().and_then(|c| c.barcode.clone()),
                        needs_cleaning: d.needs_cleaning,
                        online: d.online,
                    })
                    .collect(),
                queued: st.requests.queued(&m.serial),
            })
            .collect();
        let figures = st.figures.clone();
        drop(st);
        let mut scsi = ScsiFigures::default();
        for (device, stats) in self.device_stats() {
            scsi.commands += stats.commands;
            for (name, n) in &stats.by_command {
                *scsi.by_command.entry(name.clone()).or_insert(0) += n;
            }
            scsi.by_device.insert(device, stats);
        }
        ControllerStatus {
            libraries,
            scsi,
            mounts: figures.mounts,
            mounts_failed: figures.failed,
            dismounts: figures.dismounts,
        }
    }

    /// The Prometheus text exposition of the controller's figures (`ready` given by the
    /// service, which knows when start-up is over).
    pub fn metrics(&self, ready: bool) -> String {
        let s = self.status();
        let figures = self.inner.lock().figures.clone();
        let mut out = String::new();
        let esc = |v: &str| {
            v.replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n")
        };
        let _ = writeln!(
            out,
            "# HELP reel_ready 1 once discovery and registration are done."
        );
        let _ = writeln!(out, "# TYPE reel_ready gauge");
        let _ = writeln!(out, "reel_ready {}", u8::from(ready));
        let _ = writeln!(
            out,
            "# HELP reel_uptime_seconds Seconds since the controller started."
        );
        let _ = writeln!(out, "# TYPE reel_uptime_seconds gauge");
        let _ = writeln!(
            out,
            "reel_uptime_seconds {:.3}",
            self.started().elapsed().as_secs_f64()
        );
        let _ = writeln!(
            out,
            "# HELP reel_drive_state Drive state (1 for the current one)."
        );
        let _ = writeln!(out, "# TYPE reel_drive_state gauge");
        for l in &s.libraries {
            for d in &l.drives {
                let _ = writeln!(
                    out,
                    "reel_drive_state{{library=\"{}\",drive=\"{}\",serial=\"{}\",state=\"{}\"}} 1",
                    esc(&l.serial),
                    d.address,
                    esc(d.serial.as_deref().unwrap_or("")),
                    d.state
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP reel_drive_needs_cleaning 1 when the drive asks for cleaning."
        );
        let _ = writeln!(out, "# TYPE reel_drive_needs_cleaning gauge");
        for l in &s.libraries {
            for d in &l.drives {
                let _ = writeln!(
                    out,
                    "reel_drive_needs_cleaning{{library=\"{}\",drive=\"{}\"}} {}",
                    esc(&l.serial),
                    d.address,
                    u8::from(d.needs_cleaning)
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP reel_queue_depth Library requests not yet finished."
        );
        let _ = writeln!(out, "# TYPE reel_queue_depth gauge");
        for l in &s.libraries {
            let _ = writeln!(
                out,
                "reel_queue_depth{{library=\"{}\"}} {}",
                esc(&l.serial),
                l.queued
            );
        }
        let _ = writeln!(
            out,
            "# HELP reel_scsi_commands_total SCSI commands sent, by device and command."
        );
        let _ = writeln!(out, "# TYPE reel_scsi_commands_total counter");
        for (device, stats) in &s.scsi.by_device {
            for (name, n) in &stats.by_command {
                let _ = writeln!(
                    out,
                    "reel_scsi_commands_total{{device=\"{}\",command=\"{}\"}} {n}",
                    esc(device),
                    esc(name)
                );
            }
        }
        let _ = writeln!(out, "# HELP reel_mounts_total Mounts completed.");
        let _ = writeln!(out, "# TYPE reel_mounts_total counter");
        let _ = writeln!(out, "reel_mounts_total {}", figures.mounts);
        let _ = writeln!(out, "# HELP reel_mounts_failed_total Mounts that failed.");
        let _ = writeln!(out, "# TYPE reel_mounts_failed_total counter");
        let _ = writeln!(out, "reel_mounts_failed_total {}", figures.failed);
        let _ = writeln!(out, "# HELP reel_dismounts_total Cartridges put away.");
        let _ = writeln!(out, "# TYPE reel_dismounts_total counter");
        let _ = writeln!(out, "reel_dismounts_total {}", figures.dismounts);
        let _ = writeln!(
            out,
            "# HELP reel_mount_latency_seconds Time from a mount call to a ready drive."
        );
        let _ = writeln!(out, "# TYPE reel_mount_latency_seconds histogram");
        let mut cumulative = 0;
        for (i, bound) in LATENCY_BUCKETS.iter().enumerate() {
            cumulative += figures.buckets[i];
            let _ = writeln!(
                out,
                "reel_mount_latency_seconds_bucket{{le=\"{bound}\"}} {cumulative}"
            );
        }
        cumulative += figures.buckets[LATENCY_BUCKETS.len()];
        let _ = writeln!(
            out,
            "reel_mount_latency_seconds_bucket{{le=\"+Inf\"}} {cumulative}"
        );
        let _ = writeln!(
            out,
            "reel_mount_latency_seconds_sum {:.6}",
            figures.latency_sum.as_secs_f64()
        );
        let _ = writeln!(out, "reel_mount_latency_seconds_count {cumulative}");
        out
    }
}
