//! `reel discover`: read every changer and drive and print the library as it is.

use std::io::{self, Write};
use std::sync::Arc;

use reel::discovery::{write_report_with, DiscoverOptions, Inventory, Stats};

use super::args::DiscoverArgs;
use super::devices;
use super::Failure;

/// Runs the command.
pub fn run(args: DiscoverArgs, json: bool) -> Result<(), Failure> {
    let progress: Arc<dyn Fn(&str) + Send + Sync> = Arc::new(|line: &str| {
        let _ = writeln!(io::stderr(), "{line}");
    });
    let opts = DiscoverOptions {
        rescan: args.rescan,
        progress: Some(progress),
        ..DiscoverOptions::default()
    };
    let mut inv = devices::discover(&args.devices, opts)?;
    for w in &inv.warnings {
        let _ = writeln!(io::stderr(), "warning: {w}");
    }
    let stats = inv.stats.take();
    if args.stats {
        inv.stats.clone_from(&stats);
    }
    print(&inv, json, args.all)?;
    if args.stats {
        if let Some(s) = &stats {
            print_stats(s)?;
        }
    }
    Ok(())
}

fn print(inv: &Inventory, json: bool, all: bool) -> Result<(), Failure> {
    if json {
        devices::print_doc(inv)
    } else {
        // The whole report in memory, then one write: stdout is line-buffered.
        let mut buf = Vec::with_capacity(1 << 16);
        write_report_with(&mut buf, inv, all)?;
        let mut out = io::stdout().lock();
        out.write_all(&buf)?;
        out.flush()?;
        Ok(())
    }
}

/// The `--stats` lines of cli.md, on stderr after the report.
fn print_stats(s: &Stats) -> Result<(), Failure> {
    let mut err = io::stderr().lock();
    writeln!(
        err,
        "stats: {} SCSI commands, {:.1} ms in devices",
        s.commands, s.device_ms
    )?;
    for (name, n) in &s.by_command {
        writeln!(err, "  {name}: {n}")?;
    }
    Ok(())
}
