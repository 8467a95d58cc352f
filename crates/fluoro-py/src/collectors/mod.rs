//! The collectors that run inside the target: the GIL-free CPU sampler and the exact profile
//! hook. Each produces records of `fluoro-profile`; the session streams them to the profile.

pub mod exact;
