//! logwarden-generator
