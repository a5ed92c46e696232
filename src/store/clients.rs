//! OAuth 2.0 clients (filled in by the clients module).
