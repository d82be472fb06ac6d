/**
 * What the explorer's page and its worker say to each other, and the worker's side of it as a
 * plain function (handleRequest), so that tests run the worker's code path without a browser.
 */
import { checkYaml, exploreChoices, renderResultText, replayTimedYaml, replayYaml, validateYaml, ExploreLimitError, ModelError, ScenarioError, ScheduleSyntaxError, SimConfigError, StepLimitError, type CheckMode, type ExploreReplay } from '../api/explore.js';

export interface ScenarioRef {
  readonly yaml: string;
  /** The scenario's name in messages and results (its path, as the CLI would name it). */
  readonly file: string;
  readonly preset?: string;
  readonly set?: readonly string[];
}

export type WorkerRequest =
  | { readonly id: number; readonly type: 'choices' }
  | ({ readonly id: number; readonly type: 'validate' } & ScenarioRef)
  | ({ readonly id: number; readonly type: 'check'; readonly mode?: CheckMode; readonly first?: boolean; readonly shortest?: boolean; readonly maxExecutions?: number } & ScenarioRef)
  | ({ readonly id: number; readonly type: 'replay'; readonly schedule: string } & ScenarioRef)
  | ({ readonly id: number; readonly type: 'timed'; readonly schedule: string; readonly profile?: string } & ScenarioRef)
  /** A result file (`ptlab sim --json`, `compare --json`) as the CLI's text; null for another schema. */
  | { readonly id: number; readonly type: 'render'; readonly doc: unknown; readonly file: string };

export type WorkerReply =
  | { readonly id: number; readonly type: 'progress'; readonly executions: number }
  | { readonly id: number; readonly type: 'result'; readonly value: unknown }
  | { readonly id: number; readonly type: 'replay'; readonly value: ExploreReplay }
  /** Bad input (exit 2 on the command line): the message as the CLI prints it. */
  | { readonly id: number; readonly type: 'error'; readonly message: string; readonly issues?: ReadonlyArray<{ line: number | null; col: number | null; message: string }> };

/** Handle one request; replies go to `post` (progress first, then one result or error). */
export async function handleRequest(req: WorkerRequest, post: (m: WorkerReply) => void): Promise<void> {
  try {
    switch (req.type) {
      case 'choices':
        post({ id: req.id, type: 'result', value: exploreChoices() });
        return;
      case 'validate':
        post({ id: req.id, type: 'result', value: validateYaml(req.yaml, req.file, req) });
        return;
      case 'check': {
        let last = -1;
        const r = await checkYaml(req.yaml, req.file, {
          ...req,
          onProgress: (n) => {
            // At most one message per 64 executions: the page redraws, it need not see each one.
            if (n - last >= 64 || last < 0) {
              last = n;
              post({ id: req.id, type: 'progress', executions: n });
            }
          },
        });
        post({ id: req.id, type: 'result', value: r.json });
        return;
      }
      case 'replay':
        post({ id: req.id, type: 'replay', value: replayYaml(req.yaml, req.file, req.schedule, req) });
        return;
      case 'render':
        post({ id: req.id, type: 'result', value: renderResultText(req.doc, req.file) });
        return;
      case 'timed':
        post({ id: req.id, type: 'result', value: replayTimedYaml(req.yaml, req.file, req.schedule, req) });
        return;
    }
  } catch (e) {
    if (e instanceof ScenarioError) {
      post({ id: req.id, type: 'error', message: e.message, issues: e.issues.map((i) => ({ line: i.pos?.line ?? null, col: i.pos?.col ?? null, message: i.message })) });
      return;
    }
    if (e instanceof ScheduleSyntaxError || e instanceof SimConfigError || e instanceof ExploreLimitError || e instanceof ModelError || e instanceof StepLimitError) {
      post({ id: req.id, type: 'error', message: `ptlab: ${e.message}` });
      return;
    }
    post({ id: req.id, type: 'error', message: `ptlab: internal error: ${e instanceof Error ? e.message : String(e)}` });
  }
}
