import type { Store } from '../../stores/types.js';
import { emptyModel, parseModel, serializeModel, trainStep, type NeuralInput } from './model.js';

/** Attempts before a training step gives up against other writers saving at the same time. */
const ATTEMPTS = 30;

export type NeuralTrainResult = 'trained' | 'conflict';

/**
 * One training step on the stored model: read it, step, save it by compare-and-set on its
 * version; when another trainer saved in between, read again and redo the step on theirs.
 * A stored model this version cannot read is replaced by a fresh one.
 */
export async function trainNeural(store: Store, inputs: readonly NeuralInput[], cls: 'spam' | 'ham', rate: number): Promise<NeuralTrainResult> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const record = await store.neuralLoad();
    const model = (record && parseModel(record.model)) ?? emptyModel();
    trainStep(model, inputs, cls, rate);
    if (await store.neuralSave(record?.version ?? 0, serializeModel(model))) return 'trained';
    // Lost the race: wait a random moment, growing with each loss, so racers spread out.
    await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(50, 2 * (attempt + 1))));
  }
  return 'conflict';
}
