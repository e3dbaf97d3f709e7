//! Devices on the warehouse floor: serial scales (Mettler Toledo MT-SICS, NCI SCP-12) and label printers
//! that take raw ZPL over TCP.

pub mod printer;
pub mod scale;
