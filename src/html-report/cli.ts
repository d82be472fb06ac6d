/**
 * `ptlab report RESULTS -o report.html`, and the writer behind `ptlab sim|compare --html FILE`.
 * The report and its counterexamples' Perfetto files (in `NAME.cx/` beside it) are built in
 * memory first, then written, each whole or not at all.
 */
import { mkdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Command } from 'commander';
import { OutputError, writeFileAtomic } from '../cli/files.js';
import type { PointRecord } from './record.js';
import { readRecords, ResultsError } from './read.js';
import { buildReport } from './render.js';

/** Write the report of `records` to `file`, and the Perfetto files beside it; returns the paths written. */
export function writeHtmlReport(file: string, records: readonly PointRecord[], title?: string): string[] {
  const stem = basename(file).replace(/\.html?$/i, '');
  const prefix = `${stem}.cx/`;
  const out = buildReport(records, { perfettoPrefix: prefix, ...(title !== undefined ? { title } : {}) });
  const written: string[] = [];
  if (out.files.length > 0) {
    try {
      mkdirSync(join(dirname(file), `${stem}.cx`), { recursive: true });
    } catch (e) {
      throw new OutputError(`cannot create ${join(dirname(file), `${stem}.cx`)} (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
    }
    for (const f of out.files) {
      const p = join(dirname(file), f.path);
      writeFileAtomic(p, f.content);
      written.push(p);
    }
  }
  writeFileAtomic(file, out.html);
  written.push(file);
  return written;
}

/** Register `ptlab report` on the program. */
export function registerReportCommand(program: Command, out: (s: string) => void, setCode: (c: number) => void): void {
  program
    .command('report')
    .description('write a study\'s results as one self-contained HTML report with plots (offline; Perfetto files of counterexamples beside it)')
    .argument('<results>', 'results: a JSONL file of point records (one per line)')
    .requiredOption('-o, --output <file>', 'the HTML file to write')
    .option('--title <text>', 'heading of the report (default: the study name)')
    .action((results: string, flags: { output: string; title?: string }) => {
      try {
        const records = readRecords(results);
        const written = writeHtmlReport(flags.output, records, flags.title);
        const extra = written.length - 1;
        out(`wrote ${flags.output} (${records.length} point${records.length === 1 ? '' : 's'}${extra ? `; ${extra} Perfetto file${extra === 1 ? '' : 's'} in ${join(dirname(flags.output), `${basename(flags.output).replace(/\.html?$/i, '')}.cx`)}` : ''})`);
        setCode(0);
      } catch (e) {
        if (e instanceof ResultsError) {
          process.stderr.write(`${e.message}\n`);
          setCode(2);
          return;
        }
        throw e;
      }
    });
}
