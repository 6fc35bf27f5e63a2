import { z } from 'zod';
import { checkBase } from '../../policy/types-common.js';

export const contentSchema = z
  .strictObject({
    ...checkBase,
  })
  .prefault({});
