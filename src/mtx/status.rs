//! `status`, byte for byte as mtx 1.3.12 prints it (mtx-front.md §3).

use std::fmt::Write as _;

use super::view::View;

/// The `status` text of `view` for device `dev` (printed verbatim in the header). With
/// `barcodes` false (`nobarcode`) no volume tag is printed.
pub fn render(dev: &str, view: &View, barcodes: bool) -> String {
    let mut out = String::with_capacity(64 + 80 * (view.drives.len() + view.slots.len()));
    let _ = writeln!(
        out,
        "  Storage Changer {dev}:{} Drives, {} Slots ( {} Import/Export )",
        view.drives.len(),
        view.slots.len(),
        view.import_export_count()
    );
    for (n, d) in view.drives.iter().enumerate() {
        let _ = write!(out, "Data Transfer Element {n}:");
        if d.full {
            match d.source {
                Some(i) => {
                    let _ = write!(out, "Full (Storage Element {} Loaded)", i + 1);
                }
                None => out.push_str("Full (Unknown Storage Element Loaded)"),
            }
            if barcodes && !d.tag.is_empty() {
                let _ = write!(out, ":VolumeTag = {}", d.tag);
            }
        } else {
            out.push_str("Empty");
        }
        out.push('\n');
    }
    for (n, s) in view.slots.iter().enumerate() {
        let _ = write!(
            out,
            "      Storage Element {}{}:{}",
            n + 1,
            if s.import_export {
                " IMPORT/EXPORT"
            } else {
                ""
            },
            if s.full { "Full " } else { "Empty" }
        );
        if barcodes && !s.tag.is_empty() {
            let _ = write!(out, ":VolumeTag={}", s.tag);
        }
        out.push('\n');
    }
    out
}
