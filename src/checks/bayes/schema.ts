import { z } from 'zod';
import { checkBase } from '../../policy/types-common.js';

export const bayesSchema = z
  .strictObject({
    ...checkBase,
  })
  .prefault({});
