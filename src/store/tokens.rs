//! Authorization codes and tokens.
