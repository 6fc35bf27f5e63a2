import { z } from 'zod';
import { checkBase } from '../../policy/types-common.js';

export const dnsblSchema = z
  .strictObject({
    ...checkBase,
  })
  .prefault({});
