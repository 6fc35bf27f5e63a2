import { z } from 'zod';
import { checkBase } from '../../policy/types-common.js';

export const authSchema = z
  .strictObject({
    ...checkBase,
  })
  .prefault({});
