/**
 * The overlay's public surface: HyParView partial views, Plumtree broadcast trees and peer sampling,
 * as pure state machines (drive them with an OverlayOutbox; the composed node runs them with
 * `membership: 'hyparview'`, src/node/overlay-mode.ts).
 */
export { HyParView } from './hyparview.js'
export type { HyParViewOptions, HyParViewCounters, HyParViewOutbox } from './hyparview.js'
export { Plumtree, messageIdOf } from './plumtree.js'
export type { PlumtreeOptions, PlumtreeCounters, PlumtreeOutbox } from './plumtree.js'
export { resolveHyParViewConfig, resolvePlumtreeConfig, DEFAULT_HYPARVIEW_CONFIG, DEFAULT_PLUMTREE_CONFIG } from './config.js'
export type { HyParViewConfig, PlumtreeConfig, PlumtreeMode } from './config.js'
export { encodeOverlayMessage, decodeOverlayMessage } from './messages.js'
export type { OverlayMessage, HyParViewMessage, PlumtreeMessage, IHaveEntry } from './messages.js'
export { CollectingOverlayOutbox, PEER_ID_MAX_BYTES } from './types.js'
export type {
  PeerId,
  OverlayOutbox,
  NeighborDownCause,
  HyParViewEvent,
  HyParViewTimer,
  PlumtreeDelivery,
  PlumtreeEvent,
  PlumtreeTimer,
  PeerSampling,
} from './types.js'
