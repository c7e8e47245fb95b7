//! Types that cross the network between server and kiosk, versioned by module.

pub mod v1;
