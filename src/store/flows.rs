//! Login/consent flow markers and sessions.
