/**
 * JSON Schemas (draft 2020-12) of ptlab's files, made by zod 4's z.toJSONSchema(): the scenario
 * file (from the schema the loader validates with), and the result documents `--json` prints
 * (from zod schemas of them here, which test/schemas.test.ts holds real output to). `npm run
 * schemas` writes them to schemas/*.json for editors (`# yaml-language-server: $schema=...`)
 * and other tools; docs/json.md documents the results field by field.
 *
 * The result schemas say what a consumer may rely on: every documented field, typed; objects
 * accept fields added later (a new field is not a new version; a changed one is).
 */
import { z } from 'zod';
import { BARE_STEPS, STEP_ARGS, STEP_KINDS, scenarioSchema, stepSchema } from './scenarios/schema.js';

type JsonSchema = Record<string, unknown>;

/** A step, as JSON Schema: the loader validates it by hand (for its messages), so say it here. */
function stepJsonSchema(): JsonSchema {
  const withArgs = Object.entries(STEP_ARGS).map(([key, arg]) => {
    const { $schema: _, ...inner } = z.toJSONSchema(arg, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
    return { type: 'object', properties: { [key]: inner }, required: [key], additionalProperties: false };
  });
  return {
    description: `a step: one of ${STEP_KINDS.join(', ')} (e.g. 'idle', '{ munmap: heap }', '{ gup_fast: { slot: 0 } }')`,
    anyOf: [{ type: 'string', enum: [...BARE_STEPS] }, ...withArgs],
  };
}

/** The JSON Schema of a scenario file (what it may contain: defaults are optional). */
export function scenarioJsonSchema(): JsonSchema {
  return {
    ...z.toJSONSchema(scenarioSchema, {
      io: 'input',
      unrepresentable: 'any',
      override: (ctx) => {
        if (ctx.zodSchema === stepSchema) {
          for (const k of Object.keys(ctx.jsonSchema)) delete (ctx.jsonSchema as JsonSchema)[k];
          Object.assign(ctx.jsonSchema, stepJsonSchema());
        }
      },
    }),
    title: 'ptlab scenario',
  };
}

// ---- results ----

const nullable = <T extends z.ZodType>(t: T) => t.nullable();
const loc = z.string();

const violation = z.looseObject({
  property: z.string(),
  step: z.int(),
  message: z.string(),
  details: z.record(z.string(), z.unknown()),
});

const counterexample = z.looseObject({
  violation: nullable(violation),
  schedule: z.string().describe("one-line schedule for ptlab replay --schedule"),
  blocked: z.array(z.int()),
  threads: z.array(z.looseObject({ id: z.int(), name: z.string(), kind: z.enum(['task', 'irq', 'agent']), cpu: z.int().nullable() })),
  steps: z.array(z.looseObject({
    index: z.int(),
    thread: z.int(),
    cpu: z.int().nullable(),
    kind: z.enum(['access', 'choose', 'spawn', 'irq-entry', 'irq-exit']),
    fn: z.string(),
    desc: z.string(),
    note: z.string().optional(),
    choice: z.looseObject({ index: z.int(), option: z.string(), key: z.string() }).optional(),
    spawned: z.int().optional(),
    reads: z.array(loc),
    writes: z.array(z.looseObject({ loc, value: z.unknown() })),
    events: z.array(z.looseObject({ type: z.string() })),
  })),
});

const verdictStatus = z.enum(['holds', 'violated', 'no-violation-found']);

/** The resolved scenario every result echoes (ResolvedScenario). */
const resolvedScenario = z.looseObject({
  name: z.string(),
  description: z.string(),
  file: z.string(),
  arch: z.string(),
  cpus: z.int(),
  preset: z.string().nullable(),
  config: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
  mm: z.record(z.string(), z.looseObject({ name: z.string(), vmas: z.array(z.looseObject({ name: z.string(), start: z.int(), end: z.int() })) })),
  cpu: z.array(z.looseObject({
    cpu: z.int(),
    mm: z.string().nullable(),
    lazy: z.boolean(),
    mode: z.string(),
    tlb: z.string(),
    run: z.array(z.string()),
    repeat: z.union([z.int(), z.literal('forever')]),
    walks: z.array(z.looseObject({ slot: z.int(), page: z.int(), times: z.int() })),
    vcpu_preemptible: z.boolean(),
  })),
  invariants: z.array(z.string()),
  max_steps: z.int(),
  memory_model: z.enum(['sc', 'tso']).optional(),
});

export const checkResultSchema = z.looseObject({
  schema: z.literal('ptlab.check/2'),
  scenario: resolvedScenario,
  mode: z.union([
    z.looseObject({ kind: z.literal('exhaustive') }),
    z.looseObject({ kind: z.literal('bounded'), preemptions: z.int() }),
    z.looseObject({ kind: z.literal('random'), executions: z.int(), seed: z.int(), depth: z.int().optional() }),
  ]),
  reduction: z.enum(['dpor', 'source-dpor', 'none']),
  exhaustive: z.boolean(),
  stopped: z.enum(['all-violated', 'first-violation', 'max-executions', 'interrupted']).nullable(),
  explored: z.number().min(0).max(1).nullable(),
  stats: z.looseObject({
    executions: z.int(),
    complete: z.int(),
    sleepBlocked: z.int(),
    deadlocks: z.int(),
    steps: z.int(),
    // Left out since one exploration can be split over threads (src/engines/check/subtree.ts):
    // they count work that depends on where each subtree ran. Still accepted from older output.
    replayed: z.int().optional(),
    rerun: z.int().optional(),
    maxDepth: z.int(),
  }),
  verdicts: z.array(z.looseObject({
    id: z.string(),
    title: z.string(),
    status: verdictStatus,
    expected: z.enum(['holds', 'violated']).nullable(),
    match: z.boolean(),
    counterexample: counterexample.nullable(),
  })),
  deadlock: z.looseObject({ expected: z.boolean().nullable(), found: z.boolean(), match: z.boolean(), counterexample: counterexample.nullable() }),
  ok: z.boolean(),
}).meta({ title: 'ptlab.check/2: the result of checking one scenario (ptlab check --json)' });

export const catalogResultSchema = z.looseObject({
  schema: z.literal('ptlab.catalog/2'),
  results: z.array(checkResultSchema),
  ok: z.boolean(),
}).meta({ title: 'ptlab.catalog/2: the results of checking a catalog (ptlab check --catalog --json)' });

const latency = z.looseObject({ count: z.int(), last: z.number(), min: z.number(), avg: z.number(), p50: z.number(), p99: z.number(), max: z.number() });

const simFields = {
  scenario: resolvedScenario,
  sim: z.looseObject({
    profile: z.string(),
    params: z.record(z.string(), z.number()),
    cstates: z.array(z.string()),
    chance: z.looseObject({}),
    duration: z.number(),
    work: z.int().nullable(),
    jitter: z.number(),
    stalls: z.looseObject({ rate: z.number(), duration: z.number() }),
    seed: z.int(),
  }),
  time_ns: z.number(),
  steps: z.int(),
  stop: z.enum(['until', 'idle', 'max-steps', 'done']),
  complete: z.boolean(),
  metrics: z.looseObject({
    cpus: z.int(),
    interrupts: z.array(z.looseObject({ CAL: z.int(), TLB: z.int() })),
    ipisSent: z.array(z.int()),
    irqTime: z.array(z.number()),
    operations: z.record(z.string(), latency),
    wakeups: z.record(z.string(), z.looseObject({})),
    gracePeriods: z.looseObject({ count: z.int(), duration: latency.nullable() }),
    pendingFree: z.looseObject({ peak: z.int(), mean: z.number(), samples: z.array(z.tuple([z.number(), z.number()])) }),
    tablesFreed: z.int(),
    smpCalls: z.record(z.string(), z.int()),
    ipisByOp: z.record(z.string(), z.looseObject({ CAL: z.array(z.int()), TLB: z.array(z.int()), irqTime: z.array(z.number()) })),
    cpuidle: z.array(z.looseObject({ policy: z.string(), states: z.record(z.string(), z.looseObject({ time: z.number(), usage: z.int() })) })),
  }),
  violations: z.array(violation),
};

export const simResultSchema = z.looseObject({ schema: z.literal('ptlab.sim/1'), ...simFields })
  .meta({ title: 'ptlab.sim/1: the measurements of one simulation (ptlab sim --json)' });

export const compareResultSchema = z.looseObject({
  schema: z.literal('ptlab.compare/2'),
  mode: z.union([z.looseObject({ work: z.int(), time_limit_ns: z.number() }), z.looseObject({ duration_ns: z.number() })]),
  seeds: z.array(z.int()),
  strategies: z.array(z.string()),
  rows: z.array(z.looseObject({
    label: z.string(),
    cells: z.record(z.string(), z.looseObject({
      values: z.array(z.number().nullable()),
      mean: z.number().nullable(),
      ci95: z.number().nullable(),
      differs_from_first: z.boolean().nullable(),
    })),
  })),
  runs: z.array(z.looseObject({ strategy: z.string(), seed: z.int(), ...simFields, schema: z.literal('ptlab.sim/1') })),
}).meta({ title: 'ptlab.compare/2: strategies compared on the same work (ptlab compare --json)' });

const nsOrNull = z.number().nullable();
const stepOrNull = z.int().nullable();

export const timedReplayResultSchema = z.looseObject({
  schema: z.literal('ptlab.timed-replay/1'),
  scenario: resolvedScenario,
  schedule: z.string(),
  sim: simFields.sim,
  time_ns: z.number(),
  window: z.looseObject({
    property: z.string(),
    message: z.string(),
    table: z.string().nullable(),
    steps: z.looseObject({ unhook: stepOrNull, free: stepOrNull, read: z.int() }),
    at: z.looseObject({ unhook: nsOrNull, free: nsOrNull, read: z.number() }),
    unhookToFree: nsOrNull,
    freeToRead: nsOrNull,
    unhookToRead: nsOrNull,
  }).nullable(),
  cpus: z.array(z.looseObject({ cpu: z.int(), CAL: z.int(), TLB: z.int(), sent: z.int(), irqTime: z.number(), blocked: z.number(), busy: z.number() })),
  interrupts: z.array(z.looseObject({ CAL: z.int(), TLB: z.int() })),
  operations: z.record(z.string(), latency),
  steps: z.array(z.looseObject({ index: z.int(), thread: z.int(), cpu: z.int().nullable(), fn: z.string(), desc: z.string(), start_ns: z.number(), end_ns: z.number() })),
}).meta({ title: 'ptlab.timed-replay/1: a schedule replayed in time (ptlab replay --timed --json)' });

export const estimateResultSchema = z.looseObject({
  schema: z.literal('ptlab.estimate/1'),
  scenario: z.string(),
  reduction: z.enum(['dpor', 'source-dpor', 'none']),
  identical: z.array(z.int()),
  runs: z.array(z.looseObject({ kept: z.int(), executions: z.int(), exhaustive: z.boolean() })),
  growth: z.number().nullable(),
  executions: z.number().nullable(),
  why: z.string().nullable(),
}).meta({ title: 'ptlab.estimate/1: the size of an exhaustive check, extrapolated from smaller runs (ptlab check --estimate --json)' });

/** The result schemas by file name under schemas/. */
export const RESULT_SCHEMAS = {
  'check-result': checkResultSchema,
  'catalog-result': catalogResultSchema,
  'sim-result': simResultSchema,
  'compare-result': compareResultSchema,
  'timed-replay-result': timedReplayResultSchema,
  'estimate-result': estimateResultSchema,
} as const;

/** The JSON Schemas of the result documents, by file name under schemas/ (without .json). */
export function resultJsonSchemas(): Record<keyof typeof RESULT_SCHEMAS, JsonSchema> {
  return Object.fromEntries(Object.entries(RESULT_SCHEMAS).map(([name, s]) => [name, {
    ...z.toJSONSchema(s, { io: 'output', unrepresentable: 'any' }),
  }])) as unknown as Record<keyof typeof RESULT_SCHEMAS, JsonSchema>;
}

/** The files of schemas/, by name, as `npm run schemas` writes them. */
export function schemaFiles(): Record<string, string> {
  const all: Record<string, JsonSchema> = { scenario: scenarioJsonSchema(), ...resultJsonSchemas() };
  return Object.fromEntries(Object.entries(all).map(([name, s]) => [`${name}.json`, `${JSON.stringify(s, null, 2)}\n`]));
}
