//! What can go wrong, each with its exit code (README, "CLI"):
//!
//! | code | meaning |
//! | --- | --- |
//! | 0 | done |
//! | 1 | the server refused the request (not found, conflict, invalid input) or a local step failed |
//! | 2 | the command line is wrong (unknown flag, missing argument, bad value) |
//! | 3 | the endpoint cannot be reached (DNS, connection refused, timeout, TLS) |
//! | 4 | authentication failed (admin token or client credentials refused) |
//! | 5 | the server failed (HTTP 5xx) |

use std::fmt;

#[derive(Debug)]
pub enum Error {
    Failed(String),
    Usage(String),
    Unreachable(String),
    Unauthorized(String),
    Server(String),
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Failed(_) => 1,
            Error::Usage(_) => 2,
            Error::Unreachable(_) => 3,
            Error::Unauthorized(_) => 4,
            Error::Server(_) => 5,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Failed(m) | Error::Usage(m) | Error::Unreachable(m) | Error::Unauthorized(m) | Error::Server(m) => {
                f.write_str(m)
            }
        }
    }
}
