//! Router tests without a socket, and a server test on port 0.
