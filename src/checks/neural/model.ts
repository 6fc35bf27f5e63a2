/**
 * The neural layer's model: logistic regression (a network with no hidden layer) over the
 * vector of symbols the other checks found, each entry the hit's factor (1 for a plain
 * hit). It is keyed by symbol name, so a policy that adds or drops symbols keeps what was
 * learned for the others; symbols never seen have weight 0. Bayes and the neural symbols
 * themselves are not inputs: Bayes is trained by the very messages this model learns from
 * (its answer on them would be an echo), and the model must not read its own output.
 */

export interface NeuralModel {
  /** Learned messages of each class. */
  spam: number;
  ham: number;
  bias: number;
  weights: Map<string, number>;
}

/** A symbol as it enters the model: its name and factor. */
export interface NeuralInput {
  name: string;
  factor?: number;
}

const FORMAT = 1;
/** Weights stay within ±WEIGHT_LIMIT, so no run of one-sided training can grow them without end. */
const WEIGHT_LIMIT = 20;

export function isNeuralInput(name: string): boolean {
  return !name.startsWith('BAYES_') && !name.startsWith('NEURAL_');
}

export function emptyModel(): NeuralModel {
  return { spam: 0, ham: 0, bias: 0, weights: new Map() };
}

/** The input vector, sparse: each symbol once, with its largest factor in [0, 1]. */
function features(inputs: readonly NeuralInput[]): Map<string, number> {
  const x = new Map<string, number>();
  for (const h of inputs) {
    if (!isNeuralInput(h.name)) continue;
    const v = Math.min(1, Math.max(0, h.factor ?? 1));
    x.set(h.name, Math.max(x.get(h.name) ?? 0, v));
  }
  return x;
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

/** Spam probability of a message with these symbols (the hot path: no allocation unless a symbol repeats). */
export function predict(model: NeuralModel, inputs: readonly NeuralInput[]): number {
  let z = model.bias;
  let repeated = false;
  for (let i = 0; i < inputs.length && !repeated; i++) {
    for (let j = 0; j < i; j++) if (inputs[j]!.name === inputs[i]!.name) repeated = true;
  }
  if (repeated) {
    for (const [name, v] of features(inputs)) z += (model.weights.get(name) ?? 0) * v;
    return sigmoid(z);
  }
  for (const h of inputs) {
    if (!isNeuralInput(h.name)) continue;
    z += (model.weights.get(h.name) ?? 0) * Math.min(1, Math.max(0, h.factor ?? 1));
  }
  return sigmoid(z);
}

/** One gradient step of the log loss towards `cls` (in place). */
export function trainStep(model: NeuralModel, inputs: readonly NeuralInput[], cls: 'spam' | 'ham', rate: number): void {
  const x = features(inputs);
  const target = cls === 'spam' ? 1 : 0;
  const error = target - predict(model, inputs);
  const clamp = (w: number) => Math.max(-WEIGHT_LIMIT, Math.min(WEIGHT_LIMIT, w));
  model.bias = clamp(model.bias + rate * error);
  for (const [name, v] of x) model.weights.set(name, clamp((model.weights.get(name) ?? 0) + rate * error * v));
  model[cls]++;
}

/** The stored form: symbols and weights as two arrays in name order (a versioned weight vector). */
export function serializeModel(model: NeuralModel): string {
  const symbols = [...model.weights.keys()].sort();
  return JSON.stringify({ format: FORMAT, spam: model.spam, ham: model.ham, bias: model.bias, symbols, weights: symbols.map((s) => model.weights.get(s)) });
}

/** The model from its stored form; null when it is not one this version wrote. */
export function parseModel(text: string): NeuralModel | null {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof data !== 'object' || data === null) return null;
  const d = data as { format?: unknown; spam?: unknown; ham?: unknown; bias?: unknown; symbols?: unknown; weights?: unknown };
  const num = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
  if (d.format !== FORMAT || !num(d.spam) || !num(d.ham) || !num(d.bias) || !Array.isArray(d.symbols) || !Array.isArray(d.weights)) return null;
  if (d.symbols.length !== d.weights.length) return null;
  const weights = new Map<string, number>();
  for (let i = 0; i < d.symbols.length; i++) {
    const [s, w] = [d.symbols[i] as unknown, d.weights[i] as unknown];
    if (typeof s !== 'string' || !num(w)) return null;
    weights.set(s, w);
  }
  return { spam: d.spam, ham: d.ham, bias: d.bias, weights };
}
