/**
 * The deterministic simulator (`grapevine/sim`): a virtual network, a simulation of many nodes under
 * one virtual clock, scenarios with fault steps, and their reports.
 */
export { Simulation, SimulationError, NETWORK_SEED_INDEX, CONTROL_SEED_INDEX, SCENARIO_SEED_INDEX } from './simulation.js'
export type { SimulationOptions, SpawnOptions, SimObserver, FaultKind, FaultRecord, SimulationStats } from './simulation.js'
export { SimNode } from './node.js'
export type { NodeStatus, NodeCounters, RecordedEvent } from './node.js'
export { Network, NetworkOptionsError, DEFAULT_NETWORK, resolveNetworkOptions, Fate, MAX_NODE_ID } from './network.js'
export type { LinkOptions, NetworkOptions, NetworkOptionsInput, NetworkStats } from './network.js'
export { createNode } from './protocol.js'
export type { SimProtocol, ProtocolFactory, ProtocolOptions, SimOutbox } from './protocol.js'
export { ViewTracker, checkConvergence } from './checkers.js'
export type { DetectionRecord, ConvergenceCheck } from './checkers.js'
export { runScenario, formatStep, formatDurationMs, formatNames, defaultSettleMaxMs, aftermathWindowMs, PROFILE_LATENCY_MS } from './scenario.js'
export type { ScenarioOptions, ScenarioStep, NodePick, Repeat, NetworkChange, LinkScope } from './scenario.js'
export { TimeSeriesSampler } from './timeseries.js'
export type { TimeSeries } from './timeseries.js'
export { formatReport } from './report.js'
export type { Report, DetectionReport } from './report.js'
export type { TraceSink } from './trace.js'
export { StackWorkload, Hash64, stateDigest, WORKLOAD_SEED_INDEX, CHECK_EVERY_MS } from './workload.js'
export type { WorkloadOptions, WorkloadReport, BroadcastDeliveryReport } from './workload.js'
export type { WorkloadSummary } from './report.js'
