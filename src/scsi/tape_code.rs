//! `open_code!`: open newtypes for the tape command set's wire codes.
//!
//! A wire code is a newtype over its integer with named constants. Unknown values pass through
//! intact; `Debug` and `Display` print the name, or the type and hex value for one the table
//! does not know.

/// Declares an open newtype over an integer wire code with named constants, a `name()` lookup,
/// a `KNOWN` table (for round-trip tests and listings) and name-printing `Debug`/`Display`.
macro_rules! open_code {
    (
        $(#[$meta:meta])*
        $name:ident($ty:ty) {
            $( $(#[$cmeta:meta])* $konst:ident = $val:expr => $text:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub $ty);

        impl $name {
            $( $(#[$cmeta])* pub const $konst: $name = $name($val); )*

            /// Every value this table names.
            pub const KNOWN: &'static [$name] = &[$($name::$konst),*];

            /// The value's name, or `None` for a value this table does not know.
            pub fn name(self) -> Option<&'static str> {
                match self {
                    $( $name::$konst => Some($text), )*
                    _ => None,
                }
            }
        }

        impl ::std::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                match self.name() {
                    Some(n) => f.write_str(n),
                    None => write!(
                        f,
                        concat!(stringify!($name), "({:#0w$x})"),
                        self.0,
                        w = 2 + 2 * ::std::mem::size_of::<$ty>()
                    ),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                ::std::fmt::Debug::fmt(self, f)
            }
        }

        impl From<$ty> for $name {
            fn from(v: $ty) -> Self {
                $name(v)
            }
        }

        impl From<$name> for $ty {
            fn from(v: $name) -> Self {
                v.0
            }
        }
    };
}

pub(crate) use open_code;

#[cfg(test)]
mod tests {
    open_code! {
        /// A test code.
        Sample(u16) {
            /// One.
            ONE = 0x0001 => "one",
            /// Big.
            BIG = 0x0821 => "big",
        }
    }

    #[test]
    fn names_round_trip_and_unknown_values_pass_through() {
        for &c in Sample::KNOWN {
            assert_eq!(Sample::from(u16::from(c)), c);
            assert_eq!(format!("{c:?}"), c.name().unwrap());
        }
        let cases: &[(u16, &str)] = &[
            (0x0001, "one"),
            (0x0821, "big"),
            (0x0002, "Sample(0x0002)"),
            (0xffff, "Sample(0xffff)"),
        ];
        for &(v, want) in cases {
            assert_eq!(format!("{:?}", Sample(v)), want);
            assert_eq!(Sample(v).to_string(), want);
            assert_eq!(Sample(v).0, v);
        }
    }
}
