//! placeholder
pub struct Simulator;
pub struct SimulatorConfig;
