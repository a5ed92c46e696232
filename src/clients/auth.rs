//! Client authentication at the token endpoint (filled in with the token endpoint).
