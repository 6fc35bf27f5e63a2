import { z } from 'zod';
import { checkBase } from '../../policy/types-common.js';

export const ratelimitSchema = z
  .strictObject({
    ...checkBase,
  })
  .prefault({});
