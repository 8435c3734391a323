//! The Linux backend: `/dev/sg*` through the `SG_IO` ioctl, devices found in sysfs.
