import type { ParsedMessage } from '../../mail/parsed-message.js';
import { fuzzyShingles, fuzzySignature, type FuzzySignature } from './shingles.js';

/** Characters of visible text a signature is taken from: enough for any real message body. */
const MAX_TEXT = 100_000;

/** The signature of what a reader sees of the message (so hidden filler text does not change it). */
export function messageSignature(msg: ParsedMessage, minWords: number): FuzzySignature | null {
  return fuzzySignature(msg.visibleText().slice(0, MAX_TEXT), minWords);
}

/** Only the min-hashes of messageSignature: what a lookup needs (the digest is for adding and deleting). */
export function messageShingles(msg: ParsedMessage, minWords: number): number[] | null {
  return fuzzyShingles(msg.visibleText().slice(0, MAX_TEXT), minWords);
}
