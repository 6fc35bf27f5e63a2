/** What the primary and its workers say to each other over the cluster's IPC channel. */
export const MESSAGE = {
  /** worker → primary: listening. */
  ready: 'bp:ready',
  /** primary → worker: reload the policy (the primary got SIGHUP). */
  reload: 'bp:reload',
  /** worker → primary: the metrics of all workers, please. */
  metricsRequest: 'bp:metrics?',
  /** primary → worker: here they are. */
  metricsReply: 'bp:metrics',
} as const;

export type ClusterMessage =
  | { type: typeof MESSAGE.ready }
  | { type: typeof MESSAGE.reload }
  | { type: typeof MESSAGE.metricsRequest; id: number }
  | { type: typeof MESSAGE.metricsReply; id: number; text: string; error: string };
