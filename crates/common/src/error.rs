//! The shape of every library crate's error: a kind the caller matches on (the binary maps it
//! to an exit status, a server to an HTTP status) and a message naming the file, request or
//! document and why, without trailing period. [`kinded_error!`](crate::kinded_error) writes it
//! once; each crate keeps its own `ErrorKind` and its own helper constructors.

/// Defines `struct $name { kind: $kind, message: String }` with `new`, `kind`, `message`,
/// `Display` (the message) and `std::error::Error`.
#[macro_export]
macro_rules! kinded_error {
    ($(#[$meta:meta])* $vis:vis struct $name:ident($kind:ty);) => {
        $(#[$meta])*
        #[derive(Debug)]
        $vis struct $name {
            kind: $kind,
            message: String,
        }

        impl $name {
            /// Builds an error of `kind` with `message`.
            pub fn new(kind: $kind, message: impl Into<String>) -> Self {
                Self {
                    kind,
                    message: message.into(),
                }
            }

            /// What went wrong, coarsely enough to decide what to do about it.
            pub fn kind(&self) -> $kind {
                self.kind
            }

            /// The message: names the file, request or document, and why.
            pub fn message(&self) -> &str {
                &self.message
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(&self.message)
            }
        }

        impl ::std::error::Error for $name {}
    };
}

#[cfg(test)]
mod tests {
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum Kind {
        Io,
    }

    kinded_error! {
        /// A test error.
        struct Failure(Kind);
    }

    #[test]
    fn the_error_shows_its_message_and_keeps_its_kind() {
        let e = Failure::new(Kind::Io, "a.json: cannot read: gone");
        assert_eq!(e.kind(), Kind::Io);
        assert_eq!(e.message(), "a.json: cannot read: gone");
        assert_eq!(e.to_string(), "a.json: cannot read: gone");
        let boxed: Box<dyn std::error::Error> = Box::new(e);
        assert_eq!(boxed.to_string(), "a.json: cannot read: gone");
    }
}
