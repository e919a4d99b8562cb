//! logwarden-query-api
