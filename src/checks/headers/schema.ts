import { z } from 'zod';
import { checkBase } from '../../policy/types-common.js';

export const headersSchema = z
  .strictObject({
    ...checkBase,
  })
  .prefault({});
