/** A worker thread of one exploration split into subtrees (workers.ts). */
import { workerData } from 'node:worker_threads';
import { workerMain } from './workers.js';

await workerMain(workerData);
