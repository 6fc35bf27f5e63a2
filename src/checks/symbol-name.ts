import { z } from 'zod';

/** A symbol as policy files name it (the same rule symbols.yaml keys follow). */
export const symbolName = z.string().regex(/^[A-Z][A-Z0-9_]*$/, 'symbol names are UPPER_CASE (A-Z, 0-9, _), starting with a letter');
