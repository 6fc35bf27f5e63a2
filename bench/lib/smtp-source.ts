import { spawn } from 'node:child_process';

/** One load run of Postfix's smtp-source, bounded in messages (-m) and in time (killed at the deadline). */
export interface SourceRun {
  port: number;
  /** Parallel sessions (-s). */
  sessions: number;
  messages: number;
  /** -d: many messages per connection instead of one. */
  keepConnection: boolean;
  /** A pre-formatted message (-F). */
  messageFile: string;
  deadlineMs: number;
}

export interface SourceResult {
  ok: boolean;
  elapsedMs: number;
  messagesPerSecond: number;
  /** smtp-source's complaint, or "killed at the deadline". */
  error: string;
}

export function runSmtpSource(r: SourceRun): Promise<SourceResult> {
  const args = ['-s', String(r.sessions), '-m', String(r.messages), '-F', r.messageFile, '-M', 'client.origin.test', '-f', 'sender@origin.test', '-t', 'user@example.com'];
  if (r.keepConnection) args.unshift('-d');
  args.push(`127.0.0.1:${r.port}`);
  const started = performance.now();
  return new Promise((resolve) => {
    // smtp-source aborts on the first reply that is not the expected success: a deferred or
    // refused message shows up as a failed run, never as a fast one.
    const child = spawn('smtp-source', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, r.deadlineMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      const elapsedMs = performance.now() - started;
      const ok = !killed && code === 0;
      resolve({
        ok,
        elapsedMs,
        messagesPerSecond: ok ? (r.messages * 1000) / elapsedMs : 0,
        error: killed ? `killed at the ${r.deadlineMs} ms deadline` : code === 0 ? '' : stderr.trim().split('\n').slice(-2).join(' / ') || `exit ${code}`,
      });
    });
  });
}
