//! logwarden-indexer
