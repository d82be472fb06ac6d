export * from './value.js';
export * from './op.js';
export * from './property.js';
export * from './trace.js';
export * from './execution.js';
export * from './schedule.js';
export * from './prng.js';
export * from './heap.js';
