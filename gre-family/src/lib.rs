//! Sans-IO `gre-family` protocol library. Work in progress: see the workspace README's feature table.
#![forbid(unsafe_code)]
