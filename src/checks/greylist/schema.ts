import { z } from 'zod';
import { checkBase } from '../../policy/types-common.js';

export const greylistSchema = z
  .strictObject({
    ...checkBase,
  })
  .prefault({});
