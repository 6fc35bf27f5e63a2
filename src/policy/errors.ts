import type { SourcePosition } from './source-map.js';

/** One problem in the policy, with where it stands. */
export interface PolicyProblem {
  file: string;
  line: number;
  col: number;
  message: string;
}

export function formatProblem(p: PolicyProblem): string {
  return p.line > 0 ? `${p.file}:${p.line}:${p.col}: ${p.message}` : `${p.file}: ${p.message}`;
}

export function problemAt(pos: SourcePosition | undefined, fallbackFile: string, message: string): PolicyProblem {
  return pos ? { ...pos, message } : { file: fallbackFile, line: 0, col: 0, message };
}

/** Thrown when a policy directory does not validate; carries every problem found. */
export class PolicyError extends Error {
  readonly problems: PolicyProblem[];
  constructor(problems: PolicyProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'PolicyError';
    this.problems = problems;
  }
}
