//! Sans-IO `ptp` protocol library. Work in progress: see the workspace README's feature table.
#![forbid(unsafe_code)]
