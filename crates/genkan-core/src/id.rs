//! Typed identifiers, so a visit id can never be passed where a tenant id is expected.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$doc:meta] $name:ident),* $(,)?) => {$(
        #[$doc]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl $name {
            /// The raw database value.
            pub fn get(self) -> i64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = std::num::ParseIntError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse::<i64>().map(Self)
            }
        }
    )*};
}

id_type!(
    /// A tenant (one customer company).
    TenantId,
    /// A site (an office with its own reception).
    SiteId,
    /// A staff user (admin, receptionist or host).
    UserId,
    /// An appointment.
    AppointmentId,
    /// A visitor of one appointment.
    VisitorId,
    /// A visitor's pass.
    PassId,
    /// A visit (one check-in and its check-out).
    VisitId,
    /// A paired reception kiosk.
    KioskId,
    /// A message in the notification outbox.
    MessageId,
    /// An API token.
    TokenId,
);
